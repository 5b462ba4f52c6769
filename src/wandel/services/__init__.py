"""Daseinsvorsorge: what a population projection means for services.

A sourced service catalogue (:mod:`wandel.services.catalogue`), the rules behind it (classes under
each Land's rules, GP Versorgungsgrad, fire-brigade readiness: :mod:`wandel.services.rules`), Pflege
calibrated to the Pflegestatistik (:mod:`wandel.services.care`), service plans for a set of zones
(:mod:`wandel.services.model`) and demand with uncertainty, streamed over chunks of zones and draws
(:mod:`wandel.services.demand`). Model layer: takes tables and arrays, returns frozen results;
never opens the store, reads user files or prints.

For indicators: :func:`service_figures` returns one measure per zone and year (deterministic value,
median and the 80 % / 95 % bands) from a :class:`ServiceResult`.
"""

from wandel.services._grid import Grid, age_groups
from wandel.services.catalogue import (
    KINDS,
    Catalogue,
    Entry,
    ServiceSpec,
    Source,
    overrides_from_pairs,
    parse_catalogue,
    parse_overrides,
    shipped_catalogue,
)
from wandel.services.demand import (
    QUANTILES,
    Chunking,
    DrawGroup,
    Parents,
    ServiceResult,
    evaluate,
    service_demand,
    service_figures,
    stream_draws,
)
from wandel.services.model import (
    Measure,
    MissingParam,
    ServiceInputs,
    ServicePlan,
    Threshold,
    plan_services,
    required_breaks,
)

__all__ = [
    "KINDS",
    "QUANTILES",
    "Catalogue",
    "Chunking",
    "DrawGroup",
    "Entry",
    "Grid",
    "Measure",
    "MissingParam",
    "Parents",
    "ServiceInputs",
    "ServicePlan",
    "ServiceResult",
    "ServiceSpec",
    "Source",
    "Threshold",
    "age_groups",
    "evaluate",
    "overrides_from_pairs",
    "parse_catalogue",
    "parse_overrides",
    "plan_services",
    "required_breaks",
    "service_demand",
    "service_figures",
    "shipped_catalogue",
    "stream_draws",
]

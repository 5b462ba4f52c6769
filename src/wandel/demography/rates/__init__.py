"""Rates for the projection engine, estimated honestly from the canonical store tables.

Every estimator takes a ``base_year`` and uses only rows dated on or before it; each result carries
the years it was estimated from (``years``). The functions take canonical long frames (see
:mod:`wandel.tables`) and return frozen dataclasses with labelled arrays for
:class:`wandel.demography.engine.ProjectionRates`; they never open the store.

One module per component, each with its method in its docstring:

* :mod:`~wandel.demography.rates.base`: the base population in single ages (graduation; Gemeinde
  structures from their Kreis);
* :mod:`~wandel.demography.rates.fertility`: the German schedule scaled per Kreis, the sex ratio at
  birth;
* :mod:`~wandel.demography.rates.mortality`: the German life table scaled per Kreis;
* :mod:`~wandel.demography.rates.migration`: gross flows, net migration from census-free pairs of
  totals, Kreis fallback rates, persistence of Gemeinde differentials;
* :mod:`~wandel.demography.rates.shrinkage`: empirical-Bayes shrinkage of small zones toward their
  parent (events and net-migration rates).

References: Clayton & Kaldor (1987), Biometrics 43; Rogers & Castro (1981), *Model Migration
Schedules*, IIASA RR-81-30; Preston, Heuveline & Guillot (2001), ch. 3 and 6; Rao & Molina (2015),
*Small Area Estimation*, ch. 6.
"""

from __future__ import annotations

from wandel.demography.rates._common import (
    AGES,
    CENSUS_DATES,
    RC_STANDARD,
    crosses_census,
    rogers_castro,
)
from wandel.demography.rates.base import (
    BasePopulation,
    base_population,
    germany_shape,
    single_ages,
)
from wandel.demography.rates.fertility import (
    FertilityRates,
    estimate_fertility,
    estimate_srb,
    german_asfr,
)
from wandel.demography.rates.migration import (
    NET_SPAN_YEARS,
    PERSISTENCE_MIN_ZONES,
    LevelShift,
    MigrationRates,
    NetEvidence,
    Persistence,
    StayRates,
    estimate_migration,
    kreis_net_rates,
    migration_persistence,
    net_migration,
    recent_level_shift,
    stay_out_rates,
)
from wandel.demography.rates.mortality import (
    MortalityRates,
    estimate_mortality,
    german_qx,
    mx_scaled,
    period_end_year,
    survival_from_qx,
)
from wandel.demography.rates.shrinkage import (
    NetShrinkage,
    ZoneFactors,
    shrink_net_rates,
    shrink_poisson_gamma,
)
from wandel.errors import MissingDataError

__all__ = [
    "AGES",
    "CENSUS_DATES",
    "NET_SPAN_YEARS",
    "PERSISTENCE_MIN_ZONES",
    "RC_STANDARD",
    "BasePopulation",
    "FertilityRates",
    "LevelShift",
    "MigrationRates",
    "MissingDataError",
    "MortalityRates",
    "NetEvidence",
    "NetShrinkage",
    "Persistence",
    "StayRates",
    "ZoneFactors",
    "base_population",
    "crosses_census",
    "estimate_fertility",
    "estimate_migration",
    "estimate_mortality",
    "estimate_srb",
    "german_asfr",
    "german_qx",
    "germany_shape",
    "kreis_net_rates",
    "migration_persistence",
    "mx_scaled",
    "net_migration",
    "period_end_year",
    "recent_level_shift",
    "rogers_castro",
    "shrink_net_rates",
    "shrink_poisson_gamma",
    "single_ages",
    "stay_out_rates",
    "survival_from_qx",
]

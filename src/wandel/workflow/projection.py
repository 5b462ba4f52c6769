"""Projection workflow: load the tables from the store, run one projection, write the results.

The model lives in :mod:`wandel.demography` (:func:`wandel.demography.model.run_projection` does every
step once: zones, inputs, scenario, control, engine, territory); this module only

* reads the canonical tables (:func:`load_tables`) and a scenario file (:func:`scenario_defaults`:
  its ``base_year`` and ``horizon`` are the run's defaults, options given override them, said in a
  note),
* calls the model (:func:`project_request`, :func:`project_from_store`),
* writes tables atomically (:func:`save_projection`, :func:`write_table`): the results on the
  territorial status of the base population at the path asked and, where the store knows a newer
  status, the same results on it beside (``<name>_gebietsstand_<year><suffix>``,
  :func:`latest_territory_path`).

The names re-exported below from :mod:`wandel.demography` keep older imports working; new code
imports them from there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from wandel import i18n
from wandel.demography.data import (
    ProjectionTables,
    gemeinde_totals,
    kreis_totals,
    year_end_totals,
)
from wandel.demography.engine.distributed import Mapper, builtin_map
from wandel.demography.inputs import ProjectionInputs, build_inputs
from wandel.demography.model import (
    Execution,
    ProjectionRequest,
    ProjectionResult,
    kreis_control,
    run,
    run_projection,
    to_long,
)
from wandel.demography.scenario import Scenario, load_scenarios
from wandel.demography.scenario_rates import (
    FLOW_PROFILES,
    flow_profile,
    mortality_factors,
    scenario_rates,
)
from wandel.demography.uncertainty import SIZE_CLASSES, calibrated_spec, load_sigmas, size_class
from wandel.errors import InputFormatError, OptionError
from wandel.store import Store
from wandel.workflow.outputs import check_suffix, write_atomic

__all__ = [
    "FLOW_PROFILES",
    "SIZE_CLASSES",
    "Execution",
    "ProjectionInputs",
    "ProjectionRequest",
    "ProjectionResult",
    "RunDefaults",
    "StoreTables",
    "build_inputs",
    "calibrated_spec",
    "flow_profile",
    "gemeinde_totals",
    "kreis_control",
    "kreis_totals",
    "latest_territory_path",
    "load_sigmas",
    "load_tables",
    "mortality_factors",
    "project_from_store",
    "project_request",
    "run",
    "save_projection",
    "scenario_defaults",
    "scenario_rates",
    "size_class",
    "to_long",
    "write_table",
    "year_end_totals",
]

StoreTables = ProjectionTables
"""The tables a projection reads (:class:`wandel.demography.data.ProjectionTables`; the old name)."""


def load_tables(store: Store) -> ProjectionTables:
    """Read the tables a projection needs from an open :class:`wandel.store.Store`."""
    if not isinstance(store, Store):
        raise TypeError("store must be a wandel.store.Store")
    return ProjectionTables(
        store.population(),
        store.table("fertility"),
        store.table("births"),
        store.table("deaths"),
        store.table("life_tables"),
        store.table("migration"),
        store.table("gv_records"),
        store.zone_changes(),
    )


@dataclass(frozen=True)
class RunDefaults:
    """The base year, last year and variant of a run, resolved from options and a scenario file;
    ``notes`` say where an option overrode the file."""

    base_year: int
    until: int
    scenario: Scenario | None
    notes: tuple[str, ...]


def _pick(
    option: int | None, field: str, file_value: int | None, file: str, line: int | None
) -> tuple[int | None, str | None]:
    """The option if given, else the file's value; a note when both are given and differ."""
    if option is None:
        return file_value, None
    if file_value is not None and file_value != option:
        said = {"option": option, "field": field, "file_value": file_value, "file": file}
        if line is None:
            return option, i18n.note("workflow.note.option_overrides", **said)
        return option, i18n.note("workflow.note.option_overrides_at", line=line, **said)
    return option, None


def scenario_defaults(
    base_year: int | None, until: int | None, path: Path | None, variant: str | None
) -> RunDefaults:
    """Base year and last year of a run: the options, else the scenario file's ``base_year`` and
    ``horizon``; the variant ``variant`` of the file (default: its first)."""
    if path is None:
        if base_year is None or until is None:
            raise OptionError(
                "a projection needs a base year and a last year (or a scenario file with "
                "base_year and horizon)"
            )
        return RunDefaults(base_year, until, None, ())
    sf = load_scenarios(path)
    scenario = sf.variant(variant) if variant else sf.variants[0]
    b, nb = _pick(base_year, "base_year", sf.base_year, str(path), sf.lines.get("base_year"))
    u, nu = _pick(until, "horizon", sf.horizon, str(path), sf.lines.get("horizon"))
    if b is None or u is None:
        missing = "base_year" if b is None else "horizon"
        raise InputFormatError(
            str(path),
            column=missing,
            reason="no such field and no option for it",
            expected=f"{missing}: YEAR in the file, or the option on the command line",
        )
    if u <= b:
        raise InputFormatError(
            str(path),
            line=sf.lines.get("horizon"),
            column="horizon",
            value=u,
            expected=f"a last year after the base year {b}",
        )
    return RunDefaults(b, u, scenario, tuple(n for n in (nb, nu) if n))


def project_request(
    db: Path, request: ProjectionRequest, execution: Execution | None = None
) -> tuple[pd.DataFrame, ProjectionResult]:
    """Load the store at ``db``, run ``request``, return the long table and the result."""
    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
    res = run_projection(tables, request, execution)
    return to_long(res, request.age_breaks), res


def project_from_store(
    db: Path,
    zones: Sequence[str],
    base_year: int,
    until: int,
    *,
    level: str | None = None,
    scenario: Scenario | None = None,
    draws: int = 0,
    seed: int = 0,
    mapper: Mapper = builtin_map,
    control_to_kreis: bool = False,
    age_breaks: Sequence[int] | None = None,
    on_chunk: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, ProjectionResult]:
    """:func:`project_request` with the request given field by field (the older signature)."""
    request = ProjectionRequest(
        tuple(zones),
        base_year,
        until,
        level=level,
        scenario=scenario,
        draws=draws,
        seed=seed,
        control_to_kreis=control_to_kreis,
        age_breaks=None if age_breaks is None else tuple(age_breaks),
    )
    return project_request(db, request, Execution(mapper=mapper, on_chunk=on_chunk))


def latest_territory_path(path: Path, year: int) -> Path:
    """Where the results on the newest territorial status go: beside ``path``.

    >>> latest_territory_path(Path("out/p.csv"), 2019).as_posix()
    'out/p_gebietsstand_2019.csv'
    """
    return path.with_name(f"{path.stem}_gebietsstand_{year}{path.suffix}")


def write_table(frame: pd.DataFrame, path: Path, option: str = "--out") -> Path:
    """Write ``frame`` as CSV or Parquet (by the suffix), atomically (nothing half-written on
    error, :func:`wandel.workflow.outputs.write_atomic`)."""
    suffix = check_suffix(option, path, (".csv", ".parquet"))
    if suffix == ".csv":
        return write_atomic(path, lambda p: frame.to_csv(p, index=False, float_format="%.6f"))
    return write_atomic(path, lambda p: frame.to_parquet(p, index=False))


def save_projection(frame: pd.DataFrame, result: ProjectionResult, path: Path) -> list[Path]:
    """Write the results: ``frame`` (on the territorial status of the base population) at
    ``path`` and, where the store knows a newer status, the results on it beside
    (:func:`latest_territory_path`); both atomically. Returns the paths written."""
    check_suffix("--out", path, (".csv", ".parquet"))
    written = [write_table(frame, path)]
    if result.latest_territory is not None and result.latest_territory_year is not None:
        later = latest_territory_path(path, result.latest_territory_year)
        written.append(write_table(result.latest_territory, later))
    return written

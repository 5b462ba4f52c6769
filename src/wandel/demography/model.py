"""One projection from the canonical tables to its results: :func:`run_projection`.

:func:`run_projection` takes the tables (:class:`~wandel.demography.data.ProjectionTables`) and a
:class:`ProjectionRequest` and does every model step once, in this order:

1. zones: the codes expanded to the level asked, valid at the territorial status of the base
   population (:func:`select_zones`, :mod:`wandel.regions.zones`);
2. inputs: base population, fertility, mortality, migration (:func:`~wandel.demography.inputs.build_inputs`),
   the base population of the base year itself (:func:`check_base_year`);
3. the scenario variant applied year by year (:func:`~wandel.demography.scenario_rates.scenario_rates`);
4. with ``control_to_kreis``, Gemeinden controlled to their Kreis's own Wandel projection
   (:func:`kreis_control`);
5. the engine, deterministic and with draws per size class (:func:`run`);
6. for Gemeinden on an older territorial status than the newest in the store, the results also on
   that newest status (``latest_territory``, by the recorded territorial changes,
   :func:`wandel.regions.harmonise.convert_territory`).

:func:`to_long` gives the canonical long output ``zone, year, sex, age_start, age_end, value`` plus
``q10, q50, q90`` with draws.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from wandel.ages import group_single_ages
from wandel.demography.data import (
    ProjectionTables,
    gemeinde_totals,
    kreise_at,
    latest_gv_year,
    status_year,
    year_end_totals,
)
from wandel.demography.engine import Control, Projection, ProjectionRates, project
from wandel.demography.engine import quantiles as engine_quantiles
from wandel.demography.engine.distributed import Mapper, builtin_map, project_draws
from wandel.demography.inputs import ProjectionInputs, build_inputs
from wandel.demography.scenario import Scenario
from wandel.demography.scenario_rates import scenario_rates
from wandel.demography.uncertainty import SIZE_CLASSES, calibrated_spec, load_sigmas, size_class
from wandel.errors import MissingDataError
from wandel.regions.harmonise import convert_territory
from wandel.regions.zones import ZoneRegister, expand_zones, resolve_level
from wandel.tables import SEXES

__all__ = [
    "Execution",
    "ProjectionRequest",
    "ProjectionResult",
    "ZoneSelection",
    "check_base_year",
    "kreis_control",
    "run",
    "run_projection",
    "select_zones",
    "to_long",
]


@dataclass(frozen=True)
class ProjectionRequest:
    """What to project: ``zones`` (AGS codes: Länder, Kreise, Gemeinden) at ``level`` (``kreis``,
    ``gemeinde`` or None: the codes' own) from ``base_year`` (data up to it) to ``until``, with an
    optional scenario variant, ``draws`` (0: deterministic) from ``seed``, Gemeinden controlled to
    their Kreis (``control_to_kreis``), the draws summed into ``age_breaks`` groups."""

    zones: tuple[str, ...]
    base_year: int
    until: int
    level: str | None = None
    scenario: Scenario | None = None
    draws: int = 0
    seed: int = 0
    control_to_kreis: bool = False
    age_breaks: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Execution:
    """How to run the draws: ``mapper`` (in-process or a Dask client's), zones per ``chunk_size``,
    ``on_chunk`` called with each size class before its draws (a progress bar)."""

    mapper: Mapper = builtin_map
    chunk_size: int = 100
    on_chunk: Callable[[str], None] | None = None


@dataclass(frozen=True, eq=False)
class ProjectionResult:
    """Deterministic projection plus, with draws, quantiles (dims ``quantile, year, zone, sex,
    age|age_start``) of the population; ``size_class`` of every zone; notes from the inputs.

    ``territory_year``: the territorial status of the zones (Gemeinden: that of the base
    population); ``latest_territory``: the long results on the newest status in the store
    (``latest_territory_year``) where that differs, else None.
    """

    deterministic: Projection
    quantiles: xr.DataArray | None
    start_year: int
    size_class: Mapping[str, str]
    notes: tuple[str, ...] = field(default=())
    territory_year: int | None = None
    latest_territory: pd.DataFrame | None = None
    latest_territory_year: int | None = None


def run(
    inputs: ProjectionInputs,
    rates: ProjectionRates,
    until: int,
    *,
    draws: int = 0,
    seed: int = 0,
    sigmas: Mapping[str, Mapping[str, float]] | None = None,
    mapper: Mapper = builtin_map,
    chunk_size: int = 100,
    control: Control | None = None,
    age_breaks: Sequence[int] | None = None,
    on_chunk: Callable[[str], None] | None = None,
    notes: tuple[str, ...] = (),
    quantile_levels: Sequence[float] = (0.1, 0.5, 0.9),
    totals_only: bool = False,
) -> ProjectionResult:
    """Run the engine: deterministic, and with ``draws > 0`` the draws per size class.

    Each size class gets the sigmas calibrated for it on the backtests of the same level (Kreise or
    Gemeinden; key ``level:class`` in the sigma table, else the pooled ``class``); draws of all
    zones of one class share their levels (a draw is one possible future of the region).
    Quantiles ``quantile_levels`` (default 0.1, 0.5, 0.9) over draws, per sex and age (group), or
    with ``totals_only`` of each zone's total (dims ``quantile, year, zone``: the quantiles of the
    sum, not the sum of the quantiles).
    """
    pop = inputs.base.population
    start = inputs.start_year
    horizon = until - start
    if horizon < 1:
        raise MissingDataError(f"until ({until}) must lie after the base population year ({start})")
    det = project(pop, rates, base_year=start, horizon=horizon, control=control)
    totals = pop.sum(("sex", "age")).values
    classes = {z: size_class(float(t)) for z, t in zip(inputs.zones, totals, strict=True)}
    q = None
    if draws > 0:
        sig = sigmas or load_sigmas()
        level = "kreis" if all(len(z) == 5 for z in inputs.zones) else "gemeinde"
        parts = []
        for cls in SIZE_CLASSES:
            zs = [z for z in inputs.zones if classes[z] == cls]
            if not zs:
                continue
            if on_chunk is not None:
                on_chunk(cls)
            sub_control = None
            if control is not None:
                sub_control = Control(control.parent.sel(zone=zs), control.totals)
            res = project_draws(
                pop.sel(zone=zs),
                _select_rates(rates, zs),
                base_year=start,
                horizon=horizon,
                # sigmas fitted on this level's backtests where there are some, else pooled
                spec=calibrated_spec(
                    f"{level}:{cls}" if f"{level}:{cls}" in sig else cls, draws, seed, sig
                ),
                chunk_size=chunk_size,
                mapper=mapper,
                control=sub_control,
                age_breaks=age_breaks,
            )
            draws_pop = res.population
            if totals_only:
                draws_pop = draws_pop.sum([d for d in draws_pop.dims if d not in _TOTAL_DIMS])
            parts.append(engine_quantiles(draws_pop, tuple(quantile_levels)))
        q = xr.concat(parts, dim="zone").sel(zone=inputs.zones)
    return ProjectionResult(det, q, start, classes, (*inputs.notes(), *notes))


_TOTAL_DIMS = ("draw", "year", "zone")


def _select_rates(rates: ProjectionRates, zones: Sequence[str]) -> ProjectionRates:
    def sel(da: xr.DataArray | None) -> xr.DataArray | None:
        return None if da is None else da.sel(zone=list(zones))

    return replace(
        rates,
        sx=rates.sx.sel(zone=list(zones)),
        birth_survival=rates.birth_survival.sel(zone=list(zones)),
        asfr=rates.asfr.sel(zone=list(zones)),
        out_rate=rates.out_rate.sel(zone=list(zones)),
        in_count=rates.in_count.sel(zone=list(zones)),
        extra=sel(rates.extra),
        od=None if rates.od is None else rates.od.sel(zone=list(zones), destination=list(zones)),
    )


def _group(da: xr.DataArray, breaks: Sequence[int]) -> xr.DataArray:
    """Single ages (dim ``age``) summed into the groups starting at ``breaks`` (dim ``age_start``)."""
    other = [d for d in da.dims if d != "age"]
    vals = group_single_ages(da.transpose(*other, "age").values, breaks)
    coords = {d: da[d].values for d in other}
    return xr.DataArray(
        vals, dims=(*other, "age_start"), coords={**coords, "age_start": list(breaks)}
    )


def to_long(result: ProjectionResult, age_breaks: Sequence[int] | None = None) -> pd.DataFrame:
    """Canonical long output: zone, year, sex, age_start, age_end, value[, q10, q50, q90].

    ``value`` is the deterministic projection; the quantiles come from the draws (grouped by
    ``age_breaks`` if the draws were run grouped; then ``value`` is grouped the same way).
    """
    pop = result.deterministic.population.isel(draw=0, drop=True)
    if "draw" in pop.dims:
        pop = pop.isel(draw=0)
    if result.quantiles is not None and "age_start" in result.quantiles.dims:
        age_breaks = [int(a) for a in result.quantiles["age_start"].values]
    pop = _group(pop, age_breaks) if age_breaks is not None else pop.rename(age="age_start")
    frame = pop.to_dataframe(name="value").reset_index()
    starts = np.sort(frame["age_start"].unique())
    ends = dict(itertools.pairwise(starts))
    frame["age_end"] = pd.array([ends.get(a) for a in frame["age_start"]], dtype="Int64")
    cols = ["zone", "year", "sex", "age_start", "age_end", "value"]
    if result.quantiles is not None:
        qd = result.quantiles
        if "age" in qd.dims:
            qd = qd.rename(age="age_start")
        qf = qd.to_dataframe(name="v").reset_index()
        qf = qf.pivot_table(
            index=["zone", "year", "sex", "age_start"], columns="quantile", values="v"
        ).reset_index()
        qf.columns = ["zone", "year", "sex", "age_start", "q10", "q50", "q90"]
        frame = frame.merge(qf, on=["zone", "year", "sex", "age_start"], how="left")
        cols += ["q10", "q50", "q90"]
    frame["zone"] = frame["zone"].astype(str)
    frame["year"] = frame["year"].astype("int64")
    frame["age_start"] = frame["age_start"].astype("int64")
    return frame[cols].sort_values(["zone", "year", "sex", "age_start"]).reset_index(drop=True)


def kreis_control(
    tables: ProjectionTables, gem_result: ProjectionResult, base_year: int, until: int
) -> Control:
    """Control of Gemeinden to their Kreis's Wandel projection (deterministic, by sex and year)."""
    gem = [str(z) for z in gem_result.deterministic.population["zone"].values]
    kreise = sorted({z[:5] for z in gem})
    kin = build_inputs(tables, kreise, base_year)
    kres = run(kin, kin.rates(), until)
    kt = kres.deterministic.population.isel(draw=0, drop=True).sum("age")
    years = np.arange(gem_result.start_year + 1, until + 1)
    totals = kt.sel(year=years).rename(zone="parent").transpose("parent", "sex", "year")
    parent = xr.DataArray([z[:5] for z in gem], dims=("zone",), coords={"zone": gem})
    return Control(parent=parent, totals=totals)


@dataclass(frozen=True)
class ZoneSelection:
    """The zones of a request (``level``, valid at the territorial status ``status_year``)."""

    zones: tuple[str, ...]
    level: str
    status_year: int


def select_zones(
    tables: ProjectionTables,
    codes: Sequence[str],
    level: str | None,
    base_year: int,
    totals: pd.DataFrame | None = None,
) -> ZoneSelection:
    """The zones ``codes`` mean at ``level`` for a projection from ``base_year``.

    Kreise: those of the latest Gemeindeverzeichnis year ``<= base_year``; Gemeinden: those with
    totals on the territorial status of the base population (:func:`~wandel.demography.data.status_year`),
    i.e. the Gemeinden valid then. See :func:`wandel.regions.zones.expand_zones` for the errors.
    ``totals``: ``gemeinde_totals(tables.until(base_year), base_year)`` where the caller already
    has it (Gemeinden; not computed again).
    """
    lv = resolve_level(codes, level)
    register = ZoneRegister(tables.gv_records, tables.zone_changes)
    if lv == "kreis":
        valid = kreise_at(tables, base_year)
        gv = tables.gv_records
        years = sorted(int(y) for y in gv.loc[gv["level"] == "kreis", "year"].unique())
        status = max([y for y in years if y <= base_year] or years[:1])
    else:
        status = status_year(tables, base_year)
        gt = gemeinde_totals(tables.until(base_year), base_year) if totals is None else totals
        valid = sorted(gt["zone"].unique())
    zones = expand_zones(codes, lv, valid, status, register)
    return ZoneSelection(tuple(zones), lv, status)


def _on_latest_territory(
    res: ProjectionResult, tables: ProjectionTables, status: int, age_breaks: Sequence[int] | None
) -> ProjectionResult:
    """``res`` with its long results also on the newest status in the store, if that is later."""
    latest = latest_gv_year(tables)
    if latest is None or latest <= status:
        return replace(res, territory_year=status)
    long = to_long(res, age_breaks)
    cols = tuple(c for c in ("value", "q10", "q50", "q90") if c in long.columns)
    moved = convert_territory(long, tables.zone_changes, status, latest, cols)
    return replace(res, territory_year=status, latest_territory=moved, latest_territory_year=latest)


def _base_years(tables: ProjectionTables, level: str) -> list[int]:
    """The years a projection at ``level`` can start from: years with published Kreis age
    groups (Kreise) or Gemeinde totals by sex (Gemeinden)."""
    p = tables.population
    p = p[~p["estimated"].astype(bool) & p["sex"].isin(SEXES)]
    if level == "kreis":
        whole = (p["age_start"] == 0) & p["age_end"].isna()
        p = p[(p["zone"].str.len() == 5) & ~whole]
    else:
        p = year_end_totals(p, 8)
    return sorted({int(y) for y in p["year"]})


def check_base_year(tables: ProjectionTables, inputs: ProjectionInputs, level: str) -> None:
    """Refuse a base year without a base population of its own.

    A projection asked from 31 December of ``base_year`` must start from the population of that
    day: a store whose latest Kreis age structure is of 2017 cannot start a Kreis projection in
    2019 (it would silently project 2018 and 2019 as if observed). The error names the years that
    can be used.
    """
    if inputs.start_year == inputs.base_year:
        return
    years = _base_years(tables, level)
    raise MissingDataError(
        "@demography.no_base_population",
        level=f"@zones.levels.{level}",
        base_year=inputs.base_year,
        latest=inputs.start_year,
        years=", ".join(map(str, years)),
    )


def run_projection(
    tables: ProjectionTables, request: ProjectionRequest, execution: Execution | None = None
) -> ProjectionResult:
    """The whole projection of ``request`` on ``tables`` (see the module docstring)."""
    ex = execution or Execution()
    r = request
    sel = select_zones(tables, r.zones, r.level, r.base_year)
    inputs = build_inputs(tables, sel.zones, r.base_year)
    check_base_year(tables, inputs, sel.level)
    rates, notes = scenario_rates(inputs, r.scenario, r.until)
    control = None
    if r.control_to_kreis and sel.level == "gemeinde":
        first = run(inputs, rates, r.until)
        control = kreis_control(tables, first, r.base_year, r.until)
    res = run(
        inputs,
        rates,
        r.until,
        draws=r.draws,
        seed=r.seed,
        mapper=ex.mapper,
        chunk_size=ex.chunk_size,
        control=control,
        age_breaks=r.age_breaks,
        on_chunk=ex.on_chunk,
        notes=notes,
    )
    if sel.level == "kreis":
        return replace(res, territory_year=sel.status_year)
    return _on_latest_territory(res, tables, sel.status_year, r.age_breaks)

"""Backtests: project from past base years (rolling origins) with data up to each, compare with
what was observed.

Cases (:func:`run_backtests`)
-----------------------------
* Kreise: every year with published Kreis age structures that has a later observed Kreis total is a
  base year (:func:`kreis_bases`; the data in ``../shared/data``: 2015, 2016 and 2017 from
  12411-0018), observed in every later Kreis total (2016, 2017 from 12411-0018, 2019 summed from the
  Gemeindeverzeichnis, 2020 from 12411-04-02-4). Each Kreis carries its type
  (:func:`kreis_types`).
* Gemeinden: base 2009, 2013 and 2017, observed in the later GV-ISys totals (2013, 2017, 2019),
  all harmonised to the territorial status of 2019 (:func:`wandel.regions.harmonise_population`).
  Harmonising with the change table of later years uses no demographic data from after the base.
  Only the years with totals for at least half of the Gemeinden count here.
* ``gemeinde-reihe``: Gemeinden with a yearly series of their own (e.g. a city's official totals,
  sex ``t``), same bases, observed in every later year of their series (projected together with
  the other Gemeinden of their Kreis). Their extra years never enter the ``gemeinde`` case.

Methods compared
----------------
``wandel`` (deterministic; its 50/80/95 % intervals from the draws of each zone's total) against the
baselines of :mod:`wandel.demography.baselines`: ``constant``, ``linear``, ``share`` (constant share
of the parent: a Kreis's Land, a Gemeinde's Kreis, the parent projected by Wandel as the sum of
Wandel's zones), ``share_trend`` (the share moving on with its trend) and ``hamilton_perry``
(cohort-change ratios of the two latest published age structures ``<= base``: Kreise from base 2016
on, Gemeinden wherever their age groups were imported, e.g. Regionaldatenbank 12411-02-03-5; where
no zone has two, the notes say so).

Metrics and tables: :mod:`wandel.demography.backtest_metrics` (MAPE, MedAPE, MAPE-R, within 5/10 %,
coverage; by origin, pooled by horizon, winners, coverage by nominal level); for Kreise also the mean
absolute error of the age-group shares (percentage points, groups 0-5, 6-17, 18-24, 25-44, 45-64,
65-74, 75+).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel import i18n
from wandel.ages import bands_from_breaks, group_single_ages, sum_age_groups
from wandel.demography.backtest_metrics import (
    QUANTILE_LEVELS,
    age_share_mae,
    ape,
    by_horizon,
    coverage_table,
    error_metrics,
    mape_r,
    summarise,
    winners,
)
from wandel.demography.baselines import (
    hamilton_perry,
    hamilton_perry_totals,
    linear,
    parent_of,
    share_of_parent,
)
from wandel.demography.data import ProjectionTables, kreis_totals, year_end_totals
from wandel.demography.inputs import ProjectionInputs, build_inputs
from wandel.demography.model import ProjectionResult, run
from wandel.demography.uncertainty import size_class
from wandel.regions.harmonise import harmonise_population
from wandel.tables import SEXES

__all__ = [
    "AGE_GROUPS",
    "GEMEINDE_BASES",
    "KREIS_TYPES",
    "BacktestCase",
    "BacktestResult",
    "DrawSettings",
    "age_share_mae",
    "ape",
    "by_horizon",
    "coverage_table",
    "error_metrics",
    "hamilton_perry",
    "kreis_bases",
    "kreis_types",
    "mape_r",
    "run_backtests",
    "run_case",
    "summarise",
    "winners",
]

Array = npt.NDArray[np.float64]
AGE_GROUPS: tuple[int, ...] = (0, 6, 18, 25, 45, 65, 75)
"""First ages of the age groups whose shares are compared (the last open)."""

KREIS_TYPES: tuple[str, ...] = ("kreisfrei", "LK >=150/km2", "LK <150/km2")
"""Kreis types (:func:`kreis_types`): kreisfreie Städte, denser and thinner Landkreise."""

DENSE = 150.0
"""Inhabitants per km2 that part denser from thinner Landkreise (the BBSR's threshold between
städtische Kreise and ländliche Kreise, without its share-of-large-towns criterion)."""


def kreis_types(tables: ProjectionTables, zones: Sequence[str], year: int) -> dict[str, str]:
    """The type of each Kreis (:data:`KREIS_TYPES`) from the Gemeindeverzeichnis ``<= year``.

    A kreisfreie Stadt is a Kreis whose only Gemeinde has the key ``KKKKK000``; Landkreise are
    parted by their density (population / area of the Kreis record, :data:`DENSE`). Kreise without
    a record get no type.
    """
    gv = tables.gv_records
    years = sorted(int(y) for y in gv.loc[gv["level"] == "kreis", "year"].unique())
    y = max([v for v in years if v <= year] or years[:1])
    rec = gv[gv["year"] == y]
    gem = set(rec.loc[rec["level"] == "gemeinde", "zone"].astype(str))
    k = rec[rec["level"] == "kreis"].set_index("zone")
    out: dict[str, str] = {}
    for z in zones:
        if z not in k.index:
            continue
        if f"{z}000" in gem:
            out[z] = KREIS_TYPES[0]
            continue
        area = float(k.at[z, "area_km2"])
        dens = float(k.at[z, "pop_total"]) / area if area > 0 else 0.0
        out[z] = KREIS_TYPES[1] if dens >= DENSE else KREIS_TYPES[2]
    return out


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Per-zone errors (``errors``: level, base_year, year, horizon, zone, size_class, kreis_type,
    method, projected, observed, ape, log_error and Wandel's interval bounds q025, q10, q25, q75,
    q90, q975), the summary by origin (``metrics``), the rolling origins pooled by horizon
    (``horizons``), which method wins where (``winners``, one row per row of ``horizons`` without
    its method) and the coverage of the intervals (``coverage``).

    ``notes`` say which inputs were weak (e.g. structures from a later year, zero migration) and
    which baselines could not be computed.
    """

    errors: pd.DataFrame
    metrics: pd.DataFrame
    age_errors: pd.DataFrame
    notes: tuple[str, ...]
    horizons: pd.DataFrame
    winners: pd.DataFrame
    coverage: pd.DataFrame


def _observed_groups(pop: pd.DataFrame, zones: Sequence[str], year: int) -> Array | None:
    """Published (not estimated) population of ``zones`` in ``year`` by :data:`AGE_GROUPS`."""
    rows = pop[(pop["year"] == year) & pop["zone"].isin(list(zones)) & pop["sex"].isin(SEXES)]
    rows = rows[~((rows["age_start"] == 0) & rows["age_end"].isna()) & ~rows["estimated"]]
    if rows.empty:
        return None
    g = sum_age_groups(rows, bands_from_breaks(AGE_GROUPS), by=["zone"], context="backtest")
    t = g.pivot(index="zone", columns="age_start", values="value")
    out: Array = t.reindex(index=list(zones), columns=list(AGE_GROUPS)).to_numpy(dtype=np.float64)
    return out


@dataclass(frozen=True, eq=False)
class BacktestCase:
    """One backtest case: project ``zones`` (``level``) from ``base_year`` with data up to it and
    compare with ``observed`` (rows zone, year, value of the later years); ``totals`` (rows zone,
    year, value) feed the trend and share baselines; ``gemeinde_totals`` (zone, year, sex, value)
    replace the published Gemeinde totals of the inputs (harmonised to a later territorial status);
    ``kreis_type`` the type of each zone's Kreis (:func:`kreis_types`)."""

    level: str
    zones: tuple[str, ...]
    base_year: int
    observed: pd.DataFrame
    totals: pd.DataFrame
    gemeinde_totals: pd.DataFrame | None = None
    kreis_type: Mapping[str, str] | None = None


@dataclass(frozen=True)
class DrawSettings:
    """Draws of Wandel's intervals (0: none), their seed and sigmas (None: the calibrated CSV);
    only the base years ``>= min_base`` are run (e.g. the hold-out origins of a calibration)."""

    draws: int = 200
    seed: int = 0
    sigmas: Mapping[str, Mapping[str, float]] | None = None
    min_base: int = 0


_BOUNDS = {0.025: "q025", 0.1: "q10", 0.25: "q25", 0.75: "q75", 0.9: "q90", 0.975: "q975"}


def _projections(
    case: BacktestCase, tables: ProjectionTables, res: ProjectionResult, years: list[int]
) -> pd.DataFrame:
    """Wandel's and every baseline's projected totals: rows zone, year, method, projected."""
    zones = list(case.zones)
    tot = res.deterministic.population.isel(draw=0, drop=True).sum(("sex", "age"))
    base = pd.Series(tot.sel(year=res.start_year).values, index=zones)
    wandel = pd.concat(
        [
            pd.DataFrame({"zone": zones, "year": y, "projected": tot.sel(year=y).values})
            for y in years
        ],
        ignore_index=True,
    )
    frames = [
        wandel.assign(method="wandel"),
        wandel.assign(method="constant", projected=base.reindex(wandel["zone"]).values),
    ]
    parent = wandel.assign(parent=[parent_of(z) for z in wandel["zone"]])
    parent = parent.groupby(["parent", "year"], as_index=False)["projected"].sum()
    # the share baselines take the base-year totals of the projection (the jump-off population)
    shares = pd.concat(
        [
            case.totals[case.totals["year"].astype(int) < res.start_year],
            pd.DataFrame({"zone": zones, "year": res.start_year, "value": base.values}),
        ],
        ignore_index=True,
    )
    for method, frame in (
        ("linear", linear(case.totals, zones, case.base_year, years)),
        ("share", share_of_parent(shares, zones, res.start_year, parent)),
        ("share_trend", share_of_parent(shares, zones, res.start_year, parent, trended=True)),
        ("hamilton_perry", hamilton_perry_totals(tables.population, zones, case.base_year, years)),
    ):
        frames.append(frame.assign(method=method))
    return pd.concat(frames, ignore_index=True)


def _errors(
    case: BacktestCase, tables: ProjectionTables, res: ProjectionResult, years: list[int]
) -> pd.DataFrame:
    """Per-zone errors of Wandel and the baselines in every observed year of ``case``."""
    proj = _projections(case, tables, res, years)
    base = res.deterministic.population.isel(draw=0, drop=True).sum(("sex", "age"))
    base_map = dict(zip(case.zones, base.sel(year=res.start_year).values, strict=True))
    obs = case.observed.groupby(["zone", "year"])["value"].sum()
    err = proj.assign(
        base=proj["zone"].map(base_map),
        observed=[obs.get((z, y), np.nan) for z, y in zip(proj["zone"], proj["year"], strict=True)],
    )
    err = err[err["observed"] > 0].dropna(subset=["projected"])
    err = err.astype({"projected": "float64", "observed": "float64", "base": "float64"})
    for col in _BOUNDS.values():
        err[col] = np.nan
    if res.quantiles is not None:
        q = res.quantiles
        w = err["method"] == "wandel"
        idx = {z: i for i, z in enumerate(q["zone"].values)}
        yi = {int(y): i for i, y in enumerate(q["year"].values)}
        zi = [idx[z] for z in err.loc[w, "zone"]]
        ti = [yi[int(y)] for y in err.loc[w, "year"]]
        qv = q.transpose("quantile", "year", "zone").values
        for k, lv in enumerate(q["quantile"].values):
            if float(lv) in _BOUNDS:
                err.loc[w, _BOUNDS[float(lv)]] = qv[k, ti, zi]
    types = case.kreis_type or {}
    return err.assign(
        level=case.level,
        base_year=case.base_year,
        horizon=err["year"] - case.base_year,
        size_class=[size_class(v) for v in err["base"]],
        kreis_type=[types.get(z[:5]) for z in err["zone"]],
        ape=ape(err["projected"], err["observed"]),
        log_error=np.log(err["projected"] / err["observed"]),
    ).reset_index(drop=True)


def _age_errors(
    case: BacktestCase, tables: ProjectionTables, res: ProjectionResult, years: list[int]
) -> pd.DataFrame:
    """Kreise: the mean absolute error of the age-group shares, Wandel and constant."""
    det = res.deterministic.population.isel(draw=0, drop=True)
    rows = []
    for y in years:
        og = _observed_groups(tables.population, case.zones, y)
        if og is None:
            continue
        pg = group_single_ages(det.sel(year=y).sum("sex").values, AGE_GROUPS)
        bg = group_single_ages(det.sel(year=res.start_year).sum("sex").values, AGE_GROUPS)
        ok = np.isfinite(og).all(axis=1) & (og.sum(axis=1) > 0)
        for method, pr in (("wandel", pg), ("constant", bg)):
            rows.append(
                {
                    "level": case.level,
                    "base_year": case.base_year,
                    "horizon": y - case.base_year,
                    "method": method,
                    "age_share_mae_pp": age_share_mae(pr[ok], og[ok]),
                    "n": int(ok.sum()),
                }
            )
    return pd.DataFrame(rows)


def _case_notes(case: BacktestCase, inputs: ProjectionInputs, err: pd.DataFrame) -> tuple[str, ...]:
    notes = tuple(dict.fromkeys(inputs.notes()))
    kinds = pd.Series(list(inputs.migration.method.values())).value_counts().to_dict()
    level = f"@demography.note.level.{case.level}"
    methods = [
        i18n.note("demography.note.method_count", method=f"@demography.note.method.{k}", n=int(n))
        for k, n in kinds.items()
    ]
    where = {"level": level, "base_year": case.base_year}
    out = (*notes[:3], i18n.note("demography.note.backtest_methods", methods=methods, **where))
    if not (err["method"] == "hamilton_perry").any():
        out += (i18n.note("demography.note.backtest_no_hamilton_perry", **where),)
    return out


def run_case(
    tables: ProjectionTables, case: BacktestCase, settings: DrawSettings | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """Errors, age-share errors (Kreise) and notes of one :class:`BacktestCase`."""
    ds = settings or DrawSettings()
    years = sorted(int(y) for y in case.observed["year"].unique() if int(y) > case.base_year)
    inputs = build_inputs(tables, case.zones, case.base_year, totals=case.gemeinde_totals)
    res = run(
        inputs,
        inputs.rates(max(years)),
        max(years),
        draws=ds.draws,
        seed=ds.seed,
        sigmas=ds.sigmas,
        age_breaks=(0,),
        quantile_levels=QUANTILE_LEVELS,
        totals_only=True,
    )
    err = _errors(case, tables, res, years)
    ages = _age_errors(case, tables, res, years) if case.level == "kreis" else pd.DataFrame()
    return err, ages, _case_notes(case, inputs, err)


def _gemeinde_observed(tables: ProjectionTables, target: int) -> pd.DataFrame:
    g = year_end_totals(tables.population, 8)
    h = harmonise_population(g, tables.zone_changes, target)
    return h[["zone", "year", "sex", "value"]]


GEMEINDE_BASES = (2009, 2013, 2017)
"""Base years of the Gemeinde backtests: every GV year with a later GV year to compare with."""

_Parts = tuple[list[pd.DataFrame], list[pd.DataFrame], list[str]]


def _kreis_structures(tables: ProjectionTables) -> pd.DataFrame:
    """Rows zone, year of the published Kreis age structures (by sex, not estimated)."""
    p = tables.population
    p = p[(p["zone"].str.len() == 5) & p["sex"].isin(SEXES) & ~p["estimated"].astype(bool)]
    p = p[~((p["age_start"] == 0) & p["age_end"].isna()) & (p["value"] > 0)]
    return p[["zone", "year"]].drop_duplicates().astype({"zone": str, "year": int})


def kreis_bases(tables: ProjectionTables) -> list[int]:
    """Every base year of the Kreis backtests: a year with published Kreis age structures and a
    later year with totals (:func:`wandel.demography.data.kreis_totals`) for at least half of the
    Kreise (a single city's yearly series makes no Kreis case)."""
    years = sorted(set(_kreis_structures(tables)["year"]))
    kt = kreis_totals(tables, 9999)
    n = kt[kt["value"] > 0].groupby(kt["year"].astype(int))["zone"].nunique()
    full = [int(y) for y, k in n.items() if k >= 0.5 * n.max()]
    return [y for y in years if full and y < max(full)]


def _kreis_cases(tables: ProjectionTables, ds: DrawSettings) -> _Parts:
    kt = kreis_totals(tables, 9999)
    kt = kt[kt["value"] > 0]
    # only the years with totals for at least half of the Kreise (not one city's own series)
    n = kt.groupby(kt["year"].astype(int))["zone"].nunique()
    kt = kt[kt["year"].astype(int).isin([int(y) for y, k in n.items() if k >= 0.5 * n.max()])]
    st = _kreis_structures(tables)
    errs: list[pd.DataFrame] = []
    ages: list[pd.DataFrame] = []
    notes: list[str] = []
    for base in [b for b in kreis_bases(tables) if b >= ds.min_base]:
        kreise = sorted(st.loc[st["year"] == base, "zone"].unique())
        obs = kt[kt["zone"].isin(kreise) & (kt["year"].astype(int) > base) & (kt["value"] > 0)]
        case = BacktestCase(
            "kreis", tuple(kreise), base, obs, kt, kreis_type=kreis_types(tables, kreise, base)
        )
        e, a, n = run_case(tables, case, ds)
        errs.append(e)
        ages.append(a)
        notes.extend(n)
    return errs, ages, notes


def _gemeinde_cases(tables: ProjectionTables, ds: DrawSettings) -> _Parts:
    gt = _gemeinde_observed(tables, 2019)
    tot = gt.groupby(["zone", "year"], as_index=False)["value"].sum()
    counts = tot.groupby("year")["zone"].nunique()
    common = {int(y) for y in counts.index if counts[y] >= 0.5 * counts.max()}
    in_common = tot["year"].astype(int).isin(common)
    # zones with a yearly series of their own (e.g. a city's official totals) are a case of
    # their own: their extra years would otherwise make horizons of one zone
    series = sorted(tot.loc[~in_common, "zone"].astype(str).unique())
    errs: list[pd.DataFrame] = []
    ages: list[pd.DataFrame] = []
    notes: list[str] = []
    for base in [b for b in GEMEINDE_BASES if b >= ds.min_base]:
        zones = sorted(tot.loc[tot["year"] == base, "zone"].astype(str).unique())
        zones = [z for z in zones if z in set(tot.loc[tot["year"] == 2019, "zone"])]
        types = kreis_types(tables, sorted({z[:5] for z in zones}), base)
        obs = tot[(tot["year"] > base) & in_common]
        # the baselines see the years common to all Gemeinden; Wandel's inputs see every total
        case = BacktestCase("gemeinde", tuple(zones), base, obs, tot[in_common], gt, types)
        e, a, n = run_case(tables, case, ds)
        errs.append(e)
        ages.append(a)
        notes.extend(n)
        if series:
            # projected with the other Gemeinden of their Kreise (the Kreis's pooled rate)
            szones = tuple(z for z in zones if z[:5] in {s[:5] for s in series})
            sobs = tot[(tot["year"] > base) & tot["zone"].isin(series)]
            scase = BacktestCase("gemeinde", szones, base, sobs, tot, gt, types)
            e, _, _ = run_case(tables, scase, ds)
            errs.append(e[e["zone"].isin(series)].assign(level="gemeinde-reihe"))
    return errs, ages, notes


def run_backtests(
    tables: ProjectionTables,
    levels: Sequence[str] = ("kreis", "gemeinde"),
    draws: int = 200,
    seed: int = 0,
    sigmas: Mapping[str, Mapping[str, float]] | None = None,
    min_base: int = 0,
) -> BacktestResult:
    """Run the Kreis (every base of :func:`kreis_bases`) and Gemeinde (bases 2009, 2013, 2017)
    backtests from the base years ``>= min_base``; see the module doc. ``draws = 0`` skips the
    intervals (no coverage); ``sigmas`` default to the calibrated CSV.
    """
    ds = DrawSettings(draws, seed, sigmas, min_base)
    errs: list[pd.DataFrame] = []
    ages: list[pd.DataFrame] = []
    notes: list[str] = []
    for level, cases in (("kreis", _kreis_cases), ("gemeinde", _gemeinde_cases)):
        if level in levels:
            e, a, n = cases(tables, ds)
            errs += e
            ages += a
            notes += n
    errors = pd.concat(errs, ignore_index=True)
    horizons = by_horizon(errors)
    return BacktestResult(
        errors,
        summarise(errors),
        pd.concat(ages, ignore_index=True),
        tuple(dict.fromkeys(notes)),
        horizons,
        winners(horizons),
        coverage_table(errors),
    )

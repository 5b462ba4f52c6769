"""Backtests: project from a past base year with data up to it, compare with what was observed.

Cases (:func:`run_backtests`)
-----------------------------
* Kreise: base 2015 (12411-0018), observed 2016, 2017 (12411-0018) and 2020 (12411-04-02-4).
* Gemeinden: base 2009, 2013 and 2017, observed in the later GV-ISys totals (2013, 2017, 2019),
  all harmonised to the territorial status of 2019 (:func:`wandel.regions.harmonise_population`).
  Harmonising with the change table of later years uses no demographic data from after the base.
  Only the years with totals for at least half of the Gemeinden count here.
* ``gemeinde-reihe``: Gemeinden with a yearly series of their own (e.g. a city's official totals,
  sex ``t``), same bases, observed in every later year of their series (projected together with
  the other Gemeinden of their Kreis). Their extra years never enter the ``gemeinde`` case.

Methods compared
----------------
``wandel`` (deterministic; its 80 % interval from the draws), ``constant`` (population of the base
year), ``linear`` (trend of the two latest totals ``<= base``), ``share`` (constant share of the
parent, the parent projected by Wandel: the sum of Wandel's zones in the Kreis, resp. the Land) and
``hamilton_perry`` (cohort-change ratios; needs two age structures ``<= base``, which the demo data
do not have for any case: reported as not available).

Metrics (:func:`error_metrics`)
-------------------------------
``APE = 100 |P - O| / O``; MAPE (mean), MedAPE (median), MAPE-R (Tayman & Swanson 1999: the APEs
Box-Cox transformed with the lambda in (0, 1] that makes them most symmetric, averaged and
transformed back, ``(lambda mean + 1)^(1/lambda)`` after ``(APE^lambda - 1) / lambda``), the shares
within 5 % and 10 %, by size class of the base population and horizon; for Kreise the mean absolute
error of the age-group shares (percentage points, groups 0-5, 6-17, 18-24, 25-44, 45-64, 65-74,
75+); and the coverage of Wandel's 80 % interval (q10..q90 of the total).

References: Tayman & Swanson (1999), Population Research and Policy Review 18; Smith, Tayman &
Swanson (2013), *A Practitioner's Guide to State and Local Population Projections*, ch. 13.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.ages import bands_from_breaks, group_single_ages, sum_age_groups
from wandel.demography.data import ProjectionTables, kreis_totals, year_end_totals
from wandel.demography.inputs import ProjectionInputs, build_inputs
from wandel.demography.model import ProjectionResult, run
from wandel.demography.uncertainty import SIZE_CLASSES, size_class
from wandel.regions.harmonise import harmonise_population
from wandel.tables import SEXES

__all__ = [
    "AGE_GROUPS",
    "GEMEINDE_BASES",
    "KREIS_BASE",
    "BacktestCase",
    "BacktestResult",
    "DrawSettings",
    "age_share_mae",
    "ape",
    "error_metrics",
    "hamilton_perry",
    "mape_r",
    "run_backtests",
    "run_case",
    "summarise",
]

Array = npt.NDArray[np.float64]
AGE_GROUPS: tuple[int, ...] = (0, 6, 18, 25, 45, 65, 75)
"""First ages of the age groups whose shares are compared (the last open)."""


def ape(projected: npt.ArrayLike, observed: npt.ArrayLike) -> Array:
    """Absolute percentage errors ``100 |P - O| / O``.

    >>> ape([110.0, 95.0], [100.0, 100.0]).tolist()
    [10.0, 5.0]
    """
    p = np.asarray(projected, dtype=np.float64)
    o = np.asarray(observed, dtype=np.float64)
    out: Array = 100.0 * np.abs(p - o) / o
    return out


def _skew(x: Array) -> float:
    s = float(x.std())
    return 0.0 if s == 0 else float(np.mean((x - x.mean()) ** 3) / s**3)


def mape_r(apes: npt.ArrayLike) -> float:
    """Rescaled MAPE (Tayman & Swanson 1999): Box-Cox symmetrised mean of the APEs.

    ``lambda`` in 0.01..1 (step 0.01) minimising the absolute skewness of
    ``(APE^lambda - 1) / lambda``; MAPE-R ``= (lambda mean + 1)^(1/lambda)``. Zeros are raised to
    1e-6. Symmetric APEs give lambda 1 and MAPE-R = MAPE.

    >>> round(mape_r([1.0, 2.0, 3.0]), 6)
    2.0
    """
    a = np.maximum(np.asarray(apes, dtype=np.float64), 1e-6)
    if len(a) < 3:
        return float(a.mean())
    best, lam_best = np.inf, 1.0
    for lam in np.round(np.arange(1.0, 0.0, -0.01), 2):
        k = abs(_skew((a**lam - 1) / lam))
        if k < best - 1e-12:
            best, lam_best = k, float(lam)
    m = float(np.mean((a**lam_best - 1) / lam_best))
    return float((lam_best * m + 1) ** (1 / lam_best))


def error_metrics(projected: npt.ArrayLike, observed: npt.ArrayLike) -> dict[str, float]:
    """n, MAPE, MedAPE, MAPE-R, share within 5 % and 10 % (percent) of one set of projections.

    >>> m = error_metrics([104.0, 92.0, 100.0], [100.0, 100.0, 100.0])
    >>> m["mape"], m["medape"], round(m["within5"], 2), m["within10"]
    (4.0, 4.0, 66.67, 100.0)
    """
    a = ape(projected, observed)
    return {
        "n": float(len(a)),
        "mape": float(a.mean()),
        "medape": float(np.median(a)),
        "mape_r": mape_r(a),
        "within5": float(100.0 * np.mean(a <= 5.0)),
        "within10": float(100.0 * np.mean(a <= 10.0)),
    }


def age_share_mae(projected: Array, observed: Array) -> float:
    """Mean absolute error (percentage points) of age-group shares; last axis the groups.

    >>> round(age_share_mae(np.array([[50.0, 50.0]]), np.array([[40.0, 60.0]])), 9)
    10.0
    """
    sp = projected / projected.sum(axis=-1, keepdims=True)
    so = observed / observed.sum(axis=-1, keepdims=True)
    return float(100.0 * np.mean(np.abs(sp - so)))


def hamilton_perry(p0: Array, p1: Array, years_between: int, horizon: int) -> Array:
    """Hamilton-Perry projection by single ages with cohort-change ratios.

    ``p0`` (earlier) and ``p1`` (later, ``years_between`` apart) hold single ages on the last axis;
    ``CCR(x) = p1(x + n) / p0(x)``; each step of ``n`` years ages ``p1`` by ``n`` with these ratios,
    the open group pooled (``p1(open) / (p0(open - n) + ... + p0(open))``), the first ``n`` ages by the child-woman ratio of the last step (kept
    constant). ``horizon`` must be a multiple of ``n``.

    >>> p = np.ones(101); hamilton_perry(p, p, 1, 2).sum()
    np.float64(101.0)
    """
    n = years_between
    if horizon % n:
        raise ValueError("horizon must be a multiple of the years between the structures")
    ccr = np.where(p0[..., :-n] > 0, p1[..., n:] / np.where(p0[..., :-n] > 0, p0[..., :-n], 1), 1.0)
    cwr = p1[..., :n].sum(axis=-1, keepdims=True) / np.maximum(
        p1[..., 15 + n : 50 + n].sum(axis=-1, keepdims=True), 1e-9
    )
    pooled0 = p0[..., -1 - n :].sum(axis=-1)
    ccr_open = np.where(pooled0 > 0, p1[..., -1] / np.where(pooled0 > 0, pooled0, 1), 1.0)
    cur = p1.copy()
    for _ in range(horizon // n):
        nxt = np.empty_like(cur)
        nxt[..., n:-1] = cur[..., : -n - 1] * ccr[..., :-1]
        nxt[..., -1] = cur[..., -1 - n :].sum(axis=-1) * ccr_open
        women = nxt[..., 15 + n : 50 + n].sum(axis=-1, keepdims=True)
        nxt[..., :n] = cwr * women / n
        cur = nxt
    return cur


# --------------------------------------------------------------------------------------------
# running the cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Per-zone errors (``errors``: level, base_year, year, horizon, zone, size_class, method,
    projected, observed, ape, log_error, q10, q90) and the summary table (``metrics``).

    ``notes`` say which inputs were weak (e.g. structures from a later year, zero migration).
    """

    errors: pd.DataFrame
    metrics: pd.DataFrame
    age_errors: pd.DataFrame
    notes: tuple[str, ...]


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


def _linear(
    totals: pd.DataFrame, zones: Sequence[str], base_year: int, years: Sequence[int]
) -> pd.DataFrame:
    t = totals[totals["year"].astype(int) <= base_year]
    rows = []
    for z in zones:
        g = t[t["zone"] == z].groupby("year")["value"].sum().sort_index()
        if len(g) < 2:
            continue
        y0, y1 = int(g.index[-2]), int(g.index[-1])
        slope = (g.iloc[-1] - g.iloc[-2]) / (y1 - y0)
        for y in years:
            rows.append(
                {"zone": z, "year": y, "projected": max(float(g.iloc[-1] + slope * (y - y1)), 0.0)}
            )
    return pd.DataFrame(rows, columns=["zone", "year", "projected"])


@dataclass(frozen=True, eq=False)
class BacktestCase:
    """One backtest case: project ``zones`` (``level``) from ``base_year`` with data up to it and
    compare with ``observed`` (rows zone, year, value of the later years); ``totals`` (rows zone,
    year, value) feed the linear baseline; ``gemeinde_totals`` (zone, year, sex, value) replace the
    published Gemeinde totals of the inputs (harmonised to a later territorial status)."""

    level: str
    zones: tuple[str, ...]
    base_year: int
    observed: pd.DataFrame
    totals: pd.DataFrame
    gemeinde_totals: pd.DataFrame | None = None


@dataclass(frozen=True)
class DrawSettings:
    """Draws of Wandel's intervals (0: none), their seed and sigmas (None: the calibrated CSV)."""

    draws: int = 200
    seed: int = 0
    sigmas: Mapping[str, Mapping[str, float]] | None = None


def _errors(
    case: BacktestCase, res: ProjectionResult, start: int, years: list[int]
) -> pd.DataFrame:
    """Per-zone errors of Wandel and the baselines in every observed year of ``case``."""
    zones = list(case.zones)
    tot = res.deterministic.population.isel(draw=0, drop=True).sum(("sex", "age"))
    parent = [z[:2] if case.level == "kreis" else z[:5] for z in zones]
    frame = pd.DataFrame({"zone": zones, "parent": parent, "base": tot.sel(year=start).values})
    q = None if res.quantiles is None else res.quantiles.sum(("sex", "age_start"))
    lin = _linear(case.totals, zones, case.base_year, years)
    rows = []
    for y in years:
        fy = frame.assign(wandel=tot.sel(year=y).values)
        par_w = fy.groupby("parent")["wandel"].transform("sum")
        par_b = fy.groupby("parent")["base"].transform("sum")
        fy["share"] = fy["base"] / par_b * par_w
        fy["constant"] = fy["base"]
        fy = fy.merge(
            lin[lin["year"] == y][["zone", "projected"]].rename(columns={"projected": "linear"}),
            on="zone",
            how="left",
        )
        obs = case.observed[case.observed["year"] == y].set_index("zone")["value"]
        fy["observed"] = fy["zone"].map(obs)
        for method in ("wandel", "constant", "linear", "share"):
            part = fy[["zone", "base", method, "observed"]].rename(columns={method: "projected"})
            part = part.assign(method=method, year=y, q10=np.nan, q90=np.nan)
            if method == "wandel" and q is not None:
                part["q10"] = q.sel(year=y, quantile=0.1).values
                part["q90"] = q.sel(year=y, quantile=0.9).values
            rows.append(part)
    err = pd.concat(rows, ignore_index=True).dropna(subset=["projected", "observed"])
    err = err.astype({"projected": "float64", "observed": "float64", "base": "float64"})
    return err.assign(
        level=case.level,
        base_year=case.base_year,
        horizon=err["year"] - case.base_year,
        size_class=[size_class(v) for v in err["base"]],
        ape=ape(err["projected"], err["observed"]),
        log_error=np.log(err["projected"] / err["observed"]),
    )


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
        for method, pr in (("wandel", pg), ("constant", bg)):
            rows.append(
                {
                    "level": case.level,
                    "base_year": case.base_year,
                    "horizon": y - case.base_year,
                    "method": method,
                    "age_share_mae_pp": age_share_mae(pr, og),
                    "n": len(case.zones),
                }
            )
    return pd.DataFrame(rows)


def _case_notes(case: BacktestCase, inputs: ProjectionInputs) -> tuple[str, ...]:
    notes = tuple(dict.fromkeys(inputs.notes()))
    kinds = pd.Series(list(inputs.migration.method.values())).value_counts().to_dict()
    return (*notes[:3], f"{case.level} base {case.base_year}: migration by method {kinds}")


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
        age_breaks=AGE_GROUPS,
    )
    err = _errors(case, res, inputs.start_year, years)
    ages = _age_errors(case, tables, res, years) if case.level == "kreis" else pd.DataFrame()
    return err, ages, _case_notes(case, inputs)


def summarise(errors: pd.DataFrame) -> pd.DataFrame:
    """Metrics by level, base year, horizon, method and size class (plus ``all``), with coverage."""
    rows = []
    keys = ["level", "base_year", "horizon", "method"]
    for key, g in errors.groupby(keys, sort=True):
        for cls in ("all", *SIZE_CLASSES):
            sub = g if cls == "all" else g[g["size_class"] == cls]
            if sub.empty:
                continue
            m = error_metrics(sub["projected"], sub["observed"])
            cov = np.nan
            if sub["q10"].notna().any():
                inside = (sub["observed"] >= sub["q10"]) & (sub["observed"] <= sub["q90"])
                cov = float(100.0 * inside.mean())
            rows.append(
                {**dict(zip(keys, key, strict=True)), "size_class": cls, **m, "coverage80": cov}
            )
    return pd.DataFrame(rows)


def _gemeinde_observed(tables: ProjectionTables, target: int) -> pd.DataFrame:
    g = year_end_totals(tables.population, 8)
    h = harmonise_population(g, tables.zone_changes, target)
    return h[["zone", "year", "sex", "value"]]


GEMEINDE_BASES = (2009, 2013, 2017)
"""Base years of the Gemeinde backtests: every GV year with a later GV year to compare with."""

KREIS_BASE = 2015
"""Base year of the Kreis backtest (12411-0018), observed 2016, 2017 and 2020."""

_Parts = tuple[list[pd.DataFrame], list[pd.DataFrame], list[str]]


def _kreis_cases(tables: ProjectionTables, ds: DrawSettings) -> _Parts:
    kt = kreis_totals(tables, 2020)
    kp = tables.population
    kreise = sorted(
        kp.loc[(kp["year"] == KREIS_BASE) & (kp["zone"].str.len() == 5), "zone"]
        .astype(str)
        .unique()
    )
    obs = kt[kt["zone"].isin(kreise) & kt["year"].isin([2016, 2017, 2020])]
    e, a, n = run_case(tables, BacktestCase("kreis", tuple(kreise), KREIS_BASE, obs, kt), ds)
    return [e], [a], list(n)


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
    for base in GEMEINDE_BASES:
        zones = sorted(tot.loc[tot["year"] == base, "zone"].astype(str).unique())
        zones = [z for z in zones if z in set(tot.loc[tot["year"] == 2019, "zone"])]
        obs = tot[(tot["year"] > base) & in_common]
        # the baselines see the years common to all Gemeinden; Wandel's inputs see every total
        case = BacktestCase("gemeinde", tuple(zones), base, obs, tot[in_common], gt)
        e, a, n = run_case(tables, case, ds)
        errs.append(e)
        ages.append(a)
        notes.extend(n)
        if series:
            # projected with the other Gemeinden of their Kreise (the Kreis's pooled rate)
            szones = tuple(z for z in zones if z[:5] in {s[:5] for s in series})
            sobs = tot[(tot["year"] > base) & tot["zone"].isin(series)]
            e, _, _ = run_case(tables, BacktestCase("gemeinde", szones, base, sobs, tot, gt), ds)
            errs.append(e[e["zone"].isin(series)].assign(level="gemeinde-reihe"))
    return errs, ages, notes


def run_backtests(
    tables: ProjectionTables,
    levels: Sequence[str] = ("kreis", "gemeinde"),
    draws: int = 200,
    seed: int = 0,
    sigmas: Mapping[str, Mapping[str, float]] | None = None,
) -> BacktestResult:
    """Run the Kreis (base 2015) and Gemeinde (bases 2009, 2013, 2017) backtests; see the module
    doc. ``draws = 0`` skips the intervals (no coverage); ``sigmas`` default to the calibrated CSV.
    """
    ds = DrawSettings(draws, seed, sigmas)
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
    return BacktestResult(
        errors, summarise(errors), pd.concat(ages, ignore_index=True), tuple(notes)
    )

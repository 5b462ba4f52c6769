"""Rates for the projection engine, estimated honestly from the canonical store tables.

Every estimator takes a ``base_year`` and uses only rows dated on or before it; each result carries
the years it was estimated from (``years``). The functions take canonical long frames (see
:mod:`wandel.tables`) and return frozen dataclasses with labelled arrays for
:class:`wandel.demography.engine.ProjectionRates`; they never open the store.

Methods
-------
Fertility
    The German age pattern ``asfr_DE(x)`` (table 12612-0008, measure ``asfr_per_1000``, latest year
    ``<= base``) scaled per Kreis by indirect standardisation: ``f_z = O_z / E_z`` with ``O_z`` the
    observed births of the years ``<= base`` and ``E_z = n_years * sum_x asfr_DE(x) W_z(x)``
    (``W_z`` the zone's women at the base population). Gemeinden take their Kreis factor.
Mortality
    The German period life table of the latest period ending ``<= base`` (a period "2013/15" is dated
    2015), ``m_z(x) = f_z m_DE(x)`` with ``f_z = D_z / sum_{s,x} m_DE(s, x) P_z(s, x)`` (per year of
    deaths data); survival ratios from :func:`wandel.demography.lifetable.survival_ratios`.
Small numbers
    Poisson-gamma empirical Bayes (Clayton & Kaldor 1987): with the parent's factor ``m`` as prior
    mean and a prior variance ``tau2`` estimated by the method of moments across all zones,
    ``f_z = (O_z + b m) / (E_z + b)``, ``b = m / tau2``; the weight of the zone's own data is
    ``w_z = E_z / (E_z + b)``, so small zones (small ``E``) are pulled more toward their parent.
Sex ratio at birth
    Boys per girl among Germany's births (12612-0001) of the ten latest years ``<= base``.
Migration
    With the Kreis migration table (6 age groups) for years ``<= base``: the yearly mean of out-movers
    and in-movers by group is spread over single ages with
    :func:`wandel.demography.graduation.graduate`, guided by ``RC(x) P(x)`` (the Rogers-Castro
    standard schedule times the zone's population); out-migration becomes a rate
    (out-movers / population), in-migration stays a count. Without such data, net migration per year
    is taken from two successive harmonised totals ``<= base`` minus the natural change estimated
    with the zone's own fertility and mortality; the gross flows are unknown, so a positive net is
    entered as in-migrants and a negative net as out-migration rates (net out-movers divided by the
    population), both spread by the standard Rogers-Castro profile (this understates gross flows but
    never invents them). Two totals are only compared when no census revision lies between them
    (:data:`CENSUS_DATES`: the totals before and after a census are on different bases, so their
    difference would count the revision as migration); the latest such clean pair of successive
    totals ``<= base`` is used. Where none exists, the fallback is the zone's Kreis's net migration
    rate (in- minus out-movers per inhabitant and year) from the Kreis migration table ``<= base``
    (:func:`kreis_net_rates`), and zero migration where that table has no such rows; the result
    says which (``method``: ``net``, ``kreis_rate`` or ``none``).
Base population
    Published age groups graduated to single years 0..100+, guided by Germany's single-age shape of
    the same year. Gemeinden known only by totals get their Kreis's single-age structure by sex scaled
    to their totals (marked in ``estimated``); the Kreis structure is the latest ``<= base`` or, if
    none exists, the earliest later one (marked in ``later_structure``).

References: Clayton & Kaldor (1987), Biometrics 43; Rogers & Castro (1981), *Model Migration
Schedules*, IIASA RR-81-30; Preston, Heuveline & Guillot (2001), ch. 3 and 6.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from wandel.demography.graduation import graduate
from wandel.demography.lifetable import (
    A0_DESTATIS,
    OPEN_AGE,
    life_table_from_qx,
    mx_from_qx_ax,
    qx_from_mx_ax,
    survival_ratios,
)
from wandel.errors import MissingDataError

__all__ = [
    "AGES",
    "CENSUS_DATES",
    "RC_STANDARD",
    "BasePopulation",
    "FertilityRates",
    "MigrationRates",
    "MissingDataError",
    "MortalityRates",
    "NetShrinkage",
    "Persistence",
    "ZoneFactors",
    "base_population",
    "crosses_census",
    "estimate_fertility",
    "estimate_migration",
    "estimate_mortality",
    "estimate_srb",
    "gemeinde_structure",
    "german_asfr",
    "german_qx",
    "kreis_net_rates",
    "migration_persistence",
    "mx_scaled",
    "net_migration",
    "period_end_year",
    "rogers_castro",
    "shrink_net_rates",
    "shrink_poisson_gamma",
    "single_ages",
]

Array = npt.NDArray[np.float64]
AGES = np.arange(OPEN_AGE + 1)
SEXES = ("m", "f")

RC_STANDARD: dict[str, float] = {
    "a1": 0.02,
    "alpha1": 0.10,
    "a2": 0.06,
    "alpha2": 0.10,
    "mu2": 20.0,
    "lambda2": 0.40,
    "c": 0.003,
}
"""Stylised standard Rogers-Castro parameters (childhood, labour-force peak at 23, constant).

Round values inside the ranges Rogers & Castro (1981, IIASA RR-81-30) report for their standard
schedules; a stylised profile, not a fit to German data."""


CENSUS_DATES: tuple[date, ...] = (date(2011, 5, 9), date(2022, 5, 15))
"""Reference dates of the German censuses that rebased the population totals (Zensus 2011 and
Zensus 2022). Totals of 31 December before and after such a date are on different bases."""


def crosses_census(y0: int, y1: int, census: Sequence[date] = CENSUS_DATES) -> bool:
    """Whether a census reference date lies between the totals of 31 Dec ``y0`` and 31 Dec ``y1``.

    >>> crosses_census(2009, 2013), crosses_census(2011, 2013), crosses_census(2010, 2011)
    (True, False, True)
    """
    lo, hi = date(min(y0, y1), 12, 31), date(max(y0, y1), 12, 31)
    return any(lo < c <= hi for c in census)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _upto(frame: pd.DataFrame, base_year: int) -> pd.DataFrame:
    return frame[frame["year"].astype(int) <= base_year]


def _all_ages(frame: pd.DataFrame) -> pd.Series:
    return (frame["age_start"] == 0) & frame["age_end"].isna()


def rogers_castro(ages: npt.ArrayLike = AGES, params: Mapping[str, float] = RC_STANDARD) -> Array:
    """Rogers-Castro model schedule (7 parameters), normalised to sum 1 over ``ages``.

    ``M(x) = a1 exp(-alpha1 x) + a2 exp(-alpha2 (x - mu2) - exp(-lambda2 (x - mu2))) + c``

    >>> p = rogers_castro()
    >>> round(float(p.sum()), 12), int(np.argmax(p[15:])) + 15
    (1.0, 23)
    """
    x = np.asarray(ages, dtype=np.float64)
    p = params
    m = (
        p["a1"] * np.exp(-p["alpha1"] * x)
        + p["a2"] * np.exp(-p["alpha2"] * (x - p["mu2"]) - np.exp(-p["lambda2"] * (x - p["mu2"])))
        + p["c"]
    )
    out: Array = m / m.sum()
    return out


@dataclass(frozen=True)
class ZoneFactors:
    """Indirectly standardised factors with empirical-Bayes shrinkage, one entry per zone.

    ``raw = observed / expected``; ``factor = weight * raw + (1 - weight) * prior``;
    ``prior_strength`` is ``b`` of the gamma prior (in expected events); ``years`` the event years.
    """

    zones: tuple[str, ...]
    observed: Array
    expected: Array
    raw: Array
    prior: Array
    weight: Array
    factor: Array
    prior_strength: float
    years: tuple[int, ...]

    def frame(self) -> pd.DataFrame:
        """The factors as a table (zone, observed, expected, raw, prior, weight, factor)."""
        return pd.DataFrame(
            {
                "zone": list(self.zones),
                "observed": self.observed,
                "expected": self.expected,
                "raw": self.raw,
                "prior": self.prior,
                "weight": self.weight,
                "factor": self.factor,
            }
        )


def shrink_poisson_gamma(
    observed: npt.ArrayLike, expected: npt.ArrayLike, prior: npt.ArrayLike
) -> tuple[Array, Array, float]:
    """Poisson-gamma empirical-Bayes factors: ``(factor, weight, b)``.

    ``O ~ Poisson(f E)``, ``f ~ Gamma(mean = prior, variance = tau2)``; ``tau2`` by the method of
    moments, ``tau2 = mean((O/E - prior)^2) - mean(prior / E)`` (floored at 1e-6), ``b = mean(prior)
    / tau2``; posterior mean ``(O + b prior) / (E + b) = w O/E + (1 - w) prior``, ``w = E / (E + b)``.

    >>> f, w, b = shrink_poisson_gamma([12.0, 1100.0], [10.0, 1000.0], [1.0, 1.0])
    >>> bool(w[0] < w[1]), bool(abs(f[0] - 1) < abs(1.2 - 1))
    (True, True)
    """
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    m = np.asarray(prior, dtype=np.float64)
    ok = e > 0
    if not ok.any():
        return m.copy(), np.zeros_like(m), float("inf")
    raw = o[ok] / e[ok]
    tau2 = max(float(np.mean((raw - m[ok]) ** 2) - np.mean(m[ok] / e[ok])), 1e-6)
    b = float(np.mean(m[ok])) / tau2
    w = np.where(ok, e / (e + b), 0.0)
    f = np.where(ok, (o + b * m) / np.where(ok, e + b, 1.0), m)
    return f, w, b


def _factors(
    zones: Sequence[str],
    observed: Array,
    expected: Array,
    parent_of: Mapping[str, str],
    years: tuple[int, ...],
) -> ZoneFactors:
    """Shrink zone factors toward their parent's factor (the parent's pooled O / E)."""
    parents = [parent_of.get(z, "DG") for z in zones]
    frame = pd.DataFrame({"parent": parents, "o": observed, "e": expected})
    pooled = frame.groupby("parent")[["o", "e"]].sum()
    pooled_f = (pooled["o"] / pooled["e"].where(pooled["e"] > 0)).fillna(1.0)
    prior = frame["parent"].map(pooled_f).to_numpy(dtype=np.float64)
    f, w, b = shrink_poisson_gamma(observed, expected, prior)
    raw = np.where(expected > 0, observed / np.where(expected > 0, expected, 1.0), np.nan)
    return ZoneFactors(tuple(zones), observed, expected, raw, prior, w, f, b, years)


# --------------------------------------------------------------------------------------------
# population in single ages
# --------------------------------------------------------------------------------------------


def single_ages(frame: pd.DataFrame, parent_shape: Array | None = None) -> xr.DataArray:
    """Graduate one year's population rows (zone, sex, age groups) to single ages 0..100+.

    Rows are grouped by zone and sex; each group's age groups (the all-ages row dropped when parts
    exist) are graduated with :func:`graduate` guided by ``parent_shape`` (101 values) if given.
    Returns a DataArray ``(zone, sex, age)``.
    """
    rows = frame[frame["sex"].isin(SEXES) & frame["value"].notna()]
    parts = rows[~_all_ages(rows)]
    zones = sorted(rows["zone"].astype(str).unique())
    out = np.zeros((len(zones), 2, OPEN_AGE + 1))
    zi = {z: i for i, z in enumerate(zones)}
    for (zone, sex), grp in parts.groupby(["zone", "sex"], sort=True):
        g = grp.sort_values("age_start")
        breaks = [int(a) for a in g["age_start"]]
        counts = g["value"].to_numpy(dtype=np.float64)
        if breaks[0] != 0 or not g["age_end"].isna().iloc[-1]:
            continue
        out[zi[str(zone)], SEXES.index(str(sex))] = graduate(counts, breaks, parent=parent_shape)
    totals_only = rows[_all_ages(rows)]
    for _, r in totals_only.iterrows():
        i, s = zi[str(r["zone"])], SEXES.index(str(r["sex"]))
        if out[i, s].sum() == 0 and float(r["value"]) > 0:
            out[i, s] = np.nan  # a total without a structure: caller must estimate one
    return xr.DataArray(
        out, dims=("zone", "sex", "age"), coords={"zone": zones, "sex": list(SEXES), "age": AGES}
    )


def _germany_shape(population: pd.DataFrame, year: int) -> Array | None:
    """Germany's single-age population (both sexes) of the latest year ``<= year`` (else None)."""
    dg = population[(population["zone"] == "DG") & (population["year"].astype(int) <= year)]
    dg = dg[~_all_ages(dg) & dg["value"].notna()]
    if dg.empty:
        return None
    y = int(dg["year"].max())
    part = _finest_partition(dg[dg["year"] == y])
    if part is None:
        return None
    g = part.groupby("age_start")["value"].sum().sort_index()
    shape: Array = graduate(g.to_numpy(dtype=np.float64), [int(a) for a in g.index])
    return shape


def _finest_partition(rows: pd.DataFrame) -> pd.DataFrame | None:
    """The rows forming the finest partition of ages 0..open, or None if there is none.

    A year may hold both single ages and 5-year groups of the same ages (e.g. 75 and 75-79 from
    two tables); summing by ``age_start`` would then count those people twice (spikes at 75, 80
    in the pyramids). From age 0 on, the narrowest row starting at the current age is taken
    (an open group counts as widest) until the open group is reached.
    """
    width = (rows["age_end"].astype("Float64") - rows["age_start"]).fillna(1e9)
    r = rows.assign(_w=width.to_numpy(dtype=np.float64))
    keep = []
    age = 0
    while True:
        cand = r[r["age_start"] == age]
        if cand.empty:
            return None
        w = float(cand["_w"].min())
        keep.append(cand[cand["_w"] == w])
        if w >= 1e9:
            break
        age += int(w)
    return pd.concat(keep).drop(columns="_w")


@dataclass(frozen=True)
class BasePopulation:
    """The base population in single ages ``(zone, sex, age)`` on 31 December of ``year``.

    ``estimated``: zones whose age structure was estimated from their Kreis; ``structure_year``:
    year of the Kreis structure used for them; ``later_structure``: zones whose structure came
    from a year after the base year (no earlier one existed), which a backtest must report.
    """

    population: xr.DataArray
    year: int
    estimated: tuple[str, ...] = ()
    structure_year: int | None = None
    later_structure: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def gemeinde_structure(totals: pd.DataFrame, kreis_single: xr.DataArray) -> xr.DataArray:
    """Gemeinde single-age population: sex totals times the Kreis's age shares within each sex.

    ``totals`` has columns zone, sex, value (all ages); ``kreis_single`` dims ``(zone, sex, age)``
    with Kreis keys; the Kreis of a Gemeinde is its AGS[:5].
    ``P_g(s, x) = P_g(s) K(s, x) / sum_x K(s, x)``.
    """
    t = totals.pivot_table(index="zone", columns="sex", values="value", aggfunc="sum")
    t = t.reindex(columns=list(SEXES)).fillna(0.0)
    share = kreis_single / kreis_single.sum("age").where(kreis_single.sum("age") > 0)
    kreise = [z[:5] for z in t.index]
    missing = sorted(set(kreise) - set(share["zone"].values.tolist()))
    if missing:
        raise MissingDataError(f"no age structure for Kreis {missing[0]}")
    sh = share.sel(zone=kreise).fillna(0.0).values
    vals = sh * t.to_numpy(dtype=np.float64)[:, :, None]
    return xr.DataArray(
        vals,
        dims=("zone", "sex", "age"),
        coords={"zone": [str(z) for z in t.index], "sex": list(SEXES), "age": AGES},
    )


def _kreis_structure_year(population: pd.DataFrame, kreise: Sequence[str], base_year: int) -> int:
    kp = population[population["zone"].isin(list(kreise)) & ~population["estimated"].astype(bool)]
    kp = kp[~_all_ages(kp)]
    years = sorted(int(y) for y in kp["year"].unique())
    if not years:
        raise MissingDataError("no Kreis age structure in the store")
    before = [y for y in years if y <= base_year]
    return before[-1] if before else years[0]


def base_population(
    population: pd.DataFrame,
    zones: Sequence[str],
    base_year: int,
    gemeinde_totals: pd.DataFrame | None = None,
) -> BasePopulation:
    """Base population of Kreise (5-digit) or Gemeinden (8-digit) in single ages.

    Kreise: the latest year ``<= base_year`` with the zone's published age groups. Gemeinden: their
    sex totals of the latest year ``<= base_year`` (``gemeinde_totals`` rows zone, year, sex, value,
    e.g. harmonised; default the population table's published totals) with the Kreis structure of
    the latest year ``<= base_year`` (else the earliest, flagged ``later_structure``).
    """
    zones = [str(z) for z in zones]
    pub = population[~population["estimated"].astype(bool)]
    if all(len(z) == 5 for z in zones):
        every = pub[pub["zone"].isin(zones) & ~_all_ages(pub)]
        rows = _upto(every, base_year)
        later = rows.empty
        if later:
            if every.empty:
                raise MissingDataError(f"no age structure of {zones[0]} in the store")
            rows = every[every["year"] == every["year"].min()]
        year = int(rows["year"].max())
        pop = single_ages(rows[rows["year"] == year], _germany_shape(population, year))
        have = set(pop["zone"].values.tolist())
        missing = [z for z in zones if z not in have]
        if missing:
            raise MissingDataError(f"no age structure of {missing[0]} in {year}")
        if later:
            note = (
                f"structure from a later year: Kreis age structure of {year} for base {base_year}"
            )
            return BasePopulation(pop.sel(zone=zones), year, (), year, tuple(zones), (note,))
        return BasePopulation(pop.sel(zone=zones), year)
    if not all(len(z) == 8 for z in zones):
        raise MissingDataError("zones must all be Kreise (5 digits) or all Gemeinden (8 digits)")
    tot = gemeinde_totals
    if tot is None:
        tot = pub[pub["zone"].isin(zones) & _all_ages(pub) & pub["sex"].isin(SEXES)]
    tot = _upto(tot[tot["zone"].isin(zones) & tot["sex"].isin(SEXES)], base_year)
    if tot.empty:
        raise MissingDataError(f"no population of {zones[0]} at or before {base_year}")
    year = int(tot["year"].max())
    tot = tot[tot["year"] == year]
    have = set(tot["zone"].astype(str))
    missing = [z for z in zones if z not in have]
    if missing:
        raise MissingDataError(f"no population of {missing[0]} in {year}")
    kreise = sorted({z[:5] for z in zones})
    sy = _kreis_structure_year(population, kreise, base_year)
    kp = pub[pub["zone"].isin(kreise) & (pub["year"] == sy)]
    kreis_single = single_ages(kp, _germany_shape(population, sy))
    pop = gemeinde_structure(tot[["zone", "sex", "value"]], kreis_single).sel(zone=zones)
    later = tuple(zones) if sy > base_year else ()
    notes = (
        (f"structure from a later year: Kreis age structure of {sy} used for base {base_year}",)
        if later
        else ()
    )
    return BasePopulation(pop, year, tuple(zones), sy, later, notes)


# --------------------------------------------------------------------------------------------
# fertility
# --------------------------------------------------------------------------------------------


def german_asfr(fertility: pd.DataFrame, base_year: int) -> tuple[int, Array]:
    """Germany's births per woman by age 0..100 (zeros outside 15..49) of the latest year ``<= base``.

    Returns ``(year, asfr)``; ``sum(asfr)`` is the TFR of that year.
    """
    f = fertility[
        (fertility["zone"] == "DG")
        & (fertility["measure"] == "asfr_per_1000")
        & (fertility["category"].fillna("") == "")
        & fertility["value"].notna()
    ]
    f = _upto(f, base_year)
    if f.empty:
        raise MissingDataError(f"no German age-specific fertility at or before {base_year}")
    year = int(f["year"].max())
    g = f[f["year"] == year].groupby("age_start")["value"].mean()
    asfr = np.zeros(OPEN_AGE + 1)
    asfr[g.index.to_numpy(dtype=int)] = g.to_numpy(dtype=np.float64) / 1000.0
    return year, asfr


@dataclass(frozen=True)
class FertilityRates:
    """Births per woman by zone and age (``asfr``, dims ``zone, age``) and how they were found."""

    asfr: xr.DataArray
    schedule_year: int
    tfr_schedule: float
    factors: ZoneFactors
    years: tuple[int, ...]


def _events(frame: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Yearly all-ages event totals per 5-digit zone, years ``<= base``: zone, year, value."""
    e = _upto(frame[frame["zone"].str.len() == 5], base_year)
    e = e[_all_ages(e) & e["value"].notna()]
    tot = e[e["sex"] == "t"]
    by_sex = e[e["sex"].isin(SEXES)].groupby(["zone", "year"], as_index=False)["value"].sum()
    both = pd.concat([tot[["zone", "year", "value"]], by_sex]).drop_duplicates(["zone", "year"])
    return both.reset_index(drop=True)


def _kreis_factors(
    events: pd.DataFrame,
    expected_per_year: Mapping[str, float],
    kreise: Sequence[str],
    parent_of: Mapping[str, str],
) -> ZoneFactors:
    obs = np.zeros(len(kreise))
    exp = np.zeros(len(kreise))
    for i, k in enumerate(kreise):
        ev = events[events["zone"] == k]
        obs[i] = float(ev["value"].sum())
        exp[i] = float(expected_per_year.get(k, 0.0)) * len(ev)
    years = tuple(sorted(int(y) for y in events["year"].unique()))
    return _factors(kreise, obs, exp, parent_of, years)


def _per_zone(factors: ZoneFactors, zones: Sequence[str]) -> Array:
    """Factor of each zone, a Gemeinde taking its Kreis's (1 where unknown)."""
    fk = dict(zip(factors.zones, factors.factor, strict=True))
    return np.array([fk.get(z, fk.get(z[:5], 1.0)) for z in zones], dtype=np.float64)


def estimate_fertility(
    fertility: pd.DataFrame,
    births: pd.DataFrame,
    kreis_population: xr.DataArray,
    zones: Sequence[str],
    base_year: int,
) -> FertilityRates:
    """German schedule scaled by each Kreis's shrunken factor (Gemeinden: their Kreis's).

    ``kreis_population`` (dims ``zone, sex, age``) holds the Kreise whose women give the expected
    births; their parent for the shrinkage is the Land (AGS[:2]).
    """
    year, asfr_de = german_asfr(fertility, base_year)
    kreise = [str(z) for z in kreis_population["zone"].values]
    women = kreis_population.sel(sex="f").values
    expected = dict(zip(kreise, women @ asfr_de, strict=True))
    factors = _kreis_factors(
        _events(births, base_year), expected, kreise, {k: k[:2] for k in kreise}
    )
    f = _per_zone(factors, zones)
    asfr = xr.DataArray(
        f[:, None] * asfr_de[None, :],
        dims=("zone", "age"),
        coords={"zone": list(zones), "age": AGES},
    )
    return FertilityRates(asfr, year, float(asfr_de.sum()), factors, (year, *factors.years))


def estimate_srb(
    births: pd.DataFrame, base_year: int, n_years: int = 10
) -> tuple[float, tuple[int, ...]]:
    """Boys per girl among Germany's births of the ``n_years`` latest years ``<= base``."""
    b = _upto(births[(births["zone"] == "DG") & births["sex"].isin(SEXES)], base_year)
    b = b[_all_ages(b) & b["value"].notna()]
    years = sorted(int(y) for y in b["year"].unique())[-n_years:]
    if not years:
        raise MissingDataError(f"no German births by sex at or before {base_year}")
    b = b[b["year"].isin(years)]
    boys = float(b.loc[b["sex"] == "m", "value"].sum())
    girls = float(b.loc[b["sex"] == "f", "value"].sum())
    return boys / girls, tuple(years)


# --------------------------------------------------------------------------------------------
# mortality
# --------------------------------------------------------------------------------------------


def period_end_year(period: str) -> int:
    """Last year of a life-table period: ``"2013/15" -> 2015``, ``"1998/00" -> 2000``.

    >>> period_end_year("2013/15"), period_end_year("1998/00"), period_end_year("2022")
    (2015, 2000, 2022)
    """
    head, _, tail = str(period).replace("-", "/").partition("/")
    start = int(head)
    if not tail:
        return start
    if len(tail) == 4:
        return int(tail)
    end = start - start % 100 + int(tail)
    return end + 100 if end < start else end


def german_qx(life_tables: pd.DataFrame, base_year: int) -> tuple[str, Array]:
    """Germany's one-year ``q(x)``, ages 0..100, sexes (m, f) of the latest complete period ending
    ``<= base`` (a table with every age 0..100 for both sexes)."""
    lt = life_tables[(life_tables["zone"] == "DG") & life_tables["qx"].notna()]
    complete = lt.groupby("period")["qx"].transform("size") == 2 * (OPEN_AGE + 1)
    lt = lt[complete]  # the early tables stop at age 89
    ends = lt["period"].map(period_end_year)
    lt = lt[ends <= base_year]
    if lt.empty:
        raise MissingDataError(f"no German life table ending at or before {base_year}")
    ends = lt["period"].map(period_end_year)
    period = str(lt.loc[ends == ends.max(), "period"].iloc[0])
    q = np.zeros((2, OPEN_AGE + 1))
    for s, sex in enumerate(SEXES):
        r = lt[(lt["period"] == period) & (lt["sex"] == sex)].sort_values("age")
        q[s, r["age"].to_numpy(dtype=int)] = r["qx"].to_numpy(dtype=np.float64)
    return period, q


def _ax() -> Array:
    a = np.full(OPEN_AGE + 1, 0.5)
    a[0] = A0_DESTATIS
    return a


def mx_scaled(qx: Array, factor: npt.ArrayLike) -> Array:
    """``q(x)`` after multiplying the death rates ``m(x)`` by ``factor`` (broadcast on leading axes).

    ``m = q / (1 - (1 - a) q)``, ``m' = factor * m``, ``q' = m' / (1 + (1 - a) m')`` (capped below 1).
    """
    a = _ax()
    m = mx_from_qx_ax(np.minimum(qx, 0.999999), a)
    out: Array = np.minimum(qx_from_mx_ax(np.asarray(factor)[..., None] * m, a), 0.999999)
    return out


@dataclass(frozen=True)
class MortalityRates:
    """Survival ratios ``sx`` (dims ``zone, sex, age``), ``birth_survival`` (``zone, sex``), ``qx``."""

    sx: xr.DataArray
    birth_survival: xr.DataArray
    qx: xr.DataArray
    period: str
    factors: ZoneFactors
    years: tuple[int, ...]


def survival_from_qx(qx: Array, zones: Sequence[str]) -> tuple[xr.DataArray, xr.DataArray]:
    """Survival ratios and birth survival of ``qx`` (``(zone, sex, age)``) as labelled arrays."""
    s = survival_ratios(life_table_from_qx(qx))
    coords = {"zone": list(zones), "sex": list(SEXES)}
    sx = xr.DataArray(s.sx, dims=("zone", "sex", "age"), coords={**coords, "age": AGES})
    return sx, xr.DataArray(s.birth, dims=("zone", "sex"), coords=coords)


def estimate_mortality(
    life_tables: pd.DataFrame,
    deaths: pd.DataFrame,
    kreis_population: xr.DataArray,
    zones: Sequence[str],
    base_year: int,
) -> MortalityRates:
    """German life table scaled by each Kreis's shrunken death factor (Gemeinden: their Kreis's)."""
    period, q_de = german_qx(life_tables, base_year)
    m_de = mx_from_qx_ax(np.minimum(q_de, 0.999999), _ax())
    kreise = [str(z) for z in kreis_population["zone"].values]
    pop = kreis_population.sel(sex=list(SEXES)).values
    expected = dict(zip(kreise, (pop * m_de[None]).sum(axis=(1, 2)), strict=True))
    factors = _kreis_factors(
        _events(deaths, base_year), expected, kreise, {k: k[:2] for k in kreise}
    )
    f = _per_zone(factors, zones)
    q = mx_scaled(np.broadcast_to(q_de, (len(zones), 2, OPEN_AGE + 1)), f[:, None])
    sx, bs = survival_from_qx(q, zones)
    qa = xr.DataArray(q, dims=("zone", "sex", "age"), coords=sx.coords)
    return MortalityRates(sx, bs, qa, period, factors, (period_end_year(period), *factors.years))


# --------------------------------------------------------------------------------------------
# migration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationRates:
    """Out-migration rates and in-migration counts (dims ``zone, sex, age``), per year.

    ``method`` per zone: ``"gross"`` (from the migration table), ``"net"`` (from a census-free
    pair of totals), ``"kreis_rate"`` (its Kreis's net rate per inhabitant) or ``"none"`` (no
    data: zero migration); ``net_per_year`` the net migration implied.
    """

    out_rate: xr.DataArray
    in_count: xr.DataArray
    method: Mapping[str, str]
    net_per_year: Mapping[str, float]
    years: tuple[int, ...]
    notes: tuple[str, ...] = field(default=())


def _group_breaks(frame: pd.DataFrame) -> list[int]:
    return sorted(int(a) for a in frame["age_start"].unique())


def _gross(
    migration: pd.DataFrame, population: xr.DataArray, zones: Sequence[str], base_year: int
) -> tuple[Array, Array, tuple[int, ...]]:
    """Yearly mean out-rates and in-counts of zones with Kreis migration data ``<= base``."""
    mig = _upto(migration[migration["zone"].isin(list(zones))], base_year)
    mig = mig[mig["sex"].isin(SEXES) & mig["value"].notna() & ~_all_ages(mig)]
    mig = mig[mig["partner"].fillna("") == ""]
    years = tuple(sorted(int(y) for y in mig["year"].unique()))
    n = max(len(years), 1)
    rc = rogers_castro()
    out_rate = np.zeros((len(zones), 2, OPEN_AGE + 1))
    in_count = np.zeros_like(out_rate)
    for i, z in enumerate(zones):
        for s, sex in enumerate(SEXES):
            p = population.sel(zone=z, sex=sex).values
            guide = rc * np.maximum(p, 1e-9)
            for direction, target in (("out", out_rate), ("in", in_count)):
                g = mig[(mig["zone"] == z) & (mig["sex"] == sex) & (mig["direction"] == direction)]
                if g.empty:
                    continue
                by = g.groupby("age_start")["value"].sum().sort_index() / n
                single = graduate(
                    by.to_numpy(dtype=np.float64), [int(a) for a in by.index], parent=guide
                )
                if direction == "out":
                    target[i, s] = np.clip(single / np.maximum(p, 1e-9), 0.0, 0.5)
                else:
                    target[i, s] = single
    return out_rate, in_count, years


NET_SPAN_YEARS = 5
"""Longest span (years) of the totals from which a zone's net migration is taken."""


def _clean_span(years: Sequence[int]) -> tuple[int, int] | None:
    """The period ``(t0, t1)`` of :func:`net_migration` among sorted ``years``, or None."""
    for k in range(len(years) - 1, 0, -1):
        y1 = years[k]
        starts = [y for y in years[:k] if y >= y1 - NET_SPAN_YEARS and not crosses_census(y, y1)]
        if starts:
            return starts[0], y1
        if not crosses_census(years[k - 1], y1):
            return years[k - 1], y1
    return None


def net_migration(
    totals: pd.DataFrame,
    natural_change_per_year: Mapping[str, float],
    base_year: int,
) -> tuple[dict[str, float], dict[str, tuple[int, int]]]:
    """Net migration per year from the latest clean span of totals ``<= base``.

    ``N = (P(t1) - P(t0)) / (t1 - t0) - natural_change_per_year`` with ``t1`` the latest total
    ``<= base`` and ``t0`` the earliest total at most :data:`NET_SPAN_YEARS` before it with no census
    date between them (:func:`crosses_census`); if there is none in that window, the latest clean
    pair of successive totals. Yearly series (e.g. a city's own totals) thus give a five-year mean
    rather than one noisy year; the Gemeindeverzeichnis years (every four years) give their pair.
    ``totals`` rows zone, year, value (both sexes, one territorial status). Zones without a clean
    pair are left out.

    >>> t = pd.DataFrame({"zone": ["1", "1", "1"], "year": [2012, 2013, 2017],
    ...                   "value": [1000.0, 960.0, 0.0]})
    >>> net_migration(t, {"1": -5.0}, 2013)
    ({'1': -35.0}, {'1': (2012, 2013)})
    >>> net_migration(t.assign(year=[2009, 2013, 2017]), {"1": -5.0}, 2013)
    ({}, {})
    >>> yearly = pd.DataFrame({"zone": ["1"] * 8, "year": range(2012, 2020),
    ...                        "value": [1000.0 + 10 * k for k in range(8)]})
    >>> net_migration(yearly, {"1": 0.0}, 2019)
    ({'1': 10.0}, {'1': (2014, 2019)})
    """
    t = _upto(totals, base_year)
    out: dict[str, float] = {}
    span: dict[str, tuple[int, int]] = {}
    for zone, g in t.groupby("zone"):
        g = g.groupby("year")["value"].sum().sort_index()
        found = _clean_span([int(y) for y in g.index])
        if found is None:
            continue
        y0, y1 = found
        z = str(zone)
        out[z] = float((g.loc[y1] - g.loc[y0]) / (y1 - y0)) - float(
            natural_change_per_year.get(z, 0.0)
        )
        span[z] = (y0, y1)
    return out, span


@dataclass(frozen=True)
class NetShrinkage:
    """Empirical-Bayes shrinkage of zone net-migration rates toward their parent's pooled rate.

    ``weight`` per zone (1 = own rate kept, 0 = parent's rate), ``tau2`` the between-zone variance
    of the true yearly rates, ``c`` the sampling-noise constant (noise variance ``c / (P * T)``).
    """

    net_per_year: Mapping[str, float]
    weight: Mapping[str, float]
    parent_rate: Mapping[str, float]
    tau2: float
    c: float


def shrink_net_rates(
    net_per_year: Mapping[str, float],
    population: Mapping[str, float],
    years: Mapping[str, tuple[int, int]],
    parent_of: Callable[[str], str] = lambda z: z[:5],
) -> NetShrinkage:
    """Shrink yearly net-migration rates ``r = N / P`` of small zones toward their parent's rate.

    Normal-normal empirical Bayes: ``r_g = R_k + u_g + e_g`` with ``u_g ~ N(0, tau2)`` (true
    differences between zones) and sampling noise ``e_g ~ N(0, c / (P_g T_g))`` (a count over ``T_g``
    years among ``P_g`` people). ``R_k`` is the parent's pooled rate ``sum N / sum P``. ``tau2`` and
    ``c`` come from a non-negative least-squares fit of ``(r_g - R_k)^2 = tau2 + c / (P_g T_g)`` over
    all zones (method of moments). The posterior mean is ``R_k + w_g (r_g - R_k)`` with
    ``w_g = tau2 / (tau2 + c / (P_g T_g))``: large towns keep their own trend, small villages
    borrow it from their Kreis (Rao & Molina 2015, *Small Area Estimation*, ch. 6).

    >>> net = {"15087001": 6.0, "15087002": -150.0, "15087003": -150.0, "15087004": 40.0}
    >>> pop = {"15087001": 300.0, "15087002": 30000.0, "15087003": 10000.0, "15087004": 2000.0}
    >>> sh = shrink_net_rates(net, pop, dict.fromkeys(net, (2017, 2019)))
    >>> {z: round(w, 2) for z, w in sh.weight.items()}
    {'15087001': 0.28, '15087002': 0.97, '15087003': 0.93, '15087004': 0.72}
    >>> round(sh.net_per_year["15087001"], 1)  # the village of 300 keeps 28 % of its own trend
    0.4
    """
    from scipy.optimize import nnls

    zones = [z for z in net_per_year if population.get(z, 0.0) > 0]
    if len(zones) < 3:
        return NetShrinkage(dict(net_per_year), dict.fromkeys(net_per_year, 1.0), {}, 0.0, 0.0)
    pop = np.array([population[z] for z in zones])
    net = np.array([net_per_year[z] for z in zones])
    span = np.array([max(years[z][1] - years[z][0], 1) for z in zones], dtype=np.float64)
    parents = [parent_of(z) for z in zones]
    frame = pd.DataFrame({"parent": parents, "net": net, "pop": pop})
    pooled = frame.groupby("parent")[["net", "pop"]].sum()
    parent_rate = (pooled["net"] / pooled["pop"]).to_dict()
    big_r = np.array([parent_rate[p] for p in parents])
    r = net / pop
    x = 1.0 / (pop * span)
    (tau2, c), _ = nnls(np.column_stack([np.ones_like(x), x]), (r - big_r) ** 2)
    noise = c * x
    w = np.where(tau2 + noise > 0, tau2 / np.maximum(tau2 + noise, 1e-300), 1.0)
    shrunk = (big_r + w * (r - big_r)) * pop
    out = dict(net_per_year)
    out.update({z: float(v) for z, v in zip(zones, shrunk, strict=True)})
    weight = dict.fromkeys(net_per_year, 1.0)
    weight.update({z: float(v) for z, v in zip(zones, w, strict=True)})
    return NetShrinkage(
        out, weight, {str(k): float(v) for k, v in parent_rate.items()}, float(tau2), float(c)
    )


@dataclass(frozen=True)
class Persistence:
    """How much of a Gemeinde's migration differential to its Kreis carries into the next period.

    ``rho`` in [0, 1] is the period-to-period persistence, ``periods`` the three years
    ``(t_a, t_b, t_c)`` it was estimated from (differentials of ``t_a..t_b`` against those of
    ``t_b..t_c``; empty when it could not be estimated), ``period_length`` the years of one period
    (``t_c - t_b``), ``n`` the zones used; ``note`` says how it was found.
    """

    rho: float
    periods: tuple[int, ...]
    period_length: int
    n: int
    note: str

    def factor(self, years_ahead: int) -> float:
        """Share of the differential kept ``years_ahead`` years after the base: ``rho^ceil(j/L)``.

        >>> Persistence(0.5, (2009, 2013, 2017), 4, 100, "").factor(1)
        0.5
        >>> Persistence(0.5, (2009, 2013, 2017), 4, 100, "").factor(5)
        0.25
        """
        if years_ahead < 1 or self.rho <= 0.0:
            return 0.0
        return float(self.rho ** int(np.ceil(years_ahead / max(self.period_length, 1))))


PERSISTENCE_MIN_ZONES = 10
"""Fewest Gemeinden with a non-zero differential needed to estimate :class:`Persistence`."""


def _differentials(
    wide: pd.DataFrame, y0: int, y1: int, shrink: bool
) -> tuple[pd.Series, pd.Series]:
    """Yearly growth-rate differentials of zones to their Kreis's pooled rate, ``y0 .. y1``.

    Returns the differentials (EB posterior means if ``shrink``) and the zones' populations at ``y0``.
    """
    change = (wide[y1] - wide[y0]) / (y1 - y0)
    pop = wide[y0]
    sh = shrink_net_rates(
        {str(z): float(v) for z, v in change.items()},
        {str(z): float(v) for z, v in pop.items()},
        dict.fromkeys((str(z) for z in change.index), (y0, y1)),
    )
    parent = np.array([sh.parent_rate.get(str(z)[:5], np.nan) for z in change.index])
    rate = (pd.Series(sh.net_per_year) if shrink else change).reindex(change.index) / pop
    return rate - parent, pop


def migration_persistence(totals: pd.DataFrame, base_year: int) -> Persistence:
    """Estimate :class:`Persistence` of Gemeinde migration differentials from totals ``<= base``.

    A Gemeinde's yearly growth rate over a period is its Kreis's pooled rate plus a differential
    ``d`` (with the Kreis's age structure, natural change per head is the Kreis's, so ``d`` is the
    differential of net migration). Over the last three common years ``t_a < t_b < t_c <= base``
    (years with totals for at least half of the zones; ``t_b..t_c`` census-free), the differential of
    the latest period is regressed through the origin on the empirical-Bayes posterior of the
    previous one (:func:`shrink_net_rates`; the posterior mean removes the attenuation that the
    sampling noise of small zones would cause), weighted by population:
    ``rho = sum P d_c d*_b / sum P d*_b^2``, clipped to [0, 1]. A census between ``t_a`` and ``t_b``
    adds noise that pulls ``rho`` toward 0 (said in the note). This is the regression-to-the-mean of
    local migration differentials (Smith, Tayman & Swanson 2013, ch. 9); nothing is fitted to years
    after the base. Without three such years, or with fewer than :data:`PERSISTENCE_MIN_ZONES` zones,
    ``rho = 0``: no evidence that differentials persist, so Gemeinden follow their Kreis.

    >>> rng = np.random.default_rng(1)
    >>> zones = [f"150{k // 20:02d}{k:03d}" for k in range(200)]
    >>> u = rng.normal(0, 0.01, 200)                     # persistent differentials
    >>> rows = []
    >>> for z, d in zip(zones, u):
    ...     p = 5000.0
    ...     for y in (2009, 2013, 2017):
    ...         rows.append({"zone": z, "year": y, "value": p})
    ...         p *= 1 + 4 * d
    >>> est = migration_persistence(pd.DataFrame(rows), 2017)
    >>> round(est.rho, 2), est.periods
    (1.0, (2009, 2013, 2017))
    >>> migration_persistence(pd.DataFrame(rows), 2013).rho
    0.0
    """
    t = _upto(totals, base_year)
    t = t.groupby(["zone", "year"])["value"].sum().unstack("year")
    counts = t.notna().sum()
    common = sorted(int(y) for y in counts.index if counts[y] >= 0.5 * counts.max())
    t = t[common].dropna() if common else t
    t = t[(t > 0).all(axis=1)] if common else t
    triple: tuple[int, ...] = ()
    for k in range(len(common) - 1, 1, -1):
        if not crosses_census(common[k - 1], common[k]):
            triple = (common[k - 2], common[k - 1], common[k])
            break
    if not triple:
        return Persistence(
            0.0,
            (),
            0,
            0,
            f"no three common years <= {base_year} with a census-free last period: "
            "persistence 0 (Gemeinden follow their Kreis)",
        )
    ya, yb, yc = triple
    prev, _ = _differentials(t, ya, yb, shrink=True)
    cur, pop = _differentials(t, yb, yc, shrink=False)
    ok = prev.notna() & cur.notna() & (prev != 0)
    if int(ok.sum()) < PERSISTENCE_MIN_ZONES:
        return Persistence(
            0.0, triple, yc - yb, int(ok.sum()), "too few Gemeinden to estimate: persistence 0"
        )
    w = pop[ok]
    rho = float((w * prev[ok] * cur[ok]).sum() / (w * prev[ok] ** 2).sum())
    rho = float(np.clip(rho, 0.0, 1.0))
    census = " (a census lies in the first period: its revision is noise that lowers rho)"
    return Persistence(
        rho,
        triple,
        yc - yb,
        int(ok.sum()),
        f"persistence of Gemeinde migration differentials rho={rho:.3f} per {yc - yb} years, "
        f"from {ya}-{yb} to {yb}-{yc} over {int(ok.sum())} Gemeinden"
        + (census if crosses_census(ya, yb) else ""),
    )


def kreis_net_rates(
    migration: pd.DataFrame, kreis_population: Mapping[str, float], base_year: int
) -> tuple[dict[str, float], dict[str, tuple[int, ...]]]:
    """Net migration per inhabitant and year of each Kreis from its migration table ``<= base``.

    ``r = (sum in - sum out) / n_years / P`` over the age-group rows (both sexes, no partner
    region) of the years ``<= base``; ``P`` the Kreis population from ``kreis_population``.
    Returns the rates and the years used; Kreise without rows or population are left out.

    >>> m = pd.DataFrame({"zone": ["01001"] * 2, "year": [2020] * 2, "sex": ["m", "f"],
    ...     "age_start": [18, 18], "age_end": [25, 25], "direction": ["in", "out"],
    ...     "value": [300.0, 100.0], "partner": [None, None]})
    >>> kreis_net_rates(m, {"01001": 10_000.0}, 2020)
    ({'01001': 0.02}, {'01001': (2020,)})
    """
    mig = _upto(migration, base_year)
    mig = mig[mig["sex"].isin(SEXES) & mig["value"].notna() & ~_all_ages(mig)]
    mig = mig[mig["partner"].fillna("") == ""]
    rates: dict[str, float] = {}
    used: dict[str, tuple[int, ...]] = {}
    for zone, g in mig.groupby("zone"):
        z = str(zone)
        pop = float(kreis_population.get(z, 0.0))
        if pop <= 0:
            continue
        years = tuple(sorted(int(y) for y in g["year"].unique()))
        flows = g.groupby("direction")["value"].sum()
        net = float(flows.get("in", 0.0)) - float(flows.get("out", 0.0))
        rates[z] = net / len(years) / pop
        used[z] = years
    return rates, used


def estimate_migration(
    population: xr.DataArray,
    base_year: int,
    migration: pd.DataFrame | None = None,
    net_per_year: Mapping[str, float] | None = None,
    net_years: Mapping[str, tuple[int, int]] | None = None,
    fallback_rate: Mapping[str, float] | None = None,
    fallback_years: Sequence[int] = (),
) -> MigrationRates:
    """Migration for the zones of ``population``: gross where the table has them, else net.

    Zones with rows in ``migration`` (years ``<= base``) get gross flows; the others take
    ``net_per_year`` (see :func:`net_migration`) spread by the standard Rogers-Castro profile,
    positive as in-migrants, negative as out-migration rates; zones in neither take
    ``fallback_rate`` (net movers per inhabitant and year, e.g. their Kreis's from
    :func:`kreis_net_rates`, years ``fallback_years``) times their population, method
    ``kreis_rate``; zones without any of these get zero migration (method ``none``).
    """
    zones = [str(z) for z in population["zone"].values]
    mig = migration if migration is not None else pd.DataFrame(columns=["zone", "year"])
    with_data = sorted(set(_upto(mig, base_year)["zone"].astype(str)) & set(zones))
    out_rate = np.zeros((len(zones), 2, OPEN_AGE + 1))
    in_count = np.zeros_like(out_rate)
    method: dict[str, str] = {}
    net: dict[str, float] = {}
    years: set[int] = set()
    if with_data:
        o, i, yrs = _gross(mig, population, with_data, base_year)
        years.update(yrs)
        for k, z in enumerate(with_data):
            j = zones.index(z)
            out_rate[j], in_count[j] = o[k], i[k]
            method[z] = "gross"
            pz = population.sel(zone=z).values
            net[z] = float(i[k].sum() - (o[k] * pz).sum())
    rc = rogers_castro()
    net_in = dict(net_per_year or {})
    for j, z in enumerate(zones):
        if z in method:
            continue
        if z in net_in:
            n = net_in[z]
            method[z] = "net"
            if net_years and z in net_years:
                years.update(net_years[z])
        elif fallback_rate is not None and z in fallback_rate:
            n = float(fallback_rate[z]) * float(population.sel(zone=z).values.sum())
            method[z] = "kreis_rate"
            years.update(fallback_years)
        else:
            method[z] = "none"
            net[z] = 0.0
            continue
        net[z] = n
        profile = np.stack([rc, rc]) / 2.0  # equal split by sex
        if n >= 0:
            in_count[j] = n * profile
        else:
            p = population.sel(zone=z).values
            movers = -n * profile
            out_rate[j] = np.clip(movers / np.maximum(p, 1e-9), 0.0, 0.5)
    coords = {"zone": zones, "sex": list(SEXES), "age": AGES}
    notes = tuple(
        f"{z}: no migration data <= {base_year} (no census-free pair of totals), migration 0"
        for z in zones
        if method[z] == "none"
    ) + tuple(
        f"{z}: no census-free pair of totals <= {base_year}, its Kreis's net migration rate used"
        for z in zones
        if method[z] == "kreis_rate"
    )
    return MigrationRates(
        xr.DataArray(out_rate, dims=("zone", "sex", "age"), coords=coords),
        xr.DataArray(in_count, dims=("zone", "sex", "age"), coords=coords),
        method,
        net,
        tuple(sorted(years)),
        notes,
    )

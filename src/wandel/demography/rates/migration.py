"""Migration: gross flows from the Kreis migration table, else net migration from totals, with the
persistence of Gemeinde differentials.

With the Kreis migration table (6 age groups) for years ``<= base``: the yearly mean of out-movers and
in-movers by group is spread over single ages with :func:`wandel.demography.graduation.graduate`,
guided by ``RC(x) P(x)`` (the Rogers-Castro standard schedule times the zone's population);
out-migration becomes a rate (out-movers / population), in-migration stays a count. Without such data,
net migration per year is taken from two harmonised totals ``<= base`` minus the natural change
estimated with the zone's own fertility and mortality; the gross flows are unknown, so a positive net
is entered as in-migrants and a negative net as out-migration rates (net out-movers divided by the
population), both spread by the standard Rogers-Castro profile (this understates gross flows but never
invents them). Two totals are only compared when no census revision lies between them
(:data:`~wandel.demography.rates.CENSUS_DATES`: the totals before and after a census are on different
bases, so their difference would count the revision as migration). Where no clean pair exists, the
fallback is the zone's Kreis's net migration rate (in- minus out-movers per inhabitant and year) from
the Kreis migration table ``<= base`` (:func:`kreis_net_rates`), and zero migration where that table
has no such rows; the result says which (``method``: ``gross``, ``net``, ``kreis_rate`` or
``none``).

References: Rogers & Castro (1981), *Model Migration Schedules*, IIASA RR-81-30; Smith, Tayman &
Swanson (2013), *A Practitioner's Guide to State and Local Population Projections*, ch. 9.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import xarray as xr

from wandel import i18n
from wandel.demography.graduation import graduate
from wandel.demography.lifetable import OPEN_AGE
from wandel.demography.rates._common import (
    AGES,
    Array,
    all_ages,
    crosses_census,
    rogers_castro,
    upto,
)
from wandel.demography.rates.shrinkage import shrink_net_rates
from wandel.tables import SEXES

__all__ = [
    "NET_SPAN_YEARS",
    "PERSISTENCE_MIN_ZONES",
    "LevelShift",
    "MigrationRates",
    "NetEvidence",
    "Persistence",
    "StayRates",
    "estimate_migration",
    "kreis_net_rates",
    "migration_persistence",
    "net_migration",
    "recent_level_shift",
    "stay_out_rates",
]


@dataclass(frozen=True)
class MigrationRates:
    """Out-migration rates and in-migration counts (dims ``zone, sex, age``), per year.

    ``method`` per zone: ``"gross"`` (from the migration table), ``"net"`` (from a census-free
    pair of totals), ``"kreis_rate"`` (its Kreis's net rate per inhabitant) or ``"none"`` (no
    data: zero migration); ``net_per_year`` the net migration implied; ``stay`` the estimated
    gross out-rates of the zones without moves away of their own (:func:`stay_out_rates`), which
    only a scenario's out-migration multipliers use.
    """

    out_rate: xr.DataArray
    in_count: xr.DataArray
    method: Mapping[str, str]
    net_per_year: Mapping[str, float]
    years: tuple[int, ...]
    notes: tuple[str, ...] = field(default=())
    stay: StayRates | None = None


@dataclass(frozen=True, eq=False)
class StayRates:
    """Estimated gross out-rates of the zones that have no moves away of their own (see
    :func:`stay_out_rates`): what a scenario's migration multipliers act on there.

    ``source`` per zone: ``"own"`` (the zone's own out-rates are not zero: the multipliers act on
    them), ``"kreis"``, ``"land"`` (the out-rates of that parent from the migration table) or
    ``"none"`` (no rows ``<= base``: a multiplier cannot act); ``parent`` the code of the parent
    used, ``years`` the years of its rows (per zone, empty where none). :attr:`out_rate` is
    computed on first use (a projection without such a scenario never needs it) from ``rows`` (the
    migration rows ``<= base`` of the parents used) and ``population`` (the Kreis populations).
    """

    source: Mapping[str, str]
    parent: Mapping[str, str]
    years: Mapping[str, tuple[int, ...]]
    rows: pd.DataFrame = field(repr=False)
    population: xr.DataArray = field(repr=False)
    base_year: int = 0

    @cached_property
    def out_rate(self) -> xr.DataArray:
        """The rates (dims ``zone, sex, age``), 0 for zones whose ``source`` is ``own`` or
        ``none``."""
        zones = list(self.source)
        out = np.zeros((len(zones), 2, OPEN_AGE + 1))
        rates: dict[str, Array] = {}
        for j, z in enumerate(zones):
            code = self.parent[z]
            if self.source[z] not in ("kreis", "land"):
                continue
            if code not in rates:
                pp = _parent_population(self.population, code)
                assert pp is not None  # checked by stay_out_rates
                rates[code] = _gross(self.rows, pp, [code], self.base_year)[0][0]
            out[j] = rates[code]
        coords = {"zone": zones, "sex": list(SEXES), "age": AGES}
        return xr.DataArray(out, dims=("zone", "sex", "age"), coords=coords)


def _gross(
    migration: pd.DataFrame, population: xr.DataArray, zones: Sequence[str], base_year: int
) -> tuple[Array, Array, tuple[int, ...]]:
    """Yearly mean out-rates and in-counts of zones with Kreis migration data ``<= base``."""
    mig = upto(migration[migration["zone"].isin(list(zones))], base_year)
    mig = mig[mig["sex"].isin(SEXES) & mig["value"].notna() & ~all_ages(mig)]
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
    t = upto(totals, base_year)
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
class LevelShift:
    """The recent migration level of each zone's parent against the level of the zone's own span.

    ``per_head``: zone -> ``g_last - g_span``, the parent's growth rate per head and year over its
    latest yearly interval minus that over the zone's span (0 where the latest interval is the span
    itself); ``intervals``: parent -> the latest interval ``(y0, y1)``; ``note`` says what was done.
    """

    per_head: Mapping[str, float]
    intervals: Mapping[str, tuple[int, int]]
    note: str


def _growth(wide: pd.DataFrame, y0: int, y1: int) -> float:
    """Pooled growth per head and year of the rows of ``wide`` with totals in both years."""
    both = wide[[y0, y1]].dropna()
    p0 = float(both[y0].sum())
    return float("nan") if p0 <= 0 else float((both[y1].sum() - p0) / p0 / (y1 - y0))


def recent_level_shift(
    totals: pd.DataFrame,
    spans: Mapping[str, tuple[int, int]],
    base_year: int,
    parent: Callable[[str], str],
) -> LevelShift:
    """How much the parent's migration level moved in its latest year against the zone's span.

    Net migration from a span of several years (:func:`net_migration`) is the zone's level
    *averaged* over the span: a wave that has passed (e.g. the refugee migration of 2015, which made
    2013-2017 the German net of ~650,000 a year against ~400,000 in 2017) keeps weighing on it, and
    a cohort-component projection then misses in one direction for every zone. A zone's own latest
    year, however, is noisy (e.g. asylum seekers counted first where the reception centres are and
    moved on to other Kreise the year after). So the *level* is taken from the parent's latest
    yearly interval and the *distribution* from the zone's span: for a zone ``z`` in parent ``L``
    (over every zone of ``totals`` in ``L`` with totals in both years)

    ``shift(z) = g_L(t1 - 1, t1) - g_L(t0, t1)``

    with ``g`` the pooled growth per head and year and ``(t0, t1)`` the zone's span; the zone's net
    migration per year becomes ``net(z) + shift(z) P(z)``. The natural change per head of a parent
    changes little from one year to the next, so the difference of the growth rates is that of the
    net migration rates. A census between ``t1 - 1`` and ``t1``, a year ``t1 - 1`` with totals for
    fewer than half of the parent's zones or a span of one year give shift 0. ``totals`` rows zone, year, value (both sexes), years ``<= base``.

    >>> t = pd.DataFrame({"zone": ["15001", "15002"] * 3, "year": [2013, 2013, 2016, 2016, 2017, 2017],
    ...                   "value": [1000.0, 1000.0, 1120.0, 1000.0, 1130.0, 1010.0]})
    >>> s = recent_level_shift(t, {"15001": (2013, 2017)}, 2017, lambda z: z[:2])
    >>> round(s.per_head["15001"], 5), s.intervals
    (-0.00807, {'15': (2016, 2017)})
    """
    t = upto(totals, base_year)
    wide = t.groupby(["zone", "year"])["value"].sum().unstack("year")
    wide.columns = [int(c) for c in wide.columns]
    parents = pd.Series([parent(str(z)) for z in wide.index], index=wide.index)
    shift: dict[str, float] = {}
    intervals: dict[str, tuple[int, int]] = {}
    for z, (t0, t1) in spans.items():
        par = parent(z)
        if t1 - t0 <= 1 or t1 - 1 not in wide.columns or crosses_census(t1 - 1, t1):
            shift[z] = 0.0
            continue
        sub = wide[parents == par]
        if sub[[t1 - 1, t1]].notna().all(axis=1).sum() < 0.5 * sub[t1].notna().sum():
            shift[z] = 0.0  # the latest year of a few zones only (e.g. one city's own series)
            continue
        last, span = _growth(sub, t1 - 1, t1), _growth(sub, t0, t1)
        shift[z] = 0.0 if not np.isfinite(last - span) else last - span
        intervals[par] = (t1 - 1, t1)
    moved = [v for v in shift.values() if v != 0.0]
    note = (
        i18n.note("demography.note.level_shift", median=float(np.median(moved)), n=len(moved))
        if moved
        else i18n.note("demography.note.level_shift_none")
    )
    return LevelShift(shift, intervals, note)


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
    t = upto(totals, base_year)
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
            i18n.note("demography.note.persistence_no_years", base_year=base_year),
        )
    ya, yb, yc = triple
    prev, _ = _differentials(t, ya, yb, shrink=True)
    cur, pop = _differentials(t, yb, yc, shrink=False)
    ok = prev.notna() & cur.notna() & (prev != 0)
    if int(ok.sum()) < PERSISTENCE_MIN_ZONES:
        return Persistence(
            0.0,
            triple,
            yc - yb,
            int(ok.sum()),
            i18n.note("demography.note.persistence_few_zones"),
        )
    w = pop[ok]
    rho = float((w * prev[ok] * cur[ok]).sum() / (w * prev[ok] ** 2).sum())
    rho = float(np.clip(rho, 0.0, 1.0))
    return Persistence(
        rho,
        triple,
        yc - yb,
        int(ok.sum()),
        i18n.note(
            "demography.note.persistence_census"
            if crosses_census(ya, yb)
            else "demography.note.persistence",
            rho=rho,
            years=yc - yb,
            ya=ya,
            yb=yb,
            yc=yc,
            n=int(ok.sum()),
        ),
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
    mig = upto(migration, base_year)
    mig = mig[mig["sex"].isin(SEXES) & mig["value"].notna() & ~all_ages(mig)]
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


@dataclass(frozen=True)
class NetEvidence:
    """What is known of the net migration of zones without gross flows.

    ``per_year``: net movers per year from a census-free pair of totals (:func:`net_migration`),
    ``spans`` their years; ``fallback_rate``: net movers per inhabitant and year for zones without
    such a pair (e.g. their Kreis's, :func:`kreis_net_rates`), ``fallback_years`` its years.
    """

    per_year: Mapping[str, float] = field(default_factory=dict)
    spans: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    fallback_rate: Mapping[str, float] = field(default_factory=dict)
    fallback_years: tuple[int, ...] = ()


def _spread_net(net: float, population: Array) -> tuple[Array, Array]:
    """A net flow (movers per year) as in-counts (if positive) or out-rates (if negative), both
    spread by the standard Rogers-Castro profile, half per sex: ``(out_rate, in_count)``."""
    rc = rogers_castro()
    profile = np.stack([rc, rc]) / 2.0  # equal split by sex
    if net >= 0:
        return np.zeros_like(profile), net * profile
    movers = -net * profile
    return np.clip(movers / np.maximum(population, 1e-9), 0.0, 0.5), np.zeros_like(profile)


def _migration_notes(
    zones: Sequence[str], method: Mapping[str, str], base_year: int
) -> tuple[str, ...]:
    return tuple(
        i18n.note("demography.note.migration_none", zone=z, base_year=base_year)
        for z in zones
        if method[z] == "none"
    ) + tuple(
        i18n.note("demography.note.migration_kreis_rate", zone=z, base_year=base_year)
        for z in zones
        if method[z] == "kreis_rate"
    )


def estimate_migration(
    population: xr.DataArray,
    base_year: int,
    migration: pd.DataFrame | None = None,
    evidence: NetEvidence | None = None,
) -> MigrationRates:
    """Migration for the zones of ``population``: gross where the table has them, else net.

    Zones with rows in ``migration`` (years ``<= base``) get gross flows; the others take their net
    migration from ``evidence`` (:class:`NetEvidence`): ``per_year`` (method ``net``), else
    ``fallback_rate`` times their population (method ``kreis_rate``), spread by the standard
    Rogers-Castro profile, positive as in-migrants, negative as out-migration rates; zones without
    any of these get zero migration (method ``none``).
    """
    ev = evidence or NetEvidence()
    zones = [str(z) for z in population["zone"].values]
    mig = migration if migration is not None else pd.DataFrame(columns=["zone", "year"])
    with_data = sorted(set(upto(mig, base_year)["zone"].astype(str)) & set(zones))
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
    for j, z in enumerate(zones):
        if z in method:
            continue
        p = population.sel(zone=z).values
        if z in ev.per_year:
            method[z], net[z] = "net", float(ev.per_year[z])
            years.update(ev.spans.get(z, ()))
        elif z in ev.fallback_rate:
            method[z], net[z] = "kreis_rate", float(ev.fallback_rate[z]) * float(p.sum())
            years.update(ev.fallback_years)
        else:
            method[z], net[z] = "none", 0.0
            continue
        out_rate[j], in_count[j] = _spread_net(net[z], p)
    coords = {"zone": zones, "sex": list(SEXES), "age": AGES}
    return MigrationRates(
        xr.DataArray(out_rate, dims=("zone", "sex", "age"), coords=coords),
        xr.DataArray(in_count, dims=("zone", "sex", "age"), coords=coords),
        method,
        net,
        tuple(sorted(years)),
        _migration_notes(zones, method, base_year),
    )


def _parent_population(population: xr.DataArray, parent: str) -> xr.DataArray | None:
    """The population (dims ``zone, sex, age``, one zone ``parent``) of a Kreis (5 digits) or a
    Land (2 digits: the sum of its Kreise in ``population``), None where it has none."""
    codes = [str(z) for z in population["zone"].values]
    if len(parent) == 5:
        if parent not in codes:
            return None
        return population.sel(zone=[parent])
    kreise = [z for z in codes if len(z) == 5 and z.startswith(parent)]
    if not kreise:
        return None
    total = population.sel(zone=kreise).sum("zone")
    return total.expand_dims(zone=[parent]).transpose("zone", "sex", "age")


def stay_out_rates(
    own_out_rate: xr.DataArray,
    migration: pd.DataFrame | None,
    kreis_population: xr.DataArray,
    base_year: int,
) -> StayRates:
    """Gross out-rates by age and sex for the zones whose own out-rates are zero at every age.

    A zone whose migration is known only as a net flow (method ``net`` or ``kreis_rate``) with a
    positive net, or not at all (``none``), has out-rate 0 (:func:`estimate_migration` enters a
    positive net as in-migrants): nobody moves away in the model, so a scenario that lowers
    out-migration (e.g. fewer young people moving away) has nothing to act on. Its moves away are
    then estimated from the best data the store has, the zone's parent's gross out-rates:

    ``r(z, s, x) = O_K(s, x) / P_K(s, x)``

    with ``O_K`` the yearly mean out-movers of the zone's **Kreis** ``K`` (``z[:5]``) from the
    Kreis migration table, rows of years ``<= base_year`` (6 age groups, spread over single ages as
    :func:`_gross` does for a Kreis with gross data: graduated with the Rogers-Castro standard
    times the population as guide, capped at 0.5) and ``P_K`` the Kreis's base population
    (``kreis_population``, the same denominator as the Kreis's own gross rates); else the **Land**
    (``z[:2]``: its rows of the table, ``P`` the sum of its Kreise in ``kreis_population``); else
    none (``source`` ``"none"``, rates 0). A parent counts when it has out-movers above 0 by sex and
    age group in those years and a population. A Kreis projected on net migration has no rows of
    its own, so its source is its Land. No data after the base year is used. Only the sources are
    found here; the rates are computed when a scenario first asks for them
    (:attr:`StayRates.out_rate`).

    Limits: it assumes that a town moves away at its Kreis's (or Land's) age-sex rates, which
    overstates the moves away of a town that draws young people (a university town) and
    understates them where the Kreis's towns are more attractive; the basis projection is not
    touched (these rates only enter a scenario, :func:`wandel.demography.scenario_rates`).

    >>> pop = xr.DataArray(np.full((1, 2, OPEN_AGE + 1), 100.0), dims=("zone", "sex", "age"),
    ...     coords={"zone": ["01001"], "sex": list(SEXES), "age": AGES})
    >>> m = pd.DataFrame({"zone": "01001", "year": 2020, "sex": ["m"] * 3 + ["f"] * 3,
    ...     "age_start": [0, 18, 25] * 2, "age_end": [18, 25, None] * 2, "direction": "out",
    ...     "value": [0.0, 70.0, 0.0] * 2, "partner": None})
    >>> own = xr.zeros_like(pop).assign_coords(zone=["01001000"])
    >>> st = stay_out_rates(own, m, pop, 2020)
    >>> st.source, st.parent, round(float(st.out_rate.sel(age=slice(18, 24)).sum()), 6)
    ({'01001000': 'kreis'}, {'01001000': '01001'}, 1.4)
    >>> stay_out_rates(own, m, pop, 2019).source, stay_out_rates(own, None, pop, 2020).source
    ({'01001000': 'none'}, {'01001000': 'none'})
    """
    zones = [str(z) for z in own_out_rate["zone"].values]
    own = np.asarray(own_out_rate.transpose("zone", "sex", "age").values, dtype=np.float64)
    columns = ["zone", "year", "sex", "age_start", "age_end", "direction", "partner", "value"]
    rows = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    if migration is not None:
        rows = upto(migration, base_year).assign(zone=lambda f: f["zone"].astype(str))
    out = rows[rows["sex"].isin(SEXES) & (rows["value"] > 0) & ~all_ages(rows)]
    out = out[(out["direction"] == "out") & (out["partner"].fillna("") == "")]
    out_years = {
        str(k): tuple(sorted(int(y) for y in g.unique())) for k, g in out.groupby("zone")["year"]
    }
    source: dict[str, str] = {}
    parent: dict[str, str] = {}
    years: dict[str, tuple[int, ...]] = {}
    usable: dict[str, bool] = {}
    for j, z in enumerate(zones):
        source[z], parent[z], years[z] = "none", "", ()
        if np.any(own[j] > 0):
            source[z], parent[z] = "own", z
            continue
        for kind, code in (("kreis", z[:5]), ("land", z[:2])):
            if code == z or code not in out_years:
                continue
            if code not in usable:
                usable[code] = _parent_population(kreis_population, code) is not None
            if usable[code]:
                source[z], parent[z], years[z] = kind, code, out_years[code]
                break
    used = {parent[z] for z in zones if source[z] in ("kreis", "land")}
    return StayRates(
        source,
        parent,
        years,
        rows[rows["zone"].isin(used)],
        kreis_population,
        base_year,
    )

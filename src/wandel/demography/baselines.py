"""Baselines users know, to compare the cohort-component projection with.

Every baseline takes only data ``<= base`` and returns rows ``zone, year, projected`` (totals):

* :func:`constant`: the population of the base year;
* :func:`linear`: the trend of the two latest totals ``<= base`` (persons per year);
* :func:`share_of_parent`: the zone's share of its parent (Kreis: Land, Gemeinde: Kreis) in the base
  year, constant (``trended=False``) or moving on with its trend between the two latest common
  totals ``<= base`` (``trended=True``, the shift-share method), times the parent's projection;
* :func:`hamilton_perry_totals`: the Hamilton-Perry method (cohort-change ratios of the two latest
  published age structures ``<= base``, :func:`hamilton_perry`), for every zone with two such
  structures (Kreise from the Kreis tables; Gemeinden wherever their age groups were imported).

References: Smith, Tayman & Swanson (2013), *A Practitioner's Guide to State and Local Population
Projections*, ch. 8 (trend extrapolation, share methods) and ch. 9 (Hamilton-Perry); Hamilton &
Perry (1962), Social Forces 41; Baker, Swanson, Tayman & Tedrow (2017), *Cohort Change Ratios and
their Applications*.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.demography.rates import germany_shape, single_ages
from wandel.tables import SEXES

__all__ = [
    "BASELINES",
    "constant",
    "hamilton_perry",
    "hamilton_perry_totals",
    "linear",
    "parent_of",
    "share_of_parent",
]

Array = npt.NDArray[np.float64]

BASELINES: tuple[str, ...] = ("constant", "linear", "share", "share_trend", "hamilton_perry")
"""The baselines of the backtests, in the order of the tables."""

_COLS = ["zone", "year", "projected"]


def parent_of(zone: str) -> str:
    """The parent of a zone for the share baselines: a Kreis's Land, a Gemeinde's Kreis.

    >>> parent_of("15087"), parent_of("15087220")
    ('15', '15087')
    """
    return zone[:2] if len(zone) == 5 else zone[:5]


def _series(totals: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Totals ``<= base`` as a wide table: zones by years (persons, both sexes)."""
    t = totals[totals["year"].astype(int) <= base_year]
    wide = t.groupby(["zone", "year"])["value"].sum().unstack("year")
    wide.columns = [int(c) for c in wide.columns]
    return wide.sort_index(axis=1)


def constant(
    totals: pd.DataFrame, zones: Sequence[str], base_year: int, years: Sequence[int]
) -> pd.DataFrame:
    """The latest total ``<= base`` of every zone, for every year.

    >>> t = pd.DataFrame({"zone": ["a", "a"], "year": [2013, 2015], "value": [90.0, 100.0]})
    >>> constant(t, ["a"], 2015, [2016])["projected"].tolist()
    [100.0]
    """
    wide = _series(totals, base_year).reindex(list(zones))
    last = wide.ffill(axis=1).iloc[:, -1] if wide.shape[1] else pd.Series(dtype=float)
    rows = [
        {"zone": z, "year": int(y), "projected": float(v)}
        for z, v in last.dropna().items()
        for y in years
    ]
    return pd.DataFrame(rows, columns=_COLS)


def linear(
    totals: pd.DataFrame, zones: Sequence[str], base_year: int, years: Sequence[int]
) -> pd.DataFrame:
    """The straight line through the two latest totals ``<= base`` of each zone (floored at 0).

    >>> t = pd.DataFrame({"zone": ["a", "a"], "year": [2013, 2015], "value": [90.0, 100.0]})
    >>> linear(t, ["a"], 2015, [2016, 2020])["projected"].tolist()
    [105.0, 125.0]
    """
    wide = _series(totals, base_year).reindex(list(zones))
    rows = []
    for z, r in wide.iterrows():
        g = r.dropna()
        if len(g) < 2:
            continue
        y0, y1 = int(g.index[-2]), int(g.index[-1])
        slope = (g.iloc[-1] - g.iloc[-2]) / (y1 - y0)
        for y in years:
            rows.append(
                {"zone": z, "year": y, "projected": max(float(g.iloc[-1] + slope * (y - y1)), 0.0)}
            )
    return pd.DataFrame(rows, columns=_COLS)


def _shares(wide: pd.DataFrame, year: int) -> pd.Series:
    col = wide[year]
    return col / col.groupby([parent_of(str(z)) for z in wide.index]).transform("sum")


def share_of_parent(
    totals: pd.DataFrame,
    zones: Sequence[str],
    base_year: int,
    parent_projection: pd.DataFrame,
    trended: bool = False,
) -> pd.DataFrame:
    """The zone's share of its parent times the parent's projection (rows parent, year, projected).

    Shares are taken among ``zones`` (the parent's total is the sum of its zones). ``trended``
    moves each share on with its yearly change between the two latest years ``<= base`` in which
    every zone of the parent has a total (shares clipped at 0 and renormalised to 1 per parent);
    parents without such a year keep constant shares.

    >>> t = pd.DataFrame({"zone": ["15001", "15002"] * 2, "year": [2013, 2013, 2015, 2015],
    ...                   "value": [40.0, 60.0, 50.0, 50.0]})
    >>> par = pd.DataFrame({"parent": ["15"], "year": [2017], "projected": [200.0]})
    >>> share_of_parent(t, ["15001", "15002"], 2015, par)["projected"].tolist()
    [100.0, 100.0]
    >>> share_of_parent(t, ["15001", "15002"], 2015, par, trended=True)["projected"].tolist()
    [120.0, 80.0]
    """
    wide = _series(totals, base_year).reindex(list(zones)).dropna(how="all")
    if wide.empty:
        return pd.DataFrame(columns=_COLS)
    y1 = int(wide.columns[-1])
    wide = wide[wide[y1].notna()]
    parents = pd.Series([parent_of(str(z)) for z in wide.index], index=wide.index)
    s1 = _shares(wide, y1)
    slope = pd.Series(0.0, index=wide.index)
    if trended:
        for _p, idx in parents.groupby(parents).groups.items():
            sub = wide.loc[idx]
            full = [int(y) for y in sub.columns[:-1] if sub[y].notna().all()]
            if full:
                y0 = full[-1]
                slope.loc[idx] = (_shares(sub, y1) - _shares(sub, y0)) / (y1 - y0)
    rows = []
    for _, r in parent_projection.iterrows():
        idx = parents.index[parents == r["parent"]]
        if len(idx) == 0:
            continue
        s = np.maximum(s1.loc[idx] + slope.loc[idx] * (int(r["year"]) - y1), 0.0)
        s = s / s.sum() if s.sum() > 0 else s1.loc[idx]
        for z, v in s.items():
            rows.append(
                {"zone": str(z), "year": int(r["year"]), "projected": float(v * r["projected"])}
            )
    return pd.DataFrame(rows, columns=_COLS)


def hamilton_perry(p0: Array, p1: Array, years_between: int, horizon: int) -> Array:
    """Hamilton-Perry projection by single ages with cohort-change ratios.

    ``p0`` (earlier) and ``p1`` (later, ``years_between`` apart) hold single ages on the last axis;
    ``CCR(x) = p1(x + n) / p0(x)``; each step of ``n`` years ages ``p1`` by ``n`` with these ratios,
    the open group pooled (``p1(open) / (p0(open - n) + ... + p0(open))``), the first ``n`` ages by
    the child-woman ratio of the last step (kept constant). ``horizon`` must be a multiple of ``n``.

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


def _published(population: pd.DataFrame, zones: Sequence[str]) -> pd.DataFrame:
    """Published (not estimated) age-group rows by sex of ``zones`` (no all-ages rows)."""
    p = population[population["zone"].isin(list(zones)) & population["sex"].isin(SEXES)]
    whole = (p["age_start"] == 0) & p["age_end"].isna()
    return p[~p["estimated"].astype(bool) & ~whole & p["value"].notna()]


def hamilton_perry_totals(
    population: pd.DataFrame, zones: Sequence[str], base_year: int, years: Sequence[int]
) -> pd.DataFrame:
    """Hamilton-Perry totals of ``zones`` from their two latest published structures ``<= base``.

    Structures are graduated to single ages (:func:`wandel.demography.rates.single_ages`, guided by
    Germany's shape of the year) and projected for both sexes together (:func:`hamilton_perry`; the
    youngest ages by the ratio of children to people aged 15-49). Horizons that are not a multiple
    of the step ``n`` are interpolated geometrically between the neighbouring multiples. Zones
    without two structures are left out (possibly an empty frame).
    """
    p = _published(population, zones)
    p = p[p["year"].astype(int) <= base_year]
    pairs: dict[tuple[int, int], list[str]] = {}
    for z, ys in p.groupby("zone")["year"].unique().items():
        yy = sorted(int(y) for y in ys)
        if len(yy) >= 2:
            pairs.setdefault((yy[-2], yy[-1]), []).append(str(z))
    rows = []
    for (y0, y1), zs in sorted(pairs.items()):
        pz = p[p["zone"].isin(zs)]
        a0 = single_ages(pz[pz["year"] == y0], germany_shape(population, y0)).sel(zone=zs)
        a1 = single_ages(pz[pz["year"] == y1], germany_shape(population, y1)).sel(zone=zs)
        b0, b1 = a0.sum("sex").values, a1.sum("sex").values
        n = y1 - y0
        for y in years:
            h = y - y1
            lo, hi = (h // n) * n, -(-h // n) * n
            t_lo = hamilton_perry(b0, b1, n, lo).sum(axis=-1) if lo else b1.sum(axis=-1)
            t_hi = hamilton_perry(b0, b1, n, hi).sum(axis=-1)
            frac = 0.0 if hi == lo else (h - lo) / (hi - lo)
            vals = t_lo * (t_hi / t_lo) ** frac
            rows += [
                {"zone": z, "year": int(y), "projected": float(v)}
                for z, v in zip(zs, vals, strict=True)
            ]
    return pd.DataFrame(rows, columns=_COLS)

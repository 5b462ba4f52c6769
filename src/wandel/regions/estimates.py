"""Estimates Wandel makes where the offices publish nothing, always marked ``estimated=True``.

Gemeinde age structures: the GV-ISys gives each Gemeinde's population by sex but no ages. Wandel spreads
each sex total over the age groups of the Gemeinde's Kreis (its share of each age group within that sex):

.. math:: \\hat P_{g,s,a} = P_{g,s} \\cdot \\frac{P_{k(g),s,a}}{\\sum_{a'} P_{k(g),s,a'}}

so the estimate sums exactly to the published Gemeinde totals by sex. This is the one estimator of
Gemeinde structures in Wandel: the store's estimated rows (:func:`estimate_gemeinde_structure` on the
published Kreis age groups) and a projection's Gemeinde base population (the same function on the
Kreis structure graduated to single ages) both come from it.

The year rule (:func:`structure_years`), also one: for the totals of year ``Y``, the Kreis structure of
the year nearest to ``Y`` among the years allowed (``<= until``; all years when ``until`` is None),
ties going to the earlier year; where no allowed year exists, the earliest year there is, marked
``later`` (a projection must say that its base used a structure from after its base year). A
Gemeinde-year with a published age structure of its own is never estimated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wandel.tables import SEXES

__all__ = ["estimate_gemeinde_structure", "structure_years"]


def _all_ages(frame: pd.DataFrame) -> pd.Series:
    return (frame["age_start"] == 0) & frame["age_end"].isna()


def _shares(kreis: pd.DataFrame) -> pd.DataFrame:
    parts = kreis[~_all_ages(kreis)]
    parts = parts[parts["sex"].isin(SEXES) & parts["value"].notna()]
    tot = parts.groupby(["zone", "year", "sex"])["value"].transform("sum")
    share = np.where(tot > 0, parts["value"] / tot.where(tot > 0, 1.0), 0.0)
    return parts.assign(share=share)[["zone", "year", "sex", "age_start", "age_end", "share"]]


def structure_years(
    wanted: pd.DataFrame, available: pd.DataFrame, until: int | None = None
) -> pd.DataFrame:
    """The Kreis structure year for every ``(kreis, year)`` of ``wanted`` (see the module doc).

    ``wanted`` and ``available`` have columns ``kreis, year``; returns ``kreis, year,
    structure_year, later`` (``later``: no year ``<= until`` existed). Kreise without any
    structure are left out.

    >>> want = pd.DataFrame({"kreis": ["15087"] * 3, "year": [2009, 2019, 2019]})
    >>> have = pd.DataFrame({"kreis": ["15087"] * 3, "year": [2015, 2017, 2020]})
    >>> structure_years(want, have).to_dict("list")["structure_year"]
    [2015, 2020]
    >>> structure_years(want, have, until=2019).to_dict("list")["structure_year"]
    [2015, 2017]
    >>> bool(structure_years(want, have, until=2013)["later"].iloc[0])
    True
    """
    w = wanted[["kreis", "year"]].drop_duplicates().astype({"year": "int64"})
    a = available[["kreis", "year"]].drop_duplicates().rename(columns={"year": "sy"})
    cand = w.merge(a.astype({"sy": "int64"}), on="kreis")
    allowed = cand["sy"] <= (np.inf if until is None else until)
    has_allowed = allowed.groupby([cand["kreis"], cand["year"]]).transform("any")
    cand = cand[allowed | ~has_allowed].assign(later=~allowed)
    # nearest allowed year (ties: the earlier); without an allowed year, the earliest there is
    cand["rank"] = np.where(cand["later"], cand["sy"], (cand["sy"] - cand["year"]).abs())
    cand = cand.sort_values(["kreis", "year", "rank", "sy"]).drop_duplicates(["kreis", "year"])
    out = cand.rename(columns={"sy": "structure_year"})[
        ["kreis", "year", "structure_year", "later"]
    ]
    return out.reset_index(drop=True)


def _gemeinde_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """All-ages sex totals of Gemeinde-years without a published age structure of their own."""
    t = frame[frame["zone"].str.len() == 8]
    if "age_start" in t.columns:
        whole = _all_ages(t)
        own = t.loc[~whole, ["zone", "year"]].drop_duplicates()
        t = t[whole]
        if not own.empty:
            mark = t.merge(own.assign(_own=True), on=["zone", "year"], how="left")["_own"]
            t = t[~mark.fillna(False).astype(bool).to_numpy()]
    return t[t["sex"].isin(SEXES) & t["value"].notna()][["zone", "year", "sex", "value"]]


def estimate_gemeinde_structure(
    gemeinde_totals: pd.DataFrame, kreis_structure: pd.DataFrame, until: int | None = None
) -> pd.DataFrame:
    """Estimate Gemeinde population by sex and age from Gemeinde totals and Kreis structures.

    Parameters
    ----------
    gemeinde_totals
        Rows of Gemeinden (8-digit zones) with ``zone, year, sex, value`` (sex ``m``/``f``): the
        all-ages totals. With ``age_start``/``age_end`` columns, only the all-ages rows count, and
        Gemeinde-years that also have age rows (a published structure) are left out.
    kreis_structure
        Canonical population rows of Kreise (5-digit zones) by sex and age group, any years (for a
        projection: single ages).
    until
        Latest structure year allowed (see :func:`structure_years`); None: every year.

    Returns
    -------
    DataFrame
        Canonical population rows with ``estimated=True`` and ``flag="s"``; Gemeinden whose Kreis has
        no structure in any year are left out.

    Examples
    --------
    >>> g = pd.DataFrame({"zone": ["15087220"] * 2, "year": [2019] * 2, "sex": ["m", "f"],
    ...                   "age_start": [0, 0], "age_end": pd.array([None, None], dtype="Int64"),
    ...                   "value": [100.0, 120.0]})
    >>> k = pd.DataFrame({"zone": ["15087"] * 4, "year": [2020] * 4, "sex": ["m", "m", "f", "f"],
    ...                   "age_start": [0, 65, 0, 65],
    ...                   "age_end": pd.array([65, None, 65, None], dtype="Int64"),
    ...                   "value": [700.0, 300.0, 600.0, 400.0]})
    >>> estimate_gemeinde_structure(g, k)[["sex", "age_start", "value"]].to_dict("list")
    {'sex': ['f', 'f', 'm', 'm'], 'age_start': [0, 65, 0, 65], 'value': [72.0, 48.0, 70.0, 30.0]}
    """
    shares = _shares(kreis_structure[kreis_structure["zone"].str.len() == 5])
    tot = _gemeinde_totals(gemeinde_totals).assign(kreis=lambda f: f["zone"].str[:5])
    tot = tot.astype({"year": "int64"})
    years = structure_years(tot, shares.rename(columns={"zone": "kreis"}), until)
    tot = tot.merge(years[["kreis", "year", "structure_year"]], on=["kreis", "year"])
    est = tot.merge(
        shares.rename(columns={"zone": "kreis", "year": "structure_year"}),
        on=["kreis", "structure_year", "sex"],
    )
    est["value"] = est["value"] * est["share"]
    out = est[["zone", "year", "sex", "age_start", "age_end", "value"]].copy()
    out["status"] = None
    out["flag"] = "s"
    out["estimated"] = True
    out = out.sort_values(["zone", "year", "sex", "age_start"]).reset_index(drop=True)
    return out

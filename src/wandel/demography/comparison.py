"""Wandel's projection beside another projection (e.g. a city's own) and beside what was observed.

A town that has its own projection wants to know where Wandel differs and whether the difference
is within Wandel's uncertainty. :func:`compare_projections` puts both side by side per year and
age group (and for the total), on the age groups both can be summed to
(:func:`wandel.ages.sum_age_groups`):

``diff = other - wandel``, ``diff_pct = 100 diff / wandel``, ``inside80``: the other projection
lies inside Wandel's 80 % interval (q10..q90). Wandel's quantiles of a group are the sums of its
sex and age-group quantiles; the draws move the groups of a zone together (one net-migration
level per zone and draw), so the sum is a close, slightly wide, approximation of the group's
quantile.

:func:`observed_check` compares Wandel's projected totals with observed totals of later years
(a backtest of the run itself; e.g. the official yearly population of a city after the base year).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from wandel.ages import bands_from_breaks, sum_age_groups
from wandel.errors import WandelError

__all__ = ["compare_projections", "observed_check"]


def _with_total(frame: pd.DataFrame, value_cols: Sequence[str]) -> pd.DataFrame:
    keys = [c for c in ("zone", "year") if c in frame.columns]
    tot = frame.groupby(keys, sort=True)[list(value_cols)].sum().reset_index()
    tot = tot.assign(age_start=0, age_end=pd.array([pd.NA] * len(tot), dtype="Int64"), total=True)
    return pd.concat([frame.assign(total=False), tot], ignore_index=True)


def compare_projections(
    wandel: pd.DataFrame,
    other: pd.DataFrame,
    breaks: Sequence[int],
) -> pd.DataFrame:
    """Wandel (``year, sex, age_start, age_end, value[, q10, q90]``) beside ``other``.

    ``other`` has ``year, age_start, age_end, value`` (any sex rows are summed). Both are summed
    into the groups starting at ``breaks`` and to the total (``total`` True, ages 0-open). Only
    years in both are compared. Columns: ``year, age_start, age_end, total, wandel, q10, q90,
    other, diff, diff_pct, inside80``.

    >>> w = pd.DataFrame({"year": 2030, "sex": ["m", "f"], "age_start": 0,
    ...     "age_end": pd.array([pd.NA, pd.NA], dtype="Int64"), "value": [50.0, 50.0],
    ...     "q10": [45.0, 45.0], "q90": [55.0, 55.0]})
    >>> o = pd.DataFrame({"year": [2030], "age_start": [0],
    ...     "age_end": pd.array([pd.NA], dtype="Int64"), "value": [104.0]})
    >>> r = compare_projections(w, o, [0]).iloc[0]
    >>> float(r["diff"]), float(r["diff_pct"]), bool(r["inside80"])
    (4.0, 4.0, True)
    """
    have_q = {"q10", "q90"} <= set(wandel.columns)
    cols = ["value", "q10", "q90"] if have_q else ["value"]
    bands = bands_from_breaks(breaks)
    context = "comparison of two projections"
    w = sum_age_groups(wandel, bands, cols, by=["year"], context=context).drop(columns="group")
    o = sum_age_groups(other, bands, ["value"], by=["year"], context=context).drop(columns="group")
    years = sorted(set(w["year"]) & set(o["year"]))
    if not years:
        raise WandelError("@demography.error.no_common_year")
    w = _with_total(w[w["year"].isin(years)], cols).rename(columns={"value": "wandel"})
    o = _with_total(o[o["year"].isin(years)], ["value"]).rename(columns={"value": "other"})
    keys = ["year", "age_start", "age_end", "total"]
    out = w.merge(o, on=keys, how="inner")
    if not have_q:
        out["q10"] = np.nan
        out["q90"] = np.nan
    out["diff"] = out["other"] - out["wandel"]
    out["diff_pct"] = 100.0 * out["diff"] / out["wandel"].where(out["wandel"] > 0)
    out["inside80"] = (out["other"] >= out["q10"]) & (out["other"] <= out["q90"])
    cols_out = [*keys, "wandel", "q10", "q90", "other", "diff", "diff_pct", "inside80"]
    return out[cols_out].sort_values(["total", "year", "age_start"]).reset_index(drop=True)


def observed_check(totals: pd.DataFrame, observed: pd.DataFrame, start_year: int) -> pd.DataFrame:
    """Projected totals (``year, value[, q10, q90]``) against observed totals (``year, value``).

    Years after ``start_year`` present in both; columns ``year, horizon, projected, q10, q90,
    observed, ape, inside80`` (APE in percent).

    >>> p = pd.DataFrame({"year": [2020, 2021], "value": [100.0, 102.0], "q10": [95.0, 96.0],
    ...     "q90": [105.0, 108.0]})
    >>> observed_check(p, pd.DataFrame({"year": [2021], "value": [99.0]}), 2019)[
    ...     ["horizon", "ape", "inside80"]].to_dict("records")
    [{'horizon': 2, 'ape': 3.0303030303030303, 'inside80': True}]
    """
    p = totals.rename(columns={"value": "projected"})
    for c in ("q10", "q90"):
        if c not in p.columns:
            p[c] = np.nan
    o = (
        observed.groupby("year", as_index=False)["value"]
        .sum()
        .rename(columns={"value": "observed"})
    )
    out = p[["year", "projected", "q10", "q90"]].merge(o, on="year", how="inner")
    out = out[out["year"] > start_year].copy()
    out.insert(1, "horizon", out["year"] - start_year)
    out["ape"] = 100.0 * (out["projected"] - out["observed"]).abs() / out["observed"]
    out["inside80"] = (out["observed"] >= out["q10"]) & (out["observed"] <= out["q90"])
    return out.reset_index(drop=True)

"""Wandel's projection beside another projection (e.g. a city's own) and beside what was observed.

A town that has its own projection wants to know where Wandel differs and whether the difference
is within Wandel's uncertainty. :func:`compare_projections` puts both side by side per year and
age group (and for the total), on the age groups both can be summed to:

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

from wandel.errors import WandelError

__all__ = ["compare_projections", "observed_check", "regroup"]


def regroup(frame: pd.DataFrame, breaks: Sequence[int], value_cols: Sequence[str]) -> pd.DataFrame:
    """Sum ``value_cols`` over sex and into the age groups starting at ``breaks`` (last open).

    Every group of ``frame`` (``age_start, age_end``; ``age_end`` exclusive, NA = open) must lie
    inside one target group, else a :class:`~wandel.errors.WandelError` names the group.

    >>> f = pd.DataFrame({"year": 2030, "sex": "t", "age_start": [0, 1, 85],
    ...     "age_end": pd.array([1, 2, pd.NA], dtype="Int64"), "value": [10.0, 11.0, 5.0]})
    >>> regroup(f, [0, 80], ["value"]).to_dict("records")
    [{'year': 2030, 'age_start': 0, 'age_end': 80, 'value': 21.0}, \
{'year': 2030, 'age_start': 80, 'age_end': None, 'value': 5.0}]
    """
    b = np.asarray(sorted(int(x) for x in breaks), dtype=np.int64)
    start = frame["age_start"].to_numpy(dtype=np.int64)
    end = frame["age_end"].astype("Float64").fillna(np.inf).to_numpy(dtype=np.float64)
    k = np.searchsorted(b, start, side="right") - 1
    upper = np.append(b[1:].astype(np.float64), np.inf)
    bad = (k < 0) | (end > upper[np.clip(k, 0, None)])
    if bad.any():
        i = int(np.argmax(bad))
        raise WandelError(
            f"age group {start[i]}-{'' if np.isinf(end[i]) else int(end[i])} does not fit into "
            f"the groups starting at {list(b)}: choose breaks both projections share"
        )
    g = frame.assign(
        age_start=b[k],
        age_end=pd.array([None if np.isinf(u) else int(u) for u in upper[k]], dtype="Int64"),
    )
    keys = [c for c in ("zone", "year") if c in frame.columns] + ["age_start", "age_end"]
    out = g.groupby(keys, dropna=False, sort=True)[list(value_cols)].sum().reset_index()
    return out


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
    w = regroup(wandel.drop(columns=["zone"], errors="ignore"), breaks, cols)
    o = regroup(other.drop(columns=["zone"], errors="ignore"), breaks, ["value"])
    years = sorted(set(w["year"]) & set(o["year"]))
    if not years:
        raise WandelError("the two projections have no year in common")
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

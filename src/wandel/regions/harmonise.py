"""Convert Gemeinde series to one territorial status (Gebietsstand) while conserving totals.

A value of Gemeinde ``z`` in year ``Y`` is on the status of 31.12.Y. The change table
(:func:`wandel.regions.changes.derive_changes`) has steps between GV years ``A -> B``; each old zone's
weights sum to 1. Converting to the status of year ``T``:

* forward (``Y <= T``): apply every step with ``Y < B <= T`` in order; a zone without rows in a step
  keeps its key. ``value_new[t] = sum_o weight[o, t] * value[o]``.
* backward (``Y > T``, later -> earlier status): apply the steps with ``T <= A < Y`` in reverse. A new
  zone is split back over the old zones that went into it in proportion to
  ``weight[o, t] * from_pop[o]`` (the old zones' population at the GV date A), falling back to
  ``from_area_km2`` and then to equal shares. These splitting weights are an estimate: the true
  distribution at date Y is not known.

:func:`convert_territory` moves a whole table that is on the status of one year (whatever its
``year`` column says, e.g. a projection on the status of its base population) forward to a later
status, with any number of value columns (e.g. ``value, q10, q50, q90``).

Because every zone's weights sum to 1, ``sum(before) == sum(after)`` for each year, sex and age
(up to floating point rounding). A year between two GV years is taken to have the earlier GV year's
status for zones that still existed then (a zone changed between A and Y is handled by the step
``A -> B``). Keys that are not Gemeinden (Länder, Kreise, ``DG``) pass unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["backward_weights", "convert_territory", "harmonise_population", "step_weights"]

_KEYS = ["year", "sex", "age_start", "age_end"]


def step_weights(changes: pd.DataFrame, from_year: int, to_year: int) -> pd.DataFrame:
    """Rows ``from_zone, to_zone, weight`` of one forward step (only zones that change)."""
    c = changes[(changes["from_year"] == from_year) & (changes["to_year"] == to_year)]
    return c[["from_zone", "to_zone", "weight"]].reset_index(drop=True)


def backward_weights(changes: pd.DataFrame, from_year: int, to_year: int) -> pd.DataFrame:
    """Splitting weights ``to_zone -> from_zone`` that invert the step ``from_year -> to_year``.

    For each new zone t the shares over its old zones o are ``w[o,t] * pop[o]`` normalised; with no
    population, ``w[o,t] * area[o]``; with neither, equal shares. Returns columns
    ``from_zone`` (the later zone), ``to_zone`` (the earlier zone), ``weight``.
    """
    c = changes[(changes["from_year"] == from_year) & (changes["to_year"] == to_year)].copy()
    if c.empty:
        return pd.DataFrame({"from_zone": [], "to_zone": [], "weight": []})
    pop = c["from_pop"] if "from_pop" in c else pd.Series(np.nan, index=c.index)
    area = c["from_area_km2"] if "from_area_km2" in c else pd.Series(np.nan, index=c.index)
    w = c["weight"].astype(float)
    c["by_pop"] = w * pop.astype(float).fillna(0.0)
    c["by_area"] = w * area.astype(float).fillna(0.0)
    c["equal"] = 1.0
    g = c.groupby("to_zone")
    pop_sum, area_sum = g["by_pop"].transform("sum"), g["by_area"].transform("sum")
    n = g["equal"].transform("sum")
    share = np.where(
        pop_sum > 0,
        c["by_pop"] / pop_sum.where(pop_sum > 0, 1.0),
        np.where(area_sum > 0, c["by_area"] / area_sum.where(area_sum > 0, 1.0), 1.0 / n),
    )
    return pd.DataFrame(
        {"from_zone": c["to_zone"], "to_zone": c["from_zone"], "weight": share}
    ).reset_index(drop=True)


def _apply(
    frame: pd.DataFrame, weights: pd.DataFrame, value_cols: tuple[str, ...] = ("value",)
) -> pd.DataFrame:
    """Move values along ``weights`` (zones not in ``weights.from_zone`` keep their key)."""
    moving = frame["zone"].isin(weights["from_zone"])
    stay = frame[~moving]
    moved = frame[moving].merge(weights, left_on="zone", right_on="from_zone")
    for c in value_cols:
        moved[c] = moved[c] * moved["weight"]
    moved["zone"] = moved["to_zone"]
    return pd.concat([stay, moved[frame.columns]], ignore_index=True)


def _steps(changes: pd.DataFrame) -> list[tuple[int, int]]:
    pairs = changes[["from_year", "to_year"]].drop_duplicates()
    return sorted(
        (int(a), int(b)) for a, b in zip(pairs["from_year"], pairs["to_year"], strict=True)
    )


def harmonise_population(
    frame: pd.DataFrame, changes: pd.DataFrame, target_year: int
) -> pd.DataFrame:
    """``frame`` (canonical long table) with every Gemeinde on the territorial status of ``target_year``.

    Sums over zones are conserved for each ``year, sex, age_start, age_end``; values never turn
    negative (all weights are >= 0). Rows with the same key after conversion are summed.

    >>> ch = pd.DataFrame({"from_zone": ["15087335"], "to_zone": ["15087220"], "from_year": [2009],
    ...     "to_year": [2013], "weight": [1.0], "from_pop": [320.0]})
    >>> f = pd.DataFrame({"zone": ["15087220", "15087335"], "year": 2009, "sex": "t",
    ...     "age_start": 0, "age_end": pd.NA, "value": [14427.0, 320.0]})
    >>> harmonise_population(f, ch, 2013)[["zone", "value"]].to_dict("records")
    [{'zone': '15087220', 'value': 14747.0}]
    """
    if frame.empty:
        return frame.copy()
    steps = _steps(changes)
    gem = frame["zone"].astype(str).str.fullmatch(r"\d{8}")
    others = frame[~gem]
    parts = [others]
    value_cols = [c for c in frame.columns if c not in ("zone", "value", *_KEYS)]
    base = frame.loc[gem, ["zone", *_KEYS, "value"]]
    for year, grp in base.groupby("year", sort=True):
        y = int(year)
        cur = grp
        if y <= target_year:
            for a, b in steps:
                if y < b <= target_year:
                    cur = _apply(cur, step_weights(changes, a, b))
        else:
            for a, b in reversed(steps):
                if target_year <= a < y:
                    cur = _apply(cur, backward_weights(changes, a, b))
        parts.append(cur)
    out = pd.concat(parts, ignore_index=True)
    key = ["zone", *_KEYS]
    out["_nan"] = out["value"].isna()
    grouped = out.groupby(key, dropna=False, sort=True)
    summed = grouped["value"].sum(min_count=1).reset_index()
    # a value without a figure (suppressed, unknown) never enters a sum silently
    summed.loc[grouped["_nan"].any().to_numpy(), "value"] = np.nan
    if value_cols:
        extra = frame.drop_duplicates(key)[key + value_cols]
        summed = summed.merge(extra, on=key, how="left")
        if "estimated" in summed:
            summed["estimated"] = summed["estimated"].fillna(False).astype(bool)
    return summed[[c for c in frame.columns if c in summed.columns]].reset_index(drop=True)


def convert_territory(
    frame: pd.DataFrame,
    changes: pd.DataFrame,
    from_year: int,
    to_year: int,
    value_cols: tuple[str, ...] = ("value",),
) -> pd.DataFrame:
    """``frame``, a table on the territorial status of ``from_year``, on the status of ``to_year``.

    Every forward step ``A -> B`` with ``from_year < B <= to_year`` is applied to every row, whatever
    its ``year`` (a projection keeps the territory of its base population in every projected year);
    ``value_cols`` move with the weights, rows with the same key after the move (every column but
    ``value_cols``) are summed. Non-Gemeinde rows pass unchanged. Quantile columns of zones that are
    merged become sums of quantiles: a slightly wide approximation of the merged zone's quantile.

    >>> ch = pd.DataFrame({"from_zone": ["15087335"], "to_zone": ["15087220"], "from_year": [2009],
    ...     "to_year": [2013], "weight": [1.0]})
    >>> f = pd.DataFrame({"zone": ["15087220", "15087335"], "year": 2030, "value": [900.0, 20.0]})
    >>> convert_territory(f, ch, 2009, 2019).to_dict("records")
    [{'zone': '15087220', 'year': 2030, 'value': 920.0}]
    """
    if to_year < from_year:
        raise ValueError(f"convert_territory moves forward only: {from_year} -> {to_year}")
    gem = frame["zone"].astype(str).str.fullmatch(r"\d{8}")
    cur = frame[gem]
    for a, b in _steps(changes):
        if from_year < b <= to_year:
            cur = _apply(cur, step_weights(changes, a, b), value_cols)
    keys = [c for c in frame.columns if c not in value_cols]
    summed = cur.groupby(keys, dropna=False, sort=True)[list(value_cols)].sum(min_count=1)
    out = pd.concat([frame[~gem], summed.reset_index()], ignore_index=True)
    return out[list(frame.columns)].reset_index(drop=True)

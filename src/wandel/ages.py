"""Reading population consistently: one partition per zone and year, totals without double counting.

The store may hold several breakdowns of the same population (a published Gemeinde total and an
estimated age structure; both sexes and the total). :func:`finest_partition` keeps, for every zone and
year, the sexes ``m``/``f`` where they exist (else ``t``) and the finest set of age groups that tiles
``[0, open)`` without overlap; :func:`totals` sums that partition and never lets a suppressed cell into a
sum silently: a total over a cell without a figure is itself without a figure (status ``incomplete``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["finest_partition", "totals"]

_GROUP = ["zone", "year", "sex"]


def _tiles(intervals: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    """The tiling of [0, open) with the most intervals, or [] if none tiles it."""
    by_start: dict[int, list[tuple[int, int | None]]] = {}
    for iv in intervals:
        by_start.setdefault(iv[0], []).append(iv)
    best: dict[int, list[tuple[int, int | None]] | None] = {}

    def solve(a: int) -> list[tuple[int, int | None]] | None:
        if a in best:
            return best[a]
        options: list[list[tuple[int, int | None]]] = []
        for iv in by_start.get(a, []):
            if iv[1] is None:
                options.append([iv])
            elif iv[1] > a:
                rest = solve(iv[1])
                if rest is not None:
                    options.append([iv, *rest])
        best[a] = max(options, key=len) if options else None
        return best[a]

    return solve(0) or []


def finest_partition(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep one non-overlapping age partition per (zone, year, sex), preferring m/f over t."""
    if frame.empty:
        return frame
    df = frame.copy()
    has_mf = df.groupby(["zone", "year"])["sex"].transform(lambda s: bool(s.isin(["m", "f"]).any()))
    df = df[~(has_mf & (df["sex"] == "t"))]
    end = df["age_end"].astype("Float64").fillna(np.inf).to_numpy(dtype=float)
    start = df["age_start"].to_numpy(dtype=float)
    df = df.assign(_end=end, _start=start).sort_values([*_GROUP, "_start", "_end"])
    # fast path: groups whose intervals already tile without overlap
    prev_end = df.groupby(_GROUP)["_end"].shift(1)
    first = prev_end.isna()
    ok_row = (first & (df["_start"] == 0)) | (~first & (df["_start"] == prev_end))
    last_open = df.groupby(_GROUP)["_end"].transform("last") == np.inf
    group_ok = ok_row.groupby([df[c] for c in _GROUP]).transform("all") & last_open
    good = df[group_ok]
    bad = df[~group_ok]
    parts = [good]
    for _, g in bad.groupby(_GROUP, sort=False):
        ivs = sorted(
            {
                (int(a), None if pd.isna(b) else int(b))
                for a, b in zip(g["age_start"], g["age_end"], strict=True)
            },
            key=lambda t: (t[0], np.inf if t[1] is None else t[1]),
        )
        keep = set(_tiles(ivs))
        if not keep:
            continue
        mask = [
            (int(a), None if pd.isna(b) else int(b)) in keep
            for a, b in zip(g["age_start"], g["age_end"], strict=True)
        ]
        parts.append(g[mask].drop_duplicates(["age_start", "age_end"]))
    out = pd.concat(parts).drop(columns=["_end", "_start"])
    return out.sort_values([*_GROUP, "age_start"]).reset_index(drop=True)


def totals(frame: pd.DataFrame, by: tuple[str, ...] = ("zone", "year")) -> pd.DataFrame:
    """Sum the finest partition over sex and age for each ``by`` group.

    A group containing a cell without a figure gets ``value`` NaN and ``status`` ``incomplete``;
    ``estimated`` is True if any summed cell was estimated.
    """
    part = finest_partition(frame)
    keys = list(by)
    grouped = part.groupby(keys, sort=True)
    out = grouped["value"].sum(min_count=1).to_frame("value")
    missing = grouped["value"].apply(lambda v: bool(v.isna().any()))
    out.loc[missing, "value"] = np.nan
    out["status"] = missing.map({True: "incomplete", False: None})
    if "estimated" in part.columns:
        out["estimated"] = grouped["estimated"].any()
    return out.reset_index()

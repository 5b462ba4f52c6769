"""Ages read consistently: one partition per zone and year, totals without double counting, and
one rule for summing age groups into other age groups.

The store may hold several breakdowns of the same population (a published Gemeinde total and an
estimated age structure; both sexes and the total). :func:`finest_partition` keeps, for every zone and
year, the sexes ``m``/``f`` where they exist (else ``t``) and the finest set of age groups that tiles
``[0, open)`` without overlap; :func:`totals` sums that partition and never lets a suppressed cell into a
sum silently: a total over a cell without a figure is itself without a figure (status ``incomplete``).

Regrouping (:func:`sum_age_groups` for long tables, :func:`group_single_ages` for arrays of single
ages) follows one rule: a row counts into a target group ``[a, b)`` when it lies inside it; a row that
overlaps the group without lying inside it would have to be split by a guess, so it is an
:class:`~wandel.errors.AgeGroupError` naming both groups. Single ages ``[x, x + 1)`` lie inside every
group that contains ``x``, so for them the rule is plain summation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.errors import AgeGroupError
from wandel.tables import SEXES

__all__ = [
    "AgeBand",
    "band_label",
    "bands_from_breaks",
    "finest_partition",
    "group_single_ages",
    "sum_age_groups",
    "totals",
]

AgeBand = tuple[int, int | None]
"""An age group ``[start, end)``; ``end`` None for the open group."""

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
    has_mf = df["sex"].isin(SEXES).groupby([df["zone"], df["year"]]).transform("any")
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
    missing = part["value"].isna().groupby([part[k] for k in keys], sort=True).any()
    out.loc[missing, "value"] = np.nan
    out["status"] = missing.map({True: "incomplete", False: None})
    if "estimated" in part.columns:
        out["estimated"] = grouped["estimated"].any()
    return out.reset_index()


def band_label(start: int, end: float | None) -> str:
    """A group as people say it: ``0-5`` for ``[0, 6)`` (both ends included), ``75+`` when open.

    >>> band_label(0, 6), band_label(75, None), band_label(3, 4)
    ('0-5', '75+', '3')
    """
    if end is None or not np.isfinite(end):
        return f"{start}+"
    last = int(end) - 1
    return str(start) if last == start else f"{start}-{last}"


def bands_from_breaks(breaks: Sequence[int]) -> list[AgeBand]:
    """The groups starting at ``breaks`` (sorted), the last one open.

    >>> bands_from_breaks([0, 18, 65])
    [(0, 18), (18, 65), (65, None)]
    """
    b = sorted(int(x) for x in breaks)
    bands: list[AgeBand] = list(itertools.pairwise(b))
    return [*bands, (b[-1], None)]


def sum_age_groups(
    frame: pd.DataFrame,
    groups: Sequence[AgeBand],
    value_cols: Sequence[str] = ("value",),
    by: Sequence[str] = ("zone", "year"),
    *,
    context: str = "age groups",
) -> pd.DataFrame:
    """Sum the rows of a long table into the target ``groups`` (any intervals; they may overlap).

    ``frame`` has ``age_start``, ``age_end`` (exclusive, NA = open), the ``value_cols`` and the
    ``by`` columns that exist in it (the others, e.g. ``sex``, are summed over). A row counts into
    a group it lies inside; a row overlapping a group without lying inside it raises
    :class:`~wandel.errors.AgeGroupError` (``context`` says whose data: a file, a year). Every key
    of ``by`` gets every group (0 where no row lies inside; NaN only where all inside are NaN).

    Returns the ``by`` columns, ``group`` (position in ``groups``), ``age_start``, ``age_end``
    (Int64, NA = open) and the ``value_cols``, sorted by key and group.

    >>> f = pd.DataFrame({"year": 2030, "sex": "t", "age_start": [0, 1, 85],
    ...     "age_end": pd.array([1, 2, pd.NA], dtype="Int64"), "value": [10.0, 11.0, 5.0]})
    >>> sum_age_groups(f, bands_from_breaks([0, 80]), by=["year"])[
    ...     ["group", "age_start", "value"]].to_dict("records")
    [{'group': 0, 'age_start': 0, 'value': 21.0}, {'group': 1, 'age_start': 80, 'value': 5.0}]
    """
    keys = [c for c in by if c in frame.columns]
    start = frame["age_start"].to_numpy(dtype=np.float64)
    end = frame["age_end"].astype("Float64").fillna(np.inf).to_numpy(dtype=np.float64)
    key_frame = frame[keys].reset_index(drop=True)
    parts = []
    for k, (lo, hi) in enumerate(groups):
        top = np.inf if hi is None else float(hi)
        inside = (start >= lo) & (end <= top)
        cut = (start < top) & (end > lo) & ~inside
        if cut.any():
            i = int(np.flatnonzero(cut)[0])
            raise AgeGroupError(
                "@error.age_group_cuts",
                where=context,
                group=band_label(lo, hi),
                published=band_label(int(start[i]), end[i]),
            )
        vals = pd.DataFrame(
            {c: np.where(inside, frame[c].to_numpy(dtype=np.float64), 0.0) for c in value_cols}
        )
        part = pd.concat([key_frame, vals], axis=1)
        summed = (
            part.groupby(keys, sort=True, dropna=False)[list(value_cols)].sum(min_count=1)
            if keys
            else part[list(value_cols)].sum(min_count=1).to_frame().T
        )
        summed = summed.reset_index() if keys else summed
        parts.append(summed.assign(group=k, age_start=lo, age_end=hi))
    out = pd.concat(parts, ignore_index=True)
    out["age_end"] = out["age_end"].astype("Int64")
    out["age_start"] = out["age_start"].astype("int64")
    cols = [*keys, "group", "age_start", "age_end", *value_cols]
    return out[cols].sort_values([*keys, "group"]).reset_index(drop=True)


def group_single_ages(single: npt.ArrayLike, breaks: Sequence[int]) -> npt.NDArray[np.float64]:
    """Sum single ages (the last axis, ages ``0 .. n-1``, the last open) into the groups starting
    at ``breaks``: the array form of :func:`sum_age_groups` (single ages never cut a group).

    >>> group_single_ages(np.arange(101.0), [0, 3, 6, 10, 15, 18, 20, 25, 30, 35, 40, 45, 50, 55,
    ...     60, 65, 75])[..., -1]
    array(2275.)
    """
    x = np.asarray(single, dtype=np.float64)
    b = np.asarray(breaks, dtype=np.int64)
    if b.ndim != 1 or b.size < 1 or b[0] != 0 or np.any(np.diff(b) <= 0) or b[-1] >= x.shape[-1]:
        raise AgeGroupError("@error.age_breaks", n=x.shape[-1], breaks=str(list(breaks)))
    out: npt.NDArray[np.float64] = np.add.reduceat(x, b, axis=-1)
    return out

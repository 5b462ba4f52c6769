"""Regions given by name only (``Sachsen-Anhalt``, ``Baden-Württemberg, Land``,
``Mansfeld-Südharz, Landkreis``): the label column or header row of names becomes the ``zone``
variable, resolved against the region register of the table's years
(:mod:`wandel.sources.register`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from wandel.errors import MissingColumnError
from wandel.sources.genesis_classic.blocks import Blocks
from wandel.sources.genesis_classic.dims import Dims, Texts
from wandel.sources.register import RegionPlace, Register

__all__ = ["region_names"]


def _years(
    dims_row: Dims, dims_col: Dims, const: dict[str, object], n: int
) -> list[tuple[int, ...]]:
    """For each data row, the years its region label must be valid in."""
    if "year" in dims_row:
        return [(int(y),) for y in dims_row["year"]]
    if "year" in dims_col:
        return [tuple(sorted({int(y) for y in dims_col["year"]}))] * n
    if "year" in const:
        return [(int(str(const["year"])),)] * n
    return []


def region_names(
    b: Blocks,
    texts: Texts,
    dims: tuple[Dims, Dims],
    const: dict[str, object],
    places: tuple[np.ndarray, Sequence[int]],
    register: Callable[[], Register],
) -> tuple[str, np.ndarray, int] | None:
    """Find the text variable that names regions and resolve it.

    Returns ``(axis, zones, index into texts)`` or ``None`` when no text variable holds a region
    name. ``places`` are the data lines and the value columns (0-based) of the table.
    """
    dims_row, dims_col = dims
    lines, vcols = places
    n = len(lines)
    row_years = _years(dims_row, dims_col, const, n)
    reg: Register | None = None
    for t_i, (axis, labs, origin) in enumerate(texts):
        reg = reg or register()
        if axis == "row":
            years = row_years
            where = RegionPlace(b.file, list(lines), [int(origin.rsplit(" ", 1)[1])] * n)
        else:
            all_years = tuple(sorted({y for ys in row_years for y in ys}))
            years = [all_years] * len(labs)
            line = b.header_line + int(origin.rsplit(" ", 1)[1]) - 1
            where = RegionPlace(b.file, [line] * len(labs), [j + 1 for j in vcols])
        probe = max(reg.years("kreis") or reg.years("land") or (0,))
        probe_years = years[0] if years and years[0] else (probe,)
        if not any(reg.candidates(str(x), probe_years[0]) for x in sorted(set(labs.tolist()))):
            continue
        if not years or not years[0]:
            raise MissingColumnError(
                b.file,
                line=where.at(0)[0],
                column=where.at(0)[1],
                value=str(labs[0]),
                reason="regions are given by name, but the table names no year to look them up",
                expected="a reference date or year in the table (or regions given by AGS)",
            )
        return axis, reg.resolve([str(x) for x in labs], years, where), t_i
    return None

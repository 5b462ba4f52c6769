"""Regions given by name only (``Sachsen-Anhalt``, ``Baden-Württemberg, Land``,
``Mansfeld-Südharz, Landkreis``): the label column or header row of names becomes the ``zone``
variable, resolved against the region register of the table's years
(:mod:`wandel.sources.register`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from wandel.errors import InputFormatError, MissingColumnError, RegionNameError
from wandel.sources.genesis_classic.blocks import Blocks
from wandel.sources.genesis_classic.dims import Dims, Texts
from wandel.sources.register import RegionPlace, Register

__all__ = ["Named", "region_names"]


def _year_of(value: object) -> int:
    """A year (``2019``) or a census reference date (``2011-05-09``) as its year."""
    return int(str(value)[:4])


def _years(
    dims_row: Dims, dims_col: Dims, const: dict[str, object], n: int
) -> list[tuple[int, ...]]:
    """For each data row, the years its region label must be valid in (a census reference date
    ``2011-05-09`` counts as its year)."""
    for name in ("year", "reference_date"):
        to_year = _year_of
        if name in dims_row:
            return [(to_year(y),) for y in dims_row[name]]
        if name in dims_col:
            return [tuple(sorted({to_year(y) for y in dims_col[name]}))] * n
        if name in const:
            return [(to_year(const[name]),)] * n
    return []


@dataclass(frozen=True)
class Named:
    """The outcome of :func:`region_names`: the resolved variable (``axis``, ``zones``, index
    ``text`` into the texts) or, where no text variable names regions, ``unresolved``: why the
    first row labels matched no region (for the message when the table needs a zone)."""

    axis: str = ""
    zones: np.ndarray | None = None
    text: int = -1
    unresolved: InputFormatError | None = None


def region_names(
    b: Blocks,
    texts: Texts,
    dims: tuple[Dims, Dims],
    const: dict[str, object],
    places: tuple[np.ndarray, Sequence[int]],
    register: Callable[[], Register],
) -> Named:
    """Find the text variable that names regions and resolve it.

    ``places`` are the data lines and the value columns (0-based) of the table.
    """
    dims_row, dims_col = dims
    lines, vcols = places
    n = len(lines)
    row_years = _years(dims_row, dims_col, const, n)
    reg: Register | None = None
    unresolved: InputFormatError | None = None
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
            if axis == "row" and unresolved is None and years and years[0]:
                unresolved = _why_not(reg, [str(labs[0])], years[:1], where)
            continue
        if not years or not years[0]:
            raise MissingColumnError(
                b.file,
                line=where.at(0)[0],
                column=where.at(0)[1],
                value=str(labs[0]),
                reason="@sources.error.names_without_year",
                expected="@sources.expected.year_for_names",
            )
        return Named(axis, reg.resolve([str(x) for x in labs], years, where), t_i)
    return Named(unresolved=unresolved)


def _why_not(
    reg: Register, labels: list[str], years: list[tuple[int, ...]], where: RegionPlace
) -> InputFormatError | None:
    try:
        reg.resolve(labels, years, where)
    except RegionNameError as exc:
        return exc
    return None

"""Spreadsheets (xlsx, xlsm, xls, ods) read with python-calamine, the Rust calamine reader.

Readers never choose a sheet by its name: sheet names of official workbooks change from year to year
(``Gemeindedaten``, ``Onlineprodukt_Gemeinden_311217``, ...). :func:`find_sheet` walks the sheets
and asks a test function whether the first rows look like the layout the reader knows.

Cells come back as calamine gives them: ``str`` (``""`` for an empty cell), ``int``, ``float``,
``bool`` or a date/time, which :func:`cell_text` renders as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import python_calamine

from wandel.errors import InputFormatError

__all__ = [
    "OLE2_MAGIC",
    "Cell",
    "Sheet",
    "cell_text",
    "find_sheet",
    "is_spreadsheet",
    "merged_ranges",
    "sheet_names",
]

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The first bytes of an OLE2 compound file (the older Excel ``.xls``)."""

Cell = str | int | float | bool | dt.date | dt.time | dt.timedelta


@dataclass(frozen=True)
class Sheet:
    """One sheet's rows (lists of cells), its name and the 1-based sheet row of ``rows[0]``."""

    name: str
    rows: list[list[Cell]]


def is_spreadsheet(head: bytes) -> bool:
    """True for a ZIP container (xlsx, ods) or an OLE2 file (xls) by the first bytes."""
    return head.startswith((b"PK\x03\x04", OLE2_MAGIC))


def _open(path: Path) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        raise InputFormatError(
            str(path),
            reason="@sources.error.unreadable_sheet",
            expected="an xlsx, xls or ods workbook",
            fields={"detail": f"{type(exc).__name__}: {exc}"},
        ) from None


def sheet_names(path: Path) -> list[str]:
    """Names of the workbook's sheets, in order."""
    return list(_open(path).sheet_names)


def find_sheet(
    path: Path,
    looks_right: Callable[[Sequence[Sequence[Cell]]], bool],
    head_rows: int = 40,
    head_only: bool = False,
) -> Sheet | None:
    """The first sheet whose first ``head_rows`` rows satisfy ``looks_right``, read whole (or
    only those first rows, with ``head_only``, as format detection needs).

    Raises
    ------
    InputFormatError
        If the file is no readable workbook or a sheet cannot be read (truncated, damaged).
    """
    wb = _open(path)
    try:
        for name in wb.sheet_names:
            sheet = wb.get_sheet_by_name(name)
            # skip_empty_area=False: rows[0] is sheet row 1, so line numbers stay true
            head = sheet.to_python(skip_empty_area=False, nrows=head_rows)
            if looks_right(head):
                rows = head if head_only else sheet.to_python(skip_empty_area=False)
                return Sheet(name, rows)
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        raise InputFormatError(
            str(path),
            reason="@sources.error.damaged_sheet",
            expected="an intact xlsx, xls or ods workbook",
            fields={"detail": f"{type(exc).__name__}: {exc}"},
        ) from None
    finally:
        wb.close()
    return None


def merged_ranges(path: Path, name: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The merged cell ranges of sheet ``name``: ``((row0, col0), (row1, col1))``, 0-based and
    inclusive (xlsx and ods; an xls reports none)."""
    wb = _open(path)
    try:
        ranges = wb.get_sheet_by_name(name).merged_cell_ranges
    except (python_calamine.CalamineError, OSError, ValueError):
        ranges = None
    finally:
        wb.close()
    return [((int(a), int(b)), (int(c), int(d))) for (a, b), (c, d) in ranges or []]


def cell_text(cell: Cell | None) -> str:
    """A cell as text: whole floats without ``.0``, dates as ``DD.MM.YYYY``.

    >>> cell_text(1560.0), cell_text("  Flensburg "), cell_text(dt.date(2017, 12, 31))
    ('1560', 'Flensburg', '31.12.2017')
    """
    if cell is None or cell == "":
        return ""
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.datetime | dt.date):
        return cell.strftime("%d.%m.%Y")
    return str(cell).strip()

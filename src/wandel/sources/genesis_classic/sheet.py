"""Classic tables downloaded as a spreadsheet (GENESIS-Online, Regionaldatenbank, Zensus 2022
database: "Tabelle" as xlsx).

The workbook holds the same cells as the CSV download (:mod:`.blocks`), with three differences this
module irons out before the blocks are split:

* header labels that span several value columns are one *merged* cell (``männlich`` over three age
  columns): its text is copied into every cell the merged range covers, as the CSV repeats it;
* figures are numbers, not text: they are written back as text in the table's own decimal
  convention (:func:`~.cells.decimal_of` reads it from the words of title and header), so that the
  cell parser sees what a CSV would hold; dates become ``DD.MM.YYYY``;
* the footer line (``__________``) may be missing, as in a table saved from a spreadsheet program.

The sheet is found by its content: the first sheet whose cell A1 is a table code line
(``GENESIS-Tabelle: 12411-0018``), whatever the sheet is called.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from wandel.sources._sheets import Cell, cell_text, find_sheet, merged_ranges, sheet_names
from wandel.sources.genesis_classic.blocks import Blocks, blocks_from_rows, err, match_code
from wandel.sources.genesis_classic.cells import decimal_of

__all__ = ["blocks_from_sheet", "is_table_head"]


def is_table_head(rows: Sequence[Sequence[Cell]]) -> bool:
    """Does a sheet start with a table code line in A1?"""
    return bool(rows) and bool(rows[0]) and match_code(cell_text(rows[0][0])) is not None


def _number_text(cell: Cell, decimal: str) -> str:
    """A numeric cell as the CSV would write it (``2,5`` in a German table; whole numbers plain).

    >>> _number_text(2.5, ","), _number_text(1702.0, ","), _number_text(0.25, ".")
    ('2,5', '1702', '0.25')
    """
    if isinstance(cell, float) and not cell.is_integer():
        text = repr(cell)
        return text.replace(".", ",") if decimal == "," else text
    return cell_text(cell)


def _filled(
    rows: list[list[Cell]], merged: Sequence[tuple[tuple[int, int], tuple[int, int]]]
) -> list[list[Cell]]:
    """Rows padded to one width, with the value of each merged range in every cell it covers."""
    width = max([len(r) for r in rows] + [c1 + 1 for (_, _), (_, c1) in merged] or [0])
    out = [list(r) + [""] * (width - len(r)) for r in rows]
    for (r0, c0), (r1, c1) in merged:
        if r0 >= len(out):
            continue
        value = out[r0][c0]
        for r in range(r0, min(r1, len(out) - 1) + 1):
            for c in range(c0, c1 + 1):
                out[r][c] = value
    return out


def blocks_from_sheet(path: Path) -> Blocks:
    """Read the table sheet of a workbook and split it into :class:`Blocks`.

    Raises
    ------
    InputFormatError
        If no sheet starts with a table code line (the message lists the sheets), or for anything
        :func:`~.blocks.blocks_from_rows` refuses; lines are sheet rows.
    """
    file = str(path)
    sheet = find_sheet(path, is_table_head, head_rows=1)
    if sheet is None:
        raise err(
            file,
            1,
            "A",
            ", ".join(sheet_names(path)),
            "@sources.expected.genesis_sheet",
            "@sources.error.no_genesis_sheet",
        )
    rows = _filled([list(r) for r in sheet.rows], merged_ranges(path, sheet.name))
    as_text = [[c if isinstance(c, str) else "" for c in r] for r in rows]
    words = blocks_from_rows(_stripped(as_text, rows), file, require_footer=False)
    decimal = decimal_of(words)
    texts = [
        [
            c.strip()
            if isinstance(c, str)
            else c.strftime("%d.%m.%Y")
            if isinstance(c, dt.date)
            else _number_text(c, decimal)
            for c in r
        ]
        for r in rows
    ]
    return blocks_from_rows(_trimmed(texts), file, require_footer=False)


def _stripped(as_text: list[list[str]], rows: list[list[Cell]]) -> list[list[str]]:
    """Text cells only, numbers as ``0`` (enough to split the blocks and read the words)."""
    return _trimmed(
        [
            [t.strip() if isinstance(c, str) else "0" for t, c in zip(tr, r, strict=True)]
            for tr, r in zip(as_text, rows, strict=True)
        ]
    )


def _trimmed(rows: list[list[str]]) -> list[list[str]]:
    """Trailing empty rows dropped; every row cut to the widest non-empty extent of the table."""
    while rows and not any(rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, c in enumerate(r) if c), default=0) for r in rows), default=0)
    return [r[:width] for r in rows]

"""The four blocks of a classic GENESIS table: code line, title, column header, body (and footer).

Layout (GENESIS-Online, Regionaldatenbank, Zensus 2022 database, "Tabelle" download as CSV; the same
cells in the xlsx download)::

    GENESIS-Tabelle: 12411-0018            <- table code (line 1; "Tabelle: 1000A-2022" in GENESIS 5)
    Bevölkerung: Kreise, Stichtag, ...;;;  <- title block: first cell filled, may hold constants
    ;;;männlich;männlich;...               <- column header rows: start with empty label cells
    ;;;unter 3 Jahre;3 bis unter 6 Jahre
    31.12.2015;01001;Flensburg;1143;1130   <- data rows: label cells, then value cells
    __________                             <- footer: notes, ©, Stand:

Table codes follow the GENESIS naming scheme: a statistic (``12411``, Zensus ``1000A``) and a
suffix (``-0018``, ``-02-03-5``, ``-01-01-4-B``, ``-Z-11``), see the table lists shipped with pystatis
(``genesis_tables.csv``, ``regioDB_tables.csv``, ``zensusDB_tables.csv``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wandel.errors import InputFormatError
from wandel.sources._text import decode_text

__all__ = [
    "CODE_PATTERN",
    "MAX_BYTES",
    "MAX_LINE",
    "Blocks",
    "blocks_from_bytes",
    "blocks_from_rows",
    "err",
    "match_code",
]

MAX_BYTES = 256 * 1024 * 1024
MAX_LINE = 1024 * 1024

CODE_PATTERN = r"[0-9A-Za-z]{2,6}(?:-[0-9A-Za-z]{1,4}){1,5}"
"""A GENESIS table code: ``12411-0018``, ``12411-02-03-5``, ``21311-01-01-4-B``, ``12211-Z-11``,
``1000A-2022``, ``86000U-Z-01``, ``AI-N-01-2-5``."""

_CODE_LINE = re.compile(r"^\ufeff?\s*(?:GENESIS-)?Tabelle:\s*(" + CODE_PATTERN + r")\s*$")
_FOOTER = re.compile(r"^_{5,}")


def err(
    file: str,
    line: int | None,
    column: int | str | None,
    value: object,
    expected: str,
    reason: str = "",
    fields: dict[str, object] | None = None,
) -> InputFormatError:
    """The reader's one way to build an :class:`InputFormatError` (``expected`` and ``reason``
    free text, translated where the catalogue has the phrase, or ``"@key"`` with ``fields``)."""
    return InputFormatError(
        file,
        line=line,
        column=column,
        value=value,
        expected=expected,
        reason=reason,
        fields=fields,
    )


def match_code(cell: str) -> str | None:
    """The table code of a code line (``GENESIS-Tabelle: 12411-0018``), ``None`` if it is none.

    >>> match_code("GENESIS-Tabelle: 21311-01-01-4-B"), match_code("Tabelle: 1000A-2022")
    ('21311-01-01-4-B', '1000A-2022')
    >>> match_code("Bevölkerung") is None
    True
    """
    m = _CODE_LINE.match(cell.strip())
    return m.group(1) if m else None


@dataclass(frozen=True)
class Blocks:
    """A table split into its blocks; every body and header row padded to ``ncols`` cells.

    ``header_line`` and ``body_line`` are the 1-based file lines (sheet rows) of the first header
    and body row; ``k`` is the number of leading label columns.
    """

    file: str
    code: str
    title: tuple[str, ...]
    title_line: int
    header: list[list[str]]
    header_line: int
    body: list[list[str]]
    body_line: int
    footer: list[str]
    ncols: int
    k: int


def _check_bytes(data: bytes, file: str) -> None:
    if not data.strip():
        raise err(
            file,
            1,
            None,
            None,
            "a GENESIS table (title line 'GENESIS-Tabelle: ...')",
            "the file is empty",
        )
    if len(data) > MAX_BYTES:
        raise err(
            file,
            None,
            None,
            None,
            "@sources.expected.classic_size",
            "file too large",
            fields={"mib": MAX_BYTES // 2**20},
        )
    m = re.search(rb"[^\n\r]{%d}" % MAX_LINE, data)
    if m is not None:
        line = data.count(b"\n", 0, m.start()) + 1
        raise err(
            file,
            line,
            None,
            data[m.start() : m.start() + 40],
            "@sources.expected.lines_shorter_kib",
            "line too long",
            fields={"kib": MAX_LINE // 1024},
        )


def _split_rows(lines: Sequence[str]) -> list[list[str]]:
    rows: list[list[str]] = []
    for line in lines:
        try:
            cells = next(csv.reader([line], delimiter=";"), [])
        except csv.Error:  # pragma: no cover - csv over one line rarely fails
            cells = line.split(";")
        rows.append([c.strip() for c in cells])
    return rows


def blocks_from_bytes(data: bytes, file: str) -> Blocks:
    """Decode a classic table CSV and split it into its blocks (the footer line is required)."""
    _check_bytes(data, file)
    text, _enc = decode_text(data, file)
    lines = text.split("\n")
    while lines and lines[-1].strip() == "":
        lines.pop()
    return blocks_from_rows(_split_rows(lines), file, require_footer=True)


def _leading_empty(row: Sequence[str]) -> int:
    n = 0
    for c in row:
        if c != "":
            break
        n += 1
    return n


def _code_of(rows: list[list[str]], file: str) -> str:
    code_cell = rows[0][0] if rows and rows[0] else ""
    code = match_code(code_cell)
    if code is None:
        raise err(
            file,
            1,
            1,
            code_cell[:80],
            "a title line 'GENESIS-Tabelle: <code>' or 'Tabelle: <code>'",
            "unknown header",
        )
    return code


def blocks_from_rows(rows: list[list[str]], file: str, *, require_footer: bool) -> Blocks:
    """Split rows of stripped cells (row 0 = the code line = file line 1) into :class:`Blocks`.

    Raises
    ------
    InputFormatError
        For a missing code line, footer (``require_footer``), column header or body, and for
        ragged rows; the error names line and column.
    """
    code = _code_of(rows, file)
    footer_at = next((i for i, r in enumerate(rows) if r and _FOOTER.match(r[0])), None)
    if footer_at is None and require_footer:
        raise err(
            file,
            len(rows),
            None,
            None,
            "a footer line '__________' after the data (the file seems truncated)",
            "no footer",
        )
    end = len(rows) if footer_at is None else footer_at
    inner = rows[1:end]
    footer = [";".join(r) for r in rows[end + 1 :]]
    i = 0
    while i < len(inner) and inner[i] and inner[i][0] != "":
        i += 1
    title = tuple(r[0] for r in inner[:i])
    h0 = i
    while i < len(inner) and (not inner[i] or inner[i][0] == ""):
        i += 1
    header, body = inner[h0:i], inner[i:]
    if not header:
        raise err(
            file,
            2 + h0,
            1,
            inner[h0][0] if h0 < len(inner) and inner[h0] else None,
            "column header rows (starting with ';') after the title block",
            "no column header",
        )
    if not body:
        raise err(file, end + 1, None, None, "data rows between header and footer", "no data rows")
    return _checked(Blocks(file, code, title, 2, header, 2 + h0, body, 2 + i, footer, 0, 0))


def _checked(b: Blocks) -> Blocks:
    """Fix ``ncols`` and ``k`` from the last header row and refuse ragged rows."""
    last = b.header[-1]
    ncols = len(last)
    k = _leading_empty(last)
    if k == 0 or k >= ncols:
        raise err(
            b.file,
            b.body_line - 1,
            None,
            ";".join(last)[:80],
            "a last header row that starts with the empty label cells and then names "
            "the value columns",
            "unknown header",
        )
    for r_i, row in enumerate(b.header):
        if len(row) > ncols and any(c != "" for c in row[ncols:]):
            raise err(
                b.file,
                b.header_line + r_i,
                ncols + 1,
                row[ncols],
                "@sources.expected.header_columns",
                "ragged header row",
                fields={"n": ncols},
            )
    header = [(row + [""] * ncols)[:ncols] for row in b.header]
    for r_i, row in enumerate(b.body):
        if len(row) != ncols:
            raise err(
                b.file,
                b.body_line + r_i,
                len(row),
                ";".join(row)[:60],
                "@sources.expected.classic_cells_per_row",
                "ragged row",
                fields={"n": ncols, "found": len(row)},
            )
    return Blocks(
        b.file,
        b.code,
        b.title,
        b.title_line,
        header,
        b.header_line,
        b.body,
        b.body_line,
        b.footer,
        ncols,
        k,
    )

"""Destatis Gemeindeverzeichnis, GV-ISys "Auszug GV" (xlsx and its CSV variant).

Layout (Destatis, Gemeindeverzeichnis-Informationssystem GV-ISys, "Alle politisch selbständigen
Gemeinden mit ausgewählten Merkmalen"): a title row naming the reference date ("... am 31.12.2017"),
a header block whose rows name the columns (``Satz-art``, ``Text-kenn-zeichen``, ``Regionalschlüssel
(RS)`` over ``Land``/``RB``/``Kreis``/``VB``/``Gem``, ``Gemeindename``, ``Fläche km2``,
``Bevölkerung`` over ``insgesamt``/``männlich``/``weiblich``/``je km2``, ``Post-leit-zahl``,
``Geografische Mittelpunktkoordinaten`` over ``Längengrad``/``Breitengrad``), then one record per row:

=======  ==================  =====================================  =====================
Satzart  level               key                                    parent
=======  ==================  =====================================  =====================
10       ``land``            Land (2)                               --
20       ``regbez``          Land + RB (3)                          Land
30       ``region``          Land + RB + region digit (4; only BW)  Regierungsbezirk
40       ``kreis``           Land + RB + Kreis (5)                  Regierungsbezirk/Land
50       ``gemeindeverband`` Kreis (5) + VB (4) = 9                 Kreis
60       ``gemeinde``        AGS = Kreis (5) + Gem (3) = 8          Gemeindeverband
=======  ==================  =====================================  =====================

Population, area and coordinates are published on Gemeinde records only; the reader fills the higher
levels with the sums of their Gemeinden (and checks them where a file does publish them). The CSV
variant (a third-party conversion, e.g. ``AuszugGV4QAktuell_2019.csv``) has a single header row with
plain names (``satzart``, ``land``, ..., ``bevoelkerung``, ``maennlich``, ``laengengrad``), spaces as
thousands separators and decimal commas in the coordinates; its delimiter (``,`` or ``;``) is read
from the header line. Each numeric column follows one decimal convention; a column that mixes them is
refused.

Coordinates in the 2009 extract are packed degrees-minutes-seconds (``9.2615`` = 9°26'15"); a
coordinate column in which every value has at most four decimals that read as minutes and seconds
(< 60, with 60 s tolerated as a rounding artefact) is decoded as such, provided it holds at least 50
values (fewer cannot be told apart from rounded decimal degrees); otherwise values are decimal degrees.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import io
import itertools
import math
import operator
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from wandel.errors import (
    DuplicateKeyError,
    InconsistentTotalError,
    InputFormatError,
    MissingColumnError,
)
from wandel.sources._cells import parse_cell
from wandel.sources._sheets import find_sheet, is_spreadsheet, sheet_names
from wandel.sources._text import decode_text
from wandel.sources.base import LICENCE_DESTATIS, ImportBatch, SourceMeta, sha256_of
from wandel.tables import conform

__all__ = ["LEVEL_OF_SATZART", "NAME", "read", "reference_year", "sniff"]

NAME = "gv-isys"

LEVEL_OF_SATZART: dict[str, str] = {
    "10": "land",
    "20": "regbez",
    "30": "region",
    "40": "kreis",
    "50": "gemeindeverband",
    "60": "gemeinde",
}
"""GV-ISys record type (Satzart) -> level name in ``gv_records``."""

# canonical field -> normalised header labels that name it
_LABELS: dict[str, tuple[str, ...]] = {
    "satzart": ("satzart",),
    "tkz": ("textkennzeichen",),
    "land": ("land",),
    "rb": ("rb", "regierungsbezirk"),
    "kreis": ("kreis",),
    "vb": ("vb", "gemeindeverband"),
    "gem": ("gem", "gemeinde"),
    "name": ("gemeindename",),
    "area": ("flaeche*",),
    "pop_t": ("insgesamt", "bevoelkerung*", "einwohner*"),
    "pop_m": ("maennlich",),
    "pop_f": ("weiblich",),
    "postcode": ("postleitzahl*", "plz"),
    "lon": ("laengengrad",),
    "lat": ("breitengrad",),
}
_REQUIRED = ("satzart", "land", "rb", "kreis", "vb", "gem", "name", "area", "pop_t")
_KEY_WIDTH = {"land": 2, "rb": 1, "kreis": 2, "vb": 4, "gem": 3}
# key parts each Satzart must carry (region records put their number in the Kreis column)
_KEY_PARTS: dict[str, tuple[str, ...]] = {
    "10": ("land",),
    "20": ("land", "rb"),
    "30": ("land", "rb", "kreis"),
    "40": ("land", "rb", "kreis"),
    "50": ("land", "rb", "kreis", "vb"),
    "60": ("land", "rb", "kreis", "vb", "gem"),
}
# field -> Satzart -> width of the key part the record must carry
_PART_WIDTH: dict[str, dict[str, int]] = {
    f: {sa: (1 if (sa == "30" and f == "kreis") else w) for sa, fs in _KEY_PARTS.items() if f in fs}
    for f, w in _KEY_WIDTH.items()
}
_EXCEL_ERRORS = frozenset({"#N/A", "#NV", "#WERT!", "#VALUE!", "#REF!", "#BEZUG!", "#DIV/0!"})
_DATE = re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)")
# Germany with a margin: anything outside is a misread coordinate, not a place in Germany
_LON_RANGE = (5.0, 16.0)
# below this many coordinates a column cannot be told apart from rounded decimal degrees
_DMS_MIN_VALUES = 50
_LAT_RANGE = (47.0, 55.5)

Cell = str | int | float | None
# the type of a cell: 0 a number, 1 text, 2 empty (None), 3 anything else (a date or time)
_CELL_KIND: dict[type, int] = {float: 0, int: 0, str: 1, type(None): 2}


@dataclass(frozen=True)
class _Grid:
    """Rows of one sheet or CSV file with their 1-based line numbers and a column labeller."""

    file: str
    rows: list[Sequence[Cell]]
    lines: list[int]
    spreadsheet: bool

    def picked(self, rows: Sequence[int]) -> list[tuple[Cell, ...]]:
        """The cells of ``rows`` (indices into :attr:`rows`) transposed, one tuple per column
        (``None`` past the end of a short row): one pass over the records, not over every column
        of the sheet. The last selection is kept, as every field is taken from the same rows."""
        last = self.__dict__.get("_picked")
        if last is not None and (last[0] is rows or last[0] == rows):
            return last[1]  # type: ignore[no-any-return]
        sel = [self.rows[i] for i in rows]
        widths = set(map(len, sel))
        if len(widths) > 1:  # a CSV line shorter than the header
            width = max(widths)
            sel = [r if len(r) == width else (*r, *([None] * (width - len(r)))) for r in sel]
        cols = list(zip(*sel, strict=True))
        self.__dict__["_picked"] = (rows, cols)
        return cols

    def column_name(self, index: int, header: Sequence[str]) -> str:
        if self.spreadsheet:
            return _column_letter(index)
        return header[index] if index < len(header) and header[index] else str(index + 1)


def _column_letter(index: int) -> str:
    """0-based column index -> spreadsheet letter (0 -> A, 26 -> AA)."""
    s = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _norm(label: object) -> str:
    """Normalise a header label: lower case, umlauts spelled out, footnote marks and non-letters gone.

    >>> _norm("Post-leit-zahl3)")
    'postleitzahl'
    >>> _norm("Fläche km2\\nam 31.12.2013 (Jahr)1)")
    'flaechekm2am31122013jahr'
    """
    if label is None:
        return ""
    s = str(label).lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        s = s.replace(a, b)
    s = re.sub(r"(?<=[a-z])\d\)", "", s)  # footnote marks like "bevoelkerung2)"
    s = re.sub(r"\d\)$", "", s)
    return re.sub(r"[^a-z0-9]", "", s)


def _cell(row: Sequence[Cell], j: int) -> Cell:
    return row[j] if j < len(row) else None


def _text(cell: Cell) -> str:
    if type(cell) is str:
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


# --------------------------------------------------------------------------- loading


def _is_gv_head(rows: Sequence[Sequence[object]]) -> bool:
    """Does a sheet start like an Auszug GV: a header row whose first cell is ``Satz-art`` and
    which names the Gemeindename column?"""
    for r in rows:
        if r and _norm(r[0]) == "satzart" and any(_norm(c) == "gemeindename" for c in r):
            return True
    return False


def _load_sheet(path: Path) -> _Grid:
    file = str(path)
    sheet = find_sheet(path, _is_gv_head)
    if sheet is None:
        raise InputFormatError(
            file,
            line=1,
            column="A",
            value=", ".join(sheet_names(path)),
            reason="no sheet has a GV-ISys header (a 'Satzart' column) in its first 40 rows",
            expected="a sheet with the Satzart/Regionalschlüssel/Gemeindename header of an "
            "Auszug GV (whatever the sheet is called)",
        )
    rows: list[Sequence[Cell]] = sheet.rows  # type: ignore[assignment]  # dates: see _number
    return _Grid(file, rows, list(range(1, len(rows) + 1)), True)


def _load_csv(path: Path) -> _Grid:
    file = str(path)
    text, _ = decode_text(path.read_bytes(), file)
    first = text.split("\n", 1)[0]
    delim = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    rows: list[Sequence[Cell]] = []
    lines: list[int] = []
    try:
        for row in reader:
            lines.append(reader.line_num)
            rows.append(tuple(row))
    except csv.Error as exc:
        raise InputFormatError(
            file,
            line=reader.line_num,
            reason="@sources.error.csv_syntax",
            expected="valid CSV",
            fields={"detail": str(exc)},
        ) from None
    return _Grid(file, rows, lines, False)


# --------------------------------------------------------------------------- header


@dataclass(frozen=True)
class _Layout:
    header_row: int  # index into grid.rows of the row naming Satzart
    first_data: int  # index of the first data row
    columns: dict[str, int]  # field -> column index
    header: tuple[str, ...]  # one readable label per column (for messages)
    reference: tuple[int, int, int] | None  # day, month, year from the title/header


def _match(label: str, patterns: Iterable[str]) -> bool:
    for p in patterns:
        if p.endswith("*") and label.startswith(p[:-1]):
            return True
        if label == p:
            return True
    return False


def _find_layout(grid: _Grid) -> _Layout:
    file = grid.file
    top = next((i for i, r in enumerate(grid.rows[:30]) if r and _norm(r[0]) == "satzart"), None)
    if top is None:
        raise MissingColumnError(
            file,
            line=grid.lines[0] if grid.lines else 1,
            column=1,
            value=_text(grid.rows[0][0]) if grid.rows and grid.rows[0] else None,
            reason="no GV-ISys header row",
            expected="a header row starting with 'Satzart' (Satz-art)",
        )
    first = top + 1
    while first < len(grid.rows) and _text(grid.rows[first][0] if grid.rows[first] else "") not in (
        LEVEL_OF_SATZART
    ):
        first += 1
    block = grid.rows[top:first]
    width = max((len(r) for r in block), default=0)
    # labels per column: top row forward-filled across merged cells, lower rows as they are
    labels: list[list[str]] = [[] for _ in range(width)]
    for k, row in enumerate(block):
        carry = ""
        for j in range(width):
            cell = _norm(row[j]) if j < len(row) else ""
            if k == 0:
                carry = cell or carry
                cell = carry
            labels[j].append(cell)
    columns: dict[str, int] = {}
    header: list[str] = []
    for j in range(width):
        raw = [str(r[j]).replace("\n", " ") for r in block if j < len(r) and r[j] not in (None, "")]
        header.append(" / ".join(raw))
        for lab in reversed(labels[j]):  # the most specific (lowest) label decides
            field = next((f for f, pats in _LABELS.items() if _match(lab, pats)), None)
            if field is None:
                continue
            if field in columns:
                if field == "pop_t" and lab != "insgesamt":
                    break  # a forward-filled "Bevölkerung" over männlich/weiblich
                raise InputFormatError(
                    file,
                    line=grid.lines[top],
                    column=grid.column_name(j, header),
                    value=raw,
                    reason="@sources.error.two_columns",
                    expected="one column per field",
                    fields={"field": repr(field)},
                )
            columns[field] = j
            break
    for field in _REQUIRED:
        if field not in columns:
            raise MissingColumnError(
                file,
                line=grid.lines[top],
                column=field,
                reason="@sources.error.no_column_for",
                expected="@sources.expected.column_like",
                fields={"field": repr(field), "label": repr(_LABELS[field][0])},
            )
    return _Layout(top, first, columns, tuple(header), _reference_in(grid.rows[:first], top))


def _reference_in(rows: Sequence[Sequence[Cell]], top: int) -> tuple[int, int, int] | None:
    """The reference date from the title rows, else from a 'Gebietsstand' header cell."""
    for r in rows[:top]:
        for c in r:
            m = _DATE.search(str(c)) if c is not None else None
            if m:
                return int(m.group(1)), int(m.group(2)), int(m.group(3))
    for r in rows[top:]:
        for c in r:
            if c is not None and "gebietsstand" in _norm(c):
                m = _DATE.search(str(c))
                if m:
                    return int(m.group(1)), int(m.group(2)), int(m.group(3))
    return None


def reference_year(file: str | Path, reference: tuple[int, int, int] | None = None) -> int:
    """Year of the 31 December reference date: from the content if given, else from the file name.

    The file name may carry ``DDMMYYYY`` (``31122017_Auszug_GV.xlsx``) or a bare year
    (``AuszugGV4QAktuell_2019.csv``, taken as 31.12.YYYY).

    >>> reference_year("31122017_Auszug_GV.xlsx")
    2017
    >>> reference_year("AuszugGV4QAktuell_2019.csv")
    2019
    """
    name = Path(file).name
    if reference is None:
        m = re.search(r"(?<!\d)(\d{2})(\d{2})((?:19|20)\d{2})(?!\d)", name)
        if m:
            reference = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        else:
            m2 = re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", name)
            if m2 is None:
                raise InputFormatError(
                    str(file),
                    line=1,
                    reason="no reference date in the title, the header or the file name",
                    expected="a title like '... am 31.12.2019' or a year in the file name",
                )
            reference = (31, 12, int(m2.group(1)))
    day, month, year = reference
    if (day, month) != (31, 12):
        raise InputFormatError(
            str(file),
            line=1,
            value=f"{day:02d}.{month:02d}.{year}",
            reason="reference date is not 31 December",
            expected="a year-end extract (31.12.YYYY); Wandel's tables hold year-end stocks",
        )
    return year


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class _Where:
    grid: _Grid
    layout: _Layout

    def error(
        self,
        row: int,
        field: str,
        value: object,
        expected: str,
        reason: str = "",
        cls: type[InputFormatError] = InputFormatError,
        fields: dict[str, object] | None = None,
    ) -> InputFormatError:
        j = self.layout.columns.get(field)
        column: str | int = (
            f"{self.grid.column_name(j, self.layout.header)} ({field})" if j is not None else field
        )
        return cls(
            self.grid.file,
            line=self.grid.lines[row],
            column=column,
            value=value,
            expected=expected,
            reason=reason,
            fields=fields,
        )


def _decimal_of(cells: Sequence[Cell]) -> str:
    """The decimal mark of a column's text cells: the mark most of them use (``,`` on a tie).

    A cell counts for a mark when it holds that mark and not the other (``9,43751``;
    ``1.234,5`` counts for neither). Cells in the other convention are then refused, so a column
    never mixes the two.
    """
    comma = point = 0
    for c in cells:
        if type(c) is str:
            has_c, has_p = "," in c, "." in c
            comma += has_c and not has_p
            point += has_p and not has_c
    return "." if point > comma else ","


_PLAIN = {",": re.compile(r"[+-]?\d+(?:,\d+)?"), ".": re.compile(r"[+-]?\d+(?:\.\d+)?")}


def _number(cell: Cell, decimal: str) -> float | None:
    """A number, ``nan`` for an empty cell, ``None`` if the cell is not a number."""
    t = type(cell)
    if t is float:
        return cell  # type: ignore[return-value]
    if t is int:
        return float(cell)  # type: ignore[arg-type]
    if cell is None:
        return math.nan
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        return float(cell)
    if not isinstance(cell, str):  # a date or time cell of a spreadsheet
        return None
    s = cell.strip()
    if s == "":
        return math.nan
    if _PLAIN[decimal].fullmatch(s):  # the bulk: 1234 or 9,43751 (no thousands separator)
        return float(s.replace(",", ".")) if decimal == "," else float(s)
    parsed = parse_cell(s, decimal)
    if parsed is None or parsed[1] not in (None, "empty"):
        return None
    return parsed[0]


def _dms_column(values: npt.NDArray[np.float64]) -> bool:
    """True if every value reads as packed degrees.MMSS (at most 4 decimals, MM < 60, SS <= 60)."""
    v = values[np.isfinite(values)]
    if len(v) < _DMS_MIN_VALUES:
        return False
    scaled = np.round(v * 10000)
    if np.any(np.abs(v * 10000 - scaled) > 1e-4):
        return False
    frac = scaled.astype(np.int64) % 10000
    return bool(np.all(frac // 100 < 60) and np.all(frac % 100 <= 60))


def _from_dms(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    scaled = np.round(values * 10000)
    deg = np.floor(scaled / 10000)
    frac = scaled - deg * 10000
    out: npt.NDArray[np.float64] = deg + (frac // 100) / 60 + (frac % 100) / 3600
    return out


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class _Records:
    frame: pd.DataFrame  # one row per record: satzart, key, name, parent parts, numbers, line
    has_sex: bool
    dropped: int  # identical duplicate records left out


def _record_rows(grid: _Grid, layout: _Layout, where: _Where) -> list[int]:
    """Indices of the record rows (a Satzart code); footnotes and blank rows are skipped."""
    cols = layout.columns
    first = layout.first_data
    j = cols["satzart"]
    try:
        codes = _texts([r[j] for r in grid.rows[first:]])
    except IndexError:  # a CSV line shorter than the header
        codes = _texts([_cell(r, j) for r in grid.rows[first:]])
    is_record = np.fromiter(map(LEVEL_OF_SATZART.__contains__, codes), dtype=bool, count=len(codes))
    data_idx: list[int] = (np.flatnonzero(is_record) + first).tolist()
    for n in np.flatnonzero(~is_record).tolist():
        row = grid.rows[first + n]
        if any(_text(_cell(row, cols[f])) for f in _KEY_WIDTH):
            raise where.error(
                first + n,
                "satzart",
                codes[n],
                "a Satzart code 10, 20, 30, 40, 50 or 60",
                "unknown record type",
            )
        # a blank row, or a footnote or source line below the data: no keys
    if not data_idx:
        raise InputFormatError(
            grid.file,
            line=grid.lines[layout.header_row],
            reason="no records below the header",
            expected="Satzart records 10..60",
        )
    return data_idx


def _column(grid: _Grid, layout: _Layout, field: str, rows: Sequence[int]) -> list[Cell]:
    """The cells of ``field`` on ``rows`` (``None`` where the file has no such column)."""
    j = layout.columns.get(field)
    if j is None:
        return [None] * len(rows)
    if not rows:
        return []
    return list(grid.picked(rows)[j])


def _key_part(cell: Cell, width: int, spreadsheet: bool) -> str:
    """A key part as text; a number cell of a spreadsheet gets its leading zeros back (the width
    is fixed by the layout, only the cell type lost the zeros)."""
    if type(cell) is str:
        return cell.strip()
    if spreadsheet and isinstance(cell, int | float) and float(cell).is_integer() and cell >= 0:
        return str(int(cell)).zfill(width)
    return _text(cell)


def _all_text(cells: Sequence[Cell]) -> bool:
    """Whether every cell is text (the usual case: then the columns are handled in C loops)."""
    return set(map(type, cells)) <= {str}


def _texts(cells: Sequence[Cell]) -> list[str]:
    """:func:`_text` of every cell."""
    if _all_text(cells):
        return list(map(str.strip, cells))  # type: ignore[arg-type]
    return [c.strip() if type(c) is str else _text(c) for c in cells]


def _kinds(cells: Sequence[Cell]) -> npt.NDArray[np.int8]:
    """:data:`_CELL_KIND` of every cell."""
    kinds = map(_CELL_KIND.get, map(type, cells), itertools.repeat(3))
    return np.fromiter(kinds, dtype=np.int8, count=len(cells))


def _classes(
    cells: Sequence[Cell],
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """The cells as an object array, their :data:`_CELL_KIND` and whether each is empty (``""``
    or ``None``), so that the empty cells are never visited one by one."""
    obj = np.empty(len(cells), dtype=object)
    obj[:] = cells
    kind = _kinds(cells)
    blank = (kind == 2) | ((kind == 1) & (obj == ""))
    return obj, kind, blank


def _parts(cells: list[Cell], width: int, spreadsheet: bool) -> list[str]:
    """Key parts of one column as text (see :func:`_key_part`)."""
    if _all_text(cells):
        return list(map(str.strip, cells))  # type: ignore[arg-type]
    return [c.strip() if type(c) is str else _key_part(c, width, spreadsheet) for c in cells]


_DIGITS = {w: re.compile(f"(?:[0-9]{{{w}}}\n)*") for w in (1, 2, 3, 4)}


def _first_bad(parts: npt.NDArray[np.object_], idx: npt.NDArray[np.intp], width: int) -> int | None:
    """The first of the records ``idx`` whose key part is not ``width`` ASCII digits.

    The parts are joined into one text and matched by one regular expression (a C loop); the
    total length rules out a part that holds a line break. Only a column that fails is walked
    part by part to find the first offender.
    """
    if not len(idx):
        return None
    sel: list[str] = parts[idx].tolist()
    text = "\n".join(sel) + "\n"
    if len(text) == len(sel) * (width + 1) and _DIGITS[width].fullmatch(text):
        return None
    return next(
        int(i)
        for i, v in zip(idx.tolist(), sel, strict=True)
        if not (len(v) == width and v.isascii() and v.isdigit())
    )


def _keys(
    grid: _Grid, layout: _Layout, where: _Where, rows: list[int]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Satzart, key (Land .. Gemeinde) and Gemeindeverband part of every record; malformed key
    parts are errors."""
    satzart = _texts(_column(grid, layout, "satzart", rows))
    parts = {
        f: _parts(_column(grid, layout, f, rows), width, grid.spreadsheet)
        for f, width in _KEY_WIDTH.items()
    }
    sa = np.array(satzart, dtype=object)
    if grid.spreadsheet:  # a region digit (Satzart 30) stored as a number came back as "0d"
        kreis = parts["kreis"]
        for n in np.flatnonzero(sa == "30").tolist():
            if len(kreis[n]) == 2:
                kreis[n] = kreis[n][-1]
    arrays = {f: np.array(v, dtype=object) for f, v in parts.items()}
    of_sa = {s: np.flatnonzero(sa == s) for s in LEVEL_OF_SATZART}
    for f, width_of in _PART_WIDTH.items():
        found = [_first_bad(arrays[f], of_sa[s], w) for s, w in width_of.items()]
        bad = min((n for n in found if n is not None), default=None)
        if bad is not None:
            s = satzart[bad]
            raise where.error(
                rows[bad],
                f,
                parts[f][bad],
                "@sources.expected.key_digits",
                "malformed key part",
                fields={"width": width_of[s], "satzart": s},
            )
    return sa, _joined(len(sa), of_sa, arrays), arrays["vb"]


def _joined(
    n: int, of_sa: dict[str, npt.NDArray[np.intp]], parts: dict[str, npt.NDArray[np.object_]]
) -> npt.NDArray[np.object_]:
    """The key of every record from its parts: Land (10); Land + RB (20); Land + RB + Kreis (30,
    40; a region's digit stands in the Kreis column); Land + RB + Kreis + VB (50); Land + RB +
    Kreis + Gem (60)."""
    take = {"10": ("land",), "20": ("land", "rb"), "30": ("land", "rb", "kreis")}
    take |= {"40": take["30"], "50": (*take["30"], "vb"), "60": (*take["30"], "gem")}
    key = np.empty(n, dtype=object)
    for s, idx in of_sa.items():
        if len(idx):
            key[idx] = functools.reduce(operator.add, (parts[f][idx] for f in take[s]))
    return key


def _numbers(
    frame: pd.DataFrame, cols: dict[str, list[Cell]], where: _Where, rows: list[int]
) -> None:
    """Area and population columns: numbers >= 0 (whole numbers for counts), one decimal mark."""
    for field, integer in {"area": False, "pop_t": True, "pop_m": True, "pop_f": True}.items():
        cells = cols[field]
        obj, kind, blank = _classes(cells)
        vals = np.full(len(cells), np.nan)
        num = kind == 0
        vals[num] = obj[num].astype(float)
        rest = np.flatnonzero(~num & ~blank).tolist()  # empty cells stay nan
        decimal = _decimal_of(obj[rest].tolist())
        for n in rest:
            c = cells[n]
            v = _number(c, decimal)
            if v is None:
                raise where.error(
                    rows[n],
                    field,
                    c,
                    "a whole number >= 0" if integer else "@sources.expected.number_mark",
                    "not a number",
                    fields={"mark": repr(decimal)},
                )
            vals[n] = v
        bad = vals < 0
        if integer:
            bad |= ~np.isnan(vals) & (vals != np.floor(vals))
        if bad.any():
            n = int(np.flatnonzero(bad)[0])
            raise where.error(
                rows[n], field, cells[n], "a whole number >= 0" if integer else "a number >= 0"
            )
        frame[field] = vals
    is_gem = frame["satzart"].to_numpy() == "60"
    for field in ("area", "pop_t"):
        missing = is_gem & np.isnan(frame[field].to_numpy())
        if missing.any():
            n = int(np.flatnonzero(missing)[0])
            raise where.error(rows[n], field, "", "a figure on every Gemeinde record", "empty")


def _sex_split(frame: pd.DataFrame, where: _Where, rows: list[int]) -> bool:
    """True where every Gemeinde has male and female; male + female must equal the total."""
    if "pop_m" not in where.layout.columns or "pop_f" not in where.layout.columns:
        return False
    is_gem = frame["satzart"].to_numpy() == "60"
    m, f, t = (frame[c].to_numpy() for c in ("pop_m", "pop_f", "pop_t"))
    one = is_gem & (np.isnan(m) ^ np.isnan(f))
    if one.any():
        n = int(np.flatnonzero(one)[0])
        raise where.error(rows[n], "pop_m", "", "both male and female, or neither")
    bad = is_gem & ~np.isnan(m) & (m + f != t)
    if bad.any():
        n = int(np.flatnonzero(bad)[0])
        raise where.error(
            rows[n],
            "pop_t",
            f"{t[n]:.0f} (male {m[n]:.0f} + female {f[n]:.0f} = {m[n] + f[n]:.0f})",
            "insgesamt = männlich + weiblich",
            "male + female differ from the total",
            InconsistentTotalError,
        )
    return bool(np.all(~np.isnan(m[is_gem])))


def _postcodes(cells: list[Cell], where: _Where, rows: list[int]) -> list[str | None]:
    pcs = _texts(cells)
    n = len(pcs)
    excel = np.fromiter(map(_EXCEL_ERRORS.__contains__, pcs), dtype=bool, count=n)
    length = np.fromiter(map(len, pcs), dtype=np.int64, count=n)
    digits = np.fromiter(map(str.isdigit, pcs), dtype=bool, count=n)
    bad = np.flatnonzero(~excel & (length > 0) & ~((length == 5) & digits))
    if len(bad):
        i = int(bad[0])
        raise where.error(rows[i], "postcode", pcs[i], "a 5-digit postcode")
    for i in np.flatnonzero(excel).tolist():
        pcs[i] = ""
    return [p or None for p in pcs]


def _coordinates(
    cells: list[Cell], field: str, bounds: tuple[float, float], where: _Where, rows: list[int]
) -> npt.NDArray[np.float64]:
    """Decimal degrees (packed degrees.MMSS decoded), 0 = none, inside Germany's bounds."""
    lo, hi = bounds
    obj, kind, blank = _classes(cells)
    is_num, is_str = kind == 0, (kind == 1) & ~blank  # empty cells: no coordinate
    decimal = _decimal_of(obj[is_str].tolist())
    vals = np.full(len(cells), np.nan)
    vals[is_num] = obj[is_num].astype(float)
    idx = np.flatnonzero(is_str)
    strs = pc.utf8_trim_whitespace(pa.array(obj[idx].tolist(), type=pa.string()))
    # ASCII digits screened in Arrow; anything else (and every refusal) goes the slow way below
    ascii_plain = _PLAIN[decimal].pattern.replace(r"\d", "[0-9]")
    plain = pc.match_substring_regex(strs, f"^(?:{ascii_plain})$").to_numpy(zero_copy_only=False)
    if plain.any():
        txt = pc.filter(strs, pa.array(plain))
        if decimal == ",":
            txt = pc.replace_substring(txt, ",", ".")
        vals[idx[plain]] = pc.cast(txt, pa.float64()).to_numpy(zero_copy_only=False)
    for n in idx[~plain]:  # empty cells, Excel errors and everything that is refused
        c = cells[n]
        if c == "" or (isinstance(c, str) and c.strip() in _EXCEL_ERRORS):
            continue  # no coordinate
        v = _number(c, decimal)
        if v is None or (isinstance(c, str) and _mixed_mark(c, decimal)):
            raise where.error(
                rows[n],
                field,
                c,
                "@sources.expected.coordinate_mark",
                "not a coordinate",
                fields={"mark": repr(decimal)},
            )
        vals[n] = v
    odd = kind == 3
    if odd.any():  # a date or time cell
        n = int(np.flatnonzero(odd)[0])
        raise where.error(rows[n], field, cells[n], "a coordinate in decimal degrees")
    vals[vals == 0] = np.nan  # 0 marks "no coordinate" (gemeindefreie Gebiete)
    if _dms_column(vals):
        vals = _from_dms(vals)
    outside = np.isfinite(vals) & ((vals < lo) | (vals > hi))
    if outside.any():
        n = int(np.flatnonzero(outside)[0])
        raise where.error(
            rows[n],
            field,
            cells[n],
            "@sources.expected.between_germany",
            fields={"lo": lo, "hi": hi},
        )
    return vals


def _records(grid: _Grid, layout: _Layout) -> _Records:
    """Every record with its Satzart, key, name, numbers, postcode and coordinates, checked."""
    where = _Where(grid, layout)
    rows = _record_rows(grid, layout, where)
    satzart, keys, vb = _keys(grid, layout, where, rows)
    names = _texts(_column(grid, layout, "name", rows))
    frame = pd.DataFrame(
        {"satzart": satzart, "zone": keys, "name": names, "row": rows, "vb": vb}, dtype=object
    )
    frame, rows, dropped = _drop_identical_duplicates(frame, rows, grid, where)
    names = frame["name"].tolist()
    if not all(names):
        n = names.index("")
        raise where.error(rows[n], "name", "", "a name", "empty name")
    fields = ("area", "pop_t", "pop_m", "pop_f", "postcode", "lon", "lat")
    cols = {f: _column(grid, layout, f, rows) for f in fields}
    _numbers(frame, cols, where, rows)
    has_sex = _sex_split(frame, where, rows)
    frame["postcode"] = _postcodes(cols["postcode"], where, rows)
    frame["lon"] = _coordinates(cols["lon"], "lon", _LON_RANGE, where, rows)
    frame["lat"] = _coordinates(cols["lat"], "lat", _LAT_RANGE, where, rows)
    return _Records(frame, has_sex, dropped)


def _drop_identical_duplicates(
    frame: pd.DataFrame, data_idx: list[int], grid: _Grid, where: _Where
) -> tuple[pd.DataFrame, list[int], int]:
    """Leave out a record that repeats an earlier one cell for cell; a key repeated with other
    content is a :class:`DuplicateKeyError` (the 2017 extract repeats one gemeindefreies Gebiet)."""
    if len(set(frame["zone"].tolist())) == len(frame):  # the usual case: every key once
        return frame, data_idx, 0
    dup = frame.duplicated(["satzart", "zone"], keep="first").to_numpy()
    if not dup.any():
        return frame, data_idx, 0
    first_of: dict[tuple[str, str], int] = {}
    repeated = frame[frame.duplicated(["satzart", "zone"], keep=False).to_numpy()]
    for sa, z, r in zip(repeated["satzart"], repeated["zone"], repeated["row"], strict=True):
        first_of.setdefault((sa, z), int(r))
    for n in np.flatnonzero(dup):
        sa, z, r = frame["satzart"].iat[n], frame["zone"].iat[n], int(frame["row"].iat[n])
        r0 = first_of[(sa, z)]
        cols = sorted(where.layout.columns.values())
        if [_cell(grid.rows[r], j) for j in cols] != [_cell(grid.rows[r0], j) for j in cols]:
            raise where.error(
                r,
                "gem" if sa == "60" else "land",
                z,
                "@sources.expected.key_once_first",
                "@sources.error.duplicate_level_key",
                DuplicateKeyError,
                fields={"line": grid.lines[r0], "level": f"@sources.level.{LEVEL_OF_SATZART[sa]}"},
            )
    keep = ~dup
    kept = frame[keep].reset_index(drop=True)
    return kept, [i for i, k in zip(data_idx, keep, strict=True) if k], int(dup.sum())


def _mixed_mark(cell: str, decimal: str) -> bool:
    """A coordinate written with the other decimal mark, e.g. ``9.43751`` in a decimal-comma column.

    Thousands separators never occur in coordinates, so any ``.`` in a ``,`` column is a mixed mark.
    """
    other = "." if decimal == "," else ","
    return other in cell


# --------------------------------------------------------------------------- tables


def _member(values: npt.NDArray[np.object_], known: set[str]) -> npt.NDArray[np.bool_]:
    """``values[i] in known`` for every ``i`` (a hash lookup each)."""
    return np.fromiter(map(known.__contains__, values.tolist()), dtype=bool, count=len(values))


def _parents(
    sa: pa.StringArray, zones: pa.StringArray, vb: pa.StringArray
) -> tuple[pa.StringArray, pa.StringArray]:
    """The parent key of every record (Land: none; a Gemeinde: its Gemeindeverband, Kreis + VB
    part, where the file lists Gemeindeverbände, else its Kreis) and each Gemeinde's Verband key,
    in Arrow."""
    k2, k3, k5 = (pc.utf8_slice_codeunits(zones, 0, w) for w in (2, 3, 5))
    of = {s: pc.equal(sa, s) for s in ("20", "30", "40", "50", "60")}
    regbez = pc.filter(zones, of["20"])
    verband = pc.binary_join_element_wise(k5, vb, "")
    has_verbands = pc.any(of["50"]).as_py()
    parent = pc.case_when(
        pc.make_struct(of["20"], pc.or_(of["30"], of["40"]), of["50"], of["60"]),
        k2,
        pc.if_else(pc.is_in(k3, value_set=regbez), k3, k2),
        k5,
        verband if has_verbands else k5,
    )
    return parent, pc.filter(verband, of["60"])


def _gv_records(recs: _Records, year: int, where: _Where) -> pd.DataFrame:
    f = recs.frame
    sa = f["satzart"].to_numpy(dtype=object)
    zones = pa.array(f["zone"].to_numpy(dtype=object), type=pa.string())
    sa_arrow = pa.array(sa, type=pa.string())
    vb = pa.array(f["vb"].to_numpy(dtype=object), type=pa.string())
    parent, gv = _parents(sa_arrow, zones, vb)
    if (sa == "50").any():
        verbands = pc.filter(zones, pc.equal(sa_arrow, "50"))
        unknown = pc.invert(pc.is_in(gv, value_set=verbands)).to_numpy(zero_copy_only=False)
        if unknown.any():
            k = int(np.flatnonzero(unknown)[0])
            n = int(np.flatnonzero(sa == "60")[k])
            raise where.error(
                int(f["row"].iat[n]),
                "vb",
                f["vb"].iat[n],
                "@sources.expected.verband_listed",
                "@sources.error.unknown_verband",
                fields={"key": gv[k].as_py()},
            )
    level = np.array(list(map(LEVEL_OF_SATZART.__getitem__, sa.tolist())), dtype=object)
    n = len(f)
    out = pd.DataFrame(
        {
            "zone": pd.arrays.ArrowStringArray(zones),
            "year": pd.arrays.IntegerArray(np.full(n, year, dtype=np.int64), np.zeros(n, bool)),
            "level": _strings(level),
            "name": _strings(f["name"]),
            "parent": pd.arrays.ArrowStringArray(parent),
            "area_km2": f["area"].to_numpy(dtype=float),
            "pop_total": f["pop_t"].to_numpy(dtype=float),
            "pop_m": f["pop_m"].to_numpy(dtype=float),
            "pop_f": f["pop_f"].to_numpy(dtype=float),
            "postcode": _strings(f["postcode"]),
            "lon": f["lon"].to_numpy(dtype=float),
            "lat": f["lat"].to_numpy(dtype=float),
        }
    )
    _fill_aggregates(out, level, f, where)
    return conform("gv_records", out)


def _strings(values: pd.Series | npt.NDArray[np.object_] | list[str | None]) -> pd.Series:
    """Text (``None`` = missing) as an Arrow string column, built in Arrow in one pass."""
    data = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    return pd.Series(pd.arrays.ArrowStringArray(pa.array(data, type=pa.string(), from_pandas=True)))


_SUMMED = ("area_km2", "pop_total", "pop_m", "pop_f")


def _fill_aggregates(
    out: pd.DataFrame, level: npt.NDArray[np.object_], f: pd.DataFrame, where: _Where
) -> None:
    """Sums of the Gemeinden for higher levels; a published higher-level figure must equal it."""
    zone = pa.array(out["zone"].array, type=pa.string())
    vals = {c: out[c].to_numpy(dtype=float, copy=True) for c in _SUMMED}
    is_gem = level == "gemeinde"
    gem = {c: vals[c][is_gem] for c in _SUMMED}
    zones = pc.filter(zone, pa.array(is_gem))
    parent = pc.filter(pa.array(out["parent"].array, type=pa.string()), pa.array(is_gem))
    for name, width in {"land": 2, "regbez": 3, "kreis": 5, "gemeindeverband": 0}.items():
        by = pc.utf8_slice_codeunits(zones, 0, width) if width else parent
        _apply_sums(vals, zone, (f, where), name, level == name, by, gem)
    for c in _SUMMED:
        out[c] = vals[c]


def _group_sums(
    at: npt.NDArray[np.intp], n: int, values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """For each of ``n`` groups the sum of the ``values`` whose ``at`` is its index, missing values
    (and ``at`` -1) left out; ``nan`` where there is none."""
    ok = (at >= 0) & ~np.isnan(values)
    sums = np.bincount(at[ok], weights=values[ok], minlength=n).astype(np.float64, copy=False)
    sums[np.bincount(at[ok], minlength=n) == 0] = np.nan
    return sums


def _apply_sums(
    vals: dict[str, npt.NDArray[np.float64]],
    zone: pa.StringArray,
    at: tuple[pd.DataFrame, _Where],
    level: str,
    mask: npt.NDArray[np.bool_],
    by: pa.StringArray,
    gem: dict[str, npt.NDArray[np.float64]],
) -> None:
    f, where = at
    targets = pc.filter(zone, pa.array(mask))
    if not len(targets):
        return
    # the record each Gemeinde adds to (-1: none); keys are unique within a level
    at_ = pc.index_in(by, value_set=targets).fill_null(-1).to_numpy().astype(np.intp)
    for c in ("pop_total", "pop_m", "pop_f"):
        published = vals[c][mask]
        summed = _group_sums(at_, len(targets), gem[c])
        bad = ~np.isnan(published) & ~np.isnan(summed) & (published != summed)
        if bad.any():
            n = int(np.flatnonzero(mask)[np.flatnonzero(bad)[0]])
            raise where.error(
                int(f["row"].iat[n]),
                {"pop_total": "pop_t", "pop_m": "pop_m", "pop_f": "pop_f"}[c],
                f"{published[np.flatnonzero(bad)[0]]:.0f}",
                "@sources.expected.sum_of_gemeinden",
                "@sources.error.level_differs",
                InconsistentTotalError,
                fields={
                    "sum": f"{summed[np.flatnonzero(bad)[0]]:.0f}",
                    "level": f"@sources.level.{level}",
                },
            )
        vals[c][mask] = np.where(np.isnan(published), summed, published)
    published_area = vals["area_km2"][mask]
    summed_area = _group_sums(at_, len(targets), gem["area_km2"])
    vals["area_km2"][mask] = np.where(np.isnan(published_area), summed_area, published_area)


def _population(gv: pd.DataFrame, has_sex: bool) -> pd.DataFrame:
    """Each Gemeinde's population, by sex (female before male, in key order) where the file has
    the split, else both sexes (``t``) in file order; built in the canonical dtypes at once."""
    is_gem = (gv["level"] == "gemeinde").to_numpy(dtype=bool)
    zones = pc.filter(pa.array(gv["zone"].array, type=pa.string()), pa.array(is_gem))
    if has_sex:
        order = pc.sort_indices(zones).to_numpy()  # stable; keys are unique
        zone = zones.take(pa.array(np.repeat(order, 2)))
        pairs = [gv[c].to_numpy(dtype=float)[is_gem][order] for c in ("pop_f", "pop_m")]
        value = np.stack(pairs, axis=1).ravel()
        sex = pa.array(np.tile(np.array(["f", "m"], dtype=object), len(order)), pa.string())
    else:
        zone = zones
        value = gv["pop_total"].to_numpy(dtype=float)[is_gem]
        sex = pa.array(np.full(len(zones), "t", dtype=object), pa.string())
    n = len(value)
    year = int(gv["year"].iat[0])
    nulls = pd.arrays.ArrowStringArray(pa.nulls(n, pa.string()))
    long = pd.DataFrame(
        {
            "zone": pd.arrays.ArrowStringArray(zone),
            "year": pd.arrays.IntegerArray(np.full(n, year, dtype=np.int64), np.zeros(n, bool)),
            "sex": pd.arrays.ArrowStringArray(sex),
            "age_start": pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.zeros(n, bool)),
            "age_end": pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, bool)),
            "value": value,
            "status": nulls,
            "flag": nulls.copy(),
            "estimated": pd.arrays.BooleanArray(np.zeros(n, bool), np.zeros(n, bool)),
        }
    )
    return conform("population", long)


# --------------------------------------------------------------------------- public


_SATZART = re.compile(r"Satz-?\s*art", re.IGNORECASE)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is read, as it was before after.

    Reading a sheet makes a few hundred thousand cell objects at once and many short-lived ones
    after; each automatic collection would walk all the sheet's cells again (about a tenth of the
    reading time). Reference counting frees the cells as before; the few reference cycles made
    meanwhile (pandas makes some) are collected once the collector runs again.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def sniff(path: Path, head: bytes) -> bool:
    """Does ``path`` look like a GV-ISys Auszug GV (xlsx, xls, ods or CSV)?

    By content only: a sheet (any name) or the first line holds the ``Satzart`` and
    ``Gemeindename`` column labels. For xlsx the shared strings are searched first (fast).
    """
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                if "xl/sharedStrings.xml" in names:
                    with z.open("xl/sharedStrings.xml") as fh:
                        strings = fh.read(1 << 20).decode("utf-8", errors="replace")
                    if _SATZART.search(strings) and "Gemeindename" in strings:
                        return True
                if not any(n.startswith(("xl/", "content.xml")) for n in names):
                    return False
        except (zipfile.BadZipFile, OSError):
            return False
    if is_spreadsheet(head):
        try:
            return find_sheet(path, _is_gv_head, head_only=True) is not None
        except InputFormatError:
            return False
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = head.decode("cp1252", errors="replace")
    first = _norm(text.split("\n", 1)[0].replace(",", "|").replace(";", "|").replace("|", " x "))
    return first.startswith("satzart") and "gemeindename" in first


def _parsed(p: Path, spreadsheet: bool) -> tuple[int, str, pd.DataFrame, pd.DataFrame, int]:
    """Year, title, ``gv_records``, ``population`` and the number of identical duplicates left
    out, read from the sheet or CSV (whose cells go when this returns)."""
    grid = _load_sheet(p) if spreadsheet else _load_csv(p)
    layout = _find_layout(grid)
    year = reference_year(p, layout.reference)
    recs = _records(grid, layout)
    gv = _gv_records(recs, year, _Where(grid, layout))
    pop = _population(gv, recs.has_sex)
    title = next((_text(r[0]) for r in grid.rows[: layout.header_row] if r and r[0]), "")
    return year, title, gv, pop, recs.dropped


def read(path: str | Path) -> ImportBatch:
    """Read a GV-ISys Auszug GV (xlsx or CSV) into ``gv_records`` and ``population``.

    ``gv_records`` holds every record (Land ... Gemeinde) with its parent key; higher levels carry the
    sums of their Gemeinden. ``population`` holds each Gemeinde's total population on 31 December by
    sex (``m``/``f``; ``t`` where the file has no split), ages ``0``-open.

    Raises
    ------
    InputFormatError
        (or a subclass) naming file, line (sheet row), column, value and what was expected, for a
        missing column, malformed key, text in a number cell, duplicate key, male + female differing
        from the total, a mixed decimal mark, a file that is not a workbook, or no GV sheet.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(8)
    with _collector_paused():  # the sheet's cells are freed inside, before it runs again
        year, title, gv, pop, dropped = _parsed(p, is_spreadsheet(head))
    meta = SourceMeta(
        file=p.name,
        sha256=sha256_of(p),
        kind=NAME,
        table_code=f"GV-ISys Auszug GV 31.12.{year}",
        title=title or f"Gemeindeverzeichnis, Gebietsstand 31.12.{year}",
        producer="Statistisches Bundesamt (Destatis)",
        licence=LICENCE_DESTATIS,
    )
    rejected = (("identical duplicate record left out", dropped),) if dropped else ()
    return ImportBatch(
        meta=meta,
        tables={"gv_records": gv, "population": pop},
        rows_read=len(gv) + dropped,
        rejected=rejected,
    )

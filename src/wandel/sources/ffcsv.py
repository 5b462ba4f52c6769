"""GENESIS flat file CSV ("ffcsv", Flat-File-CSV) into canonical tables.

Two layouts exist, both one record per value, semicolon separated:

* the current layout (GENESIS-Online and Regionaldatenbank since 2024), English column names in every
  language version, UTF-8 with BOM, often inside a ZIP::

      statistics_code;statistics_label;time_code;time_label;time;
      1_variable_code;1_variable_label;1_variable_attribute_code;1_variable_attribute_label;...;
      value;value_unit;value_variable_code;value_variable_label[;value_q]

  Totals have an empty attribute code and the label ``Insgesamt``; rows come in no particular order.
* the older German layout::

      Statistik_Code;Statistik_Label;Zeit_Code;Zeit_Label;Zeit;
      1_Merkmal_Code;1_Merkmal_Label;1_Auspraegung_Code;1_Auspraegung_Label;...;
      BEVSTD__Bevoelkerungsstand__Anzahl;BEVSTD__Bevoelkerungsstand__q

  which the web service also wrote in English until 2024, with the current layout's first names
  and the attribute columns named like the code column (read by position).

What the real answers of the web service hold, and the reader takes as published: several region
variables in one column (the Zensus databases: ``GEODL1``, ``GEOBL1``, ``GEOGM4`` with 12-digit
ARS), each regional level with its own measure code for one measure (``PRS001``, ``PRS018``:
``Personen``), further measures beside the count (area, density: left out), breakdowns by a variable
Wandel does not map (only its total kept), the levels above the Kreise listed under ``KREISE`` in
the older files, Gemeinden listed among the Kreise (left out), and census totals that differ from
their parts by secrecy (:data:`CENSUS_SLACK`). ``tests/fixtures/zensus/service`` holds real
excerpts of each.
Variables are mapped by meaning: region variables (``DINSG``, ``DLAND``, ``REGBEZ``, ``KREISE``,
``GEMEIN``, ``GEO*``), sex ``GES`` (``GESM``, ``GESW``), age ``ALT*`` (ages taken from the attribute
label, falling back to the code) and the reference date ``STAG``/year ``JAHR``.

The file is read with :mod:`pyarrow.csv` into dictionary-encoded columns and parsed column-wise:
labels are parsed once per distinct value, cells once per column; no Python loop runs per row on the
happy path. Error reporting (line numbers of ragged rows, bad bytes) rescans the file slowly.
"""

from __future__ import annotations

import codecs
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from wandel.errors import (
    DuplicateKeyError,
    InconsistentTotalError,
    InputFormatError,
    LabelError,
    MissingColumnError,
)
from wandel.sources._cells import FLAGS, STATUS_OF_SYMBOL, parse_cells
from wandel.sources._labels import (
    is_age_unknown,
    normalise_ags,
    parse_age_code,
    parse_age_label,
    parse_census_date,
    parse_sex_label,
    parse_year_label,
)
from wandel.sources.base import LICENCE_DLDE, ImportBatch, SourceMeta, sha256_of
from wandel.tables import conform

__all__ = ["NAME", "read", "sniff"]

NAME = "genesis-ffcsv"

BLOCK_SIZE = 8 * 1024 * 1024
"""pyarrow block size; a line longer than this is refused (a flat-file row is a few hundred bytes)."""

_CURRENT = ("statistics_code", "statistics_label", "time_code", "time_label", "time")
_GERMAN = ("Statistik_Code", "Statistik_Label", "Zeit_Code", "Zeit_Label", "Zeit")
_REGION_LEN = {"DINSG": (2,), "DLAND": (2,), "REGBEZ": (3,), "KREISE": (5,), "GEMEIN": (8,)}
_ABOVE = {"KREISE": (2, 3), "REGBEZ": (2,)}
"""The levels the older flat files list above a region variable's own (``DG`` always may be)."""
_MEASURE_COLUMNS = ("value_variable_code", "value_variable_label", "value_unit")
CENSUS_SLACK = 5.0
"""How far, per part, a census total may lie from the sum of its parts.

Census results are kept secret by perturbation, the official population counts themselves left as
they are: the Zensus 2011 by SAFE (the microdata altered before tables are made), the Zensus 2022
database (and the Zensus 2011 database since its relaunch) by the cell key method (each cell shown
with a small random deviation). In both, "the values of a table do not necessarily add up to the
total shown" (Statistische Ämter des Bundes und der Länder, Erläuterungen zur Methodik des Zensus
2022). The offices publish only that the deviation is small; in the real files the Länder's ten age
groups of 1000A-2022 miss their total by at most 7 persons, the sexes of a Kreis in 12111-01-01-4
by 1. A total further than 5 persons per part from its parts is still refused: that is a wrong
column, not secrecy.
"""
_TABLE_OF_STATISTIC = {
    "12411": "population",
    "12612": "births",
    "12613": "deaths",
    "12111": "census_population",  # Zensus 2011/2022 in the Regionaldatenbank and GENESIS-Online
    "1000A": "census_population",  # the Zensus databases (2011, 2022)
}
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError)
_AGE_EXAMPLES = "'unter 3 Jahre', '3 bis unter 6 Jahre', '75 Jahre und mehr'"
_DE_HINTS = frozenset({"stichtag", "jahr", "geschlecht", "anzahl", "insgesamt", "männlich"})


@dataclass(frozen=True)
class _Layout:
    names: tuple[str, ...]
    german: bool
    n_vars: int
    value: str
    flag: str | None
    encoding: str
    renamed: bool = False
    """Whether ``names`` replace the file's own (see :func:`_older_english`)."""


# --------------------------------------------------------------------------------------------------
# opening files and ZIPs


def _err(
    file: str,
    line: int | None,
    column: str | int | None,
    value: object,
    expected: str,
    reason: str = "",
    fields: dict[str, object] | None = None,
) -> InputFormatError:
    return InputFormatError(
        file,
        line=line,
        column=column,
        value=value,
        expected=expected,
        reason=reason,
        fields=fields,
    )


def _zip_member(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise _err(
            str(path),
            None,
            None,
            None,
            "@sources.expected.zip",
            "@sources.error.bad_zip",
            fields={"detail": str(exc)},
        ) from None
    csvs = [n for n in names if n.lower().endswith(".csv")]
    if len(csvs) != 1:
        raise _err(
            str(path),
            None,
            None,
            names[:5],
            "@sources.expected.zip_one_csv",
            "@sources.error.csvs_in_zip",
            fields={"count": len(csvs)},
        )
    return csvs[0]


@contextmanager
def _open(path: Path) -> Iterator[tuple[IO[bytes], str]]:
    """Yield a binary stream of the CSV (the ZIP member if ``path`` is a ZIP) and its shown name."""
    if zipfile.is_zipfile(path):
        member = _zip_member(path)
        try:
            zf = zipfile.ZipFile(path)
            fh = zf.open(member)
        except _ZIP_ERRORS as exc:
            raise _err(
                str(path),
                None,
                None,
                member,
                "@sources.expected.zip_member",
                "@sources.error.zip_member",
                fields={"detail": str(exc)},
            ) from None
        with zf, fh:
            yield fh, f"{path}!{member}"
    else:
        with open(path, "rb") as fh:
            yield fh, str(path)


def _head(fh: IO[bytes], file: str) -> bytes:
    head = fh.read(1 << 20)
    if not head.strip():
        raise _err(file, 1, None, None, "@sources.expected.ffcsv_header_short", "the file is empty")
    if b"\n" not in head and len(head) == 1 << 20:
        raise _err(file, 1, None, head[:40], "@sources.expected.header_short", "line too long")
    return head


def _n_variables(names: tuple[str, ...], german: bool, file: str) -> int:
    """How many variables the header has (``1_variable_code``...), each with its code and label."""
    code_t, attr_t = (
        ("{}_Merkmal_Code", "{}_Auspraegung_Code")
        if german
        else ("{}_variable_code", "{}_variable_attribute_code")
    )
    lab_t = "{}_Auspraegung_Label" if german else "{}_variable_attribute_label"
    n_vars = 0
    while code_t.format(n_vars + 1) in names:
        n_vars += 1
        for t in (attr_t, lab_t):
            if t.format(n_vars) not in names:
                raise MissingColumnError(
                    file,
                    line=1,
                    column=t.format(n_vars),
                    expected="@sources.expected.ffcsv_column",
                    reason="incomplete variable columns",
                    fields={"column": t.format(n_vars)},
                )
    return n_vars


def _measure(names: tuple[str, ...], german: bool, file: str) -> tuple[str, str | None]:
    """The value column and its quality flag column (``None`` where the file has none)."""
    if german:
        measures = [n for n in names[5:] if "__" in n and not n.endswith("__q")]
        if len(measures) != 1:
            raise MissingColumnError(
                file,
                line=1,
                column=None,
                value=measures or None,
                expected="@sources.expected.one_measure",
                reason="measure columns",
            )
        value = measures[0]
        q = value.rsplit("__", 1)[0] + "__q"
        return value, q if q in names else None
    for need in ("value", "value_variable_code"):
        if need not in names:
            raise MissingColumnError(
                file,
                line=1,
                column=need,
                expected="@sources.expected.ffcsv_column",
                reason="missing value column",
                fields={"column": need},
            )
    return "value", "value_q" if "value_q" in names else None


def _layout(head: bytes, file: str) -> _Layout:
    bom = head.startswith(codecs.BOM_UTF8)
    first = head[3:] if bom else head
    first = first.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        line = first.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        if bom:
            raise _err(
                file,
                1,
                None,
                first[:40],
                "@sources.expected.utf8_bom",
                "undecodable header",
            ) from None
        line = first.decode("cp1252", errors="replace")
        encoding = "cp1252"
    if not bom and encoding == "utf-8":
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the end of the head
                encoding = "cp1252"
    names = tuple(c.strip().strip('"') for c in line.split(";"))
    renamed = _older_english(names)
    if renamed:
        names = renamed
    german = names[:5] == _GERMAN
    if names[:5] != _CURRENT and not german:
        raise _err(
            file,
            1,
            1,
            line[:80],
            "@sources.expected.ffcsv_header",
            "unknown header",
        )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _err(file, 1, dup, dup, "@sources.expected.column_once", "duplicate column")
    n_vars = _n_variables(names, german, file)
    value, flag = _measure(names, german, file)
    if german:
        encoding = "utf-8" if bom else encoding
    return _Layout(names, german, n_vars, value, flag, encoding, bool(renamed))


def _older_english(names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The German names, by position, of the older layout as the web service wrote it in English.

    Until 2024 the service's English flat files had the older layout (four columns a variable, a
    ``CODE__Label__unit`` column a measure) with the current layout's first names, and named the
    attribute columns after the variable's code column: ``1_variable_code;1_variable_label;
    1_variable_code;1_variable_code``. Read by position, that is the older German layout; ``None``
    for any other header.
    """
    if names[:5] != _CURRENT or len(set(names)) == len(names):
        return None
    first = next((i for i, n in enumerate(names) if "__" in n), None)
    if first is None or (first - 5) % 4:
        return None
    out = list(_GERMAN)
    for k in range(1, (first - 5) // 4 + 1):
        base = 5 + 4 * (k - 1)
        if (
            names[base : base + 4]
            != (f"{k}_variable_code", f"{k}_variable_label") + (f"{k}_variable_code",) * 2
        ):
            return None
        out += [f"{k}_Merkmal_Code", f"{k}_Merkmal_Label"]
        out += [f"{k}_Auspraegung_Code", f"{k}_Auspraegung_Label"]
    return (*out, *names[first:])


# --------------------------------------------------------------------------------------------------
# the plan: which variable sits where, read from the first data row


@dataclass(frozen=True)
class _Plan:
    var_codes: tuple[str, ...]
    kinds: tuple[str, ...]
    decimal: str


def _kind_of_variable(code: str) -> str:
    c = code.upper()
    if c in _REGION_LEN or c.startswith("GEO") or c in ("GEMVB", "GEMVBD"):
        return "region"
    if c.startswith("GES"):
        return "sex"
    if c.startswith("ALT"):
        return "age"
    return "other"


def _col(layout: _Layout, what: str, k: int = 0) -> str:
    g = layout.german
    return {
        "stat": "Statistik_Code" if g else "statistics_code",
        "time": "Zeit" if g else "time",
        "var": f"{k}_Merkmal_Code" if g else f"{k}_variable_code",
        "code": f"{k}_Auspraegung_Code" if g else f"{k}_variable_attribute_code",
        "label": f"{k}_Auspraegung_Label" if g else f"{k}_variable_attribute_label",
    }[what]


def _plan(head: bytes, layout: _Layout, file: str) -> _Plan:
    lines = head.removeprefix(codecs.BOM_UTF8).split(b"\n")
    first = next((ln.rstrip(b"\r") for ln in lines[1:-1] if ln.strip()), None)
    if first is None:
        if len(lines) > 2 or (len(lines) == 2 and not lines[1].strip()) or len(head) < 1 << 20:
            raise _err(file, 2, None, None, "@sources.expected.data_rows", "header only")
        raise _err(
            file,
            2,
            None,
            lines[1][:40],
            "@sources.expected.lines_short",
            "line too long",
        )
    cells = first.decode(layout.encoding, errors="replace").split(";")
    if len(cells) != len(layout.names):
        raise _err(
            file,
            2,
            len(cells),
            first[:60].decode(layout.encoding, errors="replace"),
            "@sources.expected.cells_per_row",
            "ragged row",
            fields={"n": len(layout.names), "found": len(cells)},
        )
    row = dict(zip(layout.names, (c.strip() for c in cells), strict=True))
    # the variable at each position: the most common code among the rows in the head
    width = len(layout.names)
    sample = [
        ln.decode(layout.encoding, errors="replace").rstrip("\r").split(";")
        for ln in lines[1:-1]
        if ln.strip()
    ]
    sample = [c for c in sample if len(c) == width]
    codes = tuple(
        Counter(c[layout.names.index(_col(layout, "var", k))].strip() for c in sample).most_common(
            1
        )[0][0]
        for k in range(1, layout.n_vars + 1)
    )
    kinds = tuple(_kind_of_variable(c) for c in codes)
    if layout.german:
        decimal = ","
    else:
        words = {row.get("time_label", "").lower(), row.get("value_unit", "").lower()}
        words |= {row.get(f"{k}_variable_label", "").lower() for k in range(1, layout.n_vars + 1)}
        words |= set(row.get("time_label", "").lower().split())
        decimal = "," if words & _DE_HINTS else "."
    return _Plan(codes, kinds, decimal)


# --------------------------------------------------------------------------------------------------
# reading with pyarrow


def _locate(path: Path, layout: _Layout, file: str) -> InputFormatError:
    """Slow path after pyarrow refused the file: find the first bad line and describe it."""
    try:
        return _scan(path, layout, file)
    except _ZIP_ERRORS as exc:
        return _err(
            file,
            None,
            None,
            None,
            "@sources.expected.intact_zip",
            "@sources.error.damaged_zip",
            fields={"detail": str(exc)},
        )


def _scan(path: Path, layout: _Layout, file: str) -> InputFormatError:
    n = len(layout.names)
    with _open(path) as (fh, _name):
        for i, raw in enumerate(fh, start=1):
            if i == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if len(raw) > BLOCK_SIZE // 2:
                return _err(
                    file,
                    i,
                    None,
                    raw[:40],
                    "@sources.expected.lines_shorter_mib",
                    "line too long",
                    fields={"mib": BLOCK_SIZE // 2**21},
                )
            try:
                text = raw.decode(layout.encoding)
            except UnicodeDecodeError as exc:
                return _err(
                    file,
                    i,
                    None,
                    raw[exc.start : exc.start + 4],
                    "@sources.expected.text_in",
                    "@sources.error.undecodable_at",
                    fields={"encoding": layout.encoding, "offset": exc.start},
                )
            text = text.rstrip("\r\n")
            if text == "":
                continue
            cells = text.split(";")
            if len(cells) != n:
                return _err(
                    file,
                    i,
                    len(cells),
                    text[:60],
                    "@sources.expected.cells_per_row",
                    "ragged row",
                    fields={"n": n, "found": len(cells)},
                )
    return _err(
        file,
        None,
        None,
        None,
        "@sources.expected.wellformed_ffcsv",
        "unreadable CSV",
    )


def _columns(layout: _Layout, plan: _Plan) -> list[str]:
    cols = [_col(layout, "stat"), _col(layout, "time")]
    for k, kind in enumerate(plan.kinds, start=1):
        cols += [_col(layout, "var", k), _col(layout, "code", k)]
        if kind == "age":
            cols.append(_col(layout, "label", k))
    cols.append(layout.value)
    if not layout.german:
        cols += [c for c in _MEASURE_COLUMNS if c in layout.names]
    if layout.flag:
        cols.append(layout.flag)
    return cols


def _read_arrow(path: Path, layout: _Layout, plan: _Plan, file: str) -> pa.Table:
    cols = _columns(layout, plan)
    dict_t = pa.dictionary(pa.int32(), pa.string())
    types = {c: (pa.string() if c == layout.value else dict_t) for c in cols}
    ropt = pacsv.ReadOptions(
        block_size=BLOCK_SIZE,
        encoding=layout.encoding,
        **({"column_names": list(layout.names), "skip_rows": 1} if layout.renamed else {}),
    )
    popt = pacsv.ParseOptions(
        delimiter=";", quote_char=False, newlines_in_values=False, ignore_empty_lines=True
    )
    copt = pacsv.ConvertOptions(
        column_types=types,
        include_columns=cols,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        if zipfile.is_zipfile(path):
            with _open(path) as (fh, _name):
                table = pacsv.read_csv(
                    fh, read_options=ropt, parse_options=popt, convert_options=copt
                )
        else:  # a path lets pyarrow read natively, without the GIL
            table = pacsv.read_csv(
                str(path), read_options=ropt, parse_options=popt, convert_options=copt
            )
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowTypeError, UnicodeDecodeError, *_ZIP_ERRORS):
        raise _locate(path, layout, file) from None
    if table.num_rows == 0:
        raise _err(file, 2, None, None, "@sources.expected.data_rows", "header only")
    return table.unify_dictionaries()


@dataclass(frozen=True)
class _Codes:
    """A dictionary-encoded column: ``codes`` index into ``values``."""

    values: list[str]
    codes: npt.NDArray[np.int32]


def _codes(table: pa.Table, name: str) -> _Codes:
    chunks = table.column(name).chunks
    values = [str(v).strip() for v in chunks[0].dictionary.to_pylist()] if chunks else []
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks])
    return _Codes(values, codes.astype(np.int32, copy=False))


def _first_row(codes: npt.NDArray[np.int32], which: int) -> int:
    return int(np.flatnonzero(codes == which)[0])


def _majority(table: pa.Table, name: str) -> str:
    """The most common value of a dictionary-encoded column."""
    c = _codes(table, name)
    return c.values[int(np.bincount(c.codes, minlength=len(c.values)).argmax())]


def _constant(table: pa.Table, name: str, expected: str, file: str) -> None:
    c = _codes(table, name)
    for i, v in enumerate(c.values):
        if v != expected:
            raise _err(
                file,
                _first_row(c.codes, i) + 2,
                name,
                v,
                "@sources.expected.same_on_every_row",
                "mixed values in one column",
                fields={"name": name, "value": repr(expected)},
            )


# --------------------------------------------------------------------------------------------------
# variables: one parse per distinct value


def _region(
    c: _Codes, vars_here: list[str], col: str, file: str
) -> tuple[list[str], npt.NDArray[np.bool_]]:
    """The AGS of every distinct code, and which codes name a unit below the variable's level.

    ``vars_here`` are the region variables at this position (the Zensus databases put Deutschland,
    Länder and Gemeinden in one column, each with a variable code of its own). A variable holds its
    own level and, in the older flat files of the Regionaldatenbank, the levels above it (``DG``,
    the Länder and the Regierungsbezirke under ``KREISE`` before their Kreise, :data:`_ABOVE`);
    these aggregates are regions of their own level. A Gemeinde variable holds Gemeinden only. The Regionaldatenbank also lists under ``KREISE``
    some Gemeinden with 8-digit keys beside their Kreis: Berlin's twelve Bezirke (``11001001`` ...
    ``11012012``) below Berlin (``11000``), and the cities of the Städteregion Aachen, the Region
    Hannover and the Regionalverband Saarbrücken (``05334002``, ``03241001``, ``10041100``). They
    are no Kreis of the AGS, so their rows are left out and counted.
    """
    upper = [v.upper() for v in vars_here]
    lengths = {n for v in upper for n in (*_REGION_LEN.get(v, ()), *_ABOVE.get(v, ()))}
    free = any(v not in _REGION_LEN for v in upper)  # GEO...: any length an AGS has
    deepest = max((_REGION_LEN[v][0] for v in upper if v in _REGION_LEN), default=0)
    out = []
    below = np.zeros(len(c.values), dtype=bool)
    for i, v in enumerate(c.values):
        try:
            if v == "":
                if "DINSG" not in upper:
                    raise LabelError(
                        v, f"a {vars_here[0]} region code (a region total is no region)"
                    )
                z = "DG"
            else:
                z = normalise_ags(v)
        except LabelError as exc:
            raise _err(file, _first_row(c.codes, i) + 2, col, v, exc.expected) from None
        if "KREISE" in upper and len(z) == 8:
            below[i] = True
        elif not free and z != "DG" and len(z) not in lengths:
            raise _err(
                file,
                _first_row(c.codes, i) + 2,
                col,
                v,
                "@sources.expected.region_code_digits",
                fields={"var": vars_here[0], "digits": deepest},
            )
        out.append(z)
    return out, below


def _sex(c: _Codes, col: str, file: str) -> list[str]:
    out = []
    for i, v in enumerate(c.values):
        s = "t" if v == "" else parse_sex_label(v)
        if s is None:
            raise _err(
                file,
                _first_row(c.codes, i) + 2,
                col,
                v,
                "@sources.expected.sex_code",
            )
        out.append(s)
    return out


@dataclass(frozen=True)
class _Ages:
    """Distinct age groups (``start``, ``end``; end -1 = open, start -1 = age unknown) and the group
    index of every row."""

    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]


def _age(code: _Codes, label: _Codes, file: str, col: str) -> _Ages:
    """Age groups from the attribute label, falling back to the code where the label is no age."""
    groups: dict[tuple[int, int], int] = {}
    of_label = np.full(len(label.values), -1, dtype=np.int32)
    for i, v in enumerate(label.values):
        try:
            g = parse_age_label(v) if v else None
        except LabelError as exc:
            raise _err(file, _first_row(label.codes, i) + 2, col, v, exc.expected) from None
        if g is not None:
            key = (g.start, -1 if g.end is None else g.end)
        elif is_age_unknown(v):
            key = (-1, -1)
        else:
            continue
        of_label[i] = groups.setdefault(key, len(groups))
    rows = of_label[label.codes]
    todo = np.flatnonzero(rows < 0)
    if len(todo):  # fall back to the code for labels that are no age
        for r_code in np.unique(code.codes[todo]):
            sel = todo[code.codes[todo] == r_code]
            g2 = parse_age_code(code.values[int(r_code)])
            if g2 is None:
                r = int(sel[0])
                raise _err(
                    file,
                    r + 2,
                    col,
                    label.values[int(label.codes[r])] or code.values[int(r_code)],
                    "@sources.expected.age_label_or_code",
                    fields={"examples": _AGE_EXAMPLES},
                )
            key = (g2.start, -1 if g2.end is None else g2.end)
            rows[sel] = groups.setdefault(key, len(groups))
    start = np.array([k[0] for k in groups], dtype=np.int64)
    end = np.array([k[1] for k in groups], dtype=np.int64)
    return _Ages(start, end, rows)


# --------------------------------------------------------------------------------------------------
# values

_STATUS = (None, *sorted(set(STATUS_OF_SYMBOL.values()) | {"limited"}))
_FLAGS = (None, *sorted(FLAGS))


def _values(
    table: pa.Table, layout: _Layout, decimal: str, file: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """Values, status codes (index into ``_STATUS``) and flag codes (index into ``_FLAGS``)."""
    raw = table.column(layout.value)
    n = table.num_rows
    status = np.zeros(n, dtype=np.int8)
    flag = np.zeros(n, dtype=np.int8)
    q_ok = np.ones(1, dtype=bool)
    q_codes = np.zeros(n, dtype=np.int32)
    q_vals: list[str] = [""]
    if layout.flag:
        q = _codes(table, layout.flag)
        q_vals, q_codes = q.values, q.codes
        q_ok = np.array([v == "" or v in FLAGS for v in q_vals], dtype=bool)
        fmap = np.array([_FLAGS.index(v) if v in FLAGS else 0 for v in q_vals], dtype=np.int8)
        flag = fmap[q_codes]
    try:  # the common case: every cell a plain integer
        value = pc.cast(raw, pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64)
        plain = q_ok[q_codes]
        if plain.all():
            return value, status, flag
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        plain = pc.match_substring_regex(raw, r"^-?\d+$").to_numpy(zero_copy_only=False)
        plain &= q_ok[q_codes]
        value = np.full(n, np.nan)
        if plain.any():
            ints = pc.cast(pc.filter(raw, pa.array(plain)), pa.int64())
            value[plain] = ints.to_numpy(zero_copy_only=False)
    rest = np.flatnonzero(~plain)
    cells = pd.Series(pc.take(raw, pa.array(rest)).to_pylist(), dtype="string")
    flags = pd.Series([q_vals[i] for i in q_codes[rest]], dtype="string")
    parsed = parse_cells(cells, decimal, flags=flags if layout.flag else None)
    sym_in_q = flags.isin(list(STATUS_OF_SYMBOL)).to_numpy(dtype=bool)
    bad = parsed.bad | ((parsed.status == "empty") & ~sym_in_q)
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        i = int(rest[b])
        text = "" if pd.isna(cells.iloc[b]) else str(cells.iloc[b])
        fl = str(flags.iloc[b])
        if layout.flag and fl not in ("", *FLAGS, *STATUS_OF_SYMBOL):
            raise _err(
                file,
                i + 2,
                layout.flag,
                fl,
                "@sources.expected.quality_flag",
            )
        raise _err(
            file,
            i + 2,
            layout.value,
            text,
            "@sources.expected.number_de" if decimal == "," else "@sources.expected.number_en",
        )
    value[rest] = parsed.value
    status[rest] = [_STATUS.index(s) if s in _STATUS else 0 for s in parsed.status]
    flag[rest] = [_FLAGS.index(f) if f in _FLAGS else 0 for f in parsed.flag]
    return value, status, flag


# --------------------------------------------------------------------------------------------------
# keys, totals and the canonical frame


_DENSE_MAX = 1 << 27


def _dense(parts: list[tuple[npt.NDArray[Any], int]]) -> tuple[npt.NDArray[np.int64], int]:
    """Combine integer keys ``(values in [0, size), size)`` into one id in ``[0, product)``."""
    gid = parts[0][0].astype(np.int64)
    size = parts[0][1]
    for arr, card in parts[1:]:
        gid *= card
        gid += arr
        size *= card
    if size > _DENSE_MAX:
        uniq, inv = np.unique(gid, return_inverse=True)
        return inv.astype(np.int64), len(uniq)
    return gid, size


def _check_totals(
    others: list[tuple[npt.NDArray[Any], int]],
    is_tot: npt.NDArray[np.bool_],
    cells: tuple[npt.NDArray[np.float64], npt.NDArray[np.int8], pa.ChunkedArray],
    rows: npt.NDArray[np.int64],
    dim: str,
    where: tuple[str, str, float],
) -> tuple[npt.NDArray[np.bool_], int]:
    """Verify totals against the sum of their parts (``-`` = 0); return the totals to drop and how
    many of them differed from their parts within the slack.

    Counts are exact, so a total must equal the sum of its parts where all parts are figures
    (tolerance 0.5), unless ``slack`` per part is given (a census, see :data:`CENSUS_SLACK`). A total is dropped where parts exist; kept where it is the only figure.
    """
    value, status, raw = cells
    file, col, slack = where
    g, ng = _dense(others)
    v0 = np.where(status == _STATUS.index("nothing"), 0.0, value)
    parts = ~is_tot
    fig = ~np.isnan(v0)
    psum = np.bincount(g[parts], weights=np.nan_to_num(v0[parts]), minlength=ng)
    pn = np.bincount(g[parts], minlength=ng)
    pbad = np.bincount(g[parts & ~fig], minlength=ng)
    ti = np.flatnonzero(is_tot)
    tg = g[ti]
    has = pn[tg] > 0
    complete = has & (pbad[tg] == 0) & fig[ti]
    diff = np.abs(v0[ti] - psum[tg])
    bad = complete & (diff > 0.5 + slack * pn[tg])
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        r = int(rows[ti[b]])
        total = psum[tg[b]]
        raise InconsistentTotalError(
            file,
            line=r + 2,
            column=col,
            value=str(raw[r].as_py()),
            expected="@sources.expected.sum_of_parts",
            reason="@sources.error.total_contradicts",
            fields={
                "sum": f"{total:.0f}" if float(total).is_integer() else f"{total:g}",
                "dim": f"@sources.dim.{dim}",
            },
        )
    drop = np.zeros(len(value), dtype=bool)
    drop[ti[has]] = True
    return drop, int((complete & (diff > 0.5)).sum())


def _strings(values: list[str | None], codes: npt.NDArray[np.integer]) -> pd.Series:
    arr = pc.take(pa.array(values, type=pa.string()), pa.array(codes))
    return pd.Series(pd.arrays.ArrowStringArray(arr))


@dataclass(frozen=True)
class _Vars:
    """The mapped variables: zone, sex and age group of every row (codes into small lists), and
    the rows to leave out before anything else (with the reasons and counts)."""

    zones: list[str]
    zone_codes: npt.NDArray[np.int32]
    sexes: list[str]
    sex_codes: npt.NDArray[np.int32]
    ages: _Ages
    leave_out: npt.NDArray[np.bool_]
    notes: tuple[tuple[str, int], ...]


def _target(table: pa.Table, layout: _Layout, file: str) -> str:
    """The canonical table of the file's statistic; one statistic and one measure throughout."""
    stat = _majority(table, _col(layout, "stat"))
    _constant(table, _col(layout, "stat"), stat, file)
    target = _TABLE_OF_STATISTIC.get(stat[:5])
    if target is None:
        raise _err(
            file,
            2,
            _col(layout, "stat"),
            stat,
            "@sources.expected.ffcsv_statistic",
            "unsupported statistic",
        )
    return target


_COUNT_UNITS = frozenset({"anzahl", "number"})


def _counted(table: pa.Table, layout: _Layout, file: str) -> npt.NDArray[np.bool_]:
    """The rows of the one measure Wandel stores: where a file holds several, those of the count.

    A measure is known by its label and unit: the Zensus databases give each regional level a
    code of its own for the same measure (Personen: PRS001 for Deutschland, PRS018 for the
    Gemeinden of 1000A-0000), so the code may vary where the label does not. Their tables may also
    carry further measures beside the persons (1000A-0001: Fläche in qkm, Bevölkerungsdichte in
    Ew/qkm): the rows of the one measure counted in persons (unit ``Anzahl``) are kept, the others
    left out. Two counts, or none, is refused.
    """
    keep = np.ones(table.num_rows, dtype=bool)
    if layout.german:
        return keep
    named = [c for c in ("value_variable_label", "value_unit") if c in table.column_names]
    if len(named) < 2:
        for col in named or ["value_variable_code"]:
            _constant(table, col, _majority(table, col), file)
        return keep
    label, unit = _codes(table, "value_variable_label"), _codes(table, "value_unit")
    pair = label.codes.astype(np.int64) * len(unit.values) + unit.codes
    seen = np.unique(pair)
    if len(seen) == 1:
        return keep
    counts = [
        int(k) for k in seen if unit.values[int(k) % len(unit.values)].lower() in _COUNT_UNITS
    ]
    if len(counts) != 1:
        _constant(table, "value_variable_label", _majority(table, "value_variable_label"), file)
        _constant(table, "value_unit", _majority(table, "value_unit"), file)
    return np.asarray(pair == counts[0])


def _kind_at(table: pa.Table, layout: _Layout, k: int, kind: str, file: str) -> list[str]:
    """The variable codes at position ``k``, all of one kind (region, sex, age or other)."""
    col = _col(layout, "var", k)
    c = _codes(table, col)
    present = np.bincount(c.codes, minlength=len(c.values)) > 0
    here = [v for v, p in zip(c.values, present, strict=True) if p]
    for i, v in enumerate(c.values):
        if present[i] and _kind_of_variable(v) != kind:
            raise _err(
                file,
                _first_row(c.codes, i) + 2,
                col,
                v,
                "@sources.expected.same_kind_of_variable",
                "mixed variables in one column",
                fields={"kind": f"@sources.kind.{kind}", "var": here[0]},
            )
    return here


def _variables(
    table: pa.Table, layout: _Layout, plan: _Plan, file: str, counted: npt.NDArray[np.bool_]
) -> _Vars:
    """Region, sex and age of every row; of any other variable only its total is kept, of the
    measures only the ``counted`` rows (:func:`_counted`)."""
    n = table.num_rows
    region: tuple[list[str], npt.NDArray[np.int32]] | None = None
    sex_vals, sex_codes = ["t"], np.zeros(n, dtype=np.int32)
    ages = _Ages(
        np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64), np.zeros(n, dtype=np.int32)
    )
    leave_out = ~counted
    notes: list[tuple[str, int]] = []
    if leave_out.any():
        notes.append(("@sources.note.other_measures", int(leave_out.sum())))
    for k, kind in enumerate(plan.kinds, start=1):
        here = _kind_at(table, layout, k, kind, file)
        code_col = _col(layout, "code", k)
        c = _codes(table, code_col)
        if kind == "region":
            if region is not None:
                raise _err(
                    file,
                    1,
                    _col(layout, "var", k),
                    here[0],
                    "@sources.expected.one_region_variable",
                    "two region variables",
                )
            zones, below = _region(c, here, code_col, file)
            region = (zones, c.codes)
            rows = below[c.codes]
            if rows.any():
                notes.append(("@sources.note.gemeinden_among_kreise", int(rows.sum())))
                leave_out |= rows
        elif kind == "sex":
            sex_vals, sex_codes = _sex(c, code_col, file), c.codes
        elif kind == "age":
            label_col = _col(layout, "label", k)
            ages = _age(c, _codes(table, label_col), file, label_col)
        else:
            rows = _only_total(c, here[0], code_col, file)
            if rows.any():
                notes.append(("@sources.note.breakdown_total_kept", int(rows.sum())))
                leave_out |= rows
    if region is None:
        raise MissingColumnError(
            file,
            line=1,
            expected="@sources.expected.region_variable",
            reason="no region variable",
        )
    return _Vars(region[0], region[1], sex_vals, sex_codes, ages, leave_out, tuple(notes))


def _only_total(c: _Codes, var: str, code_col: str, file: str) -> npt.NDArray[np.bool_]:
    """The rows of a variable Wandel does not map that are not its total (to leave out).

    A table broken down by such a variable (Einwanderungsgeschichte, Familienstand, ...) carries
    its total (an empty code, ``Insgesamt``) beside the parts: the total is what Wandel stores. A
    file without the total is refused: its rows are parts of something Wandel cannot see whole.
    """
    total = [i for i, v in enumerate(c.values) if v == ""]
    if not total:
        raise _err(
            file,
            _first_row(c.codes, 0) + 2,
            code_col,
            c.values[0],
            "@sources.expected.only_total",
            "unsupported variable",
            fields={"var": var},
        )
    return np.asarray(c.codes != total[0])


def _times(
    table: pa.Table, layout: _Layout, file: str, census: bool
) -> tuple[list[object], npt.NDArray[np.int32]]:
    """The year (31 December) or, for a census, the ISO reference date of every row."""
    tcol = _col(layout, "time")
    tc = _codes(table, tcol)
    out: list[object] = []
    for i, v in enumerate(tc.values):
        try:
            t: object = parse_census_date(v) if census else parse_year_label(v)
        except LabelError as exc:
            raise _err(file, _first_row(tc.codes, i) + 2, tcol, v, exc.expected) from None
        if t is None:
            raise _err(
                file,
                _first_row(tc.codes, i) + 2,
                tcol,
                v,
                "@sources.expected.census_date_cell" if census else "@sources.expected.ffcsv_time",
            )
        out.append(t)
    return out, tc.codes


def _check_negative(
    value: npt.NDArray[np.float64], raw: pa.ChunkedArray, layout: _Layout, file: str
) -> None:
    neg = value < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise _err(
            file,
            i + 2,
            layout.value,
            str(raw[i].as_py()),
            "@sources.expected.count_zero_or_more",
            "negative count",
        )


_Key = tuple[npt.NDArray[Any], int]


def _check_unique(
    keys: list[_Key], v: _Vars, times: list[object], time_codes: npt.NDArray[np.int32], file: str
) -> None:
    """Each zone, time, sex and age group once among the rows kept (on the dense key id)."""
    kept = np.flatnonzero(~v.leave_out) if v.leave_out.any() else None  # None: every row
    kid, size = _dense(keys if kept is None else [(k[kept], card) for k, card in keys])
    counts = np.bincount(kid, minlength=size) if size <= _DENSE_MAX else None
    if counts is not None and counts.max(initial=0) > 1:
        dupkey = int(np.flatnonzero(counts > 1)[0])
        r = int(np.flatnonzero(kid == dupkey)[1])
        r = r if kept is None else int(kept[r])
        g = int(v.ages.rows[r])
        end = "open" if v.ages.end[g] == -1 else str(v.ages.end[g])
        raise DuplicateKeyError(
            file,
            line=r + 2,
            column=None,
            value=f"{v.zones[int(v.zone_codes[r])]}, {times[time_codes[r]]}, "
            f"{v.sexes[int(v.sex_codes[r])]}, {v.ages.start[g]}-{end}",
            expected="@sources.expected.each_key_once_ffcsv",
            reason="duplicate key",
        )


def _drops(
    v: _Vars,
    z_key: _Key,
    t_key: _Key,
    cells: tuple[npt.NDArray[np.float64], npt.NDArray[np.int8], pa.ChunkedArray],
    where: tuple[str, str, float],
) -> tuple[npt.NDArray[np.bool_], list[tuple[str, int]]]:
    """Rows to leave out (age unknown; totals verified against their parts) and why.

    ``where`` is the file, the value column and the slack per part of a total (0 for exact
    counts, :data:`CENSUS_SLACK` for a census).
    """
    value, status, raw = cells
    ages = v.ages
    rejected: list[tuple[str, int]] = list(v.notes)
    drop = v.leave_out.copy()
    unknown_group = np.flatnonzero(ages.start == -1)
    if len(unknown_group):
        unknown = (ages.rows == unknown_group[0]) & ~drop
        rejected.append(("age unknown: no age group to store it under", int(unknown.sum())))
        drop |= unknown
    s_key = (v.sex_codes, len(v.sexes))
    a_key = (ages.rows, len(ages.start))
    sex_total = np.array([s == "t" for s in v.sexes], dtype=bool)
    age_total = (ages.start == 0) & (ages.end == -1)
    for dim, tot, others in (
        (
            "sex",
            sex_total[v.sex_codes] if len(v.sexes) > 1 and sex_total.any() else None,
            (z_key, t_key, a_key),
        ),
        (
            "age",
            age_total[ages.rows] if len(ages.start) > 1 and age_total.any() else None,
            (z_key, t_key, s_key),
        ),
    ):
        if tot is None:
            continue
        rows = np.flatnonzero(~drop)
        d, differed = _check_totals(
            [(o[0][rows], o[1]) for o in others],
            tot[rows],
            (value[rows], status[rows], raw),
            rows,
            dim,
            where,
        )
        drop[rows[d]] = True
        if d.any():
            rejected.append((f"{dim} total verified and dropped", int(d.sum() - differed)))
        if differed:
            rejected.append(("@sources.note.census_secrecy", differed))
    return drop, rejected


def _frame(
    target: str,
    v: _Vars,
    times: tuple[list[object], npt.NDArray[np.int32]],
    cells: tuple[npt.NDArray[np.float64], npt.NDArray[np.int8], npt.NDArray[np.int8]],
    drop: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    """The canonical frame of the rows kept."""
    value, status, flag = cells
    sel: slice | npt.NDArray[np.int64] = slice(None) if not drop.any() else np.flatnonzero(~drop)

    def pick(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return a if isinstance(sel, slice) else a[sel]

    a_rows = pick(v.ages.rows)
    a_end = v.ages.end[a_rows]
    no_mask = np.zeros(len(a_rows), dtype=bool)
    t_vals, t_codes = times
    if target == "census_population":
        when = {"reference_date": _strings([str(t) for t in t_vals], pick(t_codes))}
    else:
        t_arr = np.array(t_vals, dtype=np.int64)
        when = {"year": pd.arrays.IntegerArray(t_arr[pick(t_codes)], no_mask.copy())}
    frame = pd.DataFrame(
        {
            "zone": _strings(list(v.zones), pick(v.zone_codes)),
            **when,
            "sex": _strings(list(v.sexes), pick(v.sex_codes)),
            "age_start": pd.arrays.IntegerArray(v.ages.start[a_rows], no_mask),
            "age_end": pd.arrays.IntegerArray(np.maximum(a_end, 0), a_end < 0),
            "value": pick(value),
            "status": _strings(list(_STATUS), pick(status)),
            "flag": _strings(list(_FLAGS), pick(flag)),
        },
        copy=False,
    )
    return conform(target, frame)


def _build(
    table: pa.Table, layout: _Layout, plan: _Plan, file: str
) -> tuple[str, pd.DataFrame, list[tuple[str, int]]]:
    target = _target(table, layout, file)
    v = _variables(table, layout, plan, file, _counted(table, layout, file))
    times = _times(table, layout, file, target == "census_population")
    value, status, flag = _values(table, layout, plan.decimal, file)
    raw = table.column(layout.value)
    _check_negative(value, raw, layout, file)
    # integer keys (codes into small dictionaries) with their cardinalities
    z_key = (v.zone_codes, len(v.zones))
    t_key = (times[1], len(times[0]))
    _check_unique(
        [z_key, t_key, (v.sex_codes, len(v.sexes)), (v.ages.rows, len(v.ages.start))],
        v,
        times[0],
        times[1],
        file,
    )
    slack = CENSUS_SLACK if target == "census_population" else 0.0
    drop, rejected = _drops(v, z_key, t_key, (value, status, raw), (file, layout.value, slack))
    return target, _frame(target, v, times, (value, status, flag), drop), rejected


def sniff(path: Path, head: bytes) -> bool:
    """True for a flat-file CSV (either layout), plain or as the only CSV inside a ZIP."""
    if head.startswith(b"PK\x03\x04"):
        try:
            zf = zipfile.ZipFile(path)
        except (*_ZIP_ERRORS, ValueError):
            return False
        with zf:
            csvs = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
            if len(csvs) != 1:
                return False
            try:
                with zf.open(csvs[0]) as fh:
                    head = fh.read(4096)
            except (*_ZIP_ERRORS, ValueError):
                # one CSV whose data are damaged: claim it, so that read() reports the damage
                return True
    first = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return first.startswith((b"statistics_code;", b"Statistik_Code;"))


def _digest(path: Path, check_utf8: bool) -> tuple[str, tuple[int, bytes, str] | None]:
    """SHA-256 of the file and, for UTF-8 flat files, the first byte that is no UTF-8.

    Runs beside the parser: pyarrow checks only the columns it converts, so this pass makes a
    mislabelled file (a BOM before latin-1 bytes) fail wherever the bad byte sits.
    """
    digest = sha256_of(path)
    if not check_utf8:
        return digest, None
    dec = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with _open(path) as (fh, _name):
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as exc:
                    at = max(exc.start, 0)
                    return digest, (
                        line + chunk.count(b"\n", 0, at),
                        chunk[at : at + 4],
                        exc.reason,
                    )
                line += chunk.count(b"\n")
    except (*_ZIP_ERRORS, InputFormatError):
        return digest, None  # the parser reports a damaged archive itself
    return digest, None


def read(path: str | Path) -> ImportBatch:
    """Read a GENESIS flat-file CSV (or a ZIP holding one) into canonical tables.

    Raises
    ------
    InputFormatError
        (or a subclass) naming file, line, column, value and what was expected.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFormatError(str(p), reason="no such file")  # a phrase of the catalogue
    try:
        return _read(p)
    except _ZIP_ERRORS as exc:  # a damaged archive (bad CRC, broken deflate stream) or I/O
        raise InputFormatError(
            str(p),
            reason="@sources.error.damaged_zip_or_file",
            expected="@sources.expected.intact_zip_one_csv",
            fields={"detail": str(exc)},
        ) from None


def _read(p: Path) -> ImportBatch:
    with _open(p) as (fh, shown):
        head = _head(fh, shown)
    layout = _layout(head, shown)
    plan = _plan(head, layout, shown)
    with ThreadPoolExecutor(max_workers=1) as pool:
        sha = pool.submit(_digest, p, layout.encoding == "utf-8")  # overlaps with parsing
        table = _read_arrow(p, layout, plan, shown)
        digest, bad = sha.result()
        if bad is not None:
            raise _err(
                shown,
                bad[0],
                None,
                bad[1],
                "@sources.expected.utf8_throughout",
                "@sources.error.undecodable_byte",
                fields={"detail": bad[2]},
            )
        code = _majority(table, _col(layout, "stat"))
        target, frame, rejected = _build(table, layout, plan, shown)
        rows = table.num_rows
        del table
    meta = SourceMeta(
        file=str(p),
        sha256=digest,
        kind=NAME,
        table_code=code,
        title="",
        producer="Statistisches Bundesamt (Destatis) / Statistische Ämter des Bundes und der Länder",
        licence=LICENCE_DLDE,
    )
    return ImportBatch(meta=meta, tables={target: frame}, rows_read=rows, rejected=tuple(rejected))

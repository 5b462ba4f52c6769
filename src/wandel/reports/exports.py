"""Exports for people and programs: CSV (German and RFC 4180), XLSX, GeoPackage.

One small API used by the CLI, the web app and every part that hands tables out:

- :func:`write_csv` - ``dialect="de"``: ``;`` between fields, decimal comma, UTF-8 with a byte-order
  mark, CRLF line ends (what a German Excel opens with a double click); ``dialect="rfc"``: RFC 4180
  (``,``, decimal point, UTF-8 without BOM, CRLF).
- :func:`write_xlsx` - one sheet per frame and a sheet ``Quellen`` with the source note.
- :func:`write_gpkg` - one layer of zones with their geometry, the source note as the layer's
  description and metadata, and an attribute table ``quellen``.

Every export carries its source note. A CSV file holds data only (a comment line above the header
would be a data row to Excel and needs ``comment=`` in pandas), so the note goes into a sidecar text
file beside it, ``<name>.quellen.txt`` (:func:`source_note_path`); ``pandas.read_csv(path)`` and
Excel both read the CSV cleanly.

Formula injection (OWASP "CSV injection"): a text cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return would run as a formula when a spreadsheet opens the file. In CSV such a text
gets a leading apostrophe (:func:`defuse`; numbers are never touched); in XLSX every text cell is
written as a string cell, never as a formula, and gets the same apostrophe, so that it stays text even
when someone edits the cell.

Every file is written atomically: into a temporary file in the target folder, renamed over the
target only when complete; on an error the target is untouched and no temporary file is left.
Given the same frame, note and ``created`` date, XLSX and GeoPackage files are the same bytes.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from wandel.errors import ExportError

__all__ = [
    "FORMULA_PREFIXES",
    "SOURCES_SHEET",
    "SOURCES_TABLE",
    "atomic_write",
    "defuse",
    "source_note_path",
    "write_csv",
    "write_gpkg",
    "write_xlsx",
]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a text cell as a formula (OWASP)."""

SOURCES_SHEET = "Quellen"
"""Name of the XLSX sheet with the source note."""

SOURCES_TABLE = "quellen"
"""Name of the GeoPackage attribute table with the source note."""

Dialect = Literal["de", "rfc"]

_DIALECTS: dict[str, dict[str, Any]] = {
    "de": {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"},
    "rfc": {"sep": ",", "decimal": ".", "encoding": "utf-8"},
}

_BAD_SHEET_CHARS = set("[]:*?/\\")


def defuse(text: str) -> str:
    """A text that a spreadsheet will show as text, never run as a formula.

    >>> defuse("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> defuse("Hettstedt"), defuse("-"), defuse("")
    ('Hettstedt', "'-", '')
    """
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _defused(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and column name passed through :func:`defuse`."""
    out = frame.copy()
    out.columns = [defuse(str(c)) for c in out.columns]
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = s.map(lambda v: defuse(v) if isinstance(v, str) else v)
    return out


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    On an exception the temporary file is removed and ``path`` stays as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def source_note_path(path: Path) -> Path:
    """The sidecar file that holds a CSV file's source note: ``x.csv`` -> ``x.quellen.txt``.

    >>> source_note_path(Path("out/bevoelkerung.csv")).as_posix()
    'out/bevoelkerung.quellen.txt'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.quellen.txt")


def _check_note(source_note: str) -> str:
    if not source_note.strip():
        raise ExportError("an export needs a source note (Quellenangabe); got an empty one")
    return source_note.strip()


def write_csv(
    frame: pd.DataFrame,
    path: Path,
    *,
    dialect: Dialect = "de",
    source_note: str,
) -> tuple[Path, Path]:
    """Write ``frame`` as CSV and its source note beside it; return both paths.

    ``dialect="de"``: ``;``, decimal comma, UTF-8 with BOM; ``"rfc"``: RFC 4180 (``,``, ``.``, no
    BOM). Both end lines with CRLF, quote only where needed, leave missing values empty and defuse
    formula-like text (:func:`defuse`). Read back with ``pd.read_csv(path, sep=";", decimal=",")``
    or ``pd.read_csv(path)``.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> f = pd.DataFrame({"zone": ["15087220"], "anteil": [0.25]})
    >>> csv_path, note = write_csv(f, d / "a.csv", source_note="Quelle: Destatis")
    >>> csv_path.read_bytes()
    b'\\xef\\xbb\\xbfzone;anteil\\r\\n15087220;0,25\\r\\n'
    >>> note.read_text(encoding="utf-8")
    'Quelle: Destatis\\n'
    """
    if dialect not in _DIALECTS:
        raise ExportError(f"unknown CSV dialect {dialect!r}; expected 'de' or 'rfc'")
    note = _check_note(source_note)
    opts = _DIALECTS[dialect]
    path = Path(path)
    with atomic_write(path) as tmp:
        _defused(frame).to_csv(
            tmp,
            index=False,
            sep=opts["sep"],
            decimal=opts["decimal"],
            encoding=opts["encoding"],
            lineterminator="\r\n",
            quoting=csv.QUOTE_MINIMAL,
        )
    side = source_note_path(path)
    _write_text(side, note + "\n")
    return path, side


def _sheet_name(name: str) -> str:
    if not name or len(name) > 31 or _BAD_SHEET_CHARS & set(name):
        raise ExportError(
            f"sheet name {name!r}: expected 1 to 31 characters without any of [ ] : * ? / \\"
        )
    if name.lower() == SOURCES_SHEET.lower():
        raise ExportError(f"sheet name {name!r} is reserved for the source note")
    return name


def _cell_writer(ws: Any, fmt_text: Any) -> Callable[[int, int, object], None]:
    """A function writing one value: numbers as numbers, everything else as a string cell."""

    def write(row: int, col: int, value: object) -> None:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            ws.write_blank(row, col, None)
        elif isinstance(value, bool | np.bool_):
            ws.write_boolean(row, col, bool(value))
        elif isinstance(value, int | float | np.integer | np.floating):
            ws.write_number(row, col, float(value))
        else:  # never write_formula or write(): a text stays text
            ws.write_string(row, col, defuse(str(value)), fmt_text)

    return write


def write_xlsx(
    frames: Mapping[str, pd.DataFrame],
    path: Path,
    *,
    source_note: str,
    created: dt.datetime | None = None,
) -> Path:
    """Write each frame to a sheet of its name, plus a sheet ``Quellen`` with the source note.

    Text cells are string cells (never formulas) and defused (:func:`defuse`); numbers stay
    numbers; the header row is bold and frozen. ``created`` fixes the document's creation date
    (the same frames, note and date give the same bytes); without it, the current time.
    """
    import xlsxwriter

    note = _check_note(source_note)
    if not frames:
        raise ExportError("write_xlsx needs at least one frame")
    names = [_sheet_name(str(n)) for n in frames]
    path = Path(path)
    with atomic_write(path) as tmp:
        wb = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "nan_inf_to_errors": True}
        )
        wb.set_properties({"created": created or dt.datetime.now(), "comments": note})
        bold = wb.add_format({"bold": True})
        text = wb.add_format({"num_format": "@"})
        for name, frame in zip(names, frames.values(), strict=True):
            ws = wb.add_worksheet(name)
            write = _cell_writer(ws, text)
            for c, col in enumerate(frame.columns):
                ws.write_string(0, c, defuse(str(col)), bold)
            for r, row in enumerate(frame.itertuples(index=False, name=None), start=1):
                for c, value in enumerate(row):
                    write(r, c, value)
            ws.freeze_panes(1, 0)
        src = wb.add_worksheet(SOURCES_SHEET)
        src.write_string(0, 0, SOURCES_SHEET, bold)
        for r, line in enumerate(note.splitlines(), start=1):
            src.write_string(r, 0, defuse(line))
        src.set_column(0, 0, 100)
        wb.close()
    return path


@contextlib.contextmanager
def _gdal_date(created: dt.datetime | None) -> Iterator[None]:
    """Fix the date GDAL writes into ``gpkg_contents.last_change`` (``OGR_CURRENT_DATE``)."""
    import pyogrio

    if created is None:
        yield
        return
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    stamp = created.astimezone(dt.UTC) if created.tzinfo else created
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def write_gpkg(
    frame: Any,
    path: Path,
    *,
    layer: str,
    source_note: str,
    created: dt.datetime | None = None,
) -> Path:
    """Write a GeoDataFrame as layer ``layer`` of a new GeoPackage at ``path``.

    The source note becomes the layer's description (``gpkg_contents``) and metadata
    (``gpkg_metadata``), and the rows of an attribute table ``quellen`` (one line of the note per
    row), so that QGIS, GDAL and pandas users all find it. ``created`` fixes the dates GDAL writes.
    The file is replaced as a whole (atomically).
    """
    import geopandas as gpd
    import pyogrio

    note = _check_note(source_note)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise ExportError("write_gpkg needs a GeoDataFrame with a geometry column")
    if frame.crs is None:
        raise ExportError("write_gpkg needs a coordinate reference system (frame.crs is None)")
    if not layer or layer.lower() == SOURCES_TABLE:
        raise ExportError(f"layer name {layer!r}: expected a name other than {SOURCES_TABLE!r}")
    path = Path(path)
    lines = pd.DataFrame({"quelle": note.splitlines()})
    with _gdal_date(created), atomic_write(path) as tmp:
        tmp.unlink()  # GDAL creates the file itself
        pyogrio.write_dataframe(
            frame,
            tmp,
            layer=layer,
            driver="GPKG",
            layer_options={"DESCRIPTION": note},
            metadata={"SOURCE": note},
        )
        pyogrio.write_dataframe(lines, tmp, layer=SOURCES_TABLE, driver="GPKG")
    return path

"""Exports for people and programs: CSV (German and RFC 4180), XLSX, GeoPackage, each with its
source note.

- :func:`write_csv`: ``dialect="de"`` writes ``;`` between fields, the decimal comma and UTF-8 with a
  byte-order mark (what a German spreadsheet opens directly); ``dialect="rfc"`` writes RFC 4180
  (``,``, decimal point, UTF-8, CRLF). A CSV holds data only; its source note goes into the sidecar
  file ``<name>.quellen.txt`` (:func:`source_note_path`).
- :func:`write_xlsx`: one sheet per frame and a sheet ``Quellen`` with the note. A text cell that
  starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would run as a formula (OWASP
  "CSV injection"): it is written as a string cell with a leading apostrophe (:func:`defuse`).
- :func:`write_gpkg`: one layer with geometry; the note is the layer's description and an attribute
  table ``quellen``.

Every file is written atomically (a temporary file in the target folder, renamed when complete), so
an error leaves no half-written file behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from wandel.errors import ExportError

__all__ = [
    "FORMULA_PREFIXES",
    "SOURCES_SHEET",
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

Dialect = Literal["de", "rfc"]

_DIALECTS: dict[str, dict[str, Any]] = {
    "de": {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"},
    "rfc": {"sep": ",", "decimal": ".", "encoding": "utf-8"},
}


def defuse(text: str) -> str:
    """A text a spreadsheet shows as text, never runs as a formula.

    >>> defuse("=SUMME(A1:A2)"), defuse("Hettstedt"), defuse("-"), defuse("")
    ("'=SUMME(A1:A2)", 'Hettstedt', "'-", '')
    """
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds."""
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


def source_note_path(path: Path) -> Path:
    """The sidecar file of a CSV file's source note: ``x.csv`` -> ``x.quellen.txt``.

    >>> source_note_path(Path("out/indikatoren.csv")).as_posix()
    'out/indikatoren.quellen.txt'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.quellen.txt")


def _check_note(source_note: str) -> str:
    if not source_note.strip():
        raise ExportError("an export needs a source note (Quellenangabe); got an empty one")
    return source_note.strip()


def write_csv(
    frame: pd.DataFrame, path: Path, *, dialect: Dialect = "de", source_note: str
) -> tuple[Path, Path]:
    """Write ``frame`` as CSV (``dialect`` ``de`` or ``rfc``) and its note beside it; both paths.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> f = pd.DataFrame({"zone": ["15087220"], "value": [0.3071]})
    >>> p, n = write_csv(f, d / "x.csv", source_note="Quelle: Test")
    >>> p.read_bytes()
    b'\\xef\\xbb\\xbfzone;value\\r\\n15087220;0,3071\\r\\n'
    >>> n.read_text(encoding="utf-8")
    'Quelle: Test\\n'
    """
    if dialect not in _DIALECTS:
        raise ExportError(f"unknown CSV dialect {dialect!r}; expected de or rfc")
    note = _check_note(source_note)
    opts = _DIALECTS[dialect]
    with atomic_write(path) as tmp:
        frame.to_csv(
            tmp,
            index=False,
            sep=opts["sep"],
            decimal=opts["decimal"],
            encoding=opts["encoding"],
            lineterminator="\r\n",
        )
    note_path = source_note_path(path)
    with atomic_write(note_path) as tmp:
        tmp.write_text(note + "\n", encoding="utf-8")
    return Path(path), note_path


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("_" if c in "[]:*?/\\" else c for c in str(name))[:31] or "Tabelle"
    base, n = clean, 2
    while clean in used:
        clean = f"{base[:28]}_{n}"
        n += 1
    used.add(clean)
    return clean


def write_xlsx(
    frames: Mapping[str, pd.DataFrame],
    path: Path,
    *,
    source_note: str,
    created: dt.datetime | None = None,
) -> Path:
    """Write each frame to its own sheet and the note to sheet ``Quellen``; text is never a formula.

    ``created`` fixes the file's creation date (same inputs, same bytes).
    """
    from openpyxl import Workbook

    note = _check_note(source_note)
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, frame in frames.items():
        ws = wb.create_sheet(_sheet_name(name, used))
        ws.append([defuse(str(c)) for c in frame.columns])
        for row in frame.itertuples(index=False):
            cells: list[object] = []
            for v in row:
                if v is None or (not isinstance(v, str) and pd.isna(v)):
                    cells.append(None)
                elif isinstance(v, str):
                    cells.append(defuse(v))
                elif hasattr(v, "item"):
                    cells.append(v.item())
                else:
                    cells.append(v)
            ws.append(cells)
        for row_cells in ws.iter_rows():
            for cell in row_cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # a string cell, never a formula
    src = wb.create_sheet(_sheet_name(SOURCES_SHEET, used))
    for line in note.splitlines():
        src.append([defuse(line)])
        src.cell(row=src.max_row, column=1).data_type = "s"
    stamp = created or dt.datetime(2000, 1, 1)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    with atomic_write(path) as tmp:
        wb.save(tmp)
    return Path(path)


def write_gpkg(
    frame: Any,
    path: Path,
    *,
    layer: str,
    source_note: str,
    created: dt.datetime | None = None,
) -> Path:
    """Write a GeoDataFrame as layer ``layer``; the note as layer description and table ``quellen``."""
    import geopandas as gpd
    import pyogrio

    note = _check_note(source_note)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise ExportError("a GeoPackage export needs a GeoDataFrame with geometry")
    _ = created  # GDAL stamps the file itself; the content is the same for the same inputs
    with atomic_write(path) as tmp:
        tmp.unlink()
        frame.to_file(tmp, layer=layer, driver="GPKG", layer_options={"DESCRIPTION": note[:1000]})
        pyogrio.write_dataframe(
            pd.DataFrame({"quelle": note.splitlines()}),
            tmp,
            layer="quellen",
            driver="GPKG",
            append=False,
        )
    return Path(path)

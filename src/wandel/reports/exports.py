"""Exports: CSV (German and RFC 4180), XLSX and GeoPackage, each with its source note.

- :func:`write_csv` - ``dialect="de"``: ``;`` between fields, decimal comma, UTF-8 with a byte-order
  mark (what a German spreadsheet opens with a double click); ``dialect="rfc"``: RFC 4180 (``,``,
  decimal point, UTF-8). Both end lines with CRLF. A CSV holds data only, so its source note goes
  into a sidecar text file ``<name>.quellen.txt`` (:func:`source_note_path`).
- :func:`write_xlsx` - one sheet per frame and a sheet ``Quellen`` with the note.
- :func:`write_gpkg` - one layer of zones with geometry; the note as the layer's description and as
  an attribute table ``quellen``.

Formula injection (OWASP "CSV injection"): a text that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return would run as a formula in a spreadsheet; such a text gets a leading apostrophe
(:func:`defuse`), numbers are never touched, and XLSX text cells are always string cells.

Every file is written atomically (a temporary file beside it, renamed when complete).
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator, Mapping
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
SOURCES_TABLE = "quellen"

Dialect = Literal["de", "rfc"]
_DIALECTS: dict[str, dict[str, str]] = {
    "de": {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"},
    "rfc": {"sep": ",", "decimal": ".", "encoding": "utf-8"},
}


def defuse(text: str) -> str:
    """A text that a spreadsheet shows as text, never runs as a formula.

    >>> defuse("=1+1"), defuse("Hettstedt"), defuse("-")
    ("'=1+1", 'Hettstedt', "'-")
    """
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _defused(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [defuse(str(c)) for c in out.columns]
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = s.map(lambda v: defuse(v) if isinstance(v, str) else v)
    return out


def _numbers_as_text(frame: pd.DataFrame, decimal: str) -> pd.DataFrame:
    """The numbers of text columns (a column of counts with the secret sign ``.`` in some
    cells) written with the dialect's decimal sign, as pandas writes those of number columns.

    >>> _numbers_as_text(pd.DataFrame({"v": [1.5, ".", 3]}, dtype=object), ",")["v"].tolist()
    ['1,5', '.', '3']
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(
                lambda v: (
                    str(v).replace(".", decimal)
                    if isinstance(v, float | int | np.floating | np.integer)
                    and not isinstance(v, bool)
                    else v
                )
            )
    return out


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds."""
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
    """The sidecar of a CSV file: ``x.csv`` -> ``x.quellen.txt``.

    >>> source_note_path(Path("out/kita.csv")).as_posix()
    'out/kita.quellen.txt'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.quellen.txt")


def _check_note(note: str) -> str:
    if not note.strip():
        raise ExportError("@error.export.no_note")
    return note.strip()


def write_csv(
    frame: pd.DataFrame, path: Path, *, dialect: Dialect = "de", source_note: str
) -> tuple[Path, Path]:
    """Write ``frame`` as CSV (``de`` or ``rfc``) and its source note beside it; both paths.

    >>> d = Path(tempfile.mkdtemp())
    >>> p, _ = write_csv(pd.DataFrame({"zone": ["15087220"], "anteil": [0.25]}), d / "a.csv",
    ...                  source_note="Quelle: Destatis")
    >>> p.read_bytes()
    b'\\xef\\xbb\\xbfzone;anteil\\r\\n15087220;0,25\\r\\n'
    """
    if dialect not in _DIALECTS:
        raise ExportError("@error.export.dialect", dialect=repr(dialect))
    note = _check_note(source_note)
    opts = _DIALECTS[dialect]
    path = Path(path)
    with atomic_write(path) as tmp:
        _numbers_as_text(_defused(frame), opts["decimal"]).to_csv(
            tmp,
            index=False,
            sep=opts["sep"],
            decimal=opts["decimal"],
            encoding=opts["encoding"],
            lineterminator="\r\n",
            quoting=csv.QUOTE_MINIMAL,
        )
    side = source_note_path(path)
    with atomic_write(side) as tmp:
        tmp.write_text(note + "\n", encoding="utf-8", newline="\n")
    return path, side


def _cell(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return defuse(str(value))


def write_xlsx(frames: Mapping[str, pd.DataFrame], path: Path, *, source_note: str) -> Path:
    """Each frame on a sheet of its name, plus a sheet ``Quellen`` with the source note.

    Text cells are string cells (``data_type = "s"``: never formulas) and defused; numbers stay
    numbers.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    note = _check_note(source_note)
    if not frames:
        raise ExportError("write_xlsx needs at least one frame")
    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in frames.items():
        if (
            not name
            or len(name) > 31
            or set(name) & set("[]:*?/\\")
            or name.casefold() == SOURCES_SHEET.casefold()
        ):
            # Excel compares sheet names without case: "quellen" would clash with "Quellen"
            raise ExportError(f"sheet name {name!r}: 1 to 31 characters, not {SOURCES_SHEET!r}")
        ws = wb.create_sheet(name)
        ws.append([defuse(str(c)) for c in frame.columns])
        for c in ws[1]:
            c.font = Font(bold=True)
            c.data_type = "s"
        for row in frame.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
        for row_cells in ws.iter_rows(min_row=2):
            for c in row_cells:
                if isinstance(c.value, str):
                    c.data_type = "s"
        ws.freeze_panes = "A2"
    src = wb.create_sheet(SOURCES_SHEET)
    for line in [SOURCES_SHEET, *note.splitlines()]:
        src.append([defuse(line)])
    for row_cells in src.iter_rows():
        for c in row_cells:
            c.data_type = "s"
    src.column_dimensions["A"].width = 120
    path = Path(path)
    with atomic_write(path) as tmp:
        wb.save(tmp)
    return path


def write_gpkg(frame: Any, path: Path, *, layer: str, source_note: str) -> Path:
    """A GeoDataFrame as layer ``layer`` of a new GeoPackage, the note as its description and as
    the attribute table ``quellen``."""
    import geopandas as gpd
    import pyogrio

    note = _check_note(source_note)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise ExportError("write_gpkg needs a GeoDataFrame with a coordinate reference system")
    if not layer or layer.lower() == SOURCES_TABLE:
        raise ExportError(f"layer name {layer!r}: expected a name other than {SOURCES_TABLE!r}")
    path = Path(path)
    lines = pd.DataFrame({"quelle": note.splitlines()})
    with atomic_write(path) as tmp:
        tmp.unlink()
        pyogrio.write_dataframe(
            frame, tmp, layer=layer, driver="GPKG", layer_options={"DESCRIPTION": note}
        )
        pyogrio.write_dataframe(lines, tmp, layer=SOURCES_TABLE, driver="GPKG")
    return path

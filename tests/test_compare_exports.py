"""Export writers: CSV in both dialects read back, XLSX without formulas, GeoPackage with its note,
atomic writes (an error leaves no file)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook

from wandel.errors import ExportError
from wandel.reports.exports import defuse, source_note_path, write_csv, write_gpkg, write_xlsx

FRAME = pd.DataFrame(
    {"zone": ["15087220", "16073077"], "name": ["Hettstedt", "=HYPERLINK(\"x\")"],
     "value": [0.30707, -1.5], "n": [13885, 27000]}
)  # fmt: skip


def test_csv_dialects_round_trip(tmp_path: Path) -> None:
    de, note = write_csv(FRAME, tmp_path / "x.csv", dialect="de", source_note="Quelle: Test")
    raw = de.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b";0,30707;" in raw
    assert b"\r\n" in raw
    back = pd.read_csv(de, sep=";", decimal=",", dtype={"zone": str}, encoding="utf-8-sig")
    assert back["value"].tolist() == [0.30707, -1.5]
    assert back["zone"].tolist() == [
        "15087220",
        "16073077",
    ]
    assert note == source_note_path(de)
    assert note.read_text(encoding="utf-8") == "Quelle: Test\n"
    rfc, _ = write_csv(FRAME, tmp_path / "y.csv", dialect="rfc", source_note="Quelle: Test")
    assert not rfc.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(rfc, dtype={"zone": str})
    assert back["name"].tolist() == ["Hettstedt", '\'=HYPERLINK("x")']  # never a formula
    assert back["n"].tolist() == [13885, 27000]
    assert back["value"].tolist() == [0.30707, -1.5]


def test_xlsx_never_holds_a_formula(tmp_path: Path) -> None:
    p = write_xlsx({"Indikatoren": FRAME}, tmp_path / "x.xlsx", source_note="Quelle: Test\n=1+1")
    wb = load_workbook(p)
    assert wb.sheetnames == ["Indikatoren", "Quellen"]
    cells = [c for row in wb["Indikatoren"].iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert wb["Indikatoren"]["B3"].value == '\'=HYPERLINK("x")'
    assert wb["Indikatoren"]["C2"].value == pytest.approx(0.30707)  # numbers stay numbers
    assert [c.value for c in wb["Quellen"]["A"]] == ["Quellen", "Quelle: Test", "'=1+1"]
    assert defuse("@SUM(1)") == "'@SUM(1)"
    assert defuse("+49") == "'+49"


def test_gpkg_carries_its_note(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame(
        FRAME, geometry=[shapely.Point(0, 0), shapely.Point(1, 1)], crs="EPSG:25832"
    )
    p = write_gpkg(g, tmp_path / "x.gpkg", layer="typen", source_note="Quelle: Test")
    assert {str(n) for n, _ in pyogrio.list_layers(p)} == {"typen", "quellen"}
    assert pyogrio.read_dataframe(p, layer="quellen")["quelle"].tolist() == ["Quelle: Test"]
    assert pyogrio.read_info(p, layer="typen")["features"] == 2


def test_refusals_leave_no_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="source note"):
        write_csv(FRAME, tmp_path / "x.csv", source_note=" ")
    with pytest.raises(ExportError, match="dialect"):
        write_csv(FRAME, tmp_path / "x.csv", dialect="excel", source_note="Q")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="GeoDataFrame"):
        write_gpkg(FRAME, tmp_path / "x.gpkg", layer="l", source_note="Q")
    assert list(tmp_path.iterdir()) == []


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot print this cell")


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    target.write_text("old\n", encoding="utf-8")
    bad = pd.DataFrame({"x": [1, _Unprintable()]})
    with pytest.raises(RuntimeError, match="cannot print"):
        write_csv(bad, target, source_note="Q")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]  # no temporary file left

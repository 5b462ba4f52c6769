"""Classic GENESIS tables downloaded as xlsx: the same canonical tables as the CSV download, the
sheet found by its content, merged header cells spread over the columns they span."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd

from wandel.sources import genesis_classic
from wandel.sources.registry import detect

GEN = Path(__file__).resolve().parent / "fixtures" / "genesis"
XLSX = GEN / "12411-0018_small_de.xlsx"
CSV = GEN / "12411-0018_small_de.csv"


def test_xlsx_gives_the_csv_tables() -> None:
    assert detect(XLSX) == "genesis-classic"
    x, c = genesis_classic.read(XLSX), genesis_classic.read(CSV)
    pd.testing.assert_frame_equal(x.tables["population"], c.tables["population"])
    assert x.rejected == c.rejected
    pop = x.tables["population"]
    # Mansfeld-Südharz: the six parts as published; the total 137,915 verified and dropped
    assert pop.loc[pop["zone"] == "15087", "value"].sum() == 137_915
    assert x.meta.table_code == "12411-0018"


def test_sheet_found_by_content_after_other_sheets(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(XLSX)
    info = wb.create_sheet("Hinweise", 0)
    info.append(["Erläuterungen zur Tabelle"])
    wb["12411-0018"].title = "Ergebnis"
    p = tmp_path / "download (3).xlsx"
    wb.save(p)
    assert detect(p) == "genesis-classic"
    pd.testing.assert_frame_equal(
        genesis_classic.read(p).tables["population"],
        genesis_classic.read(CSV).tables["population"],
    )


def test_decimal_numbers_keep_their_value(tmp_path: Path) -> None:
    """A German table's decimal figure (a float cell) is not taken for a thousands separator."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in [
        ["GENESIS-Tabelle: 12612-0009"],
        ["Zusammengefasste Geburtenziffer (je Frau): Deutschland, Jahre, Altersgruppen"],
        ["der Frauen"],
        ["Statistik der Geburten"],
        ["Deutschland"],
        ["Zusammengefasste Geburtenziffer (je Frau) (Anzahl)"],
        [None, "Altersgruppen der Frauen"],
        [None, "15 bis unter 50 Jahre"],
        ["2019", 1.54],
        ["2020", 1.53],
        ["__________"],
        ["© Statistisches Bundesamt (Destatis), 2024"],
    ]:
        ws.append(row)
    p = tmp_path / "tfr.xlsx"
    wb.save(p)
    b = genesis_classic.read(p)
    ((_name, frame),) = b.tables.items()
    assert sorted(frame["value"].round(4).tolist()) == [1.53, 1.54]

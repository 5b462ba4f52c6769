"""GV-ISys "Auszug GV" reader: real extracts 2009/2013/2017 (xlsx) and 2019 (CSV), bad variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from wandel.errors import (
    DuplicateKeyError,
    InconsistentTotalError,
    InputFormatError,
    MissingColumnError,
)
from wandel.sources import gv_isys
from wandel.sources.base import ImportBatch

GV_FILES = {
    2009: "31122009_Auszug_GV.xlsx",
    2013: "31122013_Auszug_GV.xlsx",
    2017: "31122017_Auszug_GV.xlsx",
    2019: "AuszugGV4QAktuell_2019.csv",
}

# Published population of Germany on 31 December (Destatis, Bevölkerungsstand; 2013 onwards on the
# basis of the 2011 census) and of the three seed Länder on 31.12.2019.
GERMANY = {2009: 81_802_257, 2013: 80_767_463, 2017: 82_792_351, 2019: 83_166_711}
LAENDER_2019 = {"14": 4_071_971, "15": 2_194_782, "16": 2_133_378}


@pytest.fixture(scope="module")
def batches(shared_data: Path) -> dict[int, ImportBatch]:
    folder = shared_data / "gemeindeverzeichnis"
    return {y: gv_isys.read(folder / f) for y, f in GV_FILES.items()}


def _satzart60(path: Path) -> int:
    """Independent count of Satzart-60 rows, straight from the raw file (distinct rows)."""
    if path.suffix == ".csv":
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        return len({ln for ln in lines if ln.startswith("60,")})
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb.worksheets[1]
    rows = {tuple(r[:8]) for r in ws.iter_rows(values_only=True) if r and r[0] == "60"}
    wb.close()
    return len(rows)


def test_hettstedt_2019(batches: dict[int, ImportBatch]) -> None:
    gv = batches[2019].tables["gv_records"]
    row = gv[(gv["zone"] == "15087220") & (gv["level"] == "gemeinde")].iloc[0]
    assert row["pop_total"] == 13_885
    assert (row["pop_m"], row["pop_f"]) == (6_766, 7_119)
    assert row["area_km2"] == pytest.approx(36.93)
    assert row["parent"] == "150870220"
    assert row["lon"] == pytest.approx(11.514615)
    assert row["lat"] == pytest.approx(51.644922)
    pop = batches[2019].tables["population"]
    h = pop[pop["zone"] == "15087220"].set_index("sex")["value"]
    assert h.to_dict() == {"f": 7_119.0, "m": 6_766.0}


@pytest.mark.parametrize("year", sorted(GV_FILES))
def test_gemeinde_counts_match_raw_satzart60(
    batches: dict[int, ImportBatch], shared_data: Path, year: int
) -> None:
    gv = batches[year].tables["gv_records"]
    n = int((gv["level"] == "gemeinde").sum())
    assert n == _satzart60(shared_data / "gemeindeverzeichnis" / GV_FILES[year])
    assert gv["year"].unique().tolist() == [year]
    if year == 2019:
        assert n == 11_004  # data README


def test_2017_identical_duplicate_is_left_out(batches: dict[int, ImportBatch]) -> None:
    b = batches[2017]
    assert b.rejected == (("identical duplicate record left out", 8),)
    gv = b.tables["gv_records"]
    assert not gv.duplicated(["zone", "level"]).any()


@pytest.mark.parametrize("year", sorted(GV_FILES))
def test_germany_total_is_published_figure(batches: dict[int, ImportBatch], year: int) -> None:
    pop = batches[year].tables["population"]
    assert pop["value"].sum() == GERMANY[year]
    gv = batches[year].tables["gv_records"]
    assert gv.loc[gv["level"] == "land", "pop_total"].sum() == GERMANY[year]


def test_land_and_kreis_totals_are_sums_of_gemeinden(batches: dict[int, ImportBatch]) -> None:
    gv = batches[2019].tables["gv_records"]
    gem = gv[gv["level"] == "gemeinde"]
    land = gv[gv["level"] == "land"].set_index("zone")["pop_total"]
    for code, published in LAENDER_2019.items():
        by_hand = gem.loc[gem["zone"].str[:2] == code, "pop_total"].sum()
        assert by_hand == published
        assert land[code] == published
    kreis = gv[gv["level"] == "kreis"].set_index("zone")["pop_total"]
    assert kreis["15087"] == gem.loc[gem["zone"].str[:5] == "15087", "pop_total"].sum()


def test_seed_states_lose_gemeinden_2009_to_2019(batches: dict[int, ImportBatch]) -> None:
    def count(year: int, land: str) -> int:
        gv = batches[year].tables["gv_records"]
        return int(((gv["level"] == "gemeinde") & (gv["zone"].str[:2] == land)).sum())

    for land in ("15", "16"):
        counts = [count(y, land) for y in sorted(GV_FILES)]
        assert counts == sorted(counts, reverse=True), (land, counts)
        assert counts[0] > counts[-1]
    assert count(2009, "15") > 800 > 250 > count(2013, "15")  # Sachsen-Anhalt's reform
    assert count(2017, "16") - count(2019, "16") > 150  # Thüringen's 2018/2019 mergers


def test_keys_and_levels(batches: dict[int, ImportBatch]) -> None:
    width = {"land": 2, "regbez": 3, "region": 4, "kreis": 5, "gemeindeverband": 9, "gemeinde": 8}
    for b in batches.values():
        gv = b.tables["gv_records"]
        assert (gv["zone"].str.len() == gv["level"].map(width)).all()
        assert gv["zone"].str.fullmatch(r"\d+").all()
        gem = gv[gv["level"] == "gemeinde"]
        # every Gemeinde's parent is a listed Gemeindeverband of the same Kreis
        verband = set(gv.loc[gv["level"] == "gemeindeverband", "zone"])
        assert gem["parent"].isin(verband).all()
        assert (gem["parent"].str[:5] == gem["zone"].str[:5]).all()


def test_2009_coordinates_are_degrees_minutes_seconds(batches: dict[int, ImportBatch]) -> None:
    # Flensburg: 2009 publishes 9.2615 / 54.4657 (9°26'15", 54°46'57"); 2013 9.43751 / 54.78252
    a = batches[2009].tables["gv_records"].set_index("zone")
    b = batches[2013].tables["gv_records"].set_index("zone")
    assert a.loc["01001000", "lon"] == pytest.approx(9 + 26 / 60 + 15 / 3600)
    assert a.loc["01001000", "lat"] == pytest.approx(54 + 46 / 60 + 57 / 3600)
    assert abs(a.loc["01001000", "lon"] - b.loc["01001000", "lon"]) < 0.001
    gem = a[a["level"] == "gemeinde"]
    assert gem["lon"].between(5.5, 15.1).all() or gem["lon"].isna().any()


def test_fixture_csv_and_sniff(fixtures: Path) -> None:
    path = fixtures / "gv" / "mini_gv_2019.csv"
    assert gv_isys.sniff(path, path.read_bytes()[:65536])
    b = gv_isys.read(path)
    gv = b.tables["gv_records"].set_index("zone")
    assert gv.loc["15087", "pop_total"] == 13_885 + 25_963 + 1_561 + 3_986
    assert gv.loc["150875002", "area_km2"] == pytest.approx(5.09 + 9.27)
    assert gv.loc["15087010", "parent"] == "150875002"
    assert gv.loc["15", "parent"] is pd.NA or pd.isna(gv.loc["15", "parent"])
    pop = b.tables["population"]
    assert len(pop) == 8
    assert set(pop["sex"]) == {"m", "f"}
    assert pop["age_end"].isna().all()
    assert (pop["age_start"] == 0).all()
    assert not pop["estimated"].any()


def test_total_only_gives_sex_t(fixtures: Path, tmp_path: Path) -> None:
    lines = (fixtures / "gv" / "mini_gv_2019.csv").read_text(encoding="utf-8-sig").splitlines()
    out = []
    for ln in lines:
        cells = _split(ln)
        del cells[10:12]
        out.append(",".join(_quote(c) for c in cells))
    p = tmp_path / "gv_total_only_2019.csv"
    p.write_text("\n".join(out), encoding="utf-8")
    pop = gv_isys.read(p).tables["population"]
    assert set(pop["sex"]) == {"t"}
    assert pop["value"].sum() == 13_885 + 25_963 + 1_561 + 3_986


# --------------------------------------------------------------------------- bad input


def _split(line: str) -> list[str]:
    import csv

    return next(csv.reader([line]))


def _quote(cell: str) -> str:
    return f'"{cell}"' if "," in cell else cell


def _variant(fixtures: Path, tmp_path: Path, edit: dict[tuple[int, int], str]) -> Path:
    """The mini fixture with cells replaced: ``{(line, column): text}``, both 1-based."""
    lines = (fixtures / "gv" / "mini_gv_2019.csv").read_text(encoding="utf-8-sig").splitlines()
    rows = [_split(ln) for ln in lines]
    for (line, col), text in edit.items():
        rows[line - 1][col - 1] = text
    p = tmp_path / "bad_2019.csv"
    p.write_text("\n".join(",".join(_quote(c) for c in r) for r in rows), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("edit", "error", "line", "column"),
    [
        ({(5, 11): "6 767"}, InconsistentTotalError, 5, "bevoelkerung"),  # male+female != total
        ({(5, 5): "8"}, InputFormatError, 5, "kreis"),  # Kreis part "8": AGS with 7 digits
        ({(5, 10): "viele"}, InputFormatError, 5, "bevoelkerung"),  # text in a number cell
        ({(10, 7): "010"}, DuplicateKeyError, 10, "gemeinde"),  # duplicate AGS
        ({(5, 15): "11.514615"}, InputFormatError, 5, "laengengrad"),  # mixed decimal marks
        ({(5, 9): "-3.5"}, InputFormatError, 5, "flaeche"),  # negative area
        ({(5, 1): "70"}, InputFormatError, 5, "satzart"),  # unknown Satzart
        ({(5, 16): "15,2"}, InputFormatError, 5, "breitengrad"),  # latitude outside Germany
        ({(9, 10): "1 561,5"}, InputFormatError, 9, "bevoelkerung"),  # fractional population
    ],
)
def test_bad_csv_variants(
    fixtures: Path,
    tmp_path: Path,
    edit: dict[tuple[int, int], str],
    error: type[InputFormatError],
    line: int,
    column: str,
) -> None:
    p = _variant(fixtures, tmp_path, edit)
    with pytest.raises(error) as info:
        gv_isys.read(p)
    exc = info.value
    assert exc.file == str(p)
    assert exc.line == line
    assert exc.column is not None
    assert str(exc.column).split(" ")[0] == column, str(exc)
    assert str(p) in str(exc)


def test_missing_column(fixtures: Path, tmp_path: Path) -> None:
    p = _variant(fixtures, tmp_path, {(1, 10): "irgendwas"})
    with pytest.raises(MissingColumnError) as info:
        gv_isys.read(p)
    assert info.value.line == 1
    assert info.value.column == "pop_t"


def _write_xlsx(path: Path, rows: list[list[object]], sheet: str = "Gemeindedaten") -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    wb.save(path)


def _xlsx_rows() -> list[list[object]]:
    top = ["Satz-art", "Text-kenn-zeichen", "Regionalschlüssel (RS)", None, None, None, None]
    top += ["Gemeindename", "Fläche km2 1)", "Bevölkerung2)", None, None, None, "Post-leit-zahl"]
    top += ["Geografische Mittelpunktkoordinaten", None]
    sub = [None, None, "Land", "RB", "Kreis", "VB", "Gem", None, None, "insgesamt", "männlich"]
    sub += ["weiblich", "je km2", None, "Längengrad", "Breitengrad"]
    return [
        ["Gemeinden in Deutschland nach Fläche, Bevölkerung und Postleitzahl am 31.12.2019 (Jahr)"],
        [],
        top,
        sub,
        [None, None, "Gebietsstand am 31.12.2019 (Jahr)"],
        [],
        ["10", "", "16", "", "", "", "", "Thüringen"],
        ["40", "41", "16", "0", "51", "", "", "Erfurt, Stadt"],
        ["50", "50", "16", "0", "51", "0000", "", "Erfurt, Stadt"],
        [
            "60",
            "61",
            "16",
            "0",
            "51",
            "0000",
            "000",
            "Erfurt, Stadt",
            269.91,
            213981,
            104340,
            109641,
            793,
            "99084",
            "11,026",
            "50,978",
        ],
        [],
        ["1) Abweichungen der Flächenangaben sind durch Runden der Zahlen möglich."],
    ]


def test_xlsx_fixture_reads(tmp_path: Path) -> None:
    p = tmp_path / "gv.xlsx"
    _write_xlsx(p, _xlsx_rows())
    assert gv_isys.sniff(p, p.read_bytes()[:65536])
    b = gv_isys.read(p)
    gv = b.tables["gv_records"].set_index("zone")
    assert int(gv.loc["16051000", "year"]) == 2019  # from the title, not the file name
    assert gv.loc["16", "pop_total"] == 213_981
    assert gv.loc["16051000", "lon"] == pytest.approx(11.026)


def test_xlsx_number_keys_get_their_leading_zeros(tmp_path: Path) -> None:
    """A key stored as a number cell lost its zeros only to the cell type: the layout fixes the
    width (Land 2, RB 1, Kreis 2, VB 4, Gem 3), so 0 -> "0000" and 0 -> "000" are unambiguous."""
    rows = _xlsx_rows()
    for r in rows[6:10]:
        r[2:7] = [int(str(c)) if c not in ("", None) else c for c in r[2:7]]
    p = tmp_path / "gv.xlsx"
    _write_xlsx(p, rows)
    gv = gv_isys.read(p).tables["gv_records"].set_index("zone")
    assert {"16", "16051", "160510000", "16051000"} <= set(gv.index)
    assert gv.loc["16051000", "parent"] == "160510000"


def test_xlsx_number_key_too_wide(tmp_path: Path) -> None:
    rows = _xlsx_rows()
    rows[6][2] = 161  # three digits in the two-digit Land field
    p = tmp_path / "gv.xlsx"
    _write_xlsx(p, rows)
    with pytest.raises(InputFormatError) as info:
        gv_isys.read(p)
    assert (info.value.line, info.value.column, info.value.value) == (7, "C (land)", "161")


def test_xlsx_wrong_sheet(tmp_path: Path) -> None:
    p = tmp_path / "gv.xlsx"
    _write_xlsx(p, [["Bevölkerung nach Altersgruppen"], ["Alter", "Anzahl"]], sheet="Tabelle1")
    with pytest.raises(InputFormatError) as info:
        gv_isys.read(p)
    assert info.value.file == str(p)
    assert info.value.line == 1
    assert info.value.column == "A"
    assert "Tabelle1" in str(info.value)


def test_truncated_xlsx_is_not_a_zip(tmp_path: Path) -> None:
    good = tmp_path / "gv.xlsx"
    _write_xlsx(good, _xlsx_rows())
    p = tmp_path / "truncated.xlsx"
    p.write_bytes(good.read_bytes()[:1500])
    with pytest.raises(InputFormatError) as info:
        gv_isys.read(p)
    assert info.value.file == str(p)
    assert "xlsx" in str(info.value)


def test_xlsx_text_in_number_and_sex_mismatch(tmp_path: Path) -> None:
    rows = _xlsx_rows()
    rows[9][10] = 104341
    p = tmp_path / "gv.xlsx"
    _write_xlsx(p, rows)
    with pytest.raises(InconsistentTotalError) as info:
        gv_isys.read(p)
    assert (info.value.line, info.value.column) == (10, "J (pop_t)")
    rows = _xlsx_rows()
    rows[9][9] = "k.A."
    _write_xlsx(p, rows)
    with pytest.raises(InputFormatError) as info2:
        gv_isys.read(p)
    assert (info2.value.line, info2.value.column, info2.value.value) == (10, "J (pop_t)", "k.A.")


def test_reference_date_must_be_year_end(tmp_path: Path) -> None:
    rows = _xlsx_rows()
    rows[0] = ["Gemeinden in Deutschland am 30.06.2019"]
    p = tmp_path / "gv.xlsx"
    _write_xlsx(p, rows)
    with pytest.raises(InputFormatError, match="31 December"):
        gv_isys.read(p)


def test_determinism(fixtures: Path) -> None:
    path = fixtures / "gv" / "mini_gv_2019.csv"
    a, b = gv_isys.read(path), gv_isys.read(path)
    for name in ("gv_records", "population"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert np.isfinite(a.tables["gv_records"]["area_km2"]).all()


@pytest.mark.parametrize(
    ("fixture", "year"), [("mini_gv_2008.xls", 2008), ("mini_gv_2022.xlsx", 2022)]
)
def test_any_sheet_name_and_the_older_xls(
    fixture: str, year: int, fixtures: Path, tmp_path: Path
) -> None:
    """The GV sheet is found by its header, whatever it is called and wherever it sits; the file
    name says nothing (the year comes from the title row)."""
    from wandel.sources.registry import detect

    p = tmp_path / "download"
    p.write_bytes((fixtures / "gv" / fixture).read_bytes())
    assert detect(p) == "gv-isys"
    b = gv_isys.read(p)
    gv = b.tables["gv_records"].set_index("zone")
    assert set(gv["year"]) == {year}
    assert gv.loc["15087220", "pop_total"] == 13_885  # Hettstedt, GV-ISys 31.12.2019
    assert gv.loc["15087", "pop_total"] == 13_885 + 25_963  # Kreis = sum of its Gemeinden
    assert gv.loc["15087220", "parent"] == "150870220"
    assert gv.loc["16051000", "lat"] == pytest.approx(50.979)
    pop = b.tables["population"]
    assert pop["value"].sum() == 13_885 + 25_963 + 213_981

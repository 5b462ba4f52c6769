"""Real flat files of the GENESIS web service (Zensus 2022 database, Regionaldatenbank): the
published layout as it comes, not as an invented fixture guesses it (``fixtures/zensus/service``).

Expected values are read from the files by plain string operations (a naive oracle beside the
reader), plus Germany's published Zensus 2022 total, 82,719,540.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from wandel.errors import InconsistentTotalError, InputFormatError
from wandel.sources import registry
from wandel.sources.ffcsv import CENSUS_SLACK
from wandel.store import Store

GERMANY_2022 = 82_719_540


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text("utf-8-sig").splitlines()
    return [ln.split(";") for ln in lines[1:] if ln.strip()]


def _header(path: Path) -> list[str]:
    return path.read_text("utf-8-sig").splitlines()[0].split(";")


@pytest.fixture
def service(fixtures: Path) -> Path:
    return fixtures / "zensus" / "service"


def _ags(ars: str) -> str:
    return "DG" if ars == "DG" else ars[:5] + ars[9:]


def test_zensus_2022_gemeinden_by_ars_under_several_region_variables(service: Path) -> None:
    """1000A-0000: Deutschland (GEODL1, PRS001) and Gemeinden (GEOGM4, 12-digit ARS, PRS018) in one
    column; every Gemeinde stored under its 8-digit AGS with the file's figure."""
    path = service / "1000A-0000_de_flat.csv"
    rows = _rows(path)
    assert {r[5] for r in rows} == {"GEODL1", "GEOGM4"}  # the file really mixes them
    assert {r[11] for r in rows} == {"PRS001", "PRS018"}
    census = registry.read(path).tables["census_population"]
    got = census.set_index("zone")["value"]
    expected = {_ags(r[7]): float(r[9]) for r in rows}
    assert len(got) == len(expected) == len(rows)
    assert got.to_dict() == expected
    assert got["DG"] == GERMANY_2022
    assert got["15087220"] == 13_111  # Hettstedt, Stadt (ARS 150870220220)
    assert set(census["reference_date"]) == {"2022-05-15"}
    assert (census["age_start"] == 0).all()
    assert census["age_end"].isna().all()


def test_zensus_2022_english_file_gives_the_same_figures(service: Path) -> None:
    de = registry.read(service / "1000A-0000_de_flat.csv").tables["census_population"]
    en = registry.read(service / "1000A-0000_en_flat.csv").tables["census_population"]
    both = en.merge(de, on=["zone", "reference_date", "sex"], suffixes=("_en", "_de"))
    assert len(both) == len(en) == 1 + sum(1 for z in de["zone"] if z.startswith("15087"))
    assert (both["value_en"] == both["value_de"]).all()


def test_zensus_2022_age_groups_inclusive_and_breakdown_total_kept(service: Path) -> None:
    """1000A-2022: ``10 bis 19 Jahre`` is [10, 20); of the Einwanderungsgeschichte only its total
    (empty code) is kept; the parts miss their total by a few persons (cell key method)."""
    path = service / "1000A-2022_de_flat.csv"
    rows = _rows(path)
    batch = registry.read(path)
    census = batch.tables["census_population"]
    total_rows = [r for r in rows if r[15] == ""]
    breakdown = len(rows) - len(total_rows)
    assert breakdown > 0
    rejected = dict(batch.rejected)
    assert rejected["@sources.note.breakdown_total_kept"] == breakdown
    groups = sorted(
        {
            (int(a), None if pd.isna(b) else int(b))
            for a, b in census[["age_start", "age_end"]].values
        }
    )
    assert groups == [(a, a + 10) for a in range(0, 80, 10)] + [(80, None)]
    # the stored parts are the file's age rows of the Einwanderungsgeschichte total
    parts = [r for r in total_rows if r[11] != ""]
    for region in ("DG", "14", "15", "16"):
        mine = [float(r[17]) for r in parts if r[7] == region]
        stored = census[census["zone"] == region]["value"]
        assert sorted(stored) == sorted(mine)
        total = next(float(r[17]) for r in total_rows if r[7] == region and r[11] == "")
        assert abs(sum(mine) - total) <= CENSUS_SLACK * len(mine)
    dg_total = next(float(r[17]) for r in total_rows if r[7] == "DG" and r[11] == "")
    assert dg_total == GERMANY_2022
    differed = sum(
        1
        for region in ("DG", "14", "15", "16")
        if sum(float(r[17]) for r in parts if r[7] == region)
        != next(float(r[17]) for r in total_rows if r[7] == region and r[11] == "")
    )
    assert differed > 0
    assert rejected["@sources.note.census_secrecy"] == differed


def test_a_census_total_far_from_its_parts_is_still_refused(service: Path, tmp_path: Path) -> None:
    """The slack is the cell key method's few persons per part, not any difference."""
    src = service / "1000A-2022_de_flat.csv"
    lines = src.read_text("utf-8-sig").splitlines()
    i = next(
        k
        for k, ln in enumerate(lines)
        if ln.split(";")[7] == "15" and ln.split(";")[11] == "" and ln.split(";")[15] == ""
    )
    cells = lines[i].split(";")
    n_parts = 9
    cells[17] = str(int(cells[17]) + int(CENSUS_SLACK * n_parts) + 10)
    lines[i] = ";".join(cells)
    bad = tmp_path / "1000A-2022_bad.csv"
    bad.write_text("\ufeff" + "\n".join(lines) + "\n", "utf-8")
    with pytest.raises(InconsistentTotalError) as err:
        registry.read(bad)
    assert err.value.line == i + 1
    assert "." not in str(err.value.fields["sum"])  # a count, not 1.74884e+06


def test_a_breakdown_without_its_total_is_refused(service: Path, tmp_path: Path) -> None:
    src = service / "1000A-2022_de_flat.csv"
    lines = src.read_text("utf-8-sig").splitlines()
    kept = [lines[0]] + [ln for ln in lines[1:] if ln.split(";")[15] != ""]
    bad = tmp_path / "1000A-2022_parts_only.csv"
    bad.write_text("\ufeff" + "\n".join(kept) + "\n", "utf-8")
    with pytest.raises(InputFormatError) as err:
        registry.read(bad)
    assert err.value.expected == "@sources.expected.only_total"
    assert err.value.fields["var"] in ("WDGAT1", "WDGAT2")


def test_regionaldatenbank_kreise_leave_out_gemeinden_listed_among_them(service: Path) -> None:
    """12411-01-01-4 (31.12.2024): the 8-digit keys under KREISE (Berlin's Bezirke, Hannover,
    Aachen, Saarbrücken) are left out and counted; every Kreis keeps the published figures."""
    path = service / "12411-01-01-4_de_flat.csv"
    rows = _rows(path)
    eight = [r for r in rows if len(r[7]) == 8]
    assert {r[7][:2] for r in eight} >= {"11", "03", "05", "10"}
    batch = registry.read(path)
    pop = batch.tables["population"]
    assert dict(batch.rejected)["@sources.note.gemeinden_among_kreise"] == len(eight)
    assert all(len(z) == 5 for z in pop["zone"])
    by = pop.groupby(["zone", "sex"])["value"].sum(min_count=1)
    for r in rows:
        if len(r[7]) != 5 or r[11] == "" or r[13] == "-":
            continue
        assert by[(r[7], {"GESM": "m", "GESW": "f"}[r[11]])] == float(r[13])
    totals = {r[7]: float(r[13]) for r in rows if r[11] == "" and r[13] != "-"}
    assert totals["16073"] == 100_105  # Saalfeld-Rudolstadt
    for z in ("16073", "15087", "14625", "11000"):
        assert by[(z, "m")] + by[(z, "f")] == totals[z]


def test_zensus_2011_database_keeps_the_persons_of_three_measures(service: Path) -> None:
    """1000A-0001 of the Zensus 2011 database: Personen, Fläche and Bevölkerungsdichte per
    Gemeinde; the count of persons is stored, area and density left out and counted."""
    path = service / "1000A-0001_zensus2011_de_flat.csv"
    rows = _rows(path)
    persons = {_ags(r[7]): float(r[9]) for r in rows if r[10] == "Anzahl"}
    others = [r for r in rows if r[10] != "Anzahl"]
    assert {r[12] for r in others} == {"Fläche", "Bevölkerungsdichte"}
    batch = registry.read(path)
    census = batch.tables["census_population"]
    assert census.set_index("zone")["value"].to_dict() == persons
    assert set(census["reference_date"]) == {"2011-05-09"}
    assert dict(batch.rejected)["@sources.note.other_measures"] == len(others)
    # the oracle beside it: persons = density x area, within the rounding of both
    area = {_ags(r[7]): float(r[9].replace(",", ".")) for r in rows if r[10] == "qkm"}
    density = {_ags(r[7]): float(r[9].replace(",", ".")) for r in rows if r[10] == "Ew/qkm"}
    for z, n in persons.items():
        assert abs(density[z] * area[z] - n) <= 0.5 * area[z] + 0.005 * density[z] + 1


@pytest.mark.parametrize(
    ("name", "year", "total"),
    [
        ("12411-01-01-4_2022_older_de_flat.csv", 2022, "Insgesamt"),
        ("12411-01-01-4_2023_older_en_flat.csv", 2023, "Total"),
    ],
)
def test_older_regionaldatenbank_layouts_with_the_levels_above_the_kreise(
    service: Path, name: str, year: int, total: str
) -> None:
    """The older layout (German names, and the English one with its attribute columns named like
    the code column): Deutschland, Länder and Regierungsbezirke under KREISE are regions of their
    own level; every figure is the file's."""
    path = service / name
    rows = _rows(path)
    assert {len(r[7]) for r in rows} >= {2, 3, 5, 8}
    batch = registry.read(path)
    pop = batch.tables["population"]
    assert set(pop["year"]) == {year}
    by = pop.groupby(["zone", "sex"])["value"].sum()
    parts = [r for r in rows if r[11] != "" and len(r[7]) != 8]
    assert len(by) == len(parts)
    assert sum(1 for r in parts if r[13] == "-") > 0  # dissolved Kreise: nothing there
    for r in (r for r in parts if r[13] != "-"):
        assert by[(r[7], {"GESM": "m", "GESW": "f"}[r[11]])] == float(r[13])
    for r in (r for r in rows if r[12] == total and len(r[7]) != 8 and r[13] != "-"):
        assert by[(r[7], "m")] + by[(r[7], "f")] == float(r[13])
    eight = sum(1 for r in rows if len(r[7]) == 8)
    assert dict(batch.rejected)["@sources.note.gemeinden_among_kreise"] == eight


def test_the_two_older_layouts_agree_where_their_years_meet(service: Path) -> None:
    de = registry.read(service / "12411-01-01-4_2022_older_de_flat.csv").tables["population"]
    en = registry.read(service / "12411-01-01-4_2023_older_en_flat.csv").tables["population"]
    assert set(de["zone"]) == set(en["zone"])
    assert int(de[de["zone"] == "DG"]["value"].sum()) == 84_358_845  # 31.12.2022, published
    assert int(en[en["zone"] == "DG"]["value"].sum()) == 84_669_326  # 31.12.2023, published


def test_zensus_2011_safe_sexes_within_the_slack_of_the_official_count(service: Path) -> None:
    """12111-01-01-4: the official count per Kreis is unchanged by SAFE, the sexes are not: the
    Herzogtum Lauenburg's miss it by one; the breakdown by Nationalität keeps its total only."""
    path = service / "12111-01-01-4_zensus2011_older_de_flat.csv"
    rows = _rows(path)
    batch = registry.read(path)
    census = batch.tables["census_population"]
    by = census.groupby(["zone", "sex"])["value"].sum()
    lau = {r[15]: float(r[17]) for r in rows if r[7] == "01053" and r[11] == ""}
    assert lau["GESM"] + lau["GESW"] - lau[""] == 1  # the file really misses by one
    assert by[("01053", "m")] == lau["GESM"]
    assert by[("01053", "f")] == lau["GESW"]
    rejected = dict(batch.rejected)
    assert rejected["@sources.note.breakdown_total_kept"] == sum(1 for r in rows if r[11] != "")
    assert rejected["@sources.note.census_secrecy"] >= 1
    dg = {r[15]: float(r[17]) for r in rows if r[7] == "DG" and r[11] == ""}
    assert dg[""] == 80_219_695  # Zensus 2011, published


def test_one_measure_means_one_label(service: Path, tmp_path: Path) -> None:
    """The measure's code may vary by regional level, its label may not."""
    src = service / "1000A-0000_de_flat.csv"
    lines = src.read_text("utf-8-sig").splitlines()
    cells = lines[5].split(";")
    cells[12] = "Haushalte"
    lines[5] = ";".join(cells)
    bad = tmp_path / "1000A-0000_two_measures.csv"
    bad.write_text("\ufeff" + "\n".join(lines) + "\n", "utf-8")
    with pytest.raises(InputFormatError) as err:
        registry.read(bad)
    assert err.value.line == 6
    assert err.value.column == "value_variable_label"


def test_variables_of_two_kinds_at_one_position_are_refused(service: Path, tmp_path: Path) -> None:
    src = service / "12411-01-01-4_de_flat.csv"
    header = _header(src)
    lines = src.read_text("utf-8-sig").splitlines()
    col = header.index("2_variable_code")
    cells = lines[7].split(";")
    assert cells[col] == "GES"
    cells[col] = "ALTX20"
    lines[7] = ";".join(cells)
    bad = tmp_path / "12411_mixed.csv"
    bad.write_text("\ufeff" + "\n".join(lines) + "\n", "utf-8")
    with pytest.raises(InputFormatError) as err:
        registry.read(bad)
    assert err.value.line == 8
    assert err.value.column == "2_variable_code"
    assert err.value.expected == "@sources.expected.same_kind_of_variable"


def test_service_files_import_into_a_store(service: Path, tmp_path: Path) -> None:
    """Through the CLI's one import path: every file in one call, then the figures in the store."""
    from typer.testing import CliRunner

    from wandel.cli import app

    db = tmp_path / "s.duckdb"
    files = [str(f) for f in sorted(service.glob("*.csv"))]
    result = CliRunner().invoke(app, ["import", *files, "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store.open(db, read_only=True) as store:
        census = store.table("census_population")
        pop = store.table("population")
    total = (census["zone"] == "DG") & (census["reference_date"] == "2022-05-15")
    total &= (census["age_start"] == 0) & census["age_end"].isna()
    assert census[total]["value"].tolist() == [GERMANY_2022]
    het = census[census["zone"] == "15087220"].set_index("reference_date")["value"]
    assert het.to_dict() == {"2011-05-09": 15_196, "2022-05-15": 13_111}
    assert pop[(pop["zone"] == "16073") & (pop["year"] == 2024)]["value"].sum() == 100_105

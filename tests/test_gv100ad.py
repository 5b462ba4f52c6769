"""GV100AD fixed-width Gemeindeverzeichnis: the hand-made fixture, published sample records, and
each way a file can break."""

from __future__ import annotations

from pathlib import Path

import pytest

from wandel.errors import InconsistentTotalError, InputFormatError
from wandel.sources import gv100ad
from wandel.sources.registry import detect

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "gv100ad" / "GV100AD_31122019.txt"

# Records as published in GV100AD files (shown in the tests of the Python package gv100ad-py and
# the Rust crate gv100ad): Eberbach (Gebietsstand 31.01.2022) and Saarbrücken (30.04.2021), with
# the Gebietsstand changed to 31 December so that Wandel accepts them.
EBERBACH = (
    "6020221231082260135001Eberbach, Stadt"
    + " " * 35
    + " " * 50
    + "63    000000081150000001426700000006914    69412*****  2840130262405277"
).ljust(220)
SAARBRUECKEN = (
    "6020201231100411000100Saarbrücken, Landeshauptstadt"
    + " " * 21
    + " " * 50
    + "63    000000167520000018037400000089528    66111*****  1040110955501296"
).ljust(220)


def _write(tmp_path: Path, lines: list[str], name: str = "gv.txt") -> Path:
    p = tmp_path / name
    p.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return p


def test_fixture_detected_and_read() -> None:
    assert detect(FIXTURE) == "gv100ad"
    b = gv100ad.read(FIXTURE)
    gv = b.tables["gv_records"].set_index("zone")
    assert set(gv["year"]) == {2019}
    assert gv.loc["15087220", "name"] == "Hettstedt, Stadt"
    assert gv.loc["15087220", "parent"] == "150870220"
    assert gv.loc["150875002", "parent"] == "15087"
    assert gv.loc["15087", "parent"] == "15"
    assert gv.loc["15087220", "area_km2"] == pytest.approx(36.93)  # 3693 ha
    assert gv.loc["15087", "area_km2"] == pytest.approx(36.93 + 207.71 + 5.09 + 9.27)
    assert gv.loc["15087220", "postcode"] == "06333"
    assert "population" not in b.tables  # the counts' reference date is not in the file
    assert gv["pop_total"].isna().all()
    assert b.rejected[0][1] == 5  # five Gemeinden whose counts were left out


def test_counts_with_their_stated_year() -> None:
    b = gv100ad.read(FIXTURE, year=2019)
    gv = b.tables["gv_records"].set_index("zone")
    assert gv.loc["15087220", "pop_total"] == 13_885  # Hettstedt 31.12.2019 (GV-ISys)
    assert gv.loc["15087220", "pop_f"] == 13_885 - 6_766
    assert gv.loc["15087", "pop_total"] == 13_885 + 25_963 + 1_561 + 3_986
    pop = b.tables["population"]
    assert pop["value"].sum() == 13_885 + 25_963 + 1_561 + 3_986 + 213_981
    assert set(pop["sex"]) == {"m", "f"}
    assert b.rejected == ()


def test_published_records(tmp_path: Path) -> None:
    b = gv100ad.read(_write(tmp_path, [EBERBACH]), year=2022)
    row = b.tables["gv_records"].set_index("zone").loc["08226013"]
    assert row["name"] == "Eberbach, Stadt"
    assert row["area_km2"] == pytest.approx(81.15)
    assert (row["pop_total"], row["pop_m"], row["pop_f"]) == (14_267, 6_914, 14_267 - 6_914)
    assert row["postcode"] == "69412"
    b = gv100ad.read(_write(tmp_path, [SAARBRUECKEN]), year=2020)
    row = b.tables["gv_records"].set_index("zone").loc["10041100"]
    assert (row["pop_total"], row["area_km2"]) == (180_374, pytest.approx(167.52))


def test_iso_8859_1_file(tmp_path: Path) -> None:
    p = tmp_path / "alt.txt"
    p.write_bytes(SAARBRUECKEN.encode("latin-1") + b"\r\n")
    gv = gv100ad.read(p).tables["gv_records"]
    assert gv["name"].iloc[0] == "Saarbrücken, Landeshauptstadt"


def _lines() -> list[str]:
    return FIXTURE.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("edit", "line", "column", "words"),
    [
        (lambda ls: [ls[0].replace("20191231", "20190630", 1), *ls[1:]], 1, "stand", "31 December"),
        (
            lambda ls: [*ls[:3], ls[3].replace("20191231", "20181231", 1), *ls[4:]],
            4,
            "stand",
            "Gebietsstand of line 1",
        ),
        (lambda ls: [*ls[:3], ls[3][:40], *ls[4:]], 4, "satzart", "not a GV100AD record"),
        (lambda ls: [*ls[:3], "70" + ls[3][2:], *ls[4:]], 4, "satzart", "not a GV100AD record"),
        (lambda ls: [*ls[:3], ls[3][:13] + "x" + ls[3][14:], *ls[4:]], 4, "kreis", "malformed key"),
        (lambda ls: [*ls[:4], ls[3], *ls[4:]], 5, "satzart", "duplicate key"),
        (
            lambda ls: [*ls[:3], ls[3][:140] + "12a" + ls[3][143:], *ls[4:]],
            4,
            "pop_t",
            "not a number",
        ),
        (
            lambda ls: [*ls[:3], ls[3][:22] + " " * 50 + ls[3][72:], *ls[4:]],
            4,
            "name",
            "empty name",
        ),
    ],
)
def test_bad_files(edit, line: int, column: str, words: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _write(tmp_path, edit(_lines()))
    with pytest.raises(InputFormatError) as info:
        gv100ad.read(p)
    assert info.value.line == line
    assert str(info.value.column).startswith(column)
    assert words in str(info.value)


def test_male_above_total(tmp_path: Path) -> None:
    ls = _lines()
    ls[3] = ls[3][:150] + "00000099999" + ls[3][161:]
    with pytest.raises(InconsistentTotalError) as info:
        gv100ad.read(_write(tmp_path, ls), year=2019)
    assert info.value.line == 4


def test_year_other_than_the_gebietsstand() -> None:
    with pytest.raises(InputFormatError) as info:
        gv100ad.read(FIXTURE, year=2018)
    assert "--year 2019" in str(info.value)


def test_wandel_import_detects_and_stores(tmp_path: Path) -> None:
    """``wandel import`` finds the format by content (the file name says nothing) and stores the
    records; ``--year`` brings the counts; the same file twice changes nothing."""
    from typer.testing import CliRunner

    from wandel.cli import app
    from wandel.store import Store

    runner = CliRunner(env={"WANDEL_LANG": "en"})
    f = tmp_path / "verzeichnis.dat"
    f.write_bytes(FIXTURE.read_bytes())
    db = tmp_path / "s.duckdb"
    res = runner.invoke(app, ["import", str(f), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "gv100ad" in res.stdout
    with Store.open(db, read_only=True) as s:
        gv = s.table("gv_records").set_index("zone")
        assert len(gv) == 13
        assert s.counts()["population"] == 0
        assert gv.loc["15087370", "name"] == "Sangerhausen, Stadt"
    db2 = tmp_path / "s2.duckdb"
    res = runner.invoke(app, ["import", str(f), "--year", "2019", "--db", str(db2)])
    assert res.exit_code == 0, res.output
    with Store.open(db2, read_only=True) as s:
        pop = s.population(["15087220"], [2019])
        assert pop["value"].sum() == 13_885
        before = s.checksum()
    res = runner.invoke(app, ["import", str(f), "--year", "2019", "--db", str(db2)])
    assert res.exit_code == 0
    with Store.open(db2, read_only=True) as s:
        assert s.checksum() == before

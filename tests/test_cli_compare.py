"""wandel indicators / compare / profile / measures, run for real in-process: outputs with source
notes in every format, and bad input ending with one line, exit code 2 and nothing changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from _compare_store import compare_db
from wandel.cli import app
from wandel.reports.exports import source_note_path
from wandel.store import Store

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the comparison demo store (these tests import into it)."""
    target = tmp_path_factory.mktemp("cli_compare") / "store.duckdb"
    shutil.copy(compare_db(tmp_path_factory), target)
    return target


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.output


def _checksum(db: Path) -> str:
    with Store.open(db, read_only=True) as store:
        return store.checksum()


def test_indicator_catalogue_list() -> None:
    code, out = _run("indicators", "--list")
    assert code == 0, out
    assert "median_age" in out
    assert "Medianalter" in out


def test_indicators_in_every_format(db: Path, tmp_path: Path) -> None:
    de, xlsx, gpkg = tmp_path / "i.csv", tmp_path / "i.xlsx", tmp_path / "i.gpkg"
    code, out = _run("indicators", "--db", str(db), "--zones", "15087", "--indicator",
                     "share_65plus,median_age", "--out", str(de))  # fmt: skip
    assert code == 0, out
    frame = pd.read_csv(de, sep=";", decimal=",", dtype={"zone": str}, encoding="utf-8-sig")
    assert set(frame["indicator"]) == {"share_65plus", "median_age"}
    assert set(frame["zone"].str[:5]) == {"15087"}
    assert len(frame) == 2 * (1 + 22)
    note = (tmp_path / "i.quellen.txt").read_text(encoding="utf-8")
    assert "12411-04-02-4" in note
    assert "dl-de/by-2-0" in note
    code, out = _run("indicators", "--db", str(db), "--zones", "15087", "--indicator",
                     "share_65plus", "--out", str(xlsx))  # fmt: skip
    assert code == 0, out
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Daten", "Quellen"]
    code, out = _run("indicators", "--db", str(db), "--zones", "15087", "--level", "gemeinde",
                     "--indicator", "median_age", "--out", str(gpkg))  # fmt: skip
    assert code == 0, out
    layers = pyogrio.list_layers(gpkg)
    assert {str(n) for n, _g in layers} == {"Daten", "quellen"}
    assert len(pyogrio.read_dataframe(gpkg, layer="Daten")) == 22


def test_bad_options_exit_2_and_write_nothing(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    code, out = _run(
        "indicators", "--db", str(db), "--indicator", "medianalter", "--out", str(target)
    )
    assert code == 2
    assert "Kennzahl 'medianalter' gibt es nicht; gemeint: median_age?" in out
    assert "Traceback" not in out
    assert not target.exists()
    code, out = _run(
        "indicators", "--db", str(db), "--indicator", "tfr", "--out", str(tmp_path / "x.pdf")
    )
    assert code == 2
    assert ".csv, .xlsx, .gpkg" in out
    code, out = _run("indicators", "--db", str(db), "--zones", "15087221")
    assert code == 2
    assert "am nächsten: 15087220 (Hettstedt, Stadt)" in out
    assert list(tmp_path.iterdir()) == []


def test_compare_network_table_and_small_multiples(db: Path, tmp_path: Path) -> None:
    png, csv = tmp_path / "n.png", tmp_path / "n.csv"
    code, out = _run("compare", "network", "oberlausitz", "--db", str(db), "--chart", str(png),
                     "--out", str(csv), "--dialect", "rfc")  # fmt: skip
    assert code == 0, out
    assert png.stat().st_size > 20_000
    t = pd.read_csv(csv, dtype={"zone": str})
    assert set(t["zone"]) == {"14625020", "14626110", "14625240"}
    assert (t.groupby("indicator")["network_n"].first() == 3).all()


def test_compare_network_refuses_an_unknown_town(db: Path, tmp_path: Path) -> None:
    f = tmp_path / "netz.yaml"
    f.write_text("- '16073077'\n- '16073099'\n", encoding="utf-8")
    code, out = _run("compare", "network", str(f), "--db", str(db))
    assert code == 2
    assert "netz.yaml, Zeile 2" in out
    assert "'16073099'" in out
    assert "am nächsten: " in out
    code, out = _run("compare", "network", "harz", "--db", str(db))
    assert code == 2
    assert "bekannt: mansfeld-suedharz, oberlausitz, saalebogen" in out


def test_compare_peers_and_typology(db: Path, tmp_path: Path) -> None:
    code, out = _run("compare", "peers", "--zone", "15087220", "--db", str(db), "--k", "3")
    assert code == 0, out
    assert "Eisleben" in out
    assert "geschätzten Altersstrukturen" in out
    png = tmp_path / "t.png"
    code, out = _run("compare", "typology", "--db", str(db), "--k", "4", "--map", str(png),
                     "--out", str(tmp_path / "t.csv"))  # fmt: skip
    assert code == 0, out
    assert "Typ 1: " in out
    assert png.stat().st_size > 20_000
    types = pd.read_csv(tmp_path / "t.csv", sep=";", dtype={"zone": str}, encoding="utf-8-sig")
    assert sorted(types["type"].unique()) == [1, 2, 3, 4]


def test_profile_in_german_and_english(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _run("profile", "--zone", "16073076", "--db", str(db), "--network", "saalebogen")
    assert code == 0, out
    assert "In Rudolstadt beträgt" in out
    assert "Thüringen" in out
    monkeypatch.setenv("WANDEL_LANG", "en")
    code, out = _run("profile", "--zone", "16073076", "--db", str(db))
    monkeypatch.delenv("WANDEL_LANG")
    assert code == 0, out
    assert "In Rudolstadt, " in out
    assert "Thüringen" in out


MEASURE = """\
measures:
  - id: test-1
    zone: "{zone}"
    title: Test
    field: jugend
    year: {year}
    description: Etwas.
    source: Test
"""


def test_measures_import_refuses_bad_files_and_leaves_the_store(db: Path, tmp_path: Path) -> None:
    before = _checksum(db)
    cases = {
        "bad_year.yaml": (MEASURE.format(zone="15087220", year="2O19"), "keine Jahreszahl"),
        "no_field.yaml": (MEASURE.format(zone="15087220", year=2019).replace("    field: jugend\n", ""), "Spalte field"),
        "no_town.yaml": (MEASURE.format(zone="15087221", year=2019), "am nächsten: 15087220"),
    }  # fmt: skip
    for name, (text, why) in cases.items():
        f = tmp_path / name
        f.write_text(text, encoding="utf-8")
        code, out = _run("measures", "import", str(f), "--db", str(db))
        assert code == 2, (name, out)
        assert why in out
        assert "Traceback" not in out
        assert "Der Datenbestand ist unverändert." in out
        assert _checksum(db) == before
    good = tmp_path / "good.yaml"
    good.write_text(MEASURE.format(zone="15087130", year=2019), encoding="utf-8")
    code, out = _run("measures", "import", str(good), "--db", str(db))
    assert code == 0
    assert "good.yaml: 1" in out
    code, out = _run("measures", "import", str(good), "--db", str(db))
    assert code == 0
    assert "bereits importiert" in out
    code, out = _run("measures", "list", "--db", str(db), "--field", "jugend")
    assert code == 0
    assert "Maßnahmen (2)" in out
    listed = tmp_path / "list.csv"
    code, out = _run("measures", "list", "--db", str(db), "--field", "jugend", "--out", str(listed))
    ids = pd.read_csv(listed, sep=";", encoding="utf-8-sig")["measure_id"]
    assert sorted(ids) == ["sangerhausen-jugend-2012", "test-1"]
    code, out = _run("measures", "list", "--db", str(db), "--field", "sport")
    assert code == 2
    assert "--field 'sport' gibt es nicht" in out
    with Store.open(db, read_only=True) as store:
        prov = store.provenance()
    assert "measures" in set(prov["kind"])


def test_generic_import_reads_measures(db: Path, fixtures: Path) -> None:
    code, out = _run("import", str(fixtures / "compare" / "measures_de.csv"), "--db", str(db))
    assert code == 0, out
    with Store.open(db, read_only=True) as store:
        m = store.table("measures")
    assert "eisleben-kita-2018" in set(m["measure_id"])


def test_measures_suggest(db: Path) -> None:
    code, out = _run("measures", "suggest", "--zone", "15087370", "--db", str(db))
    assert code == 0, out
    assert "Maßnahmen für Sangerhausen" in out


def test_the_demo_part_writes_the_comparison_of_the_seed_networks(db: Path, tmp_path: Path) -> None:
    from wandel.workflow.compare import run_compare_demo

    files = run_compare_demo(db, tmp_path)
    names = {p.name for p in files}
    for n in ("mansfeld-suedharz", "oberlausitz", "saalebogen"):
        assert {f"netzwerk_{n}.csv", f"netzwerk_{n}.png"} <= names
    assert {"typologie_karte.png", "profile_seed_staedte.md", "massnahmen_vorschlaege.csv"} <= names
    assert all(p.exists() for p in files)
    csvs = [p for p in files if p.suffix == ".csv"]
    assert all(source_note_path(p) in files for p in csvs)  # every table with its source note
    facts = pd.read_csv(tmp_path / "profile_seed_staedte.csv", sep=";", encoding="utf-8-sig")
    assert facts["zone"].nunique() == 9

"""The command line, run for real in-process: imports, queries, errors with exit code 2."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.store import Store

runner = CliRunner(env={"WANDEL_LANG": "en"})  # the assertions read English messages

GV2019 = "gemeindeverzeichnis/AuszugGV4QAktuell_2019.csv"
KREISE2020 = "statistik/12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv"


def _csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"zone": str})


@pytest.fixture(scope="module")
def store_2019(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    db = tmp_path_factory.mktemp("cli") / "s.duckdb"
    res = runner.invoke(
        app, ["import", str(shared_data / GV2019), str(shared_data / KREISE2020), "--db", str(db)]
    )
    assert res.exit_code == 0, res.output
    return db


def test_population_total_hettstedt_2019(store_2019: Path) -> None:
    res = runner.invoke(
        app,
        ["population", "--db", str(store_2019), "--zones", "15087220", "--year", "2019", "--total"],
    )
    assert res.exit_code == 0, res.output
    frame = _csv(res.stdout)
    assert frame.columns.tolist() == ["zone", "year", "sex", "age_start", "age_end", "value"]
    assert frame["zone"].tolist() == ["15087220"]
    assert frame["value"].tolist() == [13885]


def test_population_kreis_and_land_2020(store_2019: Path) -> None:
    res = runner.invoke(
        app,
        [
            "population",
            "--db",
            str(store_2019),
            "--zones",
            "15",
            "--zones",
            "15087",
            "--year",
            "2020",
            "--total",
        ],
    )
    assert res.exit_code == 0, res.output
    frame = _csv(res.stdout).set_index("zone")
    assert frame.loc["15", "value"] == 2_180_684
    assert frame.loc["15087", "value"] == 133_690


def test_population_long_table_by_age(store_2019: Path) -> None:
    res = runner.invoke(
        app, ["population", "--db", str(store_2019), "--zones", "15087", "--year", "2020"]
    )
    frame = _csv(res.stdout)
    # single ages 0..74 then 75-79, 80-84, 85-89, 90+ for both sexes
    assert len(frame) == 2 * (75 + 4)
    assert frame["value"].sum() == 133_690
    assert frame["age_end"].isna().sum() == 2


def test_level_selects_gemeinden_within(store_2019: Path) -> None:
    res = runner.invoke(
        app,
        [
            "population",
            "--db",
            str(store_2019),
            "--zones",
            "15087",
            "--level",
            "gemeinde",
            "--year",
            "2019",
            "--total",
        ],
    )
    frame = _csv(res.stdout)
    assert frame["zone"].str.startswith("15087").all()
    assert "15087220" in set(frame["zone"])
    assert len(frame) > 10


def test_reimport_changes_nothing(store_2019: Path, shared_data: Path) -> None:
    with Store.open(store_2019, read_only=True) as s:
        before = s.checksum()
    res = runner.invoke(app, ["import", str(shared_data / GV2019), "--db", str(store_2019)])
    assert res.exit_code == 0
    with Store.open(store_2019, read_only=True) as s:
        assert s.checksum() == before


def test_bad_file_exit_2_and_store_unchanged(
    store_2019: Path, tmp_path: Path, shared_data: Path
) -> None:
    lines = (shared_data / KREISE2020).read_bytes().split(b"\n")
    lines[20] = (
        lines[20].replace(b";395333;", b";39x5333;", 1)
        if b";395333;" in lines[20]
        else lines[20] + b";;"
    )
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\n".join(lines))
    with Store.open(store_2019, read_only=True) as s:
        before = s.checksum()
    # a good file named first: nothing of it may land either
    res = runner.invoke(
        app, ["import", str(shared_data / GV2019), str(bad), "--db", str(store_2019)]
    )
    assert res.exit_code == 2
    assert "bad.csv" in res.stderr
    assert "Traceback" not in res.output
    with Store.open(store_2019, read_only=True) as s:
        assert s.checksum() == before


def test_unknown_format_is_refused_by_name(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("Einkaufsliste\nBrot\nMilch\n", encoding="utf-8")
    res = runner.invoke(app, ["import", str(f), "--db", str(tmp_path / "s.duckdb")])
    assert res.exit_code == 2
    assert "notes.txt" in res.stderr
    assert "genesis-classic" in res.stderr  # names the formats it knows


def test_zones_search(store_2019: Path) -> None:
    res = runner.invoke(app, ["zones", "--db", str(store_2019), "--search", "Hettstedt"])
    assert res.exit_code == 0
    frame = _csv(res.stdout)
    assert "15087220" in set(frame["zone"])


def test_info_lists_provenance(store_2019: Path) -> None:
    res = runner.invoke(app, ["info", "--db", str(store_2019)])
    assert res.exit_code == 0
    assert "population" in res.stdout
    res = runner.invoke(app, ["info", "--db", str(store_2019), "--csv"])
    prov = pd.read_csv(io.StringIO(res.stdout))
    # the two files, and the Gemeinde structures every import derives (with their own record)
    assert set(prov["file_name"]) == {
        "AuszugGV4QAktuell_2019.csv",
        "12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv",
        "wandel-estimate:gemeinde-altersstruktur",
    }
    assert "12411-04-02-4" in set(prov["table_code"])
    assert prov["sha256"].str.fullmatch("[0-9a-f]{64}").all()


def test_unreadable_or_missing_files_exit_2_without_traceback(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["import", str(tmp_path / "nothing.csv"), "--db", str(tmp_path / "s.duckdb")]
    )
    assert res.exit_code == 2
    assert "nothing.csv" in res.stderr
    res = runner.invoke(app, ["population", "--db", str(tmp_path / "none.duckdb"), "--zones", "15"])
    assert res.exit_code == 2
    assert "none.duckdb" in res.stderr
    assert "Traceback" not in res.output

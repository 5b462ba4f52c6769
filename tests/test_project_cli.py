"""CLI round trip: wandel project to CSV and parquet; errors exit with code 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from _projection_store import demo_db
from wandel.cli import app


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_db(tmp_path_factory)


def test_project_csv_and_parquet_round_trip(db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["project", "--db", str(db), "--zones", "15087220", "--base-year", "2019"]
    args += ["--until", "2025", "--draws", "10", "--seed", "1"]
    r1 = runner.invoke(app, [*args, "--out", str(tmp_path / "p.csv")])
    assert r1.exit_code == 0, r1.output
    r2 = runner.invoke(app, [*args, "--out", str(tmp_path / "p.parquet")])
    assert r2.exit_code == 0, r2.output
    a = pd.read_csv(tmp_path / "p.csv", dtype={"zone": str})
    b = pd.read_parquet(tmp_path / "p.parquet")
    assert list(a.columns) == [
        "zone",
        "year",
        "sex",
        "age_start",
        "age_end",
        "value",
        "q10",
        "q50",
        "q90",
    ]
    assert len(a) == len(b) == 7 * 2 * 101
    base = a[a["year"] == 2019]["value"].sum()
    assert base == pytest.approx(13885, abs=0.01)  # Hettstedt, GV-ISys 31.12.2019
    pd.testing.assert_series_equal(a["value"], b["value"], check_exact=False, rtol=1e-6)


def test_project_bad_output_exits_2(db: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        [
            "project",
            "--db",
            str(db),
            "--zones",
            "15087",
            "--base-year",
            "2024",
            "--until",
            "2030",
            "--out",
            str(tmp_path / "p.xlsx"),
        ],
    )
    assert r.exit_code == 2


def test_project_unknown_zone_exits_2(db: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        [
            "project",
            "--db",
            str(db),
            "--zones",
            "99999999",
            "--base-year",
            "2019",
            "--until",
            "2030",
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    assert r.exit_code == 2


def test_backtest_cli_prints_winners_and_coverage(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDEL_LANG", "en")
    out = tmp_path / "m.csv"
    r = CliRunner().invoke(
        app, ["backtest", "--db", str(db), "--level", "kreis", "--draws", "5", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    # one table per origin, one pooled over the origins, one of the intervals
    for base in (2015, 2016, 2017):
        assert f"base year {base}" in r.output
    text = " ".join(r.output.split())  # titles wrap in a narrow terminal
    assert "all base years (3) pooled" in text
    assert "nominal 50/80/95 % intervals" in text
    assert "winner" in r.output
    m = pd.read_csv(out)
    assert {"coverage50", "coverage80", "coverage95"} <= set(m.columns)
    assert set(m["method"]) == {
        "wandel",
        "constant",
        "linear",
        "share",
        "share_trend",
        "hamilton_perry",
    }

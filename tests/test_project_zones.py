"""``wandel project --zones``: one test per bug of issue 10, item 4 (zone selection), on the demo store.

The demo store's Gemeindeverzeichnis years are 2009, 2013, 2017 and 2019; its Kreis age structures
are of 2015-2017 and 2020.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from _projection_store import demo_db
from wandel.cli import app
from wandel.store import Store

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_db(tmp_path_factory)


def _gv(db: Path, level: str, year: int, prefix: str) -> set[str]:
    with Store.open(db, read_only=True) as store:
        gv = store.table("gv_records")
    sel = gv[(gv["level"] == level) & (gv["year"] == year) & gv["zone"].str.startswith(prefix)]
    return set(sel["zone"].astype(str))


def _project(db: Path, out: Path, *args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, ["project", "--db", str(db), "--draws", "0", "--out", str(out), *args])
    return res.exit_code, res.stdout, res.stderr


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"zone": str})


def test_gemeinden_are_those_valid_at_the_base_year(db: Path, tmp_path: Path) -> None:
    # was: "no population of 15087020 in 2017" (a Gemeinde of another year)
    out = tmp_path / "p.csv"
    code, _, err = _project(
        db, out, "--zones", "15087", "--level", "gemeinde", "--base-year", "2017", "--until", "2020"
    )
    assert code == 0, err
    p = _read(out)
    assert set(p["zone"]) == _gv(db, "gemeinde", 2017, "15087")
    assert len(set(p["zone"])) == 22
    # the results also on the newest territorial status (2019), the same people in every year
    later = _read(tmp_path / "p_gebietsstand_2019.csv")
    assert set(later["zone"]) <= _gv(db, "gemeinde", 2019, "15087")
    a = p.groupby("year")["value"].sum()
    b = later.groupby("year")["value"].sum()
    pd.testing.assert_series_equal(a, b, rtol=1e-9)


def test_a_land_expands_to_its_kreise(db: Path, tmp_path: Path) -> None:
    # was: "unknown level 'kreis'; expected kreis or gemeinde"
    out = tmp_path / "k.csv"
    code, _, err = _project(
        db, out, "--zones", "15", "--level", "kreis", "--base-year", "2017", "--until", "2018"
    )
    assert code == 0, err
    zones = set(_read(out)["zone"])
    assert zones == _gv(db, "kreis", 2017, "15")
    assert len(zones) == 14  # Sachsen-Anhalt: 3 kreisfreie Städte, 11 Landkreise


def test_zone_lists_in_one_argument_repeated_or_with_commas(db: Path, tmp_path: Path) -> None:
    # was: "14 15" not understood, "14,15" a KeyError traceback
    common = ("--level", "kreis", "--base-year", "2017", "--until", "2018")
    frames = []
    for i, zones in enumerate((["14 15"], ["14,15"], ["14", "--zones", "15"])):
        out = tmp_path / f"z{i}.csv"
        code, _, err = _project(db, out, "--zones", *zones, *common)
        assert code == 0, err
        frames.append(_read(out))
    assert set(frames[0]["zone"]) == _gv(db, "kreis", 2017, "14") | _gv(db, "kreis", 2017, "15")
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])


def test_an_ags_that_never_existed_names_the_nearest(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    code, _, err = _project(
        db, out, "--zones", "15087221", "--base-year", "2019", "--until", "2020"
    )
    assert code == 2
    assert "Traceback" not in err
    assert "KeyError" not in err
    assert "15087221" in err
    assert "15087220 (Hettstedt" in err  # the nearest known key, with its name
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_gemeinde_merged_before_the_base_year_says_where_it_went(
    db: Path, tmp_path: Path
) -> None:
    # Ritterode (15087335) joined Hettstedt after 2009
    code, _, err = _project(
        db, tmp_path / "r.csv", "--zones", "15087335", "--base-year", "2019", "--until", "2020"
    )
    assert code == 2
    assert "2009" in err
    assert "2019" in err
    assert "15087220" in err
    assert "Traceback" not in err


def test_a_base_year_without_its_population_is_refused(db: Path, tmp_path: Path) -> None:
    # was: silently started from the Kreis structures of 2017
    out = tmp_path / "b.csv"
    code, _, err = _project(
        db, out, "--zones", "15087", "--level", "kreis", "--base-year", "2019", "--until", "2025"
    )
    assert code == 2
    assert "31.12.2019" in err
    assert "2017" in err
    assert "2020" in err
    assert not out.exists()


def test_unknown_level_and_a_gemeinde_at_kreis_level(db: Path, tmp_path: Path) -> None:
    code, _, err = _project(
        db,
        tmp_path / "l.csv",
        "--zones",
        "15",
        "--level",
        "land",
        "--base-year",
        "2017",
        "--until",
        "2018",
    )
    assert code == 2
    assert "land" in err
    assert "kreis" in err
    code, _, err = _project(
        db,
        tmp_path / "l.csv",
        "--zones",
        "15",
        "--level",
        "foo",
        "--base-year",
        "2017",
        "--until",
        "2018",
    )
    assert code == 2
    assert "foo" in err
    assert "kreis" in err
    assert "gemeinde" in err
    code, _, err = _project(
        db,
        tmp_path / "g.csv",
        "--zones",
        "15087220",
        "--level",
        "kreis",
        "--base-year",
        "2017",
        "--until",
        "2018",
    )
    assert code == 2
    assert "15087" in err
    assert "gemeinde" in err

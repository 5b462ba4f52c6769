"""Settings: declared once, documented in the README, read at call time, and each one changes what
Wandel does (store, cache, seed, draws, language, shared data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from _projection_store import demo_db
from wandel.cli import app
from wandel.errors import SettingError
from wandel.settings import SETTINGS, get_settings, markdown_table, override

README = Path(__file__).resolve().parents[1] / "README.md"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_db(tmp_path_factory)


def test_readme_table_is_generated_from_the_settings() -> None:
    assert markdown_table() in README.read_text(encoding="utf-8")
    for s in SETTINGS:
        assert f"`{s.env}`" in markdown_table()


def test_environment_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDEL_DRAWS", "17")
    assert get_settings().draws == 17
    monkeypatch.setenv("WANDEL_DRAWS", "18")  # a later call sees the new value, no cache to clear
    assert get_settings().draws == 18
    with override(draws=3):  # an explicit value of the call wins over the environment
        assert get_settings().draws == 3
    assert get_settings().draws == 18


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WANDEL_DRAWS", "abc"),
        ("WANDEL_DRAWS", "-1"),
        ("WANDEL_SEED", "1.5"),
        ("WANDEL_LANG", "fr"),
    ],
)
def test_bad_setting_is_one_clear_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError, match=variable):
        get_settings()
    res = runner.invoke(app, ["info", "--db", "nowhere.duckdb"])
    assert res.exit_code == 2
    assert variable in res.stderr
    assert "Traceback" not in res.output


def test_db_setting_chooses_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store = tmp_path / "from-env.duckdb"
    monkeypatch.setenv("WANDEL_DB", str(store))
    kitas = FIXTURES / "facilities" / "kitas.csv"
    res = runner.invoke(app, ["import", str(kitas), "--year", "2023"])
    assert res.exit_code == 0, res.output
    assert store.is_file()
    listed = runner.invoke(app, ["info", "--csv"])
    assert listed.exit_code == 0, listed.output
    assert "kitas.csv" in listed.stdout
    # --db wins over the setting
    other = tmp_path / "other.duckdb"
    res = runner.invoke(app, ["import", str(kitas), "--year", "2023", "--db", str(other)])
    assert res.exit_code == 0, res.output
    assert other.is_file()


def test_cache_dir_setting_holds_the_networks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WANDEL_CACHE_DIR", str(tmp_path / "cache"))
    res = runner.invoke(app, ["network", "build", str(FIXTURES / "access" / "rules.osm")])
    assert res.exit_code == 0, res.output
    cached = sorted(p.name for p in (tmp_path / "cache" / "networks").glob("*.npz"))
    assert [n.split(".")[2] for n in cached] == ["bike", "car", "walk"]


def _project(db: Path, out: Path, *extra: str) -> pd.DataFrame:
    args = ["project", "--db", str(db), "--zones", "15087220", "--base-year", "2019"]
    res = runner.invoke(app, [*args, "--until", "2022", "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    return pd.read_csv(out, dtype={"zone": str})


def test_draws_setting_is_the_default_of_project(
    db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WANDEL_DRAWS", "0")
    det = _project(db, tmp_path / "det.csv")
    assert "q10" not in det.columns
    monkeypatch.setenv("WANDEL_DRAWS", "8")
    sto = _project(db, tmp_path / "sto.csv")
    assert {"q10", "q50", "q90"} <= set(sto.columns)
    assert (sto["q10"] <= sto["q90"] + 1e-9).all()
    late = sto[sto["year"] == 2022]
    assert (late["q90"] - late["q10"]).sum() > 0  # eight draws of a future spread out
    # --draws wins over the setting
    assert "q10" not in _project(db, tmp_path / "x.csv", "--draws", "0").columns


def test_seed_setting_is_the_default_of_project(
    db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WANDEL_DRAWS", "8")
    monkeypatch.setenv("WANDEL_SEED", "1")
    a = _project(db, tmp_path / "a.csv")
    b = _project(db, tmp_path / "b.csv")
    monkeypatch.setenv("WANDEL_SEED", "2")
    c = _project(db, tmp_path / "c.csv")
    pd.testing.assert_frame_equal(a, b)  # same seed, same numbers
    assert not a["q10"].equals(c["q10"])  # another seed, other draws
    pd.testing.assert_series_equal(a["value"], c["value"])  # the deterministic path stays
    d = _project(db, tmp_path / "d.csv", "--seed", "1")
    pd.testing.assert_frame_equal(a, d)  # --seed wins over the setting


@pytest.mark.parametrize("lang", ["de", "en"])
def test_lang_setting_chooses_the_language_of_messages(
    db: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    words = {"de": "gibt es nicht", "en": "is unknown"}
    monkeypatch.setenv("WANDEL_LANG", lang)
    res = runner.invoke(app, ["zones", "--db", str(db), "--level", "foo"])
    assert res.exit_code == 2
    assert words[lang] in res.stderr
    other = "en" if lang == "de" else "de"
    res = runner.invoke(app, ["--lang", other, "zones", "--db", str(db), "--level", "foo"])
    assert res.exit_code == 2
    assert words[other] in res.stderr  # --lang wins over the setting


def test_shared_data_setting_finds_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from wandel.workflow.demo_access import find_shared_data

    monkeypatch.setenv("WANDEL_SHARED_DATA", str(tmp_path))
    assert find_shared_data() == tmp_path
    monkeypatch.setenv("WANDEL_SHARED_DATA", str(tmp_path / "nowhere"))
    assert find_shared_data() is None


def test_every_setting_has_a_test_of_its_effect() -> None:
    """A setting added to SETTINGS without a test here that shows it changes something fails."""
    tests = {name for name in globals() if name.startswith("test_")}
    for s in SETTINGS:
        assert any(t.startswith(f"test_{s.name}_setting_") for t in tests), s.name


def test_seed_setting_is_the_default_of_services(
    db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``wandel services --draws N`` draws from the seed setting too (not a fixed seed)."""

    def bands(seed: str, *extra: str) -> pd.DataFrame:
        monkeypatch.setenv("WANDEL_SEED", seed)
        out = tmp_path / f"s{seed}{len(extra)}"
        args = ["services", "--db", str(db), "--zones", "15087220", "--base-year", "2019"]
        args += ["--until", "2022", "--draws", "6", "--services", "grundschule"]
        args += ["--param", "grundschule.max_class@15=26"]
        res = runner.invoke(app, [*args, "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
        frame = pd.read_csv(out / "dienste_rfc4180.csv", dtype={"zone": str})
        return frame[[c for c in frame.columns if c.endswith(("q10", "q90", "_lo", "_hi"))]]

    first, again, other = bands("1"), bands("1"), bands("2")
    assert first.shape[1] > 0
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    pd.testing.assert_frame_equal(bands("2", "--seed", "1"), first)  # --seed wins


SCENARIO = """\
name: Hettstedt kurz
base_year: 2019
horizon: 2021
variants:
  basis: {}
"""


@pytest.mark.parametrize(
    ("extra", "years"),
    [([], [2019, 2020, 2021]), (["--base-year", "2019", "--until", "2021"], [2019, 2020, 2021])],
)
def test_scenario_base_year_and_horizon_are_used(
    db: Path, tmp_path: Path, extra: list[str], years: list[int]
) -> None:
    sc = tmp_path / "sc.yaml"
    sc.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "p.csv"
    args = ["project", "--db", str(db), "--zones", "15087220", "--scenario", str(sc)]
    res = runner.invoke(app, [*args, "--draws", "0", "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    assert sorted(pd.read_csv(out)["year"].unique()) == years


@pytest.mark.parametrize(
    ("yaml_text", "extra", "named"),
    [
        (SCENARIO, ["--until", "2025"], "horizon: 2021"),  # contradicts the file
        (SCENARIO, ["--base-year", "2015"], "base_year: 2019"),
        (SCENARIO.replace("horizon: 2021\n", ""), [], "--until"),  # no last year anywhere
        (SCENARIO + "gebiet: 15087220\n", [], "gebiet"),  # an unknown field is refused
        (SCENARIO.replace("2021", "2010"), [], "horizon"),  # a horizon before the base year
    ],
)
def test_scenario_fields_are_used_or_refused(
    db: Path, tmp_path: Path, yaml_text: str, extra: list[str], named: str
) -> None:
    sc = tmp_path / "sc.yaml"
    sc.write_text(yaml_text, encoding="utf-8")
    out = tmp_path / "p.csv"
    args = ["--lang", "en", "project", "--db", str(db), "--zones", "15087220"]
    res = runner.invoke(
        app, [*args, "--scenario", str(sc), "--draws", "0", "--out", str(out), *extra]
    )
    assert res.exit_code == 2, res.output
    assert named in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_state_setting_places_the_users(
    db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without WANDEL_STATE the users live beside the store; with it, in the file it names."""
    from wandel.workflow.users import state_path

    assert state_path(db) == db.with_name(db.stem + ".state.duckdb")
    target = tmp_path / "elsewhere" / "state.duckdb"
    monkeypatch.setenv("WANDEL_STATE", str(target))
    assert state_path(db) == target
    store = tmp_path / "own" / "wandel.duckdb"  # a folder of its own: nothing beside it yet
    store.parent.mkdir()
    shutil.copyfile(db, store)
    args = ["users", "add", "anna", "--password-stdin", "--db", str(store)]
    res = runner.invoke(app, args, input="ein-langes-passwort\n")
    assert res.exit_code == 0, res.output
    assert target.is_file()
    assert sorted(p.name for p in store.parent.iterdir()) == ["wandel.duckdb"]


def test_secure_cookies_setting_marks_the_cookies_and_sends_hsts(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from wandel.web import Reader, create_app
    from wandel.workflow.town import TownWorkbench

    wb = TownWorkbench(db)
    plain = TestClient(create_app(db, Reader(wb))).get("/anmelden")
    assert "Secure" not in plain.headers["set-cookie"]
    assert "strict-transport-security" not in plain.headers
    monkeypatch.setenv("WANDEL_SECURE_COOKIES", "1")
    secure = TestClient(create_app(db, Reader(wb)), base_url="https://testserver").get("/anmelden")
    assert secure.headers["set-cookie"].startswith("__Host-wandel_csrf=")
    assert "Secure" in secure.headers["set-cookie"]
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")

"""The bundled demo extract: builds a store with real numbers, estimates marked, territory harmonised."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wandel.ages import totals
from wandel.cli import app
from wandel.store import Store
from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    return db


def _total(db: Path, *args: str) -> pd.DataFrame:
    res = runner.invoke(app, ["population", "--db", str(db), "--total", *args])
    assert res.exit_code == 0, res.output
    return pd.read_csv(io.StringIO(res.stdout), dtype={"zone": str})


def test_demo_holds_only_the_three_states_and_germany(demo_db: Path) -> None:
    with Store.open(demo_db, read_only=True) as store:
        zones = store.con.execute("SELECT DISTINCT zone FROM population").fetchdf()["zone"]
        prov = store.provenance()
    assert set(zones.str[:2]) <= {"14", "15", "16", "DG"}
    assert prov["licence"].str.contains("eigene Berechnung").all()
    assert (prov["sha256"].str.len() == 64).all()


def test_published_totals(demo_db: Path) -> None:
    assert _total(demo_db, "--zones", "15087220", "--year", "2019")["value"].tolist() == [13885]
    assert _total(demo_db, "--zones", "15", "--year", "2020")["value"].tolist() == [2_180_684]
    assert _total(demo_db, "--zones", "15087", "--year", "2020")["value"].tolist() == [133_690]


def test_hettstedt_2009_on_2019_boundaries(demo_db: Path) -> None:
    raw = _total(demo_db, "--zones", "15087220", "--year", "2009")["value"].iloc[0]
    harm = _total(demo_db, "--zones", "15087220", "--year", "2009", "--territory", "2019")
    # Hettstedt 14,427 plus the Gemeinden it absorbed later (Ritterode 320, Walbeck 882), read by hand
    # from the 2009 Gemeindeverzeichnis
    assert raw == 14_427
    assert harm["value"].iloc[0] == pytest.approx(14_427 + 320 + 882)


def test_harmonisation_conserves_land_totals(demo_db: Path) -> None:
    with Store.open(demo_db, read_only=True) as store:
        pop = store.population(level="gemeinde", years=[2009])
        gv = store.con.execute(
            "SELECT zone, pop_total FROM gv_records WHERE level = 'land' AND year = 2009"
        ).fetchdf()
    raw = totals(pop).assign(land=lambda f: f["zone"].str[:2]).groupby("land")["value"].sum()
    harm = _total(
        demo_db,
        "--zones",
        "14",
        "--zones",
        "15",
        "--zones",
        "16",
        "--level",
        "gemeinde",
        "--year",
        "2009",
        "--territory",
        "2019",
    )
    harm_land = harm.assign(land=harm["zone"].str[:2]).groupby("land")["value"].sum()
    published = gv.set_index("zone")["pop_total"]
    for land in ("14", "15", "16"):
        assert raw[land] == published[land]
        assert harm_land[land] == pytest.approx(published[land], rel=1e-12)


def test_estimated_structures_are_marked_and_sum_to_published(demo_db: Path) -> None:
    with Store.open(demo_db, read_only=True) as store:
        pop = store.population(zones=["15087220"], years=[2019])
    est = pop[pop["estimated"]]
    pub = pop[~pop["estimated"]]
    assert len(est) > 2 * 10
    assert (est["flag"] == "s").all()
    for sex in ("m", "f"):
        assert est.loc[est["sex"] == sex, "value"].sum() == pytest.approx(
            pub.loc[pub["sex"] == sex, "value"].sum()
        )
    assert (est["value"] >= 0).all()
    assert np.isfinite(est["value"]).all()

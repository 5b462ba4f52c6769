"""The fire-brigade part of the demo on the demo store: stations, travel times of wandel access,
the demo configuration's assumptions named in the source note, and the numbers by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from wandel.services import shipped_catalogue
from wandel.services.catalogue import parse_overrides
from wandel.store import Store
from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store
from wandel.workflow.demo_fire import FIRE_DEMO_KREIS, fire_demo_config, run_fire_demo


@pytest.fixture(scope="module")
def fire(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("fire")
    db = folder / "demo.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    out = folder / "out"
    return out, run_fire_demo(db, out, draws=12, base_year=2019, until=2030)


def test_the_demo_configuration_sets_every_assumption_visibly() -> None:
    text = fire_demo_config().read_text(encoding="utf-8")
    assert "weekday_share" in text.split("overrides:")[0]  # documented in the header
    items = yaml.safe_load(text)["overrides"]
    assert {i["parameter"] for i in items} == {
        "weekday_share",
        "min_age",
        "max_age",
        "members_per_resident",
    }
    assert all(str(i["source"]).startswith("Annahme der Demo") for i in items)
    cat = parse_overrides(text, shipped_catalogue(), str(fire_demo_config()))
    e = cat.entry_for("feuerwehr", "weekday_share", "15087220", 2030)
    assert e is not None
    assert e.value == 0.3
    # the Land's rule itself stays the sourced one of the catalogue
    crew = cat.entry_for("feuerwehr", "crew", "15087220", 2030)
    assert crew is not None
    assert crew.value == 9
    assert crew.source == "lsa_mindestausruestung_2009"


def test_fire_demo_writes_stations_travel_times_and_service_files(
    fire: tuple[Path, list[Path]],
) -> None:
    out, files = fire
    names = {f.name for f in files}
    assert f"feuerwehr_standorte_{FIRE_DEMO_KREIS}.csv" in names
    assert f"dienste_feuerwehr_{FIRE_DEMO_KREIS}.xlsx" in names
    assert f"dienste_feuerwehr_{FIRE_DEMO_KREIS}_faecher_feuerwehr.png" in names
    tt = pd.read_csv(out / f"feuerwehr_fahrzeiten_{FIRE_DEMO_KREIS}.csv", dtype=str)
    assert list(tt.columns[:3]) == ["origin", "destination", "travel_time_min"]
    assert tt["method"].str.startswith("crowfly").all()
    st = pd.read_csv(out / f"feuerwehr_standorte_{FIRE_DEMO_KREIS}.csv", dtype={"id": str})
    assert {"15087220", "15087130", "15087370"} <= set(st["id"])
    assert len(tt) == len(st) ** 2  # every pair (the fallback has no cut-off)
    note = (out / f"dienste_feuerwehr_{FIRE_DEMO_KREIS}.quellen.txt").read_text(encoding="utf-8")
    for p in ("weekday_share", "min_age", "max_age", "members_per_resident"):
        line = next(x for x in note.splitlines() if x.startswith(f"- feuerwehr.{p} 15"))
        assert "Annahme der Demo" in line
    assert "Mindestausrüstungsverordnung" in note


def test_fire_demo_numbers_by_hand(fire: tuple[Path, list[Path]]) -> None:
    out, _files = fire
    f = pd.read_csv(
        out / f"dienste_feuerwehr_{FIRE_DEMO_KREIS}_rfc4180.csv", comment="#", dtype={"zone": str}
    )
    z = f[(f["level"] == "zone") & (f["year"] == 2030)].pivot_table(
        index="zone", columns="measure", values="value"
    )
    np.testing.assert_allclose(
        z["members"], 0.0229 * z["residents_active_age"], rtol=0, atol=2e-6
    )  # the CSV has 6 decimals
    np.testing.assert_allclose(
        z["day_available"], 0.3 * z["members"], rtol=0, atol=2e-6
    )  # the CSV has 6 decimals
    np.testing.assert_allclose(z["readiness"], z["crew_in_time"] / 9.0, rtol=0, atol=2e-6)
    tt = pd.read_csv(
        out / f"feuerwehr_fahrzeiten_{FIRE_DEMO_KREIS}.csv",
        dtype={"origin": str, "destination": str},
    )
    near = tt[tt["travel_time_min"] <= 12.0]
    for zone in ("15087220", "15087130", "15087370"):
        brigades = near.loc[near["destination"] == zone, "origin"]
        want = float(z.loc[brigades, "day_available"].sum())
        assert float(z.loc[zone, "crew_in_time"]) == pytest.approx(want, abs=1e-5)
        assert z.loc[zone, "crew_in_time"] >= z.loc[zone, "day_available"]
    # at least one Gemeinde gains crew from a neighbour within the 12 minutes
    assert (z["crew_in_time"] > z["day_available"] * (1 + 1e-9)).any()
    # fewer people of service age by 2030: fewer day-available members than in 2019
    base = f[(f["level"] == "zone") & (f["year"] == 2019) & (f["measure"] == "day_available")]
    assert base.set_index("zone")["value"].sum() > z["day_available"].sum()

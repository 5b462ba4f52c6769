"""Origins, destinations and population for accessibility; the access demo on the demo store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from rich.console import Console

from wandel.errors import DuplicateKeyError, InputFormatError, WandelError
from wandel.store import Store
from wandel.workflow.access import origin_population, parse_age_groups, population_by_age
from wandel.workflow.demo import add_structure_estimates, load_demo_store
from wandel.workflow.demo_access import run_access_demo
from wandel.workflow.points import (
    boundaries_frame,
    destinations_from_file,
    destinations_from_store,
    grid_origins,
    osm_amenities,
    population_weighted_points,
    read_points,
    zone_points,
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("access_demo") / "demo.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        add_structure_estimates(store)
    return db


@pytest.fixture(scope="module")
def kreis_16073(demo_db: Path) -> object:
    with Store.open(demo_db, read_only=True) as store:
        return boundaries_frame(store, ["16073"])


def test_zone_points_lie_inside_their_polygons(kreis_16073: object) -> None:
    import geopandas as gpd

    pts = zone_points(kreis_16073)
    assert len(pts) == len(kreis_16073) > 10  # type: ignore[arg-type]
    g = gpd.GeoSeries(gpd.points_from_xy(pts["lon"], pts["lat"]), crs="EPSG:4326").to_crs(
        "EPSG:25832"
    )
    poly = kreis_16073.geometry.to_numpy()  # type: ignore[attr-defined]
    assert shapely.contains(poly, g.to_numpy()).all()
    # Saalfeld-Rudolstadt lies around 11.2-11.6 E, 50.5-50.8 N
    assert pts["lon"].between(11.0, 11.8).all()
    assert pts["lat"].between(50.4, 50.9).all()


def test_grid_weights_sum_to_one_per_zone_and_shrink_with_cells(kreis_16073: object) -> None:
    coarse = grid_origins(kreis_16073, 4000)
    fine = grid_origins(kreis_16073, 2000)
    for g in (coarse, fine):
        np.testing.assert_allclose(g.groupby("zone")["weight"].sum().to_numpy(), 1.0, rtol=1e-9)
        assert g["id"].is_unique
    assert len(fine) > len(coarse)
    area = kreis_16073.geometry.area.sum()  # type: ignore[attr-defined]
    assert fine["area_m2"].sum() == pytest.approx(area, rel=1e-9)


def test_population_weighted_point_between_children() -> None:
    pts = pd.DataFrame({"id": ["16073001", "16073002"], "lon": [11.0, 11.2], "lat": [50.6, 50.6]})
    one = population_weighted_points(pts, pd.Series({"16073001": 300.0, "16073002": 100.0}))
    assert one["id"].tolist() == ["16073"]
    # three quarters of the way to the heavier point (metric mean, almost linear at this scale)
    assert one["lon"].iloc[0] == pytest.approx(11.05, abs=1e-3)
    none = population_weighted_points(pts, pd.Series(dtype=float))
    assert none["lon"].iloc[0] == pytest.approx(11.1, abs=1e-3)


def test_population_by_age_sums_groups_and_refuses_cuts(demo_db: Path) -> None:
    with Store.open(demo_db, read_only=True) as store:
        pop = store.population(zones=["16073077"], years=[2019])
    groups = population_by_age(pop, 2019, parse_age_groups("0-74,75+,0+"))
    row = groups.loc["16073077"]
    assert row["0-74"] + row["75+"] == pytest.approx(row["0+"])
    # Saalfeld/Saale 29,278 (GV-ISys 31.12.2019) - the estimate conserves the total
    assert row["0+"] == pytest.approx(29_278, abs=0.5)
    with pytest.raises(WandelError, match="cuts through"):
        population_by_age(pop, 2019, parse_age_groups("77+"))
    with pytest.raises(WandelError, match="2030"):
        population_by_age(pop, 2030, parse_age_groups("75+"))
    with pytest.raises(InputFormatError):
        parse_age_groups("75 plus")


def test_origin_population_spreads_by_weight() -> None:
    by_zone = pd.DataFrame({"75+": [100.0, 40.0]}, index=["z1", "z2"])
    origins = pd.DataFrame(
        {"id": ["a", "b", "c"], "zone": ["z1", "z1", "z2"], "weight": [0.25, 0.75, 1.0]}
    )
    out = origin_population(origins, by_zone)
    assert out["75+"].tolist() == [25.0, 75.0, 40.0]
    with pytest.raises(WandelError, match="no population"):
        origin_population(origins.assign(zone=["z1", "z9", "z2"]), by_zone)


def test_read_points_errors(tmp_path: Path) -> None:
    p = tmp_path / "o.csv"
    p.write_text("id,lon,lat\na,8.1,49.1\na,8.2,49.2\n", encoding="utf-8")
    with pytest.raises(DuplicateKeyError, match="line 3"):
        read_points(p)
    p.write_text("id;lon;lat\na;8,1;49,1\nb;8,2;99\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="line 3, column lat"):
        read_points(p)
    p.write_text("id;lon;lat\na;8,1;49,1\n", encoding="utf-8")
    assert read_points(p)["lon"].tolist() == [8.1]


def test_osm_amenities_nodes_and_way_centres(fixtures: Path) -> None:
    f = fixtures / "cli_access" / "amenities.osm"
    got = osm_amenities(f, ["hospital", "school"]).set_index("id")
    assert sorted(got.index) == ["n1", "w10"]
    assert got.loc["n1", "name"] == "Universitätsklinikum"
    # the closed square's 4 distinct corners average to its centre
    assert got.loc["w10", "lon"] == pytest.approx(8.701)
    assert got.loc["w10", "lat"] == pytest.approx(49.401)
    assert len(osm_amenities(f)) == 3  # hospital, pharmacy, school; not the bench
    with pytest.raises(InputFormatError):
        osm_amenities(fixtures / "cli_access" / "not_osm.osm")


def test_destinations_from_file_and_store(fixtures: Path, demo_db: Path) -> None:
    f = destinations_from_file(fixtures / "cli_access" / "bayreuth_facilities.csv")
    assert f["id"].tolist() == ["foehrenweg_end", "zettlitz_end", "euben_end"]
    with Store.open(demo_db, read_only=True) as store:
        h = destinations_from_store(store, "hospital")
        h15 = destinations_from_store(store, "hospital", 2015)
        with pytest.raises(WandelError, match="kind 'school'"):
            destinations_from_store(store, "school")
    # G-BA 2019 sites in the demo region with a coordinate (213), and those whose coordinate was a
    # geocoder's fallback shared with other hospitals (11, left out: test_hospital_points)
    assert len(h) == 213
    assert len(h.attrs["not_located"]) == 11
    assert len(h15) == 207
    assert len(h15.attrs["not_located"]) == 12


@pytest.fixture(scope="module")
def access_demo(
    demo_db: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Path], str]:
    out = tmp_path_factory.mktemp("access_demo_out")
    console = Console(record=True, width=120)
    with Store.open(demo_db, read_only=True) as store:
        files = run_access_demo(store, out, console, shared=shared_data)
    return files, console.export_text()


def test_access_demo_writes_files_and_reports(access_demo: tuple[list[Path], str]) -> None:
    files, text = access_demo
    names = {f.name for f in files}
    assert {
        "erreichbarkeit_krankenhaus_gemeinden.csv",
        "standortplanung_krankenhaus.csv",
        "kooperationsgewinn_krankenhaus.csv",
        "erreichbarkeit_krankenhaus_karte.png",
        "heidelberg_naechstes_ziel.csv",
        "heidelberg_isochronen_uniklinikum.geojson",
        "heidelberg_abdeckung.csv",
        "heidelberg_karte.png",
    } <= names
    assert all(f.stat().st_size > 0 for f in files)
    assert "Luftlinie" in text or "straight-line" in text


def test_access_demo_numbers(access_demo: tuple[list[Path], str]) -> None:
    files, _ = access_demo
    by = {f.name: f for f in files}
    acc = pd.read_csv(by["erreichbarkeit_krankenhaus_gemeinden.csv"], dtype={"zone": str})
    assert acc["method"].str.startswith("crowfly:car").all()
    assert (acc["travel_time_min"] >= 0).all()
    plan = pd.read_csv(by["standortplanung_krankenhaus.csv"])
    for _, g in plan.groupby("netz"):
        today, opt = g.iloc[0], g.iloc[1]
        # the p-median with today's number of sites is never worse than today's sites
        assert opt["mittlere_fahrzeit_min"] <= today["mittlere_fahrzeit_min"] + 1e-9
        assert opt["standorte"] == today["standorte"]
    coop = pd.read_csv(by["kooperationsgewinn_krankenhaus.csv"])
    diff = coop[coop["plan"] == "difference"]
    assert len(diff) == 2
    assert (diff["travel_cost"] <= 1e-6).all()  # joint planning never costs more travel
    assert (diff["facilities"] == 0).all()
    hd = pd.read_csv(by["heidelberg_abdeckung.csv"])
    share = hd.sort_values("schwelle_min")["share"].to_numpy()
    assert (np.diff(share) >= 0).all()
    assert 0 < share[-1] <= 1
    near = pd.read_csv(by["heidelberg_naechstes_ziel.csv"])
    assert set(near["status"]) <= {"ok", "unsnapped", "unreached"}
    assert (near["status"] == "ok").sum() > 100


def test_access_demo_skips_heidelberg_without_shared_data(demo_db: Path, tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    with Store.open(demo_db, read_only=True) as store:
        files = run_access_demo(store, tmp_path, console, shared=tmp_path / "nowhere")
    assert not any(f.name.startswith("heidelberg") for f in files)
    assert "übersprungen" in console.export_text()

"""CLI round trips for ``wandel network`` and ``wandel access`` on the small OSM extracts."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wandel.access import (
    load_network,
    nearest_facility,
    snap_frame,
    travel_time_matrix,
)
from wandel.cli import app

OSM = "osm"
runner = CliRunner(env={"WANDEL_LANG": "en"})  # the assertions read English messages


@pytest.fixture(scope="module")
def fx(fixtures: Path) -> Path:
    return fixtures / "cli_access"


@pytest.fixture(scope="module")
def bayreuth(shared_data: Path) -> Path:
    return shared_data / OSM / "north-bayreuth.osm.gz"


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"origin": str, "facility": str, "destination": str})


def test_nearest_equals_library_and_golden_foehrenweg(
    fx: Path, bayreuth: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.csv"
    res = runner.invoke(
        app,
        [
            "access", "nearest", "--network", str(bayreuth),
            "--origins", str(fx / "bayreuth_origins.csv"),
            "--facilities", str(fx / "bayreuth_facilities.csv"),
            "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    frame = _csv(out)
    assert list(frame.columns[:5]) == [
        "origin", "facility", "travel_time_min", "snap_origin_m", "snap_facility_m",
    ]  # fmt: skip
    net = load_network(bayreuth, "car")
    o = snap_frame(net, pd.read_csv(fx / "bayreuth_origins.csv"), what="origins")
    f = snap_frame(net, pd.read_csv(fx / "bayreuth_facilities.csv"), what="facilities")
    lib = nearest_facility(net, o, f).table
    np.testing.assert_allclose(
        frame["travel_time_min"].to_numpy(), lib["travel_time_min"].to_numpy(), atol=1e-6
    )
    row = frame.set_index("origin").loc["foehrenweg_start"]
    # hand-checked: Föhrenweg (way 26419011), 212.64 m at maxspeed 30 km/h = 25.52 s
    assert row["facility"] == "foehrenweg_end"
    assert row["travel_time_min"] * 60 == pytest.approx(25.52, abs=0.01)
    assert row["snap_origin_m"] == pytest.approx(0.0, abs=0.01)
    # the origin far outside the extract stays in the file, marked and reported
    far = frame.set_index("origin").loc["far_away"]
    assert far["status"] == "unsnapped"
    assert np.isnan(far["travel_time_min"])
    assert "far_away" in res.stderr
    assert (frame["method"] == "network:car").all()
    # the cache was written, and a second run from the cache gives identical bytes
    assert list((tmp_path / "cache").glob("*.npz"))
    out2 = tmp_path / "r2.csv"
    res2 = runner.invoke(
        app,
        [
            "access", "nearest", "--network", str(bayreuth),
            "--origins", str(fx / "bayreuth_origins.csv"),
            "--facilities", str(fx / "bayreuth_facilities.csv"),
            "--out", str(out2), "--cache-dir", str(tmp_path / "cache"),
        ],
    )  # fmt: skip
    assert res2.exit_code == 0
    assert out.read_bytes() == out2.read_bytes()


def test_matrix_equals_library_with_cutoff(fx: Path, tmp_path: Path, shared_data: Path) -> None:
    extract = shared_data / OSM / "bautzen.osm"
    out = tmp_path / "m.csv"
    pts = str(fx / "bautzen_points.csv")
    res = runner.invoke(
        app,
        [
            "access", "matrix", "--network", str(extract), "--origins", pts,
            "--facilities", pts, "--mode", "walk", "--out", str(out), "--no-cache",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    frame = _csv(out)
    assert list(frame.columns) == [
        "origin", "destination", "travel_time_min", "snap_origin_m", "snap_destination_m",
    ]  # fmt: skip
    net = load_network(extract, "walk")
    p = snap_frame(net, pd.read_csv(pts), what="points")
    lib = travel_time_matrix(net, p, p).to_frame()
    np.testing.assert_allclose(frame["travel_time_min"], lib["travel_time_min"], atol=1e-6)
    assert len(frame) == 9
    assert (frame.loc[frame["origin"] == frame["destination"], "travel_time_min"] == 0).all()
    # a cut-off between the smallest and largest positive time leaves out the far pairs
    pos = np.sort(lib.loc[lib["travel_time_min"] > 0, "travel_time_min"].to_numpy())
    cut = float((pos[0] + pos[-1]) / 2)
    out2 = tmp_path / "m2.csv"
    res = runner.invoke(
        app,
        [
            "access", "matrix", "--network", str(extract), "--origins", pts,
            "--facilities", pts, "--mode", "walk", "--cutoff-min", str(cut),
            "--out", str(out2), "--no-cache",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    cut_frame = _csv(out2)
    assert len(cut_frame) == int((lib["travel_time_min"] <= cut).sum())
    assert (cut_frame["travel_time_min"] <= cut).all()


def test_fallback_is_labelled_in_file_and_stderr(fx: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    res = runner.invoke(
        app,
        [
            "access", "nearest", "--origins", str(fx / "bayreuth_origins.csv"),
            "--facilities", str(fx / "bayreuth_facilities.csv"), "--out", str(out),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    frame = _csv(out)
    assert frame["method"].str.startswith("crowfly:car").all()
    assert "straight-line distance x 1.3 at 50 km/h" in frame["method"].iloc[0]
    assert "straight-line" in res.stderr
    # 1.3 x great-circle distance at 50 km/h, by hand: Föhrenweg start -> end is 207.7 m apart
    row = frame.set_index("origin").loc["foehrenweg_start"]
    from wandel.access._geo import haversine_m

    d = float(haversine_m(11.5989958, 49.9774427, 11.6018427, 49.9770683))
    assert row["travel_time_min"] == pytest.approx(d * 1.3 / (50 / 3.6) / 60, rel=1e-6)


def test_facility_outside_network_exit_2_no_file(fx: Path, bayreuth: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    args = [
        "access", "nearest", "--network", str(bayreuth),
        "--origins", str(fx / "bayreuth_origins.csv"),
        "--facilities", str(fx / "outside_facilities.csv"),
        "--out", str(out), "--no-cache",
    ]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "berlin" in res.stderr
    assert "1600 m" in res.stderr  # R5's link radius
    assert list(tmp_path.iterdir()) == []
    # allowed: left out, reported, the rest computed
    res = runner.invoke(app, [*args, "--allow-unsnapped"])
    assert res.exit_code == 0, res.output
    assert "berlin" in res.stderr
    assert "berlin" not in set(_csv(out)["facility"].dropna())


def test_not_osm_extract_exit_2_no_file(fx: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    res = runner.invoke(
        app,
        [
            "access", "matrix", "--network", str(fx / "not_osm.osm"),
            "--origins", str(fx / "bautzen_points.csv"),
            "--facilities", str(fx / "bautzen_points.csv"), "--out", str(out), "--no-cache",
        ],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "not_osm.osm" in res.stderr
    assert "OpenStreetMap" in res.stderr
    assert list(tmp_path.iterdir()) == []
    res = runner.invoke(
        app, ["network", "build", str(fx / "not_osm.osm"), "--cache-dir", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_bad_origins_exit_2_with_line(fx: Path, tmp_path: Path) -> None:
    bad = tmp_path / "o.csv"
    bad.write_text("id,lon,lat\na,11.6,49.9\nb,east,49.9\n", encoding="utf-8")
    out = tmp_path / "r.csv"
    res = runner.invoke(
        app,
        ["access", "nearest", "--origins", str(bad),
         "--facilities", str(fx / "bayreuth_facilities.csv"), "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "line 3" in res.stderr
    assert "lon" in res.stderr
    assert not out.exists()


def test_network_build_writes_cache(bayreuth: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["network", "build", str(bayreuth), "--mode", "car", "--cache-dir", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    net = load_network(bayreuth, "car")
    assert f"{net.n_nodes:,}" in res.stdout  # English thousands separator
    assert len(list(tmp_path.glob("north-bayreuth.osm.gz.car.*.npz"))) == 1


def test_isochrones_geojson_and_bad_suffix(fx: Path, bayreuth: Path, tmp_path: Path) -> None:
    out = tmp_path / "iso.geojson"
    args = [
        "access", "isochrones", "--network", str(bayreuth),
        "--facilities", str(fx / "bayreuth_facilities.csv"),
        "--minutes", "2", "--minutes", "4", "--no-cache",
    ]  # fmt: skip
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    iso = gpd.read_file(out)
    assert len(iso) == 3 * 2
    by = iso.set_index(["source", "threshold_min"]).geometry
    for s in ("foehrenweg_end", "zettlitz_end", "euben_end"):
        assert by[(s, 4.0)].area > by[(s, 2.0)].area  # directional: more time, more area
    bad = tmp_path / "iso.txt"
    res = runner.invoke(app, [*args, "--out", str(bad)])
    assert res.exit_code == 2
    assert not bad.exists()


def test_coverage_from_projection_csv(fx: Path, tmp_path: Path) -> None:
    # two zones; origins are the zones themselves; straight-line fallback
    origins = tmp_path / "o.csv"
    origins.write_text(
        "id,lon,lat\n15087220,11.5989958,49.9774427\n15087130,11.0,49.5\n", encoding="utf-8"
    )
    proj = tmp_path / "p.csv"
    rows = ["zone,year,sex,age_start,age_end,value,q10"]
    for zone, old, young in (("15087220", 100, 40), ("15087130", 300, 60)):
        rows += [
            f"{zone},2035,f,0,75,{young},0",
            f"{zone},2035,f,75,,{old / 2},0",
            f"{zone},2035,m,75,,{old / 2},0",
            f"{zone},2030,m,75,,999,0",
        ]
    proj.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "c.csv"
    res = runner.invoke(
        app,
        [
            "access", "coverage", "--origins", str(origins),
            "--facilities", str(fx / "bayreuth_facilities.csv"), "--projection", str(proj),
            "--year", "2035", "--age-groups", "0-74,75+", "--threshold-min", "15",
            "--out", str(out),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    cov = pd.read_csv(out).set_index("age_group")
    # zone 15087220 sits on a facility (covered), 15087130 is ~60 km away (not covered)
    assert cov.loc["75+", "population"] == pytest.approx(400)
    assert cov.loc["75+", "share"] == pytest.approx(100 / 400)
    assert cov.loc["0-74", "share"] == pytest.approx(40 / 100)
    assert (cov["year"] == 2035).all()
    # a group that cuts through a published group is refused, no file
    out2 = tmp_path / "c2.csv"
    res = runner.invoke(
        app,
        [
            "access", "coverage", "--origins", str(origins),
            "--facilities", str(fx / "bayreuth_facilities.csv"), "--projection", str(proj),
            "--year", "2035", "--age-groups", "0-5,75+", "--out", str(out2),
        ],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "cuts through" in res.stderr
    assert not out2.exists()


def test_speed_override_per_road_class(fx: Path, bayreuth: Path, tmp_path: Path) -> None:
    """--speed CLASS=KPH: a faster class never raises a travel time and lowers some; the result
    equals the library with the same override table; a malformed override exits 2 with no file."""
    args = [
        "access", "nearest", "--network", str(bayreuth),
        "--origins", str(fx / "bayreuth_origins.csv"),
        "--facilities", str(fx / "bayreuth_facilities.csv"), "--no-cache",
    ]  # fmt: skip
    base, fast = tmp_path / "base.csv", tmp_path / "fast.csv"
    assert runner.invoke(app, [*args, "--out", str(base)]).exit_code == 0
    res = runner.invoke(
        app, [*args, "--speed", "residential=80", "--speed", "unclassified=80", "--out", str(fast)]
    )
    assert res.exit_code == 0, res.output
    t0 = _csv(base).set_index("origin")["travel_time_min"]
    t1 = _csv(fast).set_index("origin")["travel_time_min"]
    assert t1.isna().equals(t0.isna())  # the unsnapped origin stays unsnapped
    t0, t1 = t0.dropna(), t1.dropna()
    assert (t1 <= t0 + 1e-12).all()
    assert (t1 < t0 - 1e-9).any()
    net = load_network(bayreuth, "car", speeds_kph={"residential": 80, "unclassified": 80})
    o = snap_frame(net, pd.read_csv(fx / "bayreuth_origins.csv"), what="origins")
    f = snap_frame(net, pd.read_csv(fx / "bayreuth_facilities.csv"), what="facilities")
    lib = nearest_facility(net, o, f).table["travel_time_min"].dropna()
    lib.index = lib.index.astype(str)
    np.testing.assert_allclose(t1.sort_index(), lib.sort_index(), atol=1e-6)  # CSV keeps 6 decimals
    bad = runner.invoke(app, [*args, "--speed", "residential:80", "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2
    assert "residential:80" in bad.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_geodata_outputs(fx: Path, bayreuth: Path, tmp_path: Path, suffix: str) -> None:
    """nearest writes points at the origins and isochrones polygons, as GeoPackage or GeoJSON."""
    base = [
        "--network",
        str(bayreuth),
        "--facilities",
        str(fx / "bayreuth_facilities.csv"),
        "--no-cache",
    ]
    near = tmp_path / f"nearest{suffix}"
    res = runner.invoke(
        app,
        [
            "access",
            "nearest",
            *base,
            "--origins",
            str(fx / "bayreuth_origins.csv"),
            "--out",
            str(near),
        ],
    )
    assert res.exit_code == 0, res.output
    g = gpd.read_file(near)
    origins = pd.read_csv(fx / "bayreuth_origins.csv").set_index("id")
    assert g.crs.to_epsg() == 4326
    assert set(g["origin"]) == set(origins.index)
    for _, row in g.iterrows():
        assert row.geometry.x == pytest.approx(origins.loc[row["origin"], "lon"])
        assert row.geometry.y == pytest.approx(origins.loc[row["origin"], "lat"])
    iso = tmp_path / f"iso{suffix}"
    res = runner.invoke(app, ["access", "isochrones", *base, "--out", str(iso)])
    assert res.exit_code == 0, res.output
    polys = gpd.read_file(iso)
    assert len(polys) == 3 * len(pd.read_csv(fx / "bayreuth_facilities.csv"))
    assert not list(tmp_path.glob(".*partial*"))  # no temporary files left behind

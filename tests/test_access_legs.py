"""Access legs and the R5 link radius: hand-computed door-to-door times, oracles, directions.

The small network: node 0 at (8.00 E, 49.00 N), node 1 at (8.01 E, 49.00 N), node 2 at
(8.02 E, 49.00 N); edges 0<->1 take 60 s, 1<->2 take 120 s. A point ``d`` metres due north of a
node (same longitude) lies exactly ``d`` m from it on the sphere used by ``haversine_m``
(R = 6,371,008.8 m), so the legs can be computed by hand: ``d / (v / 3.6)`` seconds.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from wandel.access import (
    DEFAULT_ACCESS_SPEED_KPH,
    DEFAULT_INITIAL_SNAP_M,
    DEFAULT_MAX_SNAP_M,
    isochrones,
    load_network,
    nearest_facility,
    nearest_node_times,
    network_from_edges,
    snap_points,
    travel_time_matrix,
)
from wandel.access._geo import EARTH_RADIUS_M
from wandel.errors import OptionError

NET = network_from_edges(
    [0, 1, 1, 2], [1, 0, 2, 1], [60.0, 60.0, 120.0, 120.0], [8.0, 8.01, 8.02], [49.0] * 3
)
WALK_MPS = 1.3  # R5's off-street speed


def north_of(node: int, metres: float) -> tuple[float, float]:
    """(lon, lat) of the point ``metres`` due north of ``node``."""
    return float(NET.node_lon[node]), 49.0 + math.degrees(metres / EARTH_RADIUS_M)


def points(spec: dict[str, tuple[int, float]]) -> tuple[list[str], list[float], list[float]]:
    ids = list(spec)
    xy = [north_of(*spec[i]) for i in ids]
    return ids, [p[0] for p in xy], [p[1] for p in xy]


def test_defaults_follow_r5() -> None:
    assert DEFAULT_INITIAL_SNAP_M == 300.0
    assert DEFAULT_MAX_SNAP_M == 1600.0
    assert abs(DEFAULT_ACCESS_SPEED_KPH - WALK_MPS * 3.6) < 1e-12


def test_point_600_m_off_the_road_walks_600_m() -> None:
    o = snap_points(NET, *points({"home": (0, 600.0)}))
    f = snap_points(NET, *points({"school": (1, 0.0)}))
    assert o.distance_m[0] == pytest.approx(600.0, abs=1e-6)
    row = nearest_facility(NET, o, f).table.loc["home"]
    # 600 m / 1.3 m/s = 461.538 s walked, then 60 s driven: 521.538 s = 8.6923 min
    assert row["travel_time_min"] * 60 == pytest.approx(600 / 1.3 + 60, abs=1e-6)
    assert row["leg_origin_min"] * 60 == pytest.approx(600 / 1.3, abs=1e-6)
    assert row["leg_facility_min"] == 0.0
    assert row["snap_origin_m"] == pytest.approx(600.0, abs=1e-6)
    assert row["status"] == "ok"
    # a user-set speed: 3.6 km/h = 1 m/s, so 600 s; inf: the node-to-node time alone
    slow = nearest_facility(NET, o, f, access_speed_kph=3.6).table.loc["home"]
    assert slow["travel_time_min"] * 60 == pytest.approx(600 + 60, abs=1e-6)
    free = nearest_facility(NET, o, f, access_speed_kph=math.inf).table.loc["home"]
    assert free["travel_time_min"] * 60 == 60.0
    with pytest.raises(OptionError, match="above 0"):
        nearest_facility(NET, o, f, access_speed_kph=0.0)


def test_both_legs_in_the_matrix() -> None:
    o = snap_points(NET, *points({"a": (0, 600.0), "b": (2, 0.0)}))
    d = snap_points(NET, *points({"x": (1, 260.0), "y": (2, 0.0)}))
    m = travel_time_matrix(NET, o, d).travel_time_min * 60
    want = np.array(
        [
            [600 / 1.3 + 60 + 260 / 1.3, 600 / 1.3 + 180],
            [120 + 260 / 1.3, 0.0],
        ]
    )
    np.testing.assert_allclose(m, want, atol=1e-6)
    long = travel_time_matrix(NET, o, d).to_frame().set_index(["origin", "destination"])
    assert long.loc[("a", "x"), "snap_origin_m"] == pytest.approx(600.0, abs=1e-6)
    assert long.loc[("a", "x"), "snap_destination_m"] == pytest.approx(260.0, abs=1e-6)


def test_nearest_is_nearest_door_to_door() -> None:
    # "far": on node 1 by the road (60 s) but 1,000 m into a field (769 s on foot);
    # "near": 180 s by road, right at node 2. Door to door "near" wins; node to node "far".
    o = snap_points(NET, *points({"home": (0, 0.0)}))
    f = snap_points(NET, *points({"far": (1, 1000.0), "near": (2, 0.0)}))
    row = nearest_facility(NET, o, f).table.loc["home"]
    assert row["facility"] == "near"
    assert row["travel_time_min"] * 60 == pytest.approx(180.0, abs=1e-9)
    assert row["snap_facility_m"] == 0.0
    node_only = nearest_facility(NET, o, f, access_speed_kph=math.inf).table.loc["home"]
    assert node_only["facility"] == "far"
    # the far one wins again once it lies only 100 m off the road: 60 + 76.9 s < 180 s
    f2 = snap_points(NET, *points({"far": (1, 100.0), "near": (2, 0.0)}))
    row2 = nearest_facility(NET, o, f2).table.loc["home"]
    assert row2["facility"] == "far"
    assert row2["travel_time_min"] * 60 == pytest.approx(60 + 100 / 1.3, abs=1e-6)
    assert row2["leg_facility_min"] * 60 == pytest.approx(100 / 1.3, abs=1e-6)


def test_cutoff_counts_the_legs() -> None:
    o = snap_points(NET, *points({"home": (0, 600.0)}))
    f = snap_points(NET, *points({"school": (1, 0.0)}))
    # 60 s by road is within 5 min, but 521.5 s door to door is not
    cut = nearest_facility(NET, o, f, cutoff_min=5.0).table.loc["home"]
    assert cut["status"] == "unreached"
    assert np.isnan(cut["travel_time_min"])
    m = travel_time_matrix(NET, o, f, cutoff_min=5.0).travel_time_min
    assert np.isinf(m[0, 0])
    assert nearest_facility(NET, o, f, cutoff_min=9.0).table.loc["home", "status"] == "ok"


def test_link_radius_two_rounds() -> None:
    ids, lon, lat = points({"r1": (0, 250.0), "r2": (0, 1000.0), "off": (0, 2000.0)})
    r = snap_points(NET, ids, lon, lat)
    assert r.snapped.tolist() == [True, True, False]
    assert r.snap_round.tolist() == [1, 2, 0]
    assert r.to_frame()["snap_round"].tolist() == [1, 2, 0]
    assert np.isnan(r.leg_time_s()[2])
    # the old 500 m radius left the 1 km point unsnapped
    assert snap_points(NET, ids, lon, lat, max_distance_m=500.0).snapped.tolist() == [
        True,
        False,
        False,
    ]


def test_farther_from_the_road_never_sooner() -> None:
    """Directional: moving the origin away from the road, or walking slower, never shortens."""
    f = snap_points(NET, *points({"school": (2, 150.0)}))
    dists = [0.0, 10.0, 100.0, 400.0, 900.0, 1500.0]
    o = snap_points(NET, *points({f"p{d:g}": (0, d) for d in dists}))
    t = nearest_facility(NET, o, f).table["travel_time_min"].to_numpy()
    assert np.all(np.diff(t) > 0)
    np.testing.assert_allclose(np.diff(t) * 60, np.diff(dists) / 1.3, atol=1e-6)
    slower = nearest_facility(NET, o, f, access_speed_kph=3.0).table["travel_time_min"]
    assert np.all(slower.to_numpy() >= t)
    back = nearest_facility(NET, o, f, direction="from").table["travel_time_min"].to_numpy()
    np.testing.assert_allclose(back, t, atol=1e-9)  # the small network is symmetric


@pytest.fixture(scope="module")
def bayreuth(shared_data: Path):  # type: ignore[no-untyped-def]
    return load_network(shared_data / "osm" / "north-bayreuth.osm.gz", "car")


def test_offsets_match_brute_force_on_a_real_network(bayreuth) -> None:  # type: ignore[no-untyped-def]
    """Oracle: the door-to-door nearest facility equals the row minimum of the full matrix with
    the legs added by hand; scipy and the compiled search agree."""
    rng = np.random.default_rng(5)
    i = rng.choice(bayreuth.n_nodes, 40, replace=False)
    jitter = rng.uniform(-0.004, 0.004, size=(40, 2))
    lon, lat = bayreuth.node_lon[i] + jitter[:, 0], bayreuth.node_lat[i] + jitter[:, 1]
    o = snap_points(bayreuth, [f"o{k}" for k in range(30)], lon[:30], lat[:30])
    f = snap_points(bayreuth, [f"f{k}" for k in range(10)], lon[30:], lat[30:])
    assert o.snapped.all()
    assert f.snapped.all()
    assert (o.distance_m > 1).all()
    res = nearest_facility(bayreuth, o, f).table
    m = travel_time_matrix(bayreuth, o, f).travel_time_min
    np.testing.assert_allclose(res["travel_time_min"].to_numpy(), m.min(axis=1), rtol=1e-12)
    from scipy.sparse.csgraph import dijkstra

    net_s = dijkstra(bayreuth.graph(), indices=o.node)[:, f.node]
    hand = o.distance_m[:, None] / WALK_MPS + net_s + f.distance_m[None, :] / WALK_MPS
    np.testing.assert_allclose(m * 60, hand, rtol=1e-12)
    legs = f.leg_time_s()
    t_sp, w_sp = nearest_node_times(bayreuth, f.node, offset_s=legs, method="dijkstra")
    t_nb, w_nb = nearest_node_times(bayreuth, f.node, offset_s=legs, method="numba")
    np.testing.assert_allclose(t_nb, t_sp, rtol=1e-12)
    reached = np.isfinite(t_sp)
    np.testing.assert_array_equal(np.isfinite(t_nb), reached)
    # each names a facility that attains the time
    to_f = dijkstra(bayreuth.graph(reverse=True), indices=f.node)  # to_f[j, v] = d(v, f_j)
    for which in (w_sp, w_nb):
        v = np.flatnonzero(reached)
        np.testing.assert_allclose(to_f[which[v], v] + legs[which[v]], t_sp[v], rtol=1e-9)


def test_isochrone_spends_the_leg_first(bayreuth) -> None:  # type: ignore[no-untyped-def]
    lon0 = float(bayreuth.node_lon[500])
    north = float(bayreuth.node_lat[500]) + math.degrees(130.0 / EARTH_RADIUS_M)
    off = snap_points(bayreuth, ["s"], [lon0], [north])
    node = int(off.node[0])
    on = snap_points(bayreuth, ["s"], bayreuth.node_lon[[node]], bayreuth.node_lat[[node]])
    leg = off.leg_time_s()[0]
    assert leg == pytest.approx(off.distance_m[0] / WALK_MPS, rel=1e-12)
    assert leg > 30
    short = leg / 60 - 0.25
    a = isochrones(bayreuth, off, [short, 5.0], buffer_m=40).table.geometry.to_numpy()
    b = isochrones(bayreuth, on, [5.0 - leg / 60], buffer_m=40).table.geometry.to_numpy()
    assert a[0].is_empty  # less time than the walk to the road
    assert shapely.equals_exact(a[1], b[0], tolerance=1e-9)


def test_cli_options_and_defaults(shared_data: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wandel.cli.app import app

    net = load_network(shared_data / "osm" / "north-bayreuth.osm.gz", "car")
    # a point of a 200 m grid over the extract that lies 600 m to 1.5 km from every road node
    gx, gy = np.meshgrid(
        np.arange(net.node_lon.min(), net.node_lon.max(), 0.003),
        np.arange(net.node_lat.min(), net.node_lat.max(), 0.002),
    )
    grid = snap_points(net, np.arange(gx.size), gx.ravel(), gy.ravel())
    far = np.flatnonzero((grid.distance_m > 600) & (grid.distance_m < 1500))
    assert len(far) > 0
    pts = tmp_path / "p.csv"
    fac = tmp_path / "f.csv"
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "lon": [grid.lon[far[0]], float(net.node_lon[2000])],
            "lat": [grid.lat[far[0]], float(net.node_lat[2000])],
        }
    ).to_csv(pts, index=False)
    pd.read_csv(pts).iloc[[0]].to_csv(fac, index=False)
    runner = CliRunner()
    outs = {}
    for speed in ("4.68", "3.6"):
        out = tmp_path / f"n{speed}.csv"
        res = runner.invoke(
            app,
            [
                "access", "nearest", "--network", str(shared_data / "osm" / "north-bayreuth.osm.gz"),
                "--origins", str(pts), "--facilities", str(fac), "--out", str(out),
                "--access-speed-kph", speed, "--no-cache",
            ],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        outs[speed] = pd.read_csv(out).set_index("origin")
    a = outs["4.68"].loc["a"]
    # with the default 1.6 km radius the point 600+ m from the road is linked (500 m was not)
    assert a["status"] == "ok"
    assert a["facility"] == "a"  # itself: walk to the road and back
    assert outs["4.68"].loc["b", "leg_facility_min"] == pytest.approx(a["leg_origin_min"])
    assert a["snap_origin_m"] > 600
    assert a["travel_time_min"] * 60 == pytest.approx(2 * a["snap_origin_m"] / 1.3, abs=0.01)
    slow = outs["3.6"].loc["a"]
    assert slow["travel_time_min"] * 60 == pytest.approx(2 * a["snap_origin_m"], abs=0.01)
    bad = runner.invoke(
        app,
        [
            "access", "nearest", "--network", str(shared_data / "osm" / "north-bayreuth.osm.gz"),
            "--origins", str(pts), "--facilities", str(pts), "--out", str(tmp_path / "x.csv"),
            "--access-speed-kph", "0", "--no-cache",
        ],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "--access-speed-kph" in bad.stderr
    assert not (tmp_path / "x.csv").exists()


def test_cli_and_workflow_defaults_are_the_library_ones() -> None:
    import inspect

    from wandel.cli import access as cli_access
    from wandel.workflow.access import NetworkSpec

    assert NetworkSpec().max_snap_m == DEFAULT_MAX_SNAP_M
    assert NetworkSpec().access_speed_kph == DEFAULT_ACCESS_SPEED_KPH
    for command in (
        cli_access.access_nearest,
        cli_access.access_matrix,
        cli_access.access_isochrones,
        cli_access.access_coverage,
    ):
        params = inspect.signature(command).parameters
        assert params["max_snap_m"].default == DEFAULT_MAX_SNAP_M
        assert params["access_speed_kph"].default == DEFAULT_ACCESS_SPEED_KPH

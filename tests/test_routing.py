"""Routing queries: networkx oracle, golden travel times, metamorphic tests, isochrones, coverage."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from wandel.access._geo import haversine_m
from wandel.access.network import RoadNetwork, load_network, network_from_edges
from wandel.access.osm import read_highways
from wandel.access.routing import (
    CROWFLY_DETOUR_FACTOR,
    coverage_by_age,
    isochrones,
    nearest_facility,
    nearest_facility_crowfly,
    nearest_node_times,
    travel_time_matrix,
    travel_times_between_nodes,
)
from wandel.access.snap import SnapResult, snap_points
from wandel.access.synthetic import grid_network
from wandel.errors import WandelError

OSM = "osm"


def _nx(net: RoadNetwork) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))
    tails = net.edge_sources()
    g.add_weighted_edges_from(
        zip(tails.tolist(), net.indices.tolist(), net.weight_s.tolist(), strict=True)
    )
    return g


def _pick(net: RoadNetwork, k: int, seed: int, prefix: str) -> SnapResult:
    i = np.random.default_rng(seed).choice(net.n_nodes, k, replace=False)
    return snap_points(net, [f"{prefix}{j}" for j in range(k)], net.node_lon[i], net.node_lat[i])


@pytest.fixture(scope="module")
def bayreuth(shared_data: Path) -> RoadNetwork:
    return load_network(shared_data / OSM / "north-bayreuth.osm.gz", "car")


@pytest.fixture(scope="module")
def heidelberg(shared_data: Path) -> RoadNetwork:
    return load_network(shared_data / OSM / "heidelberg.test.pbf", "car")


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("bautzen.osm", "car"),
        ("bautzen.osm", "walk"),
        ("north-bayreuth.osm.gz", "car"),
        ("north-bayreuth.osm.gz", "bike"),
    ],
)
def test_networkx_oracle_nearest_and_matrix(shared_data: Path, name: str, mode: str) -> None:
    net = load_network(shared_data / OSM / name, mode)  # type: ignore[arg-type]
    g = _nx(net)
    fac = _pick(net, 5, 1, "f")
    org = _pick(net, 30, 2, "o")
    res = nearest_facility(net, org, fac)
    # oracle: multi-source Dijkstra towards the facilities = from them on the reversed graph
    dist = nx.multi_source_dijkstra_path_length(g.reverse(copy=True), set(fac.node.tolist()))
    want = np.array([dist[n] for n in org.node]) / 60
    np.testing.assert_allclose(res.table["travel_time_min"].to_numpy(), want, rtol=1e-12)
    # the facility named is one at that time
    fac_node = dict(zip(fac.ids, fac.node, strict=True))
    for o, row in res.table.iterrows():
        onode = int(org.node[list(org.ids).index(o)])
        t = nx.shortest_path_length(g, onode, int(fac_node[row["facility"]]), weight="weight")
        assert t / 60 == pytest.approx(row["travel_time_min"], rel=1e-12)
    m = travel_time_matrix(net, org, fac)
    for j, fnode in enumerate(fac.node):
        to_f = nx.single_source_dijkstra_path_length(g.reverse(copy=False), int(fnode))
        np.testing.assert_allclose(
            m.travel_time_min[:, j], [to_f[n] / 60 for n in org.node], rtol=1e-12
        )


# Golden travel times on north-bayreuth.osm.gz (car), checked by hand: each pair is the two end nodes
# of one named OSM way; the route is that way itself. Length = sum of haversine distances
# (R = 6,371,008.8 m) between its consecutive node coordinates as stored in the extract, time =
# length / class speed (or the way's maxspeed tag): Föhrenweg (way 26419011, residential,
# maxspeed=30, 9 nodes) 212.64 m / (30/3.6 m/s) = 25.52 s; Zettlitz (way 156331055, unclassified,
# no maxspeed -> 40 km/h, 39 nodes) 1071.74 m / (40/3.6) = 96.46 s; Euben (way 108013594, tertiary,
# 50 km/h, 7 nodes) 393.34 m / (50/3.6) = 28.32 s.
GOLDEN = [
    ("Föhrenweg", 26419011, 289459523, 258884845, 212.64, 30.0, 25.52),
    ("Zettlitz", 156331055, 21636277, 376051986, 1071.74, 40.0, 96.46),
    ("Euben", 108013594, 21636296, 21636298, 393.34, 50.0, 28.32),
]


@pytest.mark.parametrize(("name", "way", "a", "b", "length_m", "kph", "seconds"), GOLDEN)
def test_golden_north_bayreuth(
    shared_data: Path,
    bayreuth: RoadNetwork,
    name: str,
    way: int,
    a: int,
    b: int,
    length_m: float,
    kph: float,
    seconds: float,
) -> None:
    ways = read_highways(shared_data / OSM / "north-bayreuth.osm.gz")
    k = int(np.flatnonzero(ways.way_id == way)[0])
    sl = slice(ways.way_offsets[k], ways.way_offsets[k + 1])
    assert ways.node_id[sl][0] == a
    assert ways.node_id[sl][-1] == b
    lon, lat = ways.lon[sl], ways.lat[sl]
    assert haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:]).sum() == pytest.approx(
        length_m, abs=0.01
    )
    pos = {int(o): i for i, o in enumerate(bayreuth.node_osm_id)}
    sec = travel_times_between_nodes(bayreuth, [pos[a]], [pos[b]])[0, 0]
    assert sec == pytest.approx(seconds, abs=0.01)
    assert sec == pytest.approx(length_m / (kph / 3.6), abs=0.01)


def test_faster_road_never_raises_travel_time(shared_data: Path, bayreuth: RoadNetwork) -> None:
    fast = load_network(
        shared_data / OSM / "north-bayreuth.osm.gz", "car", speeds_kph={"residential": 45}
    )
    assert fast.n_nodes == bayreuth.n_nodes
    org = _pick(bayreuth, 40, 5, "o")
    dst = _pick(bayreuth, 10, 6, "d")
    slow_m = travel_time_matrix(bayreuth, org, dst).travel_time_min
    fast_m = travel_time_matrix(fast, org, dst).travel_time_min
    assert np.all(fast_m <= slow_m + 1e-9)
    assert np.any(fast_m < slow_m - 1e-6)  # and some do get faster


@given(st.integers(0, 10_000), st.integers(0, 3))
@settings(max_examples=25, deadline=None)
def test_removing_an_edge_never_lowers_travel_time(edge_seed: int, fac_seed: int) -> None:
    net = grid_network(12, seed=fac_seed)
    e = edge_seed % net.n_edges
    keep = np.arange(net.n_edges) != e
    cut = network_from_edges(
        net.edge_sources()[keep],
        net.indices[keep],
        net.weight_s[keep],
        net.node_lon,
        net.node_lat,
        largest_component=False,
    )
    fac = np.array([0, 50, 100])
    before, _ = nearest_node_times(net, fac)
    after, _ = nearest_node_times(cut, fac)
    assert np.all(after >= before - 1e-9)


def test_added_facility_never_lowers_coverage(heidelberg: RoadNetwork) -> None:
    org = _pick(heidelberg, 400, 7, "o")
    rng = np.random.default_rng(8)
    pop = pd.DataFrame(
        {"0-5": rng.integers(0, 50, 400), "75+": rng.integers(0, 80, 400)}, index=org.ids
    )
    shares = []
    for k in (1, 2, 4, 8):
        fac = _pick(heidelberg, k, 9, "f")  # the same seed: k facilities extend k-1's list
        res = nearest_facility(heidelberg, org, fac)
        cov = coverage_by_age(res.table["travel_time_min"], pop, 8.0, method=res.method)
        assert cov.method == "network:car"
        assert (cov.table["share"] <= 1).all()
        shares.append(cov.table["share"].to_numpy())
    assert np.all(np.diff(np.array(shares), axis=0) >= -1e-12)


def test_heidelberg_nearest_equals_scipy_per_facility_oracle(heidelberg: RoadNetwork) -> None:
    from scipy.sparse.csgraph import dijkstra

    fac = np.random.default_rng(11).choice(heidelberg.n_nodes, 20, replace=False)
    t, which = nearest_node_times(heidelberg, fac)
    full = dijkstra(heidelberg.graph(reverse=True), indices=fac)
    np.testing.assert_array_equal(t, full.min(axis=0))
    np.testing.assert_array_equal(full[which, np.arange(heidelberg.n_nodes)], t)


def test_matrix_cutoff_and_workers(heidelberg: RoadNetwork) -> None:
    org = _pick(heidelberg, 60, 12, "o")
    dst = _pick(heidelberg, 8, 13, "d")
    full = travel_time_matrix(heidelberg, org, dst)
    par = travel_time_matrix(heidelberg, org, dst, workers=2)
    np.testing.assert_array_equal(full.travel_time_min, par.travel_time_min)
    cut = travel_time_matrix(heidelberg, org, dst, cutoff_min=6.0)
    inside = full.travel_time_min <= 6.0
    np.testing.assert_array_equal(cut.travel_time_min[inside], full.travel_time_min[inside])
    assert np.all(np.isinf(cut.travel_time_min[~inside]))
    long = cut.to_frame()
    assert len(long) == inside.sum()
    assert list(long.columns) == [
        "origin", "destination", "travel_time_min", "snap_origin_m", "snap_destination_m",
    ]  # fmt: skip
    # fewer origins than destinations: searched forward from the origins; same as the oracle
    from scipy.sparse.csgraph import dijkstra

    back = travel_time_matrix(heidelberg, dst, org)
    oracle = dijkstra(heidelberg.graph(), indices=dst.node)[:, org.node] / 60
    np.testing.assert_array_equal(back.travel_time_min, oracle)


def test_facility_outside_network_is_unsnapped(heidelberg: RoadNetwork) -> None:
    org = _pick(heidelberg, 10, 14, "o")
    fac = snap_points(heidelberg, ["in", "berlin"], [8.69, 13.4], [49.41, 52.52])
    res = nearest_facility(heidelberg, org, fac)
    assert res.unsnapped_facilities["id"].tolist() == ["berlin"]
    assert set(res.table["facility"]) == {"in"}
    far_origin = snap_points(heidelberg, ["x"], [13.4], [52.52])
    r2 = nearest_facility(heidelberg, far_origin, fac)
    assert r2.table.loc["x", "status"] == "unsnapped"
    assert np.isnan(r2.table.loc["x", "travel_time_min"])
    m = travel_time_matrix(heidelberg, far_origin, fac)
    assert m.unsnapped["id"].tolist() == ["x", "berlin"]
    assert np.all(np.isnan(m.travel_time_min))


def test_cutoff_marks_unreached(heidelberg: RoadNetwork) -> None:
    org = _pick(heidelberg, 50, 15, "o")
    fac = _pick(heidelberg, 1, 16, "f")
    full = nearest_facility(heidelberg, org, fac).table
    cut = nearest_facility(heidelberg, org, fac, cutoff_min=5).table
    far = full["travel_time_min"] > 5
    assert (cut.loc[far, "status"] == "unreached").all()
    assert cut.loc[far, "facility"].isna().all()
    np.testing.assert_array_equal(
        cut.loc[~far, "travel_time_min"].to_numpy(), full.loc[~far, "travel_time_min"].to_numpy()
    )
    with pytest.raises(WandelError):
        nearest_facility(heidelberg, org, fac, cutoff_min=0)


def test_isochrones_contain_reached_nodes_and_grow(bayreuth: RoadNetwork) -> None:
    from scipy.sparse.csgraph import dijkstra

    src = _pick(bayreuth, 1, 17, "s")
    iso = isochrones(bayreuth, src, [3, 6], buffer_m=40)
    assert iso.method.startswith("network-buffer:car")
    polys = iso.table.geometry.to_numpy()
    assert polys[0].within(polys[1].buffer(1e-9))
    assert polys[0].area < polys[1].area
    t = dijkstra(bayreuth.graph(), indices=int(src.node[0]))
    for poly, minutes in zip(polys, (3, 6), strict=True):
        reached = t <= minutes * 60
        pts = shapely.points(bayreuth.node_lon[reached], bayreuth.node_lat[reached])
        assert shapely.covers(poly.buffer(1e-7), pts).all()
        # nodes reached only far later lie outside
        late = t > minutes * 60 * 3
        late_pts = shapely.points(bayreuth.node_lon[late], bayreuth.node_lat[late])
        assert not shapely.covers(poly, late_pts).any()


def test_coverage_counts_unrouted_and_rejects_bad_population() -> None:
    tt = pd.Series([5.0, np.nan, 30.0], index=["a", "b", "c"])
    pop = pd.DataFrame({"75+": [10, 20, 30], "0-5": [1, 2, 3]}, index=["a", "b", "c"])
    t = coverage_by_age(tt, pop, 15).table
    assert t.loc["75+", "population"] == 60
    assert t.loc["75+", "covered"] == 10
    assert t.loc["75+", "unrouted"] == 20
    assert t.loc["total", "share"] == pytest.approx(11 / 66)
    with pytest.raises(WandelError):
        coverage_by_age(tt, pop * -1, 15)


def test_crowfly_fallback_formula_and_label() -> None:
    o = pd.DataFrame({"id": ["a", "b"], "lon": [8.0, 8.2], "lat": [49.0, 49.0]})
    f = pd.DataFrame({"id": ["x", "y"], "lon": [8.0, 8.3], "lat": [49.05, 49.0]})
    r = nearest_facility_crowfly(o, f, mode="bike")
    assert r.method.startswith("crowfly:bike")
    assert "x 1.3 at 15 km/h" in r.method
    assert r.table["facility"].tolist() == ["x", "y"]
    d = haversine_m(8.2, 49.0, 8.3, 49.0)
    assert r.table.loc["b", "travel_time_min"] == pytest.approx(
        d * CROWFLY_DETOUR_FACTOR / (15 / 3.6) / 60
    )

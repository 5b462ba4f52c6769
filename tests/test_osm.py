"""Reading OSM extracts into road networks: tag rules, all four real extracts, cache, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from wandel.access._geo import haversine_m
from wandel.access.network import (
    DEFAULT_SPEEDS_KPH,
    build_network,
    load_network,
    parse_maxspeed_kph,
    speed_table,
)
from wandel.access.osm import read_highways
from wandel.errors import InputFormatError

EXTRACTS = ["Hoyerswerda.osm.pbf", "bautzen.osm", "heidelberg.test.pbf", "north-bayreuth.osm.gz"]


def _edges(net):  # {(osm_tail, osm_head): weight_s}
    tail = net.node_osm_id[net.edge_sources()]
    head = net.node_osm_id[net.indices]
    return {(int(a), int(b)): float(w) for a, b, w in zip(tail, head, net.weight_s, strict=True)}


@pytest.fixture(scope="module")
def rules_osm(fixtures: Path) -> Path:
    return fixtures / "access" / "rules.osm"


def test_car_rules_oneway_maxspeed_access(rules_osm: Path) -> None:
    net = build_network(read_highways(rules_osm), "car")
    e = _edges(net)
    # footway 5-7 and private service 7-1 are not for cars: node 7 is gone
    assert sorted(net.node_osm_id.tolist()) == [1, 2, 3, 4, 5, 6]
    assert len(e) == 11
    assert (3, 4) in e
    assert (4, 3) not in e
    # 3->4: 0.001 deg of longitude at 49 N at maxspeed 70 km/h
    d34 = float(haversine_m(8.002, 49.0, 8.003, 49.0))
    assert e[(3, 4)] == pytest.approx(d34 / (70 / 3.6), rel=1e-12)
    assert e[(1, 2)] == pytest.approx(d34 / (30 / 3.6), rel=1e-9)


def test_bike_and_walk_rules(rules_osm: Path) -> None:
    ways = read_highways(rules_osm)
    bike = _edges(build_network(ways, "bike"))
    walk = _edges(build_network(ways, "walk"))
    assert (4, 3) in bike  # oneway:bicycle=no
    assert (5, 7) in bike
    assert (7, 5) in bike
    assert (7, 1) not in bike
    assert (7, 1) not in walk
    assert (4, 3) in walk
    assert len(walk) == 14
    assert walk[(1, 2)] == pytest.approx(float(haversine_m(8.0, 49.0, 8.001, 49.0)) / (5 / 3.6))


def test_speed_override_and_removal(rules_osm: Path) -> None:
    ways = read_highways(rules_osm)
    slow = _edges(build_network(ways, "car", speeds_kph={"residential": 15}))
    base = _edges(build_network(ways, "car"))
    assert slow[(1, 2)] == pytest.approx(2 * base[(1, 2)])
    assert slow[(3, 4)] == base[(3, 4)]  # maxspeed-tagged way keeps its tag
    with pytest.raises(InputFormatError, match="no roads usable by car"):
        build_network(ways, "car", speeds_kph={"residential": 0, "tertiary": 0})


def test_maxspeed_parsing() -> None:
    assert parse_maxspeed_kph("30") == 30.0
    assert parse_maxspeed_kph("DE:rural") == 100.0
    assert parse_maxspeed_kph("30;50") == 30.0
    assert parse_maxspeed_kph("none") is None
    assert parse_maxspeed_kph("3") is None  # not sane
    assert parse_maxspeed_kph("500") is None
    assert speed_table("car")["motorway"] == DEFAULT_SPEEDS_KPH["car"]["motorway"]
    assert "footway" not in speed_table("car")
    assert "motorway" not in speed_table("walk")


@pytest.mark.parametrize("name", EXTRACTS)
def test_every_extract_loads(shared_data: Path, name: str) -> None:
    ways = read_highways(shared_data / "osm" / name)
    for mode in ("car", "bike", "walk"):
        net = build_network(ways, mode)
        assert net.n_nodes > 50
        assert net.n_edges >= net.n_nodes
        assert np.all(np.diff(net.indptr) >= 1)
        assert np.all(net.weight_s >= 0)
        assert np.all(np.isfinite(net.weight_s))
        # strongly connected: every node reaches every other node
        from scipy.sparse.csgraph import connected_components

        n, _ = connected_components(net.graph(), directed=True, connection="strong")
        assert n == 1
        # the reversed arrays are the transpose
        assert (net.graph(reverse=True) != net.graph().T.tocsr()).nnz == 0


def test_heidelberg_size(shared_data: Path) -> None:
    ways = read_highways(shared_data / "osm" / "heidelberg.test.pbf")
    assert ways.n_ways == 25359  # the data README's count of highway ways
    car = build_network(ways, "car")
    walk = build_network(ways, "walk")
    assert walk.n_nodes > car.n_nodes  # footways, paths and steps


def test_edge_lengths_are_haversine_of_consecutive_way_nodes(shared_data: Path) -> None:
    ways = read_highways(shared_data / "osm" / "north-bayreuth.osm.gz")
    net = build_network(ways, "walk")
    lon = dict(zip(ways.node_id.tolist(), ways.lon.tolist(), strict=True))
    lat = dict(zip(ways.node_id.tolist(), ways.lat.tolist(), strict=True))
    a = net.node_osm_id[net.edge_sources()]
    b = net.node_osm_id[net.indices]
    expected = haversine_m(
        [lon[x] for x in a], [lat[x] for x in a], [lon[x] for x in b], [lat[x] for x in b]
    )
    np.testing.assert_allclose(net.length_m, expected, rtol=1e-12)
    pos = net.length_m > 0
    mps = net.length_m[pos] / net.weight_s[pos]
    # walking speeds: 5 km/h, 3 km/h on steps
    assert np.all(np.isclose(mps, 5 / 3.6, rtol=1e-9) | np.isclose(mps, 3 / 3.6, rtol=1e-9))
    assert np.isclose(mps, 3 / 3.6).any()


def test_cache_hit_returns_identical_arrays_without_parsing(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = shared_data / "osm" / "north-bayreuth.osm.gz"
    first = load_network(src, "bike", cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    assert ".bike." in files[0].name

    def fail(_: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr("wandel.access.network.read_highways", fail)
    second = load_network(src, "bike", cache_dir=tmp_path)
    for field in ("indptr", "indices", "weight_s", "node_lon", "node_osm_id", "rev_weight_s"):
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))
    # another speed table is another key
    with pytest.raises(AssertionError, match="parsed again"):
        load_network(src, "bike", speeds_kph={"track": 10}, cache_dir=tmp_path)


def test_not_osm(tmp_path: Path) -> None:
    bad = tmp_path / "notes.osm"
    bad.write_text("this is not xml\n")
    with pytest.raises(InputFormatError, match="cannot read as OpenStreetMap") as info:
        read_highways(bad)
    assert info.value.file == str(bad)
    csv = tmp_path / "points.csv"
    csv.write_text("id,lon,lat\n")
    with pytest.raises(InputFormatError, match="not an OpenStreetMap extract"):
        read_highways(csv)


def test_truncated_pbf_and_gz(shared_data: Path, tmp_path: Path) -> None:
    pbf = tmp_path / "cut.osm.pbf"
    pbf.write_bytes((shared_data / "osm" / "heidelberg.test.pbf").read_bytes()[:100_000])
    with pytest.raises(InputFormatError, match="cannot read"):
        load_network(pbf, "car")
    gz = tmp_path / "cut.osm.gz"
    gz.write_bytes((shared_data / "osm" / "north-bayreuth.osm.gz").read_bytes()[:100_000])
    with pytest.raises(InputFormatError, match="cannot read"):
        load_network(gz, "car")


def test_no_roads(tmp_path: Path) -> None:
    xml = (
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="49" lon="8" version="1"/><node id="2" lat="49.1" lon="8" version="1"/>'
        '<way id="3" version="1"><nd ref="1"/><nd ref="2"/><tag k="waterway" v="river"/></way></osm>'
    )
    path = tmp_path / "river.osm.gz"
    path.write_bytes(gzip.compress(xml.encode()))
    with pytest.raises(InputFormatError, match="no roads"):
        read_highways(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_network(tmp_path / "absent.osm.pbf")

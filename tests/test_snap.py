"""Snapping points to the network: exact nearest node, distances, unsnapped points reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wandel.access._geo import haversine_m
from wandel.access.network import load_network
from wandel.access.snap import snap_frame, snap_points
from wandel.access.synthetic import grid_network
from wandel.errors import DuplicateKeyError, MissingColumnError

GRID = grid_network(15, seed=3)


@given(
    st.lists(st.tuples(st.floats(10.99, 11.01), st.floats(50.993, 51.007)), min_size=1, max_size=20)
)
@settings(max_examples=30, deadline=None)
def test_nearest_node_matches_brute_force(points: list[tuple[float, float]]) -> None:
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    r = snap_points(GRID, range(len(points)), lon, lat, max_distance_m=1e9)
    d = haversine_m(lon[:, None], lat[:, None], GRID.node_lon[None, :], GRID.node_lat[None, :])
    np.testing.assert_allclose(r.distance_m, d.min(axis=1), rtol=1e-9, atol=1e-6)
    assert np.all(r.node >= 0)


def test_beyond_max_distance_is_reported_not_dropped(shared_data: Path) -> None:
    net = load_network(shared_data / "osm" / "north-bayreuth.osm.gz", "car")
    i = 100
    pts = pd.DataFrame(
        {
            "id": ["on-road", "munich", "no-coords"],
            "lon": [net.node_lon[i], 11.58, np.nan],
            "lat": [net.node_lat[i], 48.14, np.nan],
        }
    )
    r = snap_frame(net, pts, max_distance_m=300, what="facilities")
    assert len(r) == 3
    assert r.node[0] == i
    assert r.distance_m[0] == 0.0
    assert r.unsnapped["id"].tolist() == ["munich", "no-coords"]
    assert 150_000 < r.unsnapped["distance_m"].iloc[0] < 250_000  # Bayreuth to Munich, ~190 km
    assert np.isinf(r.unsnapped["distance_m"].iloc[1])
    frame = r.to_frame()
    assert frame["snapped"].tolist() == [True, False, False]


def test_duplicate_ids_and_missing_columns() -> None:
    with pytest.raises(DuplicateKeyError, match="duplicate id"):
        snap_points(GRID, ["a", "a"], [11.0, 11.0], [51.0, 51.0])
    with pytest.raises(MissingColumnError, match="lat"):
        snap_frame(GRID, pd.DataFrame({"id": [1], "lon": [11.0]}))

"""Errors of the road network and the routing queries: catalogue messages in German and English,
the builtin each error also is (callers catching ValueError or FileNotFoundError keep working)."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wandel.access.network import load_network, network_from_edges, speed_table
from wandel.access.routing import (
    coverage_by_age,
    isochrones,
    nearest_node_times,
    travel_time_matrix_crowfly,
    travel_times_between_nodes,
)
from wandel.access.snap import snap_points
from wandel.access.synthetic import grid_network
from wandel.errors import OptionError, UnknownChoiceError, WandelError


def _both(exc: pytest.ExceptionInfo[WandelError]) -> tuple[str, str]:
    return exc.value.message("de"), exc.value.message("en")


def test_unknown_choices_name_the_choices_in_both_languages() -> None:
    net = grid_network(5)
    with pytest.raises(UnknownChoiceError) as exc:
        travel_times_between_nodes(net, [0], [1], method="ch")  # type: ignore[arg-type]
    de, en = _both(exc)
    assert de == "method 'ch' gibt es nicht; möglich sind: auto, dijkstra, core, numba, numba-core"
    assert en == "method 'ch' is unknown; expected one of: auto, dijkstra, core, numba, numba-core"
    src = snap_points(net, ["a"], net.node_lon[:1], net.node_lat[:1])
    with pytest.raises(ValueError, match="direction 'up' is unknown"):
        isochrones(net, src, [5.0], direction="up")  # type: ignore[arg-type]
    with pytest.raises(UnknownChoiceError, match="expected one of: car, bike, walk"):
        speed_table("tram")  # type: ignore[arg-type]


def test_value_errors_are_catalogue_messages() -> None:
    with pytest.raises(OptionError) as exc:
        speed_table("car", {"residential": -5})
    assert _both(exc) == (
        "Geschwindigkeit für highway=residential muss >= 0 km/h sein, gefunden -5",
        "speed for highway=residential must be >= 0 km/h, got -5",
    )
    with pytest.raises(ValueError, match=r"same length \(got 2, 1, 2, 2\)") as exc2:
        network_from_edges([0, 1], [1], [1.0, 1.0], [8.0, 8.1], [49.0, 49.0])
    assert "gleich lang" in exc2.value.message("de")  # type: ignore[attr-defined]
    with pytest.raises(OptionError, match="finite and >= 0"):
        network_from_edges([0], [1], [np.nan], [8.0, 8.1], [49.0, 49.0])
    net = grid_network(5)
    with pytest.raises(OptionError) as exc3:
        nearest_node_times(net, [0, 1], offset_s=[1.0])
    assert "(2 Einrichtungen, 1 Werte)" in exc3.value.message("de")
    tt = pd.Series([1.0], index=["a"])
    with pytest.raises(OptionError) as exc4:
        coverage_by_age(tt, pd.DataFrame({"75+": [-1.0]}, index=["a"]), 10)
    assert _both(exc4)[0] == "die Bevölkerung muss aus nicht-negativen Zahlen ohne Lücken bestehen"
    with pytest.raises(OptionError, match=r"threshold must be >= 0 minutes, got -1"):
        coverage_by_age(tt, pd.DataFrame({"75+": [1.0]}, index=["a"]), -1)
    pts = pd.DataFrame({"id": ["a"], "lon": [8.0], "lat": [49.0]})
    with pytest.raises(OptionError) as exc5:
        travel_time_matrix_crowfly(pts, pts, speed_kph=0.0)
    assert "Umwegfaktor 1.3" in exc5.value.message("de")


def test_missing_extract_is_an_os_error_with_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.osm.pbf"
    with pytest.raises(FileNotFoundError) as exc:
        load_network(missing, "car")
    assert exc.value.errno == errno.ENOENT  # the CLI words it from the catalogue (error.os.*)
    assert exc.value.filename == str(missing)

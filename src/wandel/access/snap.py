"""Snap the user's points (origins, facilities) to the nearest node of a road network.

This module is **the one place where the user's ids meet array positions**: a :class:`SnapResult`
keeps the ids in input order next to the node position each point snapped to (``-1`` if none).
Every query in :mod:`wandel.access.routing` takes snap results and returns tables indexed by these
ids; no other module translates ids.

The nearest node is found with a k-d tree (:class:`scipy.spatial.cKDTree`) on the nodes' 3-D
Cartesian coordinates on the sphere: the chord length there is monotonic in the great-circle
distance, so the nearest node is exact anywhere (no projection zone or distortion), and the reported
``snap_distance_m`` is the haversine distance. Points farther than ``max_distance_m`` from every node,
or with missing coordinates, are *unsnapped*: they stay in the result, with their distance, and are
listed by :attr:`SnapResult.unsnapped`; they are never dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.access._geo import haversine_m, unit_xyz
from wandel.access.network import RoadNetwork
from wandel.errors import DuplicateKeyError, MissingColumnError

__all__ = ["DEFAULT_MAX_SNAP_M", "SnapResult", "snap_frame", "snap_points"]

#: Default largest distance from a point to its network node, metres.
DEFAULT_MAX_SNAP_M = 500.0


@dataclass(frozen=True, eq=False)
class SnapResult:
    """Points snapped to network nodes, in input order.

    Attributes
    ----------
    ids
        The user's ids (object array, unique).
    lon, lat
        The points as given (WGS84 degrees).
    node
        Node position in the network, ``-1`` for an unsnapped point.
    distance_m
        Great-circle distance to the nearest node (also for unsnapped points; ``inf`` for points
        with missing coordinates).
    max_distance_m
        The limit used.
    """

    ids: npt.NDArray[Any]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    node: npt.NDArray[np.int64]
    distance_m: npt.NDArray[np.float64]
    max_distance_m: float

    @property
    def snapped(self) -> npt.NDArray[np.bool_]:
        """Mask of the points that have a node."""
        return np.asarray(self.node >= 0)

    @property
    def unsnapped(self) -> pd.DataFrame:
        """The points beyond ``max_distance_m`` (or without coordinates): ``id, distance_m``."""
        m = ~self.snapped
        return pd.DataFrame({"id": self.ids[m], "distance_m": self.distance_m[m]})

    def to_frame(self) -> pd.DataFrame:
        """``id, lon, lat, node, snap_distance_m, snapped`` for every point, in input order."""
        return pd.DataFrame(
            {
                "id": self.ids,
                "lon": self.lon,
                "lat": self.lat,
                "node": self.node,
                "snap_distance_m": self.distance_m,
                "snapped": self.snapped,
            }
        )

    def __len__(self) -> int:
        return len(self.ids)


def snap_points(
    network: RoadNetwork,
    ids: Sequence[Any] | npt.ArrayLike,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    max_distance_m: float = DEFAULT_MAX_SNAP_M,
    what: str = "points",
) -> SnapResult:
    """Snap points to their nearest network node.

    Parameters
    ----------
    network
        The road network.
    ids
        One unique id per point (any hashable values: strings, integers).
    lon, lat
        WGS84 coordinates in degrees.
    max_distance_m
        Points farther from every node are reported as unsnapped.
    what
        A name for the points used in error messages (``"origins"``, ``"facilities"``).

    Raises
    ------
    wandel.errors.DuplicateKeyError
        An id appears twice.
    """
    id_arr = np.asarray(ids, dtype=object).ravel()
    lo = np.asarray(lon, dtype=np.float64).ravel()
    la = np.asarray(lat, dtype=np.float64).ravel()
    if not (len(id_arr) == len(lo) == len(la)):
        raise ValueError(f"{what}: ids, lon and lat must have the same length")
    dup = pd.Index(id_arr).duplicated()
    if dup.any():
        first = id_arr[np.flatnonzero(dup)[0]]
        raise DuplicateKeyError(
            f"<{what}>", column="id", value=first, reason="duplicate id", expected="unique ids"
        )
    node = np.full(len(lo), -1, dtype=np.int64)
    dist = np.full(len(lo), np.inf)
    ok = np.isfinite(lo) & np.isfinite(la) & (np.abs(la) <= 90)
    if ok.any() and network.n_nodes:
        from scipy.spatial import cKDTree

        tree = cKDTree(unit_xyz(network.node_lon, network.node_lat))
        _, nearest = tree.query(unit_xyz(lo[ok], la[ok]))
        nearest = np.asarray(nearest, dtype=np.int64)
        d = haversine_m(lo[ok], la[ok], network.node_lon[nearest], network.node_lat[nearest])
        dist[ok] = d
        node[ok] = np.where(d <= max_distance_m, nearest, -1)
    return SnapResult(
        ids=id_arr,
        lon=lo,
        lat=la,
        node=node,
        distance_m=dist,
        max_distance_m=float(max_distance_m),
    )


def snap_frame(
    network: RoadNetwork,
    points: pd.DataFrame,
    *,
    id_col: str = "id",
    lon_col: str = "lon",
    lat_col: str = "lat",
    max_distance_m: float = DEFAULT_MAX_SNAP_M,
    what: str = "points",
) -> SnapResult:
    """Snap the rows of a table with ``id, lon, lat`` columns (the CLI's CSV layout).

    Raises
    ------
    wandel.errors.MissingColumnError
        A required column is missing.
    """
    for col in (id_col, lon_col, lat_col):
        if col not in points.columns:
            raise MissingColumnError(
                f"<{what}>",
                column=col,
                reason="missing column",
                expected=f"{id_col},{lon_col},{lat_col}",
            )
    lon = pd.to_numeric(points[lon_col], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(points[lat_col], errors="coerce").to_numpy(dtype=np.float64)
    return snap_points(
        network,
        points[id_col].to_numpy(dtype=object),
        lon,
        lat,
        max_distance_m=max_distance_m,
        what=what,
    )

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

Link radius and access legs
---------------------------
The default radius follows R5 (Conveyal's routing engine) and its R wrapper r5r: a point is linked
within :data:`DEFAULT_INITIAL_SNAP_M` (300 m) first, and if nothing is that close, within
:data:`DEFAULT_MAX_SNAP_M` (1.6 km). R5 searches in two rounds for speed; for the exact nearest node
used here both rounds give the same node as one search to 1.6 km, so the round is only reported
(:attr:`SnapResult.snap_round`: 1 within 300 m, 2 beyond, 0 unsnapped) as a quality flag.

The straight line from a point to its node is not free: :meth:`SnapResult.leg_time_s` costs it at
walking speed, ``t_leg = d_snap / v_access``, and the routing functions add it at both ends of a trip
(R5 does the same with its fixed off-street speed of 1.3 m/s, ``OFF_STREET_SPEED`` in its
``LinkedPointSet``; r5r documents the walk to the network as part of the travel time). The default
:data:`DEFAULT_ACCESS_SPEED_KPH` is that speed, 1.3 m/s = 4.68 km/h, for every travel mode: the way
from a house to the road is walked, even for a car trip. Unlike R5, which links to the nearest point
of an edge and adds the part of the edge to either end, points link to the nearest *node*; OSM ways
carry a shape point every few metres, so the difference is small on real extracts.
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
from wandel.errors import DuplicateKeyError, MissingColumnError, OptionError

__all__ = [
    "DEFAULT_ACCESS_SPEED_KPH",
    "DEFAULT_INITIAL_SNAP_M",
    "DEFAULT_MAX_SNAP_M",
    "SnapResult",
    "check_access_speed",
    "snap_frame",
    "snap_points",
]

#: First link radius, metres (R5's ``INITIAL_LINK_RADIUS_METERS``, r5r's first round).
DEFAULT_INITIAL_SNAP_M = 300.0
#: Default largest distance from a point to its network node, metres (R5's ``LINK_RADIUS_METERS``,
#: r5r's default ``radius`` of :func:`find_snap`).
DEFAULT_MAX_SNAP_M = 1600.0
#: Speed of the access legs (point to network, network to facility), km/h: R5's off-street speed of
#: 1.3 m/s.
DEFAULT_ACCESS_SPEED_KPH = 4.68


def check_access_speed(speed_kph: float, option: str = "access_speed_kph") -> float:
    """The access-leg speed as a float, or an error naming ``option`` if it is not ``> 0``
    (``inf``: the legs cost nothing, as before they were costed).

    >>> check_access_speed(4.68)
    4.68
    """
    v = float(speed_kph)
    if not v > 0:
        raise OptionError("@error.positive", option=option, value=speed_kph)
    return v


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
    initial_distance_m
        The first link radius (see :attr:`snap_round`).
    """

    ids: npt.NDArray[Any]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    node: npt.NDArray[np.int64]
    distance_m: npt.NDArray[np.float64]
    max_distance_m: float
    initial_distance_m: float = DEFAULT_INITIAL_SNAP_M

    @property
    def snapped(self) -> npt.NDArray[np.bool_]:
        """Mask of the points that have a node."""
        return np.asarray(self.node >= 0)

    @property
    def unsnapped(self) -> pd.DataFrame:
        """The points beyond ``max_distance_m`` (or without coordinates): ``id, distance_m``."""
        m = ~self.snapped
        return pd.DataFrame({"id": self.ids[m], "distance_m": self.distance_m[m]})

    @property
    def snap_round(self) -> npt.NDArray[np.int64]:
        """1: linked within ``initial_distance_m``; 2: beyond it, within ``max_distance_m``;
        0: unsnapped."""
        near = self.distance_m <= min(self.initial_distance_m, self.max_distance_m)
        return np.where(self.snapped, np.where(near, 1, 2), 0).astype(np.int64)

    def leg_time_s(self, speed_kph: float = DEFAULT_ACCESS_SPEED_KPH) -> npt.NDArray[np.float64]:
        """Time of the straight leg between each point and its node, seconds.

        ``t = d_snap / (v / 3.6)``; ``nan`` for unsnapped points; ``0`` for every snapped point
        when ``speed_kph`` is ``inf``.

        >>> from wandel.access.network import network_from_edges
        >>> net = network_from_edges([0, 1], [1, 0], [60.0, 60.0], [8.0, 8.01], [49.0, 49.0])
        >>> r = snap_points(net, ["p"], [8.0], [49.0054])   # ~600 m north of node 0
        >>> round(float(r.distance_m[0]), 1), round(float(r.leg_time_s(4.68)[0]), 1)
        (600.5, 461.9)
        """
        v = check_access_speed(speed_kph)
        t = np.zeros(len(self.ids)) if np.isinf(v) else self.distance_m / (v / 3.6)
        return np.where(self.snapped, t, np.nan)

    def to_frame(self) -> pd.DataFrame:
        """``id, lon, lat, node, snap_distance_m, snap_round, snapped`` for every point, in input
        order."""
        return pd.DataFrame(
            {
                "id": self.ids,
                "lon": self.lon,
                "lat": self.lat,
                "node": self.node,
                "snap_distance_m": self.distance_m,
                "snap_round": self.snap_round,
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
    initial_distance_m: float = DEFAULT_INITIAL_SNAP_M,
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
    initial_distance_m
        The first link radius; a point linked beyond it has ``snap_round`` 2.
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
        initial_distance_m=float(initial_distance_m),
    )


def snap_frame(
    network: RoadNetwork,
    points: pd.DataFrame,
    *,
    id_col: str = "id",
    lon_col: str = "lon",
    lat_col: str = "lat",
    max_distance_m: float = DEFAULT_MAX_SNAP_M,
    initial_distance_m: float = DEFAULT_INITIAL_SNAP_M,
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
        initial_distance_m=initial_distance_m,
        what=what,
    )

"""Small spherical-geometry helpers shared by the access modules (private)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "EARTH_RADIUS_M",
    "haversine_m",
    "local_xy",
    "local_xy_inverse",
    "morton_order",
    "unit_xyz",
]

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8

FloatArray = npt.NDArray[np.float64]


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in metres between WGS84 points (degrees), element-wise.

    ``d = 2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))`` with ``R`` = 6,371,008.8 m.

    >>> round(float(haversine_m(0.0, 0.0, 0.0, 1.0)), 1)
    111195.1
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def unit_xyz(lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
    """Points on the sphere of radius :data:`EARTH_RADIUS_M` as (n, 3) Cartesian coordinates.

    The straight (chord) distance ``c`` between two such points grows monotonically with their
    great-circle distance ``d = 2 R asin(c / 2R)``, so a k-d tree on these coordinates finds the
    exact great-circle nearest neighbour anywhere on Earth, with no projection error.
    """
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    la = np.radians(np.asarray(lat, dtype=np.float64))
    cl = np.cos(la)
    return np.column_stack([cl * np.cos(lo), cl * np.sin(lo), np.sin(la)]) * EARTH_RADIUS_M


def local_xy(
    lon: npt.ArrayLike, lat: npt.ArrayLike, lon0: float, lat0: float
) -> tuple[FloatArray, FloatArray]:
    """Equirectangular projection in metres around (lon0, lat0): ``x = R Δλ cos φ0``, ``y = R Δφ``."""
    k = np.pi / 180 * EARTH_RADIUS_M
    x = (np.asarray(lon, dtype=np.float64) - lon0) * k * np.cos(np.radians(lat0))
    y = (np.asarray(lat, dtype=np.float64) - lat0) * k
    return np.asarray(x), np.asarray(y)


def local_xy_inverse(
    x: npt.ArrayLike, y: npt.ArrayLike, lon0: float, lat0: float
) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`local_xy`."""
    k = np.pi / 180 * EARTH_RADIUS_M
    lon = np.asarray(x, dtype=np.float64) / (k * np.cos(np.radians(lat0))) + lon0
    lat = np.asarray(y, dtype=np.float64) / k + lat0
    return np.asarray(lon), np.asarray(lat)


def morton_order(lon: npt.ArrayLike, lat: npt.ArrayLike, bits: int = 16) -> npt.NDArray[np.int64]:
    """Point indices sorted along a Z-order (Morton) curve over their bounding box.

    Coordinates are scaled to ``bits``-bit integers per axis and their bits interleaved; ties keep
    the input order. Nodes numbered in this order lie close in memory when they lie close on the
    map, which is what a search's wavefront touches.

    >>> morton_order([0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]).tolist()
    [2, 3, 0, 1]
    """
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    top = float(2**bits - 1)
    code = np.zeros(len(x), dtype=np.uint64)
    for i, c in enumerate((x, y)):
        span = float(c.max() - c.min())
        q = ((c - c.min()) / span * top if span > 0 else np.zeros(len(c))).astype(np.uint64)
        for b in range(bits):
            code |= ((q >> np.uint64(b)) & np.uint64(1)) << np.uint64(2 * b + i)
    return np.argsort(code, kind="stable").astype(np.int64)

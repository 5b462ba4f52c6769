"""Convenience entry points: location models from GeoDataFrames of demand points and candidate sites.

They build the cost matrix (straight-line distance, or a travel-cost function passed in, e.g. road
travel times from :mod:`wandel.access`) and delegate to the ``*_from_cost_matrix`` builders. Ids come
from a named column or, by default, the frame's index.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

import geopandas as gpd
import numpy as np
from numpy.typing import ArrayLike, NDArray

from wandel.errors import ModelInputError
from wandel.planning._model import (
    FloatArray,
    LocationModel,
    lscp_from_cost_matrix,
    mclp_from_cost_matrix,
    p_median_from_cost_matrix,
)

__all__ = [
    "EARTH_RADIUS_M",
    "TravelCost",
    "cost_matrix_from_geodataframe",
    "lscp_from_geodataframe",
    "mclp_from_geodataframe",
    "p_median_from_geodataframe",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG) used for great-circle distances in a geographic CRS."""

TravelCost = Callable[[Any, Any], ArrayLike]
"""``travel_cost(demand_points, candidate_points) -> (n_demand, n_candidates)`` array (GeoSeries)."""


def _points(frame: gpd.GeoDataFrame) -> Any:
    geom = frame.geometry
    if geom.isna().any() or geom.is_empty.any():
        bad = frame.index[(geom.isna() | geom.is_empty).to_numpy()][:5].tolist()
        raise ModelInputError("@planning.error.no_geometry", rows=bad)
    if (geom.geom_type == "Point").all():
        return geom
    return geom.representative_point()


def cost_matrix_from_geodataframe(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    travel_cost: TravelCost | None = None,
) -> FloatArray:
    r"""Cost matrix between demand points (rows) and candidate sites (columns).

    Without ``travel_cost``: straight-line distance, in metres for a geographic CRS (haversine,
    :math:`2R \arcsin\sqrt{\sin^2\frac{\Delta\varphi}{2} + \cos\varphi_1\cos\varphi_2
    \sin^2\frac{\Delta\lambda}{2}}`, :data:`EARTH_RADIUS_M`) and in CRS units (metres for the usual
    UTM/ETRS89 projections) otherwise. Non-point geometries use a representative point.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> d = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(3, 4)], crs="EPSG:25832")
    >>> c = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:25832")
    >>> cost_matrix_from_geodataframe(d, c).ravel().tolist()
    [0.0, 5.0]
    """
    if demand.crs is not None and candidates.crs is not None and demand.crs != candidates.crs:
        raise ModelInputError(
            "@planning.error.crs", demand=str(demand.crs), candidates=str(candidates.crs)
        )
    a, b = _points(demand), _points(candidates)
    if travel_cost is not None:
        out = np.asarray(travel_cost(a, b), dtype=np.float64)
        if out.shape != (len(demand), len(candidates)):
            raise ModelInputError(
                "@planning.error.travel_cost_shape",
                found=str(out.shape),
                expected=str((len(demand), len(candidates))),
            )
        return out
    ax, ay = a.x.to_numpy(), a.y.to_numpy()
    bx, by = b.x.to_numpy(), b.y.to_numpy()
    if demand.crs is not None and demand.crs.is_geographic:
        lat1, lat2 = np.radians(ay)[:, None], np.radians(by)[None, :]
        dlat = lat2 - lat1
        dlon = np.radians(bx)[None, :] - np.radians(ax)[:, None]
        h = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
        return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))))
    return np.asarray(np.hypot(ax[:, None] - bx[None, :], ay[:, None] - by[None, :]))


def _column(frame: gpd.GeoDataFrame, name: str | None, what: str) -> NDArray[Any] | None:
    if name is None:
        return None
    if name not in frame.columns:
        raise ModelInputError(
            "@planning.error.no_column",
            what=f"@planning.what.{what.replace(' ', '_')}",
            name=name,
            columns=list(map(str, frame.columns)),
        )
    return np.asarray(frame[name].to_numpy())


def _demand(frame: gpd.GeoDataFrame, name: str) -> NDArray[Any]:
    col = _column(frame, name, "demand")
    if col is None:  # pragma: no cover - name is a str
        raise ModelInputError("@planning.error.demand_column")
    return col


def _ids(frame: gpd.GeoDataFrame, name: str | None, what: str) -> NDArray[Any]:
    col = _column(frame, name, what)
    return np.asarray(frame.index.to_numpy()) if col is None else col


def p_median_from_geodataframe(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    p: int,
    *,
    demand_col: str,
    demand_id_col: str | None = None,
    candidate_id_col: str | None = None,
    capacity_col: str | None = None,
    fixed: Iterable[Hashable] | None = None,
    existing: Iterable[Hashable] | None = None,
    max_cost: float | None = None,
    threshold: float | None = None,
    travel_cost: TravelCost | None = None,
) -> LocationModel:
    """p-median from geodata; see :func:`p_median_from_cost_matrix` for the model."""
    return p_median_from_cost_matrix(
        cost_matrix_from_geodataframe(demand, candidates, travel_cost),
        _demand(demand, demand_col),
        p,
        demand_ids=_ids(demand, demand_id_col, "demand id"),
        candidate_ids=_ids(candidates, candidate_id_col, "candidate id"),
        fixed=fixed,
        existing=existing,
        capacity=_column(candidates, capacity_col, "capacity"),
        max_cost=max_cost,
        threshold=threshold,
    )


def mclp_from_geodataframe(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    p: int,
    threshold: float,
    *,
    demand_col: str,
    demand_id_col: str | None = None,
    candidate_id_col: str | None = None,
    capacity_col: str | None = None,
    fixed: Iterable[Hashable] | None = None,
    existing: Iterable[Hashable] | None = None,
    travel_cost: TravelCost | None = None,
) -> LocationModel:
    """Maximal covering from geodata; see :func:`mclp_from_cost_matrix` for the model."""
    return mclp_from_cost_matrix(
        cost_matrix_from_geodataframe(demand, candidates, travel_cost),
        _demand(demand, demand_col),
        p,
        threshold,
        demand_ids=_ids(demand, demand_id_col, "demand id"),
        candidate_ids=_ids(candidates, candidate_id_col, "candidate id"),
        fixed=fixed,
        existing=existing,
        capacity=_column(candidates, capacity_col, "capacity"),
    )


def lscp_from_geodataframe(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    threshold: float,
    *,
    demand_col: str | None = None,
    demand_id_col: str | None = None,
    candidate_id_col: str | None = None,
    capacity_col: str | None = None,
    fixed: Iterable[Hashable] | None = None,
    existing: Iterable[Hashable] | None = None,
    travel_cost: TravelCost | None = None,
) -> LocationModel:
    """Set covering from geodata; see :func:`lscp_from_cost_matrix` for the model."""
    return lscp_from_cost_matrix(
        cost_matrix_from_geodataframe(demand, candidates, travel_cost),
        threshold,
        _column(demand, demand_col, "demand"),
        demand_ids=_ids(demand, demand_id_col, "demand id"),
        candidate_ids=_ids(candidates, candidate_id_col, "candidate id"),
        fixed=fixed,
        existing=existing,
        capacity=_column(candidates, capacity_col, "capacity"),
    )

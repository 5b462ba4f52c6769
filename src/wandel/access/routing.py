"""Travel-time queries on a road network: nearest facility, matrices, isochrones, coverage.

Inputs are :class:`wandel.access.snap.SnapResult` values (origins, facilities); results are frozen
dataclasses whose tables are indexed by the user's ids. Array positions are translated back to ids
only through the snap results (``SnapResult.ids``), here in :func:`nearest_facility` and
:func:`travel_time_matrix`.

Travel times are network times between the snapped nodes (shortest paths by Dijkstra on the CSR
graph: compiled kernels in :mod:`wandel.access._numba` on large networks,
:func:`scipy.sparse.csgraph.dijkstra` otherwise or on request; both give the same sums of the same
edge times); the snap distances are reported beside them, not added. Searches towards the facilities run on the reversed graph, so "travel time from the origin
to the facility" respects one-way streets.

Without a road network, :func:`nearest_facility_crowfly` and :func:`travel_time_matrix_crowfly`
give the clearly labelled fallback ``t = d_gc × detour_factor / speed`` (great-circle distance times
a detour factor of 1.3 at a mode speed; circuity factors of road networks lie around 1.2-1.4, see
Ballou, Rahardja & Sakai 2002, *Selected country circuity factors for road travel distance
estimation*, Transportation Research Part A 36(9), 843-848). Every result carries a ``method``
string saying which was used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.access._core import contract_core
from wandel.access._geo import haversine_m, local_xy, local_xy_inverse
from wandel.access.network import RoadNetwork
from wandel.access.snap import SnapResult
from wandel.errors import MissingColumnError, WandelError

__all__ = [
    "CORE_MIN_NODES",
    "CORE_MIN_SEARCHES",
    "CORE_MIN_SEARCHES_GRID",
    "CROWFLY_DETOUR_FACTOR",
    "CROWFLY_SPEED_KPH",
    "NUMBA_MIN_NODES",
    "CoverageResult",
    "IsochroneResult",
    "MatrixResult",
    "NearestResult",
    "coverage_by_age",
    "isochrones",
    "nearest_facility",
    "nearest_facility_crowfly",
    "nearest_node_times",
    "travel_time_matrix",
    "travel_time_matrix_crowfly",
    "travel_times_between_nodes",
]

#: Detour factor of the straight-line fallback (road distance / great-circle distance).
CROWFLY_DETOUR_FACTOR = 1.3
#: Mean door-to-door speeds of the straight-line fallback, km/h.
CROWFLY_SPEED_KPH = {"car": 50.0, "bike": 15.0, "walk": 5.0}

#: ``method="auto"`` of :func:`travel_times_between_nodes` contracts a core from this many searches
#: per worker process on networks of at least :data:`CORE_MIN_NODES` nodes. Measured: on the
#: Heidelberg extract (50k nodes) the core keeps 3 % of the nodes and repays its contraction after
#: ~20 searches; on a 1M-node synthetic grid (few degree-2 nodes) it keeps 37 % and repays after ~80.
CORE_MIN_SEARCHES = 50
CORE_MIN_NODES = 10_000
#: With the compiled kernels the core pays on networks made mostly of chains of degree-2 nodes
#: (OSM shape points: ~90 % of the nodes of the extracts here) from :data:`CORE_MIN_SEARCHES`
#: searches per thread; on networks with few of them (the synthetic grid: 3 %) its contraction
#: (7 s for 1M nodes) only repays from about this many searches per thread.
CORE_MIN_SEARCHES_GRID = 400
#: ``method="auto"`` uses the compiled kernels from this many nodes; below, scipy answers in
#: milliseconds and loading numba (~0.4 s per process) would dominate.
NUMBA_MIN_NODES = 10_000

Direction = Literal["to", "from"]
MatrixMethod = Literal["auto", "dijkstra", "core", "numba", "numba-core"]
NearestMethod = Literal["auto", "dijkstra", "numba"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# ---------------------------------------------------------------------------------------------
# core: node positions in, seconds out
# ---------------------------------------------------------------------------------------------


def nearest_node_times(
    network: RoadNetwork,
    facility_nodes: npt.ArrayLike,
    *,
    direction: Direction = "to",
    limit_s: float = np.inf,
    method: NearestMethod = "auto",
) -> tuple[FloatArray, IntArray]:
    """Travel time from (or to) every node to its nearest facility node: one multi-source Dijkstra.

    ``t(v) = min_f d(v, f)`` for ``direction="to"`` (search from all facilities at once on the
    reversed graph), ``min_f d(f, v)`` for ``"from"``.

    Parameters
    ----------
    facility_nodes
        Node positions of the facilities (duplicates allowed).
    limit_s
        Stop searching beyond this time; farther nodes get ``inf``.
    method
        ``"numba"``: the compiled multi-source search (:func:`wandel.access._numba.multi_source`);
        ``"dijkstra"``: scipy's; ``"auto"`` (default): numba from :data:`NUMBA_MIN_NODES` nodes.
        Times are identical; where two facilities are equally near, either may be named.

    Returns
    -------
    time_s, facility
        Per node the time in seconds (``inf`` if unreached) and the index into ``facility_nodes``
        of its nearest facility (``-1`` if unreached; the first of several facilities on one node).

    >>> from wandel.access.network import network_from_edges
    >>> net = network_from_edges([0, 1, 1, 2], [1, 0, 2, 1], [10.0, 10.0, 5.0, 5.0],
    ...                          [8.0, 8.001, 8.002], [49.0, 49.0, 49.0])
    >>> t, f = nearest_node_times(net, [0, 2])
    >>> t.tolist(), f.tolist()
    ([0.0, 5.0, 0.0], [0, 1, 1])
    """
    from scipy.sparse.csgraph import dijkstra

    if method not in ("auto", "dijkstra", "numba"):
        raise WandelError(f"method must be 'auto', 'dijkstra' or 'numba', got {method!r}")
    fac = np.asarray(facility_nodes, dtype=np.int64).ravel()
    if len(fac) == 0:
        return np.full(network.n_nodes, np.inf), np.full(network.n_nodes, -1, dtype=np.int64)
    uniq, first = np.unique(fac, return_index=True)
    reverse = direction == "to"
    if method == "numba" or (method == "auto" and network.n_nodes >= NUMBA_MIN_NODES):
        from wandel.access._numba import multi_source

        ip, ix, w = _csr_arrays(network, reverse=reverse)
        dist, which = multi_source(ip, ix, w, uniq, limit=limit_s)
        facility = np.full(network.n_nodes, -1, dtype=np.int64)
        reached = which >= 0
        facility[reached] = first[which[reached]]
        return dist, facility
    g = network.graph(reverse=reverse)
    dist, _, src = dijkstra(
        g, directed=True, indices=uniq, min_only=True, return_predecessors=True, limit=limit_s
    )
    # src holds the source node of each node's tree (-9999 if unreached)
    lookup = np.full(network.n_nodes, -1, dtype=np.int64)
    lookup[uniq] = first
    reached = src >= 0
    facility = np.full(network.n_nodes, -1, dtype=np.int64)
    facility[reached] = lookup[src[reached]]
    return np.asarray(dist, dtype=np.float64), facility


def _csr_arrays(
    network: RoadNetwork, *, reverse: bool
) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray]:
    if reverse:
        return network.rev_indptr, network.rev_indices, network.rev_weight_s
    return network.indptr, network.indices, network.weight_s


def _chain_share(indptr: IntArray, rev_indptr: IntArray) -> float:
    """Share of nodes with in- and out-degree at most 2 (shape points of a road)."""
    if len(indptr) <= 1:
        return 0.0
    return float(np.mean((np.diff(indptr) <= 2) & (np.diff(rev_indptr) <= 2)))


_WORKER_GRAPH: Any = None


def _init_worker(indptr: IntArray, indices: npt.NDArray[np.int32], data: FloatArray) -> None:
    from scipy.sparse import csr_matrix

    global _WORKER_GRAPH
    n = len(indptr) - 1
    _WORKER_GRAPH = csr_matrix((data, indices, indptr), shape=(n, n), copy=False)


def _rows(sources: IntArray, targets: IntArray, limit_s: float, graph: Any = None) -> FloatArray:
    """Dijkstra from each source; the distances to ``targets`` only (bounded memory)."""
    from scipy.sparse.csgraph import dijkstra

    g = _WORKER_GRAPH if graph is None else graph
    n = g.shape[0]
    step = max(1, int(2e8 // (8 * max(n, 1))))  # at most ~200 MB of distances at a time
    out = np.empty((len(sources), len(targets)))
    for i in range(0, len(sources), step):
        d = dijkstra(g, directed=True, indices=sources[i : i + step], limit=limit_s)
        out[i : i + step] = d[:, targets]
    return out


def _pick_method(
    network: RoadNetwork, method: MatrixMethod, n_sources: int, workers: int
) -> MatrixMethod:
    """What ``method="auto"`` runs (see :func:`travel_times_between_nodes`)."""
    if method != "auto":
        return method
    if network.n_nodes < NUMBA_MIN_NODES:
        return "dijkstra"
    per_thread = n_sources / workers
    chains = _chain_share(network.indptr, network.rev_indptr) >= 0.5
    if per_thread >= (CORE_MIN_SEARCHES if chains else CORE_MIN_SEARCHES_GRID):
        return "numba-core"
    return "numba"


def travel_times_between_nodes(
    network: RoadNetwork,
    origin_nodes: npt.ArrayLike,
    destination_nodes: npt.ArrayLike,
    *,
    limit_s: float = np.inf,
    workers: int = 1,
    method: MatrixMethod = "auto",
) -> FloatArray:
    """Travel-time matrix in seconds between node positions (``inf`` beyond ``limit_s``).

    One Dijkstra per distinct node on the smaller side: from the destinations on the reversed graph
    when there are fewer of them (1,000 × 200 needs 200 searches, not 1,000), else from the origins.
    Each search stops at ``limit_s`` (and, with numba, once all targets are settled).

    Methods (all exact; distances are sums of the same edge times, ``inf`` patterns identical):

    - ``"numba"``: compiled searches (:func:`wandel.access._numba.many_to_many`, bucket queue or
      4-ary heap) on ``workers`` threads; results do not depend on the thread count.
    - ``"dijkstra"``: :func:`scipy.sparse.csgraph.dijkstra`; with ``workers > 1`` the searches are
      split over processes (scipy holds the GIL).
    - ``"core"`` / ``"numba-core"``: first contract every node that is neither an origin nor a
      destination as far as it pays (:func:`wandel.access._core.contract_core`: exact shortcuts,
      witness-pruned), then search the smaller core graph with scipy / numba. Distances between
      the kept nodes are the same sums in another association (relative difference ~1e-15).
    - ``"auto"`` (default): scipy below :data:`NUMBA_MIN_NODES` nodes; else ``"numba-core"`` from
      :data:`CORE_MIN_SEARCHES` searches per worker on road extracts (mostly degree-2 chains) or
      :data:`CORE_MIN_SEARCHES_GRID` on grid-like networks, ``"numba"`` below.
    """
    if method not in ("auto", "dijkstra", "core", "numba", "numba-core"):
        raise WandelError(
            f"method must be 'auto', 'dijkstra', 'core', 'numba' or 'numba-core', got {method!r}"
        )
    o = np.asarray(origin_nodes, dtype=np.int64).ravel()
    d = np.asarray(destination_nodes, dtype=np.int64).ravel()
    out = np.full((len(o), len(d)), np.inf)
    if len(o) == 0 or len(d) == 0:
        return out
    uo, io = np.unique(o, return_inverse=True)
    ud, id_ = np.unique(d, return_inverse=True)
    reverse = len(ud) < len(uo)
    sources, targets = (ud, uo) if reverse else (uo, ud)
    workers = max(1, min(int(workers), len(sources), os.cpu_count() or 1))
    chosen = _pick_method(network, method, len(sources), workers)
    ip, ix, w = _csr_arrays(network, reverse=reverse)
    if chosen in ("core", "numba-core"):
        keep = np.zeros(network.n_nodes, dtype=bool)
        keep[sources] = True
        keep[targets] = True
        core = contract_core(ip, ix, w, keep)
        ip, ix, w = core.indptr, core.indices, core.weight
        sources, targets = core.position[sources], core.position[targets]
    if chosen in ("numba", "numba-core"):
        from wandel.access._numba import many_to_many

        block = many_to_many(ip, ix, w, sources, targets, limit=limit_s, threads=workers)
    else:
        block = _scipy_rows(ip, ix, w, sources, targets, limit_s, workers)
    full = block.T if reverse else block  # rows: unique origins, columns: unique destinations
    return np.asarray(full[np.ix_(io, id_)], dtype=np.float64)


def _scipy_rows(
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    weight: FloatArray,
    sources: IntArray,
    targets: IntArray,
    limit_s: float,
    workers: int,
) -> FloatArray:
    """scipy's Dijkstra from each source, in ``workers`` processes; columns ``targets``."""
    from scipy.sparse import csr_matrix

    if workers == 1:
        n = len(indptr) - 1
        g = csr_matrix((weight, indices, indptr), shape=(n, n))
        return _rows(sources, targets, limit_s, graph=g)
    import multiprocessing as mp

    start = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    chunks = np.array_split(sources, workers * 4)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context(start),
        initializer=_init_worker,
        initargs=(indptr, indices, weight),
    ) as pool:
        parts = list(pool.map(_rows, chunks, [targets] * len(chunks), [limit_s] * len(chunks)))
    return np.concatenate(parts, axis=0)


# ---------------------------------------------------------------------------------------------
# results indexed by the user's ids
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NearestResult:
    """Nearest facility of every origin.

    ``table`` is indexed by origin id (name ``origin``) in input order with columns ``facility``
    (facility id, missing if none), ``travel_time_min``, ``snap_origin_m``, ``snap_facility_m`` and
    ``status``: ``ok``, ``unsnapped`` (origin too far from the network) or ``unreached`` (no
    facility within the cut-off or reachable). ``unsnapped_facilities`` lists facilities that could
    not be used (``id, distance_m``). ``method`` is ``network:<mode>`` or the fallback's label.
    """

    table: pd.DataFrame
    unsnapped_facilities: pd.DataFrame
    method: str


@dataclass(frozen=True, eq=False)
class MatrixResult:
    """Travel times between origins (rows) and destinations (columns), minutes.

    ``travel_time_min[i, j]`` is ``inf`` where ``j`` is not reached from ``i`` within the cut-off and
    ``nan`` where either point is unsnapped (see ``unsnapped``: ``id, role, distance_m``).
    """

    origin_ids: npt.NDArray[Any]
    destination_ids: npt.NDArray[Any]
    travel_time_min: FloatArray
    unsnapped: pd.DataFrame
    method: str

    def to_frame(self, *, reached_only: bool = True) -> pd.DataFrame:
        """Long table ``origin, destination, travel_time_min`` (row-major order).

        ``reached_only`` drops pairs beyond the cut-off and unsnapped points.
        """
        no, nd = self.travel_time_min.shape
        df = pd.DataFrame(
            {
                "origin": np.repeat(self.origin_ids, nd),
                "destination": np.tile(self.destination_ids, no),
                "travel_time_min": self.travel_time_min.ravel(),
            }
        )
        if reached_only:
            df = df[np.isfinite(df["travel_time_min"].to_numpy())].reset_index(drop=True)
        return df


def _check_direction(direction: str) -> None:
    if direction not in ("to", "from"):
        raise WandelError(f"direction must be 'to' or 'from', got {direction!r}")


def _limit_s(cutoff_min: float | None) -> float:
    if cutoff_min is None:
        return float(np.inf)
    if not cutoff_min > 0:
        raise WandelError(f"cut-off must be > 0 minutes, got {cutoff_min!r}")
    return float(cutoff_min) * 60.0


def nearest_facility(
    network: RoadNetwork,
    origins: SnapResult,
    facilities: SnapResult,
    *,
    cutoff_min: float | None = None,
    direction: Direction = "to",
) -> NearestResult:
    """Travel time from every origin to its nearest facility (one multi-source search).

    Parameters
    ----------
    origins, facilities
        Snapped points (:func:`wandel.access.snap.snap_points`).
    cutoff_min
        Optional search limit; origins beyond it get status ``unreached``.
    direction
        ``"to"``: origin → facility (default); ``"from"``: facility → origin.
    """
    _check_direction(direction)
    fok = facilities.snapped
    fac_ids = facilities.ids[fok]
    fac_nodes = facilities.node[fok]
    time_s, fidx = nearest_node_times(
        network, fac_nodes, direction=direction, limit_s=_limit_s(cutoff_min)
    )
    osn = origins.snapped
    onode = np.where(osn, origins.node, 0)
    t = np.where(osn, time_s[onode], np.nan)
    fi = np.where(osn, fidx[onode], -1)
    reached = fi >= 0
    facility = pd.Series(pd.NA, index=range(len(origins)), dtype=object)
    if reached.any():
        facility[reached] = fac_ids[fi[reached]]
    snap_fac = np.full(len(origins), np.nan)
    snap_fac[reached] = facilities.distance_m[fok][fi[reached]]
    status = np.where(~osn, "unsnapped", np.where(reached, "ok", "unreached"))
    table = pd.DataFrame(
        {
            "facility": facility.to_numpy(),
            "travel_time_min": np.where(reached, t / 60.0, np.nan),
            "snap_origin_m": origins.distance_m,
            "snap_facility_m": snap_fac,
            "status": status,
        },
        index=pd.Index(origins.ids, name="origin"),
    )
    return NearestResult(
        table=table, unsnapped_facilities=facilities.unsnapped, method=f"network:{network.mode}"
    )


def _unsnapped_table(origins: SnapResult, destinations: SnapResult) -> pd.DataFrame:
    a = origins.unsnapped.assign(role="origin")
    b = destinations.unsnapped.assign(role="destination")
    return pd.concat([a, b], ignore_index=True)[["id", "role", "distance_m"]]


def travel_time_matrix(
    network: RoadNetwork,
    origins: SnapResult,
    destinations: SnapResult,
    *,
    cutoff_min: float | None = None,
    workers: int = 1,
    method: MatrixMethod = "auto",
) -> MatrixResult:
    """Many-to-many travel times (origin → destination), minutes, with an optional cut-off.

    See :func:`travel_times_between_nodes` for the method (``method``: ``"auto"``, ``"dijkstra"``
    or ``"core"``). Rows and columns follow the input order of
    ``origins`` and ``destinations``; unsnapped points get ``nan`` rows/columns.
    """
    osn, dsn = origins.snapped, destinations.snapped
    sec = travel_times_between_nodes(
        network,
        origins.node[osn],
        destinations.node[dsn],
        limit_s=_limit_s(cutoff_min),
        workers=workers,
        method=method,
    )
    out = np.full((len(origins), len(destinations)), np.nan)
    out[np.ix_(np.flatnonzero(osn), np.flatnonzero(dsn))] = sec / 60.0
    return MatrixResult(
        origin_ids=origins.ids,
        destination_ids=destinations.ids,
        travel_time_min=out,
        unsnapped=_unsnapped_table(origins, destinations),
        method=f"network:{network.mode}",
    )


# ---------------------------------------------------------------------------------------------
# fallback without a network
# ---------------------------------------------------------------------------------------------


def _points(df: pd.DataFrame, what: str) -> tuple[npt.NDArray[Any], FloatArray, FloatArray]:
    for col in ("id", "lon", "lat"):
        if col not in df.columns:
            raise MissingColumnError(
                f"<{what}>", column=col, reason="missing column", expected="id,lon,lat"
            )
    return (
        df["id"].to_numpy(dtype=object),
        pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=np.float64),
        pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=np.float64),
    )


def _crowfly_label(mode: str, detour_factor: float, speed_kph: float | None) -> tuple[str, float]:
    if speed_kph is None:
        if mode not in CROWFLY_SPEED_KPH:
            raise WandelError(f"unknown travel mode {mode!r}; expected car, bike or walk")
        speed_kph = CROWFLY_SPEED_KPH[mode]
    if not (speed_kph > 0 and detour_factor >= 1):
        raise WandelError("fallback needs speed_kph > 0 and detour_factor >= 1")
    label = (
        f"crowfly:{mode}: straight-line distance x {detour_factor:g} at {speed_kph:g} km/h "
        "(no road network)"
    )
    return label, float(speed_kph)


def _crowfly_minutes(
    olon: FloatArray,
    olat: FloatArray,
    dlon: FloatArray,
    dlat: FloatArray,
    detour_factor: float,
    speed_kph: float,
) -> FloatArray:
    d = haversine_m(olon[:, None], olat[:, None], dlon[None, :], dlat[None, :])
    return np.asarray(d * detour_factor / (speed_kph / 3.6) / 60.0)


def travel_time_matrix_crowfly(
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    *,
    mode: str = "car",
    detour_factor: float = CROWFLY_DETOUR_FACTOR,
    speed_kph: float | None = None,
) -> MatrixResult:
    """Fallback matrix without a network: ``t = d_gc × detour_factor / speed`` (minutes).

    ``origins`` and ``destinations`` are tables with ``id, lon, lat``.

    >>> o = pd.DataFrame({"id": ["a"], "lon": [8.0], "lat": [49.0]})
    >>> f = pd.DataFrame({"id": ["x"], "lon": [8.0], "lat": [49.1]})
    >>> r = travel_time_matrix_crowfly(o, f, mode="car")
    >>> round(float(r.travel_time_min[0, 0]), 2), r.method.split(":")[0]
    (17.35, 'crowfly')
    """
    label, kph = _crowfly_label(mode, detour_factor, speed_kph)
    oid, olon, olat = _points(origins, "origins")
    did, dlon, dlat = _points(destinations, "destinations")
    return MatrixResult(
        origin_ids=oid,
        destination_ids=did,
        travel_time_min=_crowfly_minutes(olon, olat, dlon, dlat, detour_factor, kph),
        unsnapped=pd.DataFrame({"id": [], "role": [], "distance_m": []}),
        method=label,
    )


def nearest_facility_crowfly(
    origins: pd.DataFrame,
    facilities: pd.DataFrame,
    *,
    mode: str = "car",
    detour_factor: float = CROWFLY_DETOUR_FACTOR,
    speed_kph: float | None = None,
) -> NearestResult:
    """Fallback nearest facility without a network (great-circle distance × detour at a speed).

    Same table as :func:`nearest_facility`; snap distances are ``nan``, ``method`` names the
    fallback and its parameters.
    """
    m = travel_time_matrix_crowfly(
        origins, facilities, mode=mode, detour_factor=detour_factor, speed_kph=speed_kph
    )
    t = m.travel_time_min
    n = len(m.origin_ids)
    if t.shape[1] == 0:
        best = np.full(n, -1)
        tt = np.full(n, np.nan)
    else:
        filled = np.where(np.isnan(t), np.inf, t)
        best = np.argmin(filled, axis=1)
        tt = filled[np.arange(n), best]
        best = np.where(np.isfinite(tt), best, -1)
    ok = best >= 0
    facility = pd.Series(pd.NA, index=range(n), dtype=object)
    if ok.any():
        facility[ok] = m.destination_ids[best[ok]]
    table = pd.DataFrame(
        {
            "facility": facility.to_numpy(),
            "travel_time_min": np.where(ok, tt, np.nan),
            "snap_origin_m": np.full(n, np.nan),
            "snap_facility_m": np.full(n, np.nan),
            "status": np.where(ok, "ok", "unreached"),
        },
        index=pd.Index(m.origin_ids, name="origin"),
    )
    return NearestResult(
        table=table,
        unsnapped_facilities=pd.DataFrame({"id": [], "distance_m": []}),
        method=m.method,
    )


# ---------------------------------------------------------------------------------------------
# isochrones
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class IsochroneResult:
    """Isochrone polygons: ``table`` is a GeoDataFrame (EPSG:4326) with ``source``,
    ``threshold_min``, ``geometry``, one row per source and threshold, plus the method used."""

    table: Any
    method: str


def _reached_segments(
    network: RoadNetwork, time_s: FloatArray, limit_s: float, tail: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Segments (lon/lat start and end) of the edges reached within ``limit_s``; a partly reached
    edge is cut at the fraction ``(limit_s - t(u)) / w`` of its length. A street reached fully in
    both directions is returned once."""
    head = network.indices.astype(np.int64)
    tu = time_s[tail]
    m = tu <= limit_s
    u, v, w = tail[m], head[m], network.weight_s[m]
    safe_w = np.where(w > 0, w, 1.0)
    frac = np.clip(np.where(w > 0, (limit_s - tu[m]) / safe_w, 1.0), 0.0, 1.0)
    full = frac >= 1.0
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = np.where(full, lo * (network.n_nodes + 1) + hi, -1 - np.arange(len(u)))
    _, keep = np.unique(key, return_index=True)
    u, v, frac = u[keep], v[keep], frac[keep]
    lon0, lat0 = network.node_lon[u], network.node_lat[u]
    lon1 = lon0 + frac * (network.node_lon[v] - lon0)
    lat1 = lat0 + frac * (network.node_lat[v] - lat0)
    return lon0, lat0, lon1, lat1


def isochrones(
    network: RoadNetwork,
    sources: SnapResult,
    thresholds_min: Sequence[float],
    *,
    buffer_m: float = 50.0,
    direction: Direction = "from",
) -> IsochroneResult:
    """Isochrone polygons around each snapped source for each threshold.

    Method (network buffer): one Dijkstra per source up to the largest threshold; every edge whose
    tail is reached within ``T`` belongs to the isochrone, cut where the time runs out
    (``(T - t(u)) / w`` of its length); the union of these segments, each buffered by
    ``buffer_m`` metres (round caps approximated by 8-gons) in a local equirectangular projection
    around the network's centre, is the polygon. Unlike a convex or concave hull
    of reached nodes, it never covers land farther than ``buffer_m`` from a reached road.
    ``direction="to"`` gives the area from which the source is reached within ``T``.
    Unsnapped sources are left out (they are in ``sources.unsnapped``).
    """
    import geopandas as gpd
    import shapely
    from scipy.sparse.csgraph import dijkstra

    _check_direction(direction)
    ts = sorted({float(t) for t in thresholds_min})
    if not ts or ts[0] <= 0:
        raise WandelError("isochrone thresholds must be > 0 minutes")
    g = network.graph(reverse=direction == "to")
    # edges of the searched graph as (tail, head, weight): forward graph arrays or reversed ones
    net = network
    if direction == "to":
        net = RoadNetwork(
            mode=network.mode,
            indptr=network.rev_indptr,
            indices=network.rev_indices,
            weight_s=network.rev_weight_s,
            length_m=network.length_m,
            rev_indptr=network.indptr,
            rev_indices=network.indices,
            rev_weight_s=network.weight_s,
            node_lon=network.node_lon,
            node_lat=network.node_lat,
            node_osm_id=network.node_osm_id,
        )
    tail = net.edge_sources()
    lon_c = float(np.mean(network.node_lon))
    lat_c = float(np.mean(network.node_lat))
    rows: list[dict[str, Any]] = []
    for sid, node in zip(sources.ids[sources.snapped], sources.node[sources.snapped], strict=True):
        time_s = np.asarray(dijkstra(g, directed=True, indices=int(node), limit=ts[-1] * 60.0))
        for t in ts:
            lon0, lat0, lon1, lat1 = _reached_segments(net, time_s, t * 60.0, tail)
            x0, y0 = local_xy(lon0, lat0, lon_c, lat_c)
            x1, y1 = local_xy(lon1, lat1, lon_c, lat_c)
            coords = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)
            if len(coords):
                parts = shapely.linestrings(coords)
            else:
                parts = shapely.points(
                    np.column_stack(
                        local_xy(network.node_lon[[node]], network.node_lat[[node]], lon_c, lat_c)
                    )
                )
            # buffering each segment and uniting the pieces is far faster in GEOS than
            # buffering one large MultiLineString
            poly = shapely.union_all(shapely.buffer(parts, buffer_m, quad_segs=2))
            poly = shapely.transform(
                poly,
                lambda xy: np.column_stack(local_xy_inverse(xy[:, 0], xy[:, 1], lon_c, lat_c)),
            )
            rows.append({"source": sid, "threshold_min": t, "geometry": poly})
    table = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["source", "threshold_min", "geometry"]),
        geometry="geometry",
        crs="EPSG:4326",
    )
    method = f"network-buffer:{network.mode}: reached road segments buffered by {buffer_m:g} m"
    return IsochroneResult(table=table, method=method)


# ---------------------------------------------------------------------------------------------
# coverage by age group
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """Share of people within ``threshold_min`` of a facility, by age group.

    ``table`` is indexed by age group (plus ``total``) with ``population``, ``covered``, ``share``
    (``covered / population``) and ``unrouted`` (people at origins without a travel time: unsnapped
    or not in the travel-time table; counted in ``population``, never in ``covered``).
    """

    table: pd.DataFrame
    threshold_min: float
    method: str


def coverage_by_age(
    travel_time_min: pd.Series,
    population: pd.DataFrame,
    threshold_min: float,
    *,
    method: str = "",
) -> CoverageResult:
    """Share of the population by age group that reaches a facility within ``threshold_min``.

    ``share_a = Σ_i P_ia [t_i <= T] / Σ_i P_ia`` over origins ``i``.

    Parameters
    ----------
    travel_time_min
        Travel time per origin id (e.g. ``NearestResult.table["travel_time_min"]``); ``nan`` means
        no travel time.
    population
        Origins (index: origin id) × age groups (columns), people (e.g. projected for a target year).
    threshold_min
        The threshold in minutes (inclusive).
    method
        The ``method`` of the travel times, carried into the result.

    >>> tt = pd.Series([5.0, 20.0], index=["a", "b"])
    >>> pop = pd.DataFrame({"75+": [10.0, 30.0]}, index=["a", "b"])
    >>> float(coverage_by_age(tt, pop, 15).table.loc["75+", "share"])
    0.25
    """
    if not np.isfinite(threshold_min) or threshold_min < 0:
        raise WandelError(f"threshold must be >= 0 minutes, got {threshold_min!r}")
    pop = population.apply(pd.to_numeric, errors="raise").astype(np.float64)
    values = pop.to_numpy()
    if np.isnan(values).any() or (values < 0).any():
        raise WandelError("population must be non-negative numbers without gaps")
    tt = pd.to_numeric(travel_time_min, errors="coerce").reindex(pop.index).to_numpy(np.float64)
    within = np.nan_to_num(tt, nan=np.inf) <= threshold_min
    routed = ~np.isnan(tt)
    total = values.sum(axis=0)
    covered = values[within].sum(axis=0)
    unrouted = values[~routed].sum(axis=0)
    table = pd.DataFrame(
        {"population": total, "covered": covered, "unrouted": unrouted},
        index=pd.Index([str(c) for c in pop.columns], name="age_group"),
    )
    table.loc["total"] = table.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share"] = table["covered"] / table["population"]
    return CoverageResult(table=table, threshold_min=float(threshold_min), method=method)

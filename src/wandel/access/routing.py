"""Travel-time queries on a road network: nearest facility, matrices, isochrones, coverage.

Inputs are :class:`wandel.access.snap.SnapResult` values (origins, facilities); results are frozen
dataclasses whose tables are indexed by the user's ids. Array positions are translated back to ids
only through the snap results (``SnapResult.ids``), here in :func:`nearest_facility` and
:func:`travel_time_matrix`.

Travel times are network times between the snapped nodes (shortest paths by Dijkstra on the CSR
graph: compiled kernels in :mod:`wandel.access._numba` on large networks,
:func:`scipy.sparse.csgraph.dijkstra` otherwise or on request; both give the same sums of the same
edge times) plus the two access legs: the straight line from the origin to its node and from the
facility's node to the facility, each ``d_snap / v_access`` at walking speed
(:data:`wandel.access.snap.DEFAULT_ACCESS_SPEED_KPH`, settable with ``access_speed_kph``; ``inf``
leaves them out), as R5 and r5r count them::

    t(o, f) = d_o / v_access + d_net(node_o, node_f) + d_f / v_access

The snap distances and the leg times are kept in the result tables (``snap_origin_m``,
``leg_origin_min``, ...). Searches towards the facilities run on the reversed graph, so "travel time
from the origin to the facility" respects one-way streets.

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
from wandel.access._geo import haversine_m, local_xy, local_xy_inverse, morton_order
from wandel.access.network import RoadNetwork
from wandel.access.snap import DEFAULT_ACCESS_SPEED_KPH, SnapResult
from wandel.errors import MissingColumnError, OptionError, UnknownChoiceError, shown

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
#: searches per thread; on networks with few of them (the synthetic grid: 3 %) the compiled
#: contraction (:func:`wandel.access._contract.contract_core_numba`, which stops where its rounds
#: no longer pay for the searches) repays from about this many searches per thread.
CORE_MIN_SEARCHES_GRID = 100
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
    offset_s: npt.ArrayLike | None = None,
) -> tuple[FloatArray, IntArray]:
    """Travel time from (or to) every node to its nearest facility node: one multi-source Dijkstra.

    ``t(v) = min_f d(v, f) + c_f`` for ``direction="to"`` (search from all facilities at once on the
    reversed graph), ``min_f c_f + d(f, v)`` for ``"from"``, with the facility's offset ``c_f``
    (its access leg; 0 without ``offset_s``).

    Offsets enter as a virtual node per facility with one edge of weight ``c_f + 1 s`` to the
    facility's node; every path from a virtual node crosses exactly one such edge, so subtracting
    the second again is exact (up to rounding, ~1e-16 relative), and the edge weights stay above 0
    (the compiled bucket queue needs that).

    Parameters
    ----------
    facility_nodes
        Node positions of the facilities (duplicates allowed).
    offset_s
        Seconds ``c_f >= 0`` added at each facility (one per entry of ``facility_nodes``).
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
        raise UnknownChoiceError("method", method, ["auto", "dijkstra", "numba"])
    fac = np.asarray(facility_nodes, dtype=np.int64).ravel()
    if len(fac) == 0:
        return np.full(network.n_nodes, np.inf), np.full(network.n_nodes, -1, dtype=np.int64)
    reverse = direction == "to"
    if offset_s is not None and np.any(np.asarray(offset_s, dtype=np.float64) != 0):
        return _offset_sources(network, fac, offset_s, reverse, limit_s, method)
    uniq, first = np.unique(fac, return_index=True)
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


#: Weight added to every virtual edge of :func:`_offset_sources` (kept above 0), seconds.
_VIRTUAL_EDGE_S = 1.0


def _offset_sources(
    network: RoadNetwork,
    fac: IntArray,
    offset_s: npt.ArrayLike,
    reverse: bool,
    limit_s: float,
    method: str,
) -> tuple[FloatArray, IntArray]:
    """:func:`nearest_node_times` with per-facility offsets: a virtual source per facility."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    off = np.asarray(offset_s, dtype=np.float64).ravel()
    if len(off) != len(fac) or not np.all(np.isfinite(off)) or np.any(off < 0):
        raise OptionError("@access.error.offsets", n=len(fac), k=len(off))
    ip, ix, w = _csr_arrays(network, reverse=reverse)
    n, k = network.n_nodes, len(fac)
    # virtual node n + i has a single edge to fac[i]
    indptr = np.concatenate([ip, ip[-1] + np.arange(1, k + 1, dtype=np.int64)])
    indices = np.concatenate([ix, fac.astype(ix.dtype)])
    weight = np.concatenate([w, off + _VIRTUAL_EDGE_S])
    seeds = np.arange(n, n + k, dtype=np.int64)
    limit = limit_s + _VIRTUAL_EDGE_S
    if method == "numba" or (method == "auto" and n >= NUMBA_MIN_NODES):
        from wandel.access._numba import multi_source

        dist, which = multi_source(indptr, indices, weight, seeds, limit=limit)
    else:
        g = csr_matrix((weight, indices, indptr), shape=(n + k, n + k))
        dist, _, src = dijkstra(
            g, directed=True, indices=seeds, min_only=True, return_predecessors=True, limit=limit
        )
        which = np.where(src >= 0, src - n, -1)
    dist = np.asarray(dist[:n], dtype=np.float64) - _VIRTUAL_EDGE_S
    facility = np.asarray(which[:n], dtype=np.int64)
    return np.where(facility >= 0, dist, np.inf), facility


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
      destination as far as it pays, then search the smaller core graph with scipy / numba:
      ``"core"`` contracts with :func:`wandel.access._core.contract_core` (vectorised, 1- and
      2-hop witnesses), ``"numba-core"`` with :func:`wandel.access._contract.contract_core_numba`
      (compiled, bounded witness Dijkstras, stops where a round no longer pays for the searches)
      and numbers the core's nodes in Morton order of their coordinates before its searches.
      Distances between the kept nodes are the same sums in another association (relative
      difference ~1e-15).
    - ``"auto"`` (default): scipy below :data:`NUMBA_MIN_NODES` nodes; else ``"numba-core"`` from
      :data:`CORE_MIN_SEARCHES` searches per worker on road extracts (mostly degree-2 chains) or
      :data:`CORE_MIN_SEARCHES_GRID` on grid-like networks, ``"numba"`` below.
    """
    if method not in ("auto", "dijkstra", "core", "numba", "numba-core"):
        raise UnknownChoiceError(
            "method", method, ["auto", "dijkstra", "core", "numba", "numba-core"]
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
        if chosen == "core":
            core = contract_core(ip, ix, w, keep)
        else:
            from wandel.access._contract import contract_core_numba

            core = contract_core_numba(ip, ix, w, keep, searches=len(sources), threads=workers)
        ip, ix, w = core.indptr, core.indices, core.weight
        sources, targets = core.position[sources], core.position[targets]
        if chosen == "numba-core":  # core nodes in map order: a search's wavefront stays local
            from wandel.access._numba import relabel

            order = morton_order(network.node_lon[core.node], network.node_lat[core.node])
            ip, ix, w, rank = relabel(ip, ix, w, order)
            sources, targets = rank[sources], rank[targets]
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
    (facility id, missing if none), ``travel_time_min`` (door to door: both legs and the network
    time), ``snap_origin_m``, ``snap_facility_m`` (the straight legs' lengths),
    ``leg_origin_min`` and ``leg_facility_min`` (the two legs' times) and ``status``: ``ok``, ``unsnapped`` (origin too far from the network) or ``unreached`` (no
    facility within the cut-off or reachable). ``unsnapped_facilities`` lists facilities that could
    not be used (``id, distance_m``). ``method`` is ``network:<mode>`` or the fallback's label.
    """

    table: pd.DataFrame
    unsnapped_facilities: pd.DataFrame
    method: str


@dataclass(frozen=True, eq=False)
class MatrixResult:
    """Travel times between origins (rows) and destinations (columns), minutes.

    ``travel_time_min[i, j]`` (door to door, access legs included) is ``inf`` where ``j`` is not
    reached from ``i`` within the cut-off and ``nan`` where either point is unsnapped (see
    ``unsnapped``: ``id, role, distance_m``). ``snap_origin_m`` and ``snap_destination_m`` are the
    lengths of the straight legs (``nan`` for the straight-line fallback).
    """

    origin_ids: npt.NDArray[Any]
    destination_ids: npt.NDArray[Any]
    travel_time_min: FloatArray
    unsnapped: pd.DataFrame
    method: str
    snap_origin_m: FloatArray | None = None
    snap_destination_m: FloatArray | None = None

    def to_frame(self, *, reached_only: bool = True) -> pd.DataFrame:
        """Long table ``origin, destination, travel_time_min, snap_origin_m, snap_destination_m``
        (row-major order; the snap columns only where the result has them).

        ``reached_only`` drops pairs beyond the cut-off and unsnapped points.
        """
        no, nd = self.travel_time_min.shape
        columns: dict[str, Any] = {
            "origin": np.repeat(self.origin_ids, nd),
            "destination": np.tile(self.destination_ids, no),
            "travel_time_min": self.travel_time_min.ravel(),
        }
        if self.snap_origin_m is not None and self.snap_destination_m is not None:
            columns["snap_origin_m"] = np.repeat(self.snap_origin_m, nd)
            columns["snap_destination_m"] = np.tile(self.snap_destination_m, no)
        df = pd.DataFrame(columns)
        if reached_only:
            df = df[np.isfinite(df["travel_time_min"].to_numpy())].reset_index(drop=True)
        return df


def _check_direction(direction: str) -> None:
    if direction not in ("to", "from"):
        raise UnknownChoiceError("direction", direction, ["to", "from"])


def _limit_s(cutoff_min: float | None) -> float:
    if cutoff_min is None:
        return float(np.inf)
    if not cutoff_min > 0:
        raise OptionError("@access.error.cutoff", value=shown(cutoff_min))
    return float(cutoff_min) * 60.0


def nearest_facility(
    network: RoadNetwork,
    origins: SnapResult,
    facilities: SnapResult,
    *,
    cutoff_min: float | None = None,
    direction: Direction = "to",
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
) -> NearestResult:
    """Door-to-door time from every origin to its nearest facility (one multi-source search).

    ``t_o = d_o / v + min_f (d_net(o, f) + d_f / v)``: the facility's leg enters the search as an
    offset (:func:`nearest_node_times`), so the nearest facility is the one nearest door to door,
    not the one whose node is nearest.

    Parameters
    ----------
    origins, facilities
        Snapped points (:func:`wandel.access.snap.snap_points`).
    cutoff_min
        Optional limit on the door-to-door time; origins beyond it get status ``unreached``.
    direction
        ``"to"``: origin → facility (default); ``"from"``: facility → origin.
    access_speed_kph
        Speed of both access legs (default: walking, 4.68 km/h; ``inf``: legs cost nothing).

    >>> from wandel.access.network import network_from_edges
    >>> from wandel.access.snap import snap_points
    >>> net = network_from_edges([0, 1], [1, 0], [60.0, 60.0], [8.0, 8.01], [49.0, 49.0])
    >>> o = snap_points(net, ["home"], [8.0], [49.0054])      # 600.5 m north of node 0
    >>> f = snap_points(net, ["school"], [8.01], [49.0])      # on node 1
    >>> row = nearest_facility(net, o, f, access_speed_kph=4.68).table.loc["home"]
    >>> float(round(row["leg_origin_min"], 3)), float(round(row["travel_time_min"], 3))
    (7.698, 8.698)
    """
    _check_direction(direction)
    osn, fok = origins.snapped, facilities.snapped
    leg_o = origins.leg_time_s(access_speed_kph)
    leg_f = facilities.leg_time_s(access_speed_kph)[fok]
    limit = _limit_s(cutoff_min)
    time_s, fidx = nearest_node_times(
        network, facilities.node[fok], direction=direction, limit_s=limit, offset_s=leg_f
    )
    onode = np.where(osn, origins.node, 0)
    t = np.where(osn, time_s[onode] + np.nan_to_num(leg_o), np.nan)
    fi = np.where(osn, fidx[onode], -1)
    fi = np.where(t <= limit, fi, -1)
    reached = fi >= 0
    facility = pd.Series(pd.NA, index=range(len(origins)), dtype=object)
    if reached.any():
        facility[reached] = facilities.ids[fok][fi[reached]]
    snap_fac = np.full(len(origins), np.nan)
    snap_fac[reached] = facilities.distance_m[fok][fi[reached]]
    status = np.where(~osn, "unsnapped", np.where(reached, "ok", "unreached"))
    table = pd.DataFrame(
        {
            "facility": facility.to_numpy(),
            "travel_time_min": np.where(reached, t / 60.0, np.nan),
            "snap_origin_m": origins.distance_m,
            "snap_facility_m": snap_fac,
            "leg_origin_min": np.where(reached, leg_o / 60.0, np.nan),
            "leg_facility_min": np.where(reached, leg_f[np.maximum(fi, 0)] / 60.0, np.nan),
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
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
) -> MatrixResult:
    """Many-to-many door-to-door times (origin → destination), minutes, with an optional cut-off.

    ``t_ij = d_i / v + d_net(i, j) + d_j / v`` (access legs at ``access_speed_kph``; ``inf``
    leaves them out); pairs beyond the cut-off are ``inf``. See
    :func:`travel_times_between_nodes` for the method (``method``: ``"auto"``, ``"dijkstra"``
    or ``"core"``). Rows and columns follow the input order of
    ``origins`` and ``destinations``; unsnapped points get ``nan`` rows/columns.
    """
    osn, dsn = origins.snapped, destinations.snapped
    limit = _limit_s(cutoff_min)
    sec = travel_times_between_nodes(
        network,
        origins.node[osn],
        destinations.node[dsn],
        limit_s=limit,
        workers=workers,
        method=method,
    )
    legs = origins.leg_time_s(access_speed_kph)[osn][:, None]
    legs = legs + destinations.leg_time_s(access_speed_kph)[dsn][None, :]
    sec = np.where(sec + legs <= limit, sec + legs, np.inf)
    out = np.full((len(origins), len(destinations)), np.nan)
    out[np.ix_(np.flatnonzero(osn), np.flatnonzero(dsn))] = sec / 60.0
    return MatrixResult(
        origin_ids=origins.ids,
        destination_ids=destinations.ids,
        travel_time_min=out,
        unsnapped=_unsnapped_table(origins, destinations),
        method=f"network:{network.mode}",
        snap_origin_m=origins.distance_m,
        snap_destination_m=destinations.distance_m,
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
            raise UnknownChoiceError("mode", mode, list(CROWFLY_SPEED_KPH))
        speed_kph = CROWFLY_SPEED_KPH[mode]
    if not (speed_kph > 0 and detour_factor >= 1):
        raise OptionError(
            "@access.error.crowfly", speed=shown(speed_kph), detour=shown(detour_factor)
        )
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

    Same table as :func:`nearest_facility`; snap distances and legs are ``nan`` (the detour factor
    stands for the whole way), ``method`` names the
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
            "leg_origin_min": np.full(n, np.nan),
            "leg_facility_min": np.full(n, np.nan),
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
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
) -> IsochroneResult:
    """Isochrone polygons around each snapped source for each threshold.

    The source's access leg (``d_snap / access_speed_kph``) is spent first: the network part of
    threshold ``T`` is ``T - t_leg``; where the leg alone takes ``T`` or longer the polygon is
    empty.

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
        raise OptionError("@access.error.isochrone_thresholds", values=shown(ts))
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
    ok = sources.snapped
    legs = sources.leg_time_s(access_speed_kph)[ok]
    for sid, node, leg in zip(sources.ids[ok], sources.node[ok], legs, strict=True):
        time_s = np.asarray(dijkstra(g, directed=True, indices=int(node), limit=ts[-1] * 60.0))
        for t in ts:
            if t * 60.0 <= leg:
                rows.append({"source": sid, "threshold_min": t, "geometry": shapely.Polygon()})
                continue
            lon0, lat0, lon1, lat1 = _reached_segments(net, time_s, t * 60.0 - leg, tail)
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
        raise OptionError("@access.error.coverage_threshold", value=shown(threshold_min))
    pop = population.apply(pd.to_numeric, errors="raise").astype(np.float64)
    values = pop.to_numpy()
    if np.isnan(values).any() or (values < 0).any():
        raise OptionError("@access.error.population")
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

"""Compiled Dijkstra kernels (numba) for travel-time matrices and nearest-facility searches.

One search settles nodes in order of distance from its seeds (one source, or all sources of a
multi-source search at distance 0) and relaxes ``d(v) <- d(u) + c(u, v)`` when that is smaller.
Two priority queues, both exact:

- **Bucket queue** (Dinitz 1978; Dial's algorithm for real weights), used when every edge cost is
  at least ``c_min > 0``: node ``v`` waits in bucket ``floor(d(v) / Δ)`` with
  ``Δ = c_min · (1 - 1e-4)``. An edge leaves its tail's bucket (``c >= c_min > Δ``), so no node
  of the bucket being emptied can improve another one of it: all its nodes are final and are
  settled in any order, with O(1) queue work per edge. The buckets form a ring of
  ``floor(c_max / Δ) + 3`` lists (entries in one pool, stale ones skipped). The margin of 1e-4
  covers the rounding of ``d / Δ`` for bucket numbers below 1e10 (:func:`bucket_inverse_width`
  checks this; the kernel also checks every bucket step and redoes a search with the heap if one
  ever failed). Since a bucket's nodes are independent, it is taken whole: its entries are
  gathered first, then their edges scanned, so the memory loads of one bucket overlap; edges are
  read as interleaved (head, cost) records (:func:`edge_records`), one load per edge.
- **Indexed 4-ary heap** with decrease-key otherwise (zero-cost edges, extreme cost ranges).

Distances are the same left-to-right sums of the same edge costs as in
:func:`scipy.sparse.csgraph.dijkstra`: each is ``min_u fl(d(u) + c(u, v))`` over the final
distances of its predecessors, so they agree with scipy bit for bit (only which of several equally
short paths is taken may differ, which changes no distance). Nodes farther than ``limit`` are
never labelled (``inf``), as with scipy's ``limit``.

- :func:`many_to_many` runs one search per source and keeps only the target columns: sources are
  dealt round-robin to one ``numba.prange`` block per thread, each with its own workspace
  (``~ 33·n + 8·m`` bytes, plus the ``16·m`` bytes of edge records shared by all); a search stops
  as soon as every target is settled. Rows are independent, so the result does not depend on the
  number of threads.
- :func:`relabel` renumbers a graph's nodes (e.g. in :func:`wandel.access._geo.morton_order`, so
  that nodes close on the map lie close in memory: ~1.2x faster searches on the 1M-node grid,
  ~2x slower in a random order); distances do not change by a bit.
- :func:`multi_source` is one search from all sources at once that also carries the source each
  node's label came from: ``d(v) = min_s d(s, v)`` and ``src(v)`` one source attaining it.

Kernels are compiled on first use and cached on disk (``cache=True``), so a machine pays the
compile (a few seconds) once.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

__all__ = [
    "BUCKET_MARGIN",
    "bucket_inverse_width",
    "edge_records",
    "many_to_many",
    "multi_source",
    "relabel",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Relative margin between the smallest edge cost and the bucket width of the bucket queue.
BUCKET_MARGIN = 1e-4
#: Largest bucket number for which ``floor(d / Δ)`` is safely monotone under rounding.
_MAX_BUCKET = 1e10
#: Largest ring of buckets (``c_max / c_min``) before the heap is used instead.
_MAX_RING = 1 << 22


def bucket_inverse_width(weight: npt.ArrayLike, n_nodes: int, limit: float = np.inf) -> float:
    """``1 / Δ`` of the bucket queue for these edge costs, or ``0.0`` where the heap must be used.

    ``Δ = c_min (1 - BUCKET_MARGIN)``; the heap is used when some cost is 0 (or not finite), when
    the ring ``c_max / Δ`` is longer than 2**22 buckets, or when the largest possible bucket number
    (``min(limit, (n - 1) c_max) / Δ``) exceeds 1e10.

    >>> bucket_inverse_width([2.0, 3.0], 10) == 1 / (2.0 * (1 - BUCKET_MARGIN))
    True
    >>> bucket_inverse_width([0.0, 3.0], 10)
    0.0
    """
    w = np.asarray(weight, dtype=np.float64)
    if len(w) == 0 or not np.all(np.isfinite(w)):
        return 0.0
    c_min, c_max = float(w.min()), float(w.max())
    if not c_min > 0:
        return 0.0
    delta = c_min * (1.0 - BUCKET_MARGIN)
    reach = min(float(limit), max(n_nodes - 1, 1) * c_max)
    if c_max / delta > _MAX_RING or reach / delta > _MAX_BUCKET:
        return 0.0
    return 1.0 / delta


def _ring(weight: FloatArray, inv: float) -> int:
    return int(float(weight.max()) * inv) + 3 if inv > 0 else 1


@numba.njit(cache=True, nogil=True)
def _search_heap(
    indptr: Any,
    indices: Any,
    weight: Any,
    seeds: Any,
    limit: float,
    is_target: Any,
    n_targets: int,
    label: Any,
    track: bool,
    dist: Any,
    pos: Any,
    touched: Any,
    hk: Any,
    hv: Any,
) -> int:
    """Dijkstra with an indexed 4-ary heap; returns the number of nodes labelled (``touched``).

    ``pos[v]``: heap slot of ``v``, ``-1`` unlabelled, ``-2`` settled.
    """
    n_touched = 0
    size = 0
    for s in seeds:  # all at distance 0: any order is a heap
        if pos[s] == -1:
            dist[s] = 0.0
            touched[n_touched] = s
            n_touched += 1
            hk[size] = 0.0
            hv[size] = s
            pos[s] = size
            size += 1
    left = n_targets
    while size > 0:
        d = hk[0]
        u = hv[0]
        pos[u] = -2
        size -= 1
        if size > 0:  # move the last entry down from the root
            key = hk[size]
            node = hv[size]
            i = 0
            while True:
                c = 4 * i + 1
                if c >= size:
                    break
                best = c
                bk = hk[c]
                for cc in range(c + 1, min(c + 4, size)):
                    if hk[cc] < bk:
                        bk = hk[cc]
                        best = cc
                if key <= bk:
                    break
                hk[i] = bk
                hv[i] = hv[best]
                pos[hv[i]] = i
                i = best
            hk[i] = key
            hv[i] = node
            pos[node] = i
        if is_target[u]:
            left -= 1
            if left == 0:
                break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            p = pos[v]
            if p == -2:
                continue
            nd = d + weight[e]
            if nd < dist[v] and nd <= limit:
                if p == -1:
                    touched[n_touched] = v
                    n_touched += 1
                    i = size
                    size += 1
                else:
                    i = p
                dist[v] = nd
                if track:
                    label[v] = label[u]
                while i > 0:  # move up
                    par = (i - 1) >> 2
                    if hk[par] <= nd:
                        break
                    hk[i] = hk[par]
                    hv[i] = hv[par]
                    pos[hv[i]] = i
                    i = par
                hk[i] = nd
                hv[i] = v
                pos[v] = i
    return n_touched


@numba.njit(cache=True, nogil=True)
def _search_bucket(
    indptr: Any,
    edges: Any,
    seeds: Any,
    limit: float,
    is_target: Any,
    n_targets: int,
    label: Any,
    track: bool,
    inv: float,
    dist: Any,
    done: Any,
    touched: Any,
    head: Any,
    enode: Any,
    enext: Any,
    batch: Any,
) -> int:
    """Dijkstra with a cyclic bucket queue (Dinitz); returns the number of nodes labelled, or
    ``-1 - that number`` if a bucket index ever failed to increase (then the row is redone).

    ``edges`` holds the edge records interleaved (``edges[2e]`` the head, ``edges[2e + 1]`` the
    cost; see :func:`edge_records`), so one edge is one load. A bucket is taken whole: its nodes
    are final and independent, so they are first gathered into ``batch`` (stale and duplicate
    entries dropped) and then scanned, which lets the memory loads of one bucket overlap.
    """
    nb = len(head)
    n_touched = 0
    top = 0
    for s in seeds:  # all in bucket 0
        if dist[s] != 0.0:
            dist[s] = 0.0
            touched[n_touched] = s
            n_touched += 1
            enode[top] = s
            enext[top] = head[0]
            head[0] = top
            top += 1
    pending = top
    k = 0
    left = n_targets
    ok = True
    while pending > 0 and left != 0 and ok:
        slot = k % nb
        i = head[slot]
        head[slot] = -1
        c = 0
        while i != -1:  # gather the bucket: entries pushed while scanning it go to later ones
            u = enode[i]
            i = enext[i]
            pending -= 1
            if done[u]:
                continue
            done[u] = True
            batch[c] = u
            c += 1
        for q in range(c):
            u = batch[q]
            if is_target[u]:
                left -= 1
            du = dist[u]
            for e in range(indptr[u], indptr[u + 1]):
                v = np.int64(edges[2 * e])
                nd = du + edges[2 * e + 1]
                if nd < dist[v] and nd <= limit:
                    kb = np.int64(nd * inv)
                    if kb <= k or kb >= k + nb:
                        ok = False
                    if dist[v] == np.inf:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    if track:
                        label[v] = label[u]
                    s = kb % nb
                    enode[top] = v
                    enext[top] = head[s]
                    head[s] = top
                    top += 1
                    pending += 1
        k += 1
    for s in range(nb):  # leave the queue empty for the next search
        head[s] = -1
    return n_touched if ok else -1 - n_touched


@numba.njit(cache=True, nogil=True)
def _edge_records(indices: Any, weight: Any) -> Any:
    out = np.empty(2 * len(indices))
    for e in range(len(indices)):
        out[2 * e] = indices[e]
        out[2 * e + 1] = weight[e]
    return out


def edge_records(indices: npt.ArrayLike, weight: npt.ArrayLike) -> FloatArray:
    """Heads and costs of a CSR graph's edges interleaved in one float64 array (heads are exact
    below 2**53), the layout the bucket queue scans.

    >>> edge_records([2, 0], [1.5, 3.0]).tolist()
    [2.0, 1.5, 0.0, 3.0]
    """
    return np.asarray(
        _edge_records(np.asarray(indices, dtype=np.int64), np.asarray(weight, dtype=np.float64)),
        dtype=np.float64,
    )


@numba.njit(cache=True, nogil=True, parallel=True)
def _many_to_many(
    indptr: Any,
    indices: Any,
    weight: Any,
    edges: Any,
    sources: Any,
    targets: Any,
    limit: float,
    n_blocks: int,
    inv: float,
    ring: int,
) -> Any:
    n = len(indptr) - 1
    m = len(indices)
    out = np.empty((len(sources), len(targets)))
    is_target = np.zeros(n, dtype=np.bool_)
    n_targets = 0
    for t in targets:
        if not is_target[t]:
            is_target[t] = True
            n_targets += 1
    pool = m + 1 if inv > 0 else 1
    for b in numba.prange(n_blocks):
        dist = np.full(n, np.inf)
        touched = np.empty(n, dtype=np.int32)
        pos = np.full(n, -1, dtype=np.int32)
        hk = np.empty(n)
        hv = np.empty(n, dtype=np.int32)
        done = np.zeros(n if inv > 0 else 1, dtype=np.bool_)
        head = np.full(ring, -1, dtype=np.int32)
        enode = np.empty(pool, dtype=np.int32)
        enext = np.empty(pool, dtype=np.int32)
        batch = np.empty(n if inv > 0 else 1, dtype=np.int32)
        label = np.empty(1, dtype=np.int64)
        for i in range(b, len(sources), n_blocks):
            seed = sources[i : i + 1]
            k = -1
            used_heap = False
            if inv > 0:
                k = _search_bucket(
                    indptr,
                    edges,
                    seed,
                    limit,
                    is_target,
                    n_targets,
                    label,
                    False,
                    inv,
                    dist,
                    done,
                    touched,
                    head,
                    enode,
                    enext,
                    batch,
                )
                if k < 0:  # a bucket step failed: redo this row with the heap
                    for q in range(-1 - k):
                        v = touched[q]
                        dist[v] = np.inf
                        done[v] = False
                    k = -1
            if k < 0:
                used_heap = True
                k = _search_heap(
                    indptr,
                    indices,
                    weight,
                    seed,
                    limit,
                    is_target,
                    n_targets,
                    label,
                    False,
                    dist,
                    pos,
                    touched,
                    hk,
                    hv,
                )
            for j in range(len(targets)):
                out[i, j] = dist[targets[j]]
            heap = inv == 0 or used_heap
            if k > n // 8:  # most of the graph: filling whole arrays beats scattered resets
                dist[:] = np.inf
                if heap:
                    pos[:] = -1
                if inv > 0:
                    done[:] = False
            else:
                for q in range(k):
                    v = touched[q]
                    dist[v] = np.inf
                    if heap:
                        pos[v] = -1
                    if inv > 0:
                        done[v] = False
    return out


def many_to_many(
    indptr: npt.ArrayLike,
    indices: npt.ArrayLike,
    weight: npt.ArrayLike,
    sources: npt.ArrayLike,
    targets: npt.ArrayLike,
    *,
    limit: float = np.inf,
    threads: int | None = None,
    queue: str = "auto",
) -> FloatArray:
    """Shortest-path distances ``d(sources[i], targets[j])`` on a CSR graph (``inf``: unreached).

    One search per source (see the module docstring), run on ``threads`` numba threads (default:
    ``numba.get_num_threads()``). Self-loops and parallel edges are harmless; costs must be
    ``>= 0``. Nodes farther than ``limit`` are ``inf``. ``queue``: ``"auto"`` (buckets where
    :func:`bucket_inverse_width` allows them), ``"heap"`` or ``"bucket"`` (an error if not allowed).

    >>> indptr, indices = np.array([0, 1, 3, 4]), np.array([1, 0, 2, 1])
    >>> w = np.array([10.0, 10.0, 5.0, 5.0])
    >>> many_to_many(indptr, indices, w, [0, 2], [0, 1, 2]).tolist()
    [[0.0, 10.0, 15.0], [15.0, 5.0, 0.0]]
    >>> many_to_many(indptr, indices, w, [0], [2], limit=12.0).tolist()
    [[inf]]
    """
    ip = np.asarray(indptr, dtype=np.int64)
    w = np.asarray(weight, dtype=np.float64)
    src = np.asarray(sources, dtype=np.int64).ravel()
    tgt = np.asarray(targets, dtype=np.int64).ravel()
    if len(src) == 0 or len(tgt) == 0:
        return np.full((len(src), len(tgt)), np.inf)
    inv = _queue_inverse_width(w, len(ip) - 1, limit, queue)
    k = numba.get_num_threads() if threads is None else int(threads)
    k = max(1, min(k, numba.config.NUMBA_NUM_THREADS, len(src)))  # type: ignore[attr-defined]
    old = numba.get_num_threads()
    numba.set_num_threads(k)
    try:
        ix = np.asarray(indices, dtype=np.int32)
        out = _many_to_many(
            ip,
            ix,
            w,
            _edge_records(ix, w) if inv > 0 else np.empty(0),
            src,
            tgt,
            float(limit),
            k,
            inv,
            _ring(w, inv),
        )
    finally:
        numba.set_num_threads(old)
    return np.asarray(out, dtype=np.float64)


def _queue_inverse_width(w: FloatArray, n: int, limit: float, queue: str) -> float:
    if queue not in ("auto", "heap", "bucket"):
        raise ValueError(f"queue must be 'auto', 'heap' or 'bucket', got {queue!r}")
    inv = 0.0 if queue == "heap" else bucket_inverse_width(w, n, limit)
    if queue == "bucket" and inv == 0.0:
        raise ValueError("the bucket queue needs edge costs > 0 in a moderate range")
    return inv


@numba.njit(cache=True, nogil=True)
def _multi_source(
    indptr: Any,
    indices: Any,
    weight: Any,
    edges: Any,
    seeds: Any,
    limit: float,
    inv: float,
    ring: int,
) -> Any:
    n = len(indptr) - 1
    m = len(indices)
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    for i in range(len(seeds) - 1, -1, -1):  # the first of duplicate seeds wins
        label[seeds[i]] = i
    touched = np.empty(n, dtype=np.int32)
    is_target = np.zeros(n, dtype=np.bool_)
    if inv > 0:
        done = np.zeros(n, dtype=np.bool_)
        head = np.full(ring, -1, dtype=np.int32)
        enode = np.empty(m + len(seeds), dtype=np.int32)
        enext = np.empty(m + len(seeds), dtype=np.int32)
        k = _search_bucket(
            indptr,
            edges,
            seeds,
            limit,
            is_target,
            -1,
            label,
            True,
            inv,
            dist,
            done,
            touched,
            head,
            enode,
            enext,
            np.empty(n, dtype=np.int32),
        )
        if k >= 0:
            return dist, label
        for q in range(-1 - k):
            v = touched[q]
            dist[v] = np.inf
            label[v] = -1
        for i in range(len(seeds) - 1, -1, -1):
            label[seeds[i]] = i
    pos = np.full(n, -1, dtype=np.int32)
    hk = np.empty(n)
    hv = np.empty(n, dtype=np.int32)
    _search_heap(
        indptr,
        indices,
        weight,
        seeds,
        limit,
        is_target,
        -1,
        label,
        True,
        dist,
        pos,
        touched,
        hk,
        hv,
    )
    return dist, label


def multi_source(
    indptr: npt.ArrayLike,
    indices: npt.ArrayLike,
    weight: npt.ArrayLike,
    sources: npt.ArrayLike,
    *,
    limit: float = np.inf,
    queue: str = "auto",
) -> tuple[FloatArray, IntArray]:
    """Distance from the nearest of ``sources`` to every node, and which source it is.

    ``d(v) = min_i d(sources[i], v)``; ``which[v]`` is an ``i`` attaining it (the first listed of
    several sources on one node), ``-1`` where unreached or farther than ``limit``.

    >>> indptr, indices = np.array([0, 1, 3, 4]), np.array([1, 0, 2, 1])
    >>> d, which = multi_source(indptr, indices, np.array([10.0, 10.0, 5.0, 5.0]), [0, 2])
    >>> d.tolist(), which.tolist()
    ([0.0, 5.0, 0.0], [0, 1, 1])
    """
    ip = np.asarray(indptr, dtype=np.int64)
    w = np.asarray(weight, dtype=np.float64)
    src = np.asarray(sources, dtype=np.int64).ravel()
    if len(src) == 0:
        return np.full(len(ip) - 1, np.inf), np.full(len(ip) - 1, -1, dtype=np.int64)
    inv = _queue_inverse_width(w, len(ip) - 1, limit, queue)
    ix = np.asarray(indices, dtype=np.int32)
    edges = _edge_records(ix, w) if inv > 0 else np.empty(0)
    dist, label = _multi_source(ip, ix, w, edges, src, float(limit), inv, _ring(w, inv))
    return np.asarray(dist, dtype=np.float64), np.asarray(label, dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def _relabel(indptr: Any, indices: Any, weight: Any, order: Any) -> Any:
    n = len(order)
    rank = np.empty(n, np.int64)
    for i in range(n):
        rank[order[i]] = i
    ip = np.zeros(n + 1, np.int64)
    for i in range(n):
        v = order[i]
        ip[i + 1] = ip[i] + indptr[v + 1] - indptr[v]
    ix = np.empty(ip[n], np.int32)
    w = np.empty(ip[n])
    for i in range(n):
        v = order[i]
        k = ip[i]
        for e in range(indptr[v], indptr[v + 1]):
            ix[k] = rank[indices[e]]
            w[k] = weight[e]
            k += 1
    return ip, ix, w, rank


def relabel(
    indptr: npt.ArrayLike, indices: npt.ArrayLike, weight: npt.ArrayLike, order: npt.ArrayLike
) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray, IntArray]:
    """The same CSR graph with node ``order[i]`` renumbered ``i``; also ``rank`` (old -> new).

    Each row keeps its edges in their order, so every search gives the same sums.

    >>> ip, ix, w, rank = relabel([0, 1, 2], [1, 0], [5.0, 7.0], [1, 0])
    >>> ip.tolist(), ix.tolist(), w.tolist(), rank.tolist()
    ([0, 1, 2], [1, 0], [7.0, 5.0], [1, 0])
    """
    ip0 = np.asarray(indptr, dtype=np.int64)
    o = np.asarray(order, dtype=np.int64)
    if len(o) != len(ip0) - 1 or not np.array_equal(np.sort(o), np.arange(len(o))):
        raise ValueError("order must be a permutation of the graph's nodes")
    ip, ix, w, rank = _relabel(
        ip0, np.asarray(indices, dtype=np.int64), np.asarray(weight, dtype=np.float64), o
    )
    return ip, ix, w, rank

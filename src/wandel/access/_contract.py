"""Compiled core contraction (numba): the nodes of a query's core, with witness Dijkstras.

:func:`contract_core_numba` gives the same kind of :class:`wandel.access._core.Core` as the
vectorised :func:`wandel.access._core.contract_core` (every node but the kept ones may go; distances
between the nodes left equal those of the full graph), by a different and stronger search for
witnesses, and decides itself how far contracting pays for the searches that will follow.

Rounds, as in a contraction hierarchy built in parallel (Geisberger et al. 2008; Vetter 2009):

1. **Independent set.** A node not kept is chosen when its priority (with a random tie-break) is
   smaller than every neighbour's. The priority starts as the edge difference counted without
   witnesses, ``deg_in·deg_out − (pairs u = w) − deg_in − deg_out``: dead ends and chains of
   degree-2 nodes (shape points of a road) go first, then junctions by size.
2. **Witnesses.** For every chosen ``v`` and in-neighbour ``u`` one bounded Dijkstra from ``u`` in
   the graph without the chosen nodes (so no two witnesses of a round can rely on each other)
   decides for every out-neighbour ``w`` whether the shortcut ``u → w`` of cost
   ``c(u, v) + c(v, w)`` is needed: only if no path found is at most as long. The search stops at
   that cost, after ``max_settle`` settled nodes or ``max_hops`` edges from ``u``; stopping early only
   adds a superfluous shortcut, so the result stays exact. The threads share the chosen nodes.
3. **Lazy update.** The priority of a chosen node is now known exactly
   (``shortcuts − deg_in − deg_out + contracted neighbours``); a node whose priority has grown
   above a neighbour's is left for a later round (its shortcuts are dropped), the others are
   removed and their shortcuts added (parallel edges keep the cheapest). Each neighbour's priority
   grows by one.
4. **Cost model.** A round's work is counted as its edge relaxations plus one unit per node and
   edge of the graph it rebuilds; a round pays when the work the ``searches`` queries save on the
   smaller core (``_NODE_COST`` per node and ``_EDGE_COST`` per edge they no longer scan) exceeds it. The rounds stop at the first that did not pay, when
   a round removes fewer than ``min_round_share`` of the nodes left, or after ``max_rounds``.

Distances in the core are sums of the same edge costs in another association (relative difference
~1e-15 to scipy's Dijkstra on the full graph).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from wandel.access._core import Core

__all__ = ["contract_core_numba"]

#: Cost of a query settling one node and scanning one edge, in witness relaxations (measured on
#: the 1M-node grid: ~48 ns and ~16 ns against ~38 ns per relaxation of a round, all included).
_NODE_COST = 1.26
_EDGE_COST = 0.42
#: Capacity of a witness search's heap; a search that would overflow it stops (safe).
_HEAP = 4096


@numba.njit(cache=True, nogil=True)
def _csr(n: int, tail: Any, head: Any, w: Any) -> Any:
    """CSR of the edges (self-loops dropped, the cheapest of parallel edges kept)."""
    cnt = np.zeros(n + 1, np.int64)
    for e in range(len(tail)):
        if tail[e] != head[e]:
            cnt[tail[e] + 1] += 1
    for i in range(n):
        cnt[i + 1] += cnt[i]
    fill = cnt[:-1].copy()
    h2 = np.empty(cnt[n], np.int32)
    w2 = np.empty(cnt[n], np.float64)
    for e in range(len(tail)):
        if tail[e] != head[e]:
            p = fill[tail[e]]
            h2[p] = head[e]
            w2[p] = w[e]
            fill[tail[e]] += 1
    mark = np.full(n, -1, np.int64)
    ip = np.zeros(n + 1, np.int64)
    ix = np.empty(cnt[n], np.int32)
    ww = np.empty(cnt[n], np.float64)
    k = 0
    for u in range(n):
        start = k
        for e in range(cnt[u], cnt[u + 1]):
            h = h2[e]
            p = mark[h]
            if p >= start:  # a parallel edge of this row
                if w2[e] < ww[p]:
                    ww[p] = w2[e]
            else:
                mark[h] = k
                ix[k] = h
                ww[k] = w2[e]
                k += 1
        ip[u + 1] = k
    return ip, ix[:k].copy(), ww[:k].copy()


@numba.njit(cache=True, nogil=True)
def _transpose(ip: Any, ix: Any, w: Any) -> Any:
    n = len(ip) - 1
    rip = np.zeros(n + 1, np.int64)
    for e in range(len(ix)):
        rip[ix[e] + 1] += 1
    for i in range(n):
        rip[i + 1] += rip[i]
    fill = rip[:-1].copy()
    rix = np.empty(len(ix), np.int32)
    rw = np.empty(len(ix), np.float64)
    for u in range(n):
        for e in range(ip[u], ip[u + 1]):
            p = fill[ix[e]]
            rix[p] = u
            rw[p] = w[e]
            fill[ix[e]] += 1
    return rip, rix, rw


@numba.njit(cache=True, nogil=True)
def _witness(
    ip: Any,
    ix: Any,
    w: Any,
    src: int,
    skip: int,
    blocked: Any,
    limit: float,
    max_settle: int,
    max_hops: int,
    tmark: Any,
    stamp: int,
    n_targets: int,
    ws: Any,
) -> Any:
    """Bounded Dijkstra from ``src`` avoiding ``skip`` and ``blocked`` nodes (binary heap with
    stale entries). Every ``dist`` it leaves is the length of a real path. Returns the number of
    nodes labelled (``touched``) and of edges relaxed."""
    dist, hops, touched, hk, hv = ws
    dist[src] = 0.0
    hops[src] = 0
    touched[0] = src
    nt, size, settled, relax, left = 1, 1, 0, 0, n_targets
    hk[0] = 0.0
    hv[0] = src
    while size > 0:
        d, u = hk[0], hv[0]
        size -= 1
        if size > 0:  # move the last entry down from the root
            key, node, i = hk[size], hv[size], 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and hk[c + 1] < hk[c]:
                    c += 1
                if key <= hk[c]:
                    break
                hk[i], hv[i], i = hk[c], hv[c], c
            hk[i], hv[i] = key, node
        if d > dist[u]:
            continue  # stale entry
        settled += 1
        if tmark[u] == stamp:
            tmark[u] = stamp - 1
            left -= 1
            if left == 0:
                break
        if settled >= max_settle:
            break
        if hops[u] >= max_hops:
            continue
        for e in range(ip[u], ip[u + 1]):
            x = ix[e]
            if x == skip or blocked[x]:
                continue
            nd = d + w[e]
            relax += 1
            if nd < dist[x] and nd <= limit:
                if dist[x] == np.inf:
                    touched[nt] = x
                    nt += 1
                dist[x] = nd
                hops[x] = hops[u] + 1
                if size < len(hk):
                    i = size
                    size += 1
                    while i > 0:  # move up
                        par = (i - 1) >> 1
                        if hk[par] <= nd:
                            break
                        hk[i], hv[i], i = hk[par], hv[par], par
                    hk[i], hv[i] = nd, x
    return nt, relax


@numba.njit(cache=True, nogil=True)
def _shortcuts(
    v: int,
    g: Any,
    blocked: Any,
    max_settle: int,
    max_hops: int,
    out: Any,
    at: int,
    tmark: Any,
    stamp: int,
    ws: Any,
) -> Any:
    """Shortcuts needed to remove ``v``, written to ``out`` from ``at``; returns (count, edges
    relaxed, next stamp)."""
    ip, ix, w, rip, rix, rw = g
    su, sw, sc = out
    dist, touched = ws[0], ws[2]
    k = 0
    relax = 0
    for ei in range(rip[v], rip[v + 1]):
        u = rix[ei]
        a = rw[ei]
        stamp += 2
        bmax = -1.0
        n_tg = 0
        for eo in range(ip[v], ip[v + 1]):
            x = ix[eo]
            if x != u:
                bmax = max(bmax, w[eo])
                if tmark[x] != stamp:
                    tmark[x] = stamp
                    n_tg += 1
        if n_tg == 0:
            continue
        nt, r = _witness(
            ip, ix, w, u, v, blocked, a + bmax, max_settle, max_hops, tmark, stamp, n_tg, ws
        )
        relax += r
        for eo in range(ip[v], ip[v + 1]):
            x = ix[eo]
            if x != u and dist[x] > a + w[eo]:
                su[at + k] = u
                sw[at + k] = x
                sc[at + k] = a + w[eo]
                k += 1
        for q in range(nt):
            dist[touched[q]] = np.inf
    return k, relax, stamp


def _round_shortcuts_py(g: Any, sel: Any, max_settle: int, max_hops: int, n_blocks: int) -> Any:
    """Shortcuts of every chosen node (``sel``), the chosen nodes blocked in all searches."""
    ip, rip = g[0], g[3]
    n = len(ip) - 1
    nodes = np.flatnonzero(sel)
    off = np.zeros(len(nodes) + 1, np.int64)
    for j in range(len(nodes)):
        v = nodes[j]
        off[j + 1] = off[j] + (ip[v + 1] - ip[v]) * (rip[v + 1] - rip[v])
    out = (np.empty(off[-1], np.int64), np.empty(off[-1], np.int64), np.empty(off[-1]))
    cnt = np.zeros(len(nodes), np.int64)
    relax = np.zeros(n_blocks, np.int64)
    for b in numba.prange(n_blocks):
        ws = (
            np.full(n, np.inf),
            np.zeros(n, np.int32),
            np.empty(n, np.int32),
            np.empty(_HEAP),
            np.empty(_HEAP, np.int32),
        )
        tmark = np.zeros(n, np.int64)
        stamp = 2
        for j in range(b, len(nodes), n_blocks):
            k, r, stamp = _shortcuts(
                nodes[j], g, sel, max_settle, max_hops, out, off[j], tmark, stamp, ws
            )
            cnt[j] = k
            relax[b] += r
    return nodes, off, cnt, out, relax.sum()


_round_parallel = numba.njit(cache=True, nogil=True, parallel=True)(_round_shortcuts_py)
#: One thread: no parallel region (under load, waking a second thread costs more than a small
#: round's searches).
_round_serial = numba.njit(cache=True, nogil=True)(_round_shortcuts_py)
#: Rounds choosing fewer nodes than this run on one thread.
_PARALLEL_MIN_NODES = 20_000


@numba.njit(cache=True, nogil=True)
def _select(g: Any, cand: Any, prio: Any, tie: Any) -> Any:
    """Candidates whose (priority, tie) is smaller than every candidate neighbour's."""
    ip, ix, _, rip, rix, _ = g
    n = len(ip) - 1
    sel = np.zeros(n, np.bool_)
    for v in range(n):
        if not cand[v]:
            continue
        pv, tv = prio[v], tie[v]
        ok = True
        for e in range(ip[v], ip[v + 1]):
            x = ix[e]
            if cand[x] and (prio[x] < pv or (prio[x] == pv and tie[x] < tv)):
                ok = False
                break
        for e in range(rip[v], rip[v + 1]):
            x = rix[e]
            if ok and cand[x] and (prio[x] < pv or (prio[x] == pv and tie[x] < tv)):
                ok = False
                break
        sel[v] = ok
    return sel


@numba.njit(cache=True, nogil=True)
def _initial_priority(g: Any) -> Any:
    """Edge difference without witnesses: ``in·out − (pairs u = w) − in − out``."""
    ip, ix, _, rip, rix, _ = g
    n = len(ip) - 1
    prio = np.zeros(n)
    mark = np.full(n, -1, np.int64)
    for v in range(n):
        for e in range(ip[v], ip[v + 1]):
            mark[ix[e]] = v
        both = 0
        for e in range(rip[v], rip[v + 1]):
            if mark[rix[e]] == v:
                both += 1
        di, do = rip[v + 1] - rip[v], ip[v + 1] - ip[v]
        prio[v] = di * do - both - di - do
    return prio


@numba.njit(cache=True, nogil=True)
def _accept(g: Any, sel: Any, nodes: Any, cnt: Any, prio: Any, deleted: Any) -> None:
    """Lazy update: a chosen node whose exact priority exceeds a neighbour's waits."""
    ip, ix, _, rip, rix, _ = g
    for j in range(len(nodes)):
        v = nodes[j]
        p = cnt[j] - (ip[v + 1] - ip[v]) - (rip[v + 1] - rip[v]) + deleted[v]
        best = np.inf
        for e in range(ip[v], ip[v + 1]):
            best = min(best, prio[ix[e]])
        for e in range(rip[v], rip[v + 1]):
            best = min(best, prio[rix[e]])
        prio[v] = p
        if p > best:
            sel[v] = False


@numba.njit(cache=True, nogil=True)
def _apply(
    g: Any, sel: Any, nodes: Any, off: Any, cnt: Any, out: Any, prio: Any, deleted: Any
) -> Any:
    """The graph without the removed nodes, plus their shortcuts; neighbours' priorities + 1."""
    ip, ix, w, rip, rix, _ = g
    n = len(ip) - 1
    su, sw, sc = out
    total = len(ix)
    for j in range(len(nodes)):
        if sel[nodes[j]]:
            total += cnt[j]
    tail = np.empty(total, np.int64)
    head = np.empty(total, np.int64)
    ww = np.empty(total)
    k = 0
    for u in range(n):
        if sel[u]:
            for e in range(ip[u], ip[u + 1]):
                deleted[ix[e]] += 1.0
                prio[ix[e]] += 1.0
            for e in range(rip[u], rip[u + 1]):
                deleted[rix[e]] += 1.0
                prio[rix[e]] += 1.0
            continue
        for e in range(ip[u], ip[u + 1]):
            if not sel[ix[e]]:
                tail[k], head[k], ww[k] = u, ix[e], w[e]
                k += 1
    for j in range(len(nodes)):
        if sel[nodes[j]]:
            for q in range(off[j], off[j] + cnt[j]):
                tail[k], head[k], ww[k] = su[q], sw[q], sc[q]
                k += 1
    ip2, ix2, w2 = _csr(n, tail[:k], head[:k], ww[:k])
    rip2, rix2, rw2 = _transpose(ip2, ix2, w2)
    return ip2, ix2, w2, rip2, rix2, rw2


def contract_core_numba(
    indptr: npt.ArrayLike,
    indices: npt.ArrayLike,
    weight: npt.ArrayLike,
    keep: npt.ArrayLike,
    *,
    searches: float = 1e12,
    max_settle: int = 30,
    max_hops: int = 6,
    min_round_share: float = 0.002,
    max_rounds: int = 200,
    threads: int | None = None,
    seed: int = 0,
) -> Core:
    """Contract the nodes not in ``keep`` while it pays for ``searches`` queries (see the module
    docstring) and return the core.

    Parameters
    ----------
    indptr, indices, weight
        CSR arrays of the directed graph (weights >= 0); parallel edges keep the cheapest,
        self-loops are dropped.
    keep
        Boolean mask of the nodes that must stay (query nodes).
    searches
        Number of searches the core will answer (the cost model's scale; the default contracts
        until the rounds stall).
    max_settle, max_hops
        Limits of a witness search (settled nodes, edges from its start).
    threads
        Threads of the witness searches (default ``numba.get_num_threads()``); the core does not
        depend on it.

    >>> c = contract_core_numba(np.array([0, 1, 3, 4]), np.array([1, 0, 2, 1]),
    ...                         np.array([1.0, 1.0, 2.0, 2.0]), np.array([True, False, True]))
    >>> c.node.tolist(), c.graph().toarray().tolist()
    ([0, 2], [[0.0, 3.0], [3.0, 0.0]])
    """
    ip0 = np.asarray(indptr, dtype=np.int64)
    n = len(ip0) - 1
    heads = np.asarray(indices, dtype=np.int64)
    costs = np.asarray(weight, dtype=np.float64)
    keep_mask = np.asarray(keep, dtype=bool)
    _check_csr(ip0, heads, costs, keep_mask)
    tail = np.repeat(np.arange(n, dtype=np.int64), np.diff(ip0))
    ip, ix, w = _csr(n, tail, heads, costs)
    g = (ip, ix, w, *_transpose(ip, ix, w))
    alive = np.ones(n, dtype=bool)
    prio = _initial_priority(g)
    prio[keep_mask] = np.inf
    deleted = np.zeros(n)
    tie = np.random.default_rng(seed).permutation(n).astype(np.int64)
    k = numba.get_num_threads() if threads is None else int(threads)
    k = max(1, min(k, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    rounds = 0
    while rounds < max_rounds and len(g[1]):
        sel = _select(g, alive & ~keep_mask, prio, tie)
        if k > 1 and int(sel.sum()) >= _PARALLEL_MIN_NODES:
            nodes, off, cnt, out, relax = _round_parallel(g, sel, max_settle, max_hops, k)
        else:
            nodes, off, cnt, out, relax = _round_serial(g, sel, max_settle, max_hops, 1)
        _accept(g, sel, nodes, cnt, prio, deleted)
        n_sel, m0 = int(sel.sum()), len(g[1])
        if n_sel == 0:
            break
        g = _apply(g, sel, nodes, off, cnt, out, prio, deleted)
        alive &= ~sel
        rounds += 1
        saved = searches * (_NODE_COST * n_sel + _EDGE_COST * (m0 - len(g[1])))
        work = relax + int(alive.sum()) + m0  # witness searches, then scans of the graph
        if work > saved or n_sel < min_round_share * int(alive.sum()):
            break
    return _core_of(alive, g[0], g[1], g[2], rounds)


def _check_csr(
    ip: npt.NDArray[np.int64],
    ix: npt.NDArray[np.int64],
    w: npt.NDArray[np.float64],
    keep: npt.NDArray[np.bool_],
) -> None:
    """The compiled kernels do not check bounds: a malformed graph is refused here."""
    n = len(ip) - 1
    ok = n >= 0 and len(keep) == n and len(ix) == len(w) and (n < 0 or ip[0] == 0)
    ok = ok and bool(np.all(np.diff(ip) >= 0)) and ip[-1] == len(ix)
    if ok and len(ix):
        ok = int(ix.min()) >= 0 and int(ix.max()) < n and bool(np.all(w >= 0))
    if not ok:
        raise ValueError("not a CSR graph with costs >= 0 and one keep flag per node")


def _core_of(
    alive: npt.NDArray[np.bool_],
    ip: npt.NDArray[np.int64],
    ix: npt.NDArray[np.int32],
    w: npt.NDArray[np.float64],
    rounds: int,
) -> Core:
    """The :class:`Core` of the nodes left (rows of removed nodes are empty)."""
    node = np.flatnonzero(alive).astype(np.int64)
    position = np.full(len(alive), -1, dtype=np.int64)
    position[node] = np.arange(len(node), dtype=np.int64)
    indptr = np.concatenate([ip[node], ip[-1:]]).astype(np.int64)
    return Core(
        node=node,
        position=position,
        indptr=indptr,
        indices=position[ix].astype(np.int32),
        weight=np.asarray(w, dtype=np.float64),
        rounds=rounds,
    )

"""The compiled core contraction (wandel.access._contract) against plain Dijkstra oracles.

Oracles: Floyd-Warshall on random digraphs from Hypothesis (zero costs, parallel edges, self-loops,
unreachable parts, every witness limit), scipy's Dijkstra on the full graph for seeded grids and the
real OSM extracts in the shared data. Invariants: the kept nodes stay, the core does not depend on
the thread count, more searches never give a larger core.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from wandel.access._contract import contract_core_numba
from wandel.access._core import Core, contract_core
from wandel.access.network import load_network
from wandel.access.routing import travel_times_between_nodes
from wandel.access.synthetic import grid_network

RTOL = 1e-12


def _same(a: np.ndarray, b: np.ndarray) -> None:
    """Equal ``inf`` pattern, finite values to ``RTOL`` relative."""
    np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    fin = np.isfinite(b)
    np.testing.assert_allclose(a[fin], b[fin], rtol=RTOL, atol=0)


def _core_distances(core: Core, kept: np.ndarray) -> np.ndarray:
    pos = core.position[kept]
    assert (pos >= 0).all()
    np.testing.assert_array_equal(core.node[pos], kept)
    return np.asarray(dijkstra(core.graph(), directed=True, indices=pos)[:, pos])


def _mask(n: int, kept: np.ndarray) -> np.ndarray:
    keep = np.zeros(n, dtype=bool)
    keep[kept] = True
    return keep


@st.composite
def _digraphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 16))
    m = draw(st.integers(0, 60))
    tail = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    head = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    costs = st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.5, 2.0, 3.25, 7.0])
    w = np.array(draw(st.lists(costs, min_size=m, max_size=m)), dtype=np.float64)
    kept = np.array(sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n))))
    return n, tail, head, w, kept


def _floyd_warshall(n: int, tail: np.ndarray, head: np.ndarray, w: np.ndarray) -> np.ndarray:
    d = np.full((n, n), np.inf)
    np.fill_diagonal(d, 0.0)
    for a, b, c in zip(tail.tolist(), head.tolist(), w.tolist(), strict=True):
        if a != b:
            d[a, b] = min(d[a, b], c)
    for k in range(n):
        d = np.minimum(d, d[:, [k]] + d[[k], :])
    return d


@settings(max_examples=200, deadline=None)
@given(
    _digraphs(),
    st.sampled_from([1, 2, 30]),
    st.sampled_from([1, 2, 6]),
    st.integers(1, 2),
    st.sampled_from([1.0, 1e12]),
)
def test_random_digraphs_equal_floyd_warshall(
    g: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    max_settle: int,
    max_hops: int,
    threads: int,
    searches: float,
) -> None:
    n, tail, head, w, kept = g
    order = np.argsort(tail, kind="stable")  # CSR with unsorted rows, parallel edges, loops
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tail, minlength=n))])
    core = contract_core_numba(
        indptr,
        head[order],
        w[order],
        _mask(n, kept),
        searches=searches,
        max_settle=max_settle,
        max_hops=max_hops,
        threads=threads,
    )
    _same(_core_distances(core, kept), _floyd_warshall(n, tail, head, w)[np.ix_(kept, kept)])
    assert core.n_nodes >= len(kept)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_core_equals_dijkstra_and_beats_the_vectorised_one(seed: int) -> None:
    net = grid_network(45, seed=seed)
    rng = np.random.default_rng(seed)
    kept = np.sort(rng.choice(net.n_nodes, 40, replace=False))
    keep = _mask(net.n_nodes, kept)
    core = contract_core_numba(net.indptr, net.indices, net.weight_s, keep)
    want = dijkstra(net.graph(), directed=True, indices=kept)[:, kept]
    _same(_core_distances(core, kept), want)
    # contracted until the rounds stall: far below what 1- and 2-hop witnesses reach
    old = contract_core(net.indptr, net.indices, net.weight_s, keep)
    assert core.n_nodes < 0.5 * old.n_nodes
    assert core.n_nodes < 0.15 * net.n_nodes


def test_core_does_not_depend_on_threads_and_shrinks_with_searches() -> None:
    net = grid_network(40, seed=4)
    keep = np.zeros(net.n_nodes, dtype=bool)
    keep[::29] = True
    args = (net.rev_indptr, net.rev_indices, net.rev_weight_s, keep)
    one = contract_core_numba(*args, threads=1, searches=50)
    two = contract_core_numba(*args, threads=2, searches=50)
    np.testing.assert_array_equal(one.node, two.node)
    np.testing.assert_array_equal(one.indptr, two.indptr)
    np.testing.assert_array_equal(one.indices, two.indices)
    np.testing.assert_array_equal(one.weight, two.weight)
    sizes = [contract_core_numba(*args, searches=s) for s in (1, 10, 100, 1e12)]
    assert [c.rounds for c in sizes] == sorted(c.rounds for c in sizes)
    assert [c.n_nodes for c in sizes] == sorted((c.n_nodes for c in sizes), reverse=True)
    assert sizes[0].n_nodes > sizes[-1].n_nodes  # the cost model did stop the first early


@pytest.mark.parametrize(
    ("name", "mode"),
    [("heidelberg.test.pbf", "car"), ("north-bayreuth.osm.gz", "walk")],
)
def test_real_extracts_contract_far_and_exactly(shared_data: Path, name: str, mode: str) -> None:
    net = load_network(shared_data / "osm" / name, mode)  # type: ignore[arg-type]
    rng = np.random.default_rng(12)
    kept = np.sort(rng.choice(net.n_nodes, 120, replace=False))
    core = contract_core_numba(
        net.rev_indptr, net.rev_indices, net.rev_weight_s, _mask(net.n_nodes, kept), searches=120
    )
    want = dijkstra(net.graph(reverse=True), directed=True, indices=kept)[:, kept]
    _same(_core_distances(core, kept), want)
    # real road networks are mostly chains of shape points: the core keeps a few per cent
    assert core.n_nodes < 0.1 * net.n_nodes


def test_matrix_numba_core_equals_dijkstra_on_heidelberg(shared_data: Path) -> None:
    net = load_network(shared_data / "osm" / "heidelberg.test.pbf", "car")
    rng = np.random.default_rng(21)
    o = rng.choice(net.n_nodes, 300)
    d = rng.choice(net.n_nodes, 40)
    want = travel_times_between_nodes(net, o, d, method="dijkstra")
    for workers in (1, 2):
        _same(travel_times_between_nodes(net, o, d, method="numba-core", workers=workers), want)
    full = want[np.isfinite(want)]
    limit = float(np.median(full))
    assert not np.any(np.isclose(full, limit, rtol=1e-9) & (full != limit))
    _same(
        travel_times_between_nodes(net, o, d, method="numba-core", limit_s=limit),
        travel_times_between_nodes(net, o, d, method="dijkstra", limit_s=limit),
    )


def test_malformed_graphs_are_refused_before_the_kernels() -> None:
    ip, ix, w = np.array([0, 1, 2]), np.array([1, 0]), np.array([1.0, 1.0])
    keep = np.array([True, False])
    assert contract_core_numba(ip, ix, w, keep).n_nodes == 1
    for bad in (
        (np.array([0, 1, 3]), ix, w, keep),  # indptr beyond the edges
        (ip, np.array([1, 2]), w, keep),  # a head outside the graph
        (ip, ix, np.array([1.0, -1.0]), keep),  # a negative cost
        (ip, ix, np.array([1.0, np.nan]), keep),
        (ip, ix, w, np.array([True])),  # one keep flag short
    ):
        with pytest.raises(ValueError, match="CSR graph"):
            contract_core_numba(*bad)

"""Fast many-to-many matrices: core contraction and compiled (numba) Dijkstra kernels.

Oracles: scipy's Dijkstra on the full graph (small real extracts, seeded synthetic grids, random
digraphs from Hypothesis with zero costs, parallel edges, self-loops and unreachable parts),
Floyd-Warshall on the random digraphs and networkx on the extracts. The numba kernels must agree
with scipy bit for bit (same sums in path order), for every thread count and cut-off.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from wandel.access._core import contract_core
from wandel.access._numba import bucket_inverse_width, many_to_many, multi_source
from wandel.access.network import RoadNetwork, load_network
from wandel.access.routing import nearest_node_times, travel_times_between_nodes
from wandel.access.synthetic import grid_network
from wandel.errors import WandelError

OSM = "osm"
RTOL = 1e-12


def _same(a: np.ndarray, b: np.ndarray) -> None:
    """Equal ``inf`` pattern, finite values to ``RTOL`` relative."""
    np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    fin = np.isfinite(b)
    np.testing.assert_allclose(a[fin], b[fin], rtol=RTOL, atol=0)


def _core_distances(
    indptr: np.ndarray, indices: np.ndarray, w: np.ndarray, kept: np.ndarray, **kw: object
) -> tuple[np.ndarray, int]:
    n = len(indptr) - 1
    keep = np.zeros(n, dtype=bool)
    keep[kept] = True
    core = contract_core(indptr, indices, w, keep, **kw)  # type: ignore[arg-type]
    pos = core.position[kept]
    assert (pos >= 0).all()
    np.testing.assert_array_equal(core.node[pos], kept)
    d = dijkstra(core.graph(), directed=True, indices=pos)[:, pos]
    return d, core.n_nodes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_core_equals_dijkstra_on_grids(seed: int) -> None:
    net = grid_network(45, seed=seed)
    rng = np.random.default_rng(seed)
    kept = np.sort(rng.choice(net.n_nodes, 40, replace=False))
    got, n_core = _core_distances(net.indptr, net.indices, net.weight_s, kept)
    want = dijkstra(net.graph(), directed=True, indices=kept)[:, kept]
    _same(got, want)
    assert n_core < 0.7 * net.n_nodes  # the contraction did remove nodes
    assert n_core >= len(kept)


def test_core_reversed_graph_and_exact_shortcut_sums() -> None:
    # a chain 0 -> 1 -> 2 -> 3 (one-way) plus a slow direct edge 0 -> 3: 1 and 2 are contracted
    tail = np.array([0, 0, 1, 2])
    head = np.array([1, 3, 2, 3])
    w = np.array([1.0, 10.0, 2.0, 4.0])
    g = csr_matrix((w, (tail, head)), shape=(4, 4))
    core = contract_core(g.indptr, g.indices, g.data, np.array([True, False, False, True]))
    assert core.node.tolist() == [0, 3]
    assert core.graph().toarray().tolist() == [[0.0, 7.0], [0.0, 0.0]]
    assert core.graph(reverse=True).toarray().tolist() == [[0.0, 0.0], [7.0, 0.0]]


@pytest.mark.parametrize(
    ("name", "mode"),
    [("bautzen.osm", "car"), ("north-bayreuth.osm.gz", "car"), ("north-bayreuth.osm.gz", "walk")],
)
def test_matrix_core_equals_dijkstra_on_extracts(shared_data: Path, name: str, mode: str) -> None:
    net = load_network(shared_data / OSM / name, mode)  # type: ignore[arg-type]
    rng = np.random.default_rng(7)
    o = rng.choice(net.n_nodes, 60)
    d = rng.choice(net.n_nodes, 25)
    want = travel_times_between_nodes(net, o, d, method="dijkstra")
    got = travel_times_between_nodes(net, o, d, method="core")
    _same(got, want)
    # more destinations than origins: searches from the origins on the forward graph
    _same(
        travel_times_between_nodes(net, d, o, method="core"),
        travel_times_between_nodes(net, d, o, method="dijkstra"),
    )


def test_matrix_core_equals_networkx(shared_data: Path) -> None:
    net = load_network(shared_data / OSM / "bautzen.osm", "car")
    g = nx.DiGraph()
    g.add_weighted_edges_from(
        zip(
            net.edge_sources().tolist(),
            net.indices.tolist(),
            net.weight_s.tolist(),
            strict=True,
        )
    )
    rng = np.random.default_rng(3)
    o = rng.choice(net.n_nodes, 8, replace=False)
    d = rng.choice(net.n_nodes, 5, replace=False)
    got = travel_times_between_nodes(net, o, d, method="core")
    want = np.array(
        [[nx.dijkstra_path_length(g, int(a), int(b)) for b in d] for a in o], dtype=float
    )
    np.testing.assert_allclose(got, want, rtol=RTOL)


def test_matrix_core_with_cutoff_and_workers(shared_data: Path) -> None:
    net = load_network(shared_data / OSM / "north-bayreuth.osm.gz", "car")
    rng = np.random.default_rng(11)
    o = rng.choice(net.n_nodes, 40)
    d = rng.choice(net.n_nodes, 12)
    full = travel_times_between_nodes(net, o, d, method="dijkstra")
    limit = float(np.median(full))
    want = travel_times_between_nodes(net, o, d, limit_s=limit, method="dijkstra")
    got = travel_times_between_nodes(net, o, d, limit_s=limit, method="core", workers=2)
    # no pair lies within 1e-9 of the limit, so the association of sums cannot flip one
    assert not np.any(np.isclose(full, limit, rtol=1e-9) & (full != limit))
    _same(got, want)
    assert np.isinf(got).any()
    assert np.isfinite(got).any()


def test_auto_is_plain_dijkstra_on_small_networks(shared_data: Path) -> None:
    net = load_network(shared_data / OSM / "bautzen.osm", "car")
    o = np.arange(0, net.n_nodes, 7)
    d = np.arange(3, net.n_nodes, 50)
    a = travel_times_between_nodes(net, o, d)
    b = travel_times_between_nodes(net, o, d, method="dijkstra")
    np.testing.assert_array_equal(a, b)  # bit-identical: small networks never use the core


def test_unknown_method_is_an_error() -> None:
    net = grid_network(5)
    with pytest.raises(WandelError, match="method"):
        travel_times_between_nodes(net, [0], [1], method="ch")  # type: ignore[arg-type]


@st.composite
def _digraphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 14))
    m = draw(st.integers(0, 45))
    tail = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    head = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    w = np.array(
        draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.25]), min_size=m, max_size=m))
    )
    kept = np.array(sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n))))
    return n, tail, head, w, kept


def _oracle(n: int, tail: np.ndarray, head: np.ndarray, w: np.ndarray) -> np.ndarray:
    # cheapest of parallel edges, no self-loops; Floyd-Warshall in dense form
    d = np.full((n, n), np.inf)
    np.fill_diagonal(d, 0.0)
    for a, b, c in zip(tail.tolist(), head.tolist(), w.tolist(), strict=True):
        if a != b:
            d[a, b] = min(d[a, b], c)
    for k in range(n):
        d = np.minimum(d, d[:, [k]] + d[[k], :])
    return d


@settings(max_examples=150, deadline=None)
@given(_digraphs(), st.booleans(), st.sampled_from([16, 64, 1024]))
def test_core_random_digraphs(
    g: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], two_hop: bool, cap: int
) -> None:
    n, tail, head, w, kept = g
    order = np.argsort(tail, kind="stable")  # CSR with unsorted rows, parallel edges, loops
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tail, minlength=n))])
    got, _ = _core_distances(indptr, head[order], w[order], kept, two_hop=two_hop, max_product=cap)
    want = _oracle(n, tail, head, w)[np.ix_(kept, kept)]
    _same(got, want)


def test_core_is_deterministic() -> None:
    net: RoadNetwork = grid_network(30, seed=5)
    keep = np.zeros(net.n_nodes, dtype=bool)
    keep[::37] = True
    a = contract_core(net.indptr, net.indices, net.weight_s, keep)
    b = contract_core(net.indptr, net.indices, net.weight_s, keep)
    np.testing.assert_array_equal(a.node, b.node)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.weight, b.weight)


# ---------------------------------------------------------------------------------------------
# compiled kernels (wandel.access._numba): identical to scipy / networkx / Floyd-Warshall
# ---------------------------------------------------------------------------------------------


def _bit_equal(a: np.ndarray, b: np.ndarray) -> None:
    """Same sums of the same edge times in path order: equal to the bit, ``inf`` included."""
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("queue", ["auto", "heap"])
@pytest.mark.parametrize(
    ("name", "mode"),
    [("bautzen.osm", "car"), ("north-bayreuth.osm.gz", "car"), ("north-bayreuth.osm.gz", "walk")],
)
def test_numba_matrix_equals_scipy_on_extracts(
    shared_data: Path, name: str, mode: str, queue: str
) -> None:
    net = load_network(shared_data / OSM / name, mode)  # type: ignore[arg-type]
    rng = np.random.default_rng(5)
    src = rng.choice(net.n_nodes, 30)
    tgt = rng.choice(net.n_nodes, 70)
    want = dijkstra(net.graph(), directed=True, indices=src)[:, tgt]
    got = many_to_many(net.indptr, net.indices, net.weight_s, src, tgt, queue=queue)
    _bit_equal(got, want)
    if queue == "auto" and name != "bautzen.osm":
        assert bucket_inverse_width(net.weight_s, net.n_nodes) > 0  # the bucket queue ran
    # the public entry point, both directions of the search
    o, d = rng.choice(net.n_nodes, 50), rng.choice(net.n_nodes, 9)
    for a, b in ((o, d), (d, o)):
        _bit_equal(
            travel_times_between_nodes(net, a, b, method="numba"),
            travel_times_between_nodes(net, a, b, method="dijkstra"),
        )
        _same(
            travel_times_between_nodes(net, a, b, method="numba-core"),
            travel_times_between_nodes(net, a, b, method="dijkstra"),
        )


def test_numba_matrix_equals_networkx(shared_data: Path) -> None:
    net = load_network(shared_data / OSM / "north-bayreuth.osm.gz", "car")
    g = nx.DiGraph()
    g.add_weighted_edges_from(
        zip(net.edge_sources().tolist(), net.indices.tolist(), net.weight_s.tolist(), strict=True)
    )
    rng = np.random.default_rng(8)
    o = rng.choice(net.n_nodes, 12, replace=False)
    d = rng.choice(net.n_nodes, 6, replace=False)
    got = travel_times_between_nodes(net, o, d, method="numba")
    want = np.array([[nx.dijkstra_path_length(g, int(a), int(b)) for b in d] for a in o])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=0)


@pytest.mark.parametrize("seed", [0, 3])
def test_numba_on_grids_with_cutoff_and_threads(seed: int) -> None:
    net = grid_network(60, seed=seed)
    rng = np.random.default_rng(seed)
    src = rng.choice(net.n_nodes, 24)
    tgt = rng.choice(net.n_nodes, 90)
    g = net.graph(reverse=True)
    full = dijkstra(g, directed=True, indices=src)[:, tgt]
    limit = float(np.median(full))
    want = dijkstra(g, directed=True, indices=src, limit=limit)[:, tgt]
    args = (net.rev_indptr, net.rev_indices, net.rev_weight_s, src, tgt)
    one = many_to_many(*args, limit=limit, threads=1)
    _bit_equal(one, want)
    assert np.isinf(one).any()
    assert np.isfinite(one).any()
    assert bool(np.all(one[np.isfinite(one)] <= limit))
    _bit_equal(many_to_many(*args, limit=limit, threads=2), one)
    _bit_equal(many_to_many(*args, limit=limit, queue="heap"), one)
    _bit_equal(many_to_many(*args, threads=2), full)


def test_numba_matrix_is_deterministic_across_thread_counts() -> None:
    import numba

    net = grid_network(50, seed=9)
    rng = np.random.default_rng(1)
    o, d = rng.choice(net.n_nodes, 40), rng.choice(net.n_nodes, 7)
    runs = []
    old = numba.get_num_threads()
    try:
        n_max = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        for k in range(1, n_max + 1):
            numba.set_num_threads(k)
            runs.append(many_to_many(net.indptr, net.indices, net.weight_s, d, o))
            runs.append(travel_times_between_nodes(net, o, d, method="numba", workers=k))
    finally:
        numba.set_num_threads(old)
    for r in runs[2::2]:
        _bit_equal(r, runs[0])
    for r in runs[3::2]:
        _bit_equal(r, runs[1])


def test_numba_nearest_equals_scipy(shared_data: Path) -> None:
    net = load_network(shared_data / OSM / "north-bayreuth.osm.gz", "car")
    rng = np.random.default_rng(4)
    fac = rng.choice(net.n_nodes, 9)  # duplicates possible
    fac = np.concatenate([fac, fac[:2]])
    for direction in ("to", "from"):
        for limit in (np.inf, 120.0):
            t_n, f_n = nearest_node_times(
                net, fac, direction=direction, limit_s=limit, method="numba"
            )
            t_s, f_s = nearest_node_times(
                net, fac, direction=direction, limit_s=limit, method="dijkstra"
            )
            _bit_equal(t_n, t_s)
            np.testing.assert_array_equal(f_n < 0, f_s < 0)
            # the facility named lies at that time (a tie may name another one)
            g = net.graph(reverse=direction == "to")
            per = dijkstra(g, directed=True, indices=fac, limit=limit)
            ok = f_n >= 0
            _bit_equal(per[f_n[ok], np.flatnonzero(ok)], t_n[ok])
            # duplicates name their first occurrence
            assert not np.isin(f_n, [len(fac) - 2, len(fac) - 1]).any()


def test_auto_uses_numba_on_large_networks() -> None:
    from wandel.access.routing import _pick_method

    grid = grid_network(110, seed=2)  # > 10k nodes, few degree-2 chains
    assert grid.n_nodes >= 10_000
    assert _pick_method(grid, "auto", 150, 2) == "numba"
    assert _pick_method(grid, "auto", 200, 2) == "numba-core"  # the 1,000 x 200 matrix
    assert _pick_method(grid, "auto", 1000, 1) == "numba-core"
    assert _pick_method(grid_network(20), "auto", 200, 1) == "dijkstra"
    rng = np.random.default_rng(0)
    o, d = rng.choice(grid.n_nodes, 30), rng.choice(grid.n_nodes, 5)
    _bit_equal(
        travel_times_between_nodes(grid, o, d),
        travel_times_between_nodes(grid, o, d, method="dijkstra"),
    )


@st.composite
def _digraphs_csr(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 14))
    m = draw(st.integers(0, 45))
    tail = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    head = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=np.int64)
    costs = st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.5, 2.0, 3.25, 7.0])
    w = np.array(draw(st.lists(costs, min_size=m, max_size=m)), dtype=np.float64)
    return n, tail, head, w


@settings(max_examples=200, deadline=None)
@given(
    _digraphs_csr(),
    st.sampled_from(["auto", "heap"]),
    st.sampled_from([np.inf, 0.0, 1.0, 2.5]),
    st.integers(1, 2),
)
def test_numba_random_digraphs(
    g: tuple[int, np.ndarray, np.ndarray, np.ndarray], queue: str, limit: float, threads: int
) -> None:
    # zero costs, parallel edges, self-loops, unreachable parts; oracle: Floyd-Warshall
    n, tail, head, w = g
    order = np.argsort(tail, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tail, minlength=n))])
    nodes = np.arange(n)
    got = many_to_many(
        indptr, head[order], w[order], nodes, nodes, limit=limit, queue=queue, threads=threads
    )
    want = _oracle(n, tail, head, w)
    want[want > limit] = np.inf
    _same(got, want)
    # two paths of equal length can sum their edge times in another order (0.1 + 0.1 + 1.0 vs
    # 0.2 + 1.0): then the distances differ in the last bit, so random graphs compare to RTOL; the
    # real extracts above are compared bit for bit
    csr = csr_matrix((w[order], head[order], indptr), shape=(n, n))
    _same(got, dijkstra(csr, directed=True, limit=limit))
    # nearest of a few sources
    src = nodes[: max(1, n // 3)]
    dist, which = multi_source(indptr, head[order], w[order], src, limit=limit, queue=queue)
    _same(dist, want[src].min(axis=0))
    ok = which >= 0
    np.testing.assert_array_equal(ok, np.isfinite(dist))
    _same(got[src[which[ok]], nodes[ok]], dist[ok])


# ---------------------------------------------------------------------------------------------
# node order: the core is searched in Morton order (wandel.access._geo.morton_order, relabel)
# ---------------------------------------------------------------------------------------------


def _morton_relabelled(net: RoadNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from wandel.access._geo import morton_order
    from wandel.access._numba import relabel

    order = morton_order(net.node_lon, net.node_lat)
    np.testing.assert_array_equal(np.sort(order), np.arange(net.n_nodes))
    return relabel(net.rev_indptr, net.rev_indices, net.rev_weight_s, order)


@pytest.mark.parametrize("graph", ["grid", "heidelberg"])
def test_searches_in_morton_order_are_bit_equal(shared_data: Path, graph: str) -> None:
    """Renumbering the nodes changes where they lie in memory, not one bit of a distance."""
    if graph == "grid":
        net = grid_network(90, seed=2)
    else:
        net = load_network(shared_data / OSM / "heidelberg.test.pbf", "car")
    ip, ix, w, rank = _morton_relabelled(net)
    assert not np.array_equal(rank, np.arange(net.n_nodes))  # the order did change
    rng = np.random.default_rng(3)
    src, tgt = rng.choice(net.n_nodes, 16), rng.choice(net.n_nodes, 300)
    want = dijkstra(net.graph(reverse=True), directed=True, indices=src)[:, tgt]
    got = many_to_many(ip, ix, w, rank[src], rank[tgt], threads=2)
    _bit_equal(got, want)
    _bit_equal(many_to_many(ip, ix, w, rank[src], rank[tgt], queue="heap"), want)
    limit = float(np.median(want[np.isfinite(want)]))
    _bit_equal(
        many_to_many(ip, ix, w, rank[src], rank[tgt], limit=limit),
        dijkstra(net.graph(reverse=True), directed=True, indices=src, limit=limit)[:, tgt],
    )
    d_new, which = multi_source(ip, ix, w, rank[src])
    d_old, _ = multi_source(net.rev_indptr, net.rev_indices, net.rev_weight_s, src)
    _bit_equal(d_new[rank], d_old)
    _bit_equal(d_old[tgt], want.min(axis=0))
    hit = which[rank] >= 0  # the source named attains the distance
    full = dijkstra(net.graph(reverse=True), directed=True, indices=src)
    _bit_equal(full[which[rank][hit], np.flatnonzero(hit)], d_old[hit])


def test_relabel_refuses_what_is_not_a_permutation() -> None:
    from wandel.access._numba import relabel

    ip, ix, w = np.array([0, 1, 2]), np.array([1, 0]), np.array([1.0, 2.0])
    for bad in ([0, 0], [0], [1, 2]):
        with pytest.raises(ValueError, match="permutation"):
            relabel(ip, ix, w, bad)


@pytest.mark.parametrize("seed", [4, 5])
def test_numba_core_equals_dijkstra_on_grids(seed: int) -> None:
    """The whole path of the 1,000 x 200 matrix (contraction, Morton order, batched buckets) on
    grids large enough for ``auto`` to pick it."""
    net = grid_network(130, seed=seed)
    rng = np.random.default_rng(seed)
    o, d = rng.choice(net.n_nodes, 700), rng.choice(net.n_nodes, 140)
    want = travel_times_between_nodes(net, o, d, method="dijkstra")
    assert np.isfinite(want).all()
    for workers in (1, 2):
        _same(travel_times_between_nodes(net, o, d, method="numba-core", workers=workers), want)
    _same(travel_times_between_nodes(net, o, d, method="auto", workers=2), want)

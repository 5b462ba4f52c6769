"""Benchmark of wandel.access against its peers, side by side in one process.

Usage::

    .venv/bin/python bench/access_bench.py [--n-side 1000] [--workers 2] [--repeat 5]
        [--methods dijkstra,core,numba,numba-core] [--peers scipy,igraph,pandana,networkx]
        [--graphs grid,heidelberg]

Graphs: a synthetic road-like grid (``wandel.access.synthetic.grid_network``, seed 42; ~1M nodes for
``--n-side 1000``) and the Heidelberg extract (car). Queries: nearest of 50 facilities for every node,
and a 1,000 x 200 travel-time matrix (preprocessing included; median and range of ``--repeat``
runs per method and thread count, the load average beside each, the peer scipy in the same run;
for ``numba-core`` also by phase: contraction, Morton order, searches, and how far the graph
contracts). Optional peers are imported from
``--peer-site`` (e.g. ``pip install --target /tmp/peer_site pandana igraph``; never into .venv).
Ratios are peer time / Wandel time (> 1: Wandel is faster). Wandel's compiled kernels
(``wandel.access._numba``) are timed warm; their one-off JIT compile (cached on disk afterwards) is
measured first in a fresh process with an empty cache and printed separately. CPU seconds are
printed beside wall seconds: other work on the machine shows as CPU < threads x wall.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from wandel.access._contract import contract_core_numba
from wandel.access._core import contract_core
from wandel.access.network import RoadNetwork, load_network
from wandel.access.routing import nearest_node_times, travel_times_between_nodes
from wandel.access.synthetic import grid_network

HEIDELBERG = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm" / "heidelberg.test.pbf"


def compile_seconds() -> tuple[float, float]:
    """First call of the kernels in a fresh process: with an empty cache (compile) and again
    (load from the on-disk cache)."""
    code = (
        "import time; t = time.perf_counter(); import numpy as np; "
        "from wandel.access._numba import many_to_many, multi_source; "
        "ip, ix = np.array([0, 1, 2]), np.array([1, 0]); w = np.array([1.0, 2.0]); "
        "many_to_many(ip, ix, w, [0], [1]); many_to_many(ip, ix, w, [0], [1], queue='heap'); "
        "multi_source(ip, ix, w, [0]); multi_source(ip, ix, w, [0], queue='heap'); "
        "from wandel.access._contract import contract_core_numba; "
        "contract_core_numba(ip, ix, w, np.array([True, False])); "
        "print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        run = [sys.executable, "-c", code]
        cold = float(
            subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
        )
        warm = float(
            subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
        )
    return cold, warm


def cpu_timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds (this process, all threads) of one call."""
    c0, t0 = os.times(), time.perf_counter()
    out = fn()
    c1 = os.times()
    cpu = sum(c1[:4]) - sum(c0[:4])  # user + system, this process and its finished children
    return time.perf_counter() - t0, cpu, out


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(label: str, seconds: float, wandel_s: float | None = None, note: str = "") -> None:
    ratio = f"{seconds / wandel_s:8.2f}x" if wandel_s else " " * 9
    print(f"  {label:<44s} {seconds:9.3f} s {ratio}  {note}")


def bench_nearest(net: RoadNetwork, peers: set[str], rng: np.random.Generator) -> None:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    fac = rng.choice(net.n_nodes, 50, replace=False)
    print(f" nearest of 50 facilities for all {net.n_nodes:,} nodes")
    nearest_node_times(net, fac[:1], method="numba")  # kernels loaded before timing
    w_s, (w_t, _) = timed(lambda: nearest_node_times(net, fac, method="numba"), repeat=3)
    row("wandel nearest_node_times (numba)", w_s)
    d_s, (d_t, _) = timed(lambda: nearest_node_times(net, fac, method="dijkstra"), repeat=3)
    row("wandel nearest_node_times (scipy)", d_s, w_s, f"identical={np.array_equal(d_t, w_t)}")
    if "scipy" in peers:
        tails = net.edge_sources()

        def scipy_plain() -> Any:  # what a user writes: COO edges -> CSR, transpose, min_only
            g = csr_matrix((net.weight_s, (net.indices, tails)), shape=(net.n_nodes, net.n_nodes))
            return dijkstra(g, directed=True, indices=fac, min_only=True)

        s_s, s_t = timed(scipy_plain, repeat=3)
        row(
            "scipy dijkstra(min_only) incl. CSR build",
            s_s,
            w_s,
            f"identical={np.array_equal(s_t, w_t)}",
        )
        g = net.graph(reverse=True)
        s2, s_t2 = timed(lambda: dijkstra(g, directed=True, indices=fac, min_only=True), repeat=3)
        row(
            "scipy dijkstra(min_only), CSR prepared",
            s2,
            w_s,
            f"identical={np.array_equal(s_t2, w_t)}",
        )
    if "igraph" in peers:
        try:
            import igraph as ig
        except ImportError:
            print("  igraph not importable: skipped")
        else:
            tails = net.edge_sources()
            b_s, gi = timed(
                lambda: ig.Graph(
                    n=net.n_nodes,
                    edges=np.column_stack([tails, net.indices]).tolist(),
                    directed=True,
                    edge_attrs={"w": net.weight_s},
                )
            )
            i_s, d = timed(
                lambda: np.min(
                    np.asarray(gi.distances(source=fac.tolist(), weights="w", mode="in")), axis=0
                )
            )
            row(
                "igraph distances(50 sources), build excluded",
                i_s,
                w_s,
                f"build {b_s:.1f} s, max|diff|={np.max(np.abs(d - w_t)):.2e}",
            )
    if "pandana" in peers:
        try:
            import pandana
            import pandas as pd
        except ImportError as exc:
            print(f"  pandana not importable ({exc}): skipped")
        else:
            tails = net.edge_sources()
            nodes = pd.DataFrame(
                {"x": net.node_lon, "y": net.node_lat}, index=np.arange(net.n_nodes)
            )
            edges = pd.DataFrame(
                {"from": tails, "to": net.indices.astype(np.int64), "w": net.weight_s}
            )
            b_s, pn = timed(
                lambda: pandana.Network(
                    nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["w"]], twoway=False
                )
            )
            pn.set_pois("fac", 1e9, 1, net.node_lon[fac], net.node_lat[fac])
            p_s, d = timed(lambda: pn.nearest_pois(1e9, "fac", num_pois=1))
            pd_t = d[1].to_numpy()
            row(
                "pandana nearest_pois, CH build excluded",
                p_s,
                w_s,
                f"build {b_s:.1f} s, max|diff|={np.nanmax(np.abs(pd_t - w_t)):.2e} (pandana: from node to POI)",
            )


def _spread(values: list[float]) -> str:
    return f"median {np.median(values):7.2f} s, range {min(values):.2f}-{max(values):.2f} s"


def bench_matrix(
    net: RoadNetwork,
    peers: set[str],
    rng: np.random.Generator,
    workers: int,
    repeat: int,
    methods: list[str],
    skip_single: bool = False,
) -> None:
    from scipy.sparse.csgraph import dijkstra

    o = rng.choice(net.n_nodes, 1000, replace=False)
    d = rng.choice(net.n_nodes, 200, replace=False)
    print(
        f" 1,000 x 200 travel-time matrix (preprocessing included), {repeat} runs each; "
        f"load {_load()}"
    )

    def matrix(method: str, k: int) -> Any:
        return travel_times_between_nodes(net, o, d, workers=k, method=method)  # type: ignore[arg-type]

    for warm in ("numba", "numba-core"):  # kernels loaded (compiled or from the cache) first
        travel_times_between_nodes(net, o[:2], d[:2], method=warm)  # type: ignore[arg-type]
    results: dict[str, float] = {}
    ref: Any = None
    for method in methods:
        for k in (workers,) if workers == 1 or skip_single else (1, workers):
            runs = [cpu_timed(functools.partial(matrix, method, k)) for _ in range(repeat)]
            m = runs[-1][2]
            if ref is None:
                ref = m
            rel = np.max(np.abs(m - ref) / np.maximum(ref, 1e-300))
            same = np.array_equal(m, ref)
            what = "processes" if method in ("dijkstra", "core") else "threads"
            walls = [r[0] for r in runs]
            row(
                f"wandel {method}, {k} {what}",
                float(np.median(walls)),
                None,
                f"{_spread(walls)}; cpu median {np.median([r[1] for r in runs]):6.2f} s; "
                f"identical={same}, max rel diff {rel:.1e}; load {_load()}",
            )
            results[f"{method}/{k}"] = float(np.median(walls))
    keep = np.zeros(net.n_nodes, dtype=bool)
    keep[o] = keep[d] = True
    if "numba-core" in methods:
        phases(net, o, d, keep, workers, repeat)
    g = net.graph(reverse=True)
    c_s, core = timed(lambda: contract_core(g.indptr, g.indices, g.data, keep))
    print(
        f"  core (vectorised, 1-/2-hop witnesses): {core.n_nodes:,} of {net.n_nodes:,} nodes "
        f"({core.n_nodes / net.n_nodes:.1%}), {len(core.indices):,} edges, {core.rounds} rounds, "
        f"{c_s:.2f} s"
    )
    for searches, label in ((200, "for 200 searches"), (1e12, "until the rounds stall")):
        c_s, core = timed(
            lambda s=searches: contract_core_numba(
                g.indptr, g.indices, g.data, keep, searches=s, threads=workers
            )
        )
        print(
            f"  core (compiled, witness Dijkstras, {label}): {core.n_nodes:,} nodes "
            f"({core.n_nodes / net.n_nodes:.1%}), {len(core.indices):,} edges, {core.rounds} "
            f"rounds, {c_s:.2f} s"
        )
    best_key = min(results, key=lambda key: results[key])
    best = results[best_key]
    if "scipy" in peers:
        k = 20
        gr = net.graph(reverse=True)
        s_s, sm = timed(lambda: dijkstra(gr, directed=True, indices=d[:k])[:, o])
        est = s_s * len(d) / k
        ref_t = ref.T[:k]
        row(
            "peer: scipy dijkstra from the 200 (extrap.)",
            est,
            best,
            f"measured {k} rows: {s_s:.2f} s; max rel diff "
            f"{np.max(np.abs(sm - ref_t) / np.maximum(ref_t, 1e-300)):.1e}; "
            f"ratio against wandel {best_key}",
        )
    if net.n_nodes >= 900_000:  # the figures are for the 1M-node graph
        print(
            f"  pandana (issue author's figure): 50 s build + 1.65 s query = {51.65 / best:.1f}x"
            f" slower; goal < 10 s: {'met' if best < 10 else 'NOT met'} ({best:.2f} s, "
            f"{best_key}, load {_load()})"
        )


def phases(net: RoadNetwork, o: Any, d: Any, keep: Any, workers: int, repeat: int) -> None:
    """Where the time of ``numba-core`` goes: the same steps as ``travel_times_between_nodes``
    (searches from the 200 destinations on the reversed graph), each timed (median of runs)."""
    from wandel.access._geo import morton_order
    from wandel.access._numba import many_to_many, relabel

    src, tgt = np.unique(d), np.unique(o)
    rows: dict[str, list[tuple[float, float]]] = {"contraction": [], "order": [], "searches": []}
    core: Any = None
    contract = functools.partial(
        contract_core_numba,
        net.rev_indptr,
        net.rev_indices,
        net.rev_weight_s,
        keep,
        searches=len(src),
        threads=workers,
    )
    for _ in range(repeat):
        w_c, c_c, core = cpu_timed(contract)

        def order(c: Any = core) -> Any:
            node = c.node
            return relabel(
                c.indptr, c.indices, c.weight, morton_order(net.node_lon[node], net.node_lat[node])
            )

        w_o, c_o, (ip, ix, w, rank) = cpu_timed(order)
        s, t = rank[core.position[src]], rank[core.position[tgt]]
        search = functools.partial(many_to_many, ip, ix, w, s, t, threads=workers)
        w_s, c_s, _ = cpu_timed(search)
        rows["contraction"].append((w_c, c_c))
        rows["order"].append((w_o, c_o))
        rows["searches"].append((w_s, c_s))
    print(
        f"  numba-core by phase ({repeat} runs, {workers} threads): core {core.n_nodes:,} of "
        f"{net.n_nodes:,} nodes ({core.n_nodes / net.n_nodes:.1%}), {len(core.indices):,} of "
        f"{net.n_edges:,} edges, {core.rounds} rounds; load {_load()}"
    )
    for name, vals in rows.items():
        walls, cpus = [v[0] for v in vals], [v[1] for v in vals]
        print(f"    {name:<12s} {_spread(walls)}; cpu median {np.median(cpus):6.2f} s")
    per = np.median([v[1] for v in rows["searches"]]) / len(src) * 1e3
    print(f"    one search on the core: {per:.1f} ms cpu")


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-side", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--peers", default="scipy,igraph,networkx")
    ap.add_argument("--peer-site", default="/tmp/peer_site")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each matrix method")
    ap.add_argument("--methods", default="dijkstra,core,numba,numba-core")
    ap.add_argument(
        "--skip-single", action="store_true", help="on the grid, time only --workers threads"
    )
    ap.add_argument("--graphs", default="grid,heidelberg", help="grid, heidelberg or both")
    args = ap.parse_args()
    peers = set(args.peers.split(","))
    if Path(args.peer_site).is_dir():
        sys.path.append(args.peer_site)  # appended: .venv's numpy/scipy/pandas stay first
    rng = np.random.default_rng(42)

    graphs = set(args.graphs.split(","))
    cold, warm = compile_seconds()
    print(
        f"== numba kernels: first call {cold:.2f} s with an empty cache (JIT compile, once per "
        f"machine), {warm:.2f} s from the on-disk cache (per process, incl. import)"
    )
    methods = args.methods.split(",")
    if "grid" in graphs:
        print(f"== synthetic grid {args.n_side} x {args.n_side} (seed 42)")
        b_s, net = timed(lambda: grid_network(args.n_side, seed=42))
        print(
            f"  built {net.n_nodes:,} nodes, {net.n_edges:,} edges in {b_s:.1f} s; "
            f"peak RSS {peak_mb():.0f} MB"
        )
        bench_nearest(net, peers, rng)
        bench_matrix(net, peers, rng, args.workers, args.repeat, methods, args.skip_single)
        print(f"  peak RSS so far {peak_mb():.0f} MB")
        del net

    if "networkx" in peers:
        import networkx as nx

        small = grid_network(200, seed=42)
        fac = rng.choice(small.n_nodes, 50, replace=False)
        print(f"== networkx on a smaller grid ({small.n_nodes:,} nodes), nearest of 50")
        w_s, (w_t, _) = timed(lambda: nearest_node_times(small, fac, method="numba"), repeat=3)
        row("wandel nearest_node_times (numba)", w_s)
        g = nx.DiGraph()
        g.add_weighted_edges_from(
            zip(
                small.indices.tolist(),
                small.edge_sources().tolist(),
                small.weight_s.tolist(),
                strict=True,
            )
        )
        n_s, dist = timed(lambda: nx.multi_source_dijkstra_path_length(g, set(fac.tolist())))
        ok = np.allclose([dist[i] for i in range(small.n_nodes)], w_t, rtol=1e-12)
        row("networkx multi_source_dijkstra (reversed)", n_s, w_s, f"equal={ok}")

    if "heidelberg" in graphs and HEIDELBERG.is_file():
        print("== Heidelberg extract, car")
        p_s, hd = timed(lambda: load_network(HEIDELBERG, "car"))
        print(f"  parsed and built {hd.n_nodes:,} nodes, {hd.n_edges:,} edges in {p_s:.2f} s")
        bench_nearest(hd, peers, rng)
        bench_matrix(hd, peers, rng, args.workers, max(args.repeat, 5), methods)
    print(f"peak RSS {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()

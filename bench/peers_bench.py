"""Benchmark: peers of every German Gemeinde, Wandel's exact k-nearest search beside scikit-learn's
``NearestNeighbors`` on the same standardised matrix.

The matrix is the one ``wandel compare peers`` uses: the catalogue's peer indicators of all
Gemeinden of the Gemeindeverzeichnis 31.12.2019 (about 10,800 with every feature), built from the
real files in ``../shared/data`` (GV-ISys 2013, 2017, 2019; 12411-04-02-4 Kreise 2020 for the
estimated age structures), standardised. Building it is not timed; the search is: k = 10 peers of
every Gemeinde, the Gemeinde itself excluded.

Goal (issue 12): faster than the peer, same neighbours. Both run single-threaded first
(threadpoolctl), so the figures compare algorithms, not thread counts; then both on all cores. The
runs are interleaved (ours, the peer's, ours, ...), so that a change of the machine's load hits both. Prints the
median and range of ``--runs`` (>= 5) runs, the load average, the ratio, and how many rows have the
same neighbours (the rest must differ only among tied distances).

    .venv/bin/python bench/peers_bench.py [--runs 7] [--k 10] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FILES = (
    "gemeindeverzeichnis/31122013_Auszug_GV.xlsx",
    "gemeindeverzeichnis/31122017_Auszug_GV.xlsx",
    "gemeindeverzeichnis/AuszugGV4QAktuell_2019.csv",
    "statistik/12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv",
)


def build_matrix(shared: Path) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...], float]:
    """Standardised peer features of every German Gemeinde (zones, features, estimated share)."""
    from wandel.compare.catalogue import load_catalogue
    from wandel.compare.peers import feature_matrix
    from wandel.store import Store
    from wandel.workflow.compare import load
    from wandel.workflow.demo import add_structure_estimates, derive_zone_changes

    db = Path(tempfile.mkdtemp(prefix="peers_bench_")) / "de.duckdb"
    with Store.open(db) as store:
        for f in FILES:
            store.import_file(shared / f)
        derive_zone_changes(store)
        add_structure_estimates(store)
    keys = [k for k, ind in load_catalogue().items() if ind.peer]
    data = load(db, keys=keys)
    m = feature_matrix(data.table, "gemeinde")
    return m.z, m.zones, m.features, m.estimated_share


def timed(fns: list[Callable[[], Any]], runs: int) -> list[tuple[list[float], Any]]:
    """Run the functions in turn, ``runs`` rounds (interleaved, so that a change of the machine's
    load hits all alike); each function's times and last result."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[Any] = [None] * len(fns)
    for _ in range(runs):
        for j, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[j] = fn()
            times[j].append(time.perf_counter() - t0)
    return list(zip(times, outs, strict=True))


def summary(name: str, times: list[float]) -> str:
    t = np.array(times)
    return f"{name:<44} median {np.median(t):8.3f} s   range {t.min():.3f}-{t.max():.3f} s"


def agreement(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> str:
    """Rows with identical neighbour lists; the others must agree in their distances (ties)."""
    same = np.all(a[0] == b[0], axis=1)
    dist_ok = np.allclose(a[1], b[1], rtol=1e-9, atol=1e-12)
    return (
        f"identical neighbour lists: {int(same.sum())} of {len(same)} rows"
        f"{'' if same.all() else ' (the rest differ only in the order of tied distances)' if dist_ok else ''}; "
        f"distances equal: {dist_ok}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    if args.runs < 5:
        ap.error("--runs must be at least 5")
    from threadpoolctl import threadpool_limits

    from wandel.compare.peers import nearest_neighbours

    try:
        from sklearn.neighbors import NearestNeighbors
    except ImportError:
        print("scikit-learn is missing (pip install -e '.[dev]'): no peer to compare with")
        return 1
    if not all((args.shared / f).is_file() for f in FILES):
        print(f"real data not found under {args.shared}: the bench needs {', '.join(FILES)}")
        return 1
    t0 = time.perf_counter()
    z, zones, features, est = build_matrix(args.shared)
    print(f"matrix: {z.shape[0]} Gemeinden x {z.shape[1]} features ({', '.join(features)}); "
          f"built in {time.perf_counter() - t0:.1f} s; {est:.0%} of the cells rest on estimates")  # fmt: skip
    k = args.k

    def ours() -> tuple[np.ndarray, np.ndarray]:
        return nearest_neighbours(z, k)

    def sklearn_default() -> tuple[np.ndarray, np.ndarray]:
        d, i = NearestNeighbors(n_neighbors=k).fit(z).kneighbors()
        return i, d

    def ours_all() -> tuple[np.ndarray, np.ndarray]:
        return nearest_neighbours(z, k, workers=-1)

    def sklearn_all() -> tuple[np.ndarray, np.ndarray]:
        d, i = NearestNeighbors(n_neighbors=k, n_jobs=-1).fit(z).kneighbors()
        return i, d

    def sklearn_brute() -> tuple[np.ndarray, np.ndarray]:
        d, i = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(z).kneighbors()
        return i, d

    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    with threadpool_limits(1):
        (t_ours, r_ours), (t_sk, r_sk), (t_br, r_br) = timed(
            [ours, sklearn_default, sklearn_brute], args.runs
        )
    rows.append(("one thread", t_ours, t_sk, t_br))
    (t_ours_mt, _), (t_sk_mt, _) = timed([ours_all, sklearn_all], args.runs)
    rows.append(("all cores (Wandel workers=-1, scikit-learn n_jobs=-1)", t_ours_mt, t_sk_mt, None))
    print(f"load average after:  {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    algo = NearestNeighbors(n_neighbors=k).fit(z)._fit_method
    for label, a, b, c in rows:
        print(f"-- {label}, k = {k}, all {len(zones)} Gemeinden")
        print(summary("Wandel nearest_neighbours (k-d tree + ties)", a))
        print(summary(f"scikit-learn NearestNeighbors ({algo})", b))
        print(f"ratio scikit-learn / Wandel (medians): {np.median(b) / np.median(a):.2f}")
        if c is not None:
            print(summary("scikit-learn NearestNeighbors (brute)", c))
            print(f"ratio scikit-learn brute / Wandel (medians): {np.median(c) / np.median(a):.2f}")
    print("same neighbours as scikit-learn (" + algo + "): " + agreement(r_ours, r_sk))
    print("same neighbours as scikit-learn (brute): " + agreement(r_ours, r_br))
    return 0


if __name__ == "__main__":
    sys.exit(main())

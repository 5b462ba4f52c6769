"""Benchmark of the projection engine (not a test). Run: .venv/bin/python bench/projection_bench.py

Every figure is the median and range of ``--runs`` runs (default 5), with its peer timed in the
same run and the ratio; the load average is printed at the start and the end.

1. Deterministic: 10,800 zones x 2 sexes x 101 ages x 30 years on the compiled kernel (numba, 2
   threads and 1 thread) and, as peers, the numpy kernel and the loop-based oracle (timed on 4
   zones and scaled); inputs built from real structures (the Kreis single-age table 2020
   graduated to 0..100+, scaled to random Gemeinde totals; survival from the Destatis life table
   2022/24; fertility from the German age-specific rates 2023). Prints the memory-traffic bound
   from a measured copy bandwidth and the ratio to it.
2. Stochastic: 1,000 draws x 300 zones x 30 years (all four levels, 10 age groups kept), each run
   in a fresh process: wall and CPU time and peak RSS of the process, on the compiled draws
   kernel (float64 and float32 results) and, as the peer, on the numpy kernel.
3. A dask.distributed LocalCluster with 2 worker processes (1 thread each) on loopback computes
   the draws of (2) in chunks of 125 against the same chunks in this process: identical results,
   and the overhead, with the chunks left in shared memory (the default on one machine) and sent
   over the network (``shared_memory=False``, as on a cluster of several machines). The cluster
   start is timed apart and printed beside it (once), with what one start per call would add.

Options: --quick (smaller problems), --no-dask, --runs N.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from wandel.demography.engine import (
    EngineInput,
    ProjectionRates,
    StochasticSpec,
    draw_levels,
    engine_input,
    project_arrays,
)
from wandel.demography.engine import core as engine
from wandel.demography.engine.distributed import builtin_map, dask_map, project_draws
from wandel.demography.engine.reference import project_reference
from wandel.demography.graduation import BREAKS_SINGLE_TO_74, graduate
from wandel.demography.lifetable import life_table_from_qx, survival_ratios

DATA = Path(
    os.environ.get("WANDEL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
A = 101
HORIZON = 30
BREAKS_OUT = (
    0,
    3,
    6,
    10,
    16,
    19,
    25,
    45,
    65,
    80,
)  # Kita, school, working age, 65+, 80+ (stochastic)


def kreis_structures() -> np.ndarray:
    """(399, 2, 101) single-age shares of the Kreise 2020 (graduated tails)."""
    path = DATA / "statistik/12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv"
    by: dict[str, list[tuple[int, int]]] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        f = line.split(";")
        if len(f) == 6 and f[3].strip().isdigit() and f[2] != "Insgesamt":
            by.setdefault(f[0].strip(), []).append((int(f[4]), int(f[5])))
    counts = np.array([v for c, v in by.items() if len(c) == 5], float).transpose(0, 2, 1)
    single = graduate(counts, BREAKS_SINGLE_TO_74)
    return single / single.sum(axis=(1, 2), keepdims=True)


def destatis_survival() -> tuple[np.ndarray, np.ndarray]:
    """(2, 101) survival ratios and (2,) birth survival from the 2022/24 life table."""
    path = DATA / "statistik/12621-0001_full_Sterbetafel2022-2024.csv"
    rows = [
        ln.split(";")
        for ln in path.read_text(encoding="utf-8-sig").splitlines()
        if ln[:1].isdigit() and " Jahr" in ln.split(";")[0]
    ]
    q = np.array([[float(r[o].replace(",", ".")) for r in rows] for o in (1, 15)])
    s = survival_ratios(life_table_from_qx(q))
    return s.sx, s.birth


def german_asfr() -> np.ndarray:
    """(101,) births per woman by age of mother, Germany 2023."""
    out = np.zeros(A)
    for line in (
        (DATA / "statistik/12612-0008_asfr_deutschland_1972-2023_long.csv")
        .read_text()
        .splitlines()[1:]
    ):
        year, age, rate = line.split(",")
        if year == "2023":
            out[int(age)] = float(rate) / 1000.0
    return out


def build_inputs(n_zones: int, seed: int = 1) -> tuple[xr.DataArray, ProjectionRates]:
    rng = np.random.default_rng(seed)
    shares = kreis_structures()
    pick = rng.integers(0, shares.shape[0], n_zones)
    totals = np.exp(rng.normal(np.log(3000), 1.3, n_zones)).clip(50, 3_700_000)
    pop = shares[pick] * totals[:, None, None]
    sx, sb = destatis_survival()
    asfr = german_asfr()
    # migration: an age profile peaking at 18-30 (Rogers-Castro-like), out-rates 2-12 %, in-counts
    # set so that each zone's net migration is about +0.3 % of its population
    age = np.arange(A)
    profile = 0.02 + 0.10 * np.exp(-(((age - 23) / 6.0) ** 2)) + 0.02 * np.exp(-age / 3.0)
    out_rate = np.broadcast_to(profile, (n_zones, 2, A)) * rng.uniform(0.7, 1.3, (n_zones, 1, 1))
    out_total = (pop * out_rate).sum(axis=(1, 2))
    in_shape = profile / profile.sum() / 2
    in_count = (out_total * 1.003)[:, None, None] * np.broadcast_to(in_shape, (n_zones, 2, A))
    zones = [f"{i:08d}" for i in range(n_zones)]
    zsa = {"zone": zones, "sex": ["m", "f"], "age": age}
    d3 = ("zone", "sex", "age")
    rates = ProjectionRates(
        sx=xr.DataArray(np.broadcast_to(sx, (n_zones, 2, A)), dims=d3, coords=zsa),
        birth_survival=xr.DataArray(
            np.broadcast_to(sb, (n_zones, 2)),
            dims=("zone", "sex"),
            coords={"zone": zones, "sex": ["m", "f"]},
        ),
        asfr=xr.DataArray(
            np.broadcast_to(asfr, (n_zones, A)) * rng.uniform(0.8, 1.2, (n_zones, 1)),
            dims=("zone", "age"),
            coords={"zone": zones, "age": age},
        ),
        out_rate=xr.DataArray(out_rate, dims=d3, coords=zsa),
        in_count=xr.DataArray(in_count, dims=d3, coords=zsa),
    )
    return xr.DataArray(pop, dims=d3, coords=zsa), rates


def copy_bandwidth_gbs() -> float:
    """Copy bandwidth (read + write bytes per second), best of 5 copies of a 512 MB array."""
    src = np.ones(64_000_000)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return 2 * src.nbytes / best / 1e9


RUNS = 5


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall seconds of ``runs`` calls of ``fn`` (garbage collected before each)."""
    out = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def med(xs: list[float]) -> float:
    return float(statistics.median(xs))


def fmt(xs: list[float], unit: str = "s") -> str:
    """``median (range min-max, n runs)``."""
    return f"{med(xs):8.3f} {unit} (range {min(xs):.3f}-{max(xs):.3f}, {len(xs)} runs)"


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def peak_rss_gb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def bench_deterministic(n_zones: int, runs: int) -> float:
    """Prints the figures of (1); returns the median ratio to the traffic bound."""
    pop, rates = build_inputs(n_zones)
    inp = engine_input(pop, rates, HORIZON, 2024)
    project_arrays(inp, validate=False)  # load (or compile) the numba kernel once
    t = timed(lambda: project_arrays(inp, validate=False), runs)
    t1 = timed(lambda: project_arrays(inp, validate=False, threads=1), runs)
    t_val = timed(lambda: project_arrays(inp), 1)
    # the numpy kernel (the fallback for cases the compiled kernels do not cover), same problem
    engine._USE_KERNEL = False
    try:
        t_np = timed(lambda: project_arrays(inp, validate=False), runs)
    finally:
        engine._USE_KERNEL = True
    # memory traffic that must happen: write the result (31 x Z x 2 x 101), read the base population
    # and every rate once (sx, out_rate, in_count: Z x 2 x 101; asfr Z x 35)
    elems = (HORIZON + 1) * n_zones * 2 * A + n_zones * 2 * A * 4 + n_zones * 35
    bws = [copy_bandwidth_gbs() for _ in range(runs)]
    bound = elems * 8 / (max(bws) * 1e9)
    # a fresh result array has to be faulted in (zeroed by the kernel) and written once
    t_fresh = timed(lambda: np.empty((HORIZON + 1, 1, n_zones, 2, A)).fill(1.0), runs)
    sub = 4
    small = EngineInput(
        population=inp.population[:sub],
        sx=inp.sx[:, :sub],
        birth_survival=inp.birth_survival[:, :sub],
        asfr=inp.asfr[:, :sub],
        out_rate=inp.out_rate[:, :sub],
        in_count=inp.in_count[:, :sub],
        srb=inp.srb,
    )
    t_ref = [x * n_zones / sub for x in timed(lambda: project_reference(small), runs)]
    agree = float(
        np.abs(project_reference(small).population - project_arrays(small).population).max()
    )
    m = med(t)
    print(f"[1] deterministic {n_zones} zones x 2 x {A} ages x {HORIZON} years")
    print(f"    engine (compiled, 2 threads): {fmt(t)}  (with input validation {t_val[0]:.3f} s)")
    print(f"    engine, 1 thread:             {fmt(t1)}")
    print(f"    peer numpy kernel:            {fmt(t_np)}  ratio {med(t_np) / m:5.2f}x")
    print(
        f"    peer loop oracle (4 zones, scaled): {fmt(t_ref)}  ratio {med(t_ref) / m:6.0f}x;"
        f" max abs difference {agree:.1e}"
    )
    print(f"    copy bandwidth:               {fmt(bws, 'GB/s')} (read + write; best used)")
    print(
        f"    traffic bound:                {bound:8.3f} s ({elems * 8 / 1e6:.0f} MB)   engine"
        f" ratio {m / bound:5.2f}x (range {min(t) / bound:.2f}-{max(t) / bound:.2f}; target <= 5x)"
    )
    print(
        f"    fresh output (allocate, fill): {fmt(t_fresh)}  engine ratio {m / med(t_fresh):5.2f}x"
    )
    return m / bound


def stochastic_setup(
    n_zones: int, n_draws: int
) -> tuple[xr.DataArray, ProjectionRates, StochasticSpec]:
    pop, rates = build_inputs(n_zones, seed=2)
    spec = StochasticSpec(
        draws=n_draws,
        seed=2024,
        sigma_fertility=0.03,
        sigma_mortality=0.03,
        sigma_in_migration=0.08,
        sigma_out_migration=0.05,
        ar=0.9,
    )
    return pop, rates, spec


def _stochastic_child(kind: str, n_zones: int, n_draws: int) -> None:
    """One stochastic run in this (fresh) process; prints wall, CPU and peak RSS as JSON."""
    pop, rates, spec = stochastic_setup(n_zones, n_draws)
    inp = engine_input(pop, rates, HORIZON, 2024)
    engine._USE_KERNEL = kind != "numpy"
    dtype = np.float32 if kind == "float32" else np.float64
    __import__("wandel.demography.engine._draws")  # load the compiled kernel before the clock
    t0 = time.perf_counter()
    c0 = time.process_time()
    levels = draw_levels(spec, HORIZON, range(n_draws))
    raw = project_arrays(inp, levels, n_draws=n_draws, age_breaks=BREAKS_OUT, dtype=dtype)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    size = sum(getattr(raw, f).nbytes for f in ("population", "births", "deaths"))
    print(json.dumps({"wall": wall, "cpu": cpu, "rss": peak_rss_gb(), "gb": size / 1e9}))


def _stochastic_runs(kind: str, n_zones: int, n_draws: int, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"wall": [], "cpu": [], "rss": [], "gb": []}
    cmd = [sys.executable, __file__, "--child", kind, str(n_zones), str(n_draws)]
    for _ in range(runs):
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        row = json.loads(res.stdout.strip().splitlines()[-1])
        for key in out:
            out[key].append(row[key])
    return out


def bench_stochastic(n_zones: int, n_draws: int, runs: int) -> None:
    print(
        f"[2] stochastic {n_draws} draws x {n_zones} zones x {HORIZON} years, all four levels,"
        f" {len(BREAKS_OUT)} age groups kept; every run in a fresh process (kernel loaded first)"
    )
    res = {k: _stochastic_runs(k, n_zones, n_draws, runs) for k in ("float64", "float32", "numpy")}
    base = med(res["numpy"]["wall"])
    for kind, label in (
        ("float64", "engine (draws kernel), float64"),
        ("float32", "engine (draws kernel), float32"),
        ("numpy", "peer numpy kernel, float64"),
    ):
        r = res[kind]
        print(
            f"    {label:31s} {fmt(r['wall'])}  peer ratio {base / med(r['wall']):5.2f}x"
            f"  (target <= 10 s)"
        )
        print(f"    {'':31s} CPU {fmt(r['cpu'])}; peak RSS {fmt(r['rss'], 'GB')} (target <= 4 GB)")


def bench_dask(n_zones: int, n_draws: int, runs: int) -> None:
    from distributed import Client, LocalCluster

    pop, rates, spec = stochastic_setup(n_zones, n_draws)
    chunk = max(1, n_draws // 8)
    kw = {"base_year": 2024, "horizon": HORIZON, "spec": spec, "chunk_size": chunk}
    # the cluster start (processes, imports, the compiled kernel loaded from numba's cache) is timed
    # apart: a user with a running cluster does not pay it; one who starts one per call does
    t0, c0 = time.perf_counter(), time.process_time()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
        client.run(lambda: __import__("wandel.demography.engine._draws"))
        t_start = time.perf_counter() - t0
        c_start = time.process_time() - c0 + float(sum(client.run(time.process_time).values()))
        t_local: list[float] = []
        t_dask: list[float] = []
        t_net: list[float] = []
        c_local: list[float] = []
        c_dask: list[float] = []  # CPU of this process and of both workers
        c_net: list[float] = []

        def workers_cpu() -> float:
            return float(sum(client.run(time.process_time).values()))

        def timed_dask(shared: bool) -> tuple[float, float, Any]:
            gc.collect()
            w0 = workers_cpu()
            t0, c0 = time.perf_counter(), time.process_time()
            mapper = dask_map(client, shared_memory=shared)
            res = project_draws(pop, rates, mapper=mapper, age_breaks=BREAKS_OUT, **kw)
            wall = time.perf_counter() - t0
            return wall, time.process_time() - c0 + workers_cpu() - w0, res

        same = True
        for k in range(runs):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            local = project_draws(pop, rates, mapper=builtin_map, age_breaks=BREAKS_OUT, **kw)
            t_local.append(time.perf_counter() - t0)
            c_local.append(time.process_time() - c0)
            if k > 0:
                del local
            for shared, ts, cs in ((True, t_dask, c_dask), (False, t_net, c_net)):
                wall, cpu, dist = timed_dask(shared)
                ts.append(wall)
                cs.append(cpu)
                if k == 0:
                    same = same and all(
                        np.array_equal(getattr(local, n).values, getattr(dist, n).values)
                        for n in ("population", "births", "deaths", "in_migration", "out_migration")
                    )
                del dist
            if k == 0:
                del local

    def over(ts: list[float]) -> str:
        per = [d / x - 1 for d, x in zip(ts, t_local, strict=True)]
        return (
            f"{100 * (med(ts) / med(t_local) - 1):+.0f} % (median over median; per run"
            f" {min(per):+.0%} to {max(per):+.0%})"
        )

    print(
        f"[3] dask LocalCluster on loopback, 2 worker processes x 1 thread, {n_draws} draws x"
        f" {n_zones} zones in chunks of {chunk}; the cluster started and warmed before the clock"
    )
    print(f"    in process (builtin map):       {fmt(t_local)}; CPU {fmt(c_local)}")
    print(
        f"    dask (shared memory, default):  {fmt(t_dask)}; CPU {fmt(c_dask)} (client + workers)"
    )
    print(f"    dask (network, shared_memory=False): {fmt(t_net)}; CPU {fmt(c_net)}")
    print(
        f"    overhead, running cluster: {over(t_dask)}; CPU"
        f" {100 * (med(c_dask) / med(c_local) - 1):+.0f} %; target < 30 %;"
        f" identical bit for bit: {same}"
    )
    print(f"    overhead, network path:    {over(t_net)}")
    print(
        f"    cluster start (measured once): {t_start:.2f} s wall, {c_start:.2f} s CPU; with one"
        f" start per call the dask run takes {med(t_dask) + t_start:.2f} s, overhead"
        f" {100 * ((med(t_dask) + t_start) / med(t_local) - 1):+.0f} %"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--runs", type=int, default=RUNS)
    ap.add_argument("--child", nargs=3, metavar=("KIND", "ZONES", "DRAWS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _stochastic_child(args.child[0], int(args.child[1]), int(args.child[2]))
        return 0
    runs = max(1, args.runs)
    print(f"load average (1, 5, 15 min) at the start: {load()} on {os.cpu_count()} CPUs")
    det, sto, dsk = (
        (1080, (60, 100), (30, 40)) if args.quick else (10_800, (300, 1000), (300, 1000))
    )
    bench_deterministic(det, runs)
    bench_stochastic(*sto, runs)
    if not args.no_dask:
        bench_dask(*dsk, runs)
    print(f"load average (1, 5, 15 min) at the end:   {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

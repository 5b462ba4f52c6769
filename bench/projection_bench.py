"""Benchmark of the projection engine (not a test). Run: .venv/bin/python bench/projection_bench.py

1. Deterministic: 10,800 zones x 2 sexes x 101 ages x 30 years on the compiled kernel (numba, 2
   threads and 1 thread) and, as a peer, on the numpy kernel; inputs built from real structures
   (the Kreis single-age table 2020 graduated to 0..100+, scaled to random Gemeinde totals; survival
   from the Destatis life table 2022/24; fertility from the German age-specific rates 2023). Prints
   the time, the memory-traffic bound from a measured copy bandwidth and the ratio to it, and the
   ratio against the loop-based oracle (timed on a subset of zones and scaled).
2. Stochastic: 1,000 draws x 300 zones x 30 years: time and peak RSS.
3. A dask.distributed LocalCluster with 2 worker processes computes the draws of (2) in chunks:
   identical results, and its overhead.

Options: --quick (smaller problems), --no-dask.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

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


def best_of(fn, n: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(n):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def bench_deterministic(n_zones: int) -> None:
    pop, rates = build_inputs(n_zones)
    inp = engine_input(pop, rates, HORIZON, 2024)
    project_arrays(inp, validate=False)  # load (or compile) the numba kernel once
    t = best_of(lambda: project_arrays(inp, validate=False))
    t_val = best_of(lambda: project_arrays(inp), n=1)
    t1 = best_of(lambda: project_arrays(inp, validate=False, threads=1))
    # the numpy kernel (the fallback for cases the compiled kernel does not cover), same problem
    engine._USE_KERNEL = False
    try:
        t_np = best_of(lambda: project_arrays(inp, validate=False))
    finally:
        engine._USE_KERNEL = True
    # memory traffic that must happen: write the result (31 x Z x 2 x 101), read the base population
    # and every rate once (sx, out_rate, in_count: Z x 2 x 101; asfr Z x 35)
    elems = (HORIZON + 1) * n_zones * 2 * A + n_zones * 2 * A * 4 + n_zones * 35
    bw = copy_bandwidth_gbs()
    bound = elems * 8 / (bw * 1e9)
    # a fresh result array has to be faulted in (zeroed by the kernel) and written once
    t_fresh = best_of(lambda: np.empty((HORIZON + 1, 1, n_zones, 2, A)).fill(1.0))
    # the loop oracle on a subset, scaled
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
    t0 = time.perf_counter()
    ref = project_reference(small)
    t_ref = (time.perf_counter() - t0) * n_zones / sub
    fast_small = project_arrays(small)
    agree = float(np.abs(ref.population - fast_small.population).max())
    print(f"[1] deterministic {n_zones} zones x 2 x {A} ages x {HORIZON} years")
    print(
        f"    engine:            {t:8.3f} s   (with input validation {t_val:.3f} s; target <= 0.25 s;"
        f" compiled kernel, fresh result array every run)"
    )
    print(f"    engine, 1 thread:  {t1:8.3f} s")
    print(f"    numpy kernel:      {t_np:8.3f} s   ratio {t_np / t:5.2f}x (the fallback path)")
    print(f"    copy bandwidth:    {bw:8.1f} GB/s (read + write)")
    print(
        f"    traffic bound:     {bound:8.3f} s   ({elems * 8 / 1e6:.0f} MB)   ratio {t / bound:5.2f}x (target <= 5x)"
    )
    print(
        f"    fresh output:      {t_fresh:8.3f} s   (allocate and fill the result once)   ratio {t / t_fresh:5.2f}x"
    )
    print(
        f"    numpy kernel:      ratio {t_np / bound:5.2f}x to the traffic bound, {t_np / t_fresh:5.2f}x to fresh output"
    )
    print(
        f"    loop oracle:       {t_ref:8.1f} s   (timed on {sub} zones, scaled)   ratio {t_ref / t:8.0f}x"
    )
    print(f"    oracle max abs difference on the subset: {agree:.2e}")


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


def bench_stochastic(n_zones: int, n_draws: int) -> None:
    pop, rates, spec = stochastic_setup(n_zones, n_draws)
    inp = engine_input(pop, rates, HORIZON, 2024)
    rss0 = peak_rss_gb()
    t0 = time.perf_counter()
    c0 = time.process_time()
    levels = draw_levels(spec, HORIZON, range(n_draws))
    raw = project_arrays(inp, levels, n_draws=n_draws, age_breaks=BREAKS_OUT)
    t = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(
        f"[2] stochastic {n_draws} draws x {n_zones} zones x {HORIZON} years, {len(BREAKS_OUT)} age groups kept"
    )
    print(
        f"    engine:            {t:8.3f} s   (target <= 10 s; CPU time of all threads {cpu:.1f} s); result {raw.population.nbytes / 1e9:.2f} GB"
    )
    print(
        f"    peak RSS:          {peak_rss_gb():8.2f} GB  (before: {rss0:.2f} GB; target <= 4 GB)"
    )
    del raw
    gc.collect()


def bench_dask(n_zones: int, n_draws: int) -> None:
    from distributed import Client, LocalCluster

    pop, rates, spec = stochastic_setup(n_zones, n_draws)
    chunk = max(1, n_draws // 8)
    t0 = time.perf_counter()
    local = project_draws(
        pop,
        rates,
        base_year=2024,
        horizon=HORIZON,
        spec=spec,
        chunk_size=chunk,
        mapper=builtin_map,
        age_breaks=BREAKS_OUT,
    )
    t_local = time.perf_counter() - t0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
        # workers import the engine once before the clock starts (a cluster is set up once)
        client.run(lambda: __import__("wandel.demography.engine"))
        t0 = time.perf_counter()
        dist = project_draws(
            pop,
            rates,
            base_year=2024,
            horizon=HORIZON,
            spec=spec,
            chunk_size=chunk,
            mapper=dask_map(client),
            age_breaks=BREAKS_OUT,
        )
        t_dask = time.perf_counter() - t0
    same = all(
        np.array_equal(getattr(local, k).values, getattr(dist, k).values)
        for k in ("population", "births", "deaths", "in_migration", "out_migration")
    )
    print(
        f"[3] dask LocalCluster, 2 worker processes, {n_draws} draws x {n_zones} zones in chunks of {chunk}"
    )
    print(f"    in-process (chunked, builtin map): {t_local:6.2f} s")
    print(f"    dask:                              {t_dask:6.2f} s   overhead {t_dask - t_local:+.2f} s "
          f"({t_dask / t_local:.2f}x)")  # fmt: skip
    print(f"    identical bit for bit: {same}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    if args.quick:
        bench_deterministic(1080)
        bench_stochastic(60, 100)
        if not args.no_dask:
            bench_dask(30, 40)
        return 0
    bench_deterministic(10_800)
    bench_stochastic(300, 1000)
    if not args.no_dask:
        bench_dask(300, 200)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of wandel.services (not a test). Run: .venv/bin/python bench/services_bench.py

1. Wandel: demand of every service (Krippe, Kita, Grundschule, Sekundarstufe I, Pflege, Hausärzte,
   Feuerwehr, Haushalte, Erwerbspersonen; the fire brigade with bench parameters, see PARAMS) for
   every Gemeinde of Sachsen, Sachsen-Anhalt and Thüringen in the demo store (about 1,270), 30
   years, 1,000 draws, streamed over chunks of zones and draws: wall time and peak memory (RSS) of
   each run in a fresh process; median and range over the runs (goal <= 30 s, <= 4 GB). The engine
   alone on the same zones and draws is timed beside it, so the services' own share shows.
2. Naive peer on a subset of zones: the engine runs all draws at once, the whole population cube
   becomes one long pandas table (zone, year, sex, age group, draw), merged with the rates of the
   linear services (places, pupils, Pflege by type, households, labour force) and reduced with
   ``groupby(...).sum()`` and ``groupby(...).quantile()``. Wandel's streamed demand on the same
   zones computes those and more; both times (each from opening the store to the quantiles) and the
   ratio are printed, with the peak memory. The peer's long table has 2.8 M rows per Gemeinde at
   1,000 draws: 40 Gemeinden do not fit into 23 GB (killed), so the subset is small.

3. Peers for all German Gemeinden beside scikit-learn's ``NearestNeighbors`` on the same matrix:
   ``bench/peers_bench.py`` run from here (its own median, range, ratio and agreement; skip with
   ``--no-peers``).

Options: --runs N (default 5), --full-runs N (the 1,000-draw runs of part 1; default --runs: each
takes minutes on a shared machine, so fewer may be asked for, and the output says how many),
--draws, --years, --subset (zones for the peer), --quick, --no-peers.
The load average is printed before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PARAMS = (
    # the bench sets the fire-brigade figures no source gives (the CLI would refuse without them)
    "feuerwehr.min_age=16",
    "feuerwehr.max_age=67",
    "feuerwehr.crew=9",
    "feuerwehr.time_min=12",
    "feuerwehr.weekday_share=0.3",
    "feuerwehr.members_per_resident=0.02",
    "grundschule.max_class=28",
    "sekundarstufe1.max_class=28",
    "sekundarstufe1.min_first_class@15=20",
)


def build_store(folder: Path) -> Path:
    from wandel.store import Store
    from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store

    db = folder / "demo.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    return db


def wandel_run(db: Path, zones: tuple[str, ...], years: int, draws: int) -> dict[str, float]:
    from wandel.workflow.services import ServicesRequest, services_from_store

    req = ServicesRequest(
        zones=zones, base_year=2019, until=2019 + years, draws=draws, seed=1, params=PARAMS
    )
    t0, c0 = time.perf_counter(), _cpu_s()
    run = services_from_store(db, req)
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "cpu_s": _cpu_s() - c0,
        "rows": float(len(run.figures)),
        "rss_gb": _rss_gb(),
    }


def _setup(db: Path, zones: tuple[str, ...], years: int, draws: int) -> tuple[Any, ...]:
    """Projection inputs, catalogue, grid (with the services' age groups) and draw groups."""
    from wandel.demography.model import select_zones
    from wandel.services import Grid, required_breaks, shipped_catalogue
    from wandel.store import Store
    from wandel.workflow.projection import build_inputs, load_tables, size_class
    from wandel.workflow.services import _groups

    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
    zs = select_zones(tables, list(zones), "gemeinde", 2019).zones
    inputs = build_inputs(tables, zs, 2019)
    cat = shipped_catalogue()
    g0 = Grid(tuple(inputs.zones), tuple(range(2019, 2020 + years)), (0,))
    grid = Grid(g0.zones, g0.years, required_breaks(cat, list(cat.services), g0))
    pop = inputs.base.population
    classes = {
        z: size_class(float(v))
        for z, v in zip(inputs.zones, pop.sum(("sex", "age")).values, strict=True)
    }
    return inputs, cat, grid, pop, _groups(inputs, classes, draws, 1)


def engine_run(db: Path, zones: tuple[str, ...], years: int, draws: int) -> dict[str, float]:
    """The engine alone, the same zones, groups and age groups, draws in the same chunks."""
    from wandel.services import Chunking, plan_services
    from wandel.services.catalogue import overrides_from_pairs
    from wandel.services.demand import stream_draws, zone_chunk_size

    inputs, cat, grid, pop, groups = _setup(db, zones, years, draws)
    breaks = grid.breaks
    cat = overrides_from_pairs(PARAMS, cat, 2019)
    plans = plan_services(cat, list(cat.services), grid)
    zc = zone_chunk_size(plans, len(grid.years), draws, Chunking(), len(breaks))  # as Wandel's
    t0, c0 = time.perf_counter(), _cpu_s()
    for _zones, chunks in stream_draws(
        pop,
        inputs.rates(2019 + years),
        base_year=inputs.start_year,
        horizon=years,
        groups=groups,
        breaks=breaks,
        chunking=Chunking(),
        zone_chunk=zc,
    ):
        for _d0, _arr in chunks:
            pass
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu_s() - c0, "rss_gb": _rss_gb()}


def peer_run(db: Path, zones: tuple[str, ...], years: int, draws: int) -> dict[str, float]:
    """The naive peer: the whole draw cube as one long table, merge and groupby."""
    import numpy as np
    import pandas as pd

    from wandel.demography.engine import project
    from wandel.services._grid import age_groups

    t0 = time.perf_counter()  # from the store on, as Wandel's run
    inputs, cat, grid, pop, groups = _setup(db, zones, years, draws)
    breaks = grid.breaks
    frames = []
    for g in groups:
        res = project(
            pop.sel(zone=list(g.zones)),
            inputs.rates(2019 + years).__class__(
                **{
                    k: (
                        v.sel(zone=list(g.zones))
                        if hasattr(v, "sel") and "zone" in getattr(v, "dims", ())
                        else v
                    )
                    for k, v in inputs.rates(2019 + years).__dict__.items()
                }
            ),
            base_year=inputs.start_year,
            horizon=years,
            stochastic=g.spec,
            age_breaks=list(breaks),
        )
        frames.append(res.population.to_dataframe(name="value").reset_index())
    long = pd.concat(frames, ignore_index=True)  # zone, year, sex, age_start, draw, value
    # weights of the linear services per (zone, year, sex, age group), as a long table
    rows = []
    for name, param in (("krippe", "quota"), ("kita", "quota")):
        q, _ = grid.scalar(cat, name, param)
        a, b = cat.service(name).ages  # type: ignore[misc]
        for g0, g1 in age_groups(breaks):
            if g0 >= a and g1 <= b:
                for s in ("m", "f"):
                    rows.append(
                        pd.DataFrame(
                            {
                                "zone": np.repeat(grid.zones, len(grid.years)),
                                "year": np.tile(grid.years, len(grid.zones)),
                                "sex": s,
                                "age_start": g0,
                                "measure": f"{name}_places",
                                "w": q.T.ravel(),
                            }
                        )
                    )
    rates, _ = grid.by_age(cat, "pflege", "care_rate")
    size, _ = grid.scalar(cat, "haushalte", "household_size")
    part, _ = grid.by_age(cat, "erwerbspersonen", "participation")
    for gi, (g0, _g1) in enumerate(age_groups(breaks)):
        for si, s in enumerate(("m", "f")):
            base = {
                "zone": np.repeat(grid.zones, len(grid.years)),
                "year": np.tile(grid.years, len(grid.zones)),
                "sex": s,
                "age_start": g0,
            }
            rows.append(
                pd.DataFrame({**base, "measure": "pflege", "w": rates[:, :, si, gi].T.ravel()})
            )
            rows.append(
                pd.DataFrame({**base, "measure": "households", "w": (1.0 / size).T.ravel()})
            )
            rows.append(
                pd.DataFrame({**base, "measure": "labour_force", "w": part[:, :, si, gi].T.ravel()})
            )
            if 6 <= g0 < 10:
                rows.append(pd.DataFrame({**base, "measure": "pupils", "w": 1.0}))
    w = pd.concat(rows, ignore_index=True)
    m = long.merge(w, on=["zone", "year", "sex", "age_start"])
    m["v"] = m["value"] * m["w"]
    per_draw = m.groupby(["zone", "year", "measure", "draw"])["v"].sum()
    q = per_draw.groupby(["zone", "year", "measure"]).quantile([0.025, 0.1, 0.5, 0.9, 0.975])
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "rows": float(len(q)),
        "long_rows": float(len(long)),
        "rss_gb": _rss_gb(),
    }


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def _cpu_s() -> float:
    """CPU seconds of this process so far (all threads): on a shared machine steadier than the
    wall time, which waits for the other users."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def in_fresh_process(
    kind: str, db: Path, zones: tuple[str, ...], years: int, draws: int
) -> dict[str, float]:
    here, fn = str(Path(__file__).parent), f"{kind}_run"
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import services_bench as b; "
        "from pathlib import Path; "
        f"print(json.dumps(getattr(b, {fn!r})(Path({str(db)!r}), tuple({list(zones)!r}), {years}, {draws})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}, range {min(values):.2f}-{max(values):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument(
        "--subset",
        type=int,
        default=5,
        help="zones for the naive peer (its long table: 2.8 M rows per zone at 1,000 draws)",
    )
    ap.add_argument("--quick", action="store_true", help="100 draws, 2 runs")
    ap.add_argument("--skip-full", action="store_true", help="only the subset beside the peer")
    ap.add_argument("--full-runs", type=int, default=0, help="runs of part 1 (default: --runs)")
    ap.add_argument("--no-peers", action="store_true", help="skip part 3 (bench/peers_bench.py)")
    a = ap.parse_args()
    if a.quick:
        a.draws, a.runs = 100, 2
    a.full_runs = a.full_runs or a.runs
    print(f"load average before: {os.getloadavg()}, CPUs: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        db = build_store(Path(tmp))
        from wandel.store import Store

        with Store.open(db, read_only=True) as s:
            g = s.population(level="gemeinde", years=[2019], include_estimated=False)
        every = tuple(sorted(g["zone"].astype(str).unique()))
        laender = ("14", "15", "16")
        print(f"Gemeinden: {len(every)}, years {a.years}, draws {a.draws}, runs {a.runs}")
        if not a.skip_full:
            full(db, laender, a)
        peer(db, every[: a.subset], a)
    if not a.no_peers:
        print("peers for all German Gemeinden (bench/peers_bench.py):", flush=True)
        here = Path(__file__).parent / "peers_bench.py"
        subprocess.run([sys.executable, str(here), "--runs", str(max(5, a.runs))], check=True)
    print(f"load average after: {os.getloadavg()}")


def full(db: Path, laender: tuple[str, ...], a: argparse.Namespace) -> None:
    """Every Gemeinde of the three Länder: Wandel's streamed demand and the engine alone."""
    w = [in_fresh_process("wandel", db, laender, a.years, a.draws) for _ in range(a.full_runs)]
    print(
        f"Wandel, all services, streamed ({a.full_runs} runs, each in a fresh process): "
        f"wall s {summary([r['wall_s'] for r in w])}; CPU s {summary([r['cpu_s'] for r in w])}; "
        f"peak RSS GB {summary([r['rss_gb'] for r in w])}; {int(w[0]['rows']):,} result rows"
    )
    e = [
        in_fresh_process("engine", db, laender, a.years, a.draws)
        for _ in range(max(1, a.full_runs // 2))
    ]
    print(
        f"  the engine alone (same zones, draws, chunks; {len(e)} runs): "
        f"wall s {summary([r['wall_s'] for r in e])}; CPU s {summary([r['cpu_s'] for r in e])}; "
        f"services' own share {statistics.median([r['wall_s'] for r in w]) - statistics.median([r['wall_s'] for r in e]):.1f} s"
    )


def peer(db: Path, sub: tuple[str, ...], a: argparse.Namespace) -> None:
    """A subset of Gemeinden: Wandel beside the naive long-table peer."""
    ws = [in_fresh_process("wandel", db, sub, a.years, a.draws) for _ in range(a.runs)]
    ps = [in_fresh_process("peer", db, sub, a.years, a.draws) for _ in range(a.runs)]
    tw, tp = (
        statistics.median([r["wall_s"] for r in ws]),
        statistics.median([r["wall_s"] for r in ps]),
    )
    print(
        f"subset of {len(sub)} Gemeinden: Wandel (all services) wall s {summary([r['wall_s'] for r in ws])}, "
        f"peak RSS GB {summary([r['rss_gb'] for r in ws])}"
    )
    print(
        f"  naive peer (long table + groupby, linear services only, {int(ps[0]['long_rows']):,} rows): "
        f"wall s {summary([r['wall_s'] for r in ps])}, peak RSS GB {summary([r['rss_gb'] for r in ps])}"
    )
    print(
        f"  ratio peer / Wandel: {tp / tw:.1f}x time, "
        f"{statistics.median([r['rss_gb'] for r in ps]) / statistics.median([r['rss_gb'] for r in ws]):.1f}x memory"
    )


if __name__ == "__main__":
    main()

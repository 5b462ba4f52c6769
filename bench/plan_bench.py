"""Benchmark: Wandel's location models against spopt (PuLP + HiGHS), side by side.

2,000 demand points x 100 candidate sites in a rural district of 60 km x 40 km (UTM metres): demand
clustered around twelve towns and villages plus scattered farms, weights from a log-normal
distribution (a few large places, many small ones); travel cost in minutes = straight-line distance x
1.3 detour / 60 km/h. p = 10; covering threshold 15 minutes.

Targets (issue 4): p-median optimum proven in <= 10 s including the build; MCLP optimum in <= 0.5 s;
heuristic within 0.5 % of the optimum in < 0.1 s.

The peer, pysal/spopt, is imported from a separate location (never the project's .venv)::

    pip install --target /tmp/spopt_site spopt pulp
    .venv/bin/python bench/plan_bench.py [--spopt-site /tmp/spopt_site] [--spopt-time-limit 120]

If spopt cannot be imported, the bench says so and runs Wandel alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from wandel.planning import (
    GreedyInterchangeSolver,
    HighsSolver,
    PlanResult,
    mclp_from_cost_matrix,
    p_median_from_cost_matrix,
)

N_DEMAND, N_CAND, P, THRESHOLD_MIN = 2000, 100, 10, 15.0
DETOUR, SPEED_KPH = 1.3, 60.0


def region(seed: int = 20240) -> tuple[np.ndarray, np.ndarray]:
    """Cost matrix (minutes) and demand weights of the synthetic district."""
    rng = np.random.default_rng(seed)
    size = np.array([60_000.0, 40_000.0])
    towns = rng.uniform(0.1, 0.9, (12, 2)) * size
    spread = rng.uniform(800, 3000, 12)
    which = rng.integers(0, 12, N_DEMAND)
    pts = towns[which] + rng.normal(0, 1, (N_DEMAND, 2)) * spread[which, None]
    farms = rng.random(N_DEMAND) < 0.25
    pts[farms] = rng.uniform(0, 1, (int(farms.sum()), 2)) * size
    pts = np.clip(pts, 0, size)
    cands = np.vstack(
        (
            towns[rng.integers(0, 12, 60)] + rng.normal(0, 1500, (60, 2)),
            rng.uniform(0, 1, (N_CAND - 60, 2)) * size,
        )
    )
    dist_m = np.hypot(*(pts[:, None, :] - cands[None, :, :]).transpose(2, 0, 1))
    cost_min = dist_m / 1000 * DETOUR / SPEED_KPH * 60
    weights = np.round(rng.lognormal(3.0, 1.2, N_DEMAND)) + 1
    return cost_min, weights


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def spopt_run(kind: str, cost: np.ndarray, w: np.ndarray, limit: float) -> dict[str, Any]:
    import pulp
    from spopt.locate import MCLP, PMedian

    t0 = time.perf_counter()
    if kind == "p_median":
        model = PMedian.from_cost_matrix(cost, w, p_facilities=P)
    else:
        model = MCLP.from_cost_matrix(cost, w, service_radius=THRESHOLD_MIN, p_facilities=P)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.solve(pulp.HiGHS(msg=False, timeLimit=limit))
    solve = time.perf_counter() - t0
    chosen = np.array([bool(v.value() and v.value() > 0.5) for v in model.fac_vars])
    return {
        "build": build,
        "solve": solve,
        "status": pulp.LpStatus[model.problem.status],
        "chosen": chosen,
        "hit_limit": solve >= limit * 0.98,
    }


def objective(kind: str, cost: np.ndarray, w: np.ndarray, chosen: np.ndarray) -> float:
    if kind == "p_median":
        return float((w * cost[:, chosen].min(axis=1)).sum())
    return float(w[(cost[:, chosen] <= THRESHOLD_MIN).any(axis=1)].sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--spopt-site", default="/tmp/spopt_site")
    ap.add_argument("--spopt-time-limit", type=float, default=120.0)
    ap.add_argument("--no-spopt", action="store_true")
    args = ap.parse_args()

    cost, w = region()
    print(f"{N_DEMAND} demand x {N_CAND} candidates, p={P}, MCLP threshold {THRESHOLD_MIN} min")
    have_spopt = False
    if not args.no_spopt:
        sys.path.append(args.spopt_site)  # after .venv: the project's numpy/pandas win
        try:
            import spopt.locate  # noqa: F401

            have_spopt = True
        except Exception as exc:  # peer missing or broken: report and go on
            print(f"spopt not available ({exc!r}); Wandel only")

    exact, heur = HighsSolver(), GreedyInterchangeSolver()
    rows = []
    for kind in ("p_median", "mclp"):

        def build(kind: str = kind) -> Any:
            if kind == "p_median":
                return p_median_from_cost_matrix(cost, w, P)
            return mclp_from_cost_matrix(cost, w, P, THRESHOLD_MIN)

        t_exact, r_exact = timed(lambda b=build: exact.solve(b()))
        t_heur, r_heur = timed(lambda b=build: heur.solve(b()), repeat=5)
        assert isinstance(r_exact, PlanResult)
        assert isinstance(r_heur, PlanResult)
        opt = r_exact.objective
        rows.append((kind, "wandel exact (build+solve)", t_exact, opt, r_exact.gap, r_exact.status))
        rel = (r_heur.objective - opt) / opt
        rows.append(
            (kind, "wandel heuristic", t_heur, r_heur.objective, None, f"{rel:+.4%} vs opt")
        )
        if have_spopt:
            s = spopt_run(kind, cost, w, args.spopt_time_limit)
            obj = objective(kind, cost, w, s["chosen"])
            gap = abs(obj - opt) / opt
            status = s["status"] + (" (hit time limit)" if s["hit_limit"] else "")
            rows.append(
                (
                    kind,
                    f"spopt build {s['build']:.2f}s + solve",
                    s["build"] + s["solve"],
                    obj,
                    gap,
                    status,
                )
            )
            rows.append(
                (
                    kind,
                    "ratio spopt / wandel exact",
                    (s["build"] + s["solve"]) / t_exact,
                    None,
                    None,
                    "",
                )
            )
    print(f"{'model':9} {'tool':34} {'seconds':>9} {'objective':>14} {'gap':>10}  status")
    for kind, tool, secs, obj, gap, status in rows:
        o = "" if obj is None else f"{obj:14.3f}"
        g = "" if gap is None else f"{gap:10.2e}"
        unit = "x" if tool.startswith("ratio") else "s"
        print(f"{kind:9} {tool:34} {secs:8.3f}{unit} {o:>14} {g:>10}  {status}")
    print("gap: wandel = proven MIP gap; spopt = distance of its plan from Wandel's proven optimum")


if __name__ == "__main__":
    main()

"""Location models: exhaustive enumeration as the oracle, metamorphic tests, invariants, errors."""

from __future__ import annotations

import itertools
import time

import geopandas as gpd
import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.optimize import linprog
from shapely.geometry import Point

from wandel.errors import WandelError
from wandel.planning import (
    GreedyInterchangeSolver,
    HighsSolver,
    InfeasibleModelError,
    LocationModel,
    ModelInputError,
    PlanResult,
    UnsupportedModelError,
    cost_matrix_from_geodataframe,
    lscp_from_cost_matrix,
    mclp_from_cost_matrix,
    mclp_from_geodataframe,
    p_median_from_cost_matrix,
    p_median_from_geodataframe,
    solve,
    weighted_quantile,
)
from wandel.planning._highs import _formulate

EXACT = HighsSolver()
HEUR = GreedyInterchangeSolver()
Arr = NDArray[np.float64]


def _case(rng: np.random.Generator, n: int, m: int, ties: bool) -> tuple[Arr, Arr]:
    pts = rng.uniform(0, 10, (n, 2))
    sites = rng.uniform(0, 10, (m, 2))
    cost = np.hypot(*(pts[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    if ties:
        cost = np.round(cost)
    w = rng.integers(0, 20, n).astype(float)
    w[rng.integers(n)] += 1  # at least one positive
    return cost, w


def _combos(m: int, k: int, fixed: NDArray[np.bool_]) -> list[list[int]]:
    out = []
    for c in itertools.combinations(range(m), k):
        if set(np.flatnonzero(fixed)) <= set(c):
            out.append(list(c))
    return out


def _enum_p_median(
    cost: Arr, w: Arr, p: int, fixed: NDArray[np.bool_], max_cost: float | None
) -> float:
    c = cost if max_cost is None else np.where(cost <= max_cost, cost, np.inf)
    best = np.inf
    for s in _combos(cost.shape[1], p, fixed):
        d = c[:, s].min(axis=1)[w > 0]
        best = min(best, float((w[w > 0] * d).sum()))
    return best


def _enum_mclp(cost: Arr, w: Arr, p: int, fixed: NDArray[np.bool_], t: float) -> float:
    cover = cost <= t
    return max(float(w[cover[:, s].any(axis=1)].sum()) for s in _combos(cost.shape[1], p, fixed))


def _enum_lscp(cost: Arr, w: Arr, fixed: NDArray[np.bool_], t: float) -> int:
    cover = (cost <= t)[w > 0]
    for k in range(int(fixed.sum()), cost.shape[1] + 1):
        if any(cover[:, s].any(axis=1).all() for s in _combos(cost.shape[1], k, fixed)):
            return k
    raise AssertionError("no cover")


def _transport(
    cost: Arr, w: Arr, cap: Arr, sites: list[int], objective: str, t: float
) -> float | None:
    """Optimal split assignment of all demand to ``sites`` within capacities (scipy LP), or None."""
    n = cost.shape[0]
    k = len(sites)
    c = cost[:, sites]
    allowed = np.isfinite(c)
    if objective == "lscp":
        allowed &= c <= t
    lp_cost = (w[:, None] * np.where(np.isfinite(c), c, 0.0)).ravel()
    if objective == "mclp":
        lp_cost = -(w[:, None] * (c <= t)).ravel()
    if objective == "lscp":
        lp_cost = np.zeros(n * k)
    a_eq = np.kron(np.eye(n), np.ones(k))
    a_ub = np.kron(w[None, :], np.eye(k)).reshape(k, n * k)
    a_ub = np.zeros((k, n * k))
    for i in range(n):
        for j in range(k):
            a_ub[j, i * k + j] = w[i]
    bounds = [(0, 1 if allowed[i, j] else 0) for i in range(n) for j in range(k)]
    keep = w > 0
    res = linprog(
        lp_cost,
        A_ub=a_ub,
        b_ub=cap[sites],
        A_eq=a_eq[keep],
        b_eq=np.ones(int(keep.sum())),
        bounds=bounds,
        method="highs",
    )
    return float(res.fun) if res.status == 0 else None


def _fixed_mask(rng: np.random.Generator, m: int, p: int) -> NDArray[np.bool_]:
    fixed = np.zeros(m, dtype=bool)
    nf = int(rng.integers(0, min(p, 2) + 1))
    fixed[rng.choice(m, nf, replace=False)] = True
    return fixed


def _check_result(model: LocationModel, r: PlanResult) -> None:
    """Invariants on every result."""
    a = r.assignment
    assert set(a["facility_id"].dropna()) <= set(r.sites)
    assert set(np.asarray(model.candidate_ids)[model.fixed].tolist()) <= set(r.sites)
    shares = a.groupby("demand_id")["share"].sum()
    np.testing.assert_allclose(shares.to_numpy(), 1.0, atol=1e-6)
    if model.capacity is not None:
        load = (a["demand"] * a["share"]).groupby(a["facility_id"]).sum()
        cap = dict(zip(model.candidate_ids.tolist(), model.capacity.tolist(), strict=True))
        for fac, used in load.items():
            assert used <= cap[fac] * (1 + 1e-6) + 1e-6
    if model.kind == "p_median":
        wc = (a["demand"] * a["share"] * a["cost"]).sum()
        assert r.objective == pytest.approx(wc, rel=1e-9, abs=1e-9)
        assert r.mean_cost == pytest.approx(r.objective / r.total_demand, rel=1e-9)
    if model.p is not None:
        assert r.n_sites == model.p


# ---------------------------------------------------------------- oracle: exhaustive enumeration


@pytest.mark.parametrize("ties", [False, True])
def test_p_median_equals_enumeration(ties: bool) -> None:
    rng = np.random.default_rng(1 + ties)
    for _ in range(25):
        n, m = int(rng.integers(2, 9)), int(rng.integers(2, 7))
        p = int(rng.integers(1, m + 1))
        cost, w = _case(rng, n, m, ties)
        if rng.random() < 0.3:
            cost[rng.integers(n), rng.integers(m)] = np.inf
        fixed = _fixed_mask(rng, m, p)
        expected = _enum_p_median(cost, w, p, fixed, None)
        if not np.isfinite(expected):
            continue
        model = p_median_from_cost_matrix(cost, w, p, fixed=np.flatnonzero(fixed).tolist())
        r = EXACT.solve(model)
        assert r.objective == pytest.approx(expected, rel=1e-7, abs=1e-7)
        assert r.gap is not None
        assert r.gap <= 1e-6
        _check_result(model, r)


def test_radius_formulation_alone_equals_enumeration() -> None:
    """The MIP itself (without the heuristic and Lagrangian shortcut) finds the optimum."""
    rng = np.random.default_rng(7)
    for _ in range(25):
        n, m = int(rng.integers(2, 9)), int(rng.integers(2, 7))
        p = int(rng.integers(1, m + 1))
        cost, w = _case(rng, n, m, ties=bool(rng.integers(2)))
        fixed = _fixed_mask(rng, m, p)
        max_cost = None if rng.random() < 0.5 else float(np.quantile(cost, 0.6))
        expected = _enum_p_median(cost, w, p, fixed, max_cost)
        model = LocationModel(
            kind="p_median",
            cost=cost,
            demand=w,
            demand_ids=np.arange(n),
            candidate_ids=np.arange(m),
            p=p,
            threshold=None,
            max_cost=max_cost,
            capacity=None,
            fixed=fixed,
            existing=fixed,
        )
        if not np.isfinite(expected) or not model.allowed[w > 0].any(axis=1).all():
            continue
        solved = EXACT._run(_formulate(model), time.perf_counter())
        if solved.status == "infeasible":
            assert not np.isfinite(expected)
            continue
        assert solved.objective == pytest.approx(expected, rel=1e-7, abs=1e-7)


def test_p_median_with_max_cost_equals_enumeration() -> None:
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(40):
        n, m = int(rng.integers(2, 9)), int(rng.integers(2, 7))
        p = int(rng.integers(1, m + 1))
        cost, w = _case(rng, n, m, ties=False)
        max_cost = float(np.quantile(cost.min(axis=1), 1.0)) * 1.2
        expected = _enum_p_median(cost, w, p, np.zeros(m, bool), max_cost)
        model = p_median_from_cost_matrix(cost, w, p, max_cost=max_cost)
        if not np.isfinite(expected):
            with pytest.raises(InfeasibleModelError, match="at least"):
                EXACT.solve(model)
            continue
        r = EXACT.solve(model)
        assert r.objective == pytest.approx(expected, rel=1e-7, abs=1e-7)
        assert (r.assignment["cost"] <= max_cost).all()
        checked += 1
    assert checked >= 10


def test_mclp_equals_enumeration() -> None:
    rng = np.random.default_rng(11)
    for _ in range(30):
        n, m = int(rng.integers(2, 10)), int(rng.integers(2, 7))
        p = int(rng.integers(1, m + 1))
        cost, w = _case(rng, n, m, ties=bool(rng.integers(2)))
        t = float(rng.uniform(1, 6))
        fixed = _fixed_mask(rng, m, p)
        model = mclp_from_cost_matrix(cost, w, p, t, fixed=np.flatnonzero(fixed).tolist())
        r = EXACT.solve(model)
        assert r.objective == pytest.approx(_enum_mclp(cost, w, p, fixed, t), abs=1e-7)
        assert r.total_demand - r.demand_beyond == pytest.approx(r.objective, abs=1e-7)
        _check_result(model, r)


def test_lscp_equals_enumeration() -> None:
    rng = np.random.default_rng(12)
    for _ in range(30):
        n, m = int(rng.integers(2, 10)), int(rng.integers(2, 7))
        cost, w = _case(rng, n, m, ties=bool(rng.integers(2)))
        t = float(np.max(cost.min(axis=1))) + float(rng.uniform(0, 3))
        fixed = _fixed_mask(rng, m, 2)
        model = lscp_from_cost_matrix(cost, t, w, fixed=np.flatnonzero(fixed).tolist())
        r = EXACT.solve(model)
        assert r.objective == _enum_lscp(cost, w, fixed, t)
        assert r.n_sites == r.objective
        assert r.demand_beyond == 0  # every point is covered (nearest open site within t)
        _check_result(model, r)


@pytest.mark.parametrize("kind", ["p_median", "mclp", "lscp"])
def test_capacitated_equals_enumeration(kind: str) -> None:
    rng = np.random.default_rng({"p_median": 21, "mclp": 22, "lscp": 23}[kind])
    checked = 0
    for _ in range(20):
        n, m = int(rng.integers(2, 7)), int(rng.integers(2, 6))
        cost, w = _case(rng, n, m, ties=False)
        cap = rng.uniform(0.3, 1.0, m) * w.sum()
        p = int(rng.integers(1, m + 1))
        t = float(np.max(cost.min(axis=1))) + 2.0
        if kind == "lscp":
            sizes: list[int] = list(range(1, m + 1))
        else:
            sizes = [p]
        best: float | None = None
        for k in sizes:
            for s in _combos(m, k, np.zeros(m, bool)):
                v = _transport(cost, w, cap, s, kind, t)
                if v is not None and (best is None or v < best - 1e-9):
                    best = v
            if kind == "lscp" and best is not None:
                best = float(k)
                break
        ids = [f"s{j}" for j in range(m)]
        try:
            if kind == "p_median":
                model = p_median_from_cost_matrix(cost, w, p, capacity=cap, candidate_ids=ids)
            elif kind == "mclp":
                model = mclp_from_cost_matrix(cost, w, p, t, capacity=cap, candidate_ids=ids)
            else:
                model = lscp_from_cost_matrix(cost, t, w, capacity=cap, candidate_ids=ids)
            r = EXACT.solve(model)
        except InfeasibleModelError:
            assert best is None
            continue
        assert best is not None
        expected = -best if kind == "mclp" else best
        assert r.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)
        _check_result(model, r)
        checked += 1
    assert checked >= 8


# ---------------------------------------------------------------- metamorphic


def test_raising_p_never_raises_the_p_median_objective() -> None:
    rng = np.random.default_rng(31)
    cost, w = _case(rng, 40, 12, ties=False)
    values = [EXACT.solve(p_median_from_cost_matrix(cost, w, p)).objective for p in range(1, 13)]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(values))
    assert values[-1] == pytest.approx(float((w * cost.min(axis=1)).sum()))


def test_adding_a_candidate_never_raises_the_p_median_objective() -> None:
    rng = np.random.default_rng(32)
    cost, w = _case(rng, 40, 12, ties=False)
    for m in range(4, 12):
        a = EXACT.solve(p_median_from_cost_matrix(cost[:, :m], w, 3)).objective
        b = EXACT.solve(p_median_from_cost_matrix(cost[:, : m + 1], w, 3)).objective
        assert b <= a + 1e-9


def test_mclp_coverage_never_falls_with_p_or_threshold() -> None:
    rng = np.random.default_rng(33)
    cost, w = _case(rng, 50, 12, ties=False)
    by_p = [EXACT.solve(mclp_from_cost_matrix(cost, w, p, 2.5)).objective for p in range(1, 13)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(by_p))
    assert by_p[-1] == pytest.approx(float(w[(cost <= 2.5).any(axis=1)].sum()))
    by_t = [EXACT.solve(mclp_from_cost_matrix(cost, w, 3, t)).objective for t in (1, 2, 3, 4, 6)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(by_t))


def test_heuristic_never_beats_exact_and_stays_close() -> None:
    rng = np.random.default_rng(41)
    ratios = []
    for _ in range(12):
        cost, w = _case(rng, 120, 25, ties=False)
        p = int(rng.integers(2, 8))
        model = p_median_from_cost_matrix(cost, w, p)
        exact, heur = EXACT.solve(model), HEUR.solve(model)
        assert heur.gap is None
        assert heur.status == "heuristic"
        assert heur.objective >= exact.objective - 1e-7
        _check_result(model, heur)
        ratios.append(heur.objective / exact.objective)
        mc = mclp_from_cost_matrix(cost, w, p, 2.0)
        assert HEUR.solve(mc).objective <= EXACT.solve(mc).objective + 1e-7
        lc = lscp_from_cost_matrix(cost, float(cost.min(axis=1).max()) + 1.0, w)
        assert HEUR.solve(lc).objective >= EXACT.solve(lc).objective
    assert max(ratios) < 1.03
    assert np.mean(ratios) < 1.01


def test_fixed_sites_are_always_chosen_even_when_bad() -> None:
    rng = np.random.default_rng(51)
    cost, w = _case(rng, 30, 8, ties=False)
    worst = int(np.argmax((w[:, None] * cost).sum(axis=0)))
    for solver in (EXACT, HEUR):
        for model in (
            p_median_from_cost_matrix(cost, w, 2, fixed=[worst]),
            mclp_from_cost_matrix(cost, w, 2, 2.0, fixed=[worst]),
            lscp_from_cost_matrix(cost, 20.0, w, fixed=[worst]),
        ):
            r = solver.solve(model)
            assert worst in r.sites
            _check_result(model, r)
    free = EXACT.solve(p_median_from_cost_matrix(cost, w, 2)).objective
    forced = EXACT.solve(p_median_from_cost_matrix(cost, w, 2, fixed=[worst])).objective
    assert forced >= free


def test_existing_sites_reported_as_closed_and_new_ones_as_opened() -> None:
    cost = np.array([[1.0, 9, 9], [1, 9, 9], [9, 9, 1]])
    model = p_median_from_cost_matrix(
        cost, [1, 1, 1], 2, candidate_ids=["a", "b", "c"], existing=["b", "c"]
    )
    r = solve(model)
    assert r.sites == ("a", "c")
    assert r.opened == ("a",)
    assert r.closed == ("b",)


def test_summary_statistics_on_a_hand_case() -> None:
    cost = np.array([[1.0, 10], [2, 10], [10, 3], [10, 20]])
    w = np.array([50.0, 30, 15, 5])
    r = EXACT.solve(p_median_from_cost_matrix(cost, w, 2, threshold=5, candidate_ids=["x", "y"]))
    assert r.objective == pytest.approx(50 + 60 + 45 + 50)
    assert r.mean_cost == pytest.approx(205 / 100)
    assert r.p95_cost == 3.0  # 95 % of demand reaches a site within 3
    assert r.demand_beyond == 5.0
    assert r.assignment["facility_id"].tolist() == ["x", "x", "y", "x"]


def test_weighted_quantile_matches_expanded_sample() -> None:
    rng = np.random.default_rng(61)
    for _ in range(20):
        v = rng.integers(0, 30, 15).astype(float)
        wts = rng.integers(0, 6, 15).astype(float)
        wts[0] += 1
        sample = np.repeat(v, wts.astype(int))
        for q in (0.5, 0.9, 0.95):
            expected = np.quantile(sample, q, method="inverted_cdf")
            assert weighted_quantile(v, wts, q) == expected


def test_deterministic() -> None:
    rng = np.random.default_rng(71)
    cost, w = _case(rng, 60, 15, ties=True)
    a = EXACT.solve(p_median_from_cost_matrix(cost, w, 4))
    b = EXACT.solve(p_median_from_cost_matrix(cost, w, 4))
    assert a.sites == b.sites
    assert a.assignment.equals(b.assignment)


# ---------------------------------------------------------------- errors


def test_lscp_unreachable_demand_names_the_points() -> None:
    cost = np.array([[1.0, 2], [9, 8], [1, 1]])
    with pytest.raises(InfeasibleModelError, match=r"within 5: far$") as err:
        lscp_from_cost_matrix(cost, 5, demand_ids=["a", "far", "c"])
    assert isinstance(err.value, WandelError)
    assert isinstance(err.value, ValueError)
    assert err.value.message("de") == (
        "1 Nachfragepunkte sind von keinem Standort aus innerhalb von 5 erreichbar: far"
    )


def test_p_too_small_for_coverage_asked() -> None:
    cost = np.array([[0.0, 9, 9], [9, 0, 9], [9, 9, 0]])
    model = p_median_from_cost_matrix(cost, [1, 1, 1], 2, max_cost=1)
    with pytest.raises(InfeasibleModelError, match=r"p=2.*at least 3 sites"):
        solve(model)


def test_more_fixed_sites_than_p() -> None:
    with pytest.raises(InfeasibleModelError, match="3 sites are fixed"):
        p_median_from_cost_matrix(np.ones((2, 4)), [1, 1], 2, fixed=[0, 1, 2])


def test_capacities_too_small() -> None:
    with pytest.raises(InfeasibleModelError, match="capacities too small"):
        p_median_from_cost_matrix(np.ones((2, 3)), [5, 5], 1, capacity=[6, 6, 9])
    model = lscp_from_cost_matrix(
        np.array([[1.0, 9], [9, 1], [1, 9]]), 2, [5, 5, 5], capacity=[6, 100]
    )
    with pytest.raises(InfeasibleModelError, match="capacities"):
        solve(model)


@pytest.mark.parametrize(
    ("cost", "match"),
    [
        ([[1.0, np.nan]], "missing"),
        ([[1.0, -2.0]], "negative"),
        ([1.0, 2.0], "2-D"),
    ],
)
def test_bad_cost_matrix(cost: list[float], match: str) -> None:
    with pytest.raises(ModelInputError, match=match):
        p_median_from_cost_matrix(cost, [1], 1)


def test_bad_ids_demand_and_p() -> None:
    with pytest.raises(ModelInputError, match="unique"):
        p_median_from_cost_matrix(np.ones((2, 2)), [1, 1], 1, demand_ids=["a", "a"])
    with pytest.raises(ModelInputError, match="expected 2 ids"):
        p_median_from_cost_matrix(np.ones((2, 2)), [1, 1], 1, candidate_ids=["a"])
    with pytest.raises(ModelInputError, match="demand"):
        p_median_from_cost_matrix(np.ones((2, 2)), [1, -1], 1)
    with pytest.raises(ModelInputError, match="p must be"):
        p_median_from_cost_matrix(np.ones((2, 2)), [1, 1], 3)
    with pytest.raises(ModelInputError, match="not candidates"):
        p_median_from_cost_matrix(np.ones((2, 2)), [1, 1], 1, fixed=["zz"])


def test_heuristic_refuses_capacities() -> None:
    model = p_median_from_cost_matrix(np.ones((2, 2)), [1, 1], 1, capacity=[5, 5])
    with pytest.raises(UnsupportedModelError):
        HEUR.solve(model)


# ---------------------------------------------------------------- geodata entry point


def test_geodataframe_entry_delegates_to_cost_matrix() -> None:
    rng = np.random.default_rng(81)
    pts = rng.uniform(0, 5000, (20, 2))
    sites = rng.uniform(0, 5000, (6, 2))
    demand = gpd.GeoDataFrame(
        {"pop": rng.integers(1, 50, 20), "id": [f"d{i}" for i in range(20)]},
        geometry=[Point(x, y) for x, y in pts],
        crs="EPSG:25832",
    )
    cand = gpd.GeoDataFrame(
        {"name": [f"s{j}" for j in range(6)]},
        geometry=[Point(x, y) for x, y in sites],
        crs="EPSG:25832",
    )
    cost = np.hypot(*(pts[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    np.testing.assert_allclose(cost_matrix_from_geodataframe(demand, cand), cost)
    geo = p_median_from_geodataframe(
        demand, cand, 2, demand_col="pop", demand_id_col="id", candidate_id_col="name"
    )
    core = p_median_from_cost_matrix(cost, demand["pop"].to_numpy(), 2)
    a, b = solve(geo), solve(core)
    assert a.objective == pytest.approx(b.objective)
    assert a.sites == tuple(f"s{j}" for j in b.sites)
    doubled = mclp_from_geodataframe(
        demand,
        cand,
        2,
        2000.0,
        demand_col="pop",
        travel_cost=lambda a, b: (
            2
            * cost_matrix_from_geodataframe(
                gpd.GeoDataFrame(geometry=a), gpd.GeoDataFrame(geometry=b)
            )
        ),
    )
    np.testing.assert_allclose(doubled.cost, 2 * cost)


def test_geographic_crs_uses_great_circle_metres() -> None:
    a = gpd.GeoDataFrame(geometry=[Point(11.0, 51.0)], crs="EPSG:4326")
    b = gpd.GeoDataFrame(geometry=[Point(11.0, 52.0)], crs="EPSG:4326")
    d = cost_matrix_from_geodataframe(a, b)
    assert d[0, 0] == pytest.approx(np.pi / 180 * 6_371_008.8, rel=1e-9)  # one degree of latitude
    with pytest.raises(ModelInputError, match="different CRS"):
        cost_matrix_from_geodataframe(a, b.to_crs("EPSG:25832"))


def test_mip_path_without_lagrangian_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a useless Lagrangian bound (nothing fixed), the reduced MIP still finds the optimum."""
    from wandel.planning import _highs
    from wandel.planning._lagrange import LagrangianFix

    def weak(wc: Arr, p: int, fixed: NDArray[np.bool_], upper: float) -> LagrangianFix:
        none = np.zeros(wc.shape[1], dtype=bool)
        plan = fixed.copy()
        plan[np.flatnonzero(~fixed)[: p - int(fixed.sum())]] = True
        return LagrangianFix(bound=0.0, closed=none, opened=none, plan=plan)

    monkeypatch.setattr(_highs, "lagrangian_fix", weak)
    rng = np.random.default_rng(91)
    for _ in range(15):
        n, m = int(rng.integers(2, 9)), int(rng.integers(3, 7))
        p = int(rng.integers(1, m))
        cost, w = _case(rng, n, m, ties=bool(rng.integers(2)))
        fixed = _fixed_mask(rng, m, p)
        r = EXACT.solve(p_median_from_cost_matrix(cost, w, p, fixed=np.flatnonzero(fixed).tolist()))
        assert r.objective == pytest.approx(_enum_p_median(cost, w, p, fixed, None), rel=1e-7)
        assert r.gap is not None
        assert r.gap <= 1e-6

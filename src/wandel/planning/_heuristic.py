"""Fast heuristic: greedy construction plus vertex substitution (Teitz & Bart 1968), vectorised.

For the p-median the greedy step opens, one at a time, the site with the largest saving
:math:`\\sum_i w_i \\max(0, d_i - c_{ij})` (:math:`d_i` the current nearest cost). The substitution
step then evaluates every swap (close ``r``, open ``a``) at once with the fast-interchange identity
of Whitaker (1983) / Resende & Werneck (2003): with :math:`d^1_i, d^2_i` the nearest and second
nearest open costs and :math:`f_i` the nearest open site,

.. math::

    \\Delta(r, a) = \\sum_{i: f_i = r} w_i \\big(\\min(c_{ia}, d^2_i) - \\min(c_{ia}, d^1_i)\\big)
                   - \\sum_i w_i \\max(0, d^1_i - c_{ia})

one dense ``(n, m)`` pass and one sparse product per iteration; the best improving swap is made
until none improves. The MCLP is the p-median on the 0/1 cost "not covered"
(:math:`[c_{ij} > T]`), whose objective is the uncovered demand. The LSCP uses the greedy set
cover (most uncovered points first) followed by dropping redundant sites.

Heuristic results carry ``gap=None``: they are not proven optimal. Capacitated models are not
supported (:class:`~wandel.planning.UnsupportedModelError`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from wandel.errors import SolverLimitError, UnsupportedModelError
from wandel.planning._model import BoolArray, FloatArray, LocationModel
from wandel.planning._result import PlanResult, make_result, nearest_open

__all__ = [
    "GreedyInterchangeSolver",
    "greedy_interchange",
    "greedy_set_cover",
    "multi_start",
]


def _finite_cost(cost: FloatArray, limit: float | None) -> tuple[FloatArray, float]:
    """Replace unreachable pairs (``inf`` or above ``limit``) by a big finite penalty."""
    bad = ~np.isfinite(cost)
    if limit is not None:
        bad |= cost > limit
    finite_max = float(cost[~bad].max()) if (~bad).any() else 1.0
    penalty = (finite_max + 1.0) * 1e3
    return np.where(bad, penalty, cost), penalty


def _greedy(cost: FloatArray, w: FloatArray, p: int, fixed: BoolArray) -> BoolArray:
    n = cost.shape[0]
    is_open = fixed.copy()
    best = cost[:, is_open].min(axis=1) if is_open.any() else np.full(n, np.inf)
    while int(is_open.sum()) < p:
        if np.isinf(best).any():
            score = -(w @ cost)  # first site: least total cost
        else:
            score = w @ np.maximum(best[:, None] - cost, 0.0)
        score[is_open] = -np.inf
        j = int(np.argmax(score))
        is_open[j] = True
        best = np.minimum(best, cost[:, j])
    return is_open


def _interchange(
    cost: FloatArray, w: FloatArray, is_open: BoolArray, fixed: BoolArray, max_iter: int
) -> BoolArray:
    n, m = cost.shape
    is_open = is_open.copy()
    rows = np.arange(n)
    for _ in range(max_iter):
        idx = np.flatnonzero(is_open)
        if idx.size == m or idx.size == int(fixed.sum()):
            break
        sub = cost[:, idx]
        if idx.size > 1:
            two = np.argpartition(sub, 1, axis=1)[:, :2]
            c2 = np.take_along_axis(sub, two, axis=1)
            first = np.argmin(c2, axis=1)
            f1 = idx[two[rows, first]]
            d1 = c2[rows, first]
            d2 = c2[rows, 1 - first]
        else:
            f1 = np.full(n, idx[0])
            d1 = sub[:, 0]
            d2 = np.full(n, np.inf)
        gain = w @ np.maximum(d1[:, None] - cost, 0.0)
        loss_terms = w[:, None] * (np.minimum(cost, d2[:, None]) - np.minimum(cost, d1[:, None]))
        onehot = sp.csr_matrix((np.ones(n), (f1, rows)), shape=(m, n))
        delta = np.asarray(onehot @ loss_terms) - gain[None, :]  # [r, a]
        delta[~(is_open & ~fixed), :] = np.inf
        delta[:, is_open] = np.inf
        r, a = np.unravel_index(int(np.argmin(delta)), delta.shape)
        current = float(w @ d1)
        if not delta[r, a] < -1e-10 * max(current, 1.0):
            break
        is_open[r] = False
        is_open[a] = True
    return is_open


def greedy_interchange(
    cost: FloatArray, w: FloatArray, p: int, fixed: BoolArray, max_iter: int = 10_000
) -> BoolArray:
    """Open sites minimising :math:`\\sum_i w_i \\min_{j\\ open} c_{ij}`: greedy, then best swaps.

    ``cost`` must be finite. Returns the boolean mask of open sites (``p`` of them, ``fixed`` among
    them).

    Examples
    --------
    >>> c = np.array([[0.0, 5, 9], [5, 0, 4], [9, 4, 0]])
    >>> greedy_interchange(c, np.array([1.0, 1, 5]), 1, np.zeros(3, bool)).tolist()
    [False, False, True]
    """
    start = _greedy(cost, w, p, fixed)
    return _interchange(cost, w, start, fixed, max_iter)


def multi_start(
    cost: FloatArray,
    w: FloatArray,
    p: int,
    fixed: BoolArray,
    n_starts: int = 4,
    seed: int = 0,
    starts: tuple[BoolArray, ...] = (),
    max_iter: int = 10_000,
) -> BoolArray:
    """Best of :func:`greedy_interchange` and interchange from ``starts`` and random plans.

    Random starts (seeded, so results are reproducible) escape the greedy plan's basin on
    clustered demand, where single swaps cannot move several sites at once.
    """
    rng = np.random.default_rng(seed)
    best = greedy_interchange(cost, w, p, fixed, max_iter)
    best_value = float(w @ cost[:, best].min(axis=1))
    free = np.flatnonzero(~fixed)
    plans = list(starts)
    for _ in range(max(n_starts - 1, 0)):
        plan = fixed.copy()
        plan[rng.choice(free, p - int(fixed.sum()), replace=False)] = True
        plans.append(plan)
    for plan in plans:
        found = _interchange(cost, w, plan, fixed, max_iter)
        value = float(w @ cost[:, found].min(axis=1))
        if value < best_value * (1 - 1e-12):
            best, best_value = found, value
    return best


def greedy_set_cover(cover: BoolArray, fixed: BoolArray) -> BoolArray:
    """Greedy set cover of the rows of ``cover`` (points x sites), then drop redundant sites.

    Every row must have a covering site. Fixed sites are open from the start and never dropped.

    Examples
    --------
    >>> cov = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], bool)
    >>> greedy_set_cover(cov, np.zeros(3, bool)).tolist()
    [True, False, True]
    """
    is_open = fixed.copy()
    todo = ~cover[:, is_open].any(axis=1)
    while todo.any():
        count = cover[todo].sum(axis=0)
        count[is_open] = -1
        is_open[int(np.argmax(count))] = True
        todo &= ~cover[:, is_open].any(axis=1)
    for j in np.flatnonzero(is_open & ~fixed)[::-1]:
        is_open[j] = False
        if not cover[:, is_open].any(axis=1).all():
            is_open[j] = True
    return is_open


@dataclass(frozen=True)
class GreedyInterchangeSolver:
    """Heuristic solver for large cases: greedy plus vertex substitution; ``gap`` is ``None``.

    Parameters
    ----------
    max_iter
        Upper limit on improving swaps per start.
    n_starts, seed
        Starts of the interchange: the greedy plan plus ``n_starts - 1`` seeded random plans
        (p-median and MCLP); the best result wins.
    """

    max_iter: int = 10_000
    n_starts: int = 4
    seed: int = 0
    name: str = field(default="greedy+interchange", init=False)

    def solve(self, model: LocationModel) -> PlanResult:
        """Solve ``model`` heuristically (uncapacitated models only)."""
        if model.capacitated:
            raise UnsupportedModelError(
                "the greedy+interchange heuristic does not handle capacities; use HighsSolver"
            )
        t0 = time.perf_counter()
        served = model.demand > 0
        if model.kind == "lscp":
            threshold = model.threshold if model.threshold is not None else np.inf
            cover = (model.cost <= threshold)[served]
            is_open = greedy_set_cover(cover, model.fixed)
            objective = float(is_open.sum())
        elif model.kind == "mclp":
            threshold = model.threshold if model.threshold is not None else np.inf
            miss = (model.cost > threshold).astype(np.float64)
            is_open = multi_start(
                miss[served],
                model.demand[served],
                int(model.p or 0),
                model.fixed,
                self.n_starts,
                self.seed,
                max_iter=self.max_iter,
            )
            _, c = nearest_open(model, is_open)
            objective = float(model.demand[c <= threshold].sum())
        else:
            cost, _ = _finite_cost(model.cost[served], model.max_cost)
            is_open = multi_start(
                cost,
                model.demand[served],
                int(model.p or 0),
                model.fixed,
                self.n_starts,
                self.seed,
                max_iter=self.max_iter,
            )
            _, c = nearest_open(model, is_open)
            if not np.isfinite(c[served]).all():
                limit = "" if model.max_cost is None else f" within max_cost {model.max_cost:g}"
                raise SolverLimitError(
                    f"the heuristic found no plan with p={model.p} that serves every demand "
                    f"point{limit}; HighsSolver can prove whether one exists"
                )
            objective = float((model.demand[served] * c[served]).sum())
        return make_result(
            model,
            is_open,
            objective=objective,
            gap=None,
            solver=self.name,
            status="heuristic",
            time_s=time.perf_counter() - t0,
        )

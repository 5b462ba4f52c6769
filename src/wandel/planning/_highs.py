"""Exact solutions with HiGHS (through ``highspy``), the MIPs built as sparse numpy arrays.

Formulations
------------
Uncapacitated p-median: the radius formulation of Elloumi (2010) in the chained form of García,
Labbé & Marín (2011). For demand point ``i`` let :math:`D_i^0 < D_i^1 < \\dots < D_i^{G_i}` be its
distinct costs up to a cap, and :math:`z_i^g = 1` iff no open site costs :math:`\\le D_i^g`:

.. math::

    \\min \\sum_i w_i \\Big(D_i^0 + \\sum_{g < G_i} (D_i^{g+1} - D_i^g)\\, z_i^g\\Big)
    \\quad\\text{s.t.}\\quad
    z_i^g - z_i^{g-1} + \\sum_{j:\\,c_{ij} = D_i^g} y_j \\ge [g = 0],\\;
    \\sum_j y_j = p,\\; z \\ge 0,\\; y \\in \\{0,1\\}

with :math:`z_i^{-1} = 0` and no :math:`z_i^{G_i}`. The cap is safe: at most :math:`m - p` sites
are closed, so one of the :math:`m-p+1` nearest is open; a fixed site bounds the cost too; a
``max_cost`` (or unreachable pairs) makes the cap a hard limit. Each demand point contributes one
row and one variable per distinct cost level and each ``y`` once per row it appears in, so the
matrix has about :math:`2\\,n\\,(m-p)` non-zeros instead of the :math:`n\\,m` variables and rows of
the classic ``x_ij`` formulation, and its LP relaxation is as tight.

MCLP: binary ``y`` and a continuous coverage variable per demand point,
:math:`u_i \\le \\sum_{j \\in N_i} y_j` (integral at any integral ``y``). LSCP: set cover on
``y``. Capacitated forms: continuous assignment shares :math:`x_{ij} \\in [0, 1]` on the allowed
pairs with :math:`\\sum_j x_{ij} = 1`, :math:`\\sum_i w_i x_{ij} \\le Q_j y_j` and the strong
linking :math:`x_{ij} \\le y_j`.

References
----------
Elloumi, S. (2010). A tighter formulation of the p-median problem. J. Comb. Optim. 19, 69-83.
García, S., Labbé, M., Marín, A. (2011). Solving large p-median problems with a radius
formulation. INFORMS J. Comput. 23(4), 546-556.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from wandel.errors import InfeasibleModelError, SolverLimitError
from wandel.planning._heuristic import _finite_cost, greedy_interchange, multi_start
from wandel.planning._lagrange import lagrangian_fix
from wandel.planning._model import BoolArray, FloatArray, LocationModel
from wandel.planning._result import PlanResult, make_result, nearest_open

__all__ = ["HighsSolver"]

IntArray = NDArray[np.intp]
_INF = highspy.kHighsInf


@dataclass(frozen=True)
class _Mip:
    """A MIP in arrays; the first ``n_y`` columns are the site variables ``y``."""

    n_y: int
    col_cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    integer: BoolArray
    row_lower: FloatArray
    row_upper: FloatArray
    rows: IntArray
    cols: IntArray
    vals: FloatArray
    maximize: bool = False
    offset: float = 0.0


@dataclass(frozen=True)
class _Solved:
    x: FloatArray
    objective: float
    bound: float
    gap: float
    status: str


@dataclass(frozen=True)
class HighsSolver:
    """Exact solver: HiGHS branch and bound on a compact MIP.

    Parameters
    ----------
    time_limit_s
        Stop after this many seconds and return the best solution with its gap (``None``: no limit).
    mip_rel_gap
        Relative gap at which HiGHS stops; the default proves optimality up to rounding.
    threads
        HiGHS threads (``None``: HiGHS decides).
    """

    time_limit_s: float | None = None
    mip_rel_gap: float = 1e-7
    threads: int | None = None
    name: str = field(default="highs", init=False)

    def solve(self, model: LocationModel) -> PlanResult:
        """Solve ``model`` to optimality (or the time limit); see the module doc for formulations."""
        t0 = time.perf_counter()
        flows = None
        if model.kind == "p_median" and not model.capacitated:
            open_mask, objective, gap, status = self._p_median(model, t0)
        else:
            solved = self._run(_formulate(model), t0, start=_start(model))
            if solved.status == "infeasible":
                raise InfeasibleModelError(_why_infeasible(model, self))
            open_mask = solved.x[: model.n_candidates] > 0.5
            flows = _flows(model, solved.x) if model.capacitated else None
            objective = _objective(model, open_mask, flows)
            gap, status = solved.gap, solved.status
        return make_result(
            model,
            open_mask,
            objective=objective,
            gap=gap,
            solver=self.name,
            status=status,
            time_s=time.perf_counter() - t0,
            flows=flows,
        )

    def _p_median(self, model: LocationModel, t0: float) -> tuple[BoolArray, float, float, str]:
        """Heuristic plan, Lagrangian bound and site fixing, then the radius MIP on what is left."""
        served = model.demand > 0
        w = model.demand[served]
        limit = np.inf if model.max_cost is None else model.max_cost
        reach = np.where(model.cost[served] <= limit, model.cost[served], np.inf)
        finite, _ = _finite_cost(model.cost[served], model.max_cost)
        p = int(model.p or 0)
        plan = multi_start(finite, w, p, model.fixed, n_starts=8)
        upper = float((w * reach[:, plan].min(axis=1)).sum())
        bound = -np.inf
        keep = np.ones(model.n_candidates, dtype=bool)
        must = model.fixed.copy()
        for _ in range(2):  # the Lagrangian plan may improve the upper bound: then fix again
            if not np.isfinite(upper):
                break
            fix = lagrangian_fix(w[:, None] * finite, p, model.fixed, upper)
            bound, keep, must = fix.bound, ~fix.closed, model.fixed | fix.opened
            if upper - bound <= self.mip_rel_gap * max(abs(upper), 1e-12):
                gap = max(0.0, (upper - bound) / upper) if upper > 0 else 0.0
                return plan, upper, gap, "optimal"
            better = multi_start(finite, w, p, model.fixed, n_starts=1, starts=(fix.plan,))
            value = float((w * reach[:, better].min(axis=1)).sum())
            if not value < upper * (1 - 1e-9):
                break
            plan, upper = better, value
        sub = replace(
            model, cost=model.cost[:, keep], fixed=must[keep], existing=model.existing[keep]
        )
        solved = self._run(_p_median_radius(sub, _levels(sub)), t0, start=plan[keep])
        if solved.status == "infeasible":
            raise InfeasibleModelError(_why_infeasible(model, self))
        found = np.zeros(model.n_candidates, dtype=bool)
        found[np.flatnonzero(keep)[solved.x[: sub.n_candidates] > 0.5]] = True
        value = float((w * reach[:, found].min(axis=1)).sum())
        if value < upper:
            plan, upper = found, value
        bound = max(bound, solved.bound)
        gap = max(0.0, (upper - bound) / upper) if upper > 0 else 0.0
        return plan, upper, gap, solved.status

    def _run(self, mip: _Mip, t0: float, start: BoolArray | None = None) -> _Solved:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", float(self.mip_rel_gap))
        if self.time_limit_s is not None:
            left = self.time_limit_s - (time.perf_counter() - t0)
            h.setOptionValue("time_limit", max(float(left), 0.01))
        if self.threads is not None:
            h.setOptionValue("threads", int(self.threads))
        n_col, n_row = mip.col_cost.size, mip.row_lower.size
        a = sp.csc_matrix((mip.vals, (mip.rows, mip.cols)), shape=(n_row, n_col))
        a.sum_duplicates()
        a.sort_indices()
        sense = highspy.ObjSense.kMaximize if mip.maximize else highspy.ObjSense.kMinimize
        status = h.passModel(
            n_col,
            n_row,
            int(a.nnz),
            int(highspy.MatrixFormat.kColwise),
            int(sense),
            float(mip.offset),
            mip.col_cost,
            mip.col_lower,
            mip.col_upper,
            mip.row_lower,
            mip.row_upper,
            a.indptr.astype(np.int32),
            a.indices.astype(np.int32),
            a.data.astype(np.float64),
            mip.integer.astype(np.int32),
        )
        if status == highspy.HighsStatus.kError:  # pragma: no cover - a bug in the formulation
            raise RuntimeError("HiGHS rejected the model")
        if start is not None:
            h.setSolution(mip.n_y, np.arange(mip.n_y, dtype=np.int32), start.astype(np.float64))
        h.run()
        ms = h.getModelStatus()
        if ms == highspy.HighsModelStatus.kInfeasible:
            return _Solved(np.empty(0), float("nan"), float("nan"), float("nan"), "infeasible")
        info = h.getInfo()
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        if x.size != n_col or info.primal_solution_status != 2:
            raise SolverLimitError(
                f"HiGHS found no feasible solution ({h.modelStatusToString(ms)}); "
                "raise the time limit"
            )
        label = "optimal" if ms == highspy.HighsModelStatus.kOptimal else "time_limit"
        gap = max(float(info.mip_gap), 0.0) if mip.integer.any() else 0.0
        return _Solved(
            x, float(info.objective_function_value), float(info.mip_dual_bound), gap, label
        )


def _start(model: LocationModel) -> BoolArray | None:
    """A heuristic plan to warm-start the MIP (uncapacitated MCLP), else ``None``."""
    if model.kind != "mclp" or model.capacitated:
        return None
    served = model.demand > 0
    miss = (~_covers(model)[served]).astype(np.float64)
    return greedy_interchange(miss, model.demand[served], int(model.p or 0), model.fixed)


def _formulate(model: LocationModel) -> _Mip:
    if model.capacitated:
        return _capacitated(model)
    if model.kind == "p_median":
        return _p_median_radius(model, _levels(model))
    if model.kind == "mclp":
        return _mclp(model)
    return _lscp(model)


def _y_bounds(model: LocationModel) -> tuple[FloatArray, FloatArray]:
    lower = model.fixed.astype(np.float64)
    return lower, np.ones(model.n_candidates)


@dataclass(frozen=True)
class _Levels:
    """Distinct cost levels of each served demand point, sorted, up to the safe cap ``cap``."""

    keep: IntArray  # demand rows with positive demand
    order: IntArray  # (n, m) candidates by increasing cost
    g: IntArray  # (n, m) level of each sorted position
    value: FloatArray  # (n, max cap + 1) level values D_i^g (NaN beyond the cap)
    cap: IntArray  # (n,) index of the cap level G_i


def _levels(model: LocationModel) -> _Levels:
    m = model.n_candidates
    p = int(model.p or 0)
    keep = np.flatnonzero(model.demand > 0)
    cost = model.cost[keep]
    n = keep.size
    order = np.argsort(cost, axis=1, kind="stable")
    s = np.take_along_axis(cost, order, axis=1)
    new = np.ones_like(s, dtype=bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    g = np.cumsum(new, axis=1) - 1
    # cap value: guaranteed (m-p+1-th nearest, nearest fixed site) and allowed (max_cost, finite)
    guarantee = s[:, m - p]
    if model.fixed.any():
        guarantee = np.minimum(guarantee, cost[:, model.fixed].min(axis=1))
    limit = np.inf if model.max_cost is None else model.max_cost
    n_ok = (np.isfinite(s) & (s <= limit)).sum(axis=1)
    cap_value = np.minimum(guarantee, s[np.arange(n), n_ok - 1])
    cap_pos = (s <= cap_value[:, None]).sum(axis=1) - 1
    cap = g[np.arange(n), cap_pos]
    value = np.full((n, int(cap.max()) + 1), np.nan)
    li, lr = np.nonzero(new & (g <= cap[:, None]))
    value[li, g[li, lr]] = s[li, lr]
    return _Levels(keep, order, g, value, cap)


def _p_median_radius(model: LocationModel, lv: _Levels) -> _Mip:
    """The chained radius MIP of the module doc, on the levels ``lv`` of ``model``."""
    m = model.n_candidates
    n = lv.keep.size
    w = model.demand[lv.keep]
    t = lv.cap
    row_off = np.concatenate(([0], np.cumsum(t + 1)[:-1]))
    n_z = int(t.sum())
    n_row = int((t + 1).sum())
    ii, rr = np.nonzero(lv.g <= t[:, None])
    y_rows = row_off[ii] + lv.g[ii, rr]
    y_cols = lv.order[ii, rr]
    zi = np.repeat(np.arange(n), t)
    zg = np.arange(n_z) - np.repeat(np.cumsum(t) - t, t)
    z_rows = row_off[zi] + zg
    z_cols = m + np.arange(n_z)
    rows = np.concatenate((y_rows, z_rows, z_rows + 1, np.full(m, n_row)))
    cols = np.concatenate((y_cols, z_cols, z_cols, np.arange(m)))
    vals = np.concatenate((np.ones(y_rows.size), np.ones(n_z), -np.ones(n_z), np.ones(m)))
    z_cost = w[zi] * (lv.value[zi, zg + 1] - lv.value[zi, zg])
    p = float(model.p or 0)
    row_lower = np.zeros(n_row + 1)
    row_lower[row_off] = 1.0
    row_lower[n_row] = p
    row_upper = np.full(n_row + 1, _INF)
    row_upper[n_row] = p
    y_lo, y_up = _y_bounds(model)
    return _Mip(
        n_y=m,
        col_cost=np.concatenate((np.zeros(m), z_cost)),
        col_lower=np.concatenate((y_lo, np.zeros(n_z))),
        col_upper=np.concatenate((y_up, np.full(n_z, _INF))),
        integer=np.concatenate((np.ones(m, bool), np.zeros(n_z, bool))),
        row_lower=row_lower,
        row_upper=row_upper,
        rows=rows,
        cols=cols,
        vals=vals,
        offset=float((w * lv.value[:, 0]).sum()),
    )


def _covers(model: LocationModel) -> BoolArray:
    threshold = model.threshold if model.threshold is not None else np.inf
    return np.asarray(model.cost <= threshold)


def _mclp(model: LocationModel) -> _Mip:
    m = model.n_candidates
    cover = _covers(model)
    by_fixed = cover[:, model.fixed].any(axis=1)
    keep = np.flatnonzero((model.demand > 0) & cover.any(axis=1) & ~by_fixed)
    # points with the same covering sites share one coverage variable, weighted by their sum
    packed = np.packbits(cover[keep], axis=1)
    _, first, group = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    weight = np.bincount(group.ravel(), weights=model.demand[keep], minlength=first.size)
    n = first.size
    ii, jj = np.nonzero(cover[keep[first]])
    rows = np.concatenate((np.arange(n), ii, np.full(m, n)))
    cols = np.concatenate((m + np.arange(n), jj, np.arange(m)))
    vals = np.concatenate((np.ones(n), -np.ones(ii.size), np.ones(m)))
    y_lo, y_up = _y_bounds(model)
    p = float(model.p or 0)
    return _Mip(
        n_y=m,
        col_cost=np.concatenate((np.zeros(m), weight)),
        col_lower=np.concatenate((y_lo, np.zeros(n))),
        col_upper=np.concatenate((y_up, np.ones(n))),
        integer=np.concatenate((np.ones(m, bool), np.zeros(n, bool))),
        row_lower=np.concatenate((np.full(n, -_INF), [p])),
        row_upper=np.concatenate((np.zeros(n), [p])),
        rows=rows,
        cols=cols,
        vals=vals,
        maximize=True,
        offset=float(model.demand[(model.demand > 0) & by_fixed].sum()),
    )


def _lscp(model: LocationModel) -> _Mip:
    m = model.n_candidates
    keep = np.flatnonzero(model.demand > 0)
    ii, jj = np.nonzero(_covers(model)[keep])
    y_lo, y_up = _y_bounds(model)
    return _Mip(
        n_y=m,
        col_cost=np.ones(m),
        col_lower=y_lo,
        col_upper=y_up,
        integer=np.ones(m, bool),
        row_lower=np.ones(keep.size),
        row_upper=np.full(keep.size, _INF),
        rows=ii,
        cols=jj,
        vals=np.ones(ii.size),
    )


def _pairs(model: LocationModel) -> tuple[IntArray, IntArray]:
    """Allowed (demand, site) pairs of a capacitated model, demand points with positive demand."""
    ok = model.allowed & (model.demand > 0)[:, None]
    ii, jj = np.nonzero(ok)
    return ii, jj


def _capacitated(model: LocationModel) -> _Mip:
    m, n = model.n_candidates, model.n_demand
    cap = model.capacity if model.capacity is not None else np.full(m, np.inf)
    ii, jj = _pairs(model)
    k = ii.size
    x = m + np.arange(k)
    w = model.demand
    served = np.flatnonzero(w > 0)
    assign_row = np.full(n, -1)
    assign_row[served] = np.arange(served.size)
    n_a = served.size
    finite = np.flatnonzero(np.isfinite(cap))
    cap_row = np.full(m, -1)
    cap_row[finite] = n_a + np.arange(finite.size)
    link0 = n_a + finite.size
    rows = [
        assign_row[ii],
        cap_row[jj[np.isfinite(cap[jj])]],
        link0 + np.arange(k),
        link0 + np.arange(k),
    ]
    cols = [x, x[np.isfinite(cap[jj])], x, jj]
    vals = [np.ones(k), w[ii][np.isfinite(cap[jj])], np.ones(k), -np.ones(k)]
    rows.append(cap_row[finite])
    cols.append(finite)
    vals.append(-cap[finite])
    n_row = link0 + k
    row_lower = np.concatenate((np.ones(n_a), np.full(finite.size + k, -_INF)))
    row_upper = np.concatenate((np.ones(n_a), np.zeros(finite.size + k)))
    if model.p is not None:
        rows.append(np.full(m, n_row))
        cols.append(np.arange(m))
        vals.append(np.ones(m))
        row_lower = np.append(row_lower, model.p)
        row_upper = np.append(row_upper, model.p)
    y_lo, y_up = _y_bounds(model)
    if model.kind == "p_median":
        x_cost, maximize = w[ii] * model.cost[ii, jj], False
        y_cost = np.zeros(m)
    elif model.kind == "mclp":
        x_cost, maximize = w[ii] * (model.cost[ii, jj] <= (model.threshold or 0.0)), True
        y_cost = np.zeros(m)
    else:
        x_cost, maximize = np.zeros(k), False
        y_cost = np.ones(m)
    return _Mip(
        n_y=m,
        col_cost=np.concatenate((y_cost, x_cost)),
        col_lower=np.concatenate((y_lo, np.zeros(k))),
        col_upper=np.concatenate((y_up, np.ones(k))),
        integer=np.concatenate((np.ones(m, bool), np.zeros(k, bool))),
        row_lower=row_lower,
        row_upper=row_upper,
        rows=np.concatenate(rows),
        cols=np.concatenate(cols),
        vals=np.concatenate(vals),
        maximize=maximize,
    )


def _flows(model: LocationModel, x: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
    ii, jj = _pairs(model)
    share = x[model.n_candidates :]
    keep = share > 1e-9
    ii, jj, share = ii[keep], jj[keep], share[keep]
    share = share / np.bincount(ii, weights=share, minlength=model.n_demand)[ii]
    # demand points without demand: nearest open site, for a complete table
    zero = np.flatnonzero(model.demand <= 0)
    if zero.size:
        j0, _ = nearest_open(model, x[: model.n_candidates] > 0.5)
        ok = j0[zero] >= 0
        ii = np.concatenate((ii, zero[ok]))
        jj = np.concatenate((jj, j0[zero][ok]))
        share = np.concatenate((share, np.ones(int(ok.sum()))))
    order = np.lexsort((jj, ii))
    return ii[order], jj[order], share[order]


def _objective(
    model: LocationModel,
    open_mask: BoolArray,
    flows: tuple[IntArray, IntArray, FloatArray] | None,
) -> float:
    """The model's objective recomputed from the solution (not the solver's rounded value)."""
    if model.kind == "lscp":
        return float(open_mask.sum())
    if flows is None:
        _, c = nearest_open(model, open_mask)
        i = np.arange(model.n_demand)
        share = np.ones(model.n_demand)
    else:
        i, j, share = flows
        c = model.cost[i, j]
    w = model.demand[i] * share
    if model.kind == "p_median":
        return float(np.where(w > 0, w * c, 0.0).sum())
    threshold = model.threshold if model.threshold is not None else np.inf
    return float(w[c <= threshold].sum())


def _why_infeasible(model: LocationModel, solver: HighsSolver) -> str:
    """Explain an infeasible model in the user's terms."""
    if model.capacitated:
        limit = {
            "p_median": f" within max_cost {model.max_cost:g}"
            if model.max_cost is not None
            else "",
            "mclp": "",
            "lscp": f" within threshold {model.threshold:g}",
        }[model.kind]
        p = "" if model.p is None else f" with p={model.p}"
        total_cap = 0.0 if model.capacity is None else float(model.capacity.sum())
        return (
            f"no assignment of all demand{limit} fits the site capacities{p} "
            f"(total demand {float(model.demand.sum()):g}, total capacity "
            f"{total_cap:g})"
        )
    # uncapacitated p-median with max_cost: p below the minimum cover
    cover = LocationModel(
        kind="lscp",
        cost=model.cost,
        demand=model.demand,
        demand_ids=model.demand_ids,
        candidate_ids=model.candidate_ids,
        p=None,
        threshold=model.max_cost,
        max_cost=None,
        capacity=None,
        fixed=model.fixed,
        existing=model.existing,
    )
    need = solver.solve(cover).n_sites
    return (
        f"p={model.p} sites cannot serve every demand point within max_cost "
        f"{model.max_cost:g}; at least {need} sites are needed"
    )

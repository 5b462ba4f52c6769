"""The result of a location model: chosen sites, assignment, objective, gap and summary statistics."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from wandel.planning._model import BoolArray, FloatArray, LocationModel

__all__ = ["PlanResult", "make_result", "nearest_open", "weighted_quantile"]


@dataclass(frozen=True, eq=False)
class PlanResult:
    """A solved location model.

    Attributes
    ----------
    kind
        The model (``"p_median"``, ``"mclp"``, ``"lscp"``).
    sites
        Ids of the chosen (open) sites, in candidate order.
    assignment
        One row per demand point and serving site: ``demand_id``, ``facility_id``, ``cost``,
        ``demand`` (the demand point's weight) and ``share`` (the fraction of it served there; 1
        unless capacities split the point). Uncapacitated models assign every point to its nearest
        open site; ``facility_id`` is missing and ``cost`` is ``inf`` where no open site is reachable.
    objective
        p-median: weighted cost :math:`\\sum_i w_i c_i`; MCLP: covered demand; LSCP: number of sites.
    gap
        Relative MIP gap proven by the exact solver (0 = optimal); ``None`` for a heuristic.
    solver, status, time_s
        Solver name, its final status (``"optimal"``, ``"time_limit"``, ``"heuristic"``) and the
        seconds it took including the model build.
    opened, closed
        Chosen sites that are not existing; existing sites that were not chosen.
    mean_cost, p95_cost
        Demand-weighted mean and 95th percentile of the cost in ``assignment``.
    threshold, demand_beyond
        The model's threshold and the demand served at a cost above it (NaN without threshold).
    total_demand
        Sum of all demand.
    """

    kind: str
    sites: tuple[Hashable, ...]
    assignment: pd.DataFrame
    objective: float
    gap: float | None
    solver: str
    status: str
    time_s: float
    opened: tuple[Hashable, ...]
    closed: tuple[Hashable, ...]
    mean_cost: float
    p95_cost: float
    threshold: float | None
    demand_beyond: float
    total_demand: float

    @property
    def n_sites(self) -> int:
        """Number of open sites."""
        return len(self.sites)


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The demand-weighted ``q`` quantile: the smallest value ``v`` with weight share ``<= v`` >= q.

    This is the inverse of the weighted empirical distribution function (no interpolation), so it
    is always one of the values.

    Examples
    --------
    >>> weighted_quantile(np.array([1.0, 5.0, 9.0]), np.array([90.0, 6.0, 4.0]), 0.95)
    5.0
    """
    keep = weights > 0
    if not keep.any():
        return float("nan")
    v, w = values[keep], weights[keep]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    k = int(np.searchsorted(cum, q * cum[-1] * (1 - 1e-12), side="left"))
    return float(v[order][min(k, v.size - 1)])


def nearest_open(model: LocationModel, open_mask: BoolArray) -> tuple[NDArray[np.intp], FloatArray]:
    """Index and cost of each demand point's nearest open site (``-1`` and ``inf`` if none)."""
    cost = np.where(open_mask[None, :], model.cost, np.inf)
    if model.kind == "p_median" and model.max_cost is not None:
        cost = np.where(cost <= model.max_cost, cost, np.inf)
    j = np.argmin(cost, axis=1)
    c = cost[np.arange(model.n_demand), j]
    return np.where(np.isfinite(c), j, -1), c


def make_result(
    model: LocationModel,
    open_mask: BoolArray,
    *,
    objective: float,
    gap: float | None,
    solver: str,
    status: str,
    time_s: float,
    flows: tuple[NDArray[np.intp], NDArray[np.intp], FloatArray] | None = None,
) -> PlanResult:
    """Assemble a :class:`PlanResult`; ``flows = (i, j, share)`` for split (capacitated) demand."""
    if flows is None:
        j, c = nearest_open(model, open_mask)
        i = np.arange(model.n_demand)
        share = np.ones(model.n_demand)
    else:
        i, j, share = flows
        c = model.cost[i, j]
    fac = pd.array([model.candidate_ids[k] if k >= 0 else None for k in j.tolist()], dtype="object")
    w = model.demand[i] * share
    assignment = pd.DataFrame(
        {
            "demand_id": model.demand_ids[i],
            "facility_id": fac,
            "cost": c,
            "demand": model.demand[i],
            "share": share,
        }
    )
    total = float(model.demand.sum())
    wc = np.where(w > 0, w * np.where(w > 0, c, 0.0), 0.0)
    mean = float(wc.sum() / total) if total > 0 else float("nan")
    beyond = float("nan") if model.threshold is None else float(w[c > model.threshold].sum())
    ids = model.candidate_ids
    return PlanResult(
        kind=model.kind,
        sites=tuple(ids[open_mask].tolist()),
        assignment=assignment,
        objective=float(objective),
        gap=gap,
        solver=solver,
        status=status,
        time_s=float(time_s),
        opened=tuple(ids[open_mask & ~model.existing].tolist()),
        closed=tuple(ids[~open_mask & model.existing].tolist()),
        mean_cost=mean,
        p95_cost=weighted_quantile(c, w, 0.95),
        threshold=model.threshold,
        demand_beyond=beyond,
        total_demand=total,
    )

"""Cooperation gain: each town plans alone versus all towns plan jointly.

Every demand point and every candidate site belongs to one town. *Alone*, each town solves the
model on its own demand and its own candidates (its own ``p``; for the set covering, its own
minimum). *Jointly*, one model runs on all demand and all candidates, with the same total number of
facilities (the sum of the towns' ``p``) unless ``joint_p`` says otherwise. Because the towns' own
plans together are a feasible joint plan, the joint optimum is never worse on the model's objective
when the total ``p`` is the same.

The comparison reports what a council can decide with: facilities, demand-weighted mean and 95th
percentile travel cost, demand beyond the threshold, and money:

.. math::

    \\text{cost} = F \\cdot \\#\\text{facilities} + v \\sum_i w_i\\, c_i

with ``fixed_cost_per_facility`` :math:`F` (e.g. EUR per year per site) and
``cost_per_unit_travel`` :math:`v` (EUR per person-minute or person-km of the cost matrix).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from wandel.errors import InfeasibleModelError, ModelInputError
from wandel.planning._model import (
    LocationModel,
    lscp_from_cost_matrix,
    mclp_from_cost_matrix,
    p_median_from_cost_matrix,
)
from wandel.planning._result import PlanResult, weighted_quantile
from wandel.planning._solver import Solver, solve

__all__ = ["COLUMNS", "CooperationResult", "Money", "Plans", "Sites", "Towns", "cooperation_gain"]

COLUMNS = (
    "facilities",
    "mean_cost",
    "p95_cost",
    "demand_beyond",
    "travel_cost",
    "fixed_cost",
    "total_cost",
)
"""Columns of :attr:`CooperationResult.table`."""


@dataclass(frozen=True, eq=False)
class CooperationResult:
    """Each town alone versus joint planning.

    Attributes
    ----------
    table
        Rows ``"alone"`` (all towns' own plans together), ``"joint"`` and ``"difference"``
        (joint minus alone; negative = saved); columns :data:`COLUMNS`.
    by_town
        One row per town: facilities in the town and its residents' mean and 95th percentile cost
        and demand beyond the threshold, alone and under the joint plan.
    alone
        Each town's own :class:`PlanResult`.
    joint
        The joint :class:`PlanResult`.
    """

    table: pd.DataFrame
    by_town: pd.DataFrame
    alone: Mapping[Hashable, PlanResult]
    joint: PlanResult


def _stats(
    assignment: pd.DataFrame,
    n_sites: int,
    threshold: float | None,
    fixed_cost: float,
    unit_cost: float,
) -> dict[str, float]:
    w = (assignment["demand"] * assignment["share"]).to_numpy(dtype=np.float64)
    c = assignment["cost"].to_numpy(dtype=np.float64)
    pos = w > 0
    total = float(w.sum())
    travel = float((w[pos] * c[pos]).sum())
    beyond = float("nan") if threshold is None else float(w[c > threshold].sum())
    return {
        "facilities": float(n_sites),
        "mean_cost": travel / total if total > 0 else float("nan"),
        "p95_cost": weighted_quantile(c, w, 0.95),
        "demand_beyond": beyond,
        "travel_cost": unit_cost * travel,
        "fixed_cost": fixed_cost * n_sites,
        "total_cost": unit_cost * travel + fixed_cost * n_sites,
    }


@dataclass(frozen=True, eq=False)
class Towns:
    """The town of every demand point and of every candidate site (labels of any hashable kind)."""

    demand: ArrayLike
    candidates: ArrayLike


@dataclass(frozen=True)
class Plans:
    """Which model the plans solve.

    Attributes
    ----------
    model
        ``"p_median"``, ``"mclp"`` or ``"lscp"``.
    p
        Facilities per town: one number for every town or a mapping town -> p (not for LSCP).
    threshold
        Coverage radius (MCLP, LSCP) and the "beyond" threshold of the statistics.
    joint_p
        Facilities of the joint plan; default the sum of the towns' ``p``.
    """

    model: Literal["p_median", "mclp", "lscp"] = "p_median"
    p: int | Mapping[Hashable, int] | None = None
    threshold: float | None = None
    joint_p: int | None = None


@dataclass(frozen=True, eq=False)
class Sites:
    """Ids and constraints of the sites, as for the ``*_from_cost_matrix`` builders: the ids of
    the demand points and the candidates (default: positions), sites that must stay open
    (``fixed``), sites open today (``existing``, they may close) and capacities."""

    demand_ids: ArrayLike | None = None
    candidate_ids: ArrayLike | None = None
    fixed: Iterable[Hashable] | None = None
    existing: Iterable[Hashable] | None = None
    capacity: ArrayLike | None = None


@dataclass(frozen=True)
class Money:
    """Money per open facility (``fixed_cost_per_facility``, e.g. EUR per year) and per unit of
    demand-weighted cost (``cost_per_unit_travel``, e.g. EUR per person-minute)."""

    fixed_cost_per_facility: float = 0.0
    cost_per_unit_travel: float = 1.0


def _town_p(p: int | Mapping[Hashable, int] | None, town: Hashable) -> int:
    if p is None:
        raise ModelInputError("@planning.error.p_required")
    if isinstance(p, Mapping):
        if town not in p:
            raise ModelInputError("@planning.error.no_p_for_town", town=repr(town))
        return int(p[town])
    return int(p)


@dataclass(frozen=True, eq=False)
class _Problem:
    """One model to build: the cost and demand of its rows and columns, with their ids."""

    cost: NDArray[np.float64]
    demand: NDArray[np.float64]
    demand_ids: NDArray[Any]
    candidate_ids: NDArray[Any]
    fixed: list[Hashable]
    existing: list[Hashable]
    capacity: NDArray[np.float64] | None


def _model(kind: str, problem: _Problem, p: int | None, threshold: float | None) -> LocationModel:
    common: dict[str, Any] = {
        "demand_ids": problem.demand_ids,
        "candidate_ids": problem.candidate_ids,
        "fixed": problem.fixed,
        "existing": problem.existing,
        "capacity": problem.capacity,
    }
    c, w = problem.cost, problem.demand
    if kind == "p_median":
        return p_median_from_cost_matrix(c, w, int(p or 0), threshold=threshold, **common)
    if kind == "mclp":
        if threshold is None:
            raise ModelInputError("@planning.error.needs_threshold", model="MCLP")
        return mclp_from_cost_matrix(c, w, int(p or 0), threshold, **common)
    if kind == "lscp":
        if threshold is None:
            raise ModelInputError("@planning.error.needs_threshold", model="LSCP")
        return lscp_from_cost_matrix(c, threshold, w, **common)
    raise ModelInputError("@planning.error.unknown_model", model=repr(kind))


@dataclass(frozen=True, eq=False)
class _Inputs:
    """The arrays of a cooperation problem, checked."""

    cost: NDArray[np.float64]
    demand: NDArray[np.float64]
    demand_town: NDArray[Any]
    candidate_town: NDArray[Any]
    demand_ids: NDArray[Any]
    candidate_ids: NDArray[Any]
    capacity: NDArray[np.float64] | None
    fixed: set[Hashable]
    existing: set[Hashable]


def _inputs(cost: ArrayLike, demand: ArrayLike, towns: Towns, sites: Sites) -> _Inputs:
    c = np.asarray(cost, dtype=np.float64)
    d_town = np.asarray(towns.demand)
    c_town = np.asarray(towns.candidates)
    if c.ndim != 2 or d_town.shape != (c.shape[0],) or c_town.shape != (c.shape[1],):
        raise ModelInputError(
            f"town labels must match the cost matrix {c.shape}: "
            f"{d_town.shape} demand, {c_town.shape} candidate labels"
        )
    fixed = set(sites.fixed or ())
    return _Inputs(
        cost=c,
        demand=np.asarray(demand, dtype=np.float64),
        demand_town=d_town,
        candidate_town=c_town,
        demand_ids=np.arange(c.shape[0])
        if sites.demand_ids is None
        else np.asarray(sites.demand_ids),
        candidate_ids=np.arange(c.shape[1])
        if sites.candidate_ids is None
        else np.asarray(sites.candidate_ids),
        capacity=None if sites.capacity is None else np.asarray(sites.capacity, dtype=np.float64),
        fixed=fixed,
        existing=set(sites.existing or ()) | fixed,
    )


def _alone(
    x: _Inputs, plans: Plans, solver: Solver | None
) -> tuple[dict[Hashable, PlanResult], int]:
    """Each town's own plan on its own demand and candidates, and the sum of the towns' ``p``."""
    alone: dict[Hashable, PlanResult] = {}
    total_p = 0
    for town in dict.fromkeys(x.demand_town.tolist()):
        rows = x.demand_town == town
        cols = x.candidate_town == town
        if not cols.any():
            raise InfeasibleModelError("@planning.error.no_candidates", town=repr(town))
        tp = None if plans.model == "lscp" else _town_p(plans.p, town)
        total_p += tp or 0
        ids = x.candidate_ids[cols]
        sub = _Problem(
            x.cost[np.ix_(rows, cols)],
            x.demand[rows],
            x.demand_ids[rows],
            ids,
            [k for k in ids.tolist() if k in x.fixed],
            [k for k in ids.tolist() if k in x.existing],
            None if x.capacity is None else x.capacity[cols],
        )
        alone[town] = solve(_model(plans.model, sub, tp, plans.threshold), solver)
    return alone, total_p


def cooperation_gain(
    cost: ArrayLike,
    demand: ArrayLike,
    towns: Towns,
    plans: Plans,
    *,
    sites: Sites | None = None,
    money: Money | None = None,
    solver: Solver | None = None,
) -> CooperationResult:
    """Solve each town alone and all towns jointly, and compare.

    Parameters
    ----------
    cost, demand
        The full cost matrix (all demand points x all candidates) and demand weights.
    towns
        Town label of each demand point and each candidate site.
    plans
        The model, ``p`` per town, the threshold and the joint plan's ``p``.
    sites
        Ids, fixed and existing sites, capacities (default: positions, none).
    money
        Money per facility and per unit of demand-weighted cost (default 0 and 1).
    solver
        Default :class:`~wandel.planning.HighsSolver`.

    Examples
    --------
    Two towns, each with one village near the shared border and one site on its own side; jointly
    one site at the border serves both villages as well as two sites did:

    >>> cost = [[5, 1, 9], [9, 1, 2]]
    >>> r = cooperation_gain(cost, [10, 10], Towns(["A", "B"], ["A", "A", "B"]),
    ...                      Plans("lscp", threshold=2), money=Money(fixed_cost_per_facility=100))
    >>> r.table.loc[:, ["facilities", "total_cost"]].to_dict("index")["difference"]
    {'facilities': -1.0, 'total_cost': -110.0}
    """
    x = _inputs(cost, demand, towns, sites or Sites())
    alone, total_p = _alone(x, plans, solver)
    jp = (
        None if plans.model == "lscp" else (plans.joint_p if plans.joint_p is not None else total_p)
    )
    everything = _Problem(
        x.cost,
        x.demand,
        x.demand_ids,
        x.candidate_ids,
        sorted(x.fixed, key=str),
        sorted(x.existing, key=str),
        x.capacity,
    )
    joint = solve(_model(plans.model, everything, jp, plans.threshold), solver)
    m = money or Money()
    args = (plans.threshold, m.fixed_cost_per_facility, m.cost_per_unit_travel)
    all_alone = pd.concat([r.assignment for r in alone.values()], ignore_index=True)
    n_alone = sum(r.n_sites for r in alone.values())
    row_alone = _stats(all_alone, n_alone, *args)
    row_joint = _stats(joint.assignment, joint.n_sites, *args)
    table = pd.DataFrame([row_alone, row_joint], index=["alone", "joint"], columns=list(COLUMNS))
    table.loc["difference"] = table.loc["joint"] - table.loc["alone"]
    return CooperationResult(
        table=table,
        by_town=_by_town(list(alone), alone, joint, x, args),
        alone=alone,
        joint=joint,
    )


def _by_town(
    towns: list[Hashable],
    alone: Mapping[Hashable, PlanResult],
    joint: PlanResult,
    x: _Inputs,
    args: tuple[float | None, float, float],
) -> pd.DataFrame:
    town_of = dict(zip(x.demand_ids.tolist(), x.demand_town.tolist(), strict=True))
    site_town = dict(zip(x.candidate_ids.tolist(), x.candidate_town.tolist(), strict=True))
    ja = joint.assignment
    ja_town = ja["demand_id"].map(town_of)
    out = []
    for town in towns:
        a = _stats(alone[town].assignment, alone[town].n_sites, *args)
        in_town = sum(1 for s in joint.sites if site_town[s] == town)
        j = _stats(ja[(ja_town == town).to_numpy()], in_town, *args)
        out.append(
            {
                "town": town,
                "facilities_alone": a["facilities"],
                "facilities_joint": j["facilities"],
                "mean_cost_alone": a["mean_cost"],
                "mean_cost_joint": j["mean_cost"],
                "p95_cost_alone": a["p95_cost"],
                "p95_cost_joint": j["p95_cost"],
                "demand_beyond_alone": a["demand_beyond"],
                "demand_beyond_joint": j["demand_beyond"],
            }
        )
    return pd.DataFrame(out).set_index("town")

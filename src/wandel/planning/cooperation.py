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

__all__ = ["COLUMNS", "CooperationResult", "cooperation_gain"]

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


def _town_p(p: int | Mapping[Hashable, int] | None, town: Hashable) -> int:
    if p is None:
        raise ModelInputError("p is required for the p-median and MCLP")
    if isinstance(p, Mapping):
        if town not in p:
            raise ModelInputError(f"no p given for town {town!r}")
        return int(p[town])
    return int(p)


def _model(
    kind: str,
    cost: NDArray[np.float64],
    demand: NDArray[np.float64],
    p: int | None,
    threshold: float | None,
    demand_ids: NDArray[Any],
    candidate_ids: NDArray[Any],
    fixed: list[Hashable],
    existing: list[Hashable],
    capacity: NDArray[np.float64] | None,
) -> LocationModel:
    common: dict[str, Any] = {
        "demand_ids": demand_ids,
        "candidate_ids": candidate_ids,
        "fixed": fixed,
        "existing": existing,
        "capacity": capacity,
    }
    if kind == "p_median":
        return p_median_from_cost_matrix(cost, demand, int(p or 0), threshold=threshold, **common)
    if kind == "mclp":
        if threshold is None:
            raise ModelInputError("MCLP needs a coverage threshold")
        return mclp_from_cost_matrix(cost, demand, int(p or 0), threshold, **common)
    if kind == "lscp":
        if threshold is None:
            raise ModelInputError("LSCP needs a coverage threshold")
        return lscp_from_cost_matrix(cost, threshold, demand, **common)
    raise ModelInputError(f"unknown model {kind!r}; expected p_median, mclp or lscp")


def cooperation_gain(
    cost: ArrayLike,
    demand: ArrayLike,
    demand_town: ArrayLike,
    candidate_town: ArrayLike,
    *,
    model: Literal["p_median", "mclp", "lscp"] = "p_median",
    p: int | Mapping[Hashable, int] | None = None,
    threshold: float | None = None,
    joint_p: int | None = None,
    fixed_cost_per_facility: float = 0.0,
    cost_per_unit_travel: float = 1.0,
    demand_ids: ArrayLike | None = None,
    candidate_ids: ArrayLike | None = None,
    fixed: Iterable[Hashable] | None = None,
    existing: Iterable[Hashable] | None = None,
    capacity: ArrayLike | None = None,
    solver: Solver | None = None,
) -> CooperationResult:
    """Solve each town alone and all towns jointly, and compare.

    Parameters
    ----------
    cost, demand
        The full cost matrix (all demand points x all candidates) and demand weights.
    demand_town, candidate_town
        Town label of each demand point and each candidate site.
    model
        ``"p_median"``, ``"mclp"`` or ``"lscp"``.
    p
        Facilities per town: one number for every town or a mapping town -> p (not for LSCP).
    threshold
        Coverage radius (MCLP, LSCP) and the "beyond" threshold of the statistics.
    joint_p
        Facilities of the joint plan; default the sum of the towns' ``p``.
    fixed_cost_per_facility, cost_per_unit_travel
        Money per open facility and per unit of demand-weighted cost.
    demand_ids, candidate_ids, fixed, existing, capacity
        As for the ``*_from_cost_matrix`` builders.
    solver
        Default :class:`~wandel.planning.HighsSolver`.

    Examples
    --------
    Two towns, each with one village near the shared border and one site on its own side; jointly
    one site at the border serves both villages as well as two sites did:

    >>> cost = [[5, 1, 9], [9, 1, 2]]
    >>> r = cooperation_gain(cost, [10, 10], ["A", "B"], ["A", "A", "B"], model="lscp",
    ...                      threshold=2, fixed_cost_per_facility=100)
    >>> r.table.loc[:, ["facilities", "total_cost"]].to_dict("index")["difference"]
    {'facilities': -1.0, 'total_cost': -110.0}
    """
    c = np.asarray(cost, dtype=np.float64)
    w = np.asarray(demand, dtype=np.float64)
    d_town = np.asarray(demand_town)
    c_town = np.asarray(candidate_town)
    if c.ndim != 2 or d_town.shape != (c.shape[0],) or c_town.shape != (c.shape[1],):
        raise ModelInputError(
            f"town labels must match the cost matrix {c.shape}: "
            f"{d_town.shape} demand, {c_town.shape} candidate labels"
        )
    d_ids = np.arange(c.shape[0]) if demand_ids is None else np.asarray(demand_ids)
    c_ids = np.arange(c.shape[1]) if candidate_ids is None else np.asarray(candidate_ids)
    cap = None if capacity is None else np.asarray(capacity, dtype=np.float64)
    fixed_set = set(fixed or ())
    existing_set = set(existing or ()) | fixed_set
    towns = list(dict.fromkeys(d_town.tolist()))
    alone: dict[Hashable, PlanResult] = {}
    total_p = 0
    for town in towns:
        rows = d_town == town
        cols = c_town == town
        if not cols.any():
            raise InfeasibleModelError(f"town {town!r} has demand but no candidate sites")
        tp = None if model == "lscp" else _town_p(p, town)
        total_p += tp or 0
        ids = c_ids[cols]
        sub = _model(
            model,
            c[np.ix_(rows, cols)],
            w[rows],
            tp,
            threshold,
            d_ids[rows],
            ids,
            [k for k in ids.tolist() if k in fixed_set],
            [k for k in ids.tolist() if k in existing_set],
            None if cap is None else cap[cols],
        )
        alone[town] = solve(sub, solver)
    jp = None if model == "lscp" else (joint_p if joint_p is not None else total_p)
    joint = solve(
        _model(
            model,
            c,
            w,
            jp,
            threshold,
            d_ids,
            c_ids,
            sorted(fixed_set, key=str),
            sorted(existing_set, key=str),
            cap,
        ),
        solver,
    )
    args = (threshold, fixed_cost_per_facility, cost_per_unit_travel)
    all_alone = pd.concat([r.assignment for r in alone.values()], ignore_index=True)
    n_alone = sum(r.n_sites for r in alone.values())
    row_alone = _stats(all_alone, n_alone, *args)
    row_joint = _stats(joint.assignment, joint.n_sites, *args)
    table = pd.DataFrame([row_alone, row_joint], index=["alone", "joint"], columns=list(COLUMNS))
    table.loc["difference"] = table.loc["joint"] - table.loc["alone"]
    return CooperationResult(
        table=table,
        by_town=_by_town(towns, alone, joint, d_ids, d_town, c_ids, c_town, args),
        alone=alone,
        joint=joint,
    )


def _by_town(
    towns: list[Hashable],
    alone: Mapping[Hashable, PlanResult],
    joint: PlanResult,
    d_ids: NDArray[Any],
    d_town: NDArray[Any],
    c_ids: NDArray[Any],
    c_town: NDArray[Any],
    args: tuple[float | None, float, float],
) -> pd.DataFrame:
    town_of = dict(zip(d_ids.tolist(), d_town.tolist(), strict=True))
    site_town = dict(zip(c_ids.tolist(), c_town.tolist(), strict=True))
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

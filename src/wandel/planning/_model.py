"""Location models built from a cost matrix: p-median, maximal covering (MCLP), set covering (LSCP).

A :class:`LocationModel` is a validated, immutable description of the problem; it holds no solver
state. External ids (demand points, candidate sites) are translated to array positions here, once:
row ``i`` of ``cost`` is ``demand_ids[i]`` and column ``j`` is ``candidate_ids[j]``; every result comes
back keyed by those ids.

Candidates are of three kinds: new sites that *may be added*, existing sites that *may close*
(``existing``), and existing sites that *must stay* (``fixed``, always open). Costs are travel times,
distances or any non-negative cost; ``inf`` marks a pair that is unreachable (e.g. beyond a matrix
cut-off). Missing (NaN) or negative costs are rejected.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wandel.errors import InfeasibleModelError, ModelInputError

__all__ = [
    "LocationModel",
    "ModelKind",
    "lscp_from_cost_matrix",
    "mclp_from_cost_matrix",
    "p_median_from_cost_matrix",
]

ModelKind = Literal["p_median", "mclp", "lscp"]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class LocationModel:
    """A location-allocation problem on a cost matrix.

    Attributes
    ----------
    kind
        ``"p_median"``, ``"mclp"`` or ``"lscp"``.
    cost
        ``(n_demand, n_candidates)`` non-negative costs; ``inf`` = unreachable. Read-only.
    demand
        ``(n_demand,)`` non-negative weights (people, pupils, ...).
    demand_ids, candidate_ids
        The user's ids for rows and columns.
    p
        Number of facilities to open (p-median, MCLP); ``None`` for LSCP.
    threshold
        Coverage radius (MCLP, LSCP: covered means ``cost <= threshold``). For the p-median only used
        for the summary statistic "demand beyond threshold".
    max_cost
        p-median only: a hard limit, every demand point must be served at ``cost <= max_cost``.
    capacity
        ``(n_candidates,)`` capacities in demand units, or ``None`` (uncapacitated). With capacities a
        demand point may be split over several facilities.
    fixed
        Boolean mask of sites that must stay open.
    existing
        Boolean mask of existing sites (``fixed`` is a subset); existing sites not chosen are reported
        as closed, chosen non-existing sites as opened.
    """

    kind: ModelKind
    cost: FloatArray
    demand: FloatArray
    demand_ids: NDArray[Any]
    candidate_ids: NDArray[Any]
    p: int | None
    threshold: float | None
    max_cost: float | None
    capacity: FloatArray | None
    fixed: BoolArray
    existing: BoolArray

    @property
    def n_demand(self) -> int:
        """Number of demand points (rows)."""
        return int(self.cost.shape[0])

    @property
    def n_candidates(self) -> int:
        """Number of candidate sites (columns)."""
        return int(self.cost.shape[1])

    @property
    def capacitated(self) -> bool:
        """Whether the model has capacities."""
        return self.capacity is not None

    @property
    def allowed(self) -> BoolArray:
        """Pairs a demand point may be served by: finite cost, and within ``max_cost`` if set.

        For LSCP this is the coverage relation ``cost <= threshold``.
        """
        limit = self.max_cost if self.kind == "p_median" else None
        if self.kind == "lscp":
            limit = self.threshold
        ok = np.isfinite(self.cost)
        if limit is not None:
            ok &= self.cost <= limit
        return ok


def _ids(ids: ArrayLike | None, size: int, what: str) -> NDArray[Any]:
    if ids is None:
        return np.arange(size)
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.shape[0] != size:
        key = "ids_rows" if what == "demand" else "ids_columns"
        raise ModelInputError(
            f"@planning.error.{key}",
            what=f"@planning.what.{what.replace(' ', '_')}",
            size=size,
            found=str(arr.shape),
        )
    uniq, counts = np.unique(arr, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][:5].tolist()
        raise ModelInputError(
            "@planning.error.ids_unique",
            what=f"@planning.what.{what.replace(' ', '_')}",
            dup=[str(d) for d in dup],
        )
    return arr


def _cost(cost: ArrayLike) -> FloatArray:
    arr = np.array(cost, dtype=np.float64, copy=True)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ModelInputError("@planning.error.cost_shape", found=str(arr.shape))
    return arr


def _check_cost_values(cost: FloatArray, demand_ids: NDArray[Any], cand_ids: NDArray[Any]) -> None:
    for bad, what in ((np.isnan(cost), "missing"), (cost < 0, "negative")):
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ModelInputError(
                f"@planning.error.cost_{what}",
                n=int(bad.sum()),
                demand=repr(demand_ids[i]),
                candidate=repr(cand_ids[j]),
                value=float(cost[i, j]),
            )


def _vector(
    values: ArrayLike, size: int, what: str, ids: NDArray[Any], allow_inf: bool
) -> FloatArray:
    arr = np.array(values, dtype=np.float64, copy=True)
    if arr.ndim != 1 or arr.shape[0] != size:
        raise ModelInputError(
            "@planning.error.values_shape",
            what=f"@planning.what.{what.replace(' ', '_')}",
            size=size,
            found=str(arr.shape),
        )
    bad = np.isnan(arr) | (arr < 0) | (~np.isfinite(arr) & (not allow_inf))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        key = "nonnegative_inf" if allow_inf else "nonnegative"
        raise ModelInputError(
            f"@planning.error.{key}",
            what=f"@planning.what.{what.replace(' ', '_')}",
            id=repr(ids[k]),
            value=float(arr[k]),
        )
    return arr


def _mask(sel: Iterable[Hashable] | None, cand_ids: NDArray[Any], what: str) -> BoolArray:
    mask = np.zeros(cand_ids.shape[0], dtype=bool)
    if sel is None:
        return mask
    position = {k: j for j, k in enumerate(cand_ids.tolist())}
    unknown = [s for s in sel if s not in position]
    if unknown:
        raise ModelInputError(
            "@planning.error.not_candidates",
            what=f"@planning.what.{what.replace(' ', '_')}",
            sites=[str(u) for u in unknown[:5]],
        )
    for s in sel:
        mask[position[s]] = True
    return mask


def _nonneg(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ModelInputError(
            "@planning.error.finite",
            what=f"@planning.what.{what.replace(' ', '_')}",
            value=repr(value),
        )
    return v


def _build(
    kind: ModelKind,
    cost: ArrayLike,
    demand: ArrayLike | None,
    p: int | None,
    threshold: float | None,
    max_cost: float | None,
    demand_ids: ArrayLike | None,
    candidate_ids: ArrayLike | None,
    fixed: Iterable[Hashable] | None,
    existing: Iterable[Hashable] | None,
    capacity: ArrayLike | None,
) -> LocationModel:
    c = _cost(cost)
    n, m = c.shape
    d_ids = _ids(demand_ids, n, "demand")
    c_ids = _ids(candidate_ids, m, "candidate")
    _check_cost_values(c, d_ids, c_ids)
    w = np.ones(n) if demand is None else _vector(demand, n, "demand", d_ids, allow_inf=False)
    cap = None if capacity is None else _vector(capacity, m, "capacity", c_ids, allow_inf=True)
    fix = _mask(fixed, c_ids, "fixed")
    ex = _mask(existing, c_ids, "existing") | fix
    if p is not None:
        if isinstance(p, bool) or not isinstance(p, int | np.integer) or not 1 <= p <= m:
            raise ModelInputError("@planning.error.p_range", m=m, p=repr(p))
        p = int(p)
        if int(fix.sum()) > p:
            raise InfeasibleModelError(
                "@planning.error.too_many_fixed",
                p=p,
                n=int(fix.sum()),
                sites=[str(s) for s in c_ids[fix][:10].tolist()],
            )
    for arr in (c, w, fix, ex, *(() if cap is None else (cap,))):
        arr.setflags(write=False)
    model = LocationModel(
        kind=kind,
        cost=c,
        demand=w,
        demand_ids=d_ids,
        candidate_ids=c_ids,
        p=p,
        threshold=_nonneg(threshold, "threshold"),
        max_cost=_nonneg(max_cost, "max_cost"),
        capacity=cap,
        fixed=fix,
        existing=ex,
    )
    check_feasible(model)
    return model


def check_feasible(model: LocationModel) -> None:
    """Raise :class:`InfeasibleModelError` for what can be seen before solving.

    Checks that every demand point with positive demand can be served at all (p-median: a finite
    cost within ``max_cost``; LSCP: a candidate within the threshold), and that capacities can hold
    the total demand with the allowed number of facilities.
    """
    served = model.demand > 0
    if model.kind != "mclp":
        reach = model.allowed.any(axis=1)
        lost = served & ~reach
        if lost.any():
            limit = model.threshold if model.kind == "lscp" else model.max_cost
            key = "unreachable" if limit is None else "unreachable_within"
            raise InfeasibleModelError(
                f"@planning.error.{key}",
                n=int(lost.sum()),
                limit=f"{limit:g}" if limit is not None else "",
                points=[str(d) for d in model.demand_ids[lost][:10].tolist()],
            )
    if model.capacity is not None:
        total = float(model.demand.sum())
        cap = model.capacity
        if model.p is None:
            best = float(cap.sum())
        else:
            others = np.sort(cap[~model.fixed])[::-1][: model.p - int(model.fixed.sum())]
            best = float(cap[model.fixed].sum() + others.sum())
        if best < total:
            key = "capacity_all" if model.p is None else "capacity_p"
            raise InfeasibleModelError(
                f"@planning.error.{key}", total=f"{total:g}", p=model.p, best=f"{best:g}"
            )


def p_median_from_cost_matrix(
    cost: ArrayLike,
    demand: ArrayLike,
    p: int,
    *,
    demand_ids: ArrayLike | None = None,
    candidate_ids: ArrayLike | None = None,
    fixed: Iterable[Hashable] | None = None,
    existing: Iterable[Hashable] | None = None,
    capacity: ArrayLike | None = None,
    max_cost: float | None = None,
    threshold: float | None = None,
) -> LocationModel:
    r"""The p-median problem: open ``p`` sites minimising the demand-weighted cost.

    .. math::

        \min \sum_i \sum_j w_i c_{ij} x_{ij} \quad\text{s.t.}\quad \sum_j x_{ij} = 1,\;
        x_{ij} \le y_j,\; \sum_j y_j = p,\; y_j \in \{0, 1\},\; y_j = 1 \text{ for fixed } j

    (Hakimi 1964; ReVelle & Swain 1970). With ``capacity``, :math:`\sum_i w_i x_{ij} \le Q_j y_j`
    and :math:`x_{ij} \in [0, 1]` may split a demand point over several sites. ``max_cost`` forbids
    assignments with :math:`c_{ij} >` ``max_cost``. ``threshold`` is only reported on
    (demand beyond it).

    Examples
    --------
    >>> m = p_median_from_cost_matrix([[1, 4], [3, 1], [5, 2]], [10, 1, 1], p=1)
    >>> (m.kind, m.n_demand, m.n_candidates, m.p)
    ('p_median', 3, 2, 1)
    """
    return _build(
        "p_median",
        cost,
        demand,
        p,
        threshold,
        max_cost,
        demand_ids,
        candidate_ids,
        fixed,
        existing,
        capacity,
    )


def mclp_from_cost_matrix(
    cost: ArrayLike,
    demand: ArrayLike,
    p: int,
    threshold: float,
    *,
    demand_ids: ArrayLike | None = None,
    candidate_ids: ArrayLike | None = None,
    fixed: Iterable[Hashable] | None = None,
    existing: Iterable[Hashable] | None = None,
    capacity: ArrayLike | None = None,
) -> LocationModel:
    r"""The maximal covering location problem: open ``p`` sites to cover the most demand.

    .. math::

        \max \sum_i w_i u_i \quad\text{s.t.}\quad u_i \le \sum_{j \in N_i} y_j,\;
        \sum_j y_j = p,\; u_i \in [0, 1],\; y_j \in \{0, 1\},\quad
        N_i = \{j : c_{ij} \le T\}

    (Church & ReVelle 1974). Demand not covered is assigned to its nearest open site.

    With ``capacity`` every demand point is served in full by open sites within their capacities
    (split allowed, :math:`\sum_j x_{ij} = 1`, :math:`\sum_i w_i x_{ij} \le Q_j y_j`), and the
    demand served within the threshold, :math:`\sum_i \sum_{j \in N_i} w_i x_{ij}`, is maximised.
    The total capacity of ``p`` sites must therefore hold the total demand.

    Examples
    --------
    >>> m = mclp_from_cost_matrix([[1, 4], [3, 1]], [2, 1], p=1, threshold=2)
    >>> (m.kind, m.threshold)
    ('mclp', 2.0)
    """
    if threshold is None:
        raise ModelInputError("MCLP needs a coverage threshold")
    return _build(
        "mclp",
        cost,
        demand,
        p,
        threshold,
        None,
        demand_ids,
        candidate_ids,
        fixed,
        existing,
        capacity,
    )


def lscp_from_cost_matrix(
    cost: ArrayLike,
    threshold: float,
    demand: ArrayLike | None = None,
    *,
    demand_ids: ArrayLike | None = None,
    candidate_ids: ArrayLike | None = None,
    fixed: Iterable[Hashable] | None = None,
    existing: Iterable[Hashable] | None = None,
    capacity: ArrayLike | None = None,
) -> LocationModel:
    r"""The location set covering problem: the fewest sites so that all demand is covered.

    .. math::

        \min \sum_j y_j \quad\text{s.t.}\quad \sum_{j \in N_i} y_j \ge 1 \;\forall i: w_i > 0,\;
        y_j \in \{0, 1\},\quad N_i = \{j : c_{ij} \le T\}

    (Toregas et al. 1971). Points with zero demand need no cover. ``demand`` defaults to 1 per
    point. With ``capacity`` each point is served in full within the threshold by open sites within
    their capacities (split allowed).

    Examples
    --------
    >>> m = lscp_from_cost_matrix([[1, 4], [3, 1]], threshold=2)
    >>> (m.kind, m.p, m.demand.tolist())
    ('lscp', None, [1.0, 1.0])
    """
    if threshold is None:
        raise ModelInputError("LSCP needs a coverage threshold")
    return _build(
        "lscp",
        cost,
        demand,
        None,
        threshold,
        None,
        demand_ids,
        candidate_ids,
        fixed,
        existing,
        capacity,
    )

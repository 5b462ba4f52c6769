"""The solver protocol: anything with a ``name`` and ``solve(model) -> PlanResult``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from wandel.planning._model import LocationModel
from wandel.planning._result import PlanResult

__all__ = ["Solver", "solve"]


@runtime_checkable
class Solver(Protocol):
    """A location-model solver (:class:`HighsSolver`, :class:`GreedyInterchangeSolver`)."""

    @property
    def name(self) -> str:
        """Short solver name reported in results."""
        ...

    def solve(self, model: LocationModel) -> PlanResult:
        """Solve ``model``; raise :class:`InfeasibleModelError` if it has no solution."""
        ...


def solve(model: LocationModel, solver: Solver | None = None) -> PlanResult:
    """Solve ``model`` with ``solver`` (default: the exact :class:`HighsSolver`).

    Examples
    --------
    >>> from wandel.planning import p_median_from_cost_matrix
    >>> m = p_median_from_cost_matrix([[1, 4], [3, 1], [5, 2]], [10, 1, 1], p=1)
    >>> r = solve(m)
    >>> r.sites, r.objective, r.gap
    ((0,), 18.0, 0.0)
    """
    if solver is None:
        from wandel.planning._highs import HighsSolver

        solver = HighsSolver()
    return solver.solve(model)

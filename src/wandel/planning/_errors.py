"""Errors of the location models: a model that cannot be solved, or a solver that cannot take it."""

from __future__ import annotations

from wandel.errors import WandelError

__all__ = [
    "InfeasibleModelError",
    "ModelInputError",
    "SolverLimitError",
    "UnsupportedModelError",
]


class InfeasibleModelError(WandelError, ValueError):
    """The location model has no feasible solution.

    Raised with what is asked and where it fails: the demand points that no candidate reaches within
    the threshold, ``p`` smaller than the fixed sites or than the minimum cover, total capacity below
    total demand.
    """


class ModelInputError(WandelError, ValueError):
    """The inputs of a location model (cost matrix, demand, ids, capacities, p) are malformed.

    Missing (NaN) or negative costs, a shape that does not match the ids, duplicate ids, negative
    demand or capacity. The message names the first offending demand and candidate ids.
    """


class UnsupportedModelError(WandelError, ValueError):
    """The chosen solver cannot solve this kind of model (e.g. capacities with the heuristic)."""


class SolverLimitError(WandelError, RuntimeError):
    """The solver hit its time limit before it found any feasible solution."""

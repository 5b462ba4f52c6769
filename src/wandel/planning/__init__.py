"""Location-allocation and cooperation gain: where to put facilities, alone or jointly.

Models are built from a cost matrix (core: :func:`p_median_from_cost_matrix`,
:func:`mclp_from_cost_matrix`, :func:`lscp_from_cost_matrix`) or from geodata (convenience:
``*_from_geodataframe``, which build the matrix and delegate). A solver is passed in: the exact
:class:`HighsSolver` (HiGHS MIP, reports the proven gap) or the fast
:class:`GreedyInterchangeSolver` (``gap=None``). Results are immutable :class:`PlanResult` values
keyed by the user's ids. :mod:`wandel.planning.cooperation` compares each town alone with all towns
planning jointly.
"""

from wandel.errors import (
    InfeasibleModelError,
    ModelInputError,
    SolverLimitError,
    UnsupportedModelError,
)
from wandel.planning._geo import (
    cost_matrix_from_geodataframe,
    lscp_from_geodataframe,
    mclp_from_geodataframe,
    p_median_from_geodataframe,
)
from wandel.planning._heuristic import GreedyInterchangeSolver
from wandel.planning._highs import HighsSolver
from wandel.planning._model import (
    LocationModel,
    lscp_from_cost_matrix,
    mclp_from_cost_matrix,
    p_median_from_cost_matrix,
)
from wandel.planning._result import PlanResult, weighted_quantile
from wandel.planning._solver import Solver, solve

__all__ = [
    "GreedyInterchangeSolver",
    "HighsSolver",
    "InfeasibleModelError",
    "LocationModel",
    "ModelInputError",
    "PlanResult",
    "Solver",
    "SolverLimitError",
    "UnsupportedModelError",
    "cost_matrix_from_geodataframe",
    "lscp_from_cost_matrix",
    "lscp_from_geodataframe",
    "mclp_from_cost_matrix",
    "mclp_from_geodataframe",
    "p_median_from_cost_matrix",
    "p_median_from_geodataframe",
    "solve",
    "weighted_quantile",
]

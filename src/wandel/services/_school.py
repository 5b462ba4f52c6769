"""Compiled (numba) school classes per draw: pupils by grade, classes under the Land's maximum,
grades below its minimum, in one pass over a chunk's population.

The same numbers as the numpy composition of :mod:`wandel.services.rules` (the hand-computed
cases live there): pupils of a grade ``n = floor((men + women) + 0.5)`` (:func:`pupils_whole` of
the single-age group of both sexes), classes ``ceil(n / max)`` for ``n > 0`` else 0, summed over
the grades (:func:`classes_needed`; NaN where the maximum is missing), grades ``n < cohort``
counted (NaN where the minimum is not finite). Classes and grade counts are whole numbers, so their
sums are exact in any order; the work arrays stay in the cache and the draws are the innermost,
vectorised axis. ``nogil``: the services' threads run it side by side.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["school_classes"]

Array = npt.NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def _kernel(
    pop: Any, grades: Any, max_class: Any, cohort: Any, classes: Any, below: Any, n: Any
) -> None:  # pragma: no cover - compiled
    n_t, n_z, _s, _g, n_d = pop.shape
    for t in range(n_t):
        for z in range(n_z):
            mx = max_class[t, z]
            co = cohort[t, z]
            cls = classes[t, z]
            bel = below[t, z]
            for d in range(n_d):
                cls[d] = 0.0
                bel[d] = 0.0
            for gi in range(grades.shape[0]):
                g = grades[gi]
                men = pop[t, z, 0, g]
                women = pop[t, z, 1, g]
                for d in range(n_d):
                    n[d] = np.floor((men[d] + women[d]) + 0.5)
                for d in range(n_d):
                    x = n[d]
                    cls[d] += np.ceil(x / mx) if x > 0 else 0.0
                for d in range(n_d):
                    bel[d] += 1.0 if n[d] < co else 0.0
            if mx != mx:
                for d in range(n_d):
                    cls[d] = np.nan
            if not np.isfinite(co):
                for d in range(n_d):
                    bel[d] = np.nan


def school_classes(
    pop: Array, grades: npt.NDArray[np.int64], max_class: Array, cohort: Array
) -> tuple[Array, Array]:
    """Classes and grades below the minimum, ``(T, Zc, D)`` each, of a population ``[year, zone,
    sex, group, draw]`` whose groups ``grades`` are the single ages of the school's grades;
    ``max_class`` and ``cohort`` ``(T, Zc)`` (NaN: no rule)."""
    t, zc, _s, _g, d = pop.shape
    classes = np.empty((t, zc, d))
    below = np.empty((t, zc, d))
    _kernel(
        np.ascontiguousarray(pop, dtype=np.float64),
        np.ascontiguousarray(grades, dtype=np.int64),
        np.ascontiguousarray(max_class, dtype=np.float64),
        np.ascontiguousarray(cohort, dtype=np.float64),
        classes,
        below,
        np.empty(d),
    )
    return classes, below

"""The rules behind the services: class formation, GP Versorgungsgrad, fire-brigade readiness.

Each rule is a small vectorised function (numpy arrays of any shape broadcast together) with the
formula in its docstring and hand-computed examples; the service models apply them to every zone,
year and draw.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "classes_needed",
    "min_cohort",
    "pupils_whole",
    "readiness",
    "versorgungsgrad",
]

Array = npt.NDArray[np.float64]


def pupils_whole(n: npt.ArrayLike) -> Array:
    """Projected pupils of a grade as whole pupils: ``floor(n + 0.5)`` (a projection gives
    expected values such as 28.4; a class is formed from whole children).

    >>> pupils_whole([14.49, 14.5, 28.0]).tolist()
    [14.0, 15.0, 28.0]
    """
    return np.floor(np.asarray(n, dtype=np.float64) + 0.5)


def classes_needed(pupils: npt.ArrayLike, max_class: npt.ArrayLike) -> Array:
    """Classes one grade needs so that no class exceeds ``max_class``: ``ceil(n / max)``.

    ``n`` whole pupils (see :func:`pupils_whole`); 0 pupils need 0 classes; without a maximum
    (NaN) the answer is NaN, whatever ``n``. Sachsen, § 4a Abs. 2
    SächsSchulG: at most 28 per class, so 28 pupils form 1 class and 29 form 2.

    >>> classes_needed([0, 1, 28, 29, 56, 57], 28).tolist()
    [0.0, 1.0, 1.0, 2.0, 2.0, 3.0]
    """
    n = np.asarray(pupils, dtype=np.float64)
    m = np.asarray(max_class, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.where(n > 0, np.ceil(n / m), 0.0)
    return np.where(np.isnan(m), np.nan, out)


def min_cohort(
    min_first_class: npt.ArrayLike,
    min_further_class: npt.ArrayLike,
    min_tracks: npt.ArrayLike,
) -> Array:
    """Pupils a grade needs for the school to meet its Land's minimum:
    ``first + (tracks - 1) * further``.

    A school that must run ``tracks`` parallel classes (Zügigkeit) needs one first class of
    ``first`` pupils and ``tracks - 1`` further classes of ``further`` pupils. Sachsen's
    Grundschule (15 first, 14 further, no Zügigkeit rule, i.e. 1 track): 15. Sachsen's
    Oberschule (20 per class, at least two tracks): 40. A missing ``further`` (NaN) only matters
    with more than one track.

    >>> min_cohort([15, 20, 15], [14, 20, np.nan], [1, 2, 1]).tolist()
    [15.0, 40.0, 15.0]
    """
    first = np.asarray(min_first_class, dtype=np.float64)
    further = np.asarray(min_further_class, dtype=np.float64)
    tracks = np.asarray(min_tracks, dtype=np.float64)
    extra = np.where(tracks > 1, (tracks - 1) * further, 0.0)
    return first + extra


def versorgungsgrad(
    gps: npt.ArrayLike, population: npt.ArrayLike, inhabitants_per_gp: npt.ArrayLike
) -> Array:
    """Versorgungsgrad of a planning area: GPs present / GPs the Verhältniszahl asks for.

    ``VG = gps / (population / inhabitants_per_gp)``. The Bedarfsplanungs-Richtlinie calls an area
    overserved above 110 % and (for GPs) underserved below 75 %. The general Verhältniszahl is used
    without the regional Morbiditätsfaktor (Wandel does not ship it), so the figure approximates
    the official one.

    A Mittelbereich of 24,495 people with 12 GPs at 1,633 inhabitants per GP:
    15 GPs are asked for, VG = 80 %.

    >>> round(float(versorgungsgrad(12, 24_495, 1_633)), 3)
    0.8
    """
    need = np.asarray(population, dtype=np.float64) / np.asarray(
        inhabitants_per_gp, dtype=np.float64
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(gps, dtype=np.float64) / need


def readiness(crew_available: npt.ArrayLike, crew_required: npt.ArrayLike) -> Array:
    """Day readiness of the fire brigades for a zone: crew that can arrive in time / crew required.

    ``crew_available`` = members of active age available on a weekday (``members * weekday
    share``) summed over the brigades that reach the zone within the Land's time; 1 or more means
    the Land's minimum (Sachsen-Anhalt: one Gruppe of 9 within 12 minutes) is met.

    >>> readiness([4.5, 9.0, 13.5], 9).tolist()
    [0.5, 1.0, 1.5]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(crew_available, dtype=np.float64) / np.asarray(
            crew_required, dtype=np.float64
        )

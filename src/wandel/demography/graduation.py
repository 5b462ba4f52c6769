"""Age graduation: counts in age groups to single years 0..100+, preserving every group total.

Method: monotone piecewise-cubic (PCHIP, Fritsch & Carlson 1980 with the Fritsch & Butland harmonic
mean) interpolation of the **cumulative** count ``C`` at the group borders, differenced at whole ages.

* Group totals are preserved: ``C`` is interpolated, so it passes through every border exactly; a final
  rescaling within each group removes floating-point drift (totals equal to float precision).
* Never negative: PCHIP keeps the monotonicity of the non-decreasing ``C`` (tiny negative rounding
  residues are set to 0 before the rescaling); an empty group gets zeros.
* Smooth: ``C`` is continuously differentiable, so the single-age density has no jump at a border.
* Guided by a shape: the interpolation runs in a warped coordinate ``u = F(x)``, the cumulative of a
  single-age *shape* ``w`` (ages 0..100+). Where the zone's counts are proportional to the shape, the
  result equals ``total * w`` within the group exactly; in general the single-age counts are
  ``w(x) * dC/du``, with ``dC/du`` smooth. With a ``parent`` region's single-age counts as the shape,
  the within-group distribution follows the parent's. Without a parent the shape is 1 below the open
  group (plain PCHIP in age) and a decreasing tail in the open group (:func:`default_tail_shape`,
  or ``tail_shape``), so the open group (e.g. 75+) is spread to 100+.

Everything is vectorised over leading axes (zones, sexes): 10,800 zones take milliseconds.

References: Fritsch & Carlson (1980), SIAM J. Numer. Anal. 17; Fritsch & Butland (1984); for the
alternative PCLM see Rizzi, Gampe & Eilers (2015), Am. J. Epidemiol. 182.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from wandel.ages import group_single_ages
from wandel.demography.lifetable import OPEN_AGE

__all__ = [
    "BREAKS_5Y",
    "BREAKS_17",
    "BREAKS_SINGLE_TO_74",
    "default_tail_shape",
    "graduate",
    "group_single_ages",
]

Array = npt.NDArray[np.float64]

BREAKS_17: tuple[int, ...] = (0, 3, 6, 10, 15, 18, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 75)
"""Group starts of the 17 Regionaldatenbank age groups (the last, 75+, open)."""

BREAKS_5Y: tuple[int, ...] = tuple(range(0, 95, 5))
"""Group starts of 5-year groups 0-4 .. 85-89 and 90+ (open)."""

BREAKS_SINGLE_TO_74: tuple[int, ...] = (*range(75), 75, 80, 85, 90)
"""Single ages 0..74, then 75-79, 80-84, 85-89 and 90+ (open), as table 12411-04-02-4."""

N_AGES = OPEN_AGE + 1


def default_tail_shape(start: int, *, m_start: float = 0.035, b: float = 0.105) -> Array:
    """Default relative sizes of single ages ``start .. 100+`` inside an open age group.

    A stationary population under Gompertz mortality ``m(x) = m_start * exp(b (x - 75))`` (roughly
    German mortality of both sexes in the 2020s): ``w(x) = S(x) / S(start)`` with
    ``S(x) = exp(-(m_75 / b) exp(b (x - 75)))``; the last entry holds the whole 100+ remainder,
    ``sum_{y >= 100} S(y) / S(start)``. Cohort-size effects are ignored; pass a parent's shape for
    those.

    >>> w = default_tail_shape(75)
    >>> len(w), float(w[0]), round(float(w[15] / w[0]), 3)
    (26, 1.0, 0.279)
    """
    ages = np.arange(start, 131, dtype=np.float64)
    cum_hazard = (m_start / b) * np.exp(b * (ages - 75.0))
    s = np.exp(-(cum_hazard - cum_hazard[0]))
    n_closed = OPEN_AGE - start
    return np.concatenate([s[:n_closed], [s[n_closed:].sum()]])


def _check_breaks(breaks: Sequence[int]) -> npt.NDArray[np.int64]:
    b = np.asarray(breaks, dtype=np.int64)
    if b.ndim != 1 or b.size < 1 or b[0] != 0 or np.any(np.diff(b) <= 0) or b[-1] > OPEN_AGE:
        raise ValueError(
            f"breaks must start at 0, increase strictly and end at or below {OPEN_AGE}: {list(breaks)}"
        )
    return b


def _pchip_slopes(x: Array, y: Array) -> Array:
    """PCHIP derivatives at knots ``x`` (rows, K+1) of values ``y`` (same shape), per row."""
    h = np.diff(x, axis=-1)
    delta = np.diff(y, axis=-1) / h
    d = np.zeros_like(y)
    if h.shape[-1] == 1:
        d[...] = delta
        return d
    h0, h1 = h[..., :-1], h[..., 1:]
    d0, d1 = delta[..., :-1], delta[..., 1:]
    w1 = 2.0 * h1 + h0
    w2 = h1 + 2.0 * h0
    same = (d0 > 0) & (d1 > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        harm = (w1 + w2) / (w1 / d0 + w2 / d1)
    d[..., 1:-1] = np.where(same, harm, 0.0)
    d[..., 0] = _edge_slope(h[..., 0], h[..., 1], delta[..., 0], delta[..., 1])
    d[..., -1] = _edge_slope(h[..., -1], h[..., -2], delta[..., -1], delta[..., -2])
    return d


def _edge_slope(h0: Array, h1: Array, m0: Array, m1: Array) -> Array:
    """One-sided three-point end slope, shape-preserving (as scipy's PchipInterpolator)."""
    d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    d = np.where(np.sign(d) != np.sign(m0), 0.0, d)
    too_big = (np.sign(m0) != np.sign(m1)) & (np.abs(d) > 3.0 * np.abs(m0))
    return np.where(too_big, 3.0 * m0, d)


def graduate(
    counts: npt.ArrayLike,
    breaks: Sequence[int],
    *,
    parent: npt.ArrayLike | None = None,
    tail_shape: npt.ArrayLike | None = None,
) -> Array:
    """Split age-group counts into single years 0..100+ (101 values on the last axis).

    Parameters
    ----------
    counts
        Group counts, groups on the last axis (any leading axes: zones, sexes), non-negative.
    breaks
        First age of each group, starting at 0; the last group is open (up to 100+), e.g.
        :data:`BREAKS_17`, :data:`BREAKS_5Y`, :data:`BREAKS_SINGLE_TO_74`.
    parent
        Optional single-age counts 0..100+ of a parent region (broadcast against ``counts``' leading
        axes) whose shape guides the distribution within each group.
    tail_shape
        Relative sizes of ages ``breaks[-1] .. 100+`` in the open group when no parent is given;
        default :func:`default_tail_shape`.

    Returns
    -------
    numpy.ndarray
        Single-age counts, shape ``counts.shape[:-1] + (101,)``; ``group_single_ages(result, breaks)``
        equals ``counts`` to float precision.

    Examples
    --------
    >>> single = graduate([30.0, 50.0, 20.0], [0, 3, 8])
    >>> single[:3].sum(), single[3:8].sum(), round(float(single[8:].sum()), 10)
    (np.float64(30.0), np.float64(50.0), 20.0)
    """
    c = np.asarray(counts, dtype=np.float64)
    b = _check_breaks(breaks)
    if c.shape[-1] != b.size:
        raise ValueError(f"counts have {c.shape[-1]} groups on the last axis, breaks {b.size}")
    if np.any(~np.isfinite(c)) or np.any(c < 0):
        raise ValueError("counts must be finite and non-negative")
    lead = c.shape[:-1]
    shape = _shape(b, lead, parent, tail_shape)
    # warped coordinate: u at every whole age 0..101 (101 = end of the open group)
    u = np.concatenate([np.zeros((*shape.shape[:-1], 1)), np.cumsum(shape, axis=-1)], axis=-1)
    u = np.broadcast_to(u, (*lead, N_AGES + 1))
    edges = np.append(b, N_AGES)
    knots_u = u[..., edges]
    knots_c = np.concatenate([np.zeros((*lead, 1)), np.cumsum(c, axis=-1)], axis=-1)
    slopes = _pchip_slopes(knots_u, knots_c)
    # the group (interval) of every whole age 0..101; age 101 closes the last interval
    grp = np.searchsorted(b, np.arange(N_AGES + 1), side="right") - 1
    grp[-1] = b.size - 1
    x0, x1 = knots_u[..., grp], knots_u[..., grp + 1]
    y0, y1 = knots_c[..., grp], knots_c[..., grp + 1]
    d0, d1 = slopes[..., grp], slopes[..., grp + 1]
    h = x1 - x0
    s = (u - x0) / h
    s2, s3 = s * s, s * s * s
    cum = (
        (2 * s3 - 3 * s2 + 1) * y0
        + (s3 - 2 * s2 + s) * h * d0
        + (-2 * s3 + 3 * s2) * y1
        + (s3 - s2) * h * d1
    )
    single = np.maximum(np.diff(cum, axis=-1), 0.0)
    return _rescale_to_groups(single, c, b)


def _shape(
    b: npt.NDArray[np.int64],
    lead: tuple[int, ...],
    parent: npt.ArrayLike | None,
    tail_shape: npt.ArrayLike | None,
) -> Array:
    """The single-age guide shape, strictly positive, shape broadcastable to ``lead + (101,)``."""
    if parent is not None:
        p = np.asarray(parent, dtype=np.float64)
        if p.shape[-1] != N_AGES:
            raise ValueError(f"parent needs {N_AGES} single ages on its last axis")
        if np.any(~np.isfinite(p)) or np.any(p < 0):
            raise ValueError("parent must be finite and non-negative")
        # a floor keeps u strictly increasing where the parent has nobody
        scale = np.maximum(p.mean(axis=-1, keepdims=True), 1e-300)
        shape: Array = p / scale + 1e-6
        return shape
    start = int(b[-1])
    tail = default_tail_shape(start) if tail_shape is None else np.asarray(tail_shape, float)
    if tail.shape != (N_AGES - start,) or np.any(tail <= 0):
        raise ValueError(f"tail_shape needs {N_AGES - start} positive values (ages {start}..100+)")
    return np.concatenate([np.ones(start), tail / tail[0]])


def _rescale_to_groups(single: Array, c: Array, b: npt.NDArray[np.int64]) -> Array:
    """Scale single ages within each group so that they sum to the group total."""
    sums = np.add.reduceat(single, b, axis=-1)
    widths = np.diff(np.append(b, N_AGES))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(sums > 0, c / sums, 0.0)
    out: Array = single * np.repeat(factor, widths, axis=-1)
    # a group whose interpolated mass vanished but whose total is positive: spread it evenly
    lost = (sums <= 0) & (c > 0)
    if np.any(lost):
        even = np.repeat(np.where(lost, c / widths, 0.0), widths, axis=-1)
        out = np.where(np.repeat(lost, widths, axis=-1), even, out)
    return out

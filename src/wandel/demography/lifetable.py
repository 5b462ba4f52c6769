"""Period life tables by single age 0..100+ from the demographers' identities.

Every identity is a small function over numpy arrays with **age on the last axis**, so one call handles
any number of tables (zones, sexes, draws) at once. The full table is composed from them in
:func:`life_table_from_qx`, following the Destatis convention for the German period life tables
(Sterbetafeln, table 12621-0001):

* ``ax = 0.5`` (deaths fall on average in the middle of the year of age) for every age except 0;
* ``a0`` from the distribution of infant deaths within the first year; the default
  :data:`A0_DESTATIS` is the mean of the values implied by the 2022/24 table
  (``a0 = (L0 - l1) / d0``: 0.1216 male, 0.1348 female);
* the last age is an open group (100+) with ``L = l / m`` and ``T = L``.

Identities (single years, ``n = 1``)::

    q(x) = m(x) / (1 + (1 - a(x)) m(x))          m(x) = q(x) / (1 - (1 - a(x)) q(x))
    l(x+1) = l(x) (1 - q(x))                      d(x) = l(x) - l(x+1)      (d = l for the open group)
    L(x) = l(x+1) + a(x) d(x)                     L(open) = l(open) / m(open)
    T(x) = sum_{y >= x} L(y)                      e(x) = T(x) / l(x)

References: Preston, Heuveline & Guillot (2001), *Demography*, ch. 3; Destatis, *Allgemeine
Sterbetafeln: Methodische Erläuterungen*; Riffe et al., DemoTools ``lt_id.R``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "A0_DESTATIS",
    "OPEN_AGE",
    "LifeTable",
    "Lx_from_lx_ax",
    "SurvivalRatios",
    "Tx_from_Lx",
    "dx_from_lx",
    "ex_from_Tx_lx",
    "life_table_from_qx",
    "lx_from_qx",
    "mx_from_qx_ax",
    "qx_from_mx_ax",
    "survival_ratios",
]

Array = npt.NDArray[np.float64]

OPEN_AGE = 100
"""First age of the open group: single ages 0..99 and 100+ (101 age classes)."""

A0_DESTATIS = 0.128
"""Default a0: mean of the values implied by the Destatis 2022/24 table (0.1216 m, 0.1348 f)."""


def _f(x: npt.ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


def qx_from_mx_ax(mx: npt.ArrayLike, ax: npt.ArrayLike) -> Array:
    """Probability of dying within the year of age from the death rate: ``q = m / (1 + (1 - a) m)``.

    >>> float(qx_from_mx_ax(0.1, 0.5).round(6))
    0.095238
    """
    m, a = _f(mx), _f(ax)
    return m / (1.0 + (1.0 - a) * m)


def mx_from_qx_ax(qx: npt.ArrayLike, ax: npt.ArrayLike) -> Array:
    """Death rate from the probability of dying: ``m = q / (1 - (1 - a) q)`` (inverse of the above).

    >>> float(mx_from_qx_ax(qx_from_mx_ax(0.1, 0.5), 0.5).round(12))
    0.1
    """
    q, a = _f(qx), _f(ax)
    return q / (1.0 - (1.0 - a) * q)


def lx_from_qx(qx: npt.ArrayLike, radix: float = 100_000.0) -> Array:
    """Survivors at exact age x: ``l(0) = radix``, ``l(x+1) = l(x) (1 - q(x))`` (age on the last axis).

    >>> lx_from_qx([0.5, 0.5, 1.0], radix=100).tolist()
    [100.0, 50.0, 25.0]
    """
    q = _f(qx)
    p = np.concatenate([np.ones((*q.shape[:-1], 1)), 1.0 - q[..., :-1]], axis=-1)
    return radix * np.cumprod(p, axis=-1)


def dx_from_lx(lx: npt.ArrayLike) -> Array:
    """Deaths between x and x+1: ``d(x) = l(x) - l(x+1)``; the open (last) group loses all, ``d = l``.

    >>> dx_from_lx([100.0, 50.0, 25.0]).tolist()
    [50.0, 25.0, 25.0]
    """
    ell = _f(lx)
    nxt: Array = np.concatenate([ell[..., 1:], np.zeros((*ell.shape[:-1], 1))], axis=-1)
    return ell - nxt


def Lx_from_lx_ax(lx: npt.ArrayLike, ax: npt.ArrayLike, open_mx: npt.ArrayLike) -> Array:
    """Person-years lived between x and x+1: ``L(x) = l(x+1) + a(x) d(x)``; open group ``L = l / m``.

    ``open_mx`` is the death rate of the open group (one value per table, shape ``lx.shape[:-1]``).

    >>> Lx_from_lx_ax([100.0, 50.0, 25.0], 0.5, 0.5).tolist()
    [75.0, 37.5, 50.0]
    """
    ell = _f(lx)
    a = np.broadcast_to(_f(ax), ell.shape)
    d = dx_from_lx(ell)
    L = ell - (1.0 - a) * d
    L[..., -1] = ell[..., -1] / _f(open_mx)
    return L


def Tx_from_Lx(Lx: npt.ArrayLike) -> Array:
    """Person-years lived above age x: ``T(x) = sum_{y >= x} L(y)``.

    >>> Tx_from_Lx([75.0, 37.5, 50.0]).tolist()
    [162.5, 87.5, 50.0]
    """
    L = _f(Lx)
    return np.flip(np.cumsum(np.flip(L, axis=-1), axis=-1), axis=-1)


def ex_from_Tx_lx(Tx: npt.ArrayLike, lx: npt.ArrayLike) -> Array:
    """Life expectancy at age x: ``e(x) = T(x) / l(x)``.

    >>> ex_from_Tx_lx([162.5, 87.5, 50.0], [100.0, 50.0, 25.0]).tolist()
    [1.625, 1.75, 2.0]
    """
    return _f(Tx) / _f(lx)


@dataclass(frozen=True, eq=False)
class LifeTable:
    """A complete period life table, ages ``0..OPEN_AGE`` (the last open), age on the last axis.

    Attributes follow the demographers' symbols: ``qx`` (1 in the open group), ``ax``, ``mx``,
    ``lx``, ``dx``, ``Lx``, ``Tx``, ``ex``. ``radix`` is ``l(0)``.
    """

    age: npt.NDArray[np.int64]
    qx: Array
    ax: Array
    mx: Array
    lx: Array
    dx: Array
    Lx: Array
    Tx: Array
    ex: Array
    radix: float

    @property
    def e0(self) -> Array:
        """Life expectancy at birth, shape ``qx.shape[:-1]``."""
        return self.ex[..., 0]


def life_table_from_qx(
    qx: npt.ArrayLike,
    ax: npt.ArrayLike | None = None,
    radix: float = 100_000.0,
    *,
    a0: npt.ArrayLike = A0_DESTATIS,
    open_mx: npt.ArrayLike | None = None,
) -> LifeTable:
    """Build the full life table from ``q(x)`` for single ages 0..100, the last age taken as 100+.

    Parameters
    ----------
    qx
        Probabilities of dying, age on the last axis (101 values: 0..99 and the open group 100+).
        The last value is the one-year ``q(100)`` as Destatis publishes it; in the table the open group
        has ``q = 1``.
    ax
        Average years lived in the interval by those who die; default 0.5 for every age and ``a0``
        at age 0 (Destatis convention).
    radix
        ``l(0)``.
    a0
        ``a`` at age 0, used only when ``ax`` is None.
    open_mx
        Death rate of the open group, so that ``L(100+) = l(100) / m(100+)``. Default: the constant
        hazard implied by the one-year ``q`` of the last age, ``m = -ln(1 - q(100))`` (an open group
        with constant mortality). To reproduce a published table pass its ``l(100) / T(100)``.

    Returns
    -------
    LifeTable

    Examples
    --------
    >>> q = np.full(101, 0.01); q[-1] = 0.5
    >>> lt = life_table_from_qx(q)
    >>> round(float(lt.e0), 2), round(float(lt.ex[..., -1]), 3)
    (63.6, 1.443)
    """
    q_in = _f(qx)
    if q_in.shape[-1] != OPEN_AGE + 1:
        raise ValueError(f"qx needs {OPEN_AGE + 1} ages on its last axis, got {q_in.shape[-1]}")
    if np.any(~np.isfinite(q_in)) or np.any(q_in < 0) or np.any(q_in > 1):
        raise ValueError("qx must lie in [0, 1]")
    if ax is None:
        a = np.full(q_in.shape, 0.5)
        a[..., 0] = _f(a0)
    else:
        a = np.array(np.broadcast_to(_f(ax), q_in.shape))
    if open_mx is None:
        q_last = q_in[..., -1]
        if np.any(q_last >= 1):
            raise ValueError("q of the last age is 1: pass open_mx for the open group")
        m_open = -np.log1p(-q_last)
    else:
        m_open = _f(open_mx)
    if np.any(m_open <= 0):
        raise ValueError("open_mx must be positive")
    q = q_in.copy()
    q[..., -1] = 1.0
    lx = lx_from_qx(q, radix)
    dx = dx_from_lx(lx)
    Lx = Lx_from_lx_ax(lx, a, m_open)
    Tx = Tx_from_Lx(Lx)
    ex = ex_from_Tx_lx(Tx, lx)
    mx = mx_from_qx_ax(q[..., :-1], a[..., :-1])  # equals d/L, without its cancellation
    mx = np.concatenate([mx, np.broadcast_to(m_open, q.shape[:-1])[..., None]], axis=-1)
    a[..., -1] = 1.0 / m_open
    return LifeTable(
        age=np.arange(OPEN_AGE + 1, dtype=np.int64),
        qx=q,
        ax=a,
        mx=mx,
        lx=lx,
        dx=dx,
        Lx=Lx,
        Tx=Tx,
        ex=ex,
        radix=float(radix),
    )


@dataclass(frozen=True, eq=False)
class SurvivalRatios:
    """One-year survival ratios for a cohort-component projection.

    Attributes
    ----------
    sx
        ``sx[..., x]`` is the share of people aged x at the start of a year who are alive, aged x+1,
        at its end: ``S(x) = L(x+1) / L(x)`` for x = 0..98. The last two entries (ages 99 and 100+)
        both hold ``S(99+) = T(100) / T(99)``: people aged 99 and 100+ together form the open group
        100+ a year later, ``P(100+, t+1) = (P(99, t) + P(100+, t)) T(100) / T(99)``.
    birth
        ``L(0) / l(0)``: the share of the births of a year alive (aged 0) at its end.
    """

    sx: Array
    birth: Array


def survival_ratios(lt: LifeTable) -> SurvivalRatios:
    """Survival ratios ``S(x)`` (including the open group) and birth survival ``L0 / l0``.

    >>> q = np.full(101, 0.01); q[-1] = 0.5
    >>> s = survival_ratios(life_table_from_qx(q))
    >>> round(float(s.sx[..., 0]), 4), round(float(s.sx[..., -1]), 4), round(float(s.birth), 4)
    (0.9937, 0.5894, 0.9913)
    """
    L, T = lt.Lx, lt.Tx
    sx = np.empty_like(L)
    sx[..., :-2] = L[..., 1:-1] / L[..., :-2]
    open_s = T[..., -1] / T[..., -2]
    sx[..., -2] = open_s
    sx[..., -1] = open_s
    return SurvivalRatios(sx=sx, birth=L[..., 0] / lt.radix)

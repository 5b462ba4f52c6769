"""Compiled (numba) kernel for the deterministic fused case of the projection engine.

The case: survival and ageing (open group 100+), births from ``asfr`` with the mid-year exposure
of women, the sex ratio at birth and birth survival, out-migration rates (capped by the people
present), in-migration counts, optional scenario flows (negative ones capped), and optional
fertility and in-migration levels per year and draw. No mortality or out-migration level, no
origin-destination migration, no control, no net-migration noise: those stay on the numpy path of
:mod:`wandel.demography.engine`.

One pass per year over each zone's ``2 x 101`` cells does every step of the year, in the order of
the module doc of :mod:`wandel.demography.engine` and with the arithmetic of the loop oracle
(:mod:`wandel.demography.engine.reference`):

- ``N(x) = P(x - 1) S(x - 1)`` for ``x = 1..99``, ``N(100) = P(99) S(99) + P(100) S(100)``;
- women: ``B += asfr(x) (P(x) + N(x)) / 2`` in age order, ``B *= f`` (fertility level);
- out-movers ``O(x) = min(N(x) r(x), N(x))``, negative flows ``min(-e(x), N(x) - O(x))``,
  in-movers ``I(x) = c(x) i + max(e(x), 0)``; ``P'(x) = N(x) - O(x) - ... + I(x)``;
- newborns ``N(0) = B share(sex) S_birth`` then migrate like every other age;
- deaths ``D = (sum_x P(x) + B) - (sum_{x>=1} N(x) + N(0))``.

Zones run in parallel (``numba.prange``); every zone's numbers are computed by one thread in a
fixed order, so the result does not depend on the number of threads. The kernel writes the whole
result (including the base year), so the pages of a fresh result are first touched by the worker
threads. Inputs with a leading year axis may have length 1 there (the same rate every year).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import types

__all__ = ["project_fused"]

Array = npt.NDArray[np.float64]

_RO = {n: types.Array(types.float64, n, "C", readonly=True) for n in (1, 2, 3, 4)}
_RW = {n: types.Array(types.float64, n, "C") for n in (5,)}
_SIG = types.void(
    _RO[3],  # pop0 (Z, 2, A)
    _RO[4],  # sx (Ts, Z, 2, A)
    _RO[3],  # birth survival (Tb, Z, 2)
    _RO[3],  # asfr (Tf, Z, A)
    _RO[4],  # out_rate (To, Z, 2, A)
    _RO[4],  # in_count (Ti, Z, 2, A)
    _RO[4],  # extra (Te, Z, 2, A), Te = 0: none
    _RO[2],  # fertility level (T, D)
    _RO[2],  # in-migration level (T, D)
    _RO[1],  # sex shares of births (2,)
    types.int64,  # f0: first age with a fertility rate
    types.int64,  # f1: last such age + 1
    _RW[5],  # population (T+1, D, Z, 2, A), written
    _RW[5],  # components (5, T, D, Z, 2): births, deaths, in, out, adjustment (0), written
)


_FAST = {"reassoc"}  # sums over ages may be vectorised: fixed order per build, any thread count

# Inside the kernel every array is a 2-d table of rows of ages, indexed by (row, age): slicing a
# row out as an array view in the hot loop costs two atomic reference-count updates each time.


@numba.njit(inline="always", fastmath=_FAST)
def _cells(
    pp: Any,
    pr: int,
    cr: int,
    sx: Any,
    sr: int,
    ou: Any,
    orow: int,
    ic: Any,
    ir: int,
    ilv: float,
    lo: int,
    hi: int,
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Ages ``lo .. hi - 1`` (``1 <= lo``, ``hi <= 100``) without births or scenario flows.

    ``pp[cr, a] = N(a) - O(a) + I(a)`` with ``N(a) = pp[pr, a - 1] sx[sr, a - 1]``; returns the
    sums of ``N``, ``O`` and ``I``.
    """
    en = 0.0
    o_sum = 0.0
    i_sum = 0.0
    for a in range(lo, hi):
        n = pp[pr, a - 1] * sx[sr, a - 1]
        o = min(n * ou[orow, a], n)
        came = ic[ir, a] * ilv
        pp[cr, a] = (n - o) + came
        en += n
        o_sum += o
        i_sum += came
    return en, o_sum, i_sum


@numba.njit(inline="always", fastmath=_FAST)
def _cells_births(
    pp: Any,
    pr: int,
    cr: int,
    sx: Any,
    sr: int,
    ou: Any,
    orow: int,
    ic: Any,
    ir: int,
    ilv: float,
    asf: Any,
    fr: int,
    lo: int,
    hi: int,
) -> tuple[float, float, float, float]:  # pragma: no cover - compiled
    """As :func:`_cells` for women of fertile ages; also the exposure sum ``asfr (P + N) / 2``."""
    en = 0.0
    o_sum = 0.0
    i_sum = 0.0
    bexp = 0.0
    for a in range(lo, hi):
        n = pp[pr, a - 1] * sx[sr, a - 1]
        bexp += asf[fr, a] * (pp[pr, a] + n) / 2.0
        o = min(n * ou[orow, a], n)
        came = ic[ir, a] * ilv
        pp[cr, a] = (n - o) + came
        en += n
        o_sum += o
        i_sum += came
    return en, o_sum, i_sum, bexp


@numba.njit(inline="always")
def _cell(
    n: float, r: float, c: float, x: float, has_extra: bool
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """One cell's migration: ``(people after migration, out-movers, in-movers)``."""
    o = min(n * r, n)
    stay = n - o
    if has_extra:
        if x < 0:
            gone = min(-x, stay)
            stay -= gone
            o += gone
        elif x > 0:
            c += x
    return stay + c, o, c


@numba.njit(inline="always", fastmath=_FAST)
def _sex_year(
    pp: Any, pr: int, cr: int, sx: Any, sr: int, ou: Any, orow: int, ic: Any, ir: int,
    ilv: float, ex: Any, er: int, has_extra: bool, asf: Any, fr: int, women: bool,
    f0: int, f1: int, b_lo: int, b_hi: int,
) -> tuple[float, float, float, float, float]:  # fmt: skip  # pragma: no cover - compiled
    """Ages 1..100 of one sex in one year: ``(start, alive at the end, out, in, exposure)``.

    The exposure is the women's ``asfr (P + N) / 2`` of ages 0..100 (0 for men); age 0 (the
    newborns) is left to :func:`_newborns`.
    """
    n_a = pp.shape[1]
    last = n_a - 1
    st = 0.0
    for a in range(n_a):
        st += pp[pr, a]
    bexp = 0.0
    if women and f0 == 0:
        bexp += asf[fr, 0] * pp[pr, 0] / 2.0
    # scenario flows only where this zone has some in this year and sex, so that a zone's
    # numbers do not depend on the flows of other zones
    flows = False
    if has_extra:
        for a in range(n_a):
            if ex[er, a] != 0.0:
                flows = True
                break
    if flows:
        en = 0.0
        o_sum = 0.0
        i_sum = 0.0
        for a in range(1, last):
            n = pp[pr, a - 1] * sx[sr, a - 1]
            if women and f0 <= a < f1:
                bexp += asf[fr, a] * (pp[pr, a] + n) / 2.0
            pp[cr, a], o, c = _cell(n, ou[orow, a], ic[ir, a] * ilv, ex[er, a], True)
            en += n
            o_sum += o
            i_sum += c
    elif women:
        en, o_sum, i_sum = _cells(pp, pr, cr, sx, sr, ou, orow, ic, ir, ilv, 1, b_lo)
        e2, o2, i2, bexp2 = _cells_births(
            pp, pr, cr, sx, sr, ou, orow, ic, ir, ilv, asf, fr, b_lo, b_hi
        )
        e3, o3, i3 = _cells(pp, pr, cr, sx, sr, ou, orow, ic, ir, ilv, b_hi, last)
        en += e2 + e3
        o_sum += o2 + o3
        i_sum += i2 + i3
        bexp += bexp2
    else:
        en, o_sum, i_sum = _cells(pp, pr, cr, sx, sr, ou, orow, ic, ir, ilv, 1, last)
    # the open group: survivors of 99 and of 100+
    n = pp[pr, last - 1] * sx[sr, last - 1] + pp[pr, last] * sx[sr, last]
    if women and f1 > last:
        bexp += asf[fr, last] * (pp[pr, last] + n) / 2.0
    x = ex[er, last] if flows else 0.0
    pp[cr, last], o, c = _cell(n, ou[orow, last], ic[ir, last] * ilv, x, flows)
    return st, en + n, o_sum + o, i_sum + c, bexp


@numba.njit(inline="always", fastmath=_FAST)
def _fused_year(
    pp: Any, sx: Any, sb: Any, asf: Any, ou: Any, ic: Any, ex: Any, f_lv: Any, i_lv: Any,
    share: Any, f0: int, f1: int, b_lo: int, b_hi: int, ns: int, nf: int, no: int, ni: int,
    ne: int, t: int, d: int, z: int, n_d: int, n_z: int, start: Any, endsum: Any, outs: Any,
    ins: Any, comps: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """One year of one draw and zone (``ns .. ne`` the lengths of the rates' year axes)."""
    ts = t if ns > 1 else 0
    tb = t if sb.shape[0] > 1 else 0
    to = t if no > 1 else 0
    ti = t if ni > 1 else 0
    te = t if ne > 1 else 0
    ilv = i_lv[t, d]
    fr = (t if nf > 1 else 0) * n_z + z
    bexp = 0.0
    for s in range(2):
        st, en, o, c, bx = _sex_year(
            pp, ((t * n_d + d) * n_z + z) * 2 + s, (((t + 1) * n_d + d) * n_z + z) * 2 + s,
            sx, (ts * n_z + z) * 2 + s, ou, (to * n_z + z) * 2 + s, ic,
            (ti * n_z + z) * 2 + s, ilv, ex, (te * n_z + z) * 2 + s, ne > 0, asf, fr,
            s == 1 and f1 > f0, f0, f1, b_lo, b_hi,
        )  # fmt: skip
        start[s] = st
        endsum[s] = en
        outs[s] = o
        ins[s] = c
        bexp += bx
    b_total = bexp * f_lv[t, d]
    for s in range(2):
        b = b_total * share[s]
        n = b * sb[tb, z, s]
        comps[0, t, d, z, s] = b
        comps[1, t, d, z, s] = (start[s] + b) - (endsum[s] + n)
        orow = (to * n_z + z) * 2 + s
        ir = (ti * n_z + z) * 2 + s
        x = ex[(te * n_z + z) * 2 + s, 0] if ne > 0 else 0.0
        cr = (((t + 1) * n_d + d) * n_z + z) * 2 + s
        pp[cr, 0], o, c = _cell(n, ou[orow, 0], ic[ir, 0] * ilv, x, ne > 0)
        comps[2, t, d, z, s] = ins[s] + c
        comps[3, t, d, z, s] = outs[s] + o
        comps[4, t, d, z, s] = 0.0


@numba.njit(_SIG, cache=True, nogil=True, parallel=True, fastmath=_FAST)
def _fused(
    pop0: Any,
    sx5: Any,
    sb: Any,
    asfr3: Any,
    out5: Any,
    in5: Any,
    ex5: Any,
    f_lv: Any,
    i_lv: Any,
    share: Any,
    f0: int,
    f1: int,
    pop: Any,
    comps: Any,
) -> None:  # pragma: no cover - compiled
    n_t = pop.shape[0] - 1
    n_d = pop.shape[1]
    n_z = pop.shape[2]
    n_a = pop.shape[4]
    last = n_a - 1
    b_lo = min(max(f0, 1), last)  # fertile ages inside 1 .. last - 1
    b_hi = max(min(f1, last), b_lo)
    # rows of ages: population ((t D + d) Z + z) 2 + s, rates (t Z + z) 2 + s, asfr t Z + z
    pp = pop.reshape(((n_t + 1) * n_d * n_z * 2, n_a))
    p0 = pop0.reshape((n_z * 2, n_a))
    sx = sx5.reshape((sx5.shape[0] * n_z * 2, n_a))
    ou = out5.reshape((out5.shape[0] * n_z * 2, n_a))
    ic = in5.reshape((in5.shape[0] * n_z * 2, n_a))
    ex = ex5.reshape((ex5.shape[0] * n_z * 2, n_a))
    asf = asfr3.reshape((asfr3.shape[0] * n_z, n_a))
    for z in numba.prange(n_z):
        start = np.empty(2)
        endsum = np.empty(2)
        outs = np.empty(2)
        ins = np.empty(2)
        for d in range(n_d):
            for s in range(2):
                row = (d * n_z + z) * 2 + s
                for a in range(n_a):
                    pp[row, a] = p0[z * 2 + s, a]
            for t in range(n_t):
                _fused_year(
                    pp, sx, sb, asf, ou, ic, ex, f_lv, i_lv, share, f0, f1, b_lo, b_hi,
                    sx5.shape[0], asfr3.shape[0], out5.shape[0], in5.shape[0], ex5.shape[0],
                    t, d, z, n_d, n_z, start, endsum, outs, ins, comps,
                )  # fmt: skip


def _per_year(x: Array, ndim: int) -> Array:
    """``x`` as a C-contiguous array with a leading year axis of length 1 when it is broadcast.

    A year axis with stride 0 (the same rate every year) is reduced to length 1 so the rate is
    read once, not copied ``horizon`` times; other arrays are made contiguous (no copy when they
    are already).
    """
    if x.shape[0] > 1 and x.strides[0] == 0:
        x = x[:1]
    out: Array = np.ascontiguousarray(x, dtype=np.float64)
    if out.ndim != ndim:
        raise ValueError(f"expected {ndim} dimensions, got {out.ndim}")
    return out


def project_fused(
    population: Array,
    sx: Array,
    birth_survival: Array,
    asfr: Array,
    out_rate: Array,
    in_count: Array,
    extra: Array | None,
    fertility: Array | None,
    in_migration: Array | None,
    srb: float,
    fertile: tuple[int, int],
    n_draws: int,
    threads: int | None = None,
) -> tuple[Array, Array]:
    """Run the compiled kernel; returns population ``(T+1, D, Z, 2, A)`` and components.

    The components array has shape ``(5, T, D, Z, 2)``: births (by sex of the child), deaths,
    in-migration, out-migration and the adjustment (zero: no control here). Arrays with a year
    axis have length ``T`` there (broadcast views welcome); ``fertility`` and ``in_migration``
    are level multipliers ``(T, D)`` or None (1). ``fertile = (f0, f1)``: ``asfr`` is zero
    outside ages ``f0 .. f1 - 1``. ``threads`` numba threads (default
    ``numba.get_num_threads()``); the result does not depend on it.
    """
    n_t = int(sx.shape[0])
    n_z, _, n_a = population.shape
    pop0 = np.ascontiguousarray(population, dtype=np.float64)
    ext = np.zeros((0, n_z, 2, n_a)) if extra is None else _per_year(extra, 4)
    f_lv = np.ones((n_t, n_draws)) if fertility is None else np.ascontiguousarray(fertility)
    i_lv = np.ones((n_t, n_draws)) if in_migration is None else np.ascontiguousarray(in_migration)
    share = np.array([srb / (1.0 + srb), 1.0 / (1.0 + srb)])
    pop = np.empty((n_t + 1, n_draws, n_z, 2, n_a))
    comps = np.empty((5, n_t, n_draws, n_z, 2))
    k = numba.get_num_threads() if threads is None else int(threads)
    k = max(1, min(k, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    old = numba.get_num_threads()
    numba.set_num_threads(k)
    try:
        _fused(
            pop0,
            _per_year(sx, 4),
            _per_year(birth_survival, 3),
            _per_year(asfr, 3),
            _per_year(out_rate, 4),
            _per_year(in_count, 4),
            ext,
            f_lv.astype(np.float64, copy=False),
            i_lv.astype(np.float64, copy=False),
            share,
            int(fertile[0]),
            int(fertile[1]),
            pop,
            comps,
        )
    finally:
        numba.set_num_threads(old)
    return pop, comps

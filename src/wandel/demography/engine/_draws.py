"""Compiled (numba) kernel for many draws: draws are the innermost, vectorised axis.

The case: every level (fertility, mortality, in- and out-migration), scenario flows, stochastic
net migration (step 4e) and the output by single age or in age groups; no origin-destination
migration and no control (they couple the zones; those stay on the numpy path of
:mod:`wandel.demography.engine.core`).

Work is cut into jobs of one zone and a chunk of at most :data:`DRAW_CHUNK` draws; each job runs
every year of its zone and draws in two small work arrays ``(2, 101, draws)`` that stay in the CPU
cache, and writes the (grouped) population and the components. Within a job the loops run over
sex and age outside and over the draws inside: every rate of a cell is read once and applied to
all draws with vector instructions, and each draw's number is the same sequence of IEEE
operations as in the loop oracle (:mod:`wandel.demography.engine.reference`, no fast-math, no
fused multiply-add), so a draw's result does not depend on the other draws in its chunk, on the
chunk size, on the other zones or on the number of threads.

The result arrays have the draws last, ``(T+1, Z, 2, G, D)`` and ``(5, T, Z, 2, D)``: the
labelled result (dims ``year, zone, sex, age, draw``) is then a plain view of them.

Arithmetic per draw, in the order of the module doc of :mod:`wandel.demography.engine`:

- effective survival ``s = 1 - min((1 - S) m, 1)`` with a mortality level ``m`` (else ``S``);
- ``N(x) = P(x - 1) s(x - 1)`` for ``x = 1..99``, ``N(100) = P(99) s(99) + P(100) s(100)``;
- births ``B = f sum_x asfr(x) (P_f(x) + N_f(x)) / 2`` (``N(0) = 0`` there), by sex ``B share``,
  newborns ``N(0) = B share s_birth``;
- out-movers ``O = min(N r o, N)``, negative flows ``min(-e, N - O)``, in-movers ``c i + max(e, 0)``;
- deaths ``D = (sum P + B) - (sum_{x>=1} N + N(0))``;
- net migration ``g = max(eps sum P / sum P', -1)`` (0 for an empty zone), ``P' (1 + g)``, ``g``
  times the people of a sex booked as in- (gain) or out-migration (loss).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import types

__all__ = ["DRAW_CHUNK", "project_draws_kernel"]

Array = npt.NDArray[np.float64]

DRAW_CHUNK = 128
"""Draws per job: two work arrays of ``2 x 101 x 128`` doubles (0.4 MB) stay in the L2 cache."""

_RO = {n: types.Array(types.float64, n, "C", readonly=True) for n in (1, 2, 3, 4)}


def _signature(out: Any) -> Any:
    """The kernel's signature with result arrays of the numba type ``out`` (float64 or float32)."""
    return types.void(
        _RO[3],  # pop0 (Z, 2, A)
        _RO[4],  # sx (Ts, Z, 2, A)
        _RO[3],  # birth survival (Tb, Z, 2)
        _RO[3],  # asfr (Tf, Z, A)
        _RO[4],  # out_rate (To, Z, 2, A)
        _RO[4],  # in_count (Ti, Z, 2, A)
        _RO[4],  # extra (Te, Z, 2, A), zeros where there are none
        _RO[3],  # levels (4, T, D): fertility, mortality, in-, out-migration (1 where absent)
        types.boolean,  # whether a mortality level applies (else the survival ratios as they are)
        _RO[3],  # net-migration rates (T, Z, D), T = 0: none
        types.Array(types.int64, 1, "C", readonly=True),  # first ages of the output groups (G,)
        _RO[1],  # sex shares of births (2,)
        types.int64,  # draws per job
        types.int64,  # workers (threads)
        types.Array(out, 5, "C"),  # population (T+1, Z, 2, G, D), written
        types.Array(out, 5, "C"),  # components (4, T, Z, 2, D), written
    )


_SIGS = [_signature(types.float64), _signature(types.float32)]


@numba.njit(inline="always")
def _survival(
    sx: float, m: Any, d0: int, nd: int, has_m: bool, out: Any
) -> None:  # pragma: no cover - compiled
    """``out[d] = 1 - min((1 - sx) m[d0 + d], 1)``, or ``sx`` without a mortality level."""
    if has_m:
        q = 1.0 - sx
        for d in range(nd):
            out[d] = 1.0 - min(q * m[d0 + d], 1.0)
    else:
        for d in range(nd):
            out[d] = sx


@numba.njit(inline="always")
def _migrate(
    n: float, r: float, olv: float, c: float, ilv: float, xn: float, xp: float
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """One cell's migration: ``(people after it, out-movers, in-movers)``.

    ``xn = max(-x, 0)`` and ``xp = max(x, 0)`` split the scenario flow ``x``; the zero part adds
    or removes exactly nothing, so this equals the oracle's branches on the sign of ``x``.
    """
    o = min(n * r * olv, n)
    stay = n - o
    gone = min(xn, stay)
    stay -= gone
    o += gone
    came = c * ilv + xp
    return stay + came, o, came


@numba.njit(inline="always")
def _ages(
    pv: Any,
    cu: Any,
    sxr: Any,
    our: Any,
    icr: Any,
    exr: Any,
    asf: Any,
    women: bool,
    lv: Any,
    t: int,
    d0: int,
    nd: int,
    has_m: bool,
    acc: Any,
    se: Any,
) -> None:  # pragma: no cover - compiled
    """Ages 1..99 of one sex: survival, ageing, migration; exposure of women to births.

    ``asf`` the birth rates by age of mother (used for ``women``); ``acc`` rows: 0 start, 1
    survivors (before migration), 2 out-, 3 in-movers, 4 exposure ``sum asfr (P + N) / 2``.
    Every loop over the draws is branch-free, so that it runs on vector instructions.
    """
    mrow = lv[1, t]
    irow = lv[2, t]
    orow = lv[3, t]
    for a in range(1, pv.shape[0] - 1):
        _survival(sxr[a - 1], mrow, d0, nd, has_m, se)
        r = our[a]
        c = icr[a]
        xn = max(-exr[a], 0.0)
        xp = max(exr[a], 0.0)
        w = asf[a] if women else 0.0
        if w > 0:
            for d in range(nd):
                p = pv[a - 1, d]
                n = p * se[d]
                acc[0, d] += p
                acc[1, d] += n
                acc[4, d] += w * (pv[a, d] + n) / 2.0
                cu[a, d], o, came = _migrate(n, r, orow[d0 + d], c, irow[d0 + d], xn, xp)
                acc[2, d] += o
                acc[3, d] += came
        else:
            for d in range(nd):
                p = pv[a - 1, d]
                n = p * se[d]
                acc[0, d] += p
                acc[1, d] += n
                cu[a, d], o, came = _migrate(n, r, orow[d0 + d], c, irow[d0 + d], xn, xp)
                acc[2, d] += o
                acc[3, d] += came


@numba.njit(inline="always")
def _open_group(
    pv: Any,
    cu: Any,
    sxr: Any,
    our: Any,
    icr: Any,
    exr: Any,
    asf: Any,
    women: bool,
    lv: Any,
    t: int,
    d0: int,
    nd: int,
    has_m: bool,
    acc: Any,
    se: Any,
    se2: Any,
) -> None:  # pragma: no cover - compiled
    """The open group of one sex: ``N(100) = P(99) s(99) + P(100) s(100)``, then as :func:`_ages`."""
    last = pv.shape[0] - 1
    _survival(sxr[last - 1], lv[1, t], d0, nd, has_m, se)
    _survival(sxr[last], lv[1, t], d0, nd, has_m, se2)
    r = our[last]
    c = icr[last]
    xn = max(-exr[last], 0.0)
    xp = max(exr[last], 0.0)
    w = asf[last] if women else 0.0
    for d in range(nd):
        p = pv[last - 1, d]
        p2 = pv[last, d]
        n = p * se[d] + p2 * se2[d]
        acc[0, d] += p
        acc[0, d] += p2
        acc[1, d] += n
        if w > 0:
            acc[4, d] += w * (p2 + n) / 2.0
        cu[last, d], o, came = _migrate(n, r, lv[3, t, d0 + d], c, lv[2, t, d0 + d], xn, xp)
        acc[2, d] += o
        acc[3, d] += came


@numba.njit(inline="always")
def _newborns(
    cur: Any, acc: Any, sb: Any, our: Any, icr: Any, exr: Any, share: Any, lv: Any,
    t: int, z: int, d0: int, nd: int, has_m: bool, comps: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """Births by sex, newborns ``N(0) = B share s_birth`` and their migration; births, deaths."""
    for s in range(2):
        sbv = sb[z, s]
        qb = 1.0 - sbv
        r = our[s, 0]
        c = icr[s, 0]
        xn = max(-exr[s, 0], 0.0)
        xp = max(exr[s, 0], 0.0)
        for d in range(nd):
            dd = d0 + d
            b = acc[1, 4, d] * lv[0, t, dd] * share[s]
            s_b = 1.0 - min(qb * lv[1, t, dd], 1.0) if has_m else sbv
            n = b * s_b
            cur[s, 0, d], o, came = _migrate(n, r, lv[3, t, dd], c, lv[2, t, dd], xn, xp)
            comps[0, t, z, s, dd] = b
            comps[1, t, z, s, dd] = (acc[s, 0, d] + b) - (acc[s, 1, d] + n)
            acc[s, 2, d] += o
            acc[s, 3, d] += came


@numba.njit(inline="always")
def _net_flow(
    cur: Any, eps: Any, acc: Any, t: int, z: int, d0: int, nd: int
) -> None:  # pragma: no cover - compiled
    """Step 4e in place on both sexes of a job; ``acc`` rows 2 and 3 (out, in) updated."""
    n_a = cur.shape[1]
    for d in range(nd):
        start = acc[0, 0, d] + acc[1, 0, d]
        have0 = 0.0
        have1 = 0.0
        for a in range(n_a):
            have0 += cur[0, a, d]
        for a in range(n_a):
            have1 += cur[1, a, d]
        total = have0 + have1
        g = max(eps[t, z, d0 + d] * start / total, -1.0) if total > 0 else 0.0
        for s in range(2):
            for a in range(n_a):
                cur[s, a, d] *= 1.0 + g
            move = (have0 if s == 0 else have1) * g
            if move > 0:
                acc[s, 3, d] += move
            else:
                acc[s, 2, d] -= move


@numba.njit(inline="always")
def _write_groups(
    cur: Any, groups: Any, out: Any, tz: int, d0: int, nd: int, gsum: Any
) -> None:  # pragma: no cover - compiled
    """Sums of ``cur`` over the age groups into ``out[tz, s, g, d0:d0+nd]``, in age order.

    Each sum is formed in ``gsum`` (in the cache) and stored once into the large result.
    """
    n_a = cur.shape[1]
    n_g = groups.shape[0]
    for s in range(2):
        for g in range(n_g):
            hi = groups[g + 1] if g + 1 < n_g else n_a
            for d in range(nd):
                gsum[d] = 0.0
            for a in range(groups[g], hi):
                for d in range(nd):
                    gsum[d] += cur[s, a, d]
            for d in range(nd):
                out[tz, s, g, d0 + d] = gsum[d]


@numba.njit(inline="always")
def _year(
    prev: Any, cur: Any, sx: Any, sb: Any, asfr: Any, out_r: Any, inc: Any, ex: Any,
    lv: Any, has_m: bool, net: Any, share: Any, t: int, z: int, d0: int, nd: int,
    acc: Any, se: Any, se2: Any, comps: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """One year of one job: ``prev`` (the start) to ``cur`` (the end), components written."""
    ts = t if sx.shape[0] > 1 else 0
    tf = t if asfr.shape[0] > 1 else 0
    to = t if out_r.shape[0] > 1 else 0
    ti = t if inc.shape[0] > 1 else 0
    te = t if ex.shape[0] > 1 else 0
    acc[:] = 0.0
    w0 = asfr[tf, z, 0]
    if w0 > 0:
        for d in range(nd):  # women aged 0 at the start: no survivors there yet
            acc[1, 4, d] += w0 * (prev[1, 0, d] + 0.0) / 2.0
    for s in range(2):
        _ages(
            prev[s], cur[s], sx[ts, z, s], out_r[to, z, s], inc[ti, z, s], ex[te, z, s],
            asfr[tf, z], s == 1, lv, t, d0, nd, has_m, acc[s], se,
        )  # fmt: skip
        _open_group(
            prev[s], cur[s], sx[ts, z, s], out_r[to, z, s], inc[ti, z, s], ex[te, z, s],
            asfr[tf, z], s == 1, lv, t, d0, nd, has_m, acc[s], se, se2,
        )  # fmt: skip
    _newborns(
        cur, acc, sb[t if sb.shape[0] > 1 else 0], out_r[to, z], inc[ti, z], ex[te, z],
        share, lv, t, z, d0, nd, has_m, comps,
    )  # fmt: skip
    if net.shape[0] > 0:
        _net_flow(cur, net, acc, t, z, d0, nd)
    for s in range(2):
        for d in range(nd):
            comps[2, t, z, s, d0 + d] = acc[s, 3, d]
            comps[3, t, z, s, d0 + d] = acc[s, 2, d]


@numba.njit(inline="always")
def _job(
    prev: Any, cur: Any, pop0: Any, sx: Any, sb: Any, asfr: Any, out_r: Any, inc: Any,
    ex: Any, lv: Any, has_m: bool, net: Any, groups: Any, share: Any, z: int, d0: int,
    nd: int, acc: Any, se: Any, se2: Any, pop: Any, comps: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """Every year of one zone and chunk of draws."""
    for s in range(2):
        for a in range(pop0.shape[2]):
            for d in range(nd):
                prev[s, a, d] = pop0[z, s, a]
    _write_groups(prev, groups, pop[0], z, d0, nd, se)
    for t in range(pop.shape[0] - 1):
        _year(
            prev, cur, sx, sb, asfr, out_r, inc, ex, lv, has_m, net, share,
            t, z, d0, nd, acc, se, se2, comps,
        )  # fmt: skip
        _write_groups(cur, groups, pop[t + 1], z, d0, nd, se)
        prev, cur = cur, prev


@numba.njit(_SIGS, cache=True, nogil=True, parallel=True)
def _run(
    pop0: Any, sx: Any, sb: Any, asfr: Any, out_r: Any, inc: Any, ex: Any, lv: Any,
    has_m: bool, net: Any, groups: Any, share: Any, chunk: int, workers: int, pop: Any,
    comps: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    n_z = pop.shape[1]
    n_d = pop.shape[4]
    n_a = pop0.shape[2]
    n_c = (n_d + chunk - 1) // chunk
    n_jobs = n_z * n_c
    n_w = max(1, min(workers, n_jobs))
    for w in numba.prange(n_w):
        # work arrays once per worker (a job uses the first nd draws of them); jobs w, w + n_w, ...
        prev0 = np.empty((2, n_a, chunk))
        cur0 = np.empty((2, n_a, chunk))
        acc0 = np.empty((2, 5, chunk))
        se = np.empty(chunk)
        se2 = np.empty(chunk)
        for job in range(w, n_jobs, n_w):
            z = job // n_c
            d0 = (job % n_c) * chunk
            nd = min(chunk, n_d - d0)
            _job(
                prev0, cur0, pop0, sx, sb, asfr, out_r, inc, ex, lv, has_m, net, groups, share,
                z, d0, nd, acc0, se, se2, pop, comps,
            )  # fmt: skip


def _per_year(x: Array, ndim: int) -> Array:
    """``x`` C-contiguous with a year axis of length 1 where it is broadcast over the years."""
    if x.shape[0] > 1 and x.strides[0] == 0:
        x = x[:1]
    out: Array = np.ascontiguousarray(x, dtype=np.float64)
    if out.ndim != ndim:
        raise ValueError(f"expected {ndim} dimensions, got {out.ndim}")
    return out


def project_draws_kernel(
    population: Array,
    rates: tuple[Array, Array, Array, Array, Array],
    extra: Array | None,
    levels: tuple[Array | None, Array | None, Array | None, Array | None],
    net_migration: Array | None,
    *,
    srb: float,
    groups: npt.NDArray[np.int64] | None,
    n_draws: int,
    threads: int | None = None,
    chunk: int = DRAW_CHUNK,
    dtype: type[np.floating[Any]] = np.float64,
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]]:
    """Run the kernel; returns population ``(T+1, Z, 2, G, D)`` and components ``(4, T, Z, 2, D)``.

    ``rates`` are ``(sx, birth_survival, asfr, out_rate, in_count)`` with a leading year axis
    (broadcast views welcome); ``levels`` the fertility, mortality, in- and out-migration levels
    ``(T, D)`` or None; ``net_migration`` ``(T, D, Z)`` or None; ``groups`` the first ages of the
    output groups (None: single ages). Components: births, deaths, in- and out-migration (there is
    no adjustment without control). The result does not depend on ``threads`` or ``chunk``.
    ``dtype=np.float32`` stores the results in single precision: the kernel computes in double
    precision throughout and rounds only what it stores, so every number is the float64 result
    rounded to the nearest float32 (relative error at most 2**-24), with no error carried on.
    """
    sx, sb, asfr, out_rate, in_count = rates
    n_t = int(sx.shape[0])
    n_z, _, n_a = population.shape
    lv = np.ones((4, n_t, n_draws))
    for k, arr in enumerate(levels):
        if arr is not None:
            lv[k] = arr
    net = (
        np.zeros((0, n_z, n_draws))
        if net_migration is None
        else np.ascontiguousarray(np.moveaxis(net_migration, 1, 2), dtype=np.float64)
    )
    g = np.arange(n_a, dtype=np.int64) if groups is None else np.ascontiguousarray(groups, np.int64)
    if dtype not in (np.float64, np.float32):
        raise ValueError("dtype must be float64 or float32")
    pop = np.empty((n_t + 1, n_z, 2, g.size, n_draws), dtype=dtype)
    comps = np.empty((4, n_t, n_z, 2, n_draws), dtype=dtype)
    k = numba.get_num_threads() if threads is None else int(threads)
    k = max(1, min(k, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    old = numba.get_num_threads()
    numba.set_num_threads(k)
    try:
        _run(
            np.ascontiguousarray(population, dtype=np.float64),
            _per_year(sx, 4),
            _per_year(sb, 3),
            _per_year(asfr, 3),
            _per_year(out_rate, 4),
            _per_year(in_count, 4),
            np.zeros((1, n_z, 2, n_a)) if extra is None else _per_year(extra, 4),
            lv,
            levels[1] is not None,
            net,
            g,
            np.array([srb / (1.0 + srb), 1.0 / (1.0 + srb)]),
            max(1, int(chunk)),
            k,
            pop,
            comps,
        )
    finally:
        numba.set_num_threads(old)
    return pop, comps

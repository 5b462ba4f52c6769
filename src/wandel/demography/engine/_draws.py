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
def _ages(
    pv: Any, cu: Any, sxr: Any, our: Any, icr: Any, exr: Any, asf: Any, women: bool,
    mrow: Any, irow: Any, orow: Any, nd: int, has_m: bool, acc: Any, nv: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """Ages 1..99 of one sex: survival, ageing, migration; exposure of women to births.

    ``mrow``, ``irow``, ``orow`` the mortality, in- and out-migration levels of the job's draws;
    ``asf`` the birth rates by age of mother (used for ``women``); ``acc`` rows: 0 start, 1
    survivors (before migration), 2 out-, 3 in-movers, 4 exposure ``sum asfr (P + N) / 2``.
    Each loop over the draws writes one array and reads a few, with no branch, so that the
    compiler vectorises it (runtime checks that the arrays do not overlap); the survivors ``N``
    of an age are formed once in ``nv``.
    """
    a0 = acc[0]
    a1 = acc[1]
    a2 = acc[2]
    a3 = acc[3]
    a4 = acc[4]
    for a in range(1, pv.shape[0] - 1):
        p = pv[a - 1]
        s = sxr[a - 1]
        if has_m:
            q = 1.0 - s
            for d in range(nd):
                nv[d] = p[d] * (1.0 - min(q * mrow[d], 1.0))
        else:
            for d in range(nd):
                nv[d] = p[d] * s
        for d in range(nd):
            a0[d] += p[d]
        for d in range(nd):
            a1[d] += nv[d]
        w = asf[a] if women else 0.0
        if w > 0:
            nxt = pv[a]
            for d in range(nd):
                a4[d] += w * (nxt[d] + nv[d]) / 2.0
        _migrate_row(nv, our[a], orow, icr[a], irow, exr[a], nd, cu[a], a2, a3)


@numba.njit(inline="always")
def _migrate_row(
    nv: Any, r: float, orow: Any, c: float, irow: Any, x: float, nd: int, out: Any, a2: Any,
    a3: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """Migration of one cell for the job's draws (``nv`` the people before it): ``out`` the
    people after it, out- and in-movers added to ``a2`` and ``a3``.

    Per draw: ``o = min(N r o_lv, N)``, ``stay = N - o``, ``gone = min(-x, stay)`` for a negative
    scenario flow ``x``, in-movers ``c i_lv + max(x, 0)``; ``xn = max(-x, 0)`` and ``xp = max(x,
    0)`` make that branch-free (the zero part adds or removes exactly nothing, as in the oracle's
    branches on the sign of ``x``). Three loops, each writing one array.
    """
    xn = max(-x, 0.0)
    xp = max(x, 0.0)
    for d in range(nd):
        n = nv[d]
        o = min(n * r * orow[d], n)
        a2[d] += o + min(xn, n - o)
    for d in range(nd):
        a3[d] += c * irow[d] + xp
    for d in range(nd):
        n = nv[d]
        o = min(n * r * orow[d], n)
        stay = n - o
        stay -= min(xn, stay)
        out[d] = stay + (c * irow[d] + xp)


@numba.njit(inline="always")
def _open_group(
    pv: Any, cu: Any, sxr: Any, our: Any, icr: Any, exr: Any, asf: Any, women: bool,
    mrow: Any, irow: Any, orow: Any, nd: int, has_m: bool, acc: Any, nv: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """The open group of one sex: ``N(100) = P(99) s(99) + P(100) s(100)``, then as :func:`_ages`."""
    last = pv.shape[0] - 1
    p = pv[last - 1]
    p2 = pv[last]
    s1 = sxr[last - 1]
    s2 = sxr[last]
    if has_m:
        q1 = 1.0 - s1
        q2 = 1.0 - s2
        for d in range(nd):
            m = mrow[d]
            nv[d] = p[d] * (1.0 - min(q1 * m, 1.0)) + p2[d] * (1.0 - min(q2 * m, 1.0))
    else:
        for d in range(nd):
            nv[d] = p[d] * s1 + p2[d] * s2
    a0 = acc[0]
    a1 = acc[1]
    for d in range(nd):
        a0[d] += p[d]
        a0[d] += p2[d]
    for d in range(nd):
        a1[d] += nv[d]
    w = asf[last] if women else 0.0
    if w > 0:
        a4 = acc[4]
        for d in range(nd):
            a4[d] += w * (p2[d] + nv[d]) / 2.0
    _migrate_row(nv, our[last], orow, icr[last], irow, exr[last], nd, cu[last], acc[2], acc[3])


@numba.njit(inline="always")
def _newborns(
    cur: Any, acc: Any, sb: Any, our: Any, icr: Any, exr: Any, share: Any, lv: Any,
    nd: int, has_m: bool, comps: Any, nv: Any, bv: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """Births by sex, newborns ``N(0) = B share s_birth`` and their migration; births, deaths.

    ``lv`` the levels of the job's draws ``(4, nd)``, ``comps`` its births and deaths ``(2, 2, nd)``.
    """
    frow = lv[0]
    mrow = lv[1]
    expo = acc[1, 4]
    for s in range(2):
        sbv = sb[s]
        qb = 1.0 - sbv
        sh = share[s]
        for d in range(nd):
            bv[d] = expo[d] * frow[d] * sh
        if has_m:
            for d in range(nd):
                nv[d] = bv[d] * (1.0 - min(qb * mrow[d], 1.0))
        else:
            for d in range(nd):
                nv[d] = bv[d] * sbv
        births = comps[0, s]
        deaths = comps[1, s]
        st = acc[s, 0]
        su = acc[s, 1]
        for d in range(nd):
            births[d] = bv[d]
        for d in range(nd):
            deaths[d] = (st[d] + bv[d]) - (su[d] + nv[d])
        _migrate_row(nv, our[s, 0], lv[3], icr[s, 0], lv[2], exr[s, 0], nd, cur[s, 0], acc[s, 2],
                     acc[s, 3])  # fmt: skip


@numba.njit(inline="always")
def _net_flow(
    cur: Any, eps: Any, acc: Any, nd: int, h0: Any, h1: Any
) -> None:  # pragma: no cover - compiled
    """Step 4e in place on both sexes of a job (``eps`` the job's net rates); ``acc`` rows 2 and 3
    (out, in) updated. The sums over ages run per draw in age order, in ``h0``, ``h1``; then
    ``h0`` holds each draw's factor ``1 + g`` and every row of ``cur`` is scaled with the draws
    innermost (contiguous, vectorised; the same product per cell as one draw at a time)."""
    n_a = cur.shape[1]
    for d in range(nd):
        h0[d] = 0.0
        h1[d] = 0.0
    for a in range(n_a):
        row = cur[0, a]
        for d in range(nd):
            h0[d] += row[d]
    for a in range(n_a):
        row = cur[1, a]
        for d in range(nd):
            h1[d] += row[d]
    for d in range(nd):
        start = acc[0, 0, d] + acc[1, 0, d]
        have0 = h0[d]
        have1 = h1[d]
        total = have0 + have1
        g = max(eps[d] * start / total, -1.0) if total > 0 else 0.0
        for s in range(2):
            move = (have0 if s == 0 else have1) * g
            if move > 0:
                acc[s, 3, d] += move
            else:
                acc[s, 2, d] -= move
        h0[d] = 1.0 + g
    for s in range(2):
        for a in range(n_a):
            row = cur[s, a]
            for d in range(nd):
                row[d] *= h0[d]


@numba.njit(inline="always")
def _write_groups(
    cur: Any, groups: Any, out: Any, nd: int, gsum: Any
) -> None:  # pragma: no cover - compiled
    """Sums of ``cur`` over the age groups into ``out[s, g, :nd]`` (the job's slice), in age order.

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
                row = cur[s, a]
                for d in range(nd):
                    gsum[d] += row[d]
            o = out[s, g]
            for d in range(nd):
                o[d] = gsum[d]


@numba.njit(inline="always")
def _year(
    prev: Any, cur: Any, sx: Any, sb: Any, asfr: Any, out_r: Any, inc: Any, ex: Any,
    lv: Any, has_m: bool, net: Any, share: Any, t: int, z: int, d0: int, nd: int,
    acc: Any, nv: Any, bv: Any, comps: Any, jl: Any, jc: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """One year of one job: ``prev`` (the start) to ``cur`` (the end), components written.

    ``jl`` (4, nd) and ``jc`` (4, 2, nd): the job's levels of this year and its components, in
    the cache; the components are copied into ``comps`` at the end.
    """
    ts = t if sx.shape[0] > 1 else 0
    tf = t if asfr.shape[0] > 1 else 0
    to = t if out_r.shape[0] > 1 else 0
    ti = t if inc.shape[0] > 1 else 0
    te = t if ex.shape[0] > 1 else 0
    for k in range(4):
        src = lv[k, t, d0:]
        dst = jl[k]
        for d in range(nd):
            dst[d] = src[d]
    acc[:] = 0.0
    w0 = asfr[tf, z, 0]
    if w0 > 0:
        e = acc[1, 4]
        p0 = prev[1, 0]
        for d in range(nd):  # women aged 0 at the start: no survivors there yet
            e[d] += w0 * (p0[d] + 0.0) / 2.0
    for s in range(2):
        _ages(
            prev[s], cur[s], sx[ts, z, s], out_r[to, z, s], inc[ti, z, s], ex[te, z, s],
            asfr[tf, z], s == 1, jl[1], jl[2], jl[3], nd, has_m, acc[s], nv,
        )  # fmt: skip
        _open_group(
            prev[s], cur[s], sx[ts, z, s], out_r[to, z, s], inc[ti, z, s], ex[te, z, s],
            asfr[tf, z], s == 1, jl[1], jl[2], jl[3], nd, has_m, acc[s], nv,
        )  # fmt: skip
    _newborns(
        cur, acc, sb[t if sb.shape[0] > 1 else 0, z], out_r[to, z], inc[ti, z], ex[te, z],
        share, jl, nd, has_m, jc, nv, bv,
    )  # fmt: skip
    if net.shape[0] > 0:
        _net_flow(cur, net[t, z, d0:], acc, nd, nv, bv)
    for s in range(2):
        for k in range(2):
            src = jc[k, s]
            dst = comps[k, t, z, s, d0:]
            for d in range(nd):
                dst[d] = src[d]
        src = acc[s, 3]
        dst = comps[2, t, z, s, d0:]
        for d in range(nd):
            dst[d] = src[d]
        src = acc[s, 2]
        dst = comps[3, t, z, s, d0:]
        for d in range(nd):
            dst[d] = src[d]


@numba.njit(inline="always")
def _job(
    prev: Any, cur: Any, pop0: Any, sx: Any, sb: Any, asfr: Any, out_r: Any, inc: Any,
    ex: Any, lv: Any, has_m: bool, net: Any, groups: Any, share: Any, z: int, d0: int,
    nd: int, acc: Any, nv: Any, bv: Any, jl: Any, jc: Any, pop: Any, comps: Any,
) -> None:  # fmt: skip  # pragma: no cover - compiled
    """Every year of one zone and chunk of draws."""
    for s in range(2):
        for a in range(pop0.shape[2]):
            v = pop0[z, s, a]
            row = prev[s, a]
            for d in range(nd):
                row[d] = v
    _write_groups(prev, groups, pop[0, z, :, :, d0:], nd, nv)
    for t in range(pop.shape[0] - 1):
        _year(
            prev, cur, sx, sb, asfr, out_r, inc, ex, lv, has_m, net, share,
            t, z, d0, nd, acc, nv, bv, comps, jl, jc,
        )  # fmt: skip
        _write_groups(cur, groups, pop[t + 1, z, :, :, d0:], nd, nv)
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
        nv = np.empty(chunk)
        bv = np.empty(chunk)
        jl = np.empty((4, chunk))
        jc = np.empty((2, 2, chunk))
        for job in range(w, n_jobs, n_w):
            z = job // n_c
            d0 = (job % n_c) * chunk
            nd = min(chunk, n_d - d0)
            _job(
                prev0, cur0, pop0, sx, sb, asfr, out_r, inc, ex, lv, has_m, net, groups, share,
                z, d0, nd, acc0, nv, bv, jl, jc, pop, comps,
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

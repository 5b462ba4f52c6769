"""Service demand with uncertainty, streamed over chunks of zones and draws.

The projection's draws are never held as a whole: the engine runs one chunk of zones and draws at a
time (:func:`stream_draws`), each chunk is turned into the services' measures at once
(``measure x year x zone x draw``, a few numbers per zone instead of its age pyramid), and only these
are kept until the zone chunk has seen all draws. Then its quantiles and threshold crossings are
taken and the chunk is dropped; sums per parent region (Kreis, Land, Mittelbereich, all zones) are
carried per draw, so a Kreis's band is the band of the Kreis's total, not a sum of its Gemeinden's
bands. Peak memory is set by the chunk sizes (:class:`Chunking`), not by the number of zones.

Linear measures (children, people in need of care, households, ...) are one batched matrix
product per chunk: ``m[t, z, k, d] = sum_f W[t, z, k, f] P[t, z, f, d]`` with ``f`` running over
sex x age group, written straight into the chunk's buffer. Scaled measures (places = quota x
children, GPs needed, fire-brigade members) are a factor per zone and year times their source, so
their quantiles are the factor times the source's order statistics (no sort of their own); the
others' quantiles come from one sort of each lane of draws.

The engine runs one zone chunk at a time with all its threads; threads of their own (one per CPU,
at most 4) turn the chunks into measures, sums and quantiles beside it, and the chunks' results are
merged in chunk order, so the numbers do not depend on the number of threads.

Results: every measure per level, zone and year as the deterministic ``value`` (the projection
without draws) and the quantiles 2.5, 10, 50, 90 and 97.5 % over the draws (80 % band ``q10-q90``,
95 % band ``q025-q975``); for every threshold the probability that it has been crossed by each year.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from wandel.demography.engine import (
    ProjectionRates,
    StochasticSpec,
    draw_levels,
    draw_net_migration,
    engine_input,
    project,
    project_arrays,
)
from wandel.demography.engine.core import EngineInput, Levels
from wandel.services._grid import Grid
from wandel.services.model import Measure, MissingParam, ServicePlan, Threshold

__all__ = [
    "QUANTILES",
    "Chunking",
    "DrawGroup",
    "Parents",
    "ServiceResult",
    "evaluate",
    "service_demand",
    "service_figures",
    "stream_draws",
]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

QUANTILES: tuple[float, ...] = (0.025, 0.1, 0.5, 0.9, 0.975)
"""Quantiles over draws in the results: the 95 % and 80 % bands and the median."""
_QCOLS = ("q025", "q10", "q50", "q90", "q975")


@dataclass(frozen=True)
class DrawGroup:
    """Zones projected with the same stochastic spec (one size class: their draws share levels)."""

    zones: tuple[str, ...]
    spec: StochasticSpec


@dataclass(frozen=True)
class Chunking:
    """Chunk sizes: at most ``zones`` zones and ``draws`` draws per engine call; ``budget_mb``
    caps the measure buffer of one zone chunk (measures x years x zones x all draws) with the
    engine's population of one call (years x sexes x age groups x zones x draws). A thread
    working on a chunk holds one of each (see :func:`_run`)."""

    zones: int = 200
    draws: int = 1000
    budget_mb: float = 400.0


@dataclass(frozen=True)
class Parents:
    """Parent regions per level: ``level -> parent code of every grid zone`` ('' = none).

    Levels are summed per draw; e.g. ``{"kreis": ("15087", ...), "land": ("15", ...),
    "total": ("all", ...)}``.
    """

    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ServiceResult:
    """Service figures and thresholds of one run.

    ``figures``: ``level, zone, year, service, measure, unit, value, q025, q10, q50, q90, q975``
    (``value`` deterministic; the quantiles over draws, NaN without draws). ``crossings``:
    ``level, zone, service, measure, threshold, op, year, p_crossed`` (the share of draws that have
    crossed by that year; the deterministic run where there are no draws). ``thresholds``: per
    threshold ``p_by_end`` and the first years at which 10, 50 and 90 % of the draws have crossed.
    """

    figures: pd.DataFrame
    crossings: pd.DataFrame
    thresholds: pd.DataFrame
    draws: int
    missing: tuple[MissingParam, ...] = ()
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# the engine, in chunks
# --------------------------------------------------------------------------------------------


def select_zones(rates: ProjectionRates, zones: Sequence[str]) -> ProjectionRates:
    """``rates`` restricted to ``zones`` (no origin-destination matrix: zones must be independent)."""
    z = list(zones)

    def sel(da: xr.DataArray | None) -> xr.DataArray | None:
        return None if da is None else da.sel(zone=z)

    if rates.od is not None:
        raise ValueError("service demand in chunks needs zones without internal migration (od)")
    return replace(
        rates,
        sx=rates.sx.sel(zone=z),
        birth_survival=rates.birth_survival.sel(zone=z),
        asfr=rates.asfr.sel(zone=z),
        out_rate=rates.out_rate.sel(zone=z),
        in_count=rates.in_count.sel(zone=z),
        extra=sel(rates.extra),
    )


def _values(pop: xr.DataArray) -> Array:
    """Engine population as a C-contiguous array ``[year, zone, sex, age_start, draw]``.

    The draws kernel lays its result out so (draws last): then this is the kernel's own array, no
    copy, and the measures' matrix products read contiguous rows of draws. (A population in
    another layout, from the numpy kernel of coupled zones, is copied once.)
    """
    da = pop.transpose("year", "zone", "sex", "age_start", "draw")
    return np.ascontiguousarray(da.values, dtype=np.float64)


def stream_draws(
    population: xr.DataArray,
    rates: ProjectionRates,
    *,
    base_year: int,
    horizon: int,
    groups: Sequence[DrawGroup],
    breaks: Sequence[int],
    chunking: Chunking = Chunking(),
    zone_chunk: int | None = None,
) -> Iterator[tuple[tuple[str, ...], Iterator[tuple[int, Array]]]]:
    """Chunks of zones, each with an iterator over its chunks of draws.

    Yields ``(zones, draws)`` where ``draws`` yields ``(first draw, population)`` with population
    ``[year, zone, sex, age group, draw]``. Draw ``d`` of a zone equals draw ``d`` of the unchunked
    run bit for bit (the engine derives each draw's stream from the seed and the draw id, and a
    zone's migration noise from its key), whatever the chunk sizes.
    """
    zc = zone_chunk or chunking.zones
    for g in groups:
        zs = list(g.zones)
        spec = g.spec
        # a draw's levels depend on the seed and the draw id alone: drawn once per group, shared
        # by its zone chunks (the engine's project() would draw them again for every call)
        levels: dict[int, Levels] = {}
        for a in range(0, len(zs), zc):
            part = zs[a : a + zc]
            inp = engine_input(
                population.sel(zone=part), select_zones(rates, part), horizon, base_year
            )

            def draws(
                inp: EngineInput = inp,
                part: list[str] = part,
                spec: StochasticSpec = spec,
                levels: dict[int, Levels] = levels,
            ) -> Iterator[tuple[int, Array]]:
                for d0 in range(0, spec.draws, chunking.draws):
                    ids = list(range(d0, min(d0 + chunking.draws, spec.draws)))
                    if d0 not in levels:
                        levels[d0] = draw_levels(spec, horizon, ids)
                    lv = levels[d0]
                    net = draw_net_migration(spec, horizon, ids, part)
                    if net is not None:
                        lv = replace(lv, net_migration=net)
                    raw = project_arrays(inp, lv, n_draws=len(ids), age_breaks=list(breaks))
                    # the engine's (year, draw, zone, sex, group) seen draws last: for the draws
                    # kernel its own C-contiguous array, no copy
                    yield d0, np.ascontiguousarray(np.moveaxis(raw.population, 1, -1))

            yield tuple(part), draws()


# --------------------------------------------------------------------------------------------
# accumulating
# --------------------------------------------------------------------------------------------


@dataclass
class _Level:
    """Sums per parent of one level, per draw: ``[measure, year, parent, draw]``."""

    codes: tuple[str, ...]
    onehot: Array  # (Z, P)
    sums: Array
    bad: npt.NDArray[np.bool_]  # (measure, year, parent): some member zone has no figure


@dataclass
class _ChunkOut:
    """What one zone chunk adds: per level its parents' partial sums (``bad`` flags and
    ``(parent, sums[measure, year, draw])``), and its zones' quantiles and crossings."""

    parents: list[tuple[_Level, npt.NDArray[np.bool_], list[tuple[int, Array]]]]
    summary: tuple[IntArray, dict[tuple[str, str], Array], list[Array]]


class _Accumulator:
    """Turns population chunks into measures, quantiles, parent sums and crossings."""

    def __init__(
        self, plans: Sequence[ServicePlan], grid: Grid, parents: Parents, n_draws: int
    ) -> None:
        self.plans = list(plans)
        self.grid = grid
        self.n_draws = n_draws
        zm = [
            m
            for p in plans
            for m in p.measures
            if m.how in ("sum", "zone") and m.name not in p.parent_constants
        ]
        self.linear = [(p.name, name, w) for p in plans for name, w in p.linear.items()]
        # the measures summed over parents first: their rows of the buffer are one slice; the
        # linear measures lead it, in their order, so that their matrix product writes there
        sums = {(m.service, m.name): m for m in zm if m.how == "sum"}
        lead = [sums[(s, n)] for s, n, _w in self.linear if (s, n) in sums]
        self.linear_rows = len(lead) == len(self.linear)
        if not self.linear_rows:
            lead = []
        self.zone_measures: list[Measure] = (
            lead
            + [m for m in zm if m.how == "sum" and m not in lead]
            + [m for m in zm if m.how != "sum"]
        )
        self.index = {(m.service, m.name): i for i, m in enumerate(self.zone_measures)}
        self.sum_idx = [i for i, m in enumerate(self.zone_measures) if m.how == "sum"]
        self.constants = {(p.name, n): c for p in plans for n, c in p.constants.items()}
        self.scaled = {
            (p.name, n): ((p.name, src), f) for p in plans for n, (src, f) in p.scaled.items()
        }
        t, z = grid.shape
        self.levels: dict[str, _Level] = {}
        for level, codes in parents.levels.items():
            uniq = tuple(sorted({c for c in codes if c}))
            if not uniq:
                continue
            pos = {c: i for i, c in enumerate(uniq)}
            onehot = np.zeros((z, len(uniq)))
            for zi, c in enumerate(codes):
                if c:
                    onehot[zi, pos[c]] = 1.0
            self.levels[level] = _Level(
                uniq,
                onehot,
                np.zeros((len(self.sum_idx), t, len(uniq), n_draws)),
                np.zeros((len(self.sum_idx), t, len(uniq)), dtype=bool),
            )
        self.network_src: dict[tuple[str, str], Array] = {}
        for p in plans:
            for _name, (src, _reach) in p.network.items():
                self.network_src[(p.name, src)] = np.full((t, z, n_draws), np.nan)
        self.zone_out: list[tuple[IntArray, dict[tuple[str, str], Array], list[Array]]] = []
        self._local = threading.local()

    # -- one chunk of draws -------------------------------------------------------------------
    def _weights(self, zi: IntArray) -> Array:
        """The linear measures' weights of a zone chunk, ``(T, Zc, K, 2 * G)``."""
        w = np.stack([fn(zi) for _s, _n, fn in self.linear], axis=2)  # (T, Zc, K, 2, G)
        t, zc = w.shape[:2]
        return w.reshape(t, zc, len(self.linear), -1)

    def _measures(
        self, pop: Array, zi: IntArray, w: Array | None = None, lin_out: Array | None = None
    ) -> dict[tuple[str, str], Array]:
        """Every measure of a chunk of zones and draws; ``lin_out`` ``(T, Zc, K, D)``, where
        given, receives the linear measures (a view of the buffer's leading rows)."""
        t, zc, _s, g, d = pop.shape
        w = self._weights(zi) if w is None else w
        p = pop.reshape(t, zc, 2 * g, d)  # a view where sex and group lie next to each other
        lin = np.matmul(w, p, out=lin_out)  # (T, Zc, K, D)
        out: dict[tuple[str, str], Array] = {}
        for k, (svc, name, _fn) in enumerate(self.linear):
            out[(svc, name)] = lin[:, :, k, :]
        for plan in self.plans:
            mine = {n: out[(plan.name, n)] for n in plan.linear}
            for n, (src, factor) in plan.scaled.items():
                mine[n] = out[(plan.name, n)] = mine[src] * factor(zi)[:, :, None]
            if plan.post is not None:
                for n, v in plan.post(mine, pop, zi).items():
                    out[(plan.name, n)] = v
            for n, c in plan.constants.items():
                out[(plan.name, n)] = np.broadcast_to(c[:, zi, None], (t, zc, d))
        return out

    def _buffer(self, n: int) -> Array:
        """The measure buffer ``[measure, year, zone, draw]`` of a chunk of ``n`` zones, one
        allocation per thread reused by every chunk it works on (its values are overwritten or
        set to NaN)."""
        buf: Array | None = getattr(self._local, "buf", None)
        if buf is None or buf.shape[2] < n:
            t = self.grid.shape[0]
            buf = np.empty((len(self.zone_measures), t, n, self.n_draws))
            self._local.buf = buf
        return buf[:, :, :n, :]

    def add_zone_chunk(
        self,
        zi: IntArray,
        draws: Iterable[tuple[int, Array]],
        engine_lock: AbstractContextManager[object] | None = None,
    ) -> None:
        self.merge(self.zone_chunk(zi, draws, engine_lock))

    def zone_chunk(
        self,
        zi: IntArray,
        draws: Iterable[tuple[int, Array]],
        engine_lock: AbstractContextManager[object] | None = None,
    ) -> _ChunkOut:
        """The measures of one zone chunk over all its draws: its parents' partial sums and its
        zones' quantiles and crossings. Safe to run for several chunks at once in threads (each
        thread has its own buffer; ``engine_lock`` is held while ``draws`` runs the engine);
        :meth:`merge` then adds the results in chunk order."""
        buf = self._buffer(len(zi))
        written: set[int] = set()
        w = self._weights(zi) if self.linear else None
        it = iter(draws)
        while True:
            with engine_lock or nullcontext():
                item = next(it, None)
            if item is None:
                break
            d0, pop = item
            d1 = d0 + pop.shape[-1]
            lin_out = None
            if self.linear_rows and self.linear:  # the product straight into the buffer
                lin_out = buf[: len(self.linear), :, :, d0:d1].transpose(1, 2, 0, 3)
                written.update(range(len(self.linear)))
            for key, v in self._measures(pop, zi, w, lin_out).items():
                i = self.index.get(key)
                if i is not None and not (lin_out is not None and i < len(self.linear)):
                    buf[i, :, :, d0:d1] = v
                    written.add(i)
            del pop, item
        for i in range(len(self.zone_measures)):
            if i not in written:
                buf[i] = np.nan
        for (svc, src), full in self.network_src.items():
            full[:, zi, :] = buf[self.index[(svc, src)]]
        parts = self._parent_parts(zi, buf[: len(self.sum_idx)]) if self.sum_idx else []
        return _ChunkOut(parts, self._summarise_zone(zi, buf))

    def merge(self, out: _ChunkOut) -> None:
        """Add a zone chunk's results (:meth:`zone_chunk`); chunks must come in their order."""
        with np.errstate(invalid="ignore", over="ignore"):
            for lv, bad, sums in out.parents:
                lv.bad |= bad
                for p, partial in sums:
                    lv.sums[:, :, p, :] += partial
        self.zone_out.append(out.summary)

    def _parent_parts(
        self, zi: IntArray, part: Array
    ) -> list[tuple[_Level, npt.NDArray[np.bool_], list[tuple[int, Array]]]]:
        """The chunk's sums ``part[measure, year, zone, draw]`` per parent of every level.

        Each parent's sum over its zones in the chunk runs in zone order from 0 (the order a
        product with the zones' one-hot matrix sums in); a parent with a non-finite figure of a
        member in some draw is marked ``bad`` (its sums are NaN at the end), so non-finite values
        need no cleaning here. :meth:`merge` adds them to the level's sums, chunk after chunk.
        """
        bad = (~np.isfinite(part)).any(axis=-1).astype(np.float64)
        out = []
        for lv in self.levels.values():
            oh = lv.onehot[zi]
            lv_bad = np.tensordot(bad, oh, axes=([2], [0])) > 0
            pidx = np.where(oh.any(axis=1), oh.argmax(axis=1), -1)
            sums = []
            with np.errstate(invalid="ignore", over="ignore"):
                for p in dict.fromkeys(int(x) for x in pidx if x >= 0):
                    sums.append((p, _parent_sum(part, np.flatnonzero(pidx == p))))
            out.append((lv, lv_bad, sums))
        return out

    # -- results of a zone chunk --------------------------------------------------------------
    def _summarise_zone(
        self, zi: IntArray, buf: Array
    ) -> tuple[IntArray, dict[tuple[str, str], Array], list[Array]]:
        vals: dict[tuple[str, str], Array] = {
            (m.service, m.name): buf[i] for i, m in enumerate(self.zone_measures)
        }
        for p in self.plans:
            _add_ratios(p, vals)
        q = self._zone_quantiles(zi, vals)
        crossings = [
            _crossed(vals[(th.service, th.measure)], th.op, th.bound[:, zi])
            for p in self.plans
            for th in p.thresholds
            if (th.service, th.measure) in vals
        ]
        return zi, q, crossings

    def _zone_quantiles(
        self, zi: IntArray, vals: Mapping[tuple[str, str], Array]
    ) -> dict[tuple[str, str], Array]:
        """Quantiles of every measure of a zone chunk: constants and scaled measures from their
        values and their sources' order statistics (no sort of their own), the others sorted."""
        n = self.n_draws
        stats: dict[tuple[str, str], _Stats] = {}
        q: dict[tuple[str, str], Array] = {}
        for key, v in vals.items():
            st: _Stats | None = None
            if n > 1 and key in self.constants:
                st = _constant_stats(self.constants[key][:, zi])
            elif n > 1 and key in self.scaled and self.scaled[key][0] in stats:
                src, factor = self.scaled[key]
                st = _scaled_stats(stats[src], factor(zi))
            if n == 1:
                q[key] = _quantiles(v)
                continue
            stats[key] = _order_stats(v) if st is None else st
            q[key] = _interpolate(stats[key], n)
        return q

    # -- the end ------------------------------------------------------------------------------
    def finish(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        frames: list[pd.DataFrame] = []
        cross: list[pd.DataFrame] = []
        zones = np.asarray(self.grid.zones)
        for zi, q, crossed in self.zone_out:
            frames.append(self._frame("zone", zones[zi], q))
            ths = [th for p in self.plans for th in p.thresholds if (th.service, th.measure) in q]
            cross += [
                self._cross_frame("zone", zones[zi], th, c)
                for th, c in zip(ths, crossed, strict=True)
            ]
        net = self._network()
        if net:
            frames.append(self._frame("zone", zones, {k: _quantiles(v) for k, v in net.items()}))
            for p in self.plans:
                for th in p.thresholds:
                    if (th.service, th.measure) in net:
                        c = _crossed(net[(th.service, th.measure)], th.op, th.bound)
                        cross.append(self._cross_frame("zone", zones, th, c))
        for level, lv in self.levels.items():
            vals = self._parent_values(level, lv)
            frames.append(
                self._frame(
                    level, np.asarray(lv.codes), {k: _quantiles(v) for k, v in vals.items()}
                )
            )
            first = {
                c: int(np.flatnonzero(lv.onehot[:, j])[0])
                for j, c in enumerate(lv.codes)
                if lv.onehot[:, j].any()
            }
            idx = np.array([first.get(c, 0) for c in lv.codes], dtype=np.intp)
            for p in self.plans:
                for th in p.thresholds:
                    if (th.service, th.measure) in vals and len(idx):
                        c = _crossed(vals[(th.service, th.measure)], th.op, th.bound[:, idx])
                        cross.append(self._cross_frame(level, np.asarray(lv.codes), th, c))
        fig = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        cr = pd.concat(cross, ignore_index=True) if cross else pd.DataFrame()
        return fig, cr

    def _network(self) -> dict[tuple[str, str], Array]:
        out: dict[tuple[str, str], Array] = {}
        for p in self.plans:
            for name, (src, reach) in p.network.items():
                full = self.network_src[(p.name, src)]
                if not np.isfinite(full).any():
                    continue
                val = reach.apply(full)
                out[(p.name, name)] = val
                for m in p.measures:
                    if m.how == "ratio" and m.num == name and m.den and m.den in p.constants:
                        den = np.broadcast_to(p.constants[m.den][:, :, None], val.shape)
                        out[(p.name, m.name)] = _ratio(val, den)
        return out

    def _parent_values(self, level: str, lv: _Level) -> dict[tuple[str, str], Array]:
        vals: dict[tuple[str, str], Array] = {}
        for j, i in enumerate(self.sum_idx):
            m = self.zone_measures[i]
            vals[(m.service, m.name)] = np.where(lv.bad[j][..., None], np.nan, lv.sums[j])
        t = self.grid.shape[0]
        for p in self.plans:
            for name, by_level in p.parent_constants.items():
                if level not in by_level:
                    continue
                arr = np.full((t, len(lv.codes), self.n_draws), np.nan)
                for j, code in enumerate(lv.codes):
                    if code in by_level[level]:
                        arr[:, j, :] = by_level[level][code][:, None]
                vals[(p.name, name)] = arr
            _add_ratios(p, vals)
        return vals

    # -- frames -------------------------------------------------------------------------------
    def _frame(
        self, level: str, codes: npt.NDArray[np.str_], q: Mapping[tuple[str, str], Array]
    ) -> pd.DataFrame:
        """Rows ``level, zone, year, service, measure, unit, q025 .. q975`` of every measure in
        ``q`` (``[year, code, 5]``), rows without any finite figure left out; one frame built from
        whole columns."""
        units = {(m.service, m.name): m.unit for p in self.plans for m in p.measures}
        years = np.asarray(self.grid.years)
        zi, yi, ki, vals = [], [], [], []
        names: list[tuple[str, str]] = []
        for (svc, name), arr in q.items():  # arr (T, N, 5)
            t, n, _k = arr.shape
            flat = arr.reshape(t * n, -1)
            keep = np.isfinite(flat).any(axis=1)
            if not keep.any():
                continue
            zi.append(np.tile(np.arange(n), t)[keep])
            yi.append(np.repeat(years, n)[keep])
            ki.append(np.full(int(keep.sum()), len(names)))
            vals.append(flat[keep])
            names.append((svc, name))
        if not names:
            return pd.DataFrame()
        k = np.concatenate(ki)
        cols: dict[str, object] = {
            "level": level,
            "zone": np.asarray(codes, dtype=object)[np.concatenate(zi)],
            "year": np.concatenate(yi),
            "service": np.array([s for s, _ in names], dtype=object)[k],
            "measure": np.array([m for _, m in names], dtype=object)[k],
            "unit": np.array([units[nm] for nm in names], dtype=object)[k],
        }
        v = np.concatenate(vals)
        for c, qc in enumerate(_QCOLS):
            cols[qc] = v[:, c]
        return pd.DataFrame(cols)

    def _cross_frame(
        self, level: str, codes: npt.NDArray[np.str_], th: Threshold, p: Array
    ) -> pd.DataFrame:
        t, n = p.shape
        years = np.asarray(self.grid.years)
        frame = pd.DataFrame(
            {
                "level": level,
                "zone": np.tile(codes, t),
                "year": np.repeat(years, n),
                "service": th.service,
                "measure": th.measure,
                "threshold": th.name,
                "op": th.op,
                "p_crossed": p.reshape(-1),
            }
        )
        return frame[np.isfinite(frame["p_crossed"].to_numpy())]


def _parent_sum(part: Array, members: IntArray) -> Array:
    """Sum of ``part[measure, year, zone, draw]`` over the zones ``members`` (ascending), in zone
    order from 0: one reduction where they form a run, else one addition per zone."""
    out = np.zeros(part.shape[:2] + part.shape[3:])
    a, b = int(members[0]), int(members[-1]) + 1
    if b - a == len(members):
        out += np.add.reduce(part[:, :, a:b, :], axis=2) if b - a > 1 else part[:, :, a]
    else:
        for j in members:
            out += part[:, :, j, :]
    return out


def evaluate(
    plans: Sequence[ServicePlan], grid: Grid, population: Array
) -> dict[tuple[str, str], Array]:
    """Every per-zone measure of ``plans`` for a population ``[year, zone, sex, group, draw]`` on
    ``grid`` (all its zones): ``(service, measure) -> [year, zone, draw]``, ratios included.

    The same computation :func:`service_demand` streams, on one given population (for checks and
    hand-computed cases).
    """
    acc = _Accumulator(plans, grid, Parents(), population.shape[-1])
    zi = np.arange(len(grid.zones), dtype=np.intp)
    out = {
        k: v
        for k, v in acc._measures(population, zi).items()
        if k[1] in {m.name for p in plans for m in p.measures}
    }
    for p in plans:
        _add_ratios(p, out)
    return out


def _add_ratios(plan: ServicePlan, vals: dict[tuple[str, str], Array]) -> None:
    """Add every ratio of ``plan`` whose parts are in ``vals`` (per draw: ratio of the parts)."""
    for m in plan.measures:
        if m.how == "ratio":
            num, den = m.parts()
            if num in vals and den in vals:
                vals[(plan.name, m.name)] = _ratio(vals[num], vals[den])


def _ratio(num: Array, den: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den
    return np.where(den > 0, r, np.nan)


_Stats = tuple[Array, Array, Array, Array]
"""Order statistics of lanes of draws: the lower and upper neighbours of every quantile's
virtual index, ``[..., 5]`` each, and the lane's minimum and maximum (NaN where it has a NaN)."""


def _quantile_indexes(n: int) -> tuple[IntArray, IntArray, Array]:
    """numpy's virtual indexes (method ``linear``) of :data:`QUANTILES` among ``n`` draws: the
    lower and upper neighbour and the weight ``gamma`` of the upper one."""
    virtual = (n - 1) * np.asarray(QUANTILES)
    lo = np.floor(virtual)
    gamma = virtual - lo
    i = lo.astype(np.intp)
    j = np.minimum(i + 1, n - 1)  # the quantiles here all lie below the last draw
    return i, j, gamma


def _order_stats(v: Array) -> _Stats:
    """The order statistics of ``v`` over its last axis (draws) that its quantiles need: one
    sort of each lane along the contiguous draw axis (NaN sort to the end)."""
    n = v.shape[-1]
    i, j, _gamma = _quantile_indexes(n)
    srt = np.sort(v, axis=-1)
    return srt[..., i], srt[..., j], srt[..., 0], srt[..., -1]


def _constant_stats(c: Array) -> _Stats:
    """The order statistics of lanes whose draws all hold ``c`` (``[...]``), without a sort."""
    a = np.repeat(c[..., None], len(QUANTILES), axis=-1)
    return a, a, c, c


def _scaled_stats(src: _Stats, factor: Array) -> _Stats | None:
    """The order statistics of ``factor[..., None] * lanes`` from those of ``lanes``, or None
    where some factor is negative or infinite.

    Exact: rounding ``f * x`` is non-decreasing in ``x`` for ``f >= 0``, so the k-th smallest of
    the products is the product with the k-th smallest (ties stay ties). The product lane has a
    NaN where the lane has one, where ``f`` is NaN, or where ``f = 0`` meets an infinite draw:
    then its maximum or minimum is NaN, as for a sorted lane with a NaN.
    """
    ok = np.isnan(factor) | (np.isfinite(factor) & (factor >= 0))
    if not ok.all():
        return None
    a, b, lo, hi = src
    with np.errstate(invalid="ignore", over="ignore"):
        f = factor[..., None]
        return a * f, b * f, lo * factor, hi * factor


def _interpolate(stats: _Stats, n: int) -> Array:
    """``[..., 5]`` quantiles from the order statistics of lanes of ``n`` draws: numpy's
    interpolation (method ``linear``) in numpy's arithmetic; NaN where a lane has a NaN."""
    a, b, lo, hi = stats
    if n == 1:
        return a.copy()
    _i, _j, gamma = _quantile_indexes(n)
    diff = b - a
    out: Array = a + diff * gamma
    upper = gamma >= 0.5
    out[..., upper] = b[..., upper] - diff[..., upper] * (1 - gamma[upper])
    out[np.isnan(hi) | np.isnan(lo)] = np.nan
    return out


def _quantiles(v: Array) -> Array:
    """``[year, zone, 5]`` quantiles over the last axis (draws), NaN where a draw is NaN.

    Bit for bit ``np.quantile(v, QUANTILES, axis=-1)`` (method ``linear``): the same order
    statistics, taken from one sort of each lane along the contiguous draw axis (instead of
    numpy's partition along a moved axis), and numpy's interpolation in numpy's arithmetic.
    """
    n = v.shape[-1]
    if n == 1:
        return np.repeat(v, len(QUANTILES), axis=-1)
    return _interpolate(_order_stats(v), n)


def _crossed(v: Array, op: str, bound: Array) -> Array:
    """Share of draws that have crossed ``bound`` in some year up to each year: ``[year, zone]``."""
    with np.errstate(invalid="ignore"):
        hit = v < bound[..., None] if op == "<" else v > bound[..., None]
    ever = np.logical_or.accumulate(hit & np.isfinite(v), axis=0)
    p = np.asarray(ever.mean(axis=-1), dtype=np.float64)
    p[:, ~np.isfinite(v).any(axis=(0, 2))] = np.nan  # a zone without the figure: no probability
    return p


def _summary(crossings: pd.DataFrame) -> pd.DataFrame:
    """Per threshold and zone: probability by the last year and first years reaching 10/50/90 %."""
    if crossings.empty:
        return pd.DataFrame(
            columns=[
                "level",
                "zone",
                "service",
                "measure",
                "threshold",
                "op",
                "p_by_end",
                "year_p10",
                "year_p50",
                "year_p90",
            ]
        )
    keys = ["level", "zone", "service", "measure", "threshold", "op"]
    c = crossings.sort_values([*keys, "year"])
    g = c.groupby(keys, sort=False)
    out = g["p_crossed"].last().rename("p_by_end").reset_index()
    for p, col in ((0.1, "year_p10"), (0.5, "year_p50"), (0.9, "year_p90")):
        hit = c[c["p_crossed"] >= p].groupby(keys, sort=False)["year"].min().rename(col)
        out = out.merge(hit.reset_index(), on=keys, how="left")
        out[col] = out[col].astype("Int64")
    return out


def _run(
    plans: Sequence[ServicePlan],
    grid: Grid,
    parents: Parents,
    chunks: Iterable[tuple[tuple[str, ...], Iterator[tuple[int, Array]]]],
    n_draws: int,
    on_chunk: Callable[[int], None] | None,
    workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accumulate the zone chunks; ``workers`` threads (default: the CPUs, at most 4) work on
    as many chunks at once, the engine running for one at a time (it has threads of its own),
    the measures and quantiles of the others beside it. Results are merged in chunk order, so
    they do not depend on ``workers``."""
    acc = _Accumulator(plans, grid, parents, n_draws)
    pos = {z: i for i, z in enumerate(grid.zones)}
    n_workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if n_workers <= 1:
        for zones, draws in chunks:
            acc.add_zone_chunk(np.array([pos[z] for z in zones], dtype=np.intp), draws)
            if on_chunk is not None:
                on_chunk(len(zones))
        return acc.finish()
    lock = threading.Lock()
    pending: deque[tuple[int, Future[_ChunkOut]]] = deque()

    def settle() -> None:
        n, fut = pending.popleft()
        acc.merge(fut.result())
        if on_chunk is not None:
            on_chunk(n)

    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        try:
            for zones, draws in chunks:
                zi = np.array([pos[z] for z in zones], dtype=np.intp)
                pending.append((len(zones), pool.submit(acc.zone_chunk, zi, draws, lock)))
                if len(pending) >= n_workers:  # at most one chunk per worker in memory
                    settle()
            while pending:
                settle()
        finally:
            for _n, fut in pending:
                fut.cancel()
    return acc.finish()


def zone_chunk_size(
    plans: Sequence[ServicePlan],
    years: int,
    draws: int,
    chunking: Chunking,
    groups: int = 0,
) -> int:
    """Zones per chunk so that one chunk's measure buffer (and, with ``groups`` age groups, the
    engine's population of one chunk of draws) stays within ``chunking.budget_mb``."""
    n = sum(1 for p in plans for m in p.measures if m.how in ("sum", "zone")) or 1
    engine = years * 2 * groups * min(max(draws, 1), chunking.draws)
    per_zone = (n * years * max(draws, 1) + engine) * 8 / 1e6
    return int(max(1, min(chunking.zones, chunking.budget_mb // max(per_zone, 1e-9))))


def service_demand(
    population: xr.DataArray,
    rates: ProjectionRates,
    *,
    base_year: int,
    until: int,
    plans: Sequence[ServicePlan],
    grid: Grid,
    parents: Parents,
    groups: Sequence[DrawGroup] = (),
    chunking: Chunking = Chunking(),
    on_chunk: Callable[[int], None] | None = None,
) -> ServiceResult:
    """Demand of ``plans`` for every zone of ``grid``, deterministic and over the draws of ``groups``.

    Parameters
    ----------
    population, rates
        Base population (dims ``zone, sex, age``) on 31.12. of ``base_year`` and the projection
        rates, both over the grid's zones.
    base_year, until
        The projection runs ``base_year + 1 .. until``; the results cover ``base_year .. until``
        (``grid.years``).
    plans, grid
        From :func:`wandel.services.model.plan_services` on the same grid.
    parents
        Parent regions to sum per draw (Kreis, Land, Mittelbereich, all).
    groups
        Zones with their stochastic spec (e.g. one per size class); empty: deterministic only.
    chunking
        Chunk sizes; the results do not depend on them.
    """
    horizon = until - base_year
    if list(grid.years) != list(range(base_year, until + 1)):
        raise ValueError("grid years must run from the base year to until")
    breaks = list(grid.breaks)
    det_pop = project(population, rates, base_year=base_year, horizon=horizon, age_breaks=breaks)
    det = _values(det_pop.population)

    def det_chunks() -> Iterator[tuple[tuple[str, ...], Iterator[tuple[int, Array]]]]:
        zs = list(grid.zones)
        step = chunking.zones
        for a in range(0, len(zs), step):
            yield tuple(zs[a : a + step]), iter([(0, det[:, a : a + step])])

    det_fig, det_cross = _run(plans, grid, parents, det_chunks(), 1, None)
    n_draws = max((g.spec.draws for g in groups), default=0)
    if n_draws and any(g.spec.draws != n_draws for g in groups):
        raise ValueError("every draw group needs the same number of draws")
    keys = ["level", "zone", "year", "service", "measure"]
    if n_draws:
        zc = zone_chunk_size(plans, len(grid.years), n_draws, chunking, len(breaks))
        chunks = stream_draws(
            population,
            rates,
            base_year=base_year,
            horizon=horizon,
            groups=groups,
            breaks=breaks,
            chunking=chunking,
            zone_chunk=zc,
        )
        fig, cross = _run(plans, grid, parents, chunks, n_draws, on_chunk)
        value = det_fig[[*keys, "q50"]].rename(columns={"q50": "value"})
        fig = _outer_join(value, fig, _level_order(parents))
    else:
        fig = det_fig.drop(columns=[c for c in _QCOLS if c != "q50"])
        fig = fig.rename(columns={"q50": "value"}).assign(**dict.fromkeys(_QCOLS, np.nan))
        cross = det_cross
    return _assemble(fig, cross, plans, parents, n_draws)


def _level_order(parents: Parents) -> dict[str, int]:
    return {lv: i for i, lv in enumerate(["zone", *parents.levels])}


_ORDER = ("service", "measure", "level", "zone", "year")
"""The order of the result rows (levels in the order zone, then the parents' levels)."""


def _row_keys(
    frames: Sequence[pd.DataFrame], order: Mapping[str, int]
) -> list[npt.NDArray[np.int64]]:
    """One integer per row of ``frames``, the same for the same row in any of them, ordered as
    the rows sorted by :data:`_ORDER` (strings by their code points, levels by ``order``)."""
    key: npt.NDArray[np.int64] | None = None
    for col in _ORDER:
        every = pd.concat([f[col] for f in frames], ignore_index=True)
        if col == "level":
            c, uniq = pd.factorize(every)
            codes = np.array([order[str(u)] for u in uniq], dtype=np.int64)[c]
            card = len(order)
        elif col == "year":
            y = every.to_numpy(dtype=np.int64)
            codes = y - (y.min() if len(y) else 0)
            card = int(codes.max()) + 1 if len(y) else 1
        else:
            c, uniq = pd.factorize(every, sort=True)
            codes, card = np.asarray(c, dtype=np.int64), len(uniq)
        key = codes if key is None else key * card + codes
    assert key is not None
    return np.split(key, np.cumsum([len(f) for f in frames])[:-1])


def _outer_join(value: pd.DataFrame, fig: pd.DataFrame, order: Mapping[str, int]) -> pd.DataFrame:
    """``value`` (keys and the deterministic value) and ``fig`` (keys, unit, quantiles) joined on
    their keys, every row of either, in the order of the result (:data:`_ORDER`)."""
    kv, kf = _row_keys([value, fig], order)
    of, ov = np.argsort(kf, kind="stable"), np.argsort(kv, kind="stable")
    if len(kv) == len(kf) and np.array_equal(kf[of], kv[ov]):  # the same rows: no gaps
        out = fig.iloc[of].reset_index(drop=True)
        keys = [c for c in value.columns if c != "value"]
        out.insert(len(keys), "value", value["value"].to_numpy(dtype=np.float64)[ov])
        return out[[*keys, "value", *[c for c in fig.columns if c not in keys]]]
    every = np.sort(np.concatenate([kv, kf]))
    every = every[np.concatenate([[True], every[1:] != every[:-1]])]  # sorted, each key once
    pos_v = np.full(len(every), -1)
    pos_v[np.searchsorted(every, kv)] = np.arange(len(kv))
    in_f = np.zeros(len(every), dtype=bool)
    in_f[np.searchsorted(every, kf)] = True
    keys = [c for c in value.columns if c != "value"]
    rows = pd.concat([fig, value.iloc[pos_v[~in_f]][keys]], ignore_index=True)
    at = np.argsort(np.concatenate([kf, every[~in_f]]), kind="stable")
    out = rows.iloc[at].reset_index(drop=True)
    v = value["value"].to_numpy(dtype=np.float64)
    out.insert(len(keys), "value", np.where(pos_v >= 0, v[np.maximum(pos_v, 0)], np.nan))
    return out


def _assemble(
    fig: pd.DataFrame,
    cross: pd.DataFrame,
    plans: Sequence[ServicePlan],
    parents: Parents,
    n_draws: int,
) -> ServiceResult:
    """The result: columns in order, units filled, rows sorted, threshold summary."""
    keys = ["level", "zone", "year", "service", "measure"]
    units = {(m.service, m.name): m.unit for p in plans for m in p.measures}
    if "unit" not in fig.columns:
        fig["unit"] = [units[(s, m)] for s, m in zip(fig["service"], fig["measure"], strict=True)]
    elif fig["unit"].isna().any():
        miss = fig["unit"].isna().to_numpy()
        sub = fig.loc[miss]
        fig.loc[miss, "unit"] = [
            units[(s, m)] for s, m in zip(sub["service"], sub["measure"], strict=True)
        ]
    cols = [*keys, "unit", "value", *_QCOLS]
    (rank,) = _row_keys([fig], _level_order(parents))
    fig = fig[cols]
    if len(rank) > 1 and not (np.diff(rank) > 0).all():
        fig = fig.iloc[np.argsort(rank, kind="stable")]
    if not cross.empty:
        cross = cross.sort_values(["service", "threshold", "level", "zone", "year"])
    return ServiceResult(
        fig.reset_index(drop=True),
        cross.reset_index(drop=True),
        _summary(cross),
        n_draws,
        tuple(m for p in plans for m in p.missing),
        tuple(dict.fromkeys(n for p in plans for n in p.notes)),
    )


def service_figures(
    result: ServiceResult | pd.DataFrame, service: str, measure: str, level: str = "zone"
) -> pd.DataFrame:
    """One measure of one service per zone and year: ``zone, year, value, q025 .. q975``.

    The table an indicator needs (e.g. ``wandel.compare``: places per child, the year a school
    falls below its minimum): the deterministic value, the median and the bands over the draws.
    ``result`` is a :class:`ServiceResult` or its ``figures`` table (also the ``figures`` of
    :class:`wandel.workflow.services.ServicesRun`; pick one ``scenario`` first there).
    """
    f = result.figures if isinstance(result, ServiceResult) else result
    sel = f[(f["service"] == service) & (f["measure"] == measure) & (f["level"] == level)]
    return sel[["zone", "year", "value", *_QCOLS]].reset_index(drop=True)

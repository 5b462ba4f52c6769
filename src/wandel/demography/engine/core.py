"""Cohort-component projection by single age 0..100+, both sexes, yearly steps, zones x draws.

The engine projects a base population ``P(zone, sex, age)`` over ``horizon`` years. Labelled
``xarray.DataArray`` objects are used at the boundary (dims ``zone, sex, age[, year]``); inside, a
numpy kernel works on blocks of ``(draw, zone, sex, age)`` small enough to stay in the CPU cache,
runs every year of a block before moving on, and spreads independent blocks over threads. The
common case without mortality or out-migration levels, origin-destination migration, control,
net-migration noise or age groups in the output (a deterministic projection, or draws of the
fertility and in-migration levels only) runs on a compiled kernel
(:mod:`wandel.demography.engine._kernel`): one pass per zone and year over its ``2 x 101`` cells, zones
in parallel, the same numbers to rounding (and bit for bit for any number of threads). Every
other case whose zones are independent (no origin-destination migration, no control: all levels,
net-migration noise, age groups) runs on the compiled draws kernel
(:mod:`wandel.demography.engine._draws`), draws as the innermost, vectorised axis; the numpy
kernel remains for the coupled cases.

Order of events within the year ``t -> t+1`` (ages are completed years on 31 December)
-------------------------------------------------------------------------------------------
1. **Survival and ageing** of the population at the start, ``P(t)``: ``N(x+1) = P(x) S(x)`` for
   ``x = 0..98``; the open group ``N(100+) = (P(99) + P(100+)) S(99+)`` (see
   :func:`wandel.demography.lifetable.survival_ratios`). With a mortality level ``m`` (stochastic
   draws), every one-year death probability ``1 - S`` is multiplied by ``m`` and capped at 1:
   ``S' = 1 - min(m (1 - S), 1)``.
2. **Births** from age-specific fertility rates of women, mid-year exposure approximated by the
   average of the women aged x at the start of the year and the survivors aged x at its end (before
   the migration of step 4): ``B = f * sum_x asfr(x) (P_f(x, t) + N_f(x)) / 2``, ``f`` the fertility
   level. Boys ``B srb / (1 + srb)``, girls ``B / (1 + srb)``; newborns alive at the end of the year
   ``N(0) = B_sex * S_birth`` (``L0 / l0``, with the same mortality level).
3. **Deaths** ``D = sum P(t) + B - sum N`` (everyone who was there or born and did not survive).
4. **Migration at the end of the year**, by age at the end of the year:

   a. out-migration ``O = min(N * out_rate * o, N)`` (``o`` the out-migration level): capped by the
      people present, so no age group can go negative;
   b. with an origin-destination matrix ``od[z, z2]`` (the share of zone z's out-movers that move
      to zone z2 of the same system; rows sum to at most 1, the rest leave the system) the internal
      movers arrive at their destinations as in-migrants (movers are conserved);
   c. negative scenario flows remove people, capped by the people left: ``min(-extra, N - O)``,
      counted as out-migration; positive scenario flows are added as in-migration;
   d. in-migration counts ``in_count * i`` (``i`` the in-migration level) are added;
   e. stochastic net migration (draws only, :attr:`StochasticSpec.sigma_net_migration`): the zone
      receives the net flow ``F = eps(z, d, t) * P(z, t)``, ``P(z, t)`` its population at the start
      of the year (both sexes, all ages). ``F`` is distributed over sexes and ages in proportion to
      the zone's own population at that point, ``N'`` (after a-d): every cell is multiplied by
      ``1 + g`` with ``g = max(F / sum(N'), -1)`` (``g = 0`` for an empty zone), so the age-sex
      structure is left as the deterministic rates make it, and a negative flow can at most remove
      everybody present (the cap). ``g N'`` is booked per sex as in-migration when positive and as
      out-migration when negative.

5. **Control** (optional): every zone of a parent region is scaled by ``target / sum(zones)`` per sex
   so that the zones add up to the parent total; the change is reported as ``adjustment``.

The balancing equation ``P(t+1) = P(t) + B - D + I - O + adjustment`` then holds for every zone,
sex, year and draw up to floating-point rounding (relative 1e-12), and no population is ever
negative (survival ratios and rates are checked to lie in [0, 1], counts to be non-negative).

Stochastic draws: the fertility, mortality, in- and out-migration levels follow an AR(1) on the log
level per draw and year, ``log L(t) = ar * log L(t-1) + sigma * eps(t)``, ``log L(0) = 0``
(``ar = 1``: random walk). Draw ``d`` uses its own random stream from
``numpy.random.SeedSequence(seed, spawn_key=(d,))`` (the d-th child of ``SeedSequence(seed)``),
so any subset of draws, computed in any chunking, gives the same numbers bit for bit.

The net-migration rates ``eps(z, d, t)`` (step 4e) are a stationary AR(1) per zone and draw with a
zone-specific standard deviation ``sigma_z``: ``eps(1) = sigma_z u(1)``, ``eps(t) = phi eps(t-1) +
sigma_z sqrt(1 - phi^2) u(t)``; ``phi = 1`` keeps one rate for the whole horizon (the
population's log error then grows like ``sigma_z h``), ``phi = 0`` draws a fresh rate every year
(growth like ``sigma_z sqrt(h)``). The standard normals ``u`` come from an independent
counter-based stream: a 64-bit key per draw from ``SeedSequence(seed, spawn_key=(d, 0x4E4D))``
hashed (SplitMix64 finaliser) with a key of the zone label and the year, turned into a normal by
the inverse normal CDF. A zone's noise therefore depends only on (seed, draw, zone label, year):
the same under any chunking by draws or by zones.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from scipy.special import ndtri

from wandel.demography.lifetable import OPEN_AGE

__all__ = [
    "LEVEL_COMPONENTS",
    "SEXES",
    "SRB_DEFAULT",
    "Control",
    "EngineInput",
    "Levels",
    "Projection",
    "ProjectionRates",
    "StochasticSpec",
    "draw_levels",
    "draw_net_migration",
    "engine_input",
    "project",
    "project_arrays",
    "quantiles",
]

Array = npt.NDArray[np.float64]
FloatArray = npt.NDArray[np.floating[Any]]

SEXES: tuple[str, str] = ("m", "f")
"""Sex order inside the engine (index 0 male, 1 female)."""

SRB_DEFAULT = 1.055
"""Sex ratio at birth, boys per girl (Germany 1950-2023, table 12612-0001: 1.052-1.058)."""

LEVEL_COMPONENTS: tuple[str, str, str, str] = (
    "fertility",
    "mortality",
    "in_migration",
    "out_migration",
)

N_AGES = OPEN_AGE + 1
_BLOCK_ELEMENTS = 64_000  # about 0.5 MB of float64 per work array: stays in L2


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionRates:
    """The rates of a projection as labelled arrays; any of them may carry a ``year`` dimension.

    A rate without ``year`` holds for every projected year; with ``year`` it must cover the years
    ``base_year + 1 .. base_year + horizon`` (the year in which the events happen).

    Attributes
    ----------
    sx
        Survival ratios ``S(x)`` (dims ``zone, sex, age``; ages 0..100, the last two entries the
        open-group ratio ``T(100) / T(99)``), in [0, 1].
    birth_survival
        ``L0 / l0`` (dims ``zone, sex``), in [0, 1].
    asfr
        Births per woman and year by age of mother (dims ``zone, age``; ages missing are 0; usually
        15..49).
    out_rate
        Out-migration rate by age at the end of the year (dims ``zone, sex, age``), in [0, 1].
    in_count
        In-migrants by age at the end of the year (dims ``zone, sex, age``), non-negative.
    srb
        Sex ratio at birth (boys per girl).
    extra
        Optional scenario flows, counts (dims ``zone, sex, age[, year]``); negative values remove
        people (capped by those present).
    od
        Optional origin-destination shares of out-movers between the zones of one system (dims
        ``zone, destination``); rows sum to at most 1.
    """

    sx: xr.DataArray
    birth_survival: xr.DataArray
    asfr: xr.DataArray
    out_rate: xr.DataArray
    in_count: xr.DataArray
    srb: float = SRB_DEFAULT
    extra: xr.DataArray | None = None
    od: xr.DataArray | None = None


@dataclass(frozen=True)
class Control:
    """Control of zone results to parent totals.

    Attributes
    ----------
    parent
        The parent of each zone (dim ``zone``; values are parent labels).
    totals
        Target population of each parent by sex and year (dims ``parent, sex, year``), covering the
        projected years.
    """

    parent: xr.DataArray
    totals: xr.DataArray


@dataclass(frozen=True)
class StochasticSpec:
    """Stochastic levels: error sizes (standard deviations of the yearly log-level innovations).

    ``draws`` draws with ids ``0..draws-1``; ``ar`` the AR(1) coefficient of the log levels (1.0 is
    a random walk). The lead calibrates the sigmas on backtests; the defaults are 0 (no variation).

    ``sigma_net_migration`` is the standard deviation of the yearly net-migration rate ``eps``
    (net movers per inhabitant at the start of the year, step 4e of the module doc): one number for
    every zone or a mapping zone label -> sigma (every projected zone must be in it);
    ``ar_net_migration`` (``phi`` in [0, 1]) its persistence: 1 keeps a draw's rate over the whole
    horizon, 0 draws it afresh every year.
    """

    draws: int = 1000
    seed: int = 0
    sigma_fertility: float = 0.0
    sigma_mortality: float = 0.0
    sigma_in_migration: float = 0.0
    sigma_out_migration: float = 0.0
    ar: float = 1.0
    sigma_net_migration: float | Mapping[str, float] = 0.0
    ar_net_migration: float = 1.0

    def net_sigmas(self, zones: Sequence[str]) -> Array:
        """``sigma_net_migration`` as an array over ``zones`` (labels).

        >>> StochasticSpec(sigma_net_migration={"a": 0.01, "b": 0.02}).net_sigmas(["b", "a"])
        array([0.02, 0.01])
        """
        s = self.sigma_net_migration
        if isinstance(s, Mapping):
            missing = [str(z) for z in zones if str(z) not in s]
            if missing:
                raise ValueError(f"sigma_net_migration lacks zones {missing[:5]}")
            out = np.array([float(s[str(z)]) for z in zones], dtype=np.float64)
        else:
            out = np.full(len(zones), float(s))
        if np.any(~np.isfinite(out)) or np.any(out < 0):
            raise ValueError("sigma_net_migration must be finite and non-negative")
        return out

    @property
    def sigmas(self) -> tuple[float, float, float, float]:
        return (
            self.sigma_fertility,
            self.sigma_mortality,
            self.sigma_in_migration,
            self.sigma_out_migration,
        )


@dataclass(frozen=True, eq=False)
class Levels:
    """Level multipliers per year and draw, each of shape ``(horizon, n_draws)``; None = all 1."""

    fertility: Array | None = None
    mortality: Array | None = None
    in_migration: Array | None = None
    out_migration: Array | None = None
    net_migration: Array | None = None  # (horizon, n_draws, n_zones): net rates eps, step 4e


_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_NET_STREAM = 0x4E4D  # spawn-key tag of the net-migration stream ("NM")


def _mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014), elementwise on uint64 (wrapping)."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    out: npt.NDArray[np.uint64] = x ^ (x >> np.uint64(31))
    return out


def _zone_keys(zones: Sequence[str]) -> npt.NDArray[np.uint64]:
    """A 64-bit key per zone label (BLAKE2b of its UTF-8 text): independent of zone order."""
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(str(z).encode(), digest_size=8).digest(), "little")
            for z in zones
        ],
        dtype=np.uint64,
    )


@functools.lru_cache(maxsize=16)
def _draw_keys(seed: int, draw_ids: tuple[int, ...]) -> npt.NDArray[np.uint64]:
    """A 64-bit key per draw of the net-migration stream (read only): one seed sequence per
    draw, kept for the next zone chunk of the same draws (they depend on neither zone)."""
    keys = np.array(
        [
            np.random.SeedSequence(seed, spawn_key=(d, _NET_STREAM)).generate_state(1, np.uint64)[0]
            for d in draw_ids
        ],
        dtype=np.uint64,
    )
    keys.flags.writeable = False
    return keys


def _net_normals(seed: int, horizon: int, draw_ids: Sequence[int], zones: Sequence[str]) -> Array:
    """Standard normals ``u(t, d, z)`` of the net-migration stream, shape ``(horizon, D, Z)``."""
    dkeys = _draw_keys(int(seed), tuple(int(d) for d in draw_ids))
    dz = _mix64(dkeys[:, None] ^ _mix64(_zone_keys(zones))[None, :])  # (D, Z)
    steps = (np.arange(1, horizon + 1, dtype=np.uint64) * _GOLDEN)[:, None, None]
    h = _mix64(_mix64(dz[None] + steps))
    u = ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    out: Array = ndtri(u)
    return out


def draw_net_migration(
    spec: StochasticSpec, horizon: int, draw_ids: Sequence[int], zones: Sequence[str]
) -> Array | None:
    """Net-migration rates ``eps(t, d, z)`` (shape ``(horizon, D, Z)``), None when all sigmas are 0.

    Stationary AR(1) with standard deviation ``sigma_z`` and coefficient ``phi =
    spec.ar_net_migration`` (see the module doc); a draw's rates depend only on the seed, the draw
    id, the zone label and the year, so any chunking of draws or zones gives the same numbers.

    >>> spec = StochasticSpec(draws=4, seed=3, sigma_net_migration={"a": 0.01, "b": 0.0})
    >>> eps = draw_net_migration(spec, 5, range(4), ["a", "b"])
    >>> eps.shape, bool(np.all(eps[:, :, 1] == 0)), bool(np.all(eps[0] == eps[4]))
    ((5, 4, 2), True, True)
    >>> bool(np.all(draw_net_migration(spec, 5, [2], ["a"])[:, 0, 0] == eps[:, 2, 0]))
    True
    """
    sig = spec.net_sigmas(zones)
    if not np.any(sig > 0):
        return None
    phi = float(spec.ar_net_migration)
    if not 0.0 <= phi <= 1.0:
        raise ValueError("ar_net_migration must lie in [0, 1]")
    u = _net_normals(spec.seed, horizon, list(draw_ids), zones)
    innov = np.sqrt(max(1.0 - phi * phi, 0.0))
    eps = np.empty_like(u)
    eps[0] = u[0]
    for t in range(1, horizon):
        eps[t] = phi * eps[t - 1] + innov * u[t]
    eps *= sig
    return eps


def draw_levels(spec: StochasticSpec, horizon: int, draw_ids: Sequence[int]) -> Levels:
    """Level multipliers for the draws ``draw_ids`` (each draw from its own seeded stream).

    ``log L(t) = ar log L(t-1) + sigma eps(t)``, ``eps`` standard normal, ``log L(0) = 0``; the
    stream of draw ``d`` is ``default_rng(SeedSequence(spec.seed, spawn_key=(d,)))`` and yields the
    innovations of the four components (fertility, mortality, in-, out-migration) as a
    ``(horizon, 4)`` block, so a draw's levels do not depend on which other draws are computed.

    >>> spec = StochasticSpec(draws=3, seed=7, sigma_fertility=0.05)
    >>> lv = draw_levels(spec, 2, [0, 1, 2])
    >>> lv.fertility.shape, lv.mortality is None
    ((2, 3), True)
    >>> bool(np.all(draw_levels(spec, 2, [2]).fertility[:, 0] == lv.fertility[:, 2]))
    True
    """
    ids = list(draw_ids)
    eps = np.empty((horizon, len(ids), 4))
    for j, d in enumerate(ids):
        rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(int(d),)))
        eps[:, j, :] = rng.standard_normal((horizon, 4))
    out: list[Array | None] = []
    for k, sigma in enumerate(spec.sigmas):
        if sigma == 0:
            out.append(None)
            continue
        log_level = np.zeros((horizon, len(ids)))
        prev = np.zeros(len(ids))
        for t in range(horizon):
            prev = spec.ar * prev + sigma * eps[t, :, k]
            log_level[t] = prev
        out.append(np.exp(log_level))
    return Levels(*out)


@dataclass(frozen=True, eq=False)
class EngineInput:
    """Plain numpy inputs of the kernel (sex order :data:`SEXES`, ages 0..100+).

    Arrays with a leading year axis have length ``horizon`` there (broadcast views are fine).
    ``parent_index`` (zone,) and ``control_totals`` (horizon, n_parents, 2) are both set or both None.
    """

    population: Array  # (Z, 2, A)
    sx: Array  # (T, Z, 2, A)
    birth_survival: Array  # (T, Z, 2)
    asfr: Array  # (T, Z, A)
    out_rate: Array  # (T, Z, 2, A)
    in_count: Array  # (T, Z, 2, A)
    srb: float = SRB_DEFAULT
    extra: Array | None = None  # (T, Z, 2, A)
    od: Array | None = None  # (Z, Z)
    parent_index: npt.NDArray[np.intp] | None = None
    control_totals: Array | None = None
    fertile: tuple[int, int] = field(default=(15, 50))

    @property
    def horizon(self) -> int:
        return int(self.sx.shape[0])

    @property
    def n_zones(self) -> int:
        return int(self.population.shape[0])


@dataclass(frozen=True, eq=False)
class RawProjection:
    """Kernel result: population ``(T+1, D, Z, 2, A)``, components ``(T, D, Z, 2)``.

    float64, or float32 where asked for (``project_arrays(..., dtype=numpy.float32)``).
    """

    population: FloatArray
    births: FloatArray
    deaths: FloatArray
    in_migration: FloatArray
    out_migration: FloatArray
    adjustment: FloatArray


# --------------------------------------------------------------------------------------------
# the numpy kernel
# --------------------------------------------------------------------------------------------


def _base(x: Array, min_ndim: int = 0) -> Array:
    """``x`` without its leading broadcast (stride-0) axes: the data actually stored."""
    while x.ndim > min_ndim and x.strides[0] == 0:
        x = x[0]
    return x


def _keep_broadcast(x: Array, fn: Callable[[Array], Array]) -> Array:
    """``fn(x)`` computed once on the stored data and broadcast back over the leading axes."""
    base = _base(x)
    out = fn(base)
    return np.broadcast_to(out, x.shape[: x.ndim - base.ndim] + out.shape)


def _check_unit(name: str, x: Array) -> None:
    x = _base(x)
    if np.any(~np.isfinite(x)) or np.any(x < 0) or np.any(x > 1):
        raise ValueError(f"{name} must lie in [0, 1]")


def _check_nonneg(name: str, x: Array) -> None:
    x = _base(x)
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"{name} must be finite and non-negative")


def _validate(inp: EngineInput) -> None:
    z = inp.n_zones
    t = inp.horizon
    if inp.population.shape != (z, 2, N_AGES):
        raise ValueError(f"population must have shape (zones, 2, {N_AGES})")
    for name, arr, shape in [
        ("sx", inp.sx, (t, z, 2, N_AGES)),
        ("birth_survival", inp.birth_survival, (t, z, 2)),
        ("asfr", inp.asfr, (t, z, N_AGES)),
        ("out_rate", inp.out_rate, (t, z, 2, N_AGES)),
        ("in_count", inp.in_count, (t, z, 2, N_AGES)),
    ]:
        if arr.shape != shape:
            raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
    _check_nonneg("population", inp.population)
    _check_unit("sx", inp.sx)
    _check_unit("birth_survival", inp.birth_survival)
    _check_unit("out_rate", inp.out_rate)
    _check_nonneg("asfr", inp.asfr)
    _check_nonneg("in_count", inp.in_count)
    if not (np.isfinite(inp.srb) and inp.srb > 0):
        raise ValueError("srb must be positive")
    if inp.extra is not None and (
        inp.extra.shape != (t, z, 2, N_AGES) or np.any(~np.isfinite(_base(inp.extra)))
    ):
        raise ValueError(f"extra must be finite with shape {(t, z, 2, N_AGES)}")
    if inp.od is not None:
        if inp.od.shape != (z, z):
            raise ValueError(f"od must have shape {(z, z)}")
        _check_nonneg("od", inp.od)
        if np.any(inp.od.sum(axis=1) > 1 + 1e-12):
            raise ValueError("od rows (shares of an origin's out-movers) must sum to at most 1")
    if (inp.parent_index is None) != (inp.control_totals is None):
        raise ValueError("parent_index and control_totals go together")
    if inp.control_totals is not None:
        _check_nonneg("control_totals", inp.control_totals)


def _fertile_span(asfr: Array) -> tuple[int, int]:
    ages = np.flatnonzero(np.any(_base(asfr).reshape(-1, N_AGES) > 0, axis=0))
    if ages.size == 0:
        return 0, 0
    return int(ages[0]), int(ages[-1]) + 1


def _blocks(n_draws: int, n_zones: int, coupled: bool) -> list[tuple[slice, slice]]:
    """Independent (draw, zone) blocks; zones stay together when migration or control couples them."""
    per_row = 2 * N_AGES
    if coupled:
        nd = max(1, _BLOCK_ELEMENTS // (per_row * n_zones))
        return [(slice(d, min(d + nd, n_draws)), slice(0, n_zones)) for d in range(0, n_draws, nd)]
    nz = max(1, _BLOCK_ELEMENTS // per_row)
    if nz >= n_zones:
        nd = max(1, _BLOCK_ELEMENTS // (per_row * n_zones))
        return [(slice(d, min(d + nd, n_draws)), slice(0, n_zones)) for d in range(0, n_draws, nd)]
    return [
        (slice(d, d + 1), slice(z, min(z + nz, n_zones)))
        for d in range(n_draws)
        for z in range(0, n_zones, nz)
    ]


def project_arrays(
    inp: EngineInput,
    levels: Levels | None = None,
    *,
    n_draws: int = 1,
    threads: int | None = None,
    validate: bool = True,
    age_breaks: Sequence[int] | None = None,
    dtype: type[np.floating[Any]] = np.float64,
) -> RawProjection:
    """Run the kernel on numpy inputs for ``n_draws`` draws (levels of shape ``(T, n_draws)``).

    ``threads`` (default: the number of CPUs, at most 8; on the compiled kernel the numba
    threads) work on independent blocks or zones; the result does not depend on it. With ``age_breaks`` (first ages of groups, the last open) only the grouped
    population is kept, ``(T+1, D, Z, 2, groups)``: a stochastic run of 1,000 draws x 300 zones x 30
    years by single age would need 15 GB. ``dtype=np.float32`` stores the result in single
    precision: every number is the double-precision result rounded to float32 (the projection
    itself runs in double precision), half the memory for many draws.
    """
    if dtype not in (np.float64, np.float32):
        raise ValueError("dtype must be numpy.float64 or numpy.float32")
    if validate:
        _validate(inp)
    lv = levels or Levels()
    for arr in (lv.fertility, lv.mortality, lv.in_migration, lv.out_migration):
        if arr is not None and arr.shape != (inp.horizon, n_draws):
            raise ValueError(f"levels must have shape {(inp.horizon, n_draws)}")
    if lv.net_migration is not None and (
        lv.net_migration.shape != (inp.horizon, n_draws, inp.n_zones)
        or np.any(~np.isfinite(lv.net_migration))
    ):
        raise ValueError(
            f"net_migration must be finite with shape {(inp.horizon, n_draws, inp.n_zones)}"
        )
    if _USE_KERNEL and _kernel_covers(inp, lv, age_breaks):
        return _as_dtype(_project_compiled(inp, lv, n_draws, threads), dtype)
    if _USE_KERNEL and _draws_kernel_covers(inp):
        return _project_draws_compiled(inp, lv, n_draws, threads, age_breaks, dtype)
    return _as_dtype(_project_numpy(inp, lv, n_draws, threads, age_breaks), dtype)


def _as_dtype(raw: RawProjection, dtype: type[np.floating[Any]]) -> RawProjection:
    """``raw`` with every array in ``dtype`` (rounded to nearest), unchanged for float64."""
    if dtype == np.float64:
        return raw
    return RawProjection(*(np.asarray(getattr(raw, f.name), dtype=dtype) for f in fields(raw)))


def _project_numpy(
    inp: EngineInput,
    lv: Levels,
    n_draws: int,
    threads: int | None,
    age_breaks: Sequence[int] | None,
) -> RawProjection:
    """The numpy kernel: blocks of draws x zones (coupled zones stay in one block), threads."""
    t, z = inp.horizon, inp.n_zones
    groups = None if age_breaks is None else _check_breaks(age_breaks)
    if groups is None:
        pop = np.empty((t + 1, n_draws, z, 2, N_AGES))
        pop[0] = inp.population
    else:
        pop = np.empty((t + 1, n_draws, z, 2, groups.size))
        pop[0] = np.add.reduceat(inp.population, groups, axis=-1)
    comps = np.zeros((5, t, n_draws, z, 2))
    coupled = inp.od is not None or inp.control_totals is not None
    blocks = _blocks(n_draws, z, coupled)
    prep = _prepare(inp, lv)
    n_threads = min(threads or min(os.cpu_count() or 1, 8), len(blocks))
    if n_threads <= 1:
        for ds, zs in blocks:
            _run_block(pop, comps, prep, lv, ds, zs, groups)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(lambda b: _run_block(pop, comps, prep, lv, b[0], b[1], groups), blocks))
    return RawProjection(pop, comps[0], comps[1], comps[2], comps[3], comps[4])


_USE_KERNEL = True
"""Use the compiled kernel (:mod:`wandel.demography.engine._kernel`) where it covers the case."""


def _kernel_covers(inp: EngineInput, lv: Levels, age_breaks: Sequence[int] | None) -> bool:
    """Whether the compiled kernel covers this case (else the numpy kernel runs).

    Covered: single-age output, no origin-destination migration, no control, no mortality,
    out-migration or net-migration levels (fertility and in-migration levels are fine).
    """
    return (
        age_breaks is None
        and inp.od is None
        and inp.control_totals is None
        and inp.parent_index is None
        and lv.mortality is None
        and lv.out_migration is None
        and lv.net_migration is None
    )


def _project_compiled(
    inp: EngineInput, lv: Levels, n_draws: int, threads: int | None
) -> RawProjection:
    """The deterministic fused case on the compiled kernel: one pass per zone and year."""
    from wandel.demography.engine._kernel import project_fused

    pop, comps = project_fused(
        inp.population,
        inp.sx,
        inp.birth_survival,
        inp.asfr,
        inp.out_rate,
        inp.in_count,
        inp.extra,
        lv.fertility,
        lv.in_migration,
        inp.srb,
        _fertile_span(inp.asfr),
        n_draws,
        threads,
    )
    return RawProjection(pop, comps[0], comps[1], comps[2], comps[3], comps[4])


def _draws_kernel_covers(inp: EngineInput) -> bool:
    """Whether the compiled draws kernel covers this case: the zones are independent.

    Covered: every level, net migration, scenario flows, single ages or age groups; not
    origin-destination migration or control (they couple the zones).
    """
    return inp.od is None and inp.control_totals is None and inp.parent_index is None


def _project_draws_compiled(
    inp: EngineInput,
    lv: Levels,
    n_draws: int,
    threads: int | None,
    age_breaks: Sequence[int] | None,
    dtype: type[np.floating[Any]] = np.float64,
) -> RawProjection:
    """Independent zones on the compiled draws kernel (draws innermost); results are views."""
    from wandel.demography.engine._draws import project_draws_kernel

    pop, comps = project_draws_kernel(
        inp.population,
        (inp.sx, inp.birth_survival, inp.asfr, inp.out_rate, inp.in_count),
        inp.extra,
        (lv.fertility, lv.mortality, lv.in_migration, lv.out_migration),
        lv.net_migration,
        srb=inp.srb,
        groups=None if age_breaks is None else _check_breaks(age_breaks),
        n_draws=n_draws,
        threads=threads,
        dtype=dtype,
    )
    # (T+1, Z, 2, G, D) and (4, T, Z, 2, D) seen as (T+1, D, Z, 2, G) and (T, D, Z, 2); no
    # control, so the adjustment is zero (pages of np.zeros are not touched until read)
    c = np.moveaxis(comps, 4, 2)
    adjustment = np.zeros(c.shape[1:], dtype=dtype)
    return RawProjection(np.moveaxis(pop, 4, 1), c[0], c[1], c[2], c[3], adjustment)


@dataclass(frozen=True, eq=False)
class _Prepared:
    inp: EngineInput
    fused: bool  # no mortality or out-migration level and no od: survival x staying in one factor
    sx: Array  # (T, Z, 2, A), contiguous per year
    sk: Array | None  # fused: sx(x) * (1 - out_rate(x + 1)) (open group: x + 1 -> 100)
    sbk: Array | None  # fused: birth_survival * (1 - out_rate(0)), (T, Z, 2)
    births_w: Array | None  # fused: (T, Z, span) weights of women by age at the start, see below
    w0: int  # first age of births_w
    qx: Array | None  # 1 - sx, when a mortality level varies
    qb: Array | None  # 1 - birth_survival
    out_rate: Array  # contiguous per year
    in_count: Array  # contiguous per year
    in_sum: Array  # (T, Z, 2)
    extra_pos: Array | None
    extra_neg: Array | None
    extra_pos_sum: Array | None
    f0: int
    f1: int
    sex_share: Array  # (2,)
    onehot: Array | None  # (Z, G)
    cap_mortality: npt.NDArray[np.bool_]  # (T,) whether min(m q, 1) can bind in year t
    cap_out: npt.NDArray[np.bool_]  # (T,) whether min(o rate, 1) can bind in year t


def _cap_years(level: Array | None, rate_max: float) -> npt.NDArray[np.bool_]:
    """Years in which ``level * rate`` can exceed 1 for some draw (the cap is a no-op otherwise)."""
    if level is None:
        return np.zeros(0, dtype=bool)
    flags: npt.NDArray[np.bool_] = level.max(axis=1, initial=0.0) * rate_max > 1.0
    return flags


def _one_minus(x: Array) -> Array:
    return 1.0 - x


def _age_sum(x: Array) -> Array:
    total: Array = x.sum(axis=-1)
    return total


def _contiguous(x: Array) -> Array:
    return _keep_broadcast(x, np.ascontiguousarray)


def _over_years(fn: Callable[..., Array], *arrays: Array) -> Array:
    """``fn(*arrays)`` on the first year only when every array is broadcast over the years."""
    n_t = arrays[0].shape[0]
    if all(a.strides[0] == 0 for a in arrays):
        out = fn(*(a[0] for a in arrays))
        return np.broadcast_to(out, (n_t, *out.shape))
    return np.ascontiguousarray(fn(*arrays))


def _fused_factor(sx: Array, out_rate: Array) -> Array:
    """``sx(x) (1 - out_rate(x + 1))``, the open group staying at 100: survive, age, stay."""
    out: Array = np.empty(np.broadcast_shapes(sx.shape, out_rate.shape))
    np.subtract(1.0, out_rate[..., 1:], out=out[..., :-1])
    np.subtract(1.0, out_rate[..., -1], out=out[..., -1])
    out *= sx
    return out


def _births_weights(sx: Array, asfr: Array, f0: int, f1: int) -> Array:
    """Weights ``w(x) = asfr(x) + sx_f(x) asfr(x + 1)`` for women aged x at the start of the year.

    Mid-year exposure: ``B = sum_x asfr(x) (P(x) + N(x)) / 2`` with ``N(x) = P(x - 1) sx(x - 1)``
    (before migration) equals ``sum_x P(x) w(x) / 2`` over ``x = f0 - 1 .. f1 - 1``.
    """
    lo = max(f0 - 1, 0)
    ages = np.arange(lo, f1)
    nxt = np.minimum(ages + 1, N_AGES - 1)
    w: Array = asfr[..., ages] + sx[..., 1, :][..., ages] * asfr[..., nxt]
    return w


def _prepare(inp: EngineInput, lv: Levels) -> _Prepared:
    f0, f1 = _fertile_span(inp.asfr)
    extra_pos = extra_neg = extra_pos_sum = None
    if inp.extra is not None:
        extra_pos = _keep_broadcast(inp.extra, lambda x: np.maximum(x, 0.0))
        extra_neg = _keep_broadcast(inp.extra, lambda x: np.maximum(-x, 0.0))
        extra_pos_sum = _keep_broadcast(extra_pos, _age_sum)
        if not np.any(_base(extra_neg)):
            extra_neg = None
    onehot = None
    if inp.parent_index is not None and inp.control_totals is not None:
        onehot = np.zeros((inp.n_zones, inp.control_totals.shape[1]))
        onehot[np.arange(inp.n_zones), inp.parent_index] = 1.0
    fused = inp.od is None and lv.out_migration is None and lv.mortality is None
    sx = _contiguous(inp.sx)
    out_rate = _contiguous(inp.out_rate)
    sk = sbk = births_w = None
    if fused:
        sk = _over_years(_fused_factor, sx, out_rate)
        sbk = _over_years(lambda b, r: b * (1.0 - r[..., 0]), inp.birth_survival, out_rate)
        if f1 > f0:
            births_w = _over_years(lambda s, a: _births_weights(s, a, f0, f1), sx, inp.asfr)
    return _Prepared(
        inp=inp,
        fused=fused,
        sx=sx,
        sk=sk,
        sbk=sbk,
        births_w=births_w,
        w0=max(f0 - 1, 0),
        qx=None if lv.mortality is None else _keep_broadcast(sx, _one_minus),
        qb=None if lv.mortality is None else _keep_broadcast(inp.birth_survival, _one_minus),
        out_rate=out_rate,
        in_count=_contiguous(inp.in_count),
        in_sum=_keep_broadcast(inp.in_count, _age_sum),
        extra_pos=extra_pos,
        extra_neg=extra_neg,
        extra_pos_sum=extra_pos_sum,
        f0=f0,
        f1=f1,
        sex_share=np.array([inp.srb / (1.0 + inp.srb), 1.0 / (1.0 + inp.srb)]),
        onehot=onehot,
        cap_mortality=_cap_years(lv.mortality, float((1.0 - _base(sx)).max(initial=0.0))),
        cap_out=_cap_years(lv.out_migration, float(_base(out_rate).max(initial=0.0))),
    )


def _age_shift(prev: Array, factor: Array, cur: Array) -> None:
    """``cur(x + 1) = prev(x) factor(x)``, ``cur(100) = prev(99) f(99) + prev(100) f(100)``.

    One contiguous multiply over the flattened block (``factor`` may lack the leading draw axis):
    the product that lands on age 0 of a row is the open-group term of the row before, added to
    that row's age 100. Age 0 is left holding garbage for the caller to overwrite.
    """
    nd = prev.shape[0]
    p2 = prev.reshape(nd, -1)
    f2 = factor.reshape(factor.shape[0] if factor.ndim == prev.ndim else 1, -1)
    c2 = cur.reshape(nd, -1)
    np.multiply(p2[:, :-1], f2[:, :-1], out=c2[:, 1:])
    c3 = cur.reshape(nd, -1, N_AGES)
    top = c3[:, :-1, -1]
    np.add(top, c3[:, 1:, 0], out=top)
    c3[:, -1, -1] += p2[:, -1] * f2[:, -1]


@dataclass(eq=False)
class _Block:
    """Work arrays and level views of one block of draws x zones (see :func:`_run_block`).

    The per-year sums by (draw, zone, sex) are kept for every year of the block, ``(T, D, Z, 2)``:
    births, the people alive at the end of the year before migration (``end``), those left after
    out-migration and negative flows (``left``), out- and in-movers, and the control adjustment.
    """

    p: _Prepared
    lv: Levels
    ds: slice
    zs: slice
    tmp: Array | None
    b_all: Array
    end_all: Array
    left_all: Array
    out_all: Array
    in_all: Array
    adj_all: Array | None
    sum_buf: Array
    f_half: Array  # (T, D, 1): half the fertility level
    m4: Array | None  # levels shaped to broadcast over (D, Z, 2, A), years first
    o4: Array | None
    i4: Array | None
    sb_all: Array  # birth survival with the mortality level, (T, D or 1, Z, 2)


def _block(p: _Prepared, lv: Levels, ds: slice, zs: slice, shape: tuple[int, ...]) -> _Block:
    """The work arrays of a block whose population arrays have ``shape`` (D, Z, 2, A)."""
    inp = p.inp
    n_t, n_d = inp.horizon, shape[0]
    small = (n_t, *shape[:3])
    f_half = np.full((n_t, n_d, 1), 0.5)
    if lv.fertility is not None:
        f_half *= lv.fertility[:, ds, None]
    if lv.mortality is not None and p.qb is not None:
        sb_all = 1.0 - np.minimum(p.qb[:, None, zs] * lv.mortality[:, ds, None, None], 1.0)
    else:
        sb_all = inp.birth_survival[:, None, zs]
    b = _Block(
        p=p,
        lv=lv,
        ds=ds,
        zs=zs,
        tmp=np.empty(shape) if not p.fused or lv.in_migration is not None else None,
        b_all=np.empty(small),
        end_all=np.empty(small),
        left_all=np.empty(small),
        out_all=np.empty(small),
        in_all=np.empty(small),
        adj_all=np.zeros(small) if p.onehot is not None else None,
        sum_buf=np.empty(shape[:3]),
        f_half=f_half,
        m4=None if lv.mortality is None else lv.mortality[:, ds, None, None, None],
        o4=None if lv.out_migration is None else lv.out_migration[:, ds, None, None, None],
        i4=None if lv.in_migration is None else lv.in_migration[:, ds, None, None, None],
        sb_all=sb_all,
    )
    in_sum_all = p.in_sum[:, None, zs]
    if lv.in_migration is not None:
        in_sum_all = in_sum_all * lv.in_migration[:, ds, None, None]
    np.copyto(b.in_all, in_sum_all)
    if p.extra_pos_sum is not None:
        b.in_all += p.extra_pos_sum[:, None, zs]
    return b


def _run_block(
    pop: Array,
    comps: Array,
    p: _Prepared,
    lv: Levels,
    ds: slice,
    zs: slice,
    groups: npt.NDArray[np.int64] | None = None,
) -> None:
    """Project one block of draws x zones through every year, writing into ``pop`` and ``comps``.

    Work arrays stay small (about :data:`_BLOCK_ELEMENTS` values) so that a block's years run in
    the CPU cache. Without mortality or out-migration levels and without internal migration
    (``p.fused``) survival, ageing and out-migration are one multiply per year,
    ``N'(x + 1) = P(x) sx(x) (1 - out_rate(x + 1))``; the sum of the survivors before migration
    (for deaths) is a dot product of ``P`` with ``sx`` and births a dot product of the women with
    :func:`_births_weights`. Level views and sums over age are prepared or kept per block, and
    the components are formed after the year loop, so that a year costs few numpy calls.
    """
    inp = p.inp
    n_d = len(range(*ds.indices(pop.shape[1])))
    if groups is None:
        prev = pop[0, ds, zs]
        ring = None
    else:
        prev = np.ascontiguousarray(
            np.broadcast_to(inp.population[zs], (n_d, *inp.population[zs].shape))
        )
        ring = (np.empty(prev.shape), np.empty(prev.shape))
    b = _block(p, lv, ds, zs, prev.shape)
    start_sum = prev.sum(axis=-1)
    for t in range(inp.horizon):
        cur = pop[t + 1, ds, zs] if ring is None else ring[t % 2]
        arrivals = None
        if p.fused and p.sk is not None and p.sbk is not None:
            _survive_fused(b, t, prev, cur)
        else:
            arrivals = _survive_general(b, t, prev, cur)
        _migrate_and_control(b, t, prev, cur, arrivals)
        if ring is not None and groups is not None:
            np.add.reduceat(cur, groups, axis=-1, out=pop[t + 1, ds, zs])
        prev = cur
    _components(b, comps, start_sum)


def _survive_fused(b: _Block, t: int, prev: Array, cur: Array) -> None:
    """Steps 1-4a of year ``t`` in the fused case: survival, ageing and staying in one multiply."""
    p, zs = b.p, b.zs
    assert p.sk is not None
    assert p.sbk is not None
    b_view = b.b_all[t]
    _age_shift(prev, p.sk[t, zs], cur)
    np.einsum("dzsa,zsa->dzs", prev, p.sx[t, zs], out=b.end_all[t])
    # 2. births from the women at the start (weights include their survival)
    if p.births_w is not None:
        b_tot = np.einsum(
            "dza,za->dz",
            prev[:, :, 1, p.w0 : p.w0 + p.births_w.shape[-1]],
            p.births_w[t, zs],
        )
        b_tot *= b.f_half[t]
        np.multiply(b_tot[..., None], p.sex_share, out=b_view)
    else:
        b_view[...] = 0.0
    np.multiply(b_view, p.sbk[t, zs], out=cur[..., 0])
    b.end_all[t] += b_view * b.sb_all[t]
    np.sum(cur, axis=-1, out=b.left_all[t])
    np.subtract(b.end_all[t], b.left_all[t], out=b.out_all[t])


def _survive_general(b: _Block, t: int, prev: Array, cur: Array) -> Array | None:
    """Steps 1-4a of year ``t`` with levels or internal migration; returns the arrivals (4b)."""
    p, zs, tmp = b.p, b.zs, b.tmp
    inp = p.inp
    assert tmp is not None
    b_view = b.b_all[t]
    # 1. survival and ageing
    if b.m4 is None or p.qx is None:
        s_eff = p.sx[t, zs]
    else:
        np.multiply(p.qx[t, zs], b.m4[t], out=tmp)
        if p.cap_mortality[t]:
            np.minimum(tmp, 1.0, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        s_eff = tmp
    _age_shift(prev, s_eff, cur)
    cur[..., 0] = 0.0
    surv_sum = b.end_all[t]
    np.sum(cur, axis=-1, out=surv_sum)
    # 2. births, mid-year exposure of women
    if p.f1 > p.f0:
        expo = prev[:, :, 1, p.f0 : p.f1] + cur[:, :, 1, p.f0 : p.f1]
        expo *= inp.asfr[t, zs, p.f0 : p.f1]
        b_tot = expo.sum(axis=-1)
        b_tot *= b.f_half[t]
        np.multiply(b_tot[..., None], p.sex_share, out=b_view)
    else:
        b_view[...] = 0.0
    np.multiply(b_view, b.sb_all[t], out=cur[..., 0])
    surv_sum += cur[..., 0]
    # 4a. out-migration, capped by the people present
    np.multiply(cur, p.out_rate[t, zs], out=tmp)
    if b.o4 is not None:
        tmp *= b.o4[t]
        if p.cap_out[t]:
            np.minimum(tmp, cur, out=tmp)
    cur -= tmp
    np.sum(tmp, axis=-1, out=b.out_all[t])
    np.subtract(b.end_all[t], b.out_all[t], out=b.left_all[t])
    return None if inp.od is None else _internal_arrivals(tmp, inp.od)


def _migrate_and_control(
    b: _Block, t: int, prev: Array, cur: Array, arrivals: Array | None
) -> None:
    """Steps 4c-5 of year ``t``: negative flows, in-migration, net-migration noise, control."""
    p, zs, lv = b.p, b.zs, b.lv
    inp = p.inp
    # 4c. negative scenario flows, capped by the people left
    if p.extra_neg is not None:
        gone = np.minimum(p.extra_neg[t, zs], cur)
        cur -= gone
        np.sum(gone, axis=-1, out=b.sum_buf)
        b.out_all[t] += b.sum_buf
        b.left_all[t] -= b.sum_buf
    # 4d. in-migration
    if b.i4 is not None:
        assert b.tmp is not None
        np.multiply(p.in_count[t, zs], b.i4[t], out=b.tmp)
        cur += b.tmp
    else:
        cur += p.in_count[t, zs]
    if p.extra_pos is not None:
        cur += p.extra_pos[t, zs]
    if arrivals is not None:
        cur += arrivals
        b.in_all[t] += arrivals.sum(axis=-1)
    # 4e. stochastic net migration, proportional to the zone's structure, capped at everyone
    if lv.net_migration is not None:
        _net_flow(
            prev, cur, lv.net_migration[t, b.ds, zs], b.in_all[t], b.out_all[t], b.left_all[t]
        )
    # 5. control to parent totals
    if b.adj_all is not None and inp.control_totals is not None and inp.parent_index is not None:
        assert p.onehot is not None
        b.adj_all[t] = _control(cur, inp.control_totals[t], p.onehot, inp.parent_index)


def _components(b: _Block, comps: Array, start_sum: Array) -> None:
    """Components of the block: deaths = everyone there at the start or born, less the living."""
    ds, zs = b.ds, b.zs
    starts = np.empty(b.b_all.shape)
    starts[0] = start_sum
    np.add(b.left_all[:-1], b.in_all[:-1], out=starts[1:])
    if b.adj_all is not None:
        starts[1:] += b.adj_all[:-1]
    births, deaths, inmig, outmig, adjust = comps
    births[:, ds, zs] = b.b_all
    starts += b.b_all
    deaths[:, ds, zs] = starts - b.end_all
    inmig[:, ds, zs] = b.in_all
    outmig[:, ds, zs] = b.out_all
    if b.adj_all is not None:
        adjust[:, ds, zs] = b.adj_all


def _net_flow(
    prev: Array, cur: Array, eps: Array, inflow: Array, outflow: Array, left: Array
) -> None:
    """Step 4e in place: ``cur *= 1 + g``, ``g = max(eps P(t) / sum(cur), -1)`` per (draw, zone).

    ``g`` times the zone's people by sex is added to ``inflow`` where positive and to ``outflow``
    (and taken from ``left``, those staying) where negative.
    """
    start = prev.sum(axis=(-2, -1))
    have = cur.sum(axis=-1)  # (D, Z, 2)
    total = have.sum(axis=-1)
    g = np.zeros_like(total)
    np.divide(eps * start, total, out=g, where=total > 0)
    np.maximum(g, -1.0, out=g)
    move = have * g[..., None]
    cur *= (1.0 + g)[..., None, None]
    gain = np.maximum(move, 0.0)
    loss = gain - move
    inflow += gain
    outflow += loss
    left -= loss


def _check_breaks(breaks: Sequence[int]) -> npt.NDArray[np.int64]:
    b = np.asarray(breaks, dtype=np.int64)
    if b.ndim != 1 or b.size < 1 or b[0] != 0 or np.any(np.diff(b) <= 0) or b[-1] > OPEN_AGE:
        raise ValueError("age breaks must start at 0 and increase strictly up to at most 100")
    return b


def _internal_arrivals(movers: Array, od: Array) -> Array:
    """Arrivals ``A[d, z2] = sum_z movers[d, z] od[z, z2]``, one draw at a time (chunk-invariant)."""
    nd, nz = movers.shape[:2]
    out = np.empty_like(movers)
    for d in range(nd):
        out[d] = (od.T @ movers[d].reshape(nz, -1)).reshape(movers.shape[1:])
    return out


def _control(cur: Array, totals: Array, onehot: Array, parent_index: npt.NDArray[np.intp]) -> Array:
    """Scale zones to parent totals per sex in place; returns the adjustment per (draw, zone, sex)."""
    zone_sum = cur.sum(axis=-1)  # (D, Z, 2)
    parent_sum = np.einsum("dzs,zg->dgs", zone_sum, onehot)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(parent_sum > 0, totals[None] / parent_sum, 1.0)
    fz = factor[:, parent_index, :]
    cur *= fz[..., None]
    adj: Array = zone_sum * fz - zone_sum
    return adj


# --------------------------------------------------------------------------------------------
# the labelled boundary
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Projection:
    """Result of :func:`project`.

    ``population`` has dims ``year, zone, sex, age, draw`` (years ``base_year .. base_year +
    horizon``); the components ``births, deaths, in_migration, out_migration, adjustment`` have dims
    ``year, zone, sex, draw`` (year = the year in which the events happen, ``base_year + 1 ..``);
    births are counted by sex of the child. ``levels`` (dims ``component, year, draw``) holds the
    level multipliers used.
    """

    population: xr.DataArray
    births: xr.DataArray
    deaths: xr.DataArray
    in_migration: xr.DataArray
    out_migration: xr.DataArray
    adjustment: xr.DataArray
    levels: xr.DataArray

    def balance_residual(self) -> xr.DataArray:
        """``P(t+1) - (P(t) + B - D + I - O + adjustment)`` per year, zone, sex, draw (about 0)."""
        total = self.population.sum("age")
        start = total.isel(year=slice(None, -1)).assign_coords(year=total.year.values[1:])
        end = total.isel(year=slice(1, None))
        flows = self.births - self.deaths + self.in_migration - self.out_migration
        return end - (start + flows + self.adjustment)


def _as_time_array(
    da: xr.DataArray, dims: tuple[str, ...], zones: npt.ArrayLike, years: npt.ArrayLike, name: str
) -> Array:
    """A DataArray as a numpy array ``(T, *dims)`` in the engine's order (broadcast over years)."""
    missing = set(dims) - set(da.dims)
    extra_dims = set(da.dims) - set(dims) - {"year"}
    if missing or extra_dims:
        raise ValueError(f"{name} must have dims {dims} (+ year), has {da.dims}")
    sel: dict[str, object] = {"zone": zones}
    if "sex" in dims:
        sel["sex"] = list(SEXES)
    if "age" in dims:
        da = da.reindex(age=np.arange(N_AGES), fill_value=0.0) if name == "asfr" else da
        sel["age"] = np.arange(N_AGES)
    if "destination" in dims:
        sel["destination"] = zones
    out = da.sel(sel)
    if "year" in out.dims:
        out = out.sel(year=years).transpose("year", *dims)
        return np.ascontiguousarray(out.values, dtype=np.float64)
    values = np.asarray(out.transpose(*dims).values, dtype=np.float64)
    return np.broadcast_to(values, (len(np.asarray(years)), *values.shape))


def engine_input(
    population: xr.DataArray,
    rates: ProjectionRates,
    horizon: int,
    base_year: int,
    control: Control | None = None,
) -> EngineInput:
    """Translate labelled inputs into the kernel's numpy arrays, in the population's zone order."""
    zones = population["zone"].values
    years = np.arange(base_year + 1, base_year + horizon + 1)
    pop = np.ascontiguousarray(
        population.sel(sex=list(SEXES), age=np.arange(N_AGES))
        .transpose("zone", "sex", "age")
        .values,
        dtype=np.float64,
    )
    za = ("zone", "sex", "age")
    parent_index = control_totals = None
    if control is not None:
        parents = control.parent.sel(zone=zones).values
        labels, parent_index = np.unique(parents, return_inverse=True)
        control_totals = np.ascontiguousarray(
            control.totals.sel(parent=labels, sex=list(SEXES), year=years)
            .transpose("year", "parent", "sex")
            .values,
            dtype=np.float64,
        )
    od = None
    if rates.od is not None:
        od = np.asarray(
            rates.od.sel(zone=zones, destination=zones).transpose("zone", "destination").values,
            dtype=np.float64,
        )
    return EngineInput(
        population=pop,
        sx=_as_time_array(rates.sx, za, zones, years, "sx"),
        birth_survival=_as_time_array(
            rates.birth_survival, ("zone", "sex"), zones, years, "birth_survival"
        ),
        asfr=_as_time_array(rates.asfr, ("zone", "age"), zones, years, "asfr"),
        out_rate=_as_time_array(rates.out_rate, za, zones, years, "out_rate"),
        in_count=_as_time_array(rates.in_count, za, zones, years, "in_count"),
        srb=float(rates.srb),
        extra=None
        if rates.extra is None
        else _as_time_array(rates.extra, za, zones, years, "extra"),
        od=od,
        parent_index=None if parent_index is None else parent_index.astype(np.intp),
        control_totals=control_totals,
    )


def project(
    population: xr.DataArray,
    rates: ProjectionRates,
    *,
    base_year: int,
    horizon: int,
    stochastic: StochasticSpec | None = None,
    draw_ids: Sequence[int] | None = None,
    control: Control | None = None,
    threads: int | None = None,
    age_breaks: Sequence[int] | None = None,
    dtype: type[np.floating[Any]] = np.float64,
) -> Projection:
    """Project ``population`` (dims ``zone, sex, age``; sexes ``m, f``; ages 0..100) ``horizon`` years.

    Parameters
    ----------
    population
        Base population on 31 December of ``base_year``.
    rates
        :class:`ProjectionRates`; rates without a ``year`` dimension hold for every year.
    base_year, horizon
        The projection covers the years ``base_year + 1 .. base_year + horizon``.
    stochastic
        Level and net-migration uncertainty; None gives one deterministic draw (``draw = 0``,
        levels 1, no net-migration noise).
    draw_ids
        Which draws to compute (default ``range(stochastic.draws)``): a chunk of the draws gives
        exactly the numbers of the same draws in the full run.
    control
        Optional :class:`Control` to parent totals.
    threads
        Threads for independent blocks (the result does not depend on it).
    age_breaks
        Keep only the population in these age groups (first ages, the last open): the result's
        population then has an ``age_start`` dimension instead of ``age``. Use it for many draws.
    dtype
        ``numpy.float32`` stores the results in single precision (the float64 numbers rounded;
        the projection itself runs in double precision): half the memory for many draws.

    Returns
    -------
    Projection

    Examples
    --------
    One zone of 1,000 people aged 30 (500 per sex), no deaths, no births, no migration:

    >>> ages = np.arange(101)
    >>> pop = xr.DataArray(np.zeros((1, 2, 101)), dims=("zone", "sex", "age"),
    ...                    coords={"zone": ["15087220"], "sex": ["m", "f"], "age": ages})
    >>> pop.loc[:, :, 30] = 500.0
    >>> zsa = xr.zeros_like(pop)
    >>> rates = ProjectionRates(sx=zsa + 1.0, birth_survival=zsa.isel(age=0, drop=True) + 1.0,
    ...                         asfr=zsa.sel(sex="f", drop=True), out_rate=zsa, in_count=zsa)
    >>> res = project(pop, rates, base_year=2024, horizon=2)
    >>> float(res.population.sel(year=2026, age=32).sum())
    1000.0
    """
    inp = engine_input(population, rates, horizon, base_year, control)
    if stochastic is None:
        ids: list[int] = [0]
        levels = Levels()
    else:
        ids = list(range(stochastic.draws)) if draw_ids is None else [int(d) for d in draw_ids]
        levels = draw_levels(stochastic, horizon, ids)
        zone_labels = [str(z) for z in population["zone"].values]
        net = draw_net_migration(stochastic, horizon, ids, zone_labels)
        if net is not None:
            levels = replace(levels, net_migration=net)
    raw = project_arrays(
        inp, levels, n_draws=len(ids), threads=threads, age_breaks=age_breaks, dtype=dtype
    )
    return _label(raw, population, base_year, horizon, ids, levels, age_breaks)


def _label(
    raw: RawProjection,
    population: xr.DataArray,
    base_year: int,
    horizon: int,
    ids: list[int],
    levels: Levels,
    age_breaks: Sequence[int] | None = None,
) -> Projection:
    zones = population["zone"].values
    age_dim = "age" if age_breaks is None else "age_start"
    age_coord = np.arange(N_AGES) if age_breaks is None else np.asarray(age_breaks)
    years_all = np.arange(base_year, base_year + horizon + 1)
    years = years_all[1:]
    pop = xr.DataArray(
        raw.population,
        dims=("year", "draw", "zone", "sex", age_dim),
        coords={
            "year": years_all,
            "draw": ids,
            "zone": zones,
            "sex": list(SEXES),
            age_dim: age_coord,
        },
        name="population",
    ).transpose("year", "zone", "sex", age_dim, "draw")
    coords = {"year": years, "draw": ids, "zone": zones, "sex": list(SEXES)}

    def comp(a: FloatArray, name: str) -> xr.DataArray:
        return xr.DataArray(
            a, dims=("year", "draw", "zone", "sex"), coords=coords, name=name
        ).transpose("year", "zone", "sex", "draw")

    lv = np.ones((4, horizon, len(ids)))
    for k, arr in enumerate(
        (levels.fertility, levels.mortality, levels.in_migration, levels.out_migration)
    ):
        if arr is not None:
            lv[k] = arr
    return Projection(
        population=pop,
        births=comp(raw.births, "births"),
        deaths=comp(raw.deaths, "deaths"),
        in_migration=comp(raw.in_migration, "in_migration"),
        out_migration=comp(raw.out_migration, "out_migration"),
        adjustment=comp(raw.adjustment, "adjustment"),
        levels=xr.DataArray(
            lv,
            dims=("component", "year", "draw"),
            coords={"component": list(LEVEL_COMPONENTS), "year": years, "draw": ids},
            name="levels",
        ),
    )


def quantiles(
    population: xr.DataArray,
    q: Sequence[float] = (0.1, 0.5, 0.9),
    breaks: Sequence[int] | None = None,
) -> xr.DataArray:
    """Quantiles over ``draw`` per year, zone, sex and age group.

    ``breaks`` are the first ages of the groups (the last open, e.g. ``(0, 6, 18, 65, 80)``); None
    keeps single ages. The result has a ``quantile`` dimension (e.g. 0.1, 0.5, 0.9) and, with
    groups, an ``age_start`` dimension instead of ``age``. A population already grouped (with
    ``age_start``, from ``project(..., age_breaks=...)``) is used as it is.
    """
    da = population
    if breaks is not None and "age" in da.dims:
        b = np.asarray(breaks, dtype=np.int64)
        if b[0] != 0 or np.any(np.diff(b) <= 0) or b[-1] > OPEN_AGE:
            raise ValueError("breaks must start at 0 and increase strictly up to 100")
        start = b[np.searchsorted(b, da["age"].values, side="right") - 1]
        da = da.assign_coords(age_start=("age", start)).groupby("age_start").sum("age")
    # numpy's nanquantile loops in Python over every series; the engine's draws hold no gaps,
    # so the plain quantile (the same numbers without NaN) is used unless there are some
    skipna = bool(np.isnan(da.values).any()) if np.issubdtype(da.dtype, np.floating) else False
    return da.quantile(list(q), dim="draw", skipna=skipna)

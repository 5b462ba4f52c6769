"""Compiled draws kernel (draws innermost): against the loop oracle, and invariant to chunking."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _engine_inputs import random_input
from wandel.demography.engine import (
    EngineInput,
    Levels,
    RawProjection,
    StochasticSpec,
    _draws,
    draw_levels,
    draw_net_migration,
    project_arrays,
)
from wandel.demography.engine import core as engine
from wandel.demography.engine.reference import project_reference

A = 101
NAMES = ("population", "births", "deaths", "in_migration", "out_migration", "adjustment")
BREAKS = (0, 3, 6, 10, 16, 19, 25, 45, 65, 80)


_input = functools.partial(random_input, extra=True)


def _levels(n_t: int, n_d: int, n_z: int, sigma: float, seed: int, net: float) -> Levels:
    """All four levels (a large sigma makes the caps of mortality and out-migration bind)."""
    spec = StochasticSpec(
        draws=n_d,
        seed=seed,
        sigma_fertility=sigma,
        sigma_mortality=2 * sigma,
        sigma_in_migration=sigma,
        sigma_out_migration=2 * sigma,
        sigma_net_migration=net,
        ar_net_migration=0.5,
    )
    lv = draw_levels(spec, n_t, range(n_d))
    eps = draw_net_migration(spec, n_t, range(n_d), [f"z{i}" for i in range(n_z)])
    return Levels(**{**lv.__dict__, "net_migration": eps})


def _assert_close(a: RawProjection, b: RawProjection, tol: float = 1e-9) -> None:
    for name in NAMES:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=tol, atol=tol)


def _assert_identical(a: RawProjection, b: RawProjection) -> None:
    for name in NAMES:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def _check_invariants(raw: RawProjection) -> None:
    assert np.all(raw.population >= 0)
    for comp in (raw.births, raw.deaths, raw.in_migration, raw.out_migration):
        assert np.all(comp >= -1e-9)
    np.testing.assert_array_equal(raw.adjustment, 0.0)
    total = raw.population.sum(axis=-1)
    flows = raw.births - raw.deaths + raw.in_migration - raw.out_migration
    residual = total[1:] - (total[:-1] + flows)
    scale = max(1.0, float(np.abs(total).max()))
    assert float(np.abs(residual).max()) <= 1e-12 * scale * 10


def _kernel(
    inp: EngineInput, lv: Levels, n_d: int, *, chunk: int, threads: int, groups: bool = False
) -> RawProjection:
    pop, comps = _draws.project_draws_kernel(
        inp.population,
        (inp.sx, inp.birth_survival, inp.asfr, inp.out_rate, inp.in_count),
        inp.extra,
        (lv.fertility, lv.mortality, lv.in_migration, lv.out_migration),
        lv.net_migration,
        srb=inp.srb,
        groups=np.array(BREAKS) if groups else None,
        n_draws=n_d,
        threads=threads,
        chunk=chunk,
    )
    c = np.moveaxis(comps, 4, 2)
    return RawProjection(np.moveaxis(pop, 4, 1), c[0], c[1], c[2], c[3], np.zeros(c.shape[1:]))


def test_draws_kernel_is_used_where_the_zones_are_independent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(1)
    inp = _input(rng, 3, 2)
    calls: list[int] = []
    real = _draws.project_draws_kernel

    def spy(*args: object, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_draws, "project_draws_kernel", spy)
    project_arrays(inp, Levels(mortality=np.ones((2, 1))))
    project_arrays(inp, Levels(out_migration=np.ones((2, 1))))
    project_arrays(inp, age_breaks=(0, 18, 65))
    project_arrays(inp, Levels(net_migration=np.zeros((2, 1, 3))))
    assert len(calls) == 4
    project_arrays(inp)  # deterministic, single ages: the fused kernel
    project_arrays(EngineInput(**{**inp.__dict__, "od": np.zeros((3, 3))}))
    control = {"parent_index": np.zeros(3, dtype=np.intp), "control_totals": np.ones((2, 1, 2))}
    project_arrays(EngineInput(**{**inp.__dict__, **control}), Levels(mortality=np.ones((2, 1))))
    assert len(calls) == 4


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_z=st.integers(1, 3),
    n_t=st.integers(1, 4),
    n_d=st.integers(1, 5),
    extra=st.booleans(),
    per_year=st.booleans(),
    sigma=st.sampled_from([0.0, 0.3, 1.0]),
    net=st.sampled_from([0.0, 0.05, 0.6]),
    lo=st.integers(0, 100),
    width=st.integers(0, 101),
)
def test_draws_kernel_agrees_with_oracle_and_numpy_path(
    seed: int,
    n_z: int,
    n_t: int,
    n_d: int,
    extra: bool,
    per_year: bool,
    sigma: float,
    net: float,
    lo: int,
    width: int,
) -> None:
    rng = np.random.default_rng(seed)
    inp = _input(rng, n_z, n_t, extra=extra, fertile=(lo, min(lo + width, A)), per_year=per_year)
    lv = _levels(n_t, n_d, n_z, sigma, seed % 1000, net)
    fast = project_arrays(inp, lv, n_draws=n_d)
    _check_invariants(fast)
    _assert_close(fast, project_reference(inp, lv, n_draws=n_d))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(engine, "_USE_KERNEL", False)
        _assert_close(fast, project_arrays(inp, lv, n_draws=n_d))
    grouped = project_arrays(inp, lv, n_draws=n_d, age_breaks=BREAKS)
    np.testing.assert_allclose(
        grouped.population, np.add.reduceat(fast.population, BREAKS, axis=-1), rtol=1e-13
    )
    # the same kernel gives the same components (without levels single ages run on the fused one)
    same = lv.mortality is not None or lv.net_migration is not None
    np.testing.assert_allclose(grouped.deaths, fast.deaths, rtol=0 if same else 1e-13)


def test_caps_bind_and_agree_with_oracle() -> None:
    """Mortality levels that kill everybody, out-levels that empty ages, net flows below -1."""
    rng = np.random.default_rng(5)
    n_t, n_d = 3, 4
    inp = _input(rng, 2, n_t)
    lv = Levels(
        mortality=np.array([[1.0, 50.0, 1e6, 0.5]] * n_t),
        out_migration=np.array([[1.0, 20.0, 0.1, 1e3]] * n_t),
        net_migration=np.tile(np.array([0.0, -3.0, 0.2, -0.5])[None, :, None], (n_t, 1, 2)),
    )
    fast = project_arrays(inp, lv, n_draws=n_d)
    _check_invariants(fast)
    _assert_close(fast, project_reference(inp, lv, n_draws=n_d))
    # draw 1: the net flow of the first year removes everyone left at its end
    np.testing.assert_array_equal(fast.population[1, 1], 0.0)
    # draw 2: nobody survives a year (q m >= 1 everywhere), only the in-migrants are left
    assert np.all(fast.deaths[:, 2] > 0)


def test_any_chunk_threads_and_subset_of_draws_is_bit_identical() -> None:
    rng = np.random.default_rng(7)
    n_z, n_t, n_d = 5, 6, 300  # more draws than one chunk, with a remainder
    inp = _input(rng, n_z, n_t)
    lv = _levels(n_t, n_d, n_z, 0.2, 3, 0.05)
    runs = [
        _kernel(inp, lv, n_d, chunk=c, threads=k, groups=g)
        for g in (False, True)
        for c, k in ((_draws.DRAW_CHUNK, 2), (1, 1), (7, 2), (n_d, 1))
    ]
    for other in runs[1:4]:
        _assert_identical(other, runs[0])
    for other in runs[5:]:
        _assert_identical(other, runs[4])
    ids = [299, 3, 128, 127]
    part_lv = Levels(
        **{
            k: None if v is None else (v[:, ids] if v.ndim == 2 else v[:, ids, :])
            for k, v in lv.__dict__.items()
        }
    )
    part = project_arrays(inp, part_lv, n_draws=len(ids))
    full = project_arrays(inp, lv, n_draws=n_d)
    for name in NAMES:
        np.testing.assert_array_equal(getattr(part, name), getattr(full, name)[:, ids])
    # zones are independent: one zone alone gives the numbers it has among the others
    one = EngineInput(
        population=inp.population[3:4],
        sx=inp.sx[:, 3:4],
        birth_survival=inp.birth_survival[:, 3:4],
        asfr=inp.asfr[:, 3:4],
        out_rate=inp.out_rate[:, 3:4],
        in_count=inp.in_count[:, 3:4],
        srb=inp.srb,
        extra=None if inp.extra is None else inp.extra[:, 3:4],
    )
    assert lv.net_migration is not None
    alone = project_arrays(
        one, Levels(**{**lv.__dict__, "net_migration": lv.net_migration[:, :, 3:4]}), n_draws=n_d
    )
    for name in NAMES:
        np.testing.assert_array_equal(getattr(alone, name), getattr(full, name)[:, :, 3:4])
    # and the many draws still agree with the oracle (on two of them, to keep the loops short)
    two = [0, 299]
    two_lv = Levels(
        **{
            k: None if v is None else (v[:, two] if v.ndim == 2 else v[:, two, :])
            for k, v in lv.__dict__.items()
        }
    )
    _assert_close(
        RawProjection(*(getattr(full, n)[:, two] for n in NAMES)),
        project_reference(inp, two_lv, n_draws=2),
    )


@pytest.mark.parametrize("route", ["fused", "draws", "draws-grouped", "numpy"])
def test_float32_results_are_the_float64_results_rounded(route: str) -> None:
    """Single precision only stores: every number is the double result rounded, no error carried."""
    rng = np.random.default_rng(17)
    n_t, n_d = 30, 5
    inp = _input(rng, 3, n_t)
    lv = None if route == "fused" else _levels(n_t, n_d, 3, 0.3, 4, 0.05)
    nd = 1 if lv is None else n_d
    breaks = BREAKS if route == "draws-grouped" else None
    if route == "numpy":
        inp = EngineInput(**{**inp.__dict__, "od": np.full((3, 3), 0.2)})
    double = project_arrays(inp, lv, n_draws=nd, age_breaks=breaks)
    single = project_arrays(inp, lv, n_draws=nd, age_breaks=breaks, dtype=np.float32)
    for name in NAMES:
        s, d = getattr(single, name), getattr(double, name)
        assert s.dtype == np.float32
        np.testing.assert_array_equal(s, d.astype(np.float32))
        # the error budget: at most half a unit in the last place of float32, over 30 years
        np.testing.assert_allclose(s, d, rtol=2.0**-24, atol=1e-30)
    with pytest.raises(ValueError, match="dtype"):
        project_arrays(inp, lv, n_draws=nd, dtype=np.float16)  # type: ignore[arg-type]

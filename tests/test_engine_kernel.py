"""Compiled projection kernel: against the numpy path and the loop oracle, caps, thread counts."""

from __future__ import annotations

import functools

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _engine_inputs import random_input
from wandel.demography.engine import EngineInput, Levels, RawProjection, _kernel, project_arrays
from wandel.demography.engine import core as engine
from wandel.demography.engine.reference import project_reference

A = 101
NAMES = ("population", "births", "deaths", "in_migration", "out_migration", "adjustment")


_input = functools.partial(random_input, extra=False)


def _numpy_path(
    monkeypatch: pytest.MonkeyPatch, inp: EngineInput, levels: Levels | None, n_d: int
) -> RawProjection:
    with monkeypatch.context() as m:
        m.setattr(engine, "_USE_KERNEL", False)
        return project_arrays(inp, levels, n_draws=n_d)


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


def _levels(rng: np.random.Generator, n_t: int, n_d: int, sigma: float) -> Levels:
    if sigma == 0:
        return Levels()
    return Levels(
        fertility=np.exp(rng.normal(0, sigma, (n_t, n_d))),
        in_migration=np.exp(rng.normal(0, sigma, (n_t, n_d))),
    )


def test_kernel_is_used_only_where_it_covers_the_case(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    inp = _input(rng, 3, 2)
    calls: list[int] = []
    real = _kernel.project_fused

    def spy(*args: object, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_kernel, "project_fused", spy)
    project_arrays(inp)
    project_arrays(inp, _levels(rng, 2, 3, 0.2), n_draws=3)
    assert len(calls) == 2
    project_arrays(inp, Levels(mortality=np.ones((2, 1))))
    project_arrays(inp, Levels(out_migration=np.ones((2, 1))))
    project_arrays(inp, age_breaks=(0, 18, 65))
    od = np.zeros((3, 3))
    project_arrays(EngineInput(**{**inp.__dict__, "od": od}))
    assert len(calls) == 2


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_z=st.integers(1, 4),
    n_t=st.integers(1, 4),
    n_d=st.integers(1, 3),
    extra=st.booleans(),
    per_year=st.booleans(),
    sigma=st.sampled_from([0.0, 0.3, 1.0]),
    lo=st.integers(0, 100),
    width=st.integers(0, 101),
)
def test_kernel_agrees_with_numpy_path_and_oracle(
    seed: int,
    n_z: int,
    n_t: int,
    n_d: int,
    extra: bool,
    per_year: bool,
    sigma: float,
    lo: int,
    width: int,
) -> None:
    rng = np.random.default_rng(seed)
    fertile = (lo, min(lo + width, A))
    inp = _input(rng, n_z, n_t, extra=extra, fertile=fertile, per_year=per_year)
    levels = _levels(rng, n_t, n_d, sigma)
    fast = project_arrays(inp, levels, n_draws=n_d)
    _check_invariants(fast)
    _assert_close(fast, project_reference(inp, levels, n_draws=n_d))
    with pytest.MonkeyPatch.context() as m:
        _assert_close(fast, _numpy_path(m, inp, levels, n_d))


def test_binding_caps_agree_with_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Out-rates of 1 empty an age; negative flows larger than the people left remove them all."""
    rng = np.random.default_rng(5)
    inp = _input(rng, 5, 4, extra=True)
    out_rate = inp.out_rate.copy()
    out_rate[:, :, :, 20:30] = 1.0
    out_rate[:, 0] = 1.0  # zone 0: everybody leaves every year (newborns too)
    extra = inp.extra
    assert extra is not None
    extra = extra.copy()
    extra[:, 1, :, 40:60] = -1e6  # zone 1: more leave than are there
    extra[:, 2, :, :] = np.abs(extra[:, 2])  # zone 2: only arrivals
    inp = EngineInput(**{**inp.__dict__, "out_rate": out_rate, "extra": extra})
    fast = project_arrays(inp)
    _check_invariants(fast)
    _assert_close(fast, project_reference(inp))
    _assert_close(fast, _numpy_path(monkeypatch, inp, None, 1))
    pop = fast.population[1:, 0]  # (T, Z, 2, A)
    # ages 20-29 hold only the in-migrants (and positive flows) of the year
    arrivals = inp.in_count[:, :, :, 20:30] + np.maximum(extra[:, :, :, 20:30], 0.0)
    np.testing.assert_allclose(pop[:, 1:, :, 20:30], arrivals[:, 1:], rtol=1e-12)
    # zone 1, ages 40-59: nobody stays, only the in-migrants arrive
    np.testing.assert_allclose(pop[:, 1, :, 40:60], inp.in_count[:, 1, :, 40:60], rtol=1e-12)
    # zone 0: the out-movers are everyone alive at the end of the year (start + births - deaths)
    survivors = (
        fast.population[:-1, 0, 0].sum(axis=-1) + fast.births[:, 0, 0] - fast.deaths[:, 0, 0]
    )
    np.testing.assert_allclose(fast.out_migration[:, 0, 0], survivors, rtol=1e-12)
    assert np.all(fast.out_migration[:, 0, 0] > 0)


def test_identical_for_any_thread_count() -> None:
    rng = np.random.default_rng(7)
    inp = _input(rng, 97, 6, extra=True)
    levels = _levels(rng, 6, 2, 0.3)
    runs = [project_arrays(inp, levels, n_draws=2, threads=k) for k in (1, 2)]
    old = numba.get_num_threads()
    try:
        for k in (1, numba.config.NUMBA_NUM_THREADS):  # type: ignore[attr-defined]
            numba.set_num_threads(k)
            runs.append(project_arrays(inp, levels, n_draws=2))
    finally:
        numba.set_num_threads(old)
    for other in runs[1:]:
        _assert_identical(other, runs[0])
    assert numba.get_num_threads() == old


def test_draws_and_broadcast_rates_are_bit_identical() -> None:
    """A draw's numbers do not depend on the other draws; broadcast and copied rates agree exactly."""
    rng = np.random.default_rng(9)
    inp = _input(rng, 6, 5, extra=True, per_year=False)
    copied = EngineInput(
        **{k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in inp.__dict__.items()}
    )
    assert inp.sx.strides[0] == 0
    assert copied.sx.strides[0] != 0
    levels = _levels(rng, 5, 3, 0.5)
    full = project_arrays(inp, levels, n_draws=3)
    _assert_identical(full, project_arrays(copied, levels, n_draws=3))
    assert levels.fertility is not None
    assert levels.in_migration is not None
    one = project_arrays(
        inp,
        Levels(fertility=levels.fertility[:, 2:], in_migration=levels.in_migration[:, 2:]),
        n_draws=1,
    )
    np.testing.assert_array_equal(one.population[:, 0], full.population[:, 2])
    np.testing.assert_array_equal(one.deaths[:, 0], full.deaths[:, 2])


def test_flows_of_one_zone_leave_the_other_zones_bit_identical() -> None:
    rng = np.random.default_rng(11)
    inp = _input(rng, 4, 5)
    extra = np.zeros((5, 4, 2, A))
    extra[1:3, 2, :, 20:40] = rng.uniform(-20, 20, (2, 2, 20))
    with_flows = project_arrays(EngineInput(**{**inp.__dict__, "extra": extra}))
    without = project_arrays(inp)
    for name in NAMES:
        a, b = getattr(with_flows, name), getattr(without, name)
        np.testing.assert_array_equal(np.delete(a, 2, axis=2), np.delete(b, 2, axis=2))
    assert not np.array_equal(with_flows.population[:, :, 2], without.population[:, :, 2])

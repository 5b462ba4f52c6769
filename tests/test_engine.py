"""Projection engine: hand-computed example, loop oracle, invariants, directions, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from wandel.demography.engine import (
    Control,
    EngineInput,
    Levels,
    ProjectionRates,
    RawProjection,
    StochasticSpec,
    draw_levels,
    draw_net_migration,
    project,
    project_arrays,
    quantiles,
)
from wandel.demography.engine.reference import project_reference

A = 101


def _zsa(values: np.ndarray, zones: list[str]) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("zone", "sex", "age"),
        coords={"zone": zones, "sex": ["m", "f"], "age": np.arange(A)},
    )


def _tiny_rates(srb: float = 1.25) -> tuple[xr.DataArray, ProjectionRates]:
    """One zone: 1000 men and 1000 women aged 29, 100 women aged 99, 50 women 100+."""
    pop = np.zeros((1, 2, A))
    pop[0, :, 29] = 1000.0
    pop[0, 1, 99] = 100.0
    pop[0, 1, 100] = 50.0
    sx = np.full((1, 2, A), 0.99)
    sx[..., 99:] = 0.5
    out_rate = np.zeros((1, 2, A))
    out_rate[..., 30] = 0.1
    in_count = np.zeros((1, 2, A))
    in_count[..., 30] = 20.0
    zones = ["15087220"]
    asfr = xr.DataArray([[0.1]], dims=("zone", "age"), coords={"zone": zones, "age": [30]})
    sb = xr.DataArray(
        np.full((1, 2), 0.996), dims=("zone", "sex"), coords={"zone": zones, "sex": ["m", "f"]}
    )
    rates = ProjectionRates(
        sx=_zsa(sx, zones),
        birth_survival=sb,
        asfr=asfr,
        out_rate=_zsa(out_rate, zones),
        in_count=_zsa(in_count, zones),
        srb=srb,
    )
    return _zsa(pop, zones), rates


def test_hand_computed_two_years() -> None:
    pop, rates = _tiny_rates()
    res = project(pop, rates, base_year=2024, horizon=2)
    p = res.population.sel(zone="15087220", draw=0)
    # ---- 2025 ----
    # survival: men and women 29 -> 30: 1000 * 0.99 = 990 each; women 99 and 100+ -> 100+:
    #   (100 + 50) * 0.5 = 75
    # births: women aged 30 at the start 0, at the end 990: exposure (0 + 990) / 2 = 495,
    #   B = 0.1 * 495 = 49.5; srb 1.25: boys 49.5 * 1.25 / 2.25 = 27.5, girls 22.0;
    #   alive at the end: 27.5 * 0.996 = 27.39, 22 * 0.996 = 21.912
    # out-migration at 30: 990 * 0.1 = 99 each sex -> 891; in-migration +20 at 30 -> 911
    # deaths m: 1000 - 990 + 27.5 - 27.39 = 10.11; f: 1150 - 1065 + 22 - 21.912 = 85.088
    y1 = p.sel(year=2025)
    assert float(y1.sel(sex="m", age=0)) == pytest.approx(27.39, rel=1e-13)
    assert float(y1.sel(sex="f", age=0)) == pytest.approx(21.912, rel=1e-13)
    assert float(y1.sel(sex="m", age=30)) == pytest.approx(911.0, rel=1e-13)
    assert float(y1.sel(sex="f", age=30)) == pytest.approx(911.0, rel=1e-13)
    assert float(y1.sel(sex="f", age=100)) == pytest.approx(75.0, rel=1e-13)
    assert float(y1.sel(sex="m").sum()) == pytest.approx(938.39, rel=1e-13)
    assert float(y1.sel(sex="f").sum()) == pytest.approx(1007.912, rel=1e-13)
    c = {k: getattr(res, k).sel(year=2025, draw=0).values[0] for k in ("births", "deaths")}
    np.testing.assert_allclose(c["births"], [27.5, 22.0], rtol=1e-13)
    np.testing.assert_allclose(c["deaths"], [10.11, 85.088], rtol=1e-12)
    np.testing.assert_allclose(res.out_migration.sel(year=2025).values.ravel(), [99.0, 99.0])
    np.testing.assert_allclose(res.in_migration.sel(year=2025).values.ravel(), [20.0, 20.0])
    # ---- 2026 ----
    # survival: 27.39 -> 27.1161 (m age 1), 21.912 -> 21.69288 (f age 1), 911 -> 901.89 (age 31),
    #   100+: 75 * 0.5 = 37.5
    # births: women aged 30 at the start 911, at the end 0: exposure 455.5, B = 45.55;
    #   boys 45.55 * 5/9 = 25.305556, girls 45.55 * 4/9 = 20.244444; alive * 0.996:
    #   25.204333, 20.163467
    # out-migration at 30: nobody is 30 after ageing -> 0; in-migration: 20 each sex at 30
    y2 = p.sel(year=2026)
    assert float(y2.sel(sex="m", age=0)) == pytest.approx(45.55 * 5 / 9 * 0.996, rel=1e-13)
    assert float(y2.sel(sex="f", age=0)) == pytest.approx(45.55 * 4 / 9 * 0.996, rel=1e-13)
    assert float(y2.sel(sex="m", age=1)) == pytest.approx(27.1161, rel=1e-13)
    assert float(y2.sel(sex="f", age=1)) == pytest.approx(21.69288, rel=1e-13)
    assert float(y2.sel(sex="m", age=31)) == pytest.approx(901.89, rel=1e-13)
    assert float(y2.sel(sex="f", age=30)) == pytest.approx(20.0, rel=1e-13)
    assert float(y2.sel(sex="f", age=100)) == pytest.approx(37.5, rel=1e-13)
    # totals: m 25.204333 + 27.1161 + 901.89 + 20 = 974.210433
    assert float(y2.sel(sex="m").sum()) == pytest.approx(974.2104333333, rel=1e-11)
    # f 20.163467 + 21.69288 + 901.89 + 20 + 37.5 = 1001.246347
    assert float(y2.sel(sex="f").sum()) == pytest.approx(1001.2463466667, rel=1e-11)
    assert float(abs(res.balance_residual()).max()) < 1e-9


def test_default_srb_and_quantiles() -> None:
    pop, rates = _tiny_rates()
    rates = ProjectionRates(
        sx=rates.sx,
        birth_survival=rates.birth_survival,
        asfr=rates.asfr,
        out_rate=rates.out_rate,
        in_count=rates.in_count,
    )
    res = project(pop, rates, base_year=2024, horizon=1)
    b = res.births.sel(year=2025, draw=0).values[0]
    assert b[0] / b[1] == pytest.approx(1.055, rel=1e-13)
    spec = StochasticSpec(draws=50, seed=3, sigma_fertility=0.1, sigma_out_migration=0.2)
    sto = project(pop, rates, base_year=2024, horizon=3, stochastic=spec)
    qs = quantiles(sto.population, breaks=(0, 18, 65))
    assert qs.dims == ("quantile", "year", "zone", "sex", "age_start")
    assert qs["age_start"].values.tolist() == [0, 18, 65]
    low, mid, high = (
        qs.sel(quantile=q, year=2027, sex="f", age_start=0, zone="15087220")
        for q in (0.1, 0.5, 0.9)
    )
    assert float(low) < float(mid) < float(high)
    grouped = sto.population.sel(year=2027, sex="f", age=slice(0, 17), zone="15087220").sum("age")
    assert float(mid) == pytest.approx(float(grouped.median("draw")))


# ---------------------------------------------------------------------------------------------
# random small problems for the oracle and the invariants
# ---------------------------------------------------------------------------------------------


def _random_input(
    rng: np.random.Generator,
    n_z: int,
    n_t: int,
    *,
    od: bool = False,
    extra: bool = False,
    control: bool = False,
) -> EngineInput:
    pop = rng.uniform(0, 200, (n_z, 2, A)) * (rng.uniform(size=(n_z, 2, A)) > 0.2)
    sx = rng.uniform(0.6, 1.0, (n_t, n_z, 2, A))
    asfr = np.zeros((n_t, n_z, A))
    asfr[..., 15:50] = rng.uniform(0, 0.15, (n_t, n_z, 35))
    out_rate = rng.uniform(0, 0.3, (n_t, n_z, 2, A))
    in_count = rng.uniform(0, 5, (n_t, n_z, 2, A))
    od_m = None
    if od:
        od_m = rng.uniform(0, 1, (n_z, n_z))
        np.fill_diagonal(od_m, 0)
        od_m *= rng.uniform(0, 1, (n_z, 1)) / np.maximum(od_m.sum(axis=1, keepdims=True), 1e-9)
    ex = rng.normal(0, 30, (n_t, n_z, 2, A)) if extra else None
    parent_index = totals = None
    if control:
        parent_index = (np.arange(n_z) % 2).astype(np.intp)
        totals = rng.uniform(500, 20000, (n_t, 2, 2))
    return EngineInput(
        population=pop,
        sx=sx,
        birth_survival=rng.uniform(0.99, 1.0, (n_t, n_z, 2)),
        asfr=asfr,
        out_rate=out_rate,
        in_count=in_count,
        srb=float(rng.uniform(1.0, 1.1)),
        extra=ex,
        od=od_m,
        parent_index=parent_index,
        control_totals=totals,
    )


def _check_invariants(raw: RawProjection) -> None:
    assert np.all(raw.population >= 0)
    for comp in (raw.births, raw.deaths, raw.in_migration, raw.out_migration):
        assert np.all(comp >= -1e-9)
    total = raw.population.sum(axis=-1)
    flows = raw.births - raw.deaths + raw.in_migration - raw.out_migration + raw.adjustment
    residual = total[1:] - (total[:-1] + flows)
    scale = max(1.0, float(np.abs(total).max()))
    assert float(np.abs(residual).max()) <= 1e-12 * scale * 10


def _assert_same(a: RawProjection, b: RawProjection, tol: float = 1e-9) -> None:
    for name in ("population", "births", "deaths", "in_migration", "out_migration", "adjustment"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=tol, atol=tol)


@pytest.mark.parametrize(
    ("od", "extra", "control", "stochastic"),
    [
        (False, False, False, False),
        (True, False, False, False),
        (False, True, False, True),
        (True, True, True, True),
    ],
)
def test_loop_oracle_agrees(od: bool, extra: bool, control: bool, stochastic: bool) -> None:
    rng = np.random.default_rng(11)
    inp = _random_input(rng, 4, 3, od=od, extra=extra, control=control)
    n_d = 3 if stochastic else 1
    levels = None
    if stochastic:
        spec = StochasticSpec(
            draws=n_d,
            seed=5,
            sigma_fertility=0.2,
            sigma_mortality=0.8,
            sigma_in_migration=0.3,
            sigma_out_migration=0.9,
        )
        levels = draw_levels(spec, 3, range(n_d))
    fast = project_arrays(inp, levels, n_draws=n_d)
    slow = project_reference(inp, levels, n_draws=n_d)
    _assert_same(fast, slow)
    _check_invariants(fast)


def test_internal_migration_conserves_movers() -> None:
    rng = np.random.default_rng(2)
    inp = _random_input(rng, 5, 4, od=True)
    closed = EngineInput(**{**inp.__dict__, "in_count": np.zeros_like(inp.in_count)})
    # every out-mover stays in the system: rows of od sum to 1
    od = closed.od
    assert od is not None
    closed = EngineInput(**{**closed.__dict__, "od": od / od.sum(axis=1, keepdims=True)})
    raw = project_arrays(closed)
    # total in-migration equals total out-migration of the system, every year and sex
    np.testing.assert_allclose(
        raw.in_migration.sum(axis=2), raw.out_migration.sum(axis=2), rtol=1e-12
    )
    total = raw.population.sum(axis=(2, 3, 4))
    natural = (raw.births - raw.deaths).sum(axis=(2, 3))
    np.testing.assert_allclose(total[1:] - total[:-1], natural, rtol=1e-10, atol=1e-8)


def test_control_reaches_parent_totals() -> None:
    rng = np.random.default_rng(4)
    inp = _random_input(rng, 6, 3, control=True)
    raw = project_arrays(inp)
    assert inp.control_totals is not None
    assert inp.parent_index is not None
    zone_sex = raw.population[1:, 0].sum(axis=-1)  # (T, Z, 2)
    for g in range(2):
        got = zone_sex[:, inp.parent_index == g].sum(axis=1)
        np.testing.assert_allclose(got, inp.control_totals[:, g], rtol=1e-12)
    assert np.any(np.abs(raw.adjustment) > 1)
    _check_invariants(raw)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_z=st.integers(1, 3),
    n_t=st.integers(1, 3),
    od=st.booleans(),
    extra=st.booleans(),
    control=st.booleans(),
    sigma=st.floats(0.0, 1.5),
)
def test_invariants_and_oracle_hypothesis(
    seed: int, n_z: int, n_t: int, od: bool, extra: bool, control: bool, sigma: float
) -> None:
    rng = np.random.default_rng(seed)
    inp = _random_input(rng, n_z, n_t, od=od, extra=extra, control=control)
    spec = StochasticSpec(
        draws=2,
        seed=seed,
        sigma_fertility=sigma,
        sigma_mortality=sigma,
        sigma_in_migration=sigma,
        sigma_out_migration=sigma,
    )
    levels = draw_levels(spec, n_t, range(2))
    fast = project_arrays(inp, levels, n_draws=2)
    _check_invariants(fast)
    _assert_same(fast, project_reference(inp, levels, n_draws=2))


def test_higher_fertility_never_fewer_births_or_children() -> None:
    rng = np.random.default_rng(8)
    for _ in range(5):
        inp = _random_input(rng, 3, 5, extra=True)
        more = EngineInput(**{**inp.__dict__, "asfr": inp.asfr * rng.uniform(1.0, 1.5)})
        base, high = project_arrays(inp), project_arrays(more)
        assert np.all(high.births >= base.births)
        assert np.all(high.population[..., :5] >= base.population[..., :5])
        assert np.any(high.births > base.births)


def test_more_out_migration_never_more_people() -> None:
    rng = np.random.default_rng(9)
    for _ in range(5):
        inp = _random_input(rng, 3, 5, extra=True)
        factor = rng.uniform(1.0, 3.0, inp.out_rate.shape)
        more = EngineInput(**{**inp.__dict__, "out_rate": np.minimum(inp.out_rate * factor, 1.0)})
        base, high = project_arrays(inp), project_arrays(more)
        assert np.all(high.population <= base.population + 1e-9)
        assert np.all(high.population.sum(axis=-1)[1:] < base.population.sum(axis=-1)[1:])


def test_determinism_chunks_and_threads() -> None:
    rng = np.random.default_rng(10)
    inp = _random_input(rng, 40, 4, od=False, extra=True)
    spec = StochasticSpec(
        draws=6,
        seed=42,
        sigma_fertility=0.1,
        sigma_mortality=0.2,
        sigma_in_migration=0.3,
        sigma_out_migration=0.2,
    )
    full = project_arrays(inp, draw_levels(spec, 4, range(6)), n_draws=6, threads=2)
    again = project_arrays(inp, draw_levels(spec, 4, range(6)), n_draws=6, threads=1)
    np.testing.assert_array_equal(full.population, again.population)
    parts = [
        project_arrays(inp, draw_levels(spec, 4, ids), n_draws=len(ids))
        for ids in ([0, 1], [2], [3, 4, 5])
    ]
    np.testing.assert_array_equal(
        full.population, np.concatenate([p.population for p in parts], axis=1)
    )
    np.testing.assert_array_equal(full.deaths, np.concatenate([p.deaths for p in parts], axis=1))
    other = draw_levels(StochasticSpec(draws=6, seed=43, sigma_fertility=0.1), 4, range(6))
    assert other.fertility is not None
    ref = draw_levels(spec, 4, range(6)).fertility
    assert ref is not None
    assert not np.array_equal(other.fertility, ref)


def test_labelled_project_with_year_rates_and_control() -> None:
    rng = np.random.default_rng(12)
    inp = _random_input(rng, 3, 2, control=True)
    zones = ["15087220", "15087275", "15087130"]
    years = [2025, 2026]

    def zsay(a: np.ndarray) -> xr.DataArray:
        return xr.DataArray(
            a,
            dims=("year", "zone", "sex", "age"),
            coords={"year": years, "zone": zones, "sex": ["m", "f"], "age": np.arange(A)},
        )

    rates = ProjectionRates(
        sx=zsay(inp.sx),
        birth_survival=xr.DataArray(
            inp.birth_survival[0], dims=("zone", "sex"), coords={"zone": zones, "sex": ["m", "f"]}
        ),
        asfr=xr.DataArray(
            inp.asfr[:, :, 15:50],
            dims=("year", "zone", "age"),
            coords={"year": years, "zone": zones, "age": np.arange(15, 50)},
        ),
        out_rate=zsay(inp.out_rate),
        in_count=zsay(inp.in_count),
        srb=inp.srb,
    )
    assert inp.control_totals is not None
    control = Control(
        parent=xr.DataArray(["A", "B", "A"], dims="zone", coords={"zone": zones}),
        totals=xr.DataArray(
            inp.control_totals.transpose(1, 2, 0),
            dims=("parent", "sex", "year"),
            coords={"parent": ["A", "B"], "sex": ["m", "f"], "year": years},
        ),
    )
    # zones given in a different order than the arrays: labels decide
    pop = _zsa(inp.population, zones).isel(zone=[2, 0, 1])
    res = project(pop, rates, base_year=2024, horizon=2, control=control)
    assert res.population.dims == ("year", "zone", "sex", "age", "draw")
    assert res.births.dims == ("year", "zone", "sex", "draw")
    raw = project_arrays(
        EngineInput(
            **{**inp.__dict__, "birth_survival": np.broadcast_to(inp.birth_survival[0], (2, 3, 2))}
        )
    )
    got = res.population.sel(zone=zones, draw=0).transpose("year", "zone", "sex", "age").values
    np.testing.assert_allclose(got, raw.population[:, 0], rtol=1e-12)
    assert float(abs(res.balance_residual()).max()) < 1e-8


def test_bad_inputs_raise() -> None:
    rng = np.random.default_rng(1)
    inp = _random_input(rng, 2, 2)
    with pytest.raises(ValueError, match="sx"):
        project_arrays(EngineInput(**{**inp.__dict__, "sx": inp.sx * 1.5}))
    with pytest.raises(ValueError, match="in_count"):
        project_arrays(EngineInput(**{**inp.__dict__, "in_count": -inp.in_count}))
    with pytest.raises(ValueError, match="levels"):
        project_arrays(inp, Levels(fertility=np.ones((5, 1))))


def test_grouped_output_equals_grouped_full_output() -> None:
    rng = np.random.default_rng(13)
    inp = _random_input(rng, 5, 3, extra=True)
    spec = StochasticSpec(draws=3, seed=1, sigma_mortality=0.3, sigma_out_migration=0.3)
    levels = draw_levels(spec, 3, range(3))
    breaks = (0, 6, 18, 65, 80)
    full = project_arrays(inp, levels, n_draws=3)
    grouped = project_arrays(inp, levels, n_draws=3, age_breaks=breaks)
    # the groups are sums in age order of the single ages (bit for bit), so reduceat to rounding
    bounds = (*breaks, A)
    in_order = np.stack(
        [
            sum(
                (full.population[..., a] for a in range(lo, hi)),
                np.zeros(full.population.shape[:-1]),
            )
            for lo, hi in itertools.pairwise(bounds)
        ],
        axis=-1,
    )
    np.testing.assert_array_equal(grouped.population, in_order)
    np.testing.assert_allclose(
        grouped.population, np.add.reduceat(full.population, breaks, axis=-1), rtol=1e-14
    )
    np.testing.assert_array_equal(grouped.deaths, full.deaths)
    with pytest.raises(ValueError, match="age breaks"):
        project_arrays(inp, age_breaks=(5, 10))


# ---------------------------------------------------------------------------------------------
# kernel paths: fused (no mortality / out-migration level, no od) and general, any block size
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "control"), [(False, False), (True, False), (True, True)])
def test_fused_path_with_fertility_and_in_levels_agrees_with_oracle(
    extra: bool, control: bool
) -> None:
    rng = np.random.default_rng(21)
    inp = _random_input(rng, 4, 4, extra=extra, control=control)
    spec = StochasticSpec(draws=3, seed=8, sigma_fertility=0.4, sigma_in_migration=0.5)
    levels = draw_levels(spec, 4, range(3))
    assert levels.mortality is None
    assert levels.out_migration is None
    fast = project_arrays(inp, levels, n_draws=3)
    _assert_same(fast, project_reference(inp, levels, n_draws=3))
    _check_invariants(fast)


def test_fused_path_fertility_at_the_age_limits() -> None:
    """Births weights cover the ages next to the fertile span, including age 0 and the open group."""
    rng = np.random.default_rng(22)
    for ages in ([0, 1, 2], [98, 99, 100], [0, 100], [15, 49]):
        inp = _random_input(rng, 3, 3)
        asfr = np.zeros_like(inp.asfr)
        asfr[..., ages] = rng.uniform(0.01, 0.2, (*asfr.shape[:2], len(ages)))
        inp = EngineInput(**{**inp.__dict__, "asfr": asfr})
        fast = project_arrays(inp)
        _assert_same(fast, project_reference(inp))
        assert np.all(fast.births > 0)


@pytest.mark.parametrize("stochastic", [False, True])
@pytest.mark.parametrize("grouped", [False, True])
def test_bit_identical_for_any_block_size_and_threads(
    monkeypatch: pytest.MonkeyPatch, stochastic: bool, grouped: bool
) -> None:
    from wandel.demography.engine import core as engine

    rng = np.random.default_rng(23)
    inp = _random_input(rng, 13, 5, extra=True)
    n_d = 4
    spec = StochasticSpec(
        draws=n_d,
        seed=3,
        sigma_fertility=0.1,
        sigma_mortality=0.2 if stochastic else 0.0,
        sigma_in_migration=0.2,
        sigma_out_migration=0.3 if stochastic else 0.0,
    )
    levels = draw_levels(spec, 5, range(n_d))
    breaks = (0, 3, 6, 10, 16, 19, 25, 45, 65, 80) if grouped else None
    results = []
    # one zone per block, several zones, all zones and several draws per block
    for block in (2 * A, 3 * 2 * A, 13 * 2 * A, 3 * 13 * 2 * A, 64_000):
        monkeypatch.setattr(engine, "_BLOCK_ELEMENTS", block)
        for threads in (1, 2):
            results.append(
                project_arrays(inp, levels, n_draws=n_d, threads=threads, age_breaks=breaks)
            )
    for other in results[1:]:
        for name in ("population", "births", "deaths", "in_migration", "out_migration"):
            np.testing.assert_array_equal(getattr(other, name), getattr(results[0], name))
    if not grouped:
        _assert_same(results[0], project_reference(inp, levels, n_draws=n_d))


# ---------------------------------------------------------------------------------------------
# additive net-migration noise (step 4e)
# ---------------------------------------------------------------------------------------------


def _net_levels(
    n_t: int, n_d: int, n_z: int, sigma: float, seed: int = 1, phi: float = 1.0
) -> Levels:
    zones = [f"z{i}" for i in range(n_z)]
    spec = StochasticSpec(draws=n_d, seed=seed, sigma_net_migration=sigma, ar_net_migration=phi)
    return Levels(net_migration=draw_net_migration(spec, n_t, range(n_d), zones))


@pytest.mark.parametrize(
    ("od", "extra", "control", "levels_too"),
    [(False, False, False, False), (True, True, False, True), (False, True, True, True)],
)
def test_net_migration_noise_agrees_with_oracle(
    od: bool, extra: bool, control: bool, levels_too: bool
) -> None:
    rng = np.random.default_rng(31)
    n_z, n_t, n_d = 4, 4, 3
    inp = _random_input(rng, n_z, n_t, od=od, extra=extra, control=control)
    # sigma 0.6 makes some yearly flows remove more than everybody: the cap must bind
    net = _net_levels(n_t, n_d, n_z, 0.6, phi=0.5)
    lv = net
    if levels_too:
        spec = StochasticSpec(draws=n_d, seed=2, sigma_mortality=0.3, sigma_out_migration=0.4)
        lv = Levels(
            **{**draw_levels(spec, n_t, range(n_d)).__dict__, "net_migration": net.net_migration}
        )
    fast = project_arrays(inp, lv, n_draws=n_d)
    _assert_same(fast, project_reference(inp, lv, n_draws=n_d))
    _check_invariants(fast)
    assert net.net_migration is not None
    assert np.any(net.net_migration < -1.0)


def test_net_migration_noise_flow_size_and_booking() -> None:
    """No events but the noise: P(t+1) = P(t) (1 + eps); gains booked as in-, losses as out-movers."""
    pop = np.zeros((3, 2, A))
    pop[:, 0, 40] = [1000.0, 500.0, 10.0]
    pop[:, 1, 70] = [1000.0, 1500.0, 0.0]
    zero = np.zeros((2, 3, 2, A))
    inp = EngineInput(
        population=pop,
        sx=np.ones((2, 3, 2, A)),
        birth_survival=np.ones((2, 3, 2)),
        asfr=np.zeros((2, 3, A)),
        out_rate=zero,
        in_count=zero,
    )
    eps = np.array([[[0.1, -0.2, -3.0]], [[-0.1, 0.05, 0.5]]])  # (T, D=1, Z)
    raw = project_arrays(inp, Levels(net_migration=eps), n_draws=1)
    tot = raw.population.sum(axis=(-2, -1))[:, 0]  # (T+1, Z)
    np.testing.assert_allclose(tot[1], [2200.0, 1600.0, 0.0])  # zone 3 capped at everybody
    np.testing.assert_allclose(tot[2], [1980.0, 1680.0, 0.0])  # empty zone receives nothing
    np.testing.assert_allclose(raw.in_migration[0, 0, 0], [100.0, 100.0])
    np.testing.assert_allclose(raw.out_migration[0, 0, 1], [100.0, 300.0])
    np.testing.assert_allclose(raw.out_migration[0, 0, 2], [10.0, 0.0])
    # ages shift by one, the structure within the zone is kept
    np.testing.assert_allclose(raw.population[2, 0, 0, 0, 42] / raw.population[2, 0, 0, 1, 72], 1.0)
    _check_invariants(raw)


def test_net_migration_noise_is_chunk_and_zone_order_invariant() -> None:
    spec = StochasticSpec(draws=8, seed=9, sigma_net_migration={"a": 0.02, "b": 0.05, "c": 0.0})
    full = draw_net_migration(spec, 6, range(8), ["a", "b", "c"])
    assert full is not None
    part = draw_net_migration(spec, 6, [5, 2], ["c", "b"])
    assert part is not None
    np.testing.assert_array_equal(part[:, :, 1], full[:, [5, 2], 1])
    np.testing.assert_array_equal(part[:, :, 0], 0.0)
    # persistent (phi = 1): one rate per draw and zone for the whole horizon
    np.testing.assert_array_equal(full, np.broadcast_to(full[:1], full.shape))
    # a different seed gives other numbers; the level streams are untouched by the new noise
    other = draw_net_migration(
        StochasticSpec(draws=8, seed=10, sigma_net_migration=0.02), 6, range(8), ["a"]
    )
    assert other is not None
    assert not np.array_equal(other[:, :, 0], full[:, :, 0])
    with_net = StochasticSpec(draws=8, seed=9, sigma_fertility=0.1, sigma_net_migration=0.05)
    without = StochasticSpec(draws=8, seed=9, sigma_fertility=0.1)
    np.testing.assert_array_equal(
        draw_levels(with_net, 6, range(8)).fertility, draw_levels(without, 6, range(8)).fertility
    )
    with pytest.raises(ValueError, match="lacks zones"):
        spec.net_sigmas(["a", "d"])


def test_net_migration_noise_distribution() -> None:
    """sd of eps is sigma (any phi); phi = 0 gives independent years; standard normals are normal."""
    zones = [str(i) for i in range(500)]
    for phi in (0.0, 0.7, 1.0):
        spec = StochasticSpec(draws=200, seed=4, sigma_net_migration=0.03, ar_net_migration=phi)
        eps = draw_net_migration(spec, 3, range(200), zones)
        assert eps is not None
        sd = eps.reshape(3, -1).std(axis=1)
        np.testing.assert_allclose(sd, 0.03, rtol=0.02)
        corr = float(np.corrcoef(eps[0].ravel(), eps[1].ravel())[0, 1])
        assert abs(corr - phi) < 0.02
    u = eps[0].ravel() / 0.03
    assert abs(float(np.mean(u < -1.2816)) - 0.1) < 0.005


def test_labelled_project_with_net_noise_and_chunks() -> None:
    pop, rates = _tiny_rates()
    pop2 = xr.concat([pop, pop.assign_coords(zone=["15087130"]) * 3], dim="zone")
    rates2 = ProjectionRates(
        **{
            k: (
                xr.concat([v, v.assign_coords(zone=["15087130"])], dim="zone")
                if isinstance(v, xr.DataArray) and "zone" in v.dims
                else v
            )
            for k, v in rates.__dict__.items()
        }
    )
    spec = StochasticSpec(draws=6, seed=3, sigma_net_migration={"15087220": 0.02, "15087130": 0.01})
    full = project(pop2, rates2, base_year=2020, horizon=5, stochastic=spec)
    part = project(
        pop2.sel(zone=["15087130"]),
        rates2,
        base_year=2020,
        horizon=5,
        stochastic=spec,
        draw_ids=[4, 1],
    )
    np.testing.assert_array_equal(
        part.population.sel(zone="15087130").values,
        full.population.sel(zone="15087130", draw=[4, 1]).values,
    )
    det = project(pop2, rates2, base_year=2020, horizon=5)
    spread = full.population.sum(("sex", "age")).sel(year=2025).std("draw")
    assert float(spread.sel(zone="15087220")) > 0
    assert float(np.abs(full.balance_residual()).max()) < 1e-8
    # zero sigma reproduces the deterministic projection exactly
    zero = project(pop2, rates2, base_year=2020, horizon=5, stochastic=StochasticSpec(draws=2))
    np.testing.assert_array_equal(
        zero.population.isel(draw=1).values, det.population.isel(draw=0).values
    )

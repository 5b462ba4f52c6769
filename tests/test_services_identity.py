"""The speed work on wandel.services keeps every number: digests of results on the demo store,
recorded on the code before each speed change (commit 0388e3a), must stay the same bit for bit.

Four stages, each fed from real data: the Gemeinden's base population (demography.rates.base), the
Pflege calibration on the Kreise (workflow.services), the services' accumulation of draws (quantiles,
parent sums, crossings, on a seeded random population cube through the streamed path) and a whole
run from the store with draws. A digest changes with any bit of any value, so a failing digest means
a speed change altered results; then find which by the stages' own oracles below.

One change was made on purpose: sums over a level's parents run in zone order (see
``test_parent_sums_run_in_zone_order_and_chunk_order``). Before, they were a product with a one-hot
matrix, whose summation order was the BLAS kernel's: for a level with one parent (``auswahl``) a
matrix-vector kernel with several accumulators. The two digests of draws were recorded again after
that change (commit "parent sums in zone order"); the old and new figures differ only at the levels
``auswahl`` and ``kreis``, by at most 4.4e-16 relative (2 ulp), checked on these fixtures.
A second: the measures' matrix product reads the engine's population in the engine's own layout
(draws along a stride) instead of a transposed copy; BLAS then sums the products of a small chunk
of draws in another order (``test_linear_measures_from_a_strided_population``). The whole run's
digest was recorded again after that change (commit "engine layout"): at most 5.6e-16 relative.
Third, after the merges of the accuracy and speed work: the error model was recalibrated
(``uncertainty_sigmas.csv``, a model change on purpose), and the compiled draws kernel sums in
another order. With the old sigma file the run's figures differ from the recorded ones by at most
1.1e-15 relative and the thresholds and crossings are identical, so the whole run's digest was
recorded again on the new sigmas.
Fourth: the compiled draws kernel lays out its population draws last, ``[year, zone, sex, group,
draw]``, and the measures' matrix product now reads that array itself (contiguous rows of draws)
instead of a strided view of a transposed copy, so BLAS sums a measure's products in another order
again. Against the digest before (commit 49fc9d5) the whole run's quantiles differ by at most
5.6e-16 relative, the deterministic values, thresholds and crossings are identical; the digest was
recorded again.
Fifth: places (Krippe, Kita) and GPs needed are now their quota (1 / Verhältniszahl) times the
children (population) of the zone and year, draw by draw, instead of a matrix product with weights
scaled by the quota, so that their quantiles are the factor times the children's order statistics
without a sort of their own (``test_scaled_measures_quantiles_equal_numpy_quantile``). Only those
measures changed (at every level), by at most 9.3e-16 relative in the accumulation and 6.9e-16 in
the whole run (value and quantiles); thresholds and crossings are identical. Both digests were
recorded again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wandel.demography.data import gemeinde_totals
from wandel.demography.model import select_zones
from wandel.demography.rates import base_population
from wandel.services import Chunking, Grid, evaluate, plan_services, required_breaks
from wandel.services.demand import _QCOLS as QCOLS
from wandel.services.demand import QUANTILES, _quantiles, _run
from wandel.store import Store
from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store
from wandel.workflow.projection import build_inputs, load_tables
from wandel.workflow.services import (
    ServicesRequest,
    _care_inputs,
    _parents,
    _service_inputs,
    load_catalogue,
    services_from_store,
)

PARAMS = (
    "feuerwehr.min_age=16",
    "feuerwehr.max_age=67",
    "feuerwehr.crew=9",
    "feuerwehr.time_min=12",
    "feuerwehr.weekday_share=0.3",
    "feuerwehr.members_per_resident=0.02",
    "grundschule.max_class=28",
    "sekundarstufe1.max_class=28",
    "sekundarstufe1.min_first_class@15=20",
)


def digest(*arrays: object) -> str:
    """sha256 over the values (bit patterns) of arrays and frames, in order."""
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, pd.DataFrame):
            h.update(",".join(map(str, a.columns)).encode())
            h.update(pd.util.hash_pandas_object(a, index=False).to_numpy().tobytes())
        else:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("identity") / "demo.duckdb"
    with Store.open(path) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    return path


@pytest.fixture(scope="module")
def tables(db: Path) -> object:
    with Store.open(db, read_only=True) as store:
        return load_tables(store)


def _laender_gemeinden(tables: object) -> tuple[list[str], pd.DataFrame]:
    gt = gemeinde_totals(tables.until(2019), 2019)  # type: ignore[attr-defined]
    zones = sorted(z for z in gt["zone"].astype(str).unique() if z[:2] in ("14", "15", "16"))
    return zones, gt


def test_base_population_of_every_gemeinde_is_unchanged(tables: object) -> None:
    zones, gt = _laender_gemeinden(tables)
    assert len(zones) > 1200
    bp = base_population(tables.population, zones, 2019, gemeinde_totals=gt)  # type: ignore[attr-defined]
    assert bp.year == 2019
    assert list(bp.population["zone"].values) == zones
    assert digest(bp.population.values) == "e738f46aa8c62d20"


def test_pflege_calibration_is_unchanged(db: Path, tables: object) -> None:
    zones, gt = _laender_gemeinden(tables)
    with Store.open(db, read_only=True) as store:
        care = store.table("care")
    cat = load_catalogue(None, None, (), 2019)
    cal, places, _notes = _care_inputs(tables, care, cat, zones, 2019, False, gt)
    bp = base_population(tables.population, zones, 2019, gemeinde_totals=gt)  # type: ignore[attr-defined]
    again = _care_inputs(tables, care, cat, zones, 2019, False, gt, bp)
    pd.testing.assert_frame_equal(again[0].factors, cal.factors, check_exact=True)  # type: ignore[union-attr]
    assert cal is not None
    assert len(places) == len({z[:5] for z in zones})
    frame = cal.factors.sort_values(list(cal.factors.columns[:3])).reset_index(drop=True)
    pl = np.array([places[k] for k in sorted(places)])
    assert digest(frame, pl) == "f9670c41c2cd2b0b"


def _plans(db: Path, tables: object, zones: tuple[str, ...], until: int):  # type: ignore[no-untyped-def]
    with Store.open(db, read_only=True) as store:
        data = {
            "care": store.table("care"),
            "facilities": store.table("facilities"),
            "boundaries": store.table("boundaries"),
        }
    cat = load_catalogue(None, None, PARAMS, 2019)
    names = tuple(cat.services)
    zs = select_zones(tables, list(zones), "gemeinde", 2019).zones  # type: ignore[arg-type]
    inputs = build_inputs(tables, zs, 2019)  # type: ignore[arg-type]
    g0 = Grid(tuple(inputs.zones), tuple(range(2019, until + 1)), (0,))
    grid = Grid(g0.zones, g0.years, required_breaks(cat, names, g0))
    gt = gemeinde_totals(tables.until(2019), 2019)  # type: ignore[attr-defined]
    req = ServicesRequest(zones=zones, base_year=2019, until=until, params=PARAMS)
    svc, mb, _notes = _service_inputs(data, tables, cat, names, grid.zones, 2019, req, gt)
    plans = plan_services(cat, names, grid, svc)
    return plans, grid, _parents(grid.zones, set(gt["zone"].astype(str)), mb)


def test_accumulating_draws_is_unchanged(db: Path, tables: object) -> None:
    """A seeded random population cube (year, zone, sex, group, draw) through the streamed path."""
    plans, grid, parents = _plans(db, tables, ("15087", "15088"), 2031)
    t, z = grid.shape
    draws = 37
    rng = np.random.default_rng(12)
    cube = rng.gamma(2.0, 20.0, size=(t, z, 2, len(grid.breaks), draws))
    cube[0] = cube[0, ..., :1]  # the base year is certain

    def chunks(zc: int, dc: int):  # type: ignore[no-untyped-def]
        for a in range(0, z, zc):
            part = cube[:, a : a + zc]
            yield (
                grid.zones[a : a + zc],
                iter([(d0, part[..., d0 : d0 + dc]) for d0 in range(0, draws, dc)]),
            )

    fig, cross = _run(plans, grid, parents, chunks(11, 10), draws, None)
    assert len(fig) > 10_000
    assert len(cross) > 1_000
    keys = ["level", "zone", "year", "service", "measure"]
    fig = fig.sort_values(keys).reset_index(drop=True)  # the streamed rows in a fixed order
    cross = cross.sort_values([*keys, "threshold"]).reset_index(drop=True)
    assert digest(fig, cross) == "156b5858e88a17ad"


def test_parent_sums_run_in_zone_order_and_chunk_order(db: Path, tables: object) -> None:
    """Oracle: a Kreis's draw-by-draw sum is the sum over its zones in each chunk in zone order,
    the chunks' sums added in order; its quantiles are numpy's of that sum (bit for bit)."""
    plans, grid, parents = _plans(db, tables, ("15087", "15088"), 2024)
    t, z = grid.shape
    draws, zc = 23, 7
    rng = np.random.default_rng(5)
    cube = rng.gamma(2.0, 20.0, size=(t, z, 2, len(grid.breaks), draws))
    chunks = ((grid.zones[a : a + zc], iter([(0, cube[:, a : a + zc])])) for a in range(0, z, zc))
    fig, _cross = _run(plans, grid, parents, chunks, draws, None)
    per_zone = evaluate(plans, grid, cube)
    kreise = parents.levels["kreis"]
    for key in [("kita", "places"), ("pflege", "residential"), ("haushalte", "households")]:
        v = per_zone[key]
        for k in ("15087", "15088"):
            total = np.zeros((t, draws))
            for a in range(0, z, zc):
                chunk = np.zeros((t, draws))
                for j in range(a, min(a + zc, z)):
                    if kreise[j] == k:
                        chunk += v[:, j, :]
                total += chunk
            want = np.moveaxis(np.quantile(total, QUANTILES, axis=-1), 0, -1)
            got = fig[
                (fig["level"] == "kreis")
                & (fig["zone"] == k)
                & (fig["service"] == key[0])
                & (fig["measure"] == key[1])
            ].sort_values("year")
            np.testing.assert_array_equal(got[list(QCOLS)].to_numpy(), want)


def test_a_services_run_with_draws_is_unchanged(db: Path) -> None:
    req = ServicesRequest(
        zones=("15087", "16073"),
        base_year=2019,
        until=2035,
        draws=24,
        seed=3,
        params=PARAMS,
        chunking=Chunking(zones=9, draws=10),
    )
    run = services_from_store(db, req)
    assert len(run.figures) > 10_000
    # recorded again after the Gemeinde migration was pooled over every Gemeinde with totals
    # (demography/inputs.py): the two Kreise's Gemeinden no longer define their own pool
    assert digest(run.figures, run.thresholds, run.crossings) == "11b9ac5db8595527"


def test_linear_measures_from_a_strided_population(db: Path, tables: object) -> None:
    """The linear measures of a population in the engine's layout ``(year, draw, zone, sex,
    group)`` seen as ``[year, zone, sex, group, draw]``: the same as from a contiguous copy within
    a few ulp (2e-15 relative), and as near to the products summed in extended precision."""
    plans, grid, _ = _plans(db, tables, ("15087",), 2024)
    t, z = grid.shape
    rng = np.random.default_rng(9)
    for draws in (1, 10, 200):
        raw = rng.gamma(2.0, 20.0, size=(t, draws, z, 2, len(grid.breaks)))
        view = raw.transpose(0, 2, 3, 4, 1)
        a = evaluate(plans, grid, view)
        b = evaluate(plans, grid, np.ascontiguousarray(view))
        for key in [
            ("kita", "places"),
            ("pflege", "residential"),
            ("erwerbspersonen", "labour_force"),
        ]:
            np.testing.assert_allclose(a[key], b[key], rtol=2e-15, atol=0)
        w = {n: fn for p in plans if p.name == "pflege" for n, fn in p.linear.items()}
        wr = w["residential"](np.arange(z)).astype(np.longdouble)  # (T, Z, 2, G)
        exact = np.einsum("tzsg,tzsgd->tzd", wr, view.astype(np.longdouble))
        np.testing.assert_allclose(
            a[("pflege", "residential")], exact.astype(np.float64), rtol=2e-15
        )


@pytest.mark.parametrize("shape", [(3, 4, 1), (5, 7, 2), (2, 3, 37), (31, 13, 200), (4, 5, 1000)])
def test_quantiles_equal_numpy_quantile(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(shape))
    v = rng.normal(100.0, 30.0, size=shape)
    v[0] = v[0, :, :1]  # constant over draws
    v[1, 0, -1] = np.nan  # a draw without a figure
    if shape[-1] > 1:
        v[-1, -1] = np.round(v[-1, -1])  # ties
    want = np.moveaxis(np.quantile(v, QUANTILES, axis=-1), 0, -1)
    if shape[-1] == 1:
        want = np.repeat(v, len(QUANTILES), axis=-1)
    np.testing.assert_array_equal(_quantiles(v), want)


@pytest.mark.parametrize("n", [2, 37, 1000])
def test_scaled_measures_quantiles_equal_numpy_quantile(n: int) -> None:
    """Oracle: the quantiles of ``f * lanes`` (f >= 0 or NaN per lane) from the lanes' order
    statistics, and of constant lanes without a sort, are numpy's quantiles of those lanes, bit
    for bit: ties, zero, NaN and tiny or huge factors, lanes with a NaN or an infinite draw."""
    from wandel.services.demand import (
        _constant_stats,
        _interpolate,
        _order_stats,
        _scaled_stats,
    )

    rng = np.random.default_rng(n)
    v = rng.gamma(2.0, 20.0, size=(6, 9, n))
    v[0, 1] = np.round(v[0, 1])  # ties
    v[1, 2, -1] = np.nan  # a draw without a figure
    v[2, 3, 0] = np.inf
    f = rng.uniform(0.0, 3.0, size=(6, 9))
    f[0, 0], f[1, 1], f[2, 3], f[3, 3], f[4, 4] = 0.0, np.nan, 0.0, 1e-300, 1e300
    f[5] = 1.0 / 3.0
    src = _order_stats(v)

    def numpy_q(x: np.ndarray) -> np.ndarray:
        return np.moveaxis(np.quantile(x, QUANTILES, axis=-1), 0, -1)

    with np.errstate(invalid="ignore", over="ignore"):
        prod = v * f[..., None]
        twice = prod * f[..., None]
    scaled = _scaled_stats(src, f)
    assert scaled is not None
    np.testing.assert_array_equal(_interpolate(scaled, n), numpy_q(prod))
    again = _scaled_stats(scaled, f)  # a scaled measure of a scaled one
    assert again is not None
    np.testing.assert_array_equal(_interpolate(again, n), numpy_q(twice))
    assert np.isnan(_interpolate(scaled, n)[2, 3]).all()  # 0 * inf: NaN, as numpy's
    assert _scaled_stats(src, -f) is None  # a negative factor reverses the order: sorted instead
    c = rng.normal(size=(6, 9))
    c[0, 0] = np.nan
    lanes = np.repeat(c[..., None], n, axis=-1)
    np.testing.assert_array_equal(_interpolate(_constant_stats(c), n), numpy_q(lanes))


def test_threads_give_the_same_bits_as_one(db: Path, tables: object) -> None:
    """Zone chunks worked on in threads and merged in chunk order: the same figures and
    crossings as one thread, bit for bit."""
    plans, grid, parents = _plans(db, tables, ("15087", "15088"), 2026)
    t, z = grid.shape
    draws = 29
    cube = np.random.default_rng(21).gamma(2.0, 20.0, size=(t, z, 2, len(grid.breaks), draws))

    def chunks(zc: int):  # type: ignore[no-untyped-def]
        for a in range(0, z, zc):
            yield grid.zones[a : a + zc], iter([(0, cube[:, a : a + zc])])

    one = _run(plans, grid, parents, chunks(5), draws, None, workers=1)
    for workers in (2, 3):
        many = _run(plans, grid, parents, chunks(5), draws, None, workers=workers)
        assert digest(*many) == digest(*one)


@pytest.mark.parametrize("drop", [(), (0,), (3, 4), (-1,)])
def test_joining_values_to_quantiles_equals_a_merge_and_sort(drop: tuple[int, ...]) -> None:
    """Oracle: the join of the deterministic values and the quantiles is pandas' outer merge on
    the keys, sorted by service, measure, level (in the levels' order), zone and year."""
    from wandel.services.demand import _outer_join

    rng = np.random.default_rng(len(drop))
    n = 60
    keys = pd.DataFrame(
        {
            "level": rng.choice(["zone", "kreis", "auswahl"], n),
            "zone": rng.choice(["15087220", "15087", "alle", "14625020"], n),
            "year": rng.integers(2019, 2023, n),
            "service": rng.choice(["kita", "pflege"], n),
            "measure": rng.choice(["places", "residential", "children"], n),
        }
    ).drop_duplicates(ignore_index=True)
    value = keys.assign(value=rng.random(len(keys)))
    fig = keys.assign(unit="persons", q025=rng.random(len(keys)), q50=rng.random(len(keys)))
    fig = fig.sample(frac=1.0, random_state=3).reset_index(drop=True)
    value = value.drop(index=[value.index[i] for i in drop]).reset_index(drop=True)
    fig = fig.drop(index=[fig.index[i] for i in drop[::-1] if i > 0]).reset_index(drop=True)
    order = {"zone": 0, "kreis": 1, "auswahl": 2}
    got = _outer_join(value, fig, order)
    k = ["level", "zone", "year", "service", "measure"]
    want = value.merge(fig, on=k, how="outer").sort_values(
        ["service", "measure", "level", "zone", "year"],
        key=lambda s: s.map(order) if s.name == "level" else s,
    )
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_exact=True)

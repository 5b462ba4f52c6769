"""Projection workflow: balancing, scenarios, determinism, Dask equals in-process."""

from __future__ import annotations

import numpy as np
import pytest

from _projection_store import demo_tables
from wandel.demography.engine import Projection
from wandel.demography.scenario import parse_scenarios
from wandel.workflow.projection import (
    FLOW_PROFILES,
    ProjectionInputs,
    StoreTables,
    build_inputs,
    mortality_factors,
    run,
    scenario_rates,
    to_long,
)

SCEN = parse_scenarios(
    """
variants:
  basis: {}
  zuzug:
    extra_flows: [{zone: "15087220", per_year: 40, from_year: 2020, to_year: 2029}]
  hoch:
    fertility: {tfr_target: 2.0, target_year: 2025}
  alt:
    mortality: {e0_gain_per_year: 0.2}
  bleiben:
    migration: {out_multipliers: [{age_start: 18, age_end: 25, factor: 0.5}]}
  stark:
    migration: {level: 1.3}
  anziehen:
    migration: {in_multipliers: [{age_start: 18, age_end: 25, factor: 1.5}]}
"""
)
SIGMAS = {
    c: {"fertility": 0.02, "mortality": 0.02, "in_migration": 0.3, "out_migration": 0.3}
    for c in ("<5k", "5-20k", "20-100k", ">100k")
}


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> StoreTables:
    return demo_tables(tmp_path_factory)


@pytest.fixture(scope="module")
def inputs(tables: StoreTables) -> ProjectionInputs:
    return build_inputs(tables, ["15087220", "15087370", "15087130", "15087275"], 2024)


def _total(inputs: ProjectionInputs, variant: str, zone: str, year: int) -> float:
    rates, _ = scenario_rates(inputs, SCEN.variant(variant), 2035)
    res = run(inputs, rates, 2035)
    return float(res.deterministic.population.sel(zone=zone, year=year).sum())


def test_balancing_equation_and_no_negatives(inputs: ProjectionInputs) -> None:
    rates, _ = scenario_rates(inputs, SCEN.variant("zuzug"), 2040)
    res = run(inputs, rates, 2040)
    assert float(abs(res.deterministic.balance_residual()).max()) < 1e-6
    assert float(res.deterministic.population.min()) >= 0
    frame = to_long(res)
    assert list(frame.columns) == ["zone", "year", "sex", "age_start", "age_end", "value"]
    assert frame["age_end"].isna().sum() == 4 * 2 * (2040 - 2019 + 1)  # the open group 100+


def test_refugees_scenario_adds_exactly_40_a_year(inputs: ProjectionInputs) -> None:
    basis = run(inputs, scenario_rates(inputs, SCEN.variant("basis"), 2035)[0], 2035)
    extra = run(inputs, scenario_rates(inputs, SCEN.variant("zuzug"), 2035)[0], 2035)
    # the scenario's flow and the Gemeinde's fading migration differential are one net flow per
    # age and sex (a negative differential takes some of the arrivals in that cell), so the 40 a
    # year show in net migration: in minus out
    e, b = extra.deterministic, basis.deterministic
    net = (e.in_migration - e.out_migration) - (b.in_migration - b.out_migration)
    assert float(net.sel(zone="15087220").sum()) == pytest.approx(40 * 10)
    arrivals = (e.in_migration - b.in_migration).sel(zone="15087220")
    assert 0 < float(arrivals.sum()) <= 40 * 10 + 1e-9
    for year in (2025, 2035):
        d = extra.deterministic.population.sel(zone="15087220", year=year).sum()
        b = basis.deterministic.population.sel(zone="15087220", year=year).sum()
        assert float(d) > float(b)
    other = extra.deterministic.population.sel(
        zone="15087370"
    ) - basis.deterministic.population.sel(zone="15087370")
    assert float(abs(other).max()) == 0.0
    assert FLOW_PROFILES["asylum_seekers"][0].sum() == pytest.approx(0.65)


def test_scenario_directions(inputs: ProjectionInputs) -> None:
    z = "15087370"
    basis = _total(inputs, "basis", z, 2035)
    assert _total(inputs, "hoch", z, 2035) > basis
    assert _total(inputs, "alt", z, 2035) > basis
    # "bleiben" (fewer young people moving away): Sangerhausen gains people on balance (net
    # migration only, no moves away of its own), so the lever acts on its Kreis's out-rates
    assert _total(inputs, "bleiben", z, 2035) > basis


def test_e0_gain_is_reached() -> None:
    from wandel.demography.lifetable import life_table_from_qx
    from wandel.demography.rates import mx_scaled

    q = np.full(101, 0.01)
    q[-1] = 0.5
    k = mortality_factors(q, 2.0)
    e0 = float(life_table_from_qx(mx_scaled(q, k)).e0)
    assert e0 == pytest.approx(float(life_table_from_qx(q).e0) + 2.0, abs=1e-6)


def test_draws_deterministic_with_seed(inputs: ProjectionInputs) -> None:
    rates = inputs.rates(2030)
    a = run(inputs, rates, 2030, draws=20, seed=7, sigmas=SIGMAS)
    b = run(inputs, rates, 2030, draws=20, seed=7, sigmas=SIGMAS)
    c = run(inputs, rates, 2030, draws=20, seed=8, sigmas=SIGMAS)
    assert a.quantiles is not None
    assert b.quantiles is not None
    assert c.quantiles is not None
    np.testing.assert_array_equal(a.quantiles.values, b.quantiles.values)
    assert not np.array_equal(a.quantiles.values, c.quantiles.values)
    fa = to_long(a)
    assert (fa["q10"] <= fa["q50"] + 1e-9).all()
    assert (fa["q50"] <= fa["q90"] + 1e-9).all()


def test_dask_local_cluster_equals_in_process(inputs: ProjectionInputs) -> None:
    from dask.distributed import Client, LocalCluster

    from wandel.demography.engine.distributed import dask_map

    rates = inputs.rates(2027)
    local = run(inputs, rates, 2027, draws=6, seed=3, sigmas=SIGMAS, chunk_size=2)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1") as cl,
        Client(cl) as client,
    ):
        remote = run(
            inputs,
            rates,
            2027,
            draws=6,
            seed=3,
            sigmas=SIGMAS,
            chunk_size=2,
            mapper=dask_map(client),
        )
    assert local.quantiles is not None
    assert remote.quantiles is not None
    np.testing.assert_array_equal(local.quantiles.values, remote.quantiles.values)


def test_kreis_control_makes_gemeinden_add_up(tables: StoreTables) -> None:
    from wandel.demography.model import select_zones
    from wandel.workflow.projection import kreis_control

    zones = select_zones(tables, ["15087"], "gemeinde", 2024).zones
    inp = build_inputs(tables, zones, 2024)
    first = run(inp, inp.rates(2030), 2030)
    ctl = kreis_control(tables, first, 2024, 2030)
    res = run(inp, inp.rates(2030), 2030, control=ctl)
    gem = res.deterministic.population.sum(("zone", "age")).isel(draw=0).sel(year=2030)
    np.testing.assert_allclose(gem.values, ctl.totals.sel(parent="15087", year=2030).values)


def test_calibrated_sigmas_use_additive_net_migration(inputs: ProjectionInputs) -> None:
    from wandel.workflow.projection import calibrated_spec, load_sigmas

    sig = load_sigmas()
    for cls in ("<5k", "5-20k", "20-100k", ">100k"):
        s = sig[cls]
        assert s["in_migration"] == 0.0
        assert s["out_migration"] == 0.0
        assert 0.003 < s["net_migration"] < 0.05  # per year, from the backtests
        assert 0.0 <= s["net_migration_ar"] <= 1.0  # AR(1) persistence fitted by horizon
        spec = calibrated_spec(cls, 10, 1)
        assert spec.sigma_net_migration == s["net_migration"]
        assert spec.ar_net_migration == s["net_migration_ar"]
    # the band is roughly symmetric around the deterministic path on the log scale
    res = run(inputs, inputs.rates(2040), 2040, draws=200, seed=3)
    assert res.quantiles is not None
    tot = res.quantiles.sum(("sex", "age")).sel(year=2040)
    det = res.deterministic.population.sum(("sex", "age")).sel(year=2040).isel(draw=0)
    lo = np.log(det / tot.sel(quantile=0.1))
    hi = np.log(tot.sel(quantile=0.9) / det)
    assert bool((lo > 0).all())
    assert bool((hi > 0).all())
    np.testing.assert_allclose(hi.values, lo.values, rtol=0.5)


def test_pyramid_draws_age_groups_as_per_year_blocks() -> None:
    import pandas as pd

    from wandel.reports.charts import pyramid

    rows: list[tuple[int, int | None, float]] = [(a, a + 1, 100.0) for a in range(75)]
    rows += [(75, 80, 500.0), (80, 85, 250.0), (85, 90, 100.0), (90, None, 55.0)]
    frame = pd.DataFrame(
        [
            {"zone": "z", "year": y, "sex": s, "age_start": a, "age_end": e, "value": v}
            for y in (2019, 2040)
            for s in ("m", "f")
            for a, e, v in rows
        ]
    )
    fig = pyramid(frame, "z", (2019, 2040), "t")
    ax = fig.axes[0]
    from matplotlib.patches import Rectangle

    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    bars = [p for p in rects if p.get_height() > 0 and p.get_width() > 0]  # women
    by_age = {round(p.get_y()): (p.get_height(), p.get_width()) for p in bars}
    assert by_age[75] == pytest.approx((5.0, 100.0))  # 500 people over 5 years: 100 per year
    assert by_age[80] == pytest.approx((5.0, 50.0))
    assert by_age[90] == pytest.approx((11.0, 5.0))  # open group 90+ drawn over 90..100
    assert max(w for _, w in by_age.values()) == pytest.approx(100.0)  # no spike
    assert "Personen je Altersjahr" in ax.get_xlabel()


def test_a_gemeinde_is_projected_the_same_alone_and_with_its_kreis(
    tables: StoreTables, inputs: ProjectionInputs
) -> None:
    """The Kreis rate, the shrinkage's variances and the benchmark of the migration
    differentials are estimated over every Gemeinde with totals, not over the ones asked for: a
    town projected alone (the web's town pages) gets the numbers it gets with its neighbours (the
    Kommunalprofil, ``wandel project``), to the last digit, draws included."""
    alone = build_inputs(tables, ["15087275"], 2024)
    assert alone.differential["15087275"] == inputs.differential["15087275"]
    a = run(alone, alone.rates(2035), 2035, draws=8, seed=3, sigmas=SIGMAS)
    b = run(inputs, inputs.rates(2035), 2035, draws=8, seed=3, sigmas=SIGMAS)
    for part in ("population", "births", "deaths", "in_migration", "out_migration"):
        x = getattr(a.deterministic, part).sel(zone="15087275")
        y = getattr(b.deterministic, part).sel(zone="15087275")
        np.testing.assert_array_equal(x.values, y.values)
    qa, qb = a.quantiles, b.quantiles
    assert qa is not None
    assert qb is not None
    np.testing.assert_array_equal(qa.sel(zone="15087275").values, qb.sel(zone="15087275").values)
    # the small Gemeinde's own trend is shrunk toward its Kreis and fades: a differential (alone,
    # it used to migrate at its own unshrunk rate, with no differential)
    assert 0 < abs(alone.differential["15087275"]) < 50


def _scenario_run(inputs: ProjectionInputs, variant: str | None, until: int = 2035) -> Projection:
    scenario = None if variant is None else SCEN.variant(variant)
    return run(inputs, scenario_rates(inputs, scenario, until)[0], until).deterministic


def test_young_people_staying_where_migration_is_a_positive_net(
    tables: StoreTables, inputs: ProjectionInputs
) -> None:
    """A town known only by a positive net migration has no moves away of its own; "bleiben"
    (half the 18- to 24-year-olds moving away stay) keeps ``(1 - f) r_K P_base`` of them a year,
    ``r_K`` its Kreis's out-rates: exactly the rates the Kreis gets projected on its own."""
    z, f = "15087370", 0.5
    assert inputs.migration.method[z] == "net"
    assert inputs.migration.net_per_year[z] > 0
    assert float(abs(inputs.migration.out_rate.sel(zone=z)).max()) == 0.0
    stay = inputs.migration.stay
    assert stay is not None
    assert (stay.source[z], stay.parent[z], stay.years[z]) == ("kreis", "15087", (2020, 2023, 2024))
    kreis = build_inputs(tables, ["15087"], 2024)
    assert kreis.migration.method["15087"] == "gross"
    r_k = kreis.migration.out_rate.sel(zone="15087")
    young = slice(18, 24)
    # the Kreis's rates times its population give the published out-movers of 18-24 (mean of years)
    mig = tables.migration
    rows = mig[(mig["zone"] == "15087") & (mig["direction"] == "out") & (mig["age_start"] == 18)]
    for sex in ("m", "f"):
        published = float(rows[rows["sex"] == sex]["value"].mean())
        p_k = kreis.base.population.sel(zone="15087", sex=sex, age=young)
        assert float((r_k.sel(sex=sex, age=young) * p_k).sum()) == pytest.approx(published, 1e-9)
    p_base = inputs.base.population.sel(zone=z, age=young)
    expected = (1 - f) * float((r_k.sel(age=young) * p_base).sum())
    assert expected > 10  # people a year
    basis, lever = _scenario_run(inputs, "basis"), _scenario_run(inputs, "bleiben")
    first = inputs.start_year + 1
    at = {"zone": z, "year": first}
    gain = float(lever.population.sel(at).sum()) - float(basis.population.sel(at).sum())
    assert gain == pytest.approx(expected, abs=1e-6)
    # net migration rises by the stayers every year; the population at 2035 is higher
    net = (lever.in_migration - lever.out_migration) - (basis.in_migration - basis.out_migration)
    np.testing.assert_allclose(net.sel(zone=z).sum("sex").values.ravel(), expected, atol=1e-6)
    for year in (2025, 2035):
        assert float(lever.population.sel(zone=z, year=year).sum()) > float(
            basis.population.sel(zone=z, year=year).sum()
        )
    # the balancing equation and no negative population with the lever on
    assert float(abs(lever.balance_residual()).max()) < 1e-6
    assert float(lever.population.min()) >= 0
    _, notes = scenario_rates(inputs, SCEN.variant("bleiben"), 2035)
    assert [n.split()[0] for n in notes] == ["@demography.note.stay_kreis"]
    for lang in ("de", "en"):
        assert "15087370" in _note_text(notes[0], lang)


def _note_text(note: str, lang: str) -> str:
    """A ``"@key {json}"`` note in ``lang``."""
    import json

    from wandel.i18n import tr

    key, _, packed = note[1:].partition(" ")
    return tr(key, lang, **(json.loads(packed) if packed else {}))


def test_no_scenario_leaves_the_basis_untouched(inputs: ProjectionInputs) -> None:
    """The lever's estimate of moves away enters only a scenario that lowers out-migration: the
    rates and results without a scenario, with the empty scenario, or with the estimate removed
    from the inputs are the same to the last bit."""
    from dataclasses import replace

    bare = replace(inputs, migration=replace(inputs.migration, stay=None))
    for a, b in ((inputs.rates(2035), bare.rates(2035)),):
        for part in ("sx", "birth_survival", "asfr", "out_rate", "in_count", "extra"):
            x, y = getattr(a, part), getattr(b, part)
            np.testing.assert_array_equal(x.values, y.values)
    ref = _scenario_run(bare, None)
    for res in (_scenario_run(inputs, None), _scenario_run(inputs, "basis")):
        for part in ("population", "births", "deaths", "in_migration", "out_migration"):
            np.testing.assert_array_equal(getattr(res, part).values, getattr(ref, part).values)
    assert scenario_rates(inputs, SCEN.variant("basis"), 2035)[1] == ()


def test_young_people_staying_without_data_up_to_the_base_year(tables: StoreTables) -> None:
    """Migration rows only after the base year (here: the demo table moved 10 years on) are not
    used: the lever has no effect on a town with a positive net, and says so in both languages."""
    from dataclasses import replace

    mig = tables.migration.assign(year=tables.migration["year"].astype(int) + 10)
    later = replace(tables, migration=mig)
    inp = build_inputs(later, ["15087370"], 2024)
    assert inp.migration.stay is not None
    assert inp.migration.stay.source["15087370"] == "none"
    basis, lever = _scenario_run(inp, "basis"), _scenario_run(inp, "bleiben")
    np.testing.assert_array_equal(lever.population.values, basis.population.values)
    _, notes = scenario_rates(inp, SCEN.variant("bleiben"), 2035)
    assert [n.split()[0] for n in notes] == ["@demography.note.stay_none"]
    for lang, words in (("de", "ändern hier nichts"), ("en", "change nothing here")):
        text = _note_text(notes[0], lang)
        assert words in text
        assert "15087370" in text
        assert "2024" in text


def test_young_people_staying_from_the_land_where_the_kreis_has_no_rows(
    tables: StoreTables,
) -> None:
    """Without rows of its Kreis, a town's moves away are estimated from its Land's rows
    (Sachsen-Anhalt 2020: out-movers over the population of its Kreise)."""
    from dataclasses import replace

    mig = tables.migration[tables.migration["zone"] != "15087"]
    inp = build_inputs(replace(tables, migration=mig), ["15087370"], 2024)
    stay = inp.migration.stay
    assert stay is not None
    assert (stay.source["15087370"], stay.parent["15087370"]) == ("land", "15")
    assert stay.years["15087370"] == (2020,)
    basis, lever = _scenario_run(inp, "basis"), _scenario_run(inp, "bleiben")
    first = inp.start_year + 1
    kept = 0.5 * float(
        (
            stay.out_rate.sel(zone="15087370", age=slice(18, 24))
            * inp.base.population.sel(zone="15087370", age=slice(18, 24))
        ).sum()
    )
    gain = lever.population.sel(year=first).sum() - basis.population.sel(year=first).sum()
    assert kept > 10
    assert float(gain) == pytest.approx(kept, abs=1e-6)
    assert float(abs(lever.balance_residual()).max()) < 1e-6
    _, notes = scenario_rates(inp, SCEN.variant("bleiben"), 2035)
    assert [n.split()[0] for n in notes] == ["@demography.note.stay_land"]


def test_migration_level_and_moves_in_where_migration_is_a_positive_net(
    inputs: ProjectionInputs,
) -> None:
    """A town with a positive net ``N`` moves in ``N + O`` (``O`` its Kreis-rate moves away): a
    common level ``L`` on both scales the net alone (``L N``, no flow of moves away), more moves
    in at 18-24 (``m_in = 1.5``) add ``(m_in - 1) O`` besides ``m_in N``."""
    z = "15087370"
    stay = inputs.migration.stay
    assert stay is not None
    rates, notes = scenario_rates(inputs, SCEN.variant("stark"), 2035)
    assert notes == ()
    base = inputs.rates(2035)
    np.testing.assert_array_equal(rates.in_count.values, 1.3 * base.in_count.values)
    assert rates.extra is not None
    assert base.extra is not None
    np.testing.assert_array_equal(rates.extra.values, base.extra.values)
    young = slice(18, 24)
    moves_away = float(
        (stay.out_rate.sel(zone=z, age=young) * inputs.base.population.sel(zone=z, age=young)).sum()
    )
    basis, more = _scenario_run(inputs, "basis"), _scenario_run(inputs, "anziehen")
    first = inputs.start_year + 1
    in_young = float(base.in_count.sel(zone=z, age=young).sum())
    gain = float(more.population.sel(zone=z, year=first).sum()) - float(
        basis.population.sel(zone=z, year=first).sum()
    )
    assert gain == pytest.approx(0.5 * in_young + 0.5 * moves_away, abs=1e-6)

"""Rates from the store: honesty, shrinkage, published anchors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _projection_store import demo_tables
from wandel.demography import rates as R
from wandel.i18n import note_text
from wandel.workflow.projection import StoreTables, build_inputs


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> StoreTables:
    return demo_tables(tmp_path_factory)


def _later_noise(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """Copies of the rows of the latest year, moved after ``year`` with absurd values."""
    late = frame[frame["year"] == frame["year"].max()].copy()
    late["year"] = year + 1
    late["value"] = late["value"] * 7.0
    return pd.concat([frame[frame["year"] <= year], late], ignore_index=True)


def test_german_schedule_tfr_equals_published_tfr(tables: StoreTables) -> None:
    f = tables.fertility
    for year in (2015, 2023):
        y, asfr = R.german_asfr(f, year)
        tfr = f[(f["zone"] == "DG") & (f["measure"] == "tfr") & (f["year"] == year)]["value"]
        assert y == year
        assert abs(asfr.sum() - tfr.mean()) < 0.005  # 12612-0009 rounds to 3 decimals


def test_life_table_period_dated_by_last_year(tables: StoreTables) -> None:
    assert R.german_qx(tables.life_tables, 2015)[0] == "2013/15"
    assert R.german_qx(tables.life_tables, 2016)[0] == "2014/16"
    assert R.period_end_year("1999/01") == 2001


def test_srb_in_published_range(tables: StoreTables) -> None:
    srb, years = R.estimate_srb(tables.births, 2015)
    assert 1.05 < srb < 1.06
    assert max(years) == 2015
    assert len(years) == 10


def test_shrinkage_pulls_small_zones_more() -> None:
    obs = np.array([15.0, 1500.0, 100.0, 900.0])
    exp = np.array([10.0, 1000.0, 100.0, 1000.0])
    prior = np.ones(4)
    f, w, _b = R.shrink_poisson_gamma(obs, exp, prior)
    assert w[0] < w[1]
    # same raw factor 1.5: the small zone ends closer to the prior
    assert abs(f[0] - 1) < abs(f[1] - 1)
    assert np.all((f >= np.minimum(obs / exp, prior) - 1e-12) & (f <= np.maximum(obs / exp, prior)))


def test_fertility_and_mortality_factors_carry_years(tables: StoreTables) -> None:
    inp = build_inputs(tables, ["15087", "14612"], 2022)
    assert inp.fertility.factors.years == (2020, 2021, 2022)
    assert inp.mortality.years[0] == 2022  # life table 2020/22
    fr = inp.fertility.factors.frame()
    assert (fr["weight"] > 0).all()
    assert (fr["weight"] < 1).all()
    # deaths in the demo region lie above the German level (known East German excess)
    assert float(np.median(inp.mortality.factors.factor)) > 1.0


def test_honesty_later_rows_never_change_rates(tables: StoreTables) -> None:
    base = 2021
    a = build_inputs(tables, ["15087", "16073"], base)
    noisy = StoreTables(
        population=tables.population,
        fertility=_later_noise(tables.fertility, base),
        births=_later_noise(tables.births, base),
        deaths=_later_noise(tables.deaths, base),
        life_tables=tables.life_tables,
        migration=_later_noise(tables.migration, base),
        gv_records=tables.gv_records,
        zone_changes=tables.zone_changes,
    )
    b = build_inputs(noisy, ["15087", "16073"], base)
    for x, y in [
        (a.fertility.asfr, b.fertility.asfr),
        (a.mortality.sx, b.mortality.sx),
        (a.migration.out_rate, b.migration.out_rate),
        (a.migration.in_count, b.migration.in_count),
    ]:
        np.testing.assert_array_equal(x.values, y.values)
    assert a.srb == b.srb


def test_gemeinde_base_flags_estimated_and_later_structure(tables: StoreTables) -> None:
    zones = ["15087220", "15087370"]
    inp = build_inputs(tables, zones, 2013)
    assert inp.base.estimated == tuple(zones)
    assert inp.base.later_structure == tuple(zones)  # first Kreis structure is 2015
    assert any("later year" in note_text(n, "en") for n in inp.notes())
    assert any("späteren Jahr" in note_text(n, "de") for n in inp.notes())
    # totals are kept exactly
    g = tables.population
    tot = g[(g["zone"] == "15087370") & (g["year"] == 2013) & g["sex"].isin(["m", "f"])]
    assert float(inp.base.population.sel(zone="15087370").sum()) == pytest.approx(
        float(tot["value"].sum())
    )
    inp19 = build_inputs(tables, zones, 2019)
    assert inp19.base.structure_year == 2017
    assert inp19.base.later_structure == ()


def test_rogers_castro_profile_and_net_migration() -> None:
    p = R.rogers_castro()
    assert p.sum() == pytest.approx(1.0)
    assert 18 <= int(np.argmax(p[10:])) + 10 <= 26
    net, span = R.net_migration(
        pd.DataFrame({"zone": ["a", "a"], "year": [2013, 2017], "value": [100.0, 80.0]}),
        {"a": -1.0},
        2017,
    )
    assert net == {"a": -4.0}
    assert span == {"a": (2013, 2017)}


# ---------------------------------------------------------------------------------------------
# census breaks in net migration from totals
# ---------------------------------------------------------------------------------------------


def test_census_dates_and_crossing() -> None:
    assert [d.isoformat() for d in R.CENSUS_DATES] == ["2011-05-09", "2022-05-15"]
    assert R.crosses_census(2010, 2011)  # 31.12.2010 old basis, 31.12.2011 Zensus basis
    assert R.crosses_census(2009, 2013)
    assert R.crosses_census(2021, 2022)
    assert not R.crosses_census(2011, 2012)
    assert not R.crosses_census(2013, 2021)
    assert not R.crosses_census(2022, 2024)


def test_net_migration_never_spans_a_census() -> None:
    t = pd.DataFrame(
        {
            "zone": ["a"] * 4 + ["b"] * 2 + ["c"],
            "year": [2008, 2009, 2013, 2014, 2009, 2013, 2013],
            "value": [1100.0, 1000.0, 700.0, 690.0, 1000.0, 700.0, 500.0],
        }
    )
    net, span = R.net_migration(t, {"a": -2.0, "b": -2.0}, 2013)
    # a: 2009 -> 2013 crosses Zensus 2011 (a revision, not migration): the earlier clean pair
    assert span == {"a": (2008, 2009)}
    assert net["a"] == pytest.approx(-100.0 + 2.0)
    # with 2014 the latest pair is clean again
    net14, span14 = R.net_migration(t, {"a": -2.0}, 2014)
    assert span14["a"] == (2013, 2014)
    assert net14["a"] == pytest.approx(-10.0 + 2.0)
    assert "b" not in net14  # only a crossing pair: left out


def test_kreis_rate_fallback_and_zero(tables: StoreTables) -> None:
    mig = pd.DataFrame(
        {
            "zone": ["15087"] * 4,
            "year": [2012, 2012, 2013, 2013],
            "sex": ["m", "f", "m", "f"],
            "age_start": [18, 18, 18, 18],
            "age_end": [25, 25, 25, 25],
            "direction": ["in", "out", "in", "out"],
            "value": [100.0, 300.0, 100.0, 300.0],
            "partner": [None] * 4,
        }
    )
    rates, years = R.kreis_net_rates(mig, {"15087": 100_000.0}, 2013)
    assert rates == {"15087": pytest.approx(-0.002)}
    assert years == {"15087": (2012, 2013)}
    assert R.kreis_net_rates(mig, {"15087": 100_000.0}, 2011) == ({}, {})
    inp = build_inputs(tables, ["15087220", "15087370"], 2013)
    # the demo store's Gemeinde totals are 2009 and 2013 (crossing Zensus 2011) and its Kreis
    # migration table starts 2020: no census-free estimate <= 2013, so migration 0
    assert set(inp.migration.method.values()) == {"none"}
    assert float(inp.migration.in_count.sum()) == 0.0
    pop = inp.base.population
    evidence = R.NetEvidence(fallback_rate={"15087220": -0.002}, fallback_years=(2012, 2013))
    m = R.estimate_migration(pop, 2013, None, evidence)
    assert m.method == {"15087220": "kreis_rate", "15087370": "none"}
    total = float(pop.sel(zone="15087220").sum())
    assert m.net_per_year["15087220"] == pytest.approx(-0.002 * total)
    moved = float((m.out_rate.sel(zone="15087220") * pop.sel(zone="15087220")).sum())
    assert moved == pytest.approx(0.002 * total, rel=1e-6)
    assert m.years == (2012, 2013)


def test_germany_shape_does_not_double_count_overlapping_groups(tables: StoreTables) -> None:
    """2020 holds single ages 75.. and the groups 75-79, 80-84 too: no spikes at 75 and 80."""
    shape = R.germany_shape(tables.population, 2020)
    assert shape is not None
    for a in (75, 80, 85):
        assert shape[a] < 1.3 * max(shape[a - 1], shape[a + 1])
    dg = tables.population
    dg = dg[(dg["zone"] == "DG") & (dg["year"] == 2020) & dg["sex"].isin(["m", "f"])]
    total = dg[(dg["age_start"] == 0) & dg["age_end"].isna()]["value"].sum()
    if total > 0:
        assert shape.sum() == pytest.approx(total, rel=1e-6)


def test_net_migration_shrinkage_pulls_small_zones_toward_their_kreis() -> None:
    """Empirical Bayes on yearly net rates: weights grow with population, the pooled Kreis rate is
    unchanged for a zone that already has it, and shrunk rates lie between own and Kreis rate."""
    from wandel.demography.rates import shrink_net_rates

    rng = np.random.default_rng(3)
    zones = [f"15087{i:03d}" for i in range(60)]
    pop = dict(zip(zones, rng.integers(200, 40_000, size=60).astype(float), strict=True))
    true = dict(zip(zones, rng.normal(-0.005, 0.004, size=60), strict=True))
    # observed = true rate + noise with variance 0.01 / (P * T) over T = 2 years
    net = {z: (true[z] + rng.normal(0, np.sqrt(0.01 / (pop[z] * 2)))) * pop[z] for z in zones}
    sh = shrink_net_rates(net, pop, dict.fromkeys(zones, (2017, 2019)))
    kreis = sum(net.values()) / sum(pop.values())
    assert sh.parent_rate["15087"] == pytest.approx(kreis)
    order = sorted(zones, key=pop.__getitem__)
    weights = [sh.weight[z] for z in order]
    assert weights == sorted(weights)  # larger zones keep more of their own rate
    for z in zones:
        own, new = net[z] / pop[z], sh.net_per_year[z] / pop[z]
        assert min(own, kreis) - 1e-15 <= new <= max(own, kreis) + 1e-15
    # the shrunk rates are closer to the truth than the raw ones (the point of borrowing strength)
    raw_err = np.mean([(net[z] / pop[z] - true[z]) ** 2 for z in zones])
    new_err = np.mean([(sh.net_per_year[z] / pop[z] - true[z]) ** 2 for z in zones])
    assert new_err < raw_err

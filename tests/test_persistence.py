"""Persistence of Gemeinde migration differentials, and totals without a sex split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _projection_store import demo_tables
from wandel.demography.rates import Persistence, migration_persistence, net_migration
from wandel.i18n import note_text
from wandel.testing import assert_balancing, assert_no_negative_population
from wandel.workflow.projection import (
    StoreTables,
    build_inputs,
    kreis_totals,
    run,
    year_end_totals,
)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> StoreTables:
    return demo_tables(tmp_path_factory)


def _panel(
    persistent_sd: float, transitory_sd: float, n: int = 3000, seed: int = 5
) -> pd.DataFrame:
    """Totals of ``n`` large Gemeinden in 30 Kreise over 2009, 2013, 2017: yearly growth =
    persistent differential + a new transitory one each period (no sampling noise to speak of)."""
    rng = np.random.default_rng(seed)
    zones = [f"150{k % 30:02d}{k:03d}" for k in range(n)]
    u = rng.normal(0.0, persistent_sd, n)
    rows = []
    pop = np.full(n, 200_000.0)
    for y in (2009, 2013, 2017):
        rows += [{"zone": z, "year": y, "value": float(v)} for z, v in zip(zones, pop, strict=True)]
        pop = pop * (1.0 + 4.0 * (u + rng.normal(0.0, transitory_sd, n)))
    return pd.DataFrame(rows)


def test_persistence_is_the_share_of_persistent_variance() -> None:
    # equal persistent and transitory variance: the regression slope is 1/2 (naive oracle:
    # Var(u) / (Var(u) + Var(e)))
    est = migration_persistence(_panel(0.004, 0.004), 2017)
    assert est.periods == (2009, 2013, 2017)
    assert est.period_length == 4
    assert est.rho == pytest.approx(0.5, abs=0.06)
    # only persistent differentials: rho near 1; only transitory ones: near 0
    assert migration_persistence(_panel(0.004, 0.0), 2017).rho > 0.95
    assert migration_persistence(_panel(0.0, 0.004), 2017).rho < 0.06


def test_persistence_needs_three_years_and_a_clean_last_period() -> None:
    p = _panel(0.004, 0.0)
    assert migration_persistence(p, 2013).rho == 0.0  # two years only
    # 2013..2017 moved across the 2022 census date: the last period is not census-free
    q = p.assign(year=p["year"].replace({2009: 2015, 2013: 2019, 2017: 2023}))
    est = migration_persistence(q, 2023)
    assert est.rho == 0.0
    assert est.periods == ()
    assert "census" in note_text(est.note, "en")
    assert "Zensus" in note_text(est.note, "de")
    # a first period across a census is allowed, and said
    r = p.assign(year=p["year"].replace({2009: 2010, 2013: 2014, 2017: 2018}))
    assert "census" in note_text(migration_persistence(r, 2018).note, "en")


def test_factor_fades_by_period() -> None:
    pers = Persistence(0.4, (2013, 2017, 2021), 4, 100, "")
    f = [pers.factor(j) for j in range(1, 10)]
    assert f == pytest.approx([0.4] * 4 + [0.16] * 4 + [0.064])
    assert Persistence(0.0, (), 0, 0, "").factor(3) == 0.0


def test_net_migration_takes_a_five_year_span_of_a_yearly_series() -> None:
    years = list(range(2008, 2020))
    t = pd.DataFrame(
        {"zone": "1", "year": years, "value": [1000.0 + 7 * (y - 2008) for y in years]}
    )
    net, span = net_migration(t, {"1": -2.0}, 2019)
    assert span["1"] == (2014, 2019)
    assert net["1"] == pytest.approx(9.0)
    # base 2012: the span may not reach back across the census of May 2011
    _, span12 = net_migration(t, {"1": 0.0}, 2012)
    assert span12["1"] == (2011, 2012)


def test_year_end_totals_never_count_a_zone_twice() -> None:
    p = pd.DataFrame(
        {
            "zone": ["14612000"] * 3 + ["14612000"] + ["14625020"] * 2,
            "year": [2019, 2019, 2019, 2020, 2019, 2020],
            "sex": ["m", "f", "t", "t", "t", "t"],
            "age_start": 0,
            "age_end": pd.array([pd.NA] * 6, dtype="Int64"),
            "value": [270.0, 286.0, 556.0, 557.0, 40.0, 41.0],
            "estimated": False,
        }
    )
    t = year_end_totals(p, 8)
    by = t.groupby(["zone", "year"])["value"].sum()
    assert by[("14612000", 2019)] == 556.0
    assert by[("14612000", 2020)] == 557.0
    # a Kreis gets a sum of Gemeinden only from split totals, or from its kreisfreie Stadt alone
    only = StoreTables(p, *[pd.DataFrame()] * 7)
    k = kreis_totals(only, 2020).set_index(["zone", "year"])["value"]
    assert k[("14612", 2020)] == 557.0
    # one village's unsplit total is not its Kreis's
    assert ("14625", 2019) not in k.index
    assert ("14625", 2020) not in k.index


def test_gemeinden_fade_toward_their_kreis(tables: StoreTables) -> None:
    zones = sorted(
        z
        for z in tables.population.loc[tables.population["year"] == 2019, "zone"].unique()
        if len(z) == 8 and z.startswith("15087")
    )
    inp = build_inputs(tables, zones, 2019)
    assert inp.persistence is not None
    assert 0.0 < inp.persistence.rho < 1.0
    assert inp.persistence.n > 1000  # estimated over every Gemeinde of the store, not the 22
    assert inp.persistence.periods == (2013, 2017, 2019)
    # the differentials of a Kreis add up to about zero (Kreis's pooled rate = weighted mean)
    assert abs(sum(inp.differential.values())) < 1e-6 * 130_000
    flows = inp.differential_flows(2030)
    assert flows is not None
    per_zone_year = flows.sum(("sex", "age"))
    z = max(inp.differential, key=lambda k: abs(inp.differential[k]))
    for j, y in enumerate(range(2020, 2031), start=1):
        want = inp.differential[z] * inp.persistence.factor(j)
        assert float(per_zone_year.sel(zone=z, year=y)) == pytest.approx(want, rel=1e-12)
    with pytest.raises(Exception, match="until"):
        inp.rates()
    res = run(inp, inp.rates(2030), 2030)
    assert_no_negative_population(res.deterministic)
    assert_balancing(res.deterministic)
    # directional: with persistence the growing Gemeinde ends between "follows its Kreis" and
    # "keeps its own trend"
    from dataclasses import replace

    keep = replace(inp, persistence=replace(inp.persistence, rho=1.0))
    none = replace(inp, persistence=replace(inp.persistence, rho=0.0))
    up = max(inp.differential, key=lambda k: inp.differential[k])

    def total(i: object) -> float:
        r = run(i, i.rates(2030), 2030)  # type: ignore[attr-defined]
        return float(r.deterministic.population.sel(zone=up, year=2030).sum())

    assert total(none) < total(inp) < total(keep)

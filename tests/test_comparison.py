"""Wandel beside a city's own projection (Dresden) and beside the totals observed later."""

from __future__ import annotations

import pandas as pd
import pytest

from _projection_store import demo_db
from wandel.ages import bands_from_breaks, sum_age_groups
from wandel.demography.comparison import compare_projections, observed_check
from wandel.errors import WandelError
from wandel.store import Store
from wandel.workflow.demo import DEMO_BREAKS, compare_demo
from wandel.workflow.projection import (
    build_inputs,
    load_tables,
    run,
    to_long,
    year_end_totals,
)

DRESDEN = "14612000"


@pytest.fixture(scope="module")
def dresden(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    with Store.open(demo_db(tmp_path_factory), read_only=True) as store:
        tables = load_tables(store)
        official = store.table("official_projection")
    inp = build_inputs(tables, [DRESDEN], 2019)
    res = run(inp, inp.rates(2040), 2040, draws=50, seed=1, age_breaks=DEMO_BREAKS)
    return {
        "tables": tables,
        "official": official[official["zone"] == DRESDEN],
        "inputs": inp,
        "long": to_long(res),
    }


def test_the_city_projection_is_in_the_demo_store(dresden: dict[str, object]) -> None:
    off = dresden["official"]
    assert isinstance(off, pd.DataFrame)
    by_year = off.groupby("year")["value"].sum()
    assert by_year[2025] == 571_476  # the city's base year, unrounded
    assert by_year[2040] == 587_870
    assert set(off["variant"]) == {"kommunal"}


def test_dresden_net_migration_comes_from_its_yearly_series(dresden: dict[str, object]) -> None:
    inp = dresden["inputs"]
    tables = dresden["tables"]
    # 31.12.2014 -> 31.12.2019 (five years, no census between); natural change subtracted
    assert inp.migration.method[DRESDEN] == "net"  # type: ignore[attr-defined]
    assert 2014 in inp.migration.years  # type: ignore[attr-defined]
    t = year_end_totals(tables.population, 8)  # type: ignore[attr-defined]
    t = t[t["zone"] == DRESDEN].groupby("year")["value"].sum()
    assert t[2014] == 536_308
    assert t[2019] == 556_780  # m + f of the Gemeindeverzeichnis, not twice with the city's total
    growth = (t[2019] - t[2014]) / 5
    net = inp.migration.net_per_year[DRESDEN]  # type: ignore[attr-defined]
    assert growth < net < growth + 2_000  # Dresden had about as many deaths as births


def test_comparison_by_age_group_and_total(dresden: dict[str, object]) -> None:
    long = dresden["long"]
    off = dresden["official"]
    cmp = compare_projections(long, off, DEMO_BREAKS)  # type: ignore[arg-type]
    assert sorted(cmp["year"].unique()) == list(range(2025, 2041))
    tot = cmp[cmp["total"]].set_index("year")
    assert tot.loc[2040, "other"] == 587_870
    # the groups add up to the totals on both sides
    parts = cmp[~cmp["total"]].groupby("year")[["wandel", "other"]].sum()
    pd.testing.assert_series_equal(parts["other"], tot["other"], check_names=False)
    assert parts["wandel"].to_numpy() == pytest.approx(tot["wandel"].to_numpy(), rel=1e-12)
    # a naive oracle for one cell: the city's 65-79 in 2030 summed by hand
    o = off[(off["year"] == 2030) & (off["age_start"] >= 65) & (off["age_start"] < 80)]  # type: ignore[index]
    row = cmp[(cmp["year"] == 2030) & (cmp["age_start"] == 65) & ~cmp["total"]].iloc[0]
    assert row["other"] == o["value"].sum()
    assert row["diff"] == pytest.approx(row["other"] - row["wandel"])
    assert row["inside80"] == (row["q10"] <= row["other"] <= row["q90"])


def test_groups_that_do_not_fit_are_refused() -> None:
    f = pd.DataFrame(
        {
            "year": 2030,
            "age_start": [0, 5],
            "age_end": pd.array([5, None], dtype="Int64"),
            "value": [1.0, 2.0],
        }
    )
    with pytest.raises(WandelError, match="age group 0-2 cuts through the age group 0-4"):
        sum_age_groups(f, bands_from_breaks([0, 3]), ["value"], by=["year"])
    with pytest.raises(WandelError, match="cuts through"):
        compare_projections(f.assign(sex="t"), f, [0, 3])


def test_observed_check_against_the_official_series(dresden: dict[str, object]) -> None:
    long = dresden["long"]
    tot = long.groupby("year", as_index=False)[["value", "q10", "q90"]].sum()  # type: ignore[attr-defined]
    obs = year_end_totals(dresden["tables"].population, 8)  # type: ignore[attr-defined]
    obs = obs[obs["zone"] == DRESDEN]
    chk = observed_check(tot, obs, 2019)
    assert list(chk["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert chk.set_index("year").loc[2025, "observed"] == 562_764
    row = chk.iloc[-1]
    assert row["ape"] == pytest.approx(100 * abs(row["projected"] - 562_764) / 562_764)


def test_demo_writes_the_comparison(dresden: dict[str, object], tmp_path) -> None:  # type: ignore[no-untyped-def]
    long = dresden["long"].assign(zone=DRESDEN)  # type: ignore[attr-defined]
    obs = year_end_totals(dresden["tables"].population, 8)  # type: ignore[attr-defined]
    files = compare_demo(long, dresden["official"], obs, 2019, tmp_path)  # type: ignore[arg-type]
    names = sorted(f.name for f in files)
    assert names == [
        "vergleich_14612000.png",
        "vergleich_14612000_beobachtet.csv",
        "vergleich_14612000_eigene_prognose.csv",
    ]
    csv = pd.read_csv(tmp_path / "vergleich_14612000_eigene_prognose.csv")
    assert set(csv["variante"]) == {"kommunal"}
    assert (tmp_path / "vergleich_14612000.png").stat().st_size > 10_000

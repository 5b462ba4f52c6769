"""Backtest metrics against hand-computed numbers; the Kreis backtest on the demo store."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from _projection_store import demo_db, demo_tables
from wandel.demography.backtest import (
    BacktestCase,
    DrawSettings,
    age_share_mae,
    ape,
    error_metrics,
    hamilton_perry,
    kreis_bases,
    mape_r,
    run_backtests,
    run_case,
)
from wandel.demography.baselines import BASELINES
from wandel.demography.data import kreis_totals


def test_metrics_by_hand() -> None:
    m = error_metrics([110.0, 95.0, 100.0, 130.0], [100.0, 100.0, 100.0, 100.0])
    # APEs 10, 5, 0, 30
    assert m["mape"] == pytest.approx(11.25)
    assert m["medape"] == pytest.approx(7.5)
    assert m["within5"] == pytest.approx(50.0)
    assert m["within10"] == pytest.approx(75.0)
    assert ape([50.0], [40.0])[0] == pytest.approx(25.0)
    assert age_share_mae(np.array([[30.0, 70.0]]), np.array([[50.0, 50.0]])) == pytest.approx(20.0)


def test_mape_r_symmetric_equals_mape_and_skewed_is_smaller() -> None:
    assert mape_r([2.0, 4.0, 6.0]) == pytest.approx(4.0)
    skewed = [1.0, 1.2, 1.5, 2.0, 2.2, 3.0, 40.0]
    assert mape_r(skewed) < np.mean(skewed)
    assert mape_r(skewed) > np.median(skewed) * 0.5


def test_hamilton_perry_stationary() -> None:
    p = np.full(101, 10.0)
    out = hamilton_perry(p, p, 1, 3)
    assert out[1:].sum() == pytest.approx(p[1:].sum())


def test_kreis_backtest_rolling_origins(tmp_path_factory: pytest.TempPathFactory) -> None:
    tables = demo_tables(tmp_path_factory)
    assert kreis_bases(tables) == [2015, 2016, 2017]
    res = run_backtests(tables, levels=("kreis",), draws=0)
    m = res.metrics
    hs = m.groupby("base_year")["horizon"].unique().map(sorted).to_dict()
    # observed: 2016, 2017 (12411-0018), 2019 (GV sums), 2020 (12411-04-02-4)
    assert hs == {2015: [1, 2, 4, 5], 2016: [1, 3, 4], 2017: [2, 3]}
    assert set(m["method"]) == {"wandel", *BASELINES}
    # Hamilton-Perry needs two structures: none before 2016
    assert set(m.loc[m["method"] == "hamilton_perry", "base_year"]) == {2016, 2017}
    allz = m[(m["size_class"] == "all") & (m["method"] == "constant")]
    assert (allz["n"] == 50).all()
    # the constant projection's error grows with the horizon from each origin
    for _, g in allz.groupby("base_year"):
        assert g.sort_values("horizon")["mape"].is_monotonic_increasing
    assert not res.age_errors.empty
    types = res.errors.drop_duplicates("zone").set_index("zone")["kreis_type"]
    assert types["14612"] == "kreisfrei"
    assert types["15081"] == "LK <150/km2"  # Altmarkkreis Salzwedel, 38 per km2
    assert types["14524"] == "LK >=150/km2"  # Zwickau, 345 per km2
    # every pooled row names a winner among the methods it compares
    w = res.winners
    assert set(w["winner"]) <= {"wandel", *BASELINES}
    assert (w["best_baseline"] != "wandel").all()
    # from the origins with a latest yearly interval (2016, 2017), Wandel must beat the straight
    # line and the constant population per Kreis and year, by more than two standard errors of
    # the paired gain (measured on the demo's 50 Kreise: about 0.17 and 0.73 points of APE)
    e = res.errors[res.errors["base_year"] >= 2016]
    ape_w = e.pivot_table(index=["zone", "base_year", "year"], columns="method", values="ape")
    for baseline in ("linear", "constant"):
        d = ape_w[baseline] - ape_w["wandel"]
        assert d.mean() > 2 * d.std() / np.sqrt(len(d)) > 0


def test_backtest_deterministic(tmp_path_factory: pytest.TempPathFactory) -> None:
    tables = demo_tables(tmp_path_factory)
    kt = kreis_totals(tables, 9999)
    zones = ("14612", "15087", "16051")
    obs = kt[kt["zone"].isin(zones) & kt["year"].isin([2017, 2019])]
    case = BacktestCase("kreis", zones, 2016, obs, kt)
    a, _, _ = run_case(tables, case, DrawSettings(draws=8, seed=3))
    b, _, _ = run_case(tables, case, DrawSettings(draws=8, seed=3))
    pd.testing.assert_frame_equal(a, b)
    w = a[a["method"] == "wandel"]
    # intervals nest: 50 % inside 80 % inside 95 %
    assert (w["q025"] <= w["q10"]).all()
    assert (w["q10"] <= w["q25"]).all()
    assert (w["q75"] <= w["q90"]).all()
    assert (w["q90"] <= w["q975"]).all()


def test_kreis_backtest_coverage_with_calibrated_sigmas(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tables = demo_tables(tmp_path_factory)
    # the origins from which the Kreise have a latest yearly interval (the calibrated regime)
    res = run_backtests(tables, levels=("kreis",), draws=100, seed=1, min_base=2016)
    assert set(res.errors["base_year"]) == {2016, 2017}
    cov = res.coverage[res.coverage["size_class"] == "all"].set_index("horizon")
    # measured with 100 draws: 82 / 80 / 81 / 84 % at horizons 1-4 for the nominal 80 %
    assert bool(cov["obs80"].between(70.0, 90.0).all())
    # nested intervals cover more the wider they are
    assert bool((cov["obs50"] < cov["obs80"]).all())
    assert bool((cov["obs80"] <= cov["obs95"]).all())
    e = res.errors[res.errors["method"] == "wandel"]
    assert bool((e["q10"] < e["projected"]).all())
    assert bool((e["projected"] < e["q90"]).all())
    # a zero sigma set gives degenerate intervals: coverage collapses
    zero = {
        c: {"fertility": 0.0, "mortality": 0.0, "net_migration": 0.0}
        for c in ("<5k", "5-20k", "20-100k", ">100k")
    }
    res0 = run_backtests(tables, levels=("kreis",), draws=10, seed=1, sigmas=zero, min_base=2017)
    w0 = res0.coverage[res0.coverage["size_class"] == "all"]
    assert bool((w0["obs80"] < 10.0).all())


def test_gemeinde_backtest_keeps_a_city_series_apart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tables = demo_tables(tmp_path_factory)
    res = run_backtests(tables, levels=("gemeinde",), draws=0)
    e = res.errors
    gem = e[e["level"] == "gemeinde"]
    # the Gemeindeverzeichnis years only: Dresden's yearly totals make no extra horizons here
    assert sorted(gem.loc[gem["base_year"] == 2009, "horizon"].unique()) == [4, 8, 10]
    assert gem.groupby(["base_year", "horizon", "method"])["zone"].nunique().min() >= 1200
    reihe = e[e["level"] == "gemeinde-reihe"]
    assert set(reihe["zone"]) == {"14612000"}
    assert sorted(reihe.loc[reihe["base_year"] == 2009, "horizon"].unique()) == list(range(1, 17))
    obs = reihe[(reihe["base_year"] == 2017) & (reihe["year"] == 2025)]["observed"].unique()
    assert list(obs) == [562_764]  # 31.12.2025, the Statistisches Landesamt's figure
    # base 2017, paired per Gemeinde (the same 1,270 zones, the same observed totals):
    # - against the constant population Wandel must win clearly: the Kreis trend carries real
    #   information (measured: 0.40 points less APE, standard error 0.03, i.e. 13 SE);
    # - against the constant share of the Kreis it may only tie: the Gemeinde differential is
    #   shrunk toward the Kreis, so the two differ little (measured: 1.43 vs 1.45 % MAPE, a gain
    #   of 0.018 points with a standard error of 0.009). Asserting "better" would pass or fail
    #   by noise; the claim is "never significantly worse" (within 2 SE of the paired gains).
    # Bases 2009/2013 have no Gemeinde-specific migration information.
    gem17 = gem[gem["base_year"] == 2017]
    ape = gem17.pivot_table(index=["zone", "horizon"], columns="method", values="ape")
    assert len(ape) >= 1200

    def paired_gain(baseline: str) -> tuple[float, float]:
        d = ape[baseline] - ape["wandel"]
        return float(d.mean()), float(d.std() / np.sqrt(len(d)))

    gain, se = paired_gain("constant")
    assert gain > 3 * se > 0
    gain, se = paired_gain("share")
    assert gain > -2 * se


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("de", ("Jahre voraus", "Größenklasse", "Sieger", "alle", "konstant", "Hinweis")),
        ("en", ("horizon (years)", "size class", "winner", "all", "constant", "Note")),
    ],
)
def test_cli_backtest_tables_are_whole_and_in_the_users_language(
    tmp_path_factory: pytest.TempPathFactory, lang: str, words: tuple[str, ...]
) -> None:
    """Piped into a file (80 columns), no cell is cut off, and the pooled MAPE of Wandel at one
    year is the library's figure."""
    from typer.testing import CliRunner

    from wandel.cli import app

    db = demo_db(tmp_path_factory)
    runner = CliRunner(env={"WANDEL_LANG": lang, "COLUMNS": "80"})
    res = runner.invoke(app, ["backtest", "--db", str(db), "--level", "kreis", "--draws", "0"])
    assert res.exit_code == 0, res.output
    assert "…" not in res.output
    for w in words:
        assert w in res.output, w
    tables = demo_tables(tmp_path_factory)
    h = run_backtests(tables, levels=("kreis",), draws=0).horizons
    want = h[(h["horizon"] == 1) & (h["group"] == "all") & (h["method"] == "wandel")]["mape"]
    rows = [ln for ln in res.output.splitlines() if re.match(r"│\s+1 │ (alle|all)\s+│", ln)]
    # the first such row is the 2015 origin's, the last the pooled one
    assert rows[-1].split("│")[4].strip() == f"{float(want.iloc[0]):.2f}"

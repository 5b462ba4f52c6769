"""Baselines, coverage and the calibration of the error model against hand-computed numbers."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from wandel.demography.backtest_metrics import coverage_table, error_metrics, winners
from wandel.demography.baselines import constant, hamilton_perry, linear, share_of_parent
from wandel.demography.calibration import (
    ar_variance,
    fit_error_model,
    holdout_split,
    measured_sd,
    sigma_table,
)
from wandel.demography.uncertainty import load_sigmas

# three Kreise in two Länder, totals 2013 and 2015 (base), observed 2017
TOTALS = pd.DataFrame(
    {
        "zone": ["15001", "15002", "16001"] * 2,
        "year": [2013] * 3 + [2015] * 3,
        "value": [400.0, 600.0, 1000.0, 500.0, 600.0, 900.0],
    }
)
OBSERVED = {"15001": 560.0, "15002": 590.0, "16001": 850.0}


def _mape(frame: pd.DataFrame) -> float:
    f = frame[frame["year"] == 2017].set_index("zone")["projected"]
    obs = pd.Series(OBSERVED)[f.index]
    return error_metrics(f.to_numpy(), obs.to_numpy())["mape"]


def test_baselines_mape_by_hand() -> None:
    zones = ["15001", "15002", "16001"]
    # constant: 500, 600, 900 -> APE 10.714, 1.695, 5.882
    assert _mape(constant(TOTALS, zones, 2015, [2017])) == pytest.approx(
        (60 / 560 + 10 / 590 + 50 / 850) * 100 / 3
    )
    # linear: slopes +50, 0, -50 per year -> 600, 600, 800
    lin = linear(TOTALS, zones, 2015, [2017]).set_index("zone")["projected"]
    assert lin.to_dict() == {"15001": 600.0, "15002": 600.0, "16001": 800.0}
    assert _mape(linear(TOTALS, zones, 2015, [2017])) == pytest.approx(
        (40 / 560 + 10 / 590 + 50 / 850) * 100 / 3
    )
    # parents projected: Land 15 -> 1150, Land 16 -> 850
    par = pd.DataFrame({"parent": ["15", "16"], "year": [2017, 2017], "projected": [1150.0, 850.0]})
    sh = share_of_parent(TOTALS, zones, 2015, par).set_index("zone")["projected"]
    # shares 2015: 5/11, 6/11 of 1150
    assert sh["15001"] == pytest.approx(1150 * 5 / 11)
    assert sh["15002"] == pytest.approx(1150 * 6 / 11)
    assert sh["16001"] == pytest.approx(850.0)
    tr = share_of_parent(TOTALS, zones, 2015, par, trended=True).set_index("zone")["projected"]
    # shares 0.4 -> 5/11 over two years: 5/11 + 2 (5/11 - 0.4) / 2 * 2 = 2 * 5/11 - 0.4
    s = 2 * 5 / 11 - 0.4
    assert tr["15001"] == pytest.approx(1150 * s)
    assert tr["15002"] == pytest.approx(1150 * (1 - s))
    assert tr.sum() == pytest.approx(2000.0)


def test_hamilton_perry_constant_ratios() -> None:
    # every cohort grows by 2 % a year and births keep the child-adult ratio: the structure
    # grows by 2 % a year from the ages that carry over
    p0 = np.full(101, 100.0)
    p1 = np.full(101, 102.0)
    p1[-1] = 102.0 * 2  # the open group pools two ages of p0
    out = hamilton_perry(p0, p1, 1, 2)
    assert out[50] == pytest.approx(102.0 * 1.02**2)
    assert out[0] == pytest.approx(p1[0] / p1[16:51].sum() * out[16:51].sum())


def test_coverage_by_hand() -> None:
    e = pd.DataFrame(
        {
            "level": "kreis",
            "base_year": [2015, 2015, 2016, 2016],
            "horizon": 1,
            "method": "wandel",
            "size_class": ["20-100k", "20-100k", ">100k", ">100k"],
            "observed": [100.0, 104.0, 100.0, 90.0],
            "q025": [90.0, 90.0, 95.0, 95.0],
            "q10": [95.0, 95.0, 97.0, 97.0],
            "q25": [98.0, 98.0, 99.0, 99.0],
            "q75": [102.0, 102.0, 101.0, 101.0],
            "q90": [105.0, 105.0, 103.0, 103.0],
            "q975": [110.0, 110.0, 105.0, 105.0],
        }
    )
    t = coverage_table(e).set_index("size_class")
    # 50 %: 100 in 98-102 yes, 104 no, 100 in 99-101 yes, 90 no -> 2 of 4
    # 80 %: yes, yes, yes, no -> 3 of 4; 95 %: yes, yes, yes, no (90 < 95) -> 3 of 4
    assert t.loc["all", ["obs50", "obs80", "obs95"]].tolist() == [50.0, 75.0, 75.0]
    assert t.loc["20-100k", ["obs50", "obs80", "obs95"]].tolist() == [50.0, 100.0, 100.0]
    assert t.loc[">100k", "n"] == 2
    assert t.loc["all", "origins"] == 2


def test_winner_is_the_lowest_mape() -> None:
    t = pd.DataFrame(
        {
            "horizon": [1] * 3 + [2] * 3,
            "method": ["wandel", "linear", "constant"] * 2,
            "mape": [0.3, 0.35, 0.5, 0.9, 0.6, 1.0],
        }
    )
    w = winners(t, ["horizon"]).set_index("horizon")
    assert w.loc[1, "winner"] == "wandel"
    assert w.loc[2, "winner"] == "linear"
    assert w.loc[2, "best_baseline_mape"] == 0.6


def _synthetic_errors(sigma: float, phi: float, n: int = 400) -> pd.DataFrame:
    """Log errors whose q80 of |.| is exactly ``sigma sqrt(V) * 1.2816`` at each horizon."""
    rows = []
    for base, hs in ((2015, (1, 2, 4, 5)), (2016, (1, 3, 4)), (2017, (2, 3))):
        for h in hs:
            s = sigma * float(np.sqrt(ar_variance(h, phi)[0]))
            # a normal sample's quantiles put exactly: |x| uniform in quantile of |N(0, s)|
            u = (np.arange(n) + 0.5) / n
            x = np.array([NormalDist(0, s).inv_cdf(0.5 + q / 2) for q in u])
            rows.append(
                pd.DataFrame(
                    {
                        "level": "kreis",
                        "base_year": base,
                        "year": base + h,
                        "horizon": h,
                        "method": "wandel",
                        "size_class": ">100k",
                        "log_error": x,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_fit_recovers_sigma_and_phi() -> None:
    e = _synthetic_errors(0.004, 0.5)
    fits = fit_error_model(measured_sd(e))
    f = fits["kreis:>100k"]
    assert f["phi"] == pytest.approx(0.5)
    assert f["sigma"] == pytest.approx(0.004, rel=0.01)
    assert f["own"] == 1.0
    # a class without zones takes the level's fit over all classes
    assert fits["kreis:20-100k"]["own"] == 0.0
    assert fits["kreis:20-100k"]["sigma"] == pytest.approx(f["sigma"])
    sig = sigma_table(fits, 0.02, 0.02)
    assert sig["kreis:>100k"]["net_migration_ar"] == pytest.approx(0.5)


def test_holdout_never_sees_the_evaluated_years() -> None:
    e = _synthetic_errors(0.004, 0.5)
    calib, ev = holdout_split(e, 2017)
    assert calib["year"].max() <= 2017
    assert ev["year"].min() > 2017
    assert set(ev["base_year"]) == {2017}
    assert not set(zip(calib["base_year"], calib["year"], strict=True)) & set(
        zip(ev["base_year"], ev["year"], strict=True)
    )
    # spoiling every error after the cutoff leaves the hold-out fit unchanged
    spoilt = e.copy()
    spoilt.loc[spoilt["year"] > 2017, "log_error"] *= 10
    a = fit_error_model(measured_sd(holdout_split(e, 2017)[0]))
    b = fit_error_model(measured_sd(holdout_split(spoilt, 2017)[0]))
    assert a == b


def test_shipped_sigmas_by_level_and_class() -> None:
    s = load_sigmas()
    for key in ("kreis:20-100k", "kreis:>100k", "gemeinde:<5k", "gemeinde:5-20k"):
        assert 0.0 < s[key]["net_migration"] < 0.05
        assert 0.0 <= s[key]["net_migration_ar"] <= 1.0
    # Kreise err less than small Gemeinden one year out
    assert s["kreis:>100k"]["net_migration"] < s["gemeinde:<5k"]["net_migration"]


def test_level_shift_on_real_totals(tmp_path_factory: pytest.TempPathFactory) -> None:
    from _projection_store import demo_tables
    from wandel.demography.data import kreis_totals
    from wandel.demography.rates import net_migration, recent_level_shift

    tables = demo_tables(tmp_path_factory)
    for base, sign in ((2016, -1), (2017, -1), (2015, 0)):
        kt = kreis_totals(tables.until(base), base)
        kt = kt[kt["zone"].str[:2].isin(["14", "15", "16"])]
        _net, span = net_migration(kt, {}, base)
        s = recent_level_shift(kt, span, base, parent=lambda z: z[:2])
        v = np.array(list(s.per_head.values()))
        if sign == 0:
            # 2013-2015 is the only interval: nothing to shift by
            assert (v == 0).all()
            assert s.intervals == {}
        else:
            # the 2015 wave passed: each Land's latest year grew less than its span
            assert set(s.intervals) == {"14", "15", "16"}
            assert (np.sign(v) == sign).all()
            # Sachsen-Anhalt 2016-2017 against 2013-2017, by hand from the Kreis totals
            w = kt[kt["zone"].str[:2] == "15"].pivot_table(
                index="zone", columns="year", values="value"
            )
            t0 = span["15001"][0]
            g_last = w[base].sum() / w[base - 1].sum() - 1
            g_span = (w[base].sum() / w[t0].sum() - 1) / (base - t0)
            assert s.per_head["15001"] == pytest.approx(g_last - g_span)

"""Harmonisation of Gemeinde series to one territorial status: conservation, Hettstedt, direction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wandel.regions import derive_changes, harmonise_population
from wandel.sources import gv_isys
from wandel.tables import conform

GV_FILES = {
    2009: "31122009_Auszug_GV.xlsx",
    2013: "31122013_Auszug_GV.xlsx",
    2017: "31122017_Auszug_GV.xlsx",
    2019: "AuszugGV4QAktuell_2019.csv",
}
KEY = ["year", "sex", "age_start", "age_end"]


@pytest.fixture(scope="module")
def gv_st(shared_data: Path) -> pd.DataFrame:
    """GV records of Sachsen-Anhalt and Thüringen, all four years."""
    folder = shared_data / "gemeindeverzeichnis"
    frames = [gv_isys.read(folder / f).tables["gv_records"] for f in GV_FILES.values()]
    gv = pd.concat(frames, ignore_index=True)
    return gv[gv["zone"].str[:2].isin(["15", "16"])].reset_index(drop=True)


@pytest.fixture(scope="module")
def changes(gv_st: pd.DataFrame) -> pd.DataFrame:
    return derive_changes(gv_st)


@pytest.fixture(scope="module")
def series(gv_st: pd.DataFrame) -> pd.DataFrame:
    """Raw GV population of every Gemeinde in every GV year, by sex."""
    gem = gv_st[gv_st["level"] == "gemeinde"]
    parts = [
        pd.DataFrame({"zone": gem["zone"], "year": gem["year"], "sex": s, "value": gem[c]})
        for s, c in (("m", "pop_m"), ("f", "pop_f"))
    ]
    long = pd.concat(parts, ignore_index=True)
    long["age_start"] = 0
    long["age_end"] = pd.NA
    return conform("population", long)


def _totals(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby(["year", "sex"])["value"].sum()


def test_hettstedt_2009_on_2019_boundaries(
    gv_st: pd.DataFrame, series: pd.DataFrame, changes: pd.DataFrame
) -> None:
    raw = gv_st[(gv_st["year"] == 2009) & (gv_st["level"] == "gemeinde")].set_index("zone")
    # by hand: Hettstedt 14,427 + Ritterode 320 + Walbeck 882 (GV 31.12.2009)
    assert raw.loc["15087220", "pop_total"] == 14_427
    assert raw.loc["15087335", "pop_total"] == 320
    assert raw.loc["15087435", "pop_total"] == 882
    expected = 14_427 + 320 + 882
    h = harmonise_population(series, changes, 2019)
    het = h[(h["zone"] == "15087220")].groupby("year")["value"].sum()
    assert het[2009] == expected == 15_629
    assert het[2009] > raw.loc["15087220", "pop_total"]
    assert het[2019] == 13_885  # already on 2019 boundaries: unchanged
    m = h[(h["zone"] == "15087220") & (h["year"] == 2009) & (h["sex"] == "m")]["value"].sum()
    assert m == 7_011 + 166 + 449
    assert not h["zone"].isin(["15087335", "15087435"]).any()


def test_totals_conserved_both_directions(series: pd.DataFrame, changes: pd.DataFrame) -> None:
    before = _totals(series)
    for target in (2009, 2013, 2017, 2019):
        after = _totals(harmonise_population(series, changes, target))
        pd.testing.assert_series_equal(before, after, check_exact=False, rtol=1e-12)


def test_forward_gives_target_zone_set(
    gv_st: pd.DataFrame, series: pd.DataFrame, changes: pd.DataFrame
) -> None:
    h = harmonise_population(series, changes, 2019)
    zones_2019 = set(gv_st.loc[(gv_st["year"] == 2019) & (gv_st["level"] == "gemeinde"), "zone"])
    for year in (2009, 2013, 2017, 2019):
        assert set(h.loc[h["year"] == year, "zone"]) <= zones_2019
    # Sachsen-Anhalt 2009 on 2019 boundaries: exactly the 2019 Gemeinden (every one received data)
    st09 = set(h.loc[(h["year"] == 2009) & (h["zone"].str[:2] == "15"), "zone"])
    assert st09 == {z for z in zones_2019 if z[:2] == "15"}


def test_backward_splits_by_population(series: pd.DataFrame, changes: pd.DataFrame) -> None:
    # 2019 Hettstedt on 2009 boundaries: shares 14427 : 320 : 882 of the 2009 parts
    h = harmonise_population(series, changes, 2009)
    y19 = h[(h["year"] == 2019) & h["zone"].isin(["15087220", "15087335", "15087435"])]
    by_zone = y19.groupby("zone")["value"].sum()
    assert by_zone.sum() == pytest.approx(13_885)
    assert by_zone["15087335"] / by_zone.sum() == pytest.approx(320 / 15_629)
    assert by_zone["15087220"] / by_zone.sum() == pytest.approx(14_427 / 15_629)


def test_suppressed_value_is_not_summed_silently(changes: pd.DataFrame) -> None:
    f = conform(
        "population",
        pd.DataFrame(
            {
                "zone": ["15087220", "15087335", "15087435"],
                "year": 2009,
                "sex": "t",
                "age_start": 0,
                "age_end": pd.NA,
                "value": [14_427.0, np.nan, 882.0],
                "status": [None, "unknown", None],
            }
        ),
    )
    h = harmonise_population(f, changes, 2019)
    assert np.isnan(h.loc[h["zone"] == "15087220", "value"]).all()


def test_non_gemeinde_rows_pass_unchanged(series: pd.DataFrame, changes: pd.DataFrame) -> None:
    kreis = conform(
        "population",
        pd.DataFrame(
            {
                "zone": ["15087"],
                "year": [2009],
                "sex": ["t"],
                "age_start": [0],
                "age_end": [pd.NA],
                "value": [1.0],
            }
        ),
    )
    h = harmonise_population(pd.concat([series, kreis], ignore_index=True), changes, 2019)
    assert h.loc[h["zone"] == "15087", "value"].tolist() == [1.0]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_series_conserve_totals(
    data: st.DataObject, gv_st: pd.DataFrame, changes: pd.DataFrame
) -> None:
    gem = gv_st[gv_st["level"] == "gemeinde"]
    years = data.draw(
        st.lists(
            st.sampled_from([2009, 2011, 2013, 2017, 2019]), min_size=1, max_size=3, unique=True
        )
    )
    rows = []
    for y in years:
        status = max(v for v in (2009, 2013, 2017, 2019) if v <= y)
        zones = sorted(gem.loc[gem["year"] == status, "zone"])
        chosen = data.draw(st.lists(st.sampled_from(zones), min_size=1, max_size=40, unique=True))
        for z in chosen:
            for age in (0, 18, 65):
                v = data.draw(st.floats(min_value=0, max_value=1e5, allow_nan=False))
                rows.append(
                    {
                        "zone": z,
                        "year": y,
                        "sex": "f",
                        "age_start": age,
                        "age_end": None if age == 65 else age + 10,
                        "value": v,
                    }
                )
    f = conform("population", pd.DataFrame(rows))
    target = data.draw(st.sampled_from([2009, 2013, 2017, 2019]))
    h = harmonise_population(f, changes, target)
    before = f.groupby(["year", "age_start"])["value"].sum()
    after = h.groupby(["year", "age_start"])["value"].sum()
    pd.testing.assert_series_equal(before, after, check_exact=False, rtol=1e-9, atol=1e-6)
    assert (h["value"] >= 0).all()
    assert not h.duplicated(["zone", *KEY]).any()

"""Cooperation gain: joint planning is never worse than the towns alone with the same total p."""

from __future__ import annotations

import numpy as np
import pytest

from wandel.planning import InfeasibleModelError, ModelInputError
from wandel.planning.cooperation import COLUMNS, Money, Plans, Sites, Towns, cooperation_gain


def _network(
    seed: int, towns: int = 3, n_per: int = 25, m_per: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Towns side by side along a strip, 10 km apart, points scattered around each centre."""
    rng = np.random.default_rng(seed)
    pts, sites, d_town, c_town = [], [], [], []
    for t in range(towns):
        centre = np.array([10.0 * t, 0.0])
        pts.append(centre + rng.normal(0, 4, (n_per, 2)))
        sites.append(centre + rng.normal(0, 4, (m_per, 2)))
        d_town += [f"T{t}"] * n_per
        c_town += [f"T{t}"] * m_per
    a, b = np.vstack(pts), np.vstack(sites)
    cost = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    w = rng.lognormal(2, 1, a.shape[0])
    return cost, w, np.array(d_town), np.array(c_town)


@pytest.mark.parametrize("seed", range(6))
def test_joint_p_median_never_worse_than_towns_alone(seed: int) -> None:
    cost, w, dt, ct = _network(seed)
    r = cooperation_gain(
        cost, w, Towns(dt, ct), Plans("p_median", p=2, threshold=5.0), money=Money(1000)
    )
    t = r.table
    assert list(t.columns) == list(COLUMNS)
    assert t.loc["joint", "facilities"] == t.loc["alone", "facilities"] == 6
    assert t.loc["joint", "travel_cost"] <= t.loc["alone", "travel_cost"] + 1e-7
    assert t.loc["joint", "total_cost"] <= t.loc["alone", "total_cost"] + 1e-7
    assert r.joint.objective <= sum(a.objective for a in r.alone.values()) + 1e-7
    np.testing.assert_allclose(
        t.loc["difference"].to_numpy(), (t.loc["joint"] - t.loc["alone"]).to_numpy()
    )
    # alone row aggregates the towns' own results
    assert t.loc["alone", "travel_cost"] == pytest.approx(
        sum(a.objective for a in r.alone.values())
    )
    assert t.loc["alone", "mean_cost"] == pytest.approx(t.loc["alone", "travel_cost"] / w.sum())
    assert r.by_town["facilities_joint"].sum() == 6
    assert set(r.by_town.index) == {"T0", "T1", "T2"}


@pytest.mark.parametrize("seed", range(4))
def test_joint_covering_never_needs_more_and_covers_no_less(seed: int) -> None:
    cost, w, dt, ct = _network(seed, m_per=8)
    threshold = float(max(cost[np.ix_(dt == t, ct == t)].min(axis=1).max() for t in np.unique(dt)))
    lscp = cooperation_gain(cost, w, Towns(dt, ct), Plans("lscp", threshold=threshold))
    assert lscp.table.loc["joint", "facilities"] <= lscp.table.loc["alone", "facilities"]
    assert lscp.table.loc["joint", "demand_beyond"] == 0
    mclp = cooperation_gain(
        cost, w, Towns(dt, ct), Plans("mclp", p={"T0": 1, "T1": 2, "T2": 1}, threshold=3.0)
    )
    assert mclp.joint.n_sites == 4
    assert (
        mclp.table.loc["joint", "demand_beyond"] <= mclp.table.loc["alone", "demand_beyond"] + 1e-7
    )


def test_border_site_saves_a_facility_and_money() -> None:
    # village A1 and B1 lie either side of the border; site "border" (in A) reaches both in 1
    cost = np.array([[5.0, 1.0, 9.0], [9.0, 1.0, 2.0]])
    r = cooperation_gain(
        cost,
        [10, 30],
        Towns(["A", "B"], ["A", "A", "B"]),
        Plans("lscp", threshold=2),
        sites=Sites(candidate_ids=["a-centre", "border", "b-centre"]),
        money=Money(fixed_cost_per_facility=100, cost_per_unit_travel=2),
    )
    t = r.table
    assert t.loc["alone", "facilities"] == 2
    assert t.loc["joint", "facilities"] == 1
    assert r.joint.sites == ("border",)
    # alone: 10*1 + 30*2 = 70 person-units; joint: 10*1 + 30*1 = 40
    assert t.loc["alone", "total_cost"] == 200 + 2 * 70
    assert t.loc["joint", "total_cost"] == 100 + 2 * 40
    assert t.loc["difference", "total_cost"] == -160
    assert r.by_town.loc["B", "facilities_joint"] == 0
    assert r.by_town.loc["B", "mean_cost_joint"] == 1.0


def test_fixed_site_stays_alone_and_jointly() -> None:
    cost, w, dt, ct = _network(9)
    r = cooperation_gain(cost, w, Towns(dt, ct), Plans(p=2), sites=Sites(fixed=[3]))
    assert 3 in r.joint.sites
    assert 3 in r.alone["T0"].sites


def test_town_without_candidates_and_missing_p() -> None:
    cost = np.ones((2, 2))
    with pytest.raises(InfeasibleModelError, match="'B' has demand but no candidate"):
        cooperation_gain(cost, [1, 1], Towns(["A", "B"], ["A", "A"]), Plans(p=1))
    with pytest.raises(ModelInputError, match="no p given for town 'B'"):
        cooperation_gain(cost, [1, 1], Towns(["A", "B"], ["A", "B"]), Plans(p={"A": 1}))
    with pytest.raises(ModelInputError, match="town labels"):
        cooperation_gain(cost, [1, 1], Towns(["A"], ["A", "B"]), Plans(p=1))

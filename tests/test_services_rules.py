"""wandel.services on hand-made populations: Land class rules at their boundaries, Pflege, GP,
fire brigades, households, labour, costs; directional properties; totals and chunking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from wandel.demography.engine import ProjectionRates, StochasticSpec
from wandel.errors import MissingParameterError
from wandel.services import (
    Chunking,
    DrawGroup,
    Grid,
    Parents,
    ServiceInputs,
    evaluate,
    overrides_from_pairs,
    plan_services,
    required_breaks,
    service_demand,
    shipped_catalogue,
)
from wandel.services.rules import classes_needed, min_cohort, readiness, versorgungsgrad

CAT = shipped_catalogue()
SACHSEN, MAGDEBURG, HETTSTEDT, SAALFELD = "14625020", "15003000", "15087220", "16073077"
ZONES = (SACHSEN, MAGDEBURG, HETTSTEDT, SAALFELD)


def grid_for(
    names: list[str], zones: tuple[str, ...] = ZONES, years: tuple[int, ...] = (2026, 2027), cat=CAT
) -> Grid:  # type: ignore[no-untyped-def]
    g0 = Grid(zones, years, (0,))
    return Grid(zones, years, required_breaks(cat, names, g0))


def population(grid: Grid, per_age: dict[int, float], draws: int = 1) -> np.ndarray:
    """``[year, zone, sex, group, draw]`` with ``per_age[a]`` people (half per sex) in the group
    starting at age ``a`` for every zone and year."""
    p = np.zeros((len(grid.years), len(grid.zones), 2, len(grid.breaks), draws))
    for a, n in per_age.items():
        p[:, :, :, grid.breaks.index(a), :] = n / 2
    return p


def measure(plans, grid, pop, service, name):  # type: ignore[no-untyped-def]
    return evaluate(plans, grid, pop)[(service, name)][..., 0]  # [year, zone]


# ------------------------------------------------------------------ the rules as functions


def test_rule_functions_by_hand() -> None:
    assert classes_needed([14, 15, 28, 29, 56, 57], 28).tolist() == [1, 1, 1, 2, 2, 3]
    assert min_cohort(15, 14, 1) == 15
    assert min_cohort(20, 20, 2) == 40
    assert float(versorgungsgrad(12, 24_495, 1_633)) == pytest.approx(0.8)
    assert readiness([6.0, 12.0], 9).tolist() == pytest.approx([2 / 3, 4 / 3])


# ------------------------------------------------------------------ Grundschule under each Land's rules


@pytest.mark.parametrize(
    ("zone", "year", "below_at", "ok_at"),
    [
        (SACHSEN, 2026, 14, 15),  # § 4a SächsSchulG: first class 15
        (SAALFELD, 2026, 14, 15),  # § 41a ThürSchulG: 15 in der Regel
        (HETTSTEDT, 2026, 14, 15),  # LSA Anfangsklassen-VO: Jahrgangsstärke 15
        (HETTSTEDT, 2027, 14, 15),  # LSA from 1.8.2027 outside the three cities: still 15
        (MAGDEBURG, 2026, 14, 15),
        (MAGDEBURG, 2027, 24, 25),  # LSA from 1.8.2027 in Magdeburg: 25
    ],
)
def test_grundschule_minimum_at_the_boundary(
    zone: str, year: int, below_at: int, ok_at: int
) -> None:
    grid = grid_for(["grundschule"])
    plans = plan_services(CAT, ["grundschule"], grid)
    t, z = grid.years.index(year), grid.zones.index(zone)
    for n, below in ((below_at, 4.0), (ok_at, 0.0)):
        pop = population(grid, {a: float(n) for a in (6, 7, 8, 9)})
        got = measure(plans, grid, pop, "grundschule", "grades_below_minimum")[t, z]
        assert got == below, (zone, year, n)
        bound = plans[0].thresholds[0].bound[t, z]
        assert (n < bound) == (below > 0)  # the threshold "below_minimum" flips at the same place


def test_grundschule_classes_at_28_29_in_sachsen_only_where_a_maximum_is_sourced() -> None:
    grid = grid_for(["grundschule"])
    plans = plan_services(CAT, ["grundschule"], grid)
    z = grid.zones.index(SACHSEN)
    for n, per_grade in ((28, 1), (29, 2), (56, 2), (57, 3)):
        cls = measure(
            plans,
            grid,
            population(grid, {a: float(n) for a in (6, 7, 8, 9)}),
            "grundschule",
            "classes",
        )
        assert cls[0, z] == 4 * per_grade
        # no source gives a maximum for Sachsen-Anhalt and Thüringen: not computed, listed
        assert np.isnan(cls[0, grid.zones.index(HETTSTEDT)])
        assert np.isnan(cls[0, grid.zones.index(SAALFELD)])
    (miss,) = [m for m in plans[0].missing if m.measure == "classes"]
    assert miss.parameter == "max_class"
    assert miss.regions == ("15", "16")


def test_a_user_maximum_gives_classes_and_strict_mode_refuses_without() -> None:
    grid = grid_for(["grundschule"])
    with pytest.raises(MissingParameterError, match="max_class"):
        plan_services(CAT, ["grundschule"], grid, strict=True)
    cat = overrides_from_pairs(
        ["grundschule.max_class@15=26", "grundschule.max_class@16=25"], CAT, 2024
    )
    plans = plan_services(cat, ["grundschule"], grid, strict=True)
    cls = measure(
        plans, grid, population(grid, dict.fromkeys((6, 7, 8, 9), 26.0)), "grundschule", "classes"
    )
    assert cls[0, grid.zones.index(HETTSTEDT)] == 4
    assert cls[0, grid.zones.index(SAALFELD)] == 8


def test_whole_pupils_decide_expected_values() -> None:
    grid = grid_for(["grundschule"])
    plans = plan_services(CAT, ["grundschule"], grid)
    z = grid.zones.index(SACHSEN)
    assert (
        measure(
            plans,
            grid,
            population(grid, dict.fromkeys((6, 7, 8, 9), 14.49)),
            "grundschule",
            "grades_below_minimum",
        )[0, z]
        == 4
    )
    assert (
        measure(
            plans,
            grid,
            population(grid, dict.fromkeys((6, 7, 8, 9), 14.5)),
            "grundschule",
            "grades_below_minimum",
        )[0, z]
        == 0
    )
    assert (
        measure(
            plans,
            grid,
            population(grid, dict.fromkeys((6, 7, 8, 9), 28.49)),
            "grundschule",
            "classes",
        )[0, z]
        == 4
    )


def test_sekundarstufe_two_tracks_in_sachsen_and_the_dated_rule_of_sachsen_anhalt() -> None:
    grid = grid_for(["sekundarstufe1"])
    plans = plan_services(CAT, ["sekundarstufe1"], grid)
    ages = range(10, 16)
    z, h = grid.zones.index(SACHSEN), grid.zones.index(HETTSTEDT)
    below39 = measure(
        plans,
        grid,
        population(grid, dict.fromkeys(ages, 39.0)),
        "sekundarstufe1",
        "grades_below_minimum",
    )
    ok40 = measure(
        plans,
        grid,
        population(grid, dict.fromkeys(ages, 40.0)),
        "sekundarstufe1",
        "grades_below_minimum",
    )
    assert below39[0, z] == 6
    assert ok40[0, z] == 0
    assert np.isnan(below39[0, h])  # no sourced minimum before 2027 in Sachsen-Anhalt
    b19 = measure(
        plans,
        grid,
        population(grid, dict.fromkeys(ages, 19.0)),
        "sekundarstufe1",
        "grades_below_minimum",
    )
    assert b19[1, h] == 6
    assert ok40[1, h] == 0
    cls = measure(
        plans, grid, population(grid, dict.fromkeys(ages, 40.0)), "sekundarstufe1", "classes"
    )
    assert cls[0, z] == 12  # 40 pupils at most 28 per class: 2 classes in each of 6 grades


# ------------------------------------------------------------------ directional properties


@given(
    st.lists(st.floats(0, 400), min_size=10, max_size=10),
    st.lists(st.floats(0, 60), min_size=10, max_size=10),
)
def test_more_children_never_fewer_places_pupils_or_classes(
    base: list[float], extra: list[float]
) -> None:
    names = ["krippe", "kita", "grundschule", "sekundarstufe1"]
    grid = grid_for(names)
    plans = plan_services(CAT, names, grid)
    ages = [0, 3, 6, 7, 8, 9, 10, 11, 12, 13]  # groups 0-2, 3-5 and single school ages
    p1 = population(grid, dict(zip(ages, base, strict=True)))
    p2 = p1.copy()
    for i, a in enumerate(ages):
        p2[:, :, :, grid.breaks.index(a), :] += extra[i] / 2
    r1, r2 = evaluate(plans, grid, p1), evaluate(plans, grid, p2)
    for key in [
        ("krippe", "places"),
        ("kita", "places"),
        ("grundschule", "pupils"),
        ("grundschule", "classes"),
        ("sekundarstufe1", "classes"),
    ]:
        a, b = r1[key], r2[key]
        ok = np.isfinite(a)
        assert (b[ok] >= a[ok] - 1e-9).all(), key


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_higher_quota_never_fewer_places(q1: float, q2: float) -> None:
    lo, hi = sorted((q1, q2))
    grid = grid_for(["kita"])
    pop = population(grid, {3: 40.0})
    got = []
    for q in (lo, hi):
        cat = overrides_from_pairs(
            [f"kita.quota@14={q}", f"kita.quota@15={q}", f"kita.quota@16={q}"], CAT, 2024
        )
        got.append(measure(plan_services(cat, ["kita"], grid), grid, pop, "kita", "places"))
    assert (got[1] >= got[0] - 1e-12).all()
    assert got[1][0, 0] == pytest.approx(40.0 * hi)


def test_kita_places_are_quota_times_children_with_kreis_figures() -> None:
    grid = grid_for(["krippe"], zones=("15001000", HETTSTEDT, SACHSEN))
    pop = population(grid, {0: 100.0})  # 100 children in the group 0-2
    places = measure(plan_services(CAT, ["krippe"], grid), grid, pop, "krippe", "places")
    assert places[0].tolist() == pytest.approx([53.2, 59.4, 53.0])  # Dessau-Roßlau, LSA, Sachsen


# ------------------------------------------------------------------ GP, fire, households, labour, costs


def test_versorgungsgrad_by_hand() -> None:
    grid = grid_for(["hausaerzte"], years=(2024, 2025))
    pop = population(grid, {0: 16_160.0})  # 16,160 people per zone
    plans = plan_services(
        CAT, ["hausaerzte"], grid, ServiceInputs(capacity={"hausaerzte": {SACHSEN: 7.0}})
    )
    r = evaluate(plans, grid, pop)
    z = grid.zones.index(SACHSEN)
    assert r[("hausaerzte", "gps_needed")][0, z, 0] == pytest.approx(
        10.0
    )  # 1 616 per GP until 2024
    assert r[("hausaerzte", "gps_needed")][1, z, 0] == pytest.approx(16_160 / 1_633)  # G-BA 2025
    assert r[("hausaerzte", "versorgungsgrad")][0, z, 0] == pytest.approx(0.7)  # below 75 %
    th = {t.name: t for t in plans[0].thresholds}
    assert th["unterversorgung"].bound[0, z] == 0.75
    assert th["ueberversorgung"].bound[0, z] == 1.10


def _flat_rates(zones: list[str]) -> ProjectionRates:
    coords = {"zone": zones, "sex": ["m", "f"], "age": np.arange(101)}
    z = xr.DataArray(np.zeros((len(zones), 2, 101)), dims=("zone", "sex", "age"), coords=coords)
    return ProjectionRates(
        sx=z + 0.995,
        birth_survival=z.isel(age=0, drop=True) + 0.997,
        asfr=z.sel(sex="f", drop=True)
        + np.where((np.arange(101) >= 20) & (np.arange(101) < 40), 0.07, 0.0),
        out_rate=z + 0.01,
        in_count=z + 1.0,
    )


def _base(zones: list[str], per_age: float = 100.0) -> xr.DataArray:
    coords = {"zone": zones, "sex": ["m", "f"], "age": np.arange(101)}
    v = np.full((len(zones), 2, 101), per_age / 2) * np.linspace(1.0, 0.3, 101)
    v *= np.arange(1, len(zones) + 1)[:, None, None]
    return xr.DataArray(v, dims=("zone", "sex", "age"), coords=coords)


def test_fire_readiness_alone_and_with_neighbours_in_time() -> None:
    zones = ("15087220", "15087130")
    cat = overrides_from_pairs(
        ["feuerwehr.min_age@15=16", "feuerwehr.max_age@15=67", "feuerwehr.weekday_share@15=0.3"],
        CAT,
        2024,
    )
    grid = grid_for(["feuerwehr"], zones=zones, years=(2024,), cat=cat)
    pop = population(grid, {16: 1000.0})
    alone = plan_services(
        cat, ["feuerwehr"], grid, ServiceInputs(fire_members=dict.fromkeys(zones, 20.0))
    )
    r = evaluate(alone, grid, pop)
    assert r[("feuerwehr", "day_available")][0, :, 0].tolist() == pytest.approx([6.0, 6.0])
    # crew in time needs the network step: run the streamed demand on a flat projection
    tt = np.array([[0.0, 10.0], [14.0, 0.0]])  # 10 min from Hettstedt to Eisleben, 14 back
    res = {}
    for label, reach in (("alone", None), ("matrix", tt)):
        plans = plan_services(
            cat,
            ["feuerwehr"],
            grid_for(["feuerwehr"], zones, (2024, 2025), cat),
            ServiceInputs(fire_members=dict.fromkeys(zones, 20.0), reach=reach),
        )
        g = grid_for(["feuerwehr"], zones, (2024, 2025), cat)
        out = service_demand(
            _base(list(zones)),
            _flat_rates(list(zones)),
            base_year=2024,
            until=2025,
            plans=plans,
            grid=g,
            parents=Parents(),
        )
        f = out.figures
        res[label] = f[(f["measure"] == "readiness") & (f["year"] == 2024)].set_index("zone")[
            "value"
        ]
    assert res["alone"].to_dict() == pytest.approx({"15087220": 6 / 9, "15087130": 6 / 9})
    # Hettstedt's brigade reaches Eisleben within 12 minutes, not the other way round
    assert res["matrix"].to_dict() == pytest.approx({"15087220": 6 / 9, "15087130": 12 / 9})


def test_households_vacancy_labour_and_costs_by_hand() -> None:
    names = ["haushalte", "erwerbspersonen", "kita"]
    cat = overrides_from_pairs(["kita.unit_cost_eur.places@15=11000"], CAT, 2024)
    grid = grid_for(names, zones=(HETTSTEDT,), years=(2024,), cat=cat)
    pop = population(grid, {0: 0.0})
    for a, n in ((3, 30.0), (15, 100.0), (25, 800.0), (55, 200.0), (65, 900.0)):
        pop[:, :, :, grid.breaks.index(a), :] = n / 2
    plans = plan_services(cat, names, grid, ServiceInputs(dwellings={HETTSTEDT: 1500.0}))
    r = evaluate(plans, grid, pop)
    total = 30 + 100 + 800 + 200 + 900
    hh = total / 2.1  # Mansfeld-Südharz 2022: 2.1 persons per household
    assert r[("haushalte", "households")][0, 0, 0] == pytest.approx(hh)
    assert r[("haushalte", "vacancy")][0, 0, 0] == pytest.approx(1500 - hh)
    assert r[("haushalte", "vacancy_rate")][0, 0, 0] == pytest.approx((1500 - hh) / 1500)
    # participation 15-74: men 74.5 %, women 65.7 % (half of each group per sex)
    assert 75 in grid.breaks  # the group starting at 65 ends at 75: inside the rates' 15-74
    lf = r[("erwerbspersonen", "labour_force")][0, 0, 0]
    assert lf == pytest.approx((100 + 800 + 200 + 900) / 2 * (0.745 + 0.657))
    assert r[("erwerbspersonen", "replacement_ratio")][0, 0, 0] == pytest.approx(100 / 200)
    assert r[("kita", "cost_places")][0, 0, 0] == pytest.approx(30 * 0.929 * 11000)


# ------------------------------------------------------------------ totals, determinism, chunking

GEM = ["15087001", "15087002", "15087003", "15088001", "15088002"]


def _run(draws: int, chunking: Chunking, seed: int = 7) -> pd.DataFrame:
    names = [
        "krippe",
        "kita",
        "grundschule",
        "pflege",
        "hausaerzte",
        "haushalte",
        "erwerbspersonen",
    ]
    grid = grid_for(names, zones=tuple(GEM), years=tuple(range(2020, 2031)))
    plans = plan_services(CAT, names, grid)
    parents = Parents(
        {
            "kreis": tuple(z[:5] for z in GEM),
            "land": tuple(z[:2] for z in GEM),
            "auswahl": ("alle",) * len(GEM),
        }
    )
    spec = StochasticSpec(
        draws=draws, seed=seed, sigma_fertility=0.05, sigma_mortality=0.05, sigma_net_migration=0.02
    )
    groups = [DrawGroup(tuple(GEM), spec)] if draws else []
    res = service_demand(
        _base(GEM),
        _flat_rates(GEM),
        base_year=2020,
        until=2030,
        plans=plans,
        grid=grid,
        parents=parents,
        groups=groups,
        chunking=chunking,
    )
    return res.figures


def test_totals_consistent_between_gemeinde_kreis_and_land() -> None:
    f = _run(1, Chunking())  # one draw: its quantiles are its values, so sums must agree per draw
    sums = f[f["unit"] != "ratio"]
    for col in ("value", "q50"):
        z = sums[sums["level"] == "zone"].assign(kreis=lambda d: d["zone"].str[:5])
        by_k = z.groupby(["kreis", "year", "service", "measure"])[col].sum()
        k = sums[sums["level"] == "kreis"].set_index(["zone", "year", "service", "measure"])[col]
        pd.testing.assert_series_equal(
            k.sort_index(),
            by_k.rename_axis(k.index.names).sort_index(),
            check_names=False,
            rtol=1e-12,
        )
        land = sums[sums["level"] == "land"].set_index(["year", "service", "measure"])[col]
        by_l = k.groupby(["year", "service", "measure"]).sum()
        pd.testing.assert_series_equal(
            land.sort_index(), by_l.sort_index(), check_names=False, rtol=1e-12
        )
    # a ratio of a Kreis is the ratio of its sums, not a sum of ratios
    r = f[
        (f["measure"] == "replacement_ratio") & (f["level"] == "kreis") & (f["year"] == 2030)
    ].set_index("zone")["value"]
    e = f[
        (f["measure"].isin(["entrants", "leavers"])) & (f["level"] == "kreis") & (f["year"] == 2030)
    ]
    e = e.pivot_table(index="zone", columns="measure", values="value")
    assert r.to_dict() == pytest.approx((e["entrants"] / e["leavers"]).to_dict())


def test_same_seed_same_numbers_whatever_the_chunks() -> None:
    a = _run(9, Chunking(zones=200, draws=200))
    b = _run(9, Chunking(zones=2, draws=4))
    c = _run(9, Chunking(zones=2, draws=4))
    pd.testing.assert_frame_equal(b, c)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    assert not a.equals(_run(9, Chunking(), seed=8))


def test_bands_are_ordered_and_the_base_year_is_certain() -> None:
    f = _run(40, Chunking())
    q = f[["q025", "q10", "q50", "q90", "q975"]].to_numpy()
    ok = np.isfinite(q).all(axis=1)
    assert (np.diff(q[ok], axis=1) >= -1e-9).all()
    base = f[f["year"] == 2020]
    assert np.allclose(base["q025"], base["q975"])
    assert np.allclose(base["value"], base["q50"])
    late = f[(f["year"] == 2030) & (f["measure"] == "places")]
    assert (late["q975"] > late["q025"]).all()


def test_service_figures_is_one_measure_per_zone_and_year() -> None:
    from wandel.services import service_figures

    f = _run(5, Chunking())
    t = service_figures(f, "kita", "places")
    assert list(t.columns) == ["zone", "year", "value", "q025", "q10", "q50", "q90", "q975"]
    assert len(t) == len(GEM) * 11
    assert set(t["zone"]) == set(GEM)
    k = service_figures(f, "kita", "places", level="kreis")
    assert set(k["zone"]) == {"15087", "15088"}


def test_compiled_school_classes_equal_the_numpy_rules() -> None:
    """Oracle: the compiled pass equals rules.pupils_whole, classes_needed and the cohort test
    composed in numpy, bit for bit, at the boundaries (14.5 pupils round to 15, 28/29 pupils form
    1/2 classes) and where the maximum or the minimum is missing."""
    from wandel.services._school import school_classes
    from wandel.services.rules import pupils_whole

    rng = np.random.default_rng(3)
    t, z, g, d = 4, 5, 12, 37
    pop = rng.gamma(2.0, 8.0, size=(t, z, 2, g, d))
    pop[0, 0, :, 3, :3] = [[7.0, 14.0, 14.25], [7.5, 14.5, 14.25]]  # 14.5, 28.5, 28.5 pupils
    grades = np.array([3, 4, 5, 6], dtype=np.int64)
    maxc = np.full((t, z), 28.0)
    maxc[1, 2] = np.nan
    cohort = np.full((t, z), 15.0)
    cohort[2, 3] = np.nan
    cohort[3, 4] = 40.0
    cls, below = school_classes(pop, grades, maxc, cohort)
    n = pupils_whole(pop[:, :, 0, grades] + pop[:, :, 1, grades])  # (T, Z, grades, D)
    want_cls = classes_needed(n, maxc[:, :, None, None]).sum(axis=2)
    want_below = (n < cohort[:, :, None, None]).sum(axis=2).astype(np.float64)
    want_below = np.where(np.isfinite(cohort)[:, :, None], want_below, np.nan)
    np.testing.assert_array_equal(cls, want_cls)
    np.testing.assert_array_equal(below, want_below)
    assert np.isnan(cls[1, 2]).all()
    assert np.isnan(below[2, 3]).all()
    assert n[0, 0, 0, :3].tolist() == [15.0, 29.0, 29.0]  # 14.5 -> 15 pupils, 28.5 -> 29
    assert cls[0, 0, :3].tolist()[0] >= 1.0

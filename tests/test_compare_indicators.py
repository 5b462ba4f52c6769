"""Indicators: hand-computed cases on small fixtures, real numbers of the demo store, invariants,
and the catalogue (texts, functions, one entry + one function to add an indicator)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _compare_store import compare_data
from wandel.compare.catalogue import (
    Indicator,
    compute_indicators,
    indicator_function,
    load_catalogue,
    resolve_keys,
)
from wandel.compare.indicators import FUNCTIONAL_AGE_GROUPS, functional_age_groups, median_of_groups
from wandel.compare.inputs import IndicatorInputs, age_sum, pick_years
from wandel.demography.lifetable import life_table_from_qx
from wandel.errors import UnknownIndicatorError
from wandel.i18n import LANGS, tr
from wandel.tables import conform

FUNCTIONAL = [
    "share_0_2", "share_3_5", "share_6_9", "share_10_15", "share_16_18",
    "share_19_24", "share_25_44", "share_45_64", "share_65_79", "share_80plus",
]  # fmt: skip


def _pop(
    zone: str, year: int, starts: list[int], m: list[float], f: list[float], est: bool = False
) -> pd.DataFrame:
    ends: list[int | None] = [*starts[1:], None]
    rows = []
    for sex, vals in (("m", m), ("f", f)):
        for a, b, v in zip(starts, ends, vals, strict=True):
            rows.append((zone, year, sex, a, b, v, est))
    frame = pd.DataFrame(
        rows, columns=["zone", "year", "sex", "age_start", "age_end", "value", "estimated"]
    )
    return conform("population", frame)


def _single_ages(zone: str = "15087", year: int = 2020, per_age: float = 10.0) -> pd.DataFrame:
    """10 men and 10 women at every age 0..99, nobody 100+."""
    starts = list(range(101))
    vals = [per_age] * 100 + [0.0]
    return _pop(zone, year, starts, vals, vals)


def _events(table: str, zone: str, year: int, value: float) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "zone": [zone],
            "year": [year],
            "sex": ["t"],
            "age_start": [0],
            "age_end": [None],
            "value": [value],
        }
    )
    return conform(table, frame.astype({"age_end": "Int64"}))


def _values(table: object) -> dict[tuple[str, str], float]:
    v = table.values  # type: ignore[attr-defined]
    return {(z, k): float(x) for z, k, x in zip(v["zone"], v["indicator"], v["value"], strict=True)}


# ---------------------------------------------------------------------------------------------
# hand-computed


def test_structure_indicators_single_ages() -> None:
    inp = IndicatorInputs(_single_ages())
    t = compute_indicators(inp, ["median_age", "youth_ratio", "old_age_ratio", "share_65plus",
                                 "share_80plus", "sex_ratio_20_34", *FUNCTIONAL])  # fmt: skip
    v = _values(t)
    # 2000 persons, 20 per age 0..99
    assert v[("15087", "median_age")] == pytest.approx(50.0)  # 49 + (1000 - 980) / 20
    assert v[("15087", "youth_ratio")] == pytest.approx(400 / 900 * 100)
    assert v[("15087", "old_age_ratio")] == pytest.approx(700 / 900 * 100)
    assert v[("15087", "share_65plus")] == pytest.approx(0.35)
    assert v[("15087", "share_80plus")] == pytest.approx(0.20)
    assert v[("15087", "sex_ratio_20_34")] == pytest.approx(100.0)
    assert v[("15087", "share_0_2")] == pytest.approx(60 / 2000)
    assert v[("15087", "share_16_18")] == pytest.approx(60 / 2000)
    assert v[("15087", "share_19_24")] == pytest.approx(120 / 2000)
    assert sum(v[("15087", k)] for k in FUNCTIONAL) == pytest.approx(1.0)
    assert not t.values["estimated"].any()
    assert set(t.values["year"]) == {2020}


def test_grouped_ages_are_split_evenly_and_flagged() -> None:
    # 0-19: 100/100, 20-64: 300/300, 65+: 100/200 (men/women)
    inp = IndicatorInputs(_pop("15087", 2020, [0, 20, 65], [100, 300, 100], [100, 300, 200]))
    t = compute_indicators(inp, ["median_age", "share_65plus", "share_80plus", "sex_ratio_20_34"])
    v = _values(t)
    assert v[("15087", "median_age")] == pytest.approx(20 + (550 - 200) / 600 * 45)
    assert v[("15087", "share_65plus")] == pytest.approx(300 / 1100)
    # 80+ from the open group 65+ spread over 65..99: 20/35 of 300
    assert v[("15087", "share_80plus")] == pytest.approx(300 * 20 / 35 / 1100)
    assert v[("15087", "sex_ratio_20_34")] == pytest.approx(100.0)
    est = t.values.set_index("indicator")["estimated"]
    assert not est["share_65plus"]  # the group boundary is published
    assert est["share_80plus"]  # split inside a group: an estimate
    assert est["sex_ratio_20_34"]


def test_median_of_groups_oracle() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        counts = rng.integers(1, 50, size=100).astype(float)
        expanded = np.repeat(np.arange(100) + 0.5, counts.astype(int))  # midpoints
        med = median_of_groups(np.arange(100.0), np.arange(1.0, 101.0), counts)
        # the interpolated median lies in the same single year as the sample median
        assert int(med) == pytest.approx(int(np.median(expanded)), abs=1)


def test_natural_balance_and_net_migration() -> None:
    pop = _single_ages()
    mig = []
    for sex in ("m", "f"):
        for (a, b), (i, o) in {(0, 18): (30, 10), (18, 25): (5, 25), (25, None): (40, 40)}.items():
            mig += [
                ("15087", 2020, sex, a, b, "in", "", float(i)),
                ("15087", 2020, sex, a, b, "out", "", float(o)),
            ]
    cols = ["zone", "year", "sex", "age_start", "age_end", "direction", "partner", "value"]
    migration = conform("migration", pd.DataFrame(mig, columns=cols).astype({"age_end": "Int64"}))
    inp = IndicatorInputs(
        pop,
        births=_events("births", "15087", 2020, 11.0),
        deaths=_events("deaths", "15087", 2020, 31.0),
        migration=migration,
    )
    v = _values(compute_indicators(inp, ["natural_balance", "net_migration", "net_migration_18_24",
                                         "net_migration_family"]))  # fmt: skip
    assert v[("15087", "natural_balance")] == pytest.approx((11 - 31) / 2000 * 1000)
    assert v[("15087", "net_migration")] == pytest.approx((2 * 20 - 2 * 20) / 2000 * 1000)
    assert v[("15087", "net_migration_18_24")] == pytest.approx(-40 / 140 * 1000)
    # families: under 18 (+40) and 30-49 (25+ moves spread evenly over 25..99: 20/75 of 0)
    assert v[("15087", "net_migration_family")] == pytest.approx(40 / (360 + 400) * 1000)


def _dg_life_table(period: str = "2018/20") -> tuple[pd.DataFrame, np.ndarray]:
    ages = np.arange(101)
    q = np.minimum(0.0004 * np.exp(0.085 * ages), 0.6)
    qs = {"m": q * 1.3, "f": q}
    rows = []
    for sex, qq in qs.items():
        for a in ages:
            rows.append(("DG", period, sex, int(a), bool(a == 100), float(min(qq[a], 0.9))))
    frame = pd.DataFrame(rows, columns=["zone", "period", "sex", "age", "open", "qx"])
    return conform("life_tables", frame), np.array(
        [np.minimum(qs["m"], 0.9), np.minimum(qs["f"], 0.9)]
    )


def test_e0_by_indirect_standardisation() -> None:
    lt, q = _dg_life_table()
    table = life_table_from_qx(q)
    pop = _single_ages()
    # deaths exactly as Germany's rates would give: SMR = 1, e0 = Germany's
    expected = float(np.sum(10.0 * table.mx[:, :100]))
    for factor, cmp in ((1.0, "equal"), (1.5, "lower")):
        inp = IndicatorInputs(
            pop, deaths=_events("deaths", "15087", 2020, expected * factor), life_tables=lt
        )
        v = _values(compute_indicators(inp, ["e0_female", "e0_male"]))
        if cmp == "equal":
            assert v[("15087", "e0_female")] == pytest.approx(float(table.e0[1]), abs=1e-6)
            assert v[("15087", "e0_male")] == pytest.approx(float(table.e0[0]), abs=1e-6)
        else:
            assert v[("15087", "e0_female")] < float(table.e0[1]) - 1.0


def test_tfr_by_indirect_standardisation() -> None:
    fert = pd.DataFrame(
        {"zone": "DG", "year": 2020, "measure": "asfr_per_1000", "category": "",
         "age_start": np.arange(15, 50), "age_end": np.arange(16, 51), "value": 40.0}
    )  # fmt: skip
    inp = IndicatorInputs(
        _single_ages(),
        births=_events("births", "15087", 2020, 21.0),
        fertility=conform("fertility", fert),
    )
    v = _values(compute_indicators(inp, ["tfr"]))
    # TFR_DE = 35 x 0.04 = 1.4; expected births 35 x 10 x 0.04 = 14
    assert v[("15087", "tfr")] == pytest.approx(1.4 * 21 / 14)


def test_population_change_harmonised_over_a_merger() -> None:
    rows = [("15087220", 2013, 1000.0), ("15087335", 2013, 100.0), ("15087220", 2019, 900.0)]
    frame = pd.DataFrame(rows, columns=["zone", "year", "value"]).assign(
        sex="t", age_start=0, age_end=pd.array([None] * 3, dtype="Int64"), estimated=False
    )
    changes = pd.DataFrame(
        {"from_zone": ["15087335", "15087220"], "to_zone": ["15087220", "15087220"],
         "from_year": [2017, 2017], "to_year": [2019, 2019], "weight": [1.0, 1.0],
         "from_pop": [100.0, 1000.0]}
    )  # fmt: skip
    zones = pd.DataFrame({"zone": ["15087220"], "name": ["Hettstedt"], "valid_to": [None]})
    inp = IndicatorInputs(conform("population", frame), zone_changes=changes, zones=zones)
    t = compute_indicators(inp, ["population_change"])
    row = t.values.iloc[0]
    assert row["zone"] == "15087220"
    assert (int(row["base_year"]), int(row["year"])) == (2013, 2019)
    assert row["value"] == pytest.approx(((900 / 1100) ** (1 / 6) - 1) * 100)


def test_projected_change_and_kreis_sum() -> None:
    proj = pd.DataFrame(
        {"zone": ["15087220", "15087220", "15087220", "15087130", "15087130", "15087130"],
         "year": [2019, 2030, 2040] * 2, "value": [100.0, 90.0, 80.0, 200.0, 190.0, 150.0]}
    )  # fmt: skip
    zones = pd.DataFrame({"zone": ["15087220", "15087130", "15087"], "name": ["H", "E", "MSH"]})
    inp = IndicatorInputs(_single_ages("15087", 2020), zones=zones, extra={"projection": proj})
    v = _values(compute_indicators(inp, ["projected_change_2030", "projected_change_2040"]))
    assert v[("15087220", "projected_change_2040")] == pytest.approx(-20.0)
    assert v[("15087130", "projected_change_2030")] == pytest.approx(-5.0)
    assert v[("15087", "projected_change_2040")] == pytest.approx((230 / 300 - 1) * 100)


def test_pick_years_keeps_one_year_per_level() -> None:
    f = pd.DataFrame({"zone": ["14612000", "14612000", "14625020", "14626110", "15087"],
                      "year": [2025, 2019, 2019, 2019, 2020]})  # fmt: skip
    assert pick_years(f).to_dict() == {
        "14612000": 2019,
        "14625020": 2019,
        "14626110": 2019,
        "15087": 2020,
    }


def test_age_sum_conserves_totals() -> None:
    s = _pop("15087", 2020, [0, 3, 10, 75], [5, 7, 11, 13], [6, 8, 12, 14])
    parts = [age_sum(s, a, b)["value"].iloc[0] for a, b in ((0, 16), (16, 80), (80, None))]
    assert sum(parts) == pytest.approx(float(s["value"].sum()))


# ---------------------------------------------------------------------------------------------
# the catalogue


def test_catalogue_texts_units_and_functions() -> None:
    cat = load_catalogue()
    assert len(cat) >= 30
    for ind in cat.values():
        ind.resolve()
        for lang in LANGS:
            for part in ("name", "label", "definition", "source", "high", "low"):
                assert ind.text(part, lang).strip(), (ind.key, part, lang)
                assert "{" not in ind.text(part, lang)
            assert ind.unit_text(lang) is not None
        for f in ind.fields:
            tr(f"compare.field.{f}", "de")


def test_unknown_indicator_names_the_closest() -> None:
    with pytest.raises(UnknownIndicatorError, match="did you mean median_age"):
        resolve_keys(["median_agee"])


@indicator_function("test_kita_children")
def _kita_children(inputs: IndicatorInputs, age_start: int, age_end: int) -> pd.DataFrame:
    """A stand-in for a service indicator: children of Kita age per 1000 inhabitants."""
    kids = age_sum(inputs.structure, age_start, age_end)
    tot = age_sum(inputs.structure, 0, None)
    m = kids.merge(tot, on=["zone", "year"], suffixes=("", "_t"))
    return m.assign(value=m["value"] / m["value_t"] * 1000, estimated=m["estimated"])


def test_one_entry_and_one_function_add_an_indicator() -> None:
    cat = dict(load_catalogue())
    cat["kita_children"] = Indicator(
        "kita_children", "test_kita_children", "per_1000", "neutral", "services",
        params={"age_start": 3, "age_end": 6},
    )  # fmt: skip
    cat["needs_services"] = Indicator(
        "needs_services", f"{__name__}:_kita_children", "per_1000", "neutral", "services",
        needs=("services",),
    )  # fmt: skip
    t = compute_indicators(
        IndicatorInputs(_single_ages()), ["kita_children", "needs_services"], cat
    )
    assert _values(t)[("15087", "kita_children")] == pytest.approx(60 / 2000 * 1000)
    assert ("needs_services", "no services") in t.unavailable


# ---------------------------------------------------------------------------------------------
# real numbers


def test_share_65plus_of_mansfeld_suedharz_by_hand(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """12411-04-02-4, 31.12.2020, Landkreis Mansfeld-Südharz: persons 65+ / all, from the raw file."""
    text = (
        shared_data / "statistik/12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv"
    ).read_bytes()
    lines = [ln.split(";") for ln in text.decode("latin-1").splitlines() if ln.startswith("15087;")]
    total = next(int(c[3]) for c in lines if c[2] == "Insgesamt")
    old = sum(
        int(c[3])
        for c in lines
        if c[2] != "Insgesamt" and int(re.match(r"\D*(\d+)", c[2]).group(1)) >= 65
    )  # type: ignore[union-attr]
    assert total == 133690
    data = compare_data(tmp_path_factory)
    row = data.table.row("15087", "share_65plus")
    assert row is not None
    assert int(row["year"]) == 2020
    assert not bool(row["estimated"])
    assert float(row["value"]) == pytest.approx(old / total, abs=1e-12)


def test_invariants_over_the_demo_store(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = compare_data(tmp_path_factory)
    v = data.table.values
    shares = v[v["unit"] == "share"]
    assert shares["value"].between(0, 1).all()
    w = data.table.wide("gemeinde")
    assert np.allclose(w[FUNCTIONAL].sum(axis=1), 1.0)
    # the two ratios and the share 65+ describe one partition: (100 + youth + old) / old = 1 / share
    for key in ("gemeinde", "kreis", "land"):
        lw = data.table.wide(key)
        lhs = (100 + lw["youth_ratio"] + lw["old_age_ratio"]) / lw["old_age_ratio"]
        assert np.allclose(lhs, 1 / lw["share_65plus"], rtol=1e-9)
    # the Gemeinde age structures of the demo are estimates, and say so
    gem_age = v[(v["level"] == "gemeinde") & v["indicator"].isin(["median_age", "share_65plus"])]
    assert gem_age["estimated"].all()
    gem_pop = v[(v["level"] == "gemeinde") & (v["indicator"] == "population")]
    assert not gem_pop["estimated"].any()
    assert v["year"].between(2009, 2040).all()
    # published figures reproduced: Hettstedt 13,885 (GV 31.12.2019)
    assert data.table.row("15087220", "population")["value"] == 13885  # type: ignore[index]
    # directional: Sachsen-Anhalt's e0 below Germany's, as published life tables show
    assert data.table.row("15", "e0_male")["value"] < data.table.row("DG", "e0_male")["value"]  # type: ignore[index]


def test_every_gemeinde_kreis_and_land_has_the_structure_indicators(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = compare_data(tmp_path_factory)
    v = data.table.values
    med = v[v["indicator"] == "median_age"].groupby("level")["zone"].nunique()
    assert med["gemeinde"] == 1270  # all Gemeinden of the three Länder on 31.12.2019
    assert med["kreis"] == 50
    assert med["land"] == 3
    nat = v[v["indicator"] == "natural_balance"].groupby("level")["zone"].nunique()
    assert nat.to_dict() == {"kreis": 50, "land": 3}


def test_functional_age_groups_partition_the_population(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    g = functional_age_groups(IndicatorInputs(_single_ages()))
    assert len(g) == 2 * len(FUNCTIONAL_AGE_GROUPS)
    assert g.loc[g["sex"] == "f", "persons"].tolist() == [
        30,
        30,
        40,
        60,
        30,
        60,
        200,
        200,
        150,
        200,
    ]
    data = compare_data(tmp_path_factory)
    from wandel.store import Store
    from wandel.workflow.compare import age_groups_table

    frame, note = age_groups_table(data.db)
    assert "dl-de/by-2-0" in note
    by = frame.groupby(["zone", "sex"])
    assert np.allclose(by["share"].sum(), 1.0)
    tot = frame[frame["zone"] == "15087220"].groupby("sex")["persons"].sum()
    with Store.open(data.db, read_only=True) as store:
        pub = store.population(["15087220"], [2019], include_estimated=False)
    pub = pub[pub["sex"].isin(["m", "f"])].set_index("sex")["value"]
    assert tot["m"] == pytest.approx(pub["m"])
    assert tot["f"] == pytest.approx(pub["f"])

"""GENESIS classic table CSV: every real file reads, and published totals come out.

Expected numbers are taken from the published files by plain string operations on one line (or
typed from the publication), never from the reader's own output.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wandel.sources import genesis_classic as gc
from wandel.sources.registry import detect

STAT = "statistik"


def _lines(path: Path, encoding: str = "latin-1") -> list[str]:
    return path.read_bytes().decode(encoding).lstrip("\ufeff").splitlines()


def _num(text: str) -> float:
    return float(text.replace(".", "").replace(",", "."))


def _table(path: Path, name: str) -> pd.DataFrame:
    return gc.read(path).tables[name]


@pytest.fixture(scope="module")
def kreise_2020(shared_data: Path) -> tuple[Path, pd.DataFrame]:
    path = shared_data / STAT / "12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv"
    return path, _table(path, "population")


def test_every_real_classic_file_reads(shared_data: Path) -> None:
    files = [
        p for p in sorted((shared_data / STAT).glob("*.csv")) if not p.name.endswith("_long.csv")
    ]
    assert len(files) == 15
    for p in files:
        head = p.read_bytes()[:65536]
        assert gc.sniff(p, head), p.name
        batch = gc.read(p)
        assert batch.rows > 0, p.name
        assert batch.meta.table_code == p.name.split("_")[0].removesuffix(".csv")
        assert batch.meta.sha256
        assert batch.meta.kind == "genesis-classic"


def test_detect_names_classic(shared_data: Path) -> None:
    assert detect(shared_data / STAT / "12612-0001.csv") == "genesis-classic"


def test_sachsen_anhalt_and_mansfeld_suedharz_2020(kreise_2020: tuple[Path, pd.DataFrame]) -> None:
    path, pop = kreise_2020
    lines = _lines(path)
    for ags, published in (("15", 2_180_684), ("15087", 133_690)):
        row = next(
            ln.split(";") for ln in lines if ln.startswith(ags + ";") and ";Insgesamt;" in ln
        )
        assert _num(row[3]) == published  # the total column of the file's own total row
        assert _num(row[4]) + _num(row[5]) == published
        sub = pop[(pop["zone"] == ags) & (pop["year"] == 2020)]
        assert set(sub["sex"]) == {"m", "f"}
        assert len(sub) == 2 * 79  # 0..74 single, 75-79, 80-84, 85-89, 90+
        assert sub["value"].sum() == published
        m = next(ln.split(";") for ln in lines if ln.startswith(ags + ";") and "unter 1 Jahr" in ln)
        got = sub[(sub["sex"] == "m") & (sub["age_start"] == 0)]["value"].item()
        assert got == _num(m[4])


def test_kreis_age_groups_tile_and_open_group(kreise_2020: tuple[Path, pd.DataFrame]) -> None:
    _, pop = kreise_2020
    sub = pop[(pop["zone"] == "15087") & (pop["sex"] == "f")].sort_values("age_start")
    starts = sub["age_start"].to_numpy()
    ends = sub["age_end"].to_numpy(dtype=float, na_value=np.nan)
    assert starts[0] == 0
    assert (starts[1:] == ends[:-1]).all()  # contiguous half-open groups
    assert math.isnan(ends[-1])
    assert starts[-1] == 90
    # no totals left: neither sex "t" nor the all-ages group
    assert not (pop["sex"] == "t").any()
    assert not ((pop["age_start"] == 0) & pop["age_end"].isna()).any()
    # keys are strings with leading zeros; Länder, Kreise, Regierungsbezirke, Berlin Bezirke
    assert {len(z) for z in pop["zone"].unique()} == {2, 3, 5, 8} | {len("DG")}
    assert "01001" in set(pop["zone"])


def test_dissolved_kreis_keeps_status(kreise_2020: tuple[Path, pd.DataFrame]) -> None:
    _, pop = kreise_2020
    gone = pop[pop["zone"] == "03152"]  # Göttingen, Landkreis (old key): "-" everywhere
    assert len(gone) > 0
    assert gone["value"].isna().all()
    assert (gone["status"] == "nothing").all()


def test_germany_2021_total(shared_data: Path) -> None:
    path = shared_data / STAT / "12411-0005_deutschland_altersjahre_2000-2021.csv"
    lines = _lines(path)
    header = next(ln for ln in lines if ln.startswith(";31.12.2000")).split(";")
    col = header.index("31.12.2021")
    total = _num(next(ln for ln in lines if ln.startswith("Insgesamt;")).split(";")[col])
    assert total == 83_237_124
    pop = _table(path, "population")
    y = pop[pop["year"] == 2021]
    assert set(y["zone"]) == {"DG"}
    assert set(y["sex"]) == {"t"}
    assert y["value"].sum() == total
    assert y["age_start"].max() == 85
    assert y["age_end"].isna().sum() == 1


def test_kreise_count_12411_0018(shared_data: Path) -> None:
    path = shared_data / STAT / "12411-0018_kreise_geschlecht_altersgruppen_2015-2017.csv"
    by_hand = {ln.split(";")[1] for ln in _lines(path) if ln.startswith("31.12.2017;")}
    pop = _table(path, "population")
    kreise = set(pop.loc[(pop["year"] == 2017) & (pop["zone"].str.len() == 5), "zone"])
    assert kreise == {z for z in by_hand if len(z) == 5}
    assert 395 <= len(kreise) <= 405
    rows = [ln for ln in _lines(path) if ln[:6] == "31.12."]
    assert len(pop) == len(rows) * 2 * 17


def test_births_2023(shared_data: Path) -> None:
    path = shared_data / STAT / "12612-0001.csv"
    row = next(ln for ln in _lines(path, "utf-8") if ln.startswith("2023;")).split(";")
    assert float(row[5]) == 692_989 == float(row[1]) + float(row[3])
    births = _table(path, "births")
    y = births[births["year"] == 2023]
    assert set(y["sex"]) == {"m", "f"}
    assert set(y["zone"]) == {"DG"}
    assert y["value"].sum() == 692_989
    assert (y["flag"] == "e").all()
    # 1950..2023, both sexes, English export read with decimal point
    assert births["year"].min() == 1950
    assert len(births) == 2 * 74
    # sex ratio at birth stays within the published 1.052..1.058 band in recent decades
    w = births.pivot(index="year", columns="sex", values="value")
    srb = (w["m"] / w["f"]).loc[1990:]
    assert srb.between(1.04, 1.07).all()


def test_life_table_e0_2022_24(shared_data: Path) -> None:
    lt = _table(shared_data / STAT / "12621-0001_full_Sterbetafel2022-2024.csv", "life_tables")
    e0 = lt[lt["age"] == 0].set_index("sex")["ex"]
    assert e0["m"] == pytest.approx(78.47)
    assert e0["f"] == pytest.approx(83.19)
    assert set(lt["period"]) == {"2022/24"}
    for _sex, g in lt.groupby("sex"):
        g = g.sort_values("age")
        assert g["age"].tolist() == list(range(101))
        assert g["open"].tolist() == [False] * 100 + [True]
        assert (g["qx"].between(0, 1)).all()
        assert (np.diff(g["lx"].to_numpy()) <= 0).all()
        assert g["px"].to_numpy() + g["qx"].to_numpy() == pytest.approx(1.0, abs=1e-7)
        tx, lx_ = g["Tx"].to_numpy(), g["nLx"].to_numpy()
        assert np.abs(tx[:-1] - tx[1:] - lx_[:-1]).max() <= 1.0  # T(x) = T(x+1) + L(x), rounded


def test_qx_file_periods_and_missing_ages(shared_data: Path) -> None:
    path = shared_data / STAT / "12621-0001_qx_1991-93_bis_2022-24_DE.csv"
    lines = _lines(path, "utf-8")
    periods = [ln.split(";")[0] for ln in lines if ln[:4].isdigit() and "/" in ln[:8]]
    lt = _table(path, "life_tables")
    assert sorted(set(lt["period"])) == sorted(periods)
    assert len(lt) == len(periods) * 2 * 101
    first = lt[(lt["period"] == "1991/93") & (lt["sex"] == "m")].set_index("age")
    assert first.loc[0, "qx"] == pytest.approx(0.00698929)
    assert math.isnan(first.loc[95, "qx"])  # "-" in the file: no figure
    assert first["open"].sum() == 1
    assert bool(first.loc[100, "open"])


def test_projection_in_persons(shared_data: Path) -> None:
    path = shared_data / STAT / "12421-0002_deutschland_vorausberechnung_15kBV_variante01.csv"
    row = next(ln for ln in _lines(path) if ";männlich;unter 1 Jahr;" in ln).split(";")
    proj = _table(path, "official_projection")
    got = proj[(proj["year"] == 2022) & (proj["sex"] == "m") & (proj["age_start"] == 0)]
    assert got["value"].item() == pytest.approx(_num(row[4]) * 1000)
    assert set(proj["variant"]) == {"BEV-VARIANTE-01 (G2L2W1)"}
    assert proj["year"].min() == 2022
    assert proj["year"].max() == 2070
    total_2022 = proj[proj["year"] == 2022]["value"].sum()
    assert 83.5e6 < total_2022 < 85.5e6


def test_fertility_tables(shared_data: Path) -> None:
    asfr = _table(shared_data / STAT / "12612-0008.csv", "fertility")
    assert set(asfr["measure"]) == {"asfr_per_1000"}
    assert sorted(set(asfr["age_start"])) == list(range(15, 50))
    tfr = _table(shared_data / STAT / "12612-0009.csv", "fertility")
    t = tfr[(tfr["year"] == 1972) & (tfr["age_end"] == 50)]["value"].item()
    assert t == pytest.approx(1.732)
    # TFR identity: sum of the ASFR (per 1000) over ages 15..49 / 1000 = TFR (rounding)
    s = asfr[asfr["year"] == 1972]["value"].sum() / 1000
    assert s == pytest.approx(t, abs=0.01)
    order = _table(shared_data / STAT / "12612-0005.csv", "fertility")
    assert set(order["category"]) == {"order:1", "order:2", "order:3", "order:4+"}
    first = order[(order["category"] == "order:1") & (order["age_start"] == 30)]
    assert first["value"].item() == 24752
    under15 = order[(order["category"] == "order:1") & (order["age_end"] == 15)]
    assert under15["status"].item() == "unknown"
    assert math.isnan(under15["value"].item())
    mean_age = _table(shared_data / STAT / "12612-0014.csv", "fertility")
    m = mean_age[(mean_age["year"] == 2023) & (mean_age["category"] == "order:1")]
    assert m["value"].item() == pytest.approx(30.3)
    nrr = _table(shared_data / STAT / "12612-0011.csv", "fertility")
    assert set(nrr["measure"]) == {"nrr"}
    assert nrr["value"].between(0.5, 1.0).all()


def test_care_suppressed_cell_stays_nan(shared_data: Path) -> None:
    care = _table(
        shared_data / STAT / "22411-02-03-4_pflegebeduerftige_kreise_2015-2019.csv", "care"
    )
    cell = care[
        (care["zone"] == "11001001")
        & (care["year"] == 2019)
        & (care["sex"] == "m")
        & (care["care_type"] == "all")
    ]
    assert cell["status"].item() == "not_meaningful"
    assert math.isnan(cell["value"].item())
    home = care[
        (care["zone"] == "11001001")
        & (care["year"] == 2019)
        & (care["care_type"] == "home_care_service")
    ]
    assert home.set_index("sex")["value"].to_dict() == {"m": 1127.0, "f": 2079.0}
    de = care[(care["zone"] == "DG") & (care["year"] == 2019) & (care["care_type"] == "all")]
    assert de["value"].sum() == 4_127_605
    assert {2015, 2017, 2019} == set(care["year"])


def test_small_fixtures(fixtures: Path) -> None:
    pop = _table(fixtures / "genesis" / "12411-0018_small_de.csv", "population")
    st = pop[pop["zone"] == "15"]["value"].sum()
    assert st == 2_193_898  # the file's grand total, verified then dropped
    assert not (pop["sex"] == "t").any()
    saale = pop[pop["zone"] == "15088"]
    assert saale["status"].eq("unknown").sum() == 1
    en = _table(fixtures / "genesis" / "12612-0001_small_en.csv", "births")
    assert en[en["year"] == 2021]["value"].sum() == 795_292
    assert set(en[en["year"] == 2023]["flag"]) == {"p"}


def test_deterministic(fixtures: Path) -> None:
    path = fixtures / "genesis" / "12411-0018_small_de.csv"
    a = _table(path, "population")
    b = _table(path, "population")
    pd.testing.assert_frame_equal(a, b)

"""Tidy Regionaldatenbank extracts: births/deaths, migration, fertility (wandel.sources.rdb_tidy)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wandel.errors import (
    DuplicateKeyError,
    InconsistentTotalError,
    InputFormatError,
    MissingColumnError,
)
from wandel.sources import rdb_tidy
from wandel.sources.rdb_tidy import parse_age_group

RDB = "regionaldatenbank"
EVENTS = "12612_12613_geburten_sterbefaelle_kreise_14_15_16_2020-2024.csv"
MIGRATION = "12711-01-03-4_wanderungen_kreise_14_15_16_2020_2023_2024.csv"
ASFR = "statistik/12612-0008_asfr_deutschland_1972-2023_long.csv"


def _raw_lines(path: Path) -> list[list[str]]:
    """The naive oracle: plain string splitting of a file without quoted fields."""
    return [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()[1:]]


# ------------------------------------------------------------------ births and deaths (real data)


@pytest.fixture(scope="module")
def events(shared_data: Path) -> rdb_tidy.ImportBatch:
    return rdb_tidy.read(shared_data / RDB / EVENTS)


def test_events_known_values_read_by_hand(events: rdb_tidy.ImportBatch, shared_data: Path) -> None:
    raw = {(y, a, v): int(c) for y, a, v, c in _raw_lines(shared_data / RDB / EVENTS)}
    # Mansfeld-Südharz (15087), as the file states it
    assert raw[("2020", "15087", "births")] == 830
    births = events.tables["births"].set_index(["zone", "year"])["value"]
    deaths = events.tables["deaths"].set_index(["zone", "year"])["value"]
    assert births[("15087", 2020)] == 830
    assert deaths[("15087", 2024)] == 2375
    assert births[("14511", 2020)] == 2185  # Chemnitz, first data row
    assert len(births) + len(deaths) == len(raw) == 492


def test_events_land_sums_equal_independent_sum(
    events: rdb_tidy.ImportBatch, shared_data: Path
) -> None:
    oracle: dict[tuple[str, str, int], int] = defaultdict(int)
    for year, ags, var, count in _raw_lines(shared_data / RDB / EVENTS):
        oracle[(var, ags[:2], int(year))] += int(count)
    for var in ("births", "deaths"):
        t = events.tables[var]
        land = t.groupby([t["zone"].str[:2], "year"])["value"].sum()
        assert len(land) == 15  # 3 Länder x 5 years
        for (l_key, year), total in land.items():
            assert total == oracle[(var, l_key, year)]
    # deaths exceed births in every Land and year (the region's natural decrease)
    by = ["zone", "year"]
    b = events.tables["births"].assign(zone=lambda f: f["zone"].str[:2]).groupby(by)["value"].sum()
    d = events.tables["deaths"].assign(zone=lambda f: f["zone"].str[:2]).groupby(by)["value"].sum()
    assert (d > b).all()
    assert len(b) == 15


def test_events_keys_and_kreis_reform(events: rdb_tidy.ImportBatch) -> None:
    births = events.tables["births"]
    assert births["zone"].str.fullmatch(r"1[456]\d{3}").all()
    assert (births["sex"] == "t").all()
    assert (births["age_start"] == 0).all()
    assert births["age_end"].isna().all()
    per_year = births.groupby("year")["zone"].nunique()
    # Eisenach (16056) joined the Wartburgkreis on 1 July 2021: 50 Kreise in 2020, 49 after
    assert per_year.to_dict() == {2020: 50, 2021: 49, 2022: 49, 2023: 49, 2024: 49}
    assert "16056" in set(births.loc[births["year"] == 2020, "zone"])


# ------------------------------------------------------------------ migration (real data)


@pytest.fixture(scope="module")
def migration(shared_data: Path) -> pd.DataFrame:
    batch = rdb_tidy.read(shared_data / RDB / MIGRATION)
    assert batch.rows_read == 3171
    # 151 zone-years x (3 all-ages rows + 6 age groups of sex "Insgesamt") verified and dropped
    assert batch.rejected == (("verified total rows (Insgesamt), redundant", 151 * 9),)
    return batch.tables["migration"]


def test_migration_totals_match_raw_insgesamt(migration: pd.DataFrame, shared_data: Path) -> None:
    raw = {}
    for line in (shared_data / RDB / MIGRATION).read_text(encoding="utf-8").splitlines()[1:]:
        jahr, ags = line.split(",", 2)[:2]
        fields = line.rsplit(",", 5)  # geschlecht, altersgruppe, fortzuege, zuzuege, saldo
        if fields[1] == "Insgesamt" and fields[2] == "Insgesamt":
            raw[(ags, int(jahr))] = (int(fields[3]), int(fields[4]), int(fields[5]))
    assert raw[("14", 2020)] == (179130, 193529, 14399)
    assert raw[("15087", 2024)] == (5664, 6241, 577)
    sums = migration.pivot_table(
        index=["zone", "year"], columns="direction", values="value", aggfunc="sum"
    )
    assert len(sums) == len(raw) == 151
    for (ags, year), (out, inn, saldo) in raw.items():
        assert sums.loc[(ags, year), "out"] == out
        assert sums.loc[(ags, year), "in"] == inn
        assert sums.loc[(ags, year), "in"] - sums.loc[(ags, year), "out"] == saldo


def test_migration_shape_and_keys(migration: pd.DataFrame) -> None:
    assert set(migration["sex"]) == {"m", "f"}
    assert set(migration["direction"]) == {"in", "out"}
    assert (migration["partner"] == "").all()
    assert (migration["value"] >= 0).all()
    groups = migration[["age_start", "age_end"]].drop_duplicates().sort_values("age_start")
    assert groups["age_start"].tolist() == [0, 18, 25, 30, 50, 65]
    assert groups["age_end"].tolist()[:5] == [18, 25, 30, 50, 65]
    assert pd.isna(groups["age_end"].tolist()[5])
    assert migration["zone"].str.len().isin([2, 5]).all()
    # 2 sexes x 6 ages x 2 directions per zone-year, keys unique
    assert migration.groupby(["zone", "year"]).size().eq(24).all()
    key = ["zone", "year", "sex", "age_start", "direction"]
    assert not migration.duplicated(key).any()


def test_migration_is_deterministic(shared_data: Path, migration: pd.DataFrame) -> None:
    again = rdb_tidy.read(shared_data / RDB / MIGRATION).tables["migration"]
    pd.testing.assert_frame_equal(again, migration)


# ------------------------------------------------------------------ fertility (real data)


def test_fertility_tfr_matches_published(shared_data: Path) -> None:
    batch = rdb_tidy.read(shared_data / ASFR)
    f = batch.tables["fertility"]
    assert len(f) == 52 * 35
    assert set(f["zone"]) == {"DG"}
    assert set(f["measure"]) == {"asfr_per_1000"}
    assert (f["age_end"] - f["age_start"] == 1).all()
    tfr = f.groupby("year")["value"].sum() / 1000.0
    # Destatis 12612-0009, TFR of women 15 to under 50; 35 rates rounded to 0.1 per 1000 each
    # leave at most 35 * 0.05 / 1000 = 0.00175 of rounding error
    published = {1972: 1.732, 1990: 1.454, 2016: 1.592, 2021: 1.576, 2022: 1.455, 2023: 1.354}
    for year, value in published.items():
        assert tfr[year] == pytest.approx(value, abs=0.00175)


# ------------------------------------------------------------------ fixtures and labels


def test_small_migration_fixture(fixtures: Path) -> None:
    batch = rdb_tidy.read(fixtures / "rdb" / "migration_small.csv")
    m = batch.tables["migration"].set_index(["sex", "age_start", "direction"])["value"]
    assert m[("m", 0, "in")] == 11
    assert m[("f", 18, "out")] == 8
    assert m.sum() == 30 + 45
    assert batch.rejected[0][1] == 5  # 3 all-ages rows + 2 age groups of "Insgesamt"


def test_small_events_and_asfr_fixtures(fixtures: Path) -> None:
    ev = rdb_tidy.read(fixtures / "rdb" / "births_deaths_small.csv")
    assert ev.tables["births"]["value"].tolist() == [700.0, 649.0]
    assert ev.tables["deaths"]["value"].sum() == 4775.0
    asfr = rdb_tidy.read(fixtures / "rdb" / "asfr_small.csv").tables["fertility"]
    assert asfr["value"].sum() == pytest.approx(5.0)


def test_sniff(fixtures: Path, shared_data: Path) -> None:
    for name in ("migration_small.csv", "births_deaths_small.csv", "asfr_small.csv"):
        p = fixtures / "rdb" / name
        assert rdb_tidy.sniff(p, p.read_bytes()[:65536])
    classic = shared_data / "statistik" / "12612-0008.csv"
    assert not rdb_tidy.sniff(classic, classic.read_bytes()[:65536])


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("unter 18 Jahre", (0, 18)),
        ("18 bis unter 25 Jahre", (18, 25)),
        ("65 Jahre und mehr", (65, None)),
        ("unter 1 Jahr", (0, 1)),
        ("1-Jährige", (1, 2)),
        ("49", (49, 50)),
        ("Insgesamt", None),
    ],
)
def test_parse_age_group(label: str, expected: tuple[int, int | None] | None) -> None:
    assert parse_age_group(label) == expected


@pytest.mark.parametrize("label", ["25 bis unter 18 Jahre", "achtzehn", "", "18 bis 25"])
def test_parse_age_group_unknown(label: str) -> None:
    with pytest.raises(ValueError, match="unknown age label"):
        parse_age_group(label)


@given(st.integers(0, 110), st.integers(1, 20))
@settings(max_examples=50, deadline=None)
def test_parse_age_group_roundtrip(start: int, width: int) -> None:
    assert parse_age_group(f"{start} bis unter {start + width} Jahre") == (start, start + width)
    assert parse_age_group(f"{start} Jahre und mehr") == (start, None)


# ------------------------------------------------------------------ bad input


def _mig(fixtures: Path) -> list[str]:
    return (fixtures / "rdb" / "migration_small.csv").read_text(encoding="utf-8").splitlines()


def _variant(lines: list[str], line_no: int, old: str, new: str) -> str:
    out = list(lines)
    assert old in out[line_no - 1]
    out[line_no - 1] = out[line_no - 1].replace(old, new, 1)
    return "\n".join(out) + "\n"


BAD = [
    # name, line to change, old text, new text, error, line, column, value
    ("saldo contradicts", 3, ",10,20,10", ",10,20,11", InconsistentTotalError, 3, "saldo", "11"),
    ("negative count", 6, ",6,11,5", ",-6,11,17", InputFormatError, 6, "fortzuege", "-6"),
    ("text in count", 7, ",12,14,2", ",12,vierzehn,2", InputFormatError, 7, "zuzuege", "vierzehn"),
    ("decimal in count", 7, ",12,14,2", ",12,14.0,2", InputFormatError, 7, "zuzuege", "14.0"),
    ("AGS w/o leading 0", 4, "2023,15087", "2023,1508", InputFormatError, 4, "ags", "1508"),
    ("ags fits no level", 4, ",Kreis,", ",Land,", InputFormatError, 4, "ags", "15087"),
    ("bad year", 2, "2023,", "23,", InputFormatError, 2, "jahr", "23"),
    ("unknown sex", 5, "männlich", "divers", InputFormatError, 5, "geschlecht", "divers"),
    ("unknown age", 3, "unter 18 Jahre", "Kinder", InputFormatError, 3, "altersgruppe", "Kinder"),
    ("duplicate key", 4, "18 Jahre und mehr", "unter 18 Jahre", DuplicateKeyError, 4, None, None),
    ("ages contradict total", 2, ",30,45,15", ",31,45,14", InconsistentTotalError, 2, None, 31),
    ("m+f contradict total", 8, ",12,20,8", ",12,21,9", InconsistentTotalError, None, None, None),
    ("ragged row", 6, ",6,11,5", ",6,11,5,0", InputFormatError, 6, None, None),
]


@pytest.mark.parametrize(
    ("name", "line_no", "old", "new", "error", "line", "column", "value"),
    BAD,
    ids=[b[0] for b in BAD],
)
def test_bad_migration_variants(
    fixtures: Path,
    tmp_path: Path,
    name: str,
    line_no: int,
    old: str,
    new: str,
    error: type[InputFormatError],
    line: int | None,
    column: str | None,
    value: object,
) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(_variant(_mig(fixtures), line_no, old, new), encoding="utf-8")
    with pytest.raises(error) as info:
        rdb_tidy.read(p)
    exc = info.value
    assert exc.file == str(p)
    assert exc.line is not None
    if line is not None:
        assert exc.line == line
    if column is not None:
        assert exc.column == column
    if value is not None:
        assert exc.value == value
    assert exc.expected
    assert str(p) in str(exc)


def test_bad_sums_point_at_total_row(fixtures: Path, tmp_path: Path) -> None:
    # m + f of "unter 18 Jahre" (zuzuege 11 + 9) no longer equal the Insgesamt row's 20
    p = tmp_path / "mf.csv"
    p.write_text(_variant(_mig(fixtures), 9, ",4,9,5", ",4,10,6"), encoding="utf-8")
    with pytest.raises(InconsistentTotalError) as info:
        rdb_tidy.read(p)
    # the female age groups no longer add up to the female total (line 8) -> reported first
    assert info.value.line == 8
    assert info.value.column == "zuzuege"
    assert info.value.value == 20


def test_missing_column(fixtures: Path, tmp_path: Path) -> None:
    lines = [",".join(f.split(",")[:-2]) for f in _mig(fixtures)]  # drop zuzuege, saldo
    p = tmp_path / "missing.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(MissingColumnError) as info:
        rdb_tidy.read(p)
    assert info.value.line == 1
    assert info.value.column == "zuzuege"


@pytest.mark.parametrize(
    ("text", "line", "column", "value"),
    [
        ("", 1, None, None),
        ("year,ags_kreis,variable,count_total_both_sexes\n", 2, None, None),
        (
            "year,ags_kreis,variable,count_total_both_sexes\n2020,1508,births,1\n",
            2,
            "ags_kreis",
            "1508",
        ),
        (
            "year,ags_kreis,variable,count_total_both_sexes\n2020,15087,babies,1\n",
            2,
            "variable",
            "babies",
        ),
        (
            "year,ags_kreis,variable,count_total_both_sexes\n2020,15087,births,.\n",
            2,
            "count_total_both_sexes",
            ".",
        ),
        (
            "year,ags_kreis,variable,count_total_both_sexes\n2020,15087,births,1\n2020,15087,births,2\n",
            3,
            "ags_kreis",
            "15087",
        ),
        ("year,age_of_mother,live_births_per_1000_women\n2023,15,1,5\n", 2, None, None),
        (
            "year,age_of_mother,live_births_per_1000_women\n2023,15,-0.5\n",
            2,
            "live_births_per_1000_women",
            "-0.5",
        ),
        (
            "year,age_of_mother,live_births_per_1000_women\n2023,Insgesamt,1.5\n",
            2,
            "age_of_mother",
            "Insgesamt",
        ),
    ],
)
def test_bad_small_files(
    tmp_path: Path, text: str, line: int, column: str | None, value: str | None
) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        rdb_tidy.read(p)
    assert info.value.file == str(p)
    assert info.value.line == line
    assert info.value.column == column
    if value is not None:
        assert info.value.value == value


def test_undecodable_bytes(tmp_path: Path) -> None:
    p = tmp_path / "bytes.csv"
    p.write_bytes(b"year,ags_kreis,variable,count_total_both_sexes\n2020,15087,births,1\x81\n")
    with pytest.raises(InputFormatError) as info:
        rdb_tidy.read(p)
    assert info.value.line == 2


@given(st.text(alphabet=st.sampled_from("0123456789,;-.\nabx\"' "), max_size=120))
@settings(max_examples=150, deadline=None)
def test_random_bodies_never_crash(body: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "h.csv"
        p.write_text("jahr,ags,geschlecht,altersgruppe,fortzuege,zuzuege,saldo\n" + body)
        error: InputFormatError | None = None
        try:
            batch = rdb_tidy.read(p)
        except InputFormatError as exc:
            error = exc
        if error is not None:
            assert error.file == str(p)
        else:
            assert (batch.tables["migration"]["value"] >= 0).all()

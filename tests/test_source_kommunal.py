"""Municipal open-data CSVs (Dresden): the city's projection by single age and official totals.

Real numbers from the two files typed from Dresden's open-data portal; malformed variants are made
from the real text, and every error must name file, line, column and value.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wandel.ages import totals
from wandel.cli import app
from wandel.errors import DuplicateKeyError, InputFormatError, MissingColumnError, say
from wandel.sources.base import ImportBatch
from wandel.sources.kommunal import parse_single_age, parse_stichtag, read, sniff
from wandel.sources.registry import detect
from wandel.store import Store

runner = CliRunner()

PROJ = "dresden/dresden_einwohnerprognose_einzelalter_2025_2040.csv"
TOT = "dresden/dresden_amtliche_einwohnerzahl_statistisches_landesamt_1999_2025.csv"
GV2019 = "gemeindeverzeichnis/AuszugGV4QAktuell_2019.csv"
DRESDEN = "14612000"


def _line(year: int, age: int) -> int:
    """Line of (year, age) in the real projection file: header on line 1, 86 ages per year."""
    return 2 + (year - 2025) * 86 + age


def _text(shared: Path, rel: str) -> str:
    return (shared / rel).read_bytes().decode("utf-8").replace("\r\n", "\n")


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    f = tmp_path / name
    f.write_bytes(text.encode(encoding))
    return f


def _error(
    f: Path, error: type[InputFormatError] = InputFormatError, zone: str = DRESDEN
) -> InputFormatError:
    with pytest.raises(error) as info:
        read(f, zone=zone)
    return info.value


# ---------------------------------------------------------------------------------------------
# the real files


@pytest.fixture(scope="module")
def projection(shared_data: Path) -> pd.DataFrame:
    return read(shared_data / PROJ, zone=DRESDEN).tables["official_projection"]


@pytest.fixture(scope="module")
def totals_batch(shared_data: Path) -> ImportBatch:
    return read(shared_data / TOT, zone=DRESDEN)


def test_projection_real_file(projection: pd.DataFrame) -> None:
    assert len(projection) == 16 * 86 == 1376
    assert set(projection["year"]) == set(range(2025, 2041))
    assert (projection.groupby("year").size() == 86).all()
    by_year = projection.groupby("year")["value"].sum()
    assert by_year[2025] == 571_476
    assert by_year[2040] == 587_870
    assert set(projection["zone"]) == {DRESDEN}
    assert set(projection["variant"]) == {"kommunal"}
    assert set(projection["sex"]) == {"t"}
    assert projection["status"].isna().all()
    # the base year cannot be encoded: flag holds p/r/s/e only, so it stays empty
    assert projection["flag"].isna().all()
    first = projection[(projection["year"] == 2025) & (projection["age_start"] == 0)]
    assert first["value"].tolist() == [3928]


def test_projection_ages_are_single_years_and_85_plus_open(projection: pd.DataFrame) -> None:
    closed = projection[projection["age_start"] < 85]
    assert (closed["age_end"] == closed["age_start"] + 1).all()
    open_ = projection[projection["age_start"] == 85]
    assert len(open_) == 16
    assert open_["age_end"].isna().all()
    assert projection.loc[projection["age_end"].isna(), "age_start"].eq(85).all()
    # 85+ in 2025 as published
    assert open_.loc[open_["year"] == 2025, "value"].tolist() == [25_425]


def test_projection_rounded_to_ten_after_the_base_year(projection: pd.DataFrame) -> None:
    later = projection[projection["year"] > 2025]["value"].to_numpy()
    assert (later % 10 == 0).all()
    base = projection[projection["year"] == 2025]["value"].to_numpy()
    assert (base % 10 != 0).any()


def test_projection_variant_option(shared_data: Path) -> None:
    b = read(shared_data / PROJ, zone="14612", variant="Hauptvariante 2025")
    t = b.tables["official_projection"]
    assert set(t["variant"]) == {"Hauptvariante 2025"}
    assert set(t["zone"]) == {"14612"}
    assert "Hauptvariante 2025" in b.meta.title
    assert b.meta.table_code == "kommunal-prognose"


def test_totals_real_file(totals_batch: ImportBatch) -> None:
    pop = totals_batch.tables["population"]
    assert totals_batch.rows_read == 108
    assert len(pop) == 27
    assert pop["year"].tolist() == list(range(1999, 2026))
    ((reason, left_out),) = totals_batch.rejected
    assert left_out == 81
    assert say(reason, "en") == "Stichtag not 31 December (31.03., 30.06., 30.09.)"
    assert say(reason, "de") == "Stichtag nicht der 31. Dezember (31.03., 30.06., 30.09.)"
    value = pop.set_index("year")["value"]
    assert value[2019] == 556_780
    assert value[2025] == 562_764
    assert set(pop["sex"]) == {"t"}
    assert (pop["age_start"] == 0).all()
    assert pop["age_end"].isna().all()
    assert not pop["estimated"].any()
    assert set(pop["zone"]) == {DRESDEN}


def test_meta_is_generic_with_licence(totals_batch: ImportBatch) -> None:
    meta = totals_batch.meta
    assert meta.kind == "kommunal"
    assert meta.producer == "Kommunale Statistikstelle (Open-Data-Portal)"
    assert "dl-de/by-2-0" in meta.licence
    assert meta.table_code == "kommunal-einwohner"
    assert len(meta.sha256) == 64


def test_detection_picks_kommunal_for_both_real_files(shared_data: Path) -> None:
    assert detect(shared_data / PROJ) == "kommunal"
    assert detect(shared_data / TOT) == "kommunal"


def test_detection_of_other_real_files_unchanged(shared_data: Path) -> None:
    others = [
        f
        for f in sorted(shared_data.rglob("*"))
        if f.is_file()
        and f.suffix.lower() in {".csv", ".txt", ".xlsx", ".zip", ".json"}
        and "dresden" not in f.parts
    ]
    assert len(others) >= 20
    for f in others:
        assert not sniff(f, f.read_bytes()[:65536]), f
        assert detect(f) != "kommunal", f


# ---------------------------------------------------------------------------------------------
# zone option


def test_missing_zone_is_a_clear_error(shared_data: Path) -> None:
    with pytest.raises(InputFormatError) as info:
        read(shared_data / PROJ)
    msg = str(info.value)
    assert PROJ.split("/")[1] in msg
    assert "names no zone" in msg
    assert "--zone" in msg
    assert "14612000" in msg


@pytest.mark.parametrize(
    ("zone", "why"),
    [("1461200", "7 digits"), ("14", "2 digits"), ("146120000", "9 digits"), ("99612", "no Land")],
)
def test_bad_zone_is_refused(shared_data: Path, zone: str, why: str) -> None:
    with pytest.raises(InputFormatError) as info:
        read(shared_data / TOT, zone=zone)
    assert why in str(info.value)
    assert info.value.value == zone


# ---------------------------------------------------------------------------------------------
# malformed variants of the real projection


def test_missing_column(tmp_path: Path, shared_data: Path) -> None:
    lines = _text(shared_data, PROJ).split("\n")
    text = "\n".join(",".join(x.split(",")[:2] + x.split(",")[3:]) for x in lines if x)
    err = _error(_write(tmp_path, "p.csv", text), MissingColumnError)
    assert err.file.endswith("p.csv")
    assert err.line == 1
    assert err.column == "einwohner"
    assert err.value == "jahr,alter,hinweis"
    assert "einwohner|population|value" in str(err)


def test_gap_in_ages(tmp_path: Path, shared_data: Path) -> None:
    lines = _text(shared_data, PROJ).split("\n")
    del lines[_line(2025, 42) - 1]
    err = _error(_write(tmp_path, "p.csv", "\n".join(lines)))
    assert (err.line, err.column, err.value) == (_line(2025, 42), "alter", "43")
    assert "year 2025: gap in the ages: no row for age 42" in str(err)


def test_gap_in_a_later_year(tmp_path: Path, shared_data: Path) -> None:
    lines = _text(shared_data, PROJ).split("\n")
    for age in (10, 11, 12):
        lines[_line(2031, age) - 1] = ""
    err = _error(_write(tmp_path, "p.csv", "\n".join(lines)))
    assert (err.line, err.value) == (_line(2031, 13), "13")
    assert "year 2031" in str(err)
    assert "no row for age 10..12" in str(err)


def test_duplicated_age(tmp_path: Path, shared_data: Path) -> None:
    lines = _text(shared_data, PROJ).split("\n")
    i = _line(2026, 10) - 1
    lines.insert(i + 1, lines[i])
    err = _error(_write(tmp_path, "p.csv", "\n".join(lines)), DuplicateKeyError)
    assert (err.line, err.column, err.value) == (_line(2026, 11), "alter", "10")
    assert "year 2026: age 10 appears twice" in str(err)


def test_two_open_groups(tmp_path: Path, shared_data: Path) -> None:
    lines = _text(shared_data, PROJ).split("\n")
    i = _line(2030, 85) - 1
    lines.insert(i + 1, "2030,90+,100,Prognose (gerundet auf 10)")
    err = _error(_write(tmp_path, "p.csv", "\n".join(lines)))
    assert (err.line, err.column, err.value) == (_line(2030, 86), "alter", "90+")
    assert "two open age groups (85+ and 90+)" in str(err)


def test_no_open_group(tmp_path: Path, shared_data: Path) -> None:
    lines = _text(shared_data, PROJ).split("\n")
    lines[_line(2025, 85) - 1] = lines[_line(2025, 85) - 1].replace("85+", "85")
    err = _error(_write(tmp_path, "p.csv", "\n".join(lines)))
    assert (err.line, err.value) == (_line(2025, 85), "85")
    assert "no open age group" in str(err)


def test_open_group_must_be_the_same_every_year(tmp_path: Path, shared_data: Path) -> None:
    lines = _text(shared_data, PROJ).split("\n")
    i = _line(2040, 85) - 1
    lines[i] = "2040,85,5000,x"
    lines[i + 1 : i + 1] = [f"2040,{a},5000,x" for a in range(86, 90)] + ["2040,90+,6000,x"]
    err = _error(_write(tmp_path, "p.csv", "\n".join(lines)))
    assert err.value == "90+"
    assert err.line == _line(2040, 90)
    assert "ages 0..89, 90+, but 0..84, 85+ in year 2025" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("2025,0,3928,", "2025,0,-3928,", (2, "einwohner", "-3928"), "negative count"),
        ("2025,0,3928,", '2025,0,"3928,5",', (2, "einwohner", "3928,5"), "not a whole number"),
        ("2025,3,4788,", "2025,3,4788a,", (5, "einwohner", "4788a"), ""),
        ("2025,3,4788,", "2025,3,,", (5, "einwohner", ""), "empty cell"),
        ("2025,3,4788,", "2025,3 bis unter 6,4788,", (5, "alter", "3 bis unter 6"), ""),
        ("2025,3,4788,", "25,3,4788,", (5, "jahr", "25"), ""),
    ],
    ids=["negative", "decimal", "text", "empty", "age-group", "year"],
)
def test_bad_cell_is_refused_at_its_place(
    tmp_path: Path,
    shared_data: Path,
    old: str,
    new: str,
    where: tuple[int, str, str],
    message: str,
) -> None:
    text = _text(shared_data, PROJ).replace(old, new, 1)
    err = _error(_write(tmp_path, "p.csv", text))
    assert (err.line, err.column, err.value) == where
    assert message in str(err)


def test_genesis_symbol_becomes_status(tmp_path: Path, shared_data: Path) -> None:
    lines = _text(shared_data, PROJ).split("\n")
    i = _line(2030, 50) - 1
    assert lines[i].startswith("2030,50,")
    lines[i] = "2030,50,.,Prognose (gerundet auf 10)"
    f = _write(tmp_path, "p.csv", "\n".join(lines))
    t = read(f, zone=DRESDEN).tables["official_projection"]
    assert len(t) == 1376
    cell = t[(t["year"] == 2030) & (t["age_start"] == 50)]
    assert cell["status"].tolist() == ["unknown"]
    assert np.isnan(cell["value"].to_numpy()).all()
    assert t["status"].notna().sum() == 1


def test_cp1252_with_umlaut_and_german_open_group(tmp_path: Path, shared_data: Path) -> None:
    text = (
        _text(shared_data, PROJ)
        .replace("Basisjahr (ungerundet)", "Basisjahr (tatsächlich ungerundet)")
        .replace(",85+,", ",85 und älter,")
    )
    f = _write(tmp_path, "p.csv", text, "cp1252")
    assert "ä".encode("cp1252") in f.read_bytes()
    assert detect(f) == "kommunal"
    t = read(f, zone=DRESDEN).tables["official_projection"]
    assert len(t) == 1376
    assert t.groupby("year")["value"].sum()[2025] == 571_476
    assert t.loc[t["age_end"].isna(), "age_start"].eq(85).all()


def test_semicolon_delimiter_and_bom(
    tmp_path: Path, shared_data: Path, projection: pd.DataFrame
) -> None:
    text = "\ufeff" + _text(shared_data, PROJ).replace(",", ";")
    f = _write(tmp_path, "p.csv", text)
    assert detect(f) == "kommunal"
    t = read(f, zone=DRESDEN).tables["official_projection"]
    pd.testing.assert_frame_equal(t, projection)


def test_english_header_and_sex_column(tmp_path: Path) -> None:
    rows = ["Year;Sex;Age;Population;Note"]
    for year in (2030, 2031):
        for sex, k in (("männlich", 1), ("weiblich", 2)):
            rows += [f"{year};{sex};{a};{k * 10 + a};" for a in range(3)]
            rows.append(f"{year};{sex};3 and over;{k * 100}; ")
    f = _write(tmp_path, "e.csv", "\n".join(rows) + "\n")
    assert detect(f) == "kommunal"
    t = read(f, zone="14612").tables["official_projection"]
    assert len(t) == 16
    assert t.groupby(["year", "sex"])["value"].sum().to_dict() == {
        (2030, "f"): 263,
        (2030, "m"): 133,
        (2031, "f"): 263,
        (2031, "m"): 133,
    }
    bad = _write(tmp_path, "b.csv", "\n".join(rows).replace("weiblich", "divers", 1))
    err = _error(bad, zone="14612")
    assert (err.line, err.column, err.value) == (6, "sex", "divers")


def test_partition_is_checked_per_sex(tmp_path: Path) -> None:
    rows = ["jahr,geschlecht,alter,einwohner"]
    rows += [f"2030,m,{a},1" for a in range(3)] + ["2030,m,3+,1"]
    rows += [f"2030,w,{a},1" for a in (0, 2)] + ["2030,w,3+,1"]
    err = _error(_write(tmp_path, "s.csv", "\n".join(rows)))
    assert (err.line, err.value) == (7, "2")
    assert "year 2030, sex f: gap in the ages: no row for age 1" in str(err)


# ---------------------------------------------------------------------------------------------
# malformed variants of the real totals


def test_bad_stichtag(tmp_path: Path, shared_data: Path) -> None:
    text = _text(shared_data, TOT).replace("31.12.,2019,", "31.13.,2019,", 1)
    err = _error(_write(tmp_path, "t.csv", text))
    lines = _text(shared_data, TOT).split("\n")
    assert err.line == lines.index("31.12.,2019,556780") + 1
    assert (err.column, err.value) == ("stichtag", "31.13.")
    assert "bad Stichtag" in str(err)


@pytest.mark.parametrize("label", ["31.12", "12/31/2019", "31.12.2018", "2019-02-30", "Ende 2019"])
def test_other_bad_stichtage(tmp_path: Path, shared_data: Path, label: str) -> None:
    text = _text(shared_data, TOT).replace("31.12.,2019,", f"{label},2019,", 1)
    err = _error(_write(tmp_path, "t.csv", text))
    assert (err.column, err.value) == ("stichtag", label)


def test_duplicate_stichtag_and_year(tmp_path: Path, shared_data: Path) -> None:
    text = _text(shared_data, TOT).rstrip("\n") + "\n31.12.2019,2019,556780\n"
    err = _error(_write(tmp_path, "t.csv", text), DuplicateKeyError)
    lines = _text(shared_data, TOT).rstrip("\n").split("\n")
    assert err.line == len(lines) + 1
    assert (err.column, err.value) == ("stichtag", "31.12.2019")
    assert f"first on line {lines.index('31.12.,2019,556780') + 1}" in str(err)


def test_stichtag_forms_and_thousands_separators(tmp_path: Path, shared_data: Path) -> None:
    text = (
        _text(shared_data, TOT)
        .replace("31.12.,2019,556780", '2019-12-31,2019,"556 780"')
        .replace("31.12.,2025,562764", "31.12.2025,2025,562.764")
    )
    b = read(_write(tmp_path, "t.csv", text), zone=DRESDEN)
    value = b.tables["population"].set_index("year")["value"]
    assert value[2019] == 556_780
    assert value[2025] == 562_764
    assert len(value) == 27


def test_genesis_symbol_in_totals(tmp_path: Path, shared_data: Path) -> None:
    text = _text(shared_data, TOT).replace("31.12.,2019,556780", "31.12.,2019,.")
    pop = read(_write(tmp_path, "t.csv", text), zone=DRESDEN).tables["population"]
    row = pop[pop["year"] == 2019]
    assert row["status"].tolist() == ["unknown"]
    assert np.isnan(row["value"].to_numpy()).all()
    assert pop["value"].notna().sum() == 26


def test_totals_header_names_and_semicolons(tmp_path: Path) -> None:
    f = _write(tmp_path, "t.csv", "Reference_Date;Year;Population\n31.12.;2020;1.000\n")
    assert detect(f) == "kommunal"
    pop = read(f, zone="14612").tables["population"]
    assert pop[["zone", "year", "value"]].to_dict("records") == [
        {"zone": "14612", "year": 2020, "value": 1000.0}
    ]


def test_ambiguous_and_foreign_headers_are_not_detected(tmp_path: Path) -> None:
    both = _write(tmp_path, "b.csv", "stichtag,jahr,alter,einwohner\n31.12.,2020,0,1\n")
    extra = _write(tmp_path, "x.csv", "jahr,alter,einwohner,stadtteil\n2020,0,1,Altstadt\n")
    assert not sniff(both, both.read_bytes())
    assert not sniff(extra, extra.read_bytes())
    with pytest.raises(InputFormatError) as info:
        read(both, zone=DRESDEN)
    assert info.value.line == 1
    assert "both" in str(info.value)


# ---------------------------------------------------------------------------------------------
# labels


def test_parse_single_age() -> None:
    assert parse_single_age("0") == (0, 1)
    assert parse_single_age(" 84 ") == (84, 85)
    for label in ("85+", "85 +", "85 und älter", "85 Jahre und mehr", "85 years and over"):
        assert parse_single_age(label) == (85, None), label
    for label in ("", "-1", "1.5", "85-89", "unter 1", "Insgesamt", "1000"):
        with pytest.raises(ValueError):
            parse_single_age(label)


def test_parse_stichtag() -> None:
    assert parse_stichtag("31.12.", 2019) == (2019, 12, 31)
    assert parse_stichtag("31.12.2019", 2019) == (2019, 12, 31)
    assert parse_stichtag("2019-12-31", 2019) == (2019, 12, 31)
    assert parse_stichtag("29.02.", 2020) == (2020, 2, 29)
    for label, year in (("29.02.", 2019), ("31.13.", 2019), ("31.12.2020", 2019), ("", 2019)):
        with pytest.raises(ValueError):
            parse_stichtag(label, year)


@settings(max_examples=30, deadline=None)
@given(
    n_open=st.integers(1, 100),
    years=st.lists(st.integers(2000, 2100), min_size=1, max_size=4, unique=True),
    seed=st.integers(0, 2**32 - 1),
)
def test_row_order_does_not_matter(
    tmp_path_factory: pytest.TempPathFactory, n_open: int, years: list[int], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    rows = [
        (y, str(a) if a < n_open else f"{a}+", int(rng.integers(0, 10_000)))
        for y in years
        for a in range(n_open + 1)
    ]
    order = rng.permutation(len(rows))
    d = tmp_path_factory.mktemp("order")
    f1 = _write(
        d, "a.csv", "jahr,alter,einwohner\n" + "".join(f"{y},{a},{v}\n" for y, a, v in rows)
    )
    f2 = _write(
        d,
        "b.csv",
        "jahr,alter,einwohner\n" + "".join("{},{},{}\n".format(*rows[i]) for i in order),
    )
    t1 = read(f1, zone="14612").tables["official_projection"]
    t2 = read(f2, zone="14612").tables["official_projection"]
    pd.testing.assert_frame_equal(t1, t2)
    assert len(t1) == len(rows)
    assert t1["value"].sum() == sum(v for _y, _a, v in rows)
    assert t1["age_end"].isna().sum() == len(years)


# ---------------------------------------------------------------------------------------------
# command line and store


def _csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"zone": str})


def test_cli_import_with_zone(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "s.duckdb"
    res = runner.invoke(
        app,
        [
            "import",
            str(shared_data / PROJ),
            str(shared_data / TOT),
            "--zone",
            DRESDEN,
            "--db",
            str(db),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "81" in res.stdout  # the rejected quarterly rows are shown
    with Store.open(db, read_only=True) as s:
        proj = s.table("official_projection")
        pop = s.population(zones=[DRESDEN])
        prov = s.provenance()
    assert len(proj) == 1376
    assert proj.groupby("year")["value"].sum()[2040] == 587_870
    assert len(pop) == 27
    assert sorted(prov["kind"]) == ["kommunal", "kommunal"]
    assert sorted(prov["table_code"]) == ["kommunal-einwohner", "kommunal-prognose"]


def test_cli_import_without_zone_exit_2_store_unchanged(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db):
        pass
    with Store.open(db, read_only=True) as s:
        before = s.checksum()
    res = runner.invoke(app, ["import", str(shared_data / TOT), "--db", str(db)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    first = next(x for x in lines if "nennt kein Gebiet" in x)  # German first: the default
    assert TOT.split("/")[1] in first
    assert "--zone" in first
    with Store.open(db, read_only=True) as s:
        assert s.checksum() == before


def test_gv_and_kommunal_totals_are_not_double_counted(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "s.duckdb"
    res = runner.invoke(
        app,
        [
            "import",
            str(shared_data / GV2019),
            str(shared_data / TOT),
            "--zone",
            DRESDEN,
            "--db",
            str(db),
        ],
    )
    assert res.exit_code == 0, res.output
    with Store.open(db, read_only=True) as s:
        pop = s.population(zones=[DRESDEN], years=[2019, 2025])
    # the store holds both breakdowns for 2019: m and f from the GV, t from the city's file
    assert sorted(pop.loc[pop["year"] == 2019, "sex"]) == ["f", "m", "t"]
    summed = totals(pop).set_index("year")["value"]
    assert summed[2019] == 556_780  # m + f (279,168 + 277,612), not twice that
    assert summed[2025] == 562_764  # t where no m/f exists
    res = runner.invoke(
        app,
        [
            "population",
            "--db",
            str(db),
            "--zones",
            DRESDEN,
            "--year",
            "2019",
            "--year",
            "2025",
            "--total",
        ],
    )
    assert res.exit_code == 0, res.output
    frame = _csv(res.stdout)
    assert frame["value"].tolist() == [556_780, 562_764]


# ---------------------------------------------------------------------------------------------
# corrupted real files never crash the import


@st.composite
def _corruption(draw: st.DrawFn, data: bytes) -> bytes:
    lines = data.split(b"\n")
    kind = draw(st.sampled_from(["flip", "cut", "dup", "drop", "insert", "latin1"]))
    if kind == "flip":
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    if kind == "cut":
        return data[: draw(st.integers(0, len(data)))]
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "dup":
        return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if kind == "drop":
        return b"\n".join(lines[:i] + lines[i + 1 :])
    if kind == "latin1":
        return data.replace(b"Prognose", "Prognose ä".encode("latin-1"))
    junk = draw(st.sampled_from([b",", b";", b"\x00", b"1.234,5", b"-", b"+", b".", b"\xff"]))
    j = draw(st.integers(0, len(data)))
    return data[:j] + junk + data[j:]


@pytest.mark.parametrize(("rel", "n_lines"), [(PROJ, 2 + 86 * 2), (TOT, 30)])
def test_corrupted_files_never_crash(
    rel: str, n_lines: int, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    original = b"\n".join((shared_data / rel).read_bytes().split(b"\n")[:n_lines]) + b"\n"
    work = tmp_path_factory.mktemp("fuzz")
    empty = work / "empty.duckdb"
    with Store.open(empty):
        pass
    with Store.open(empty, read_only=True) as s:
        before = s.checksum()

    @settings(
        max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(_corruption(original))
    def check(data: bytes) -> None:
        db = work / "s.duckdb"
        shutil.copy(empty, db)
        f = work / "k.csv"
        f.write_bytes(data)
        res = runner.invoke(
            app, ["import", str(f), "--kind", "kommunal", "--zone", DRESDEN, "--db", str(db)]
        )
        assert res.exit_code in (0, 2), res.output
        assert "Traceback" not in res.output
        if res.exit_code == 2:
            assert "k.csv" in res.stderr
            with Store.open(db, read_only=True) as s:
                assert s.checksum() == before

    check()

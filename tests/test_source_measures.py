"""The measures reader (YAML and CSV): every field checked, errors with file, line, field, value."""

from __future__ import annotations

from pathlib import Path

import pytest

from wandel.errors import DuplicateKeyError, InputFormatError, MissingColumnError
from wandel.sources.measures import FIELDS, read
from wandel.sources.registry import detect

SEED = Path(__file__).resolve().parents[1] / "src/wandel/data/compare/measures_seed.yaml"

GOOD = """\
title: Test
measures:
  - id: m1
    zones: ["15087220", "16073077"]
    title: Bürgerdialog
    field: beteiligung
    year: 2015
    description: Ein Dialog.
    source: Testquelle
"""


def _write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_seed_register_reads_and_names_its_sources() -> None:
    batch = read(SEED)
    m = batch.tables["measures"]
    assert detect(SEED) == "measures"
    assert batch.rows_read == 11
    assert len(m) == 23
    assert set(m["zone"]) == {
        "15087220", "15087130", "15087370", "14625020", "14626110", "14625240",
        "16073077", "16073076", "16073005",
    }  # fmt: skip
    assert m["source"].str.len().min() > 20
    assert m["field"].isin(FIELDS).all()
    assert m["year"].between(2012, 2015).all()
    assert (
        not m["contact_role"].str.contains(r"@|\d{4} ?\d{3}", regex=True).any()
    )  # no e-mail, phone


def test_yaml_measure_for_two_towns(tmp_path: Path) -> None:
    m = read(_write(tmp_path, GOOD)).tables["measures"]
    assert m["zone"].tolist() == ["15087220", "16073077"]
    assert m["year"].tolist() == [2015, 2015]
    assert m["cost_eur"].isna().all()


def test_german_csv_with_decimal_comma(fixtures: Path) -> None:
    p = fixtures / "compare" / "measures_de.csv"
    assert detect(p) == "measures"
    m = read(p).tables["measures"]
    assert m["cost_eur"].iloc[0] == pytest.approx(12500.50)
    assert m.loc[m["measure_id"] == "netz-jugend-2019", "zone"].tolist() == ["15087220", "15087370"]
    assert m["year_end"].iloc[0] == 2020
    assert m["year_end"].isna().iloc[1]


@pytest.mark.parametrize(
    ("old", "new", "error", "where"),
    [
        (
            "    year: 2015\n",
            "",
            MissingColumnError,
            r"m.yaml, line 3, column year: a required field",
        ),
        (
            "year: 2015",
            "year: 20l5",
            InputFormatError,
            r"line 7, column year: not a year: found '20l5'",
        ),
        ("year: 2015", "year: 1815", InputFormatError, r"line 7, column year: not a year"),
        (
            "field: beteiligung",
            "field: sport",
            InputFormatError,
            r"line 6, column field: unknown field",
        ),
        ('"16073077"', "16073077", InputFormatError, r"column zones: an AGS written as a number"),
        ('"16073077"', '"1607307"', InputFormatError, r"column zones: .*7 digits"),
        (
            "    source: Testquelle\n",
            "    source: Testquelle\n    budget: 5\n",
            InputFormatError,
            r"line 10, column budget: unknown field",
        ),
    ],
)
def test_bad_yaml_is_refused_with_its_place(
    tmp_path: Path, old: str, new: str, error: type[Exception], where: str
) -> None:
    with pytest.raises(error, match=where):
        read(_write(tmp_path, GOOD.replace(old, new)))


def test_year_end_before_year_and_duplicates(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="year_end: ends before it starts"):
        read(
            _write(
                tmp_path, GOOD.replace("    year: 2015\n", "    year: 2015\n    year_end: 2014\n")
            )
        )
    twice = GOOD + GOOD.split("measures:\n")[1]
    with pytest.raises(
        DuplicateKeyError,
        match=r"line 10, column id: the same measure and town as on line 3: found .m1 / 15087220.",
    ):
        read(_write(tmp_path, twice))


def test_csv_missing_column_and_bad_cost(tmp_path: Path, fixtures: Path) -> None:
    text = (fixtures / "compare" / "measures_de.csv").read_text(encoding="utf-8")
    no_source = "\n".join(";".join(line.split(";")[:-1]) for line in text.splitlines()) + "\n"
    with pytest.raises(MissingColumnError, match="line 1, column source"):
        read(_write(tmp_path, no_source, "m.csv"))
    bad_cost = text.replace("12.500,50", "zwölf")
    with pytest.raises(InputFormatError, match="line 2, column kosten_eur: not an amount"):
        read(_write(tmp_path, bad_cost, "m.csv"))
    bad_year = text.replace(";2019;", ";19;")
    with pytest.raises(InputFormatError, match="line 3, column jahr: not a year: found '19'"):
        read(_write(tmp_path, bad_year, "m.csv"))


def test_a_store_written_before_the_register_reads_it_as_empty(tmp_path: Path) -> None:
    import duckdb

    from wandel.store import Store

    db = tmp_path / "old.duckdb"
    with Store.open(db) as store:
        store.import_file(SEED)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE measures")  # as an older Wandel left it
    con.close()
    with Store.open(db, read_only=True) as store:
        assert not store.has_table("measures")
        assert store.table("measures").empty
        assert store.counts()["measures"] == 0
        store.checksum()
    with Store.open(db) as store:  # a writable open adds the table
        assert store.has_table("measures")

"""Census counts (Zensus 2011, Zensus 2022) in their own table ``census_population``, keyed by the
ISO reference date, never mixed into the year-end Fortschreibung in ``population``.

Expected values come from the fixture files by plain string operations, and Germany's totals are
the published ones (80,219,695 on 9 May 2011; 82,719,540 on 15 May 2022).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.errors import InputFormatError, MissingColumnError
from wandel.sources import registry
from wandel.store import Store

runner = CliRunner()
KEY = ["zone", "reference_date", "sex", "age_start", "age_end"]


def _census(path: Path) -> pd.DataFrame:
    batch = registry.read(path)
    assert set(batch.tables) == {"census_population"}
    return batch.tables["census_population"]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[*KEY, "value"]].sort_values(KEY).reset_index(drop=True)


def test_zensus_2022_classic_and_flat_agree(fixtures: Path) -> None:
    folder = fixtures / "zensus"
    classic = _census(folder / "1000A-0005_zensus2022_gemeinden.csv")
    flat = _census(folder / "1000A-0005_zensus2022_gemeinden_flat.csv")
    pd.testing.assert_frame_equal(_sorted(classic), _sorted(flat))
    assert set(classic["reference_date"]) == {"2022-05-15"}
    assert len(classic) == 3 * 2 * 18  # towns x sexes x 5-year groups 0..85+
    het = classic[classic["zone"] == "15087220"]
    line = next(
        ln
        for ln in (folder / "1000A-0005_zensus2022_gemeinden.csv").read_text("utf-8").splitlines()
        if ln.startswith("15087220;")
    )
    assert het["value"].sum() == sum(int(x) for x in line.split(";")[2:])
    open_group = het[het["age_end"].isna()]
    assert set(open_group["age_start"]) == {85}


def test_zensus_2011_regionaldatenbank_totals_verified(fixtures: Path) -> None:
    path = fixtures / "zensus" / "12111-02-01-5_zensus2011_gemeinden.csv"
    batch = registry.read(path)
    census = batch.tables["census_population"]
    assert set(census["reference_date"]) == {"2011-05-09"}
    assert len(census) == 3 * 2 * 10
    grand = next(
        ln.split(";")
        for ln in path.read_bytes().decode("latin-1").splitlines()
        if ln.startswith("09.05.2011;15087220;") and ";Insgesamt;" in ln
    )
    het = census[census["zone"] == "15087220"]
    assert het["value"].sum() == int(grand[4])
    assert het.loc[het["sex"] == "f", "value"].sum() == int(grand[6])
    assert dict(batch.rejected)["age total verified and dropped"] == 3 * 2


@pytest.mark.parametrize(
    ("name", "date", "total"),
    [
        ("12111-01-01-4_zensus2011_deutschland.csv", "2011-05-09", 80_219_695),
        ("1000A-0000_zensus2022_deutschland.csv", "2022-05-15", 82_719_540),
    ],
)
def test_germany_published_census_totals(fixtures: Path, name: str, date: str, total: int) -> None:
    census = _census(fixtures / "zensus" / name)
    assert len(census) == 1
    row = census.iloc[0]
    assert (row["zone"], row["reference_date"], row["sex"]) == ("DG", date, "t")
    assert row["age_start"] == 0
    assert pd.isna(row["age_end"])
    assert row["value"] == total


def test_census_without_a_census_date_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "12111-x.csv"
    bad.write_text(
        "GENESIS-Tabelle: 12111-01-01-4\nBevölkerung\n;;;Insgesamt\n31.12.2019;DG;Deutschland;5\n"
        "__________\n",
        encoding="utf-8",
    )
    with pytest.raises(MissingColumnError) as info:
        registry.read(bad)
    assert "no census reference date" in str(info.value)
    assert "kein Stichtag eines Zensus" in info.value.message("de")


def test_flat_census_with_a_year_end_date_names_the_line(fixtures: Path, tmp_path: Path) -> None:
    src = fixtures / "zensus" / "1000A-0005_zensus2022_gemeinden_flat.csv"
    lines = src.read_bytes().decode("utf-8-sig").splitlines()
    lines[3] = lines[3].replace("2022-05-15", "2022-12-31")
    bad = tmp_path / "flat.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        registry.read(bad)
    assert info.value.line == 4
    assert info.value.column == "time"
    assert "a census reference date" in str(info.value)
    assert "einen Stichtag eines Zensus" in info.value.message("de")


def test_import_keeps_census_apart_with_provenance(
    fixtures: Path, shared_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "c.duckdb"
    files = [
        shared_data / "gemeindeverzeichnis" / "AuszugGV4QAktuell_2019.csv",
        *sorted((fixtures / "zensus").glob("*.csv")),
    ]
    res = runner.invoke(app, ["import", *map(str, files), "--db", str(db)])
    assert res.exit_code == 0, res.output
    with Store.open(db, read_only=True) as store:
        census = store.table("census_population")
        pop = store.population()
        prov = store.provenance()
    assert set(census["reference_date"]) == {"2011-05-09", "2022-05-15"}
    assert len(census) == 3 * 2 * 18 + 3 * 2 * 10 + 2
    # the Fortschreibung holds only the year-end stocks of the Gemeindeverzeichnis
    assert set(pop["year"]) == {2019}
    assert not pop["zone"].eq("DG").any()
    codes = set(prov["table_code"])
    assert {"1000A-0005", "12111-02-01-5", "12111-01-01-4", "1000A-0000"} <= codes
    counts = prov.set_index("table_code")["tables"]
    assert '"census_population"' in counts["1000A-0005"]

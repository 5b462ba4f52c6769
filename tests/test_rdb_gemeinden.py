"""Regionaldatenbank Gemeinde tables 12411-02-03-5 (sex x 17 age groups) and 12411-01-01-5 (sex) in
every export layout: classic CSV in several arrangements, xlsx, flat file; regions by code, by
name, or both; into the store, where published Gemeinde ages take the place of estimates.

The fixtures (``fixtures/rdb_gemeinden``) carry the figures of ``fixtures/ffcsv/12411-02-03-5_de_flat
.csv``; the expected values are read from the files by plain string operations, not by the reader.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.sources import gv_isys, registry
from wandel.sources.register import Register
from wandel.store import Store

runner = CliRunner()
KEY = ["zone", "year", "sex", "age_start", "age_end"]
LAYOUTS = (
    "12411-02-03-5_gemeinden.csv",
    "12411-02-03-5_gemeinden.xlsx",
    "12411-02-03-5_gemeinden_ages_across.csv",
    "12411-02-03-5_gemeinden_ages_across.xlsx",
    "12411-02-03-5_gemeinden_codes_only.csv",
    "12411-02-03-5_gemeinden_names_only.csv",
)
# the flat fixture's invented Sangerhausen code, and the official one used in these fixtures
OFFICIAL = {"15087375": "15087370"}


@pytest.fixture(scope="module")
def register(shared_data: Path) -> Register:
    """The register of the real Gemeindeverzeichnis 2019 laid over the shipped one."""
    gv = gv_isys.read(shared_data / "gemeindeverzeichnis" / "AuszugGV4QAktuell_2019.csv")
    return Register.from_gv_records(gv.tables["gv_records"]).over(Register.shipped())


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [*KEY, "value", "status"]
    return frame[cols].sort_values(KEY).reset_index(drop=True)


def _flat_reference(fixtures: Path) -> pd.DataFrame:
    pop = registry.read(fixtures / "ffcsv" / "12411-02-03-5_de_flat.csv").tables["population"]
    pop = pop.assign(zone=pop["zone"].replace(OFFICIAL))
    return _sorted(pop)


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_layout_gives_the_flat_files_table(
    name: str, fixtures: Path, register: Register
) -> None:
    path = fixtures / "rdb_gemeinden" / name
    assert registry.detect(path) == "genesis-classic"
    batch = registry.read(path, register=register)
    assert batch.meta.table_code == "12411-02-03-5"
    got = _sorted(batch.tables["population"])
    pd.testing.assert_frame_equal(got, _flat_reference(fixtures))
    # every row of the cube is seen, totals verified and dropped: 2 years x 3 towns x 3 x 18 cells
    assert batch.rows_read == 2 * 3 * 3 * 18
    assert dict(batch.rejected) == {
        "sex total verified and dropped": 2 * 3 * 18,
        "age total verified and dropped": 2 * 3 * 2,
    }


def test_hettstedt_2019_published_total(fixtures: Path, shared_data: Path) -> None:
    """Hettstedt's 17 age groups by sex add up to its GV-ISys total of 31.12.2019 (13,885)."""
    path = fixtures / "rdb_gemeinden" / "12411-02-03-5_gemeinden.csv"
    line = next(
        ln
        for ln in path.read_bytes().decode("latin-1").splitlines()
        if ln.startswith("31.12.2019;15087220;") and ";Insgesamt;" in ln
    )
    assert int(line.split(";")[4]) == 13_885
    gv = gv_isys.read(shared_data / "gemeindeverzeichnis" / "AuszugGV4QAktuell_2019.csv")
    rec = gv.tables["gv_records"].set_index("zone").loc["15087220"]
    assert rec["pop_total"] == 13_885
    pop = registry.read(path).tables["population"]
    het = pop[(pop["zone"] == "15087220") & (pop["year"] == 2019)]
    assert len(het) == 2 * 17
    assert het["value"].sum() == 13_885


def test_suppressed_cell_stays_missing(fixtures: Path) -> None:
    """The '.' of Sangerhausen, women under 3, 2020 comes out as a missing value, not zero."""
    pop = registry.read(fixtures / "rdb_gemeinden" / "12411-02-03-5_gemeinden.csv")
    p = pop.tables["population"]
    cell = p[(p["zone"] == "15087370") & (p["year"] == 2020) & (p["sex"] == "f")]
    cell = cell[cell["age_start"] == 0]
    assert len(cell) == 1
    assert pd.isna(cell["value"].iloc[0])
    assert cell["status"].iloc[0] == "unknown"


def test_names_only_needs_the_gemeinde_register(fixtures: Path) -> None:
    """Without a Gemeindeverzeichnis the shipped register (Länder, Kreise) names no Gemeinde."""
    from wandel.errors import UnknownRegionError

    with pytest.raises(UnknownRegionError) as info:
        registry.read(fixtures / "rdb_gemeinden" / "12411-02-03-5_gemeinden_names_only.csv")
    assert info.value.line == 7
    assert "Hettstedt, Stadt" in str(info.value)


def test_12411_01_01_5_classic_and_flat_agree_with_the_age_table(fixtures: Path) -> None:
    folder = fixtures / "rdb_gemeinden"
    classic = registry.read(folder / "12411-01-01-5_gemeinden.csv")
    flat = registry.read(folder / "12411-01-01-5_gemeinden_flat.csv")
    assert registry.detect(folder / "12411-01-01-5_gemeinden_flat.csv") == "genesis-ffcsv"
    a, b = (_sorted(x.tables["population"]) for x in (classic, flat))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 2 * 3 * 2  # years x towns x (m, f), all ages
    assert (a["age_start"] == 0).all()
    assert a["age_end"].isna().all()
    ages = registry.read(folder / "12411-02-03-5_gemeinden.csv").tables["population"]
    sums = ages.groupby(["zone", "year", "sex"])["value"].sum(min_count=17)
    got = a.set_index(["zone", "year", "sex"])["value"]
    both = got.index.intersection(sums.dropna().index)
    assert len(both) == len(got) - 1  # all but the one with a suppressed age group
    assert (got[both] == sums[both]).all()


def _population(db: Path, *args: str) -> pd.DataFrame:
    res = runner.invoke(app, ["population", "--db", str(db), *args])
    assert res.exit_code == 0, res.output
    return pd.read_csv(io.StringIO(res.stdout), dtype={"zone": str})


def test_import_gives_published_gemeinde_ages_not_estimates(
    fixtures: Path, shared_data: Path, tmp_path: Path
) -> None:
    """Through ``wandel import`` with the Gemeindeverzeichnis and a Kreis structure: the published
    age groups land in ``population`` unestimated, and no estimate covers those Gemeinde-years."""
    db = tmp_path / "s.duckdb"
    files = [
        shared_data / "gemeindeverzeichnis" / "AuszugGV4QAktuell_2019.csv",
        shared_data / "statistik" / "12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv",
        fixtures / "rdb_gemeinden" / "12411-02-03-5_gemeinden_names_only.csv",
    ]
    res = runner.invoke(app, ["import", *map(str, files), "--db", str(db)])
    assert res.exit_code == 0, res.output
    with Store.open(db, read_only=True) as store:
        pop = store.population(zones=["15087220", "15087130", "15087370"])
        prov = store.provenance()
    all_ages = (pop["age_start"] == 0) & pop["age_end"].isna()
    published = pop[~pop["estimated"] & ~all_ages]
    assert set(published["year"]) == {2019, 2020}
    assert len(published) == 2 * 3 * 2 * 17
    assert pop[pop["estimated"] & pop["year"].isin([2019, 2020])].empty
    het = published[(published["zone"] == "15087220") & (published["year"] == 2019)]
    assert het["value"].sum() == 13_885
    assert "12411-02-03-5" in set(prov["table_code"])


def test_flat_file_with_variables_in_another_order(fixtures: Path, tmp_path: Path) -> None:
    """The same flat file with its variables in another order (age, region, sex) and the rows
    reversed reads to the same table."""
    src = fixtures / "ffcsv" / "12411-02-03-5_de_flat.csv"
    lines = src.read_bytes().decode("utf-8-sig").splitlines()
    head = lines[0].split(";")
    block = {k: [head.index(f"{k}_variable_code") + i for i in range(4)] for k in (1, 2, 3)}
    order = [3, 1, 2]  # the file's region, sex, age become age, region, sex

    def moved(line: str) -> str:
        cells = line.split(";")
        out = cells[:5]
        for k in order:
            out += [cells[i] for i in block[k]]
        return ";".join(out + cells[block[3][-1] + 1 :])

    body = [moved(ln) for ln in lines[1:]][::-1]
    path = tmp_path / "reordered_flat.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join([lines[0], *body]).encode("utf-8") + b"\n")
    got = registry.read(path)
    ref = registry.read(src)
    pd.testing.assert_frame_equal(
        _sorted(got.tables["population"]), _sorted(ref.tables["population"])
    )
    assert got.rejected == ref.rejected

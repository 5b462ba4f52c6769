"""GENESIS flat-file CSV (ffcsv): both layouts, ZIP, totals, and the Store import."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wandel.sources import ffcsv
from wandel.sources.registry import detect

CUR = "12411-02-03-5_de_flat.csv"
ZIP = "12411-02-03-5_de_flat.zip"
OLD = "12411-02-03-5_flat_alt.csv"


def _pop(path: Path) -> pd.DataFrame:
    return ffcsv.read(path).tables["population"]


def _rows(path: Path, encoding: str) -> list[list[str]]:
    text = path.read_bytes().decode(encoding).lstrip("\ufeff")
    return [ln.split(";") for ln in text.splitlines()]


def test_current_layout_totals_by_hand(fixtures: Path) -> None:
    path = fixtures / "ffcsv" / CUR
    rows = _rows(path, "utf-8")
    head = rows[0]
    col = {name: i for i, name in enumerate(head)}
    # the file's own grand total for Hettstedt 2019: empty sex and age codes
    grand = next(
        r
        for r in rows[1:]
        if r[col["1_variable_attribute_code"]] == "15087220"
        and r[col["time"]] == "2019-12-31"
        and r[col["2_variable_attribute_code"]] == ""
        and r[col["3_variable_attribute_code"]] == ""
    )
    assert grand[col["3_variable_attribute_label"]] == "Insgesamt"
    assert int(grand[col["value"]]) == 13_885
    pop = _pop(path)
    het = pop[(pop["zone"] == "15087220") & (pop["year"] == 2019)]
    assert het["value"].sum() == 13_885
    assert len(het) == 2 * 17
    assert set(het["sex"]) == {"m", "f"}
    # age groups: 17 half-open groups tiling 0..75+, from the labels
    f = het[het["sex"] == "f"].sort_values("age_start")
    starts = f["age_start"].to_numpy()
    ends = f["age_end"].to_numpy(dtype=float, na_value=np.nan)
    assert starts[0] == 0
    assert (starts[1:] == ends[:-1]).all()
    assert starts[-1] == 75
    assert math.isnan(ends[-1])
    assert (het["flag"] == "e").all()


def test_suppressed_cell_keeps_status(fixtures: Path) -> None:
    pop = _pop(fixtures / "ffcsv" / CUR)
    cell = pop[
        (pop["zone"] == "15087375")
        & (pop["year"] == 2020)
        & (pop["sex"] == "f")
        & (pop["age_start"] == 0)
    ]
    assert cell["status"].item() == "unknown"
    assert math.isnan(cell["value"].item())
    # its totals are dropped all the same (parts exist); nothing is double counted
    assert not (pop["sex"] == "t").any()


def test_zip_equals_csv_and_layouts_agree(fixtures: Path) -> None:
    cur = _pop(fixtures / "ffcsv" / CUR)
    zipped = _pop(fixtures / "ffcsv" / ZIP)
    pd.testing.assert_frame_equal(cur, zipped)
    old = _pop(fixtures / "ffcsv" / OLD)
    keys = ["zone", "year", "sex", "age_start"]
    a = cur.sort_values(keys).reset_index(drop=True)
    b = old.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys], b[keys])
    same = a["status"].isna().to_numpy()
    assert (a["value"][same] == b["value"][same]).all()
    assert (~same).sum() == 1  # the one suppressed cell of the current-layout fixture


def test_batch_metadata(fixtures: Path) -> None:
    batch = ffcsv.read(fixtures / "ffcsv" / ZIP)
    assert batch.meta.kind == "genesis-ffcsv"
    assert batch.meta.table_code == "12411"
    assert len(batch.meta.sha256) == 64
    assert batch.rows_read == 2 * 3 * 3 * 18
    assert dict(batch.rejected) == {
        "sex total verified and dropped": 2 * 3 * 18,
        "age total verified and dropped": 2 * 3 * 2,
    }


@pytest.mark.parametrize("name", [CUR, ZIP, OLD])
def test_detect(fixtures: Path, name: str) -> None:
    path = fixtures / "ffcsv" / name
    assert ffcsv.sniff(path, path.read_bytes()[:65536])
    assert detect(path) == "genesis-ffcsv"


def test_kreise_variable_and_english_decimals(tmp_path: Path) -> None:
    head = (
        "statistics_code;statistics_label;time_code;time_label;time;1_variable_code;"
        "1_variable_label;1_variable_attribute_code;1_variable_attribute_label;value;value_unit;"
        "value_variable_code;value_variable_label;value_q"
    )
    rows = [
        "12411;Population;STAG;Reference date;2020-12-31;KREISE;Districts;15087;Mansfeld-Südharz;"
        "133690;number;BEVSTD;Population;e",
        "12411;Population;STAG;Reference date;2020-12-31;KREISE;Districts;15088;Saalekreis;"
        "x;number;BEVSTD;Population;",
        "12411;Population;STAG;Reference date;2019-12-31;KREISE;Districts;15087;Mansfeld-Südharz;"
        "(135,500.0);number;BEVSTD;Population;p",
    ]
    path = tmp_path / "12411-01-01-4_en_flat.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join([head, *rows]).encode())
    pop = _pop(path).set_index(["zone", "year"])
    assert pop.loc[("15087", 2020), "value"] == 133_690
    assert pop.loc[("15087", 2020), "sex"] == "t"
    assert pop.loc[("15088", 2020), "status"] == "not_meaningful"
    assert pop.loc[("15087", 2019), "value"] == 135_500
    assert pop.loc[("15087", 2019), "status"] == "limited"
    assert pop.loc[("15087", 2019), "flag"] == "p"


def test_zip_through_store(fixtures: Path, tmp_path: Path) -> None:
    from wandel.store import Store

    with Store.open(tmp_path / "w.duckdb") as store:
        report = store.import_file(fixtures / "ffcsv" / ZIP, kind="auto")
        assert report.rows_imported == 204
        again = store.import_file(fixtures / "ffcsv" / ZIP, kind="auto")
        assert again.skipped


def test_big_generated_file_reads(tmp_path: Path) -> None:
    """A few thousand shuffled rows in the benchmark's generator format: every key once."""
    import random

    rng = random.Random(3)
    head = (
        "statistics_code;statistics_label;time_code;time_label;time;"
        "1_variable_code;1_variable_label;1_variable_attribute_code;1_variable_attribute_label;"
        "2_variable_code;2_variable_label;2_variable_attribute_code;2_variable_attribute_label;"
        "value;value_unit;value_variable_code;value_variable_label;value_q"
    )
    rows = []
    expected = 0
    for g in range(1, 301):
        ags = f"15087{g:03d}"
        for sc, sl in (("GESM", "männlich"), ("GESW", "weiblich")):
            v = rng.randint(0, 9999)
            expected += v
            rows.append(
                f"12411;B;STAG;Stichtag;2021-12-31;GEMEIN;Gemeinden;{ags};Ort {g};GES;Geschlecht;"
                f"{sc};{sl};{v};Anzahl;BEVSTD;Bevölkerungsstand;e"
            )
    rng.shuffle(rows)
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x_de_flat.csv", "\ufeff" + "\n".join([head, *rows]) + "\n")
    pop = _pop(path)
    assert len(pop) == 600
    assert pop["value"].sum() == expected
    assert (pop["age_start"] == 0).all()
    assert pop["age_end"].isna().all()

"""The store: one import = one transaction, idempotent, checksummed, safe against SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wandel.ages import finest_partition, totals
from wandel.errors import StoreError
from wandel.sources.base import ImportBatch, SourceMeta
from wandel.store import Store


def _pop(zones: list[str], year: int, value: float = 10.0) -> pd.DataFrame:
    rows = []
    for z in zones:
        for sex in ("m", "f"):
            for a, b in ((0, 18), (18, 65), (65, None)):
                rows.append((z, year, sex, a, b, value, None, None, False))
    return pd.DataFrame(
        rows,
        columns=[
            "zone",
            "year",
            "sex",
            "age_start",
            "age_end",
            "value",
            "status",
            "flag",
            "estimated",
        ],
    )


def _batch(frame: pd.DataFrame, sha: str = "a" * 64, name: str = "x.csv") -> ImportBatch:
    return ImportBatch(SourceMeta(name, sha, "test", "T-1"), {"population": frame}, len(frame))


def test_import_is_idempotent_and_replaces_by_key(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        r1 = store.import_batch(_batch(_pop(["15087220"], 2019)))
        assert r1.rows_imported == 6
        before = store.checksum()
        r2 = store.import_batch(_batch(_pop(["15087220"], 2019)))
        assert r2.skipped
        assert store.checksum() == before
        # a corrected re-publication (other file) replaces rows with the same key
        r3 = store.import_batch(_batch(_pop(["15087220"], 2019, 11.0), sha="b" * 64))
        assert r3.rows_imported == 6
        pop = store.population(zones=["15087220"])
        assert len(pop) == 6
        assert pop["value"].tolist() == [11.0] * 6
        assert store.provenance()["import_id"].tolist() == [1, 2]


def test_keys_keep_leading_zeros(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.import_batch(_batch(_pop(["01001000"], 2020)))
        assert store.population()["zone"].unique().tolist() == ["01001000"]


def test_failed_import_leaves_store_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.import_batch(_batch(_pop(["15087220"], 2019)))
        before = store.checksum()
        good = _pop(["15087225"], 2019)
        broken = _pop(["15087230"], 2019)
        broken["year"] = None  # NOT NULL violated in the second table write
        batch = ImportBatch(
            SourceMeta("bad.csv", "c" * 64, "test"),
            {"population": good, "births": broken.drop(columns=["estimated"])},
        )
        with pytest.raises(Exception):  # noqa: B017 - any database error
            store.import_batch(batch)
        assert store.checksum() == before
        assert store.population(zones=["15087225"]).empty


def test_one_import_of_several_files_is_all_or_nothing(tmp_path: Path) -> None:
    """``wandel import a b``: a database error in the second file's write leaves the store as it
    was, the first file included (and the data derived from them is never written)."""
    from wandel.workflow.data import write_batches

    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.import_batch(_batch(_pop(["15087220"], 2019)))
        before = store.checksum()
    broken = _pop(["15087230"], 2019)
    broken["year"] = None  # NOT NULL violated when the second file is written
    bad = ImportBatch(
        SourceMeta("bad.csv", "c" * 64, "test"), {"births": broken.drop(columns=["estimated"])}
    )
    seen: list[str] = []
    with pytest.raises(Exception):  # noqa: B017 - any database error
        write_batches(
            db,
            [_batch(_pop(["15087225"], 2019), sha="d" * 64), bad],
            on_batch=lambda b: seen.append(b.meta.file),
        )
    assert seen == ["x.csv"]  # the first file was written inside the transaction ...
    with Store.open(db, read_only=True) as store:
        assert store.checksum() == before  # ... and rolled back with the second
        assert store.population(zones=["15087225"]).empty
        assert store.provenance()["import_id"].tolist() == [1]


def _import_then_interrupt(store: Store) -> None:
    with store.transaction():
        store.import_batch(_batch(_pop(["15087220"], 2019)))  # its own block joins ours
        assert len(store.population()) == 6
        raise KeyboardInterrupt  # Ctrl-C after the inner block finished


def test_nested_transactions_join_the_outer_one(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        before = store.checksum()
        with pytest.raises(KeyboardInterrupt):
            _import_then_interrupt(store)
        assert store.checksum() == before
        with store.transaction():
            store.import_batch(_batch(_pop(["15087220"], 2019)))
        assert len(store.population()) == 6
        assert store.provenance()["import_id"].tolist() == [1]


def test_checksum_sees_every_change(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        c0 = store.checksum()
        store.import_batch(_batch(_pop(["15087220"], 2019)))
        c1 = store.checksum()
        store.con.execute(
            "UPDATE population SET value = value + 1 WHERE sex = 'm' AND age_start = 0"
        )
        assert len({c0, c1, store.checksum()}) == 3


def test_read_only_open_of_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError), Store.open(tmp_path / "nothing.duckdb", read_only=True):
        pass


def test_sigkill_during_import_leaves_store_as_before(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.import_batch(_batch(_pop(["15087220"], 2019)))
        before = store.checksum()
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, pandas as pd
        from wandel.sources.base import ImportBatch, SourceMeta
        from wandel.store import Store
        n = 3_000_000
        frame = pd.DataFrame({{
            "zone": np.char.zfill(np.arange(n).astype(str), 8), "year": 2020, "sex": "m",
            "age_start": 0, "age_end": pd.array([None] * n, dtype="Int64"),
            "value": np.arange(n, dtype=float), "status": None, "flag": None, "estimated": False}})
        with Store.open({str(db)!r}) as store:
            print("ready", flush=True)
            for i in range(50):
                store.import_batch(ImportBatch(SourceMeta("big.csv", f"{{i:064d}}", "t"),
                                               {{"population": frame.assign(year=2020 + i)}}))
        """
    )
    rng = np.random.default_rng(7)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(float(rng.uniform(0.2, 1.5)))  # a random point inside the (first) import
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store.open(db, read_only=True) as store:
        imported = store.provenance()
        # every import that committed is complete; nothing half-written
        n_done = len(imported) - 1
        counts = store.counts()
        assert counts["population"] == 6 + n_done * 3_000_000
        if n_done == 0:
            assert store.checksum() == before


def test_finest_partition_and_totals_never_double_count() -> None:
    pub = _pop(["15087220"], 2019).iloc[:0]
    total_rows = pd.DataFrame(
        {
            "zone": ["15087220"] * 2,
            "year": [2019] * 2,
            "sex": ["m", "f"],
            "age_start": [0, 0],
            "age_end": pd.array([None, None], dtype="Int64"),
            "value": [30.0, 30.0],
            "status": [None, None],
            "flag": [None, None],
            "estimated": [False, False],
        }
    )
    groups = _pop(["15087220"], 2019).assign(estimated=True)
    both = pd.concat([pub, total_rows, groups])
    part = finest_partition(both)
    assert len(part) == 6  # the age groups win over the 0-open total
    tot = totals(both)
    assert tot["value"].tolist() == [60.0]
    assert bool(tot["estimated"].iloc[0])


def test_total_over_suppressed_cell_is_not_a_number() -> None:
    frame = _pop(["15087220"], 2019)
    frame.loc[2, "value"] = np.nan
    frame.loc[2, "status"] = "unknown"
    tot = totals(frame)
    assert np.isnan(tot["value"].iloc[0])
    assert tot["status"].iloc[0] == "incomplete"

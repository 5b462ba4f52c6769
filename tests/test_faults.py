"""Faults: scenario saves and imports killed with SIGKILL at random points lose or duplicate
nothing, and the state and the store open every time (real DuckDB files, real processes, real
official extracts)."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

from wandel.store.state import DuckState

ROUNDS = 50
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _saver(path: str, acks: str, seed: int) -> None:
    """Save drafts without end (each save is one transaction with its audit entry), noting the
    id of every save that returned."""
    from wandel.workflow import drafts
    from wandel.workflow.town import Levers

    state = DuckState(path)  # as the web app keeps it: open between calls
    rng = random.Random(seed)
    with open(acks, "a", encoding="utf-8") as out:
        out.write("ready\n")
        out.flush()
        while True:
            s = drafts.save_draft(
                state,
                "planner",
                "15087220",
                f"Entwurf {rng.random():.6f}",
                Levers(rng.randrange(500), 0),
            )
            out.write(f"{s.id}\n")
            out.flush()


def _acked(acks: Path) -> list[int]:
    return [int(x) for x in acks.read_text(encoding="utf-8").split() if x.isdigit()]


def test_kill_9_during_saves_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.duckdb"
    acks = tmp_path / "acks.txt"
    acks.touch()
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["wandel.workflow.drafts", "wandel.store.state"])
    rng = random.Random(20261207)
    killed_mid_run = 0
    for i in range(ROUNDS):
        before = len(_acked(acks))
        start = acks.read_text(encoding="utf-8").count("ready")
        child = ctx.Process(target=_saver, args=(str(path), str(acks), i))
        child.start()
        while acks.read_text(encoding="utf-8").count("ready") == start:
            assert child.is_alive() or child.exitcode is None, "the saver died on its own"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))  # a random point in the stream of saves
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        acked = _acked(acks)
        killed_mid_run += len(acked) > before
        state = DuckState(path, keep_open=0)  # opens every time (WAL replayed)
        ids = [s.id for s in state.scenarios()]
        saves = [a for a in state.audit(limit=10**6) if a.action == "scenario.save"]
        assert len(ids) == len(set(ids))  # nothing twice
        assert ids == list(range(1, len(ids) + 1))  # no hole, no half-written row
        assert set(acked) <= set(ids)  # every save that returned is there
        assert sorted(int(a.target.split(":")[1]) for a in saves) == ids  # each with its audit
    assert killed_mid_run >= ROUNDS // 2  # most kills fell between saves of a running saver


FILES = [
    FIXTURES / "genesis" / "12411-0018_small_de.csv",
    FIXTURES / "genesis" / "12612-0001_small_en.csv",
    FIXTURES / "ffcsv" / "12411-02-03-5_de_flat.csv",
    FIXTURES / "ffcsv" / "12411-02-03-5_flat_alt.csv",
    FIXTURES / "genesis" / "12411-0018_small_de.xlsx",
]
"""Real official extracts (GENESIS-Online classic CSV and XLSX, flat files), each imported once."""


def _importer(path: str, acks: str) -> None:
    """Import the files one after another (each one transaction), noting each that returned."""
    from wandel.store import Store

    with Store.open(path) as store, open(acks, "a", encoding="utf-8") as out:
        out.write("ready\n")
        out.flush()
        for f in FILES:
            report = store.import_file(f)
            out.write(f"{report.sha256}\n")
            out.flush()
        out.write("done\n")
        out.flush()


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(store: object) -> dict[str, list[tuple[int, int]]]:
    """Rows per table and import (``import_id, count``)."""
    from wandel.tables import TABLES

    con = store.con  # type: ignore[attr-defined]
    return {
        name: con.execute(
            f"SELECT import_id, count(*) FROM {name} GROUP BY import_id ORDER BY import_id"
        ).fetchall()
        for name in TABLES
    }


def test_kill_9_during_imports_leaves_whole_imports_only(tmp_path: Path) -> None:
    from wandel.store import Store
    from wandel.tables import TABLES

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["wandel.store", "wandel.sources.registry"])
    reference = {}  # the rows after the first k imports, done without a kill
    for k in range(len(FILES) + 1):
        with Store.open(tmp_path / f"ref{k}.duckdb") as store:
            for f in FILES[:k]:
                store.import_file(f)
            reference[k] = _rows(store)
    assert reference[len(FILES)] != reference[0]
    rng = random.Random(20261208)
    partial = 0
    for i in range(ROUNDS):
        path, acks = tmp_path / f"s{i}.duckdb", tmp_path / f"a{i}.txt"
        acks.touch()
        child = ctx.Process(target=_importer, args=(str(path), str(acks)))
        child.start()
        while "ready" not in acks.read_text(encoding="utf-8"):
            assert child.exitcode is None, "the importer died on its own"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.8))
        with contextlib.suppress(ProcessLookupError):  # it may have finished every import
            os.kill(child.pid or 0, signal.SIGKILL)
        child.join()
        lines = acks.read_text(encoding="utf-8").split()
        acked = [x for x in lines if len(x) == 64]
        partial += "done" not in lines
        with Store.open(path, read_only=True) as store:  # opens every time
            prov = store.provenance()
            shas = list(prov["sha256"])
            assert len(shas) == len(set(shas))  # no import twice
            assert set(acked) <= set(shas)  # every import that returned is there
            ids = set(prov["import_id"])
            for name in TABLES:  # no row of an import without its provenance record
                found = store.con.execute(f"SELECT DISTINCT import_id FROM {name}").fetchall()
                assert {r[0] for r in found} <= ids, name
            assert list(prov["sha256"]) == [_sha(f) for f in FILES[: len(prov)]]  # in order
            assert _rows(store) == reference[len(prov)]  # the rows of whole imports only
    assert partial >= ROUNDS // 3  # many kills fell inside the run of imports

"""Faults: scenario saves killed with SIGKILL at random points lose or duplicate nothing, and the
application state opens every time (a real DuckDB file, real processes)."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

from wandel.store.state import DuckState

ROUNDS = 50


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

"""``wandel serve --workers`` killed with ``kill -9`` (no ``finally`` runs): the password file of
libpq it wrote for its workers stays behind only until the next start, which removes the folders
of servers whose process is gone (a real server, real PostgreSQL, a real SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from _compare_store import compare_db
from _postgres import PASSWORD as PG_PASSWORD
from test_serve_workers import SERVE, _free_port, wait_for_workers
from wandel.web.server import worker_environment


def test_a_killed_servers_password_file_is_removed_at_the_next_start(
    tmp_path_factory: pytest.TempPathFactory, postgres: Any
) -> None:
    db = compare_db(tmp_path_factory)
    url = postgres.database()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", SERVE, "serve", "--db", str(db), "--port", str(port)]
    log = tmp_path_factory.mktemp("kill") / "stderr.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [*cmd, "--workers", "2", "--state", url.url],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        workers = wait_for_workers(proc, port, log)
        environ = Path(f"/proc/{workers[0]}/environ").read_bytes()
        env_of = dict(v.split(b"=", 1) for v in environ.split(b"\0") if b"=" in v)
        passfile = Path(env_of[b"PGPASSFILE"].decode())
        assert passfile.read_text().endswith(f":{PG_PASSWORD}\n")
        assert passfile.parent.name.startswith(f"{proc.pid}-")  # named by the server's pid
        for pid in [proc.pid, *workers]:  # kill -9: the server and its workers, nothing cleans
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=120)
        for pid in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).wait(timeout=120)
        assert passfile.exists()  # nothing ran at the kill
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=120)
    # the next start (the same code path wandel serve --workers takes) removes it
    with worker_environment({}, url) as fresh:
        new = Path(fresh["PGPASSFILE"])
        assert new.parent.parent == passfile.parent.parent
        assert new.parent.name.startswith(f"{os.getpid()}-")
        assert not passfile.exists()
        assert not passfile.parent.exists()
    assert not new.parent.exists()

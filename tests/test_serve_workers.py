"""``wandel serve --workers``: two real worker processes on one address sharing the application
state in a real PostgreSQL (a login through one worker holds on the other, a logout through one
ends it on both, saves through both get ids one after another), and the DuckDB state refused
for more than one worker (one writer per file)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from typer.testing import CliRunner

from _compare_store import compare_db
from _postgres import PASSWORD as PG_PASSWORD
from wandel.cli import app
from wandel.workflow.users import UserAdmin, open_state

PASSWORD = "ein-langes-passwort"
ZONE = "15087220"
SERVE = "import sys; from wandel.cli import main; sys.argv[0] = 'wandel'; main()"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _workers(proc: subprocess.Popen[bytes]) -> list[int]:
    """The worker processes of the server (not multiprocessing's resource tracker)."""
    kids = psutil.Process(proc.pid).children(recursive=True)
    return [k.pid for k in kids if "resource_tracker" not in " ".join(k.cmdline())]


class Conn:
    """One TCP connection to the server, and the worker that accepted it (found by the
    connection's address in the workers' open sockets)."""

    def __init__(self, port: int, workers: list[int]) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.http.connect()
        assert self.http.sock is not None
        mine = self.http.sock.getsockname()[1]
        self.worker = 0
        for _ in range(10_000):  # the worker accepts the connection a moment after connect()
            if self.worker:
                break
            for pid in workers:
                conns = psutil.Process(pid).net_connections(kind="tcp")
                if any(c.raddr and c.raddr.port == mine for c in conns):
                    self.worker = pid
            time.sleep(0.01)

    def request(
        self,
        method: str,
        path: str,
        cookie: str = "",
        body: dict[str, str] | None = None,
        csrf: str = "",
    ) -> tuple[int, dict[str, Any], str]:
        headers = {"Content-Type": "application/json"}
        if cookie:
            headers["Cookie"] = cookie
        if csrf:
            headers["X-CSRF-Token"] = csrf
        data = json.dumps(body) if body is not None else None
        self.http.request(method, path, body=data, headers=headers)
        r = self.http.getresponse()
        text = r.read().decode()
        self.http.close()
        cookies = "; ".join(
            v.split(";", 1)[0] for k, v in r.getheaders() if k.lower() == "set-cookie"
        )
        payload = (
            json.loads(text)
            if r.getheader("content-type", "").startswith("application/json")
            else {}
        )
        return r.status, payload, cookies


def wait_for_workers(proc: subprocess.Popen[bytes], port: int, log: Path) -> list[int]:
    """The pids of the two workers of ``proc`` (``wandel serve --workers 2``), once both answer
    (each loads the store first); the server's log in the failure if it never does."""
    for _ in range(2400):
        assert proc.poll() is None, log.read_text(errors="replace")
        workers = _workers(proc)
        if len(workers) == 2:
            try:
                if Conn(port, workers).request("GET", "/api/ich")[0] == 200:
                    return workers
            except OSError:
                pass
        time.sleep(0.5)
    pytest.fail("wandel serve --workers 2 never answered: " + log.read_text()[-2000:])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, postgres: Any) -> Any:
    db = compare_db(tmp_path_factory)
    url = postgres.database()
    UserAdmin(open_state(url)).add("anna", "planner", [ZONE], PASSWORD)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", SERVE, "serve", "--db", str(db), "--port", str(port)]
    log = tmp_path_factory.mktemp("serve") / "stderr.log"
    with open(log, "wb") as err:  # a file, not a pipe: the request log must never block it
        proc = subprocess.Popen(
            [*cmd, "--workers", "2", "--state", url.url],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        workers = wait_for_workers(proc, port, log)
        yield port, workers, url, proc, log
    finally:
        proc.terminate()
        proc.wait(timeout=120)


def test_two_workers_share_one_login_session(served: Any) -> None:
    port, workers, url, proc, _ = served
    first = Conn(port, workers)
    status, body, cookies = first.request("GET", "/api/anmelden")
    assert status == 200
    status, me, session = Conn(port, workers).request(
        "POST", "/api/anmelden", cookies, {"name": "anna", "password": PASSWORD}, body["csrf"]
    )
    assert status == 200, me
    assert "wandel_session=" in session
    csrf = me["csrf"]
    seen: dict[int, int] = {}
    saves: list[int] = []
    for i in range(200):  # until both workers have answered the cookie a few times
        c = Conn(port, workers)
        if i % 2:
            status, who, _ = c.request("GET", "/api/ich", session)
            assert status == 200
            assert who["user"] == "anna", (c.worker, who)
        else:
            status, saved, _ = c.request(
                "POST", f"/api/kommune/{ZONE}/entwuerfe", session, {"titel": f"W{i}"}, csrf
            )
            assert status == 201, saved
            saves.append(saved["id"])
        seen[c.worker] = seen.get(c.worker, 0) + 1
        if len(seen) == 2 and min(seen.values()) >= 5 and i >= 19:
            break
    assert set(seen) == set(workers)
    assert min(seen.values()) >= 5
    assert saves == list(range(1, len(saves) + 1))  # one id after another across the workers
    state = open_state(url)
    assert [s.id for s in state.scenarios(ZONE)] == saves
    assert [a.action for a in state.audit()].count("scenario.save") == len(saves)
    # a logout through one worker ends the session on every worker
    out = Conn(port, workers)
    assert out.request("POST", "/api/abmelden", session, {}, csrf)[0] == 200
    answered = set()
    for _ in range(200):
        c = Conn(port, workers)
        status, who, _ = c.request("GET", "/api/ich", session)
        assert status == 200
        assert who["user"] is None
        answered.add(c.worker)
        if answered == set(workers):
            break
    assert answered == set(workers)
    assert proc.poll() is None


def test_the_server_log_never_shows_the_password(served: Any) -> None:
    """The workers' structured request log (stderr) after the logins and saves above."""
    *_, url, _proc, log = served
    text = log.read_text(errors="replace")
    assert '"event": "request"' in text  # the log was written
    assert PG_PASSWORD not in text
    assert PG_PASSWORD in url.url


def test_no_worker_holds_the_password_in_its_environment_or_command_line(served: Any) -> None:
    """/proc/<pid>/environ and cmdline of each worker (readable by every process of the same
    user): no password there; the workers reach PostgreSQL through a password file of libpq that
    only the owner can read (0600), and it is gone when the server stops."""
    port, workers, url, proc, _ = served
    assert PG_PASSWORD in url.url  # the address given to wandel serve holds the password
    secret = PG_PASSWORD.encode()
    passfiles = set()
    for pid in workers:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        env = dict(v.split(b"=", 1) for v in environ.split(b"\0") if b"=" in v)
        assert secret not in environ, [k for k, v in env.items() if secret in v]
        assert secret not in cmdline, pid
        assert env[b"WANDEL_STATE"].startswith(b"postgresql://wandel@127.0.0.1:")
        passfile = Path(env[b"PGPASSFILE"].decode())
        assert passfile.stat().st_mode & 0o777 == 0o600
        assert passfile.parent.stat().st_mode & 0o777 == 0o700
        assert passfile.read_text().endswith(f":{PG_PASSWORD}\n")
        passfiles.add(passfile)
    assert len(passfiles) == 1
    # the workers really use it: a login needs the state
    assert Conn(port, workers).request("GET", "/api/anmelden")[0] == 200
    served_passfile = passfiles.pop()
    proc.terminate()
    proc.wait(timeout=120)
    assert not served_passfile.exists()
    assert not served_passfile.parent.exists()


def test_duckdb_state_refuses_more_than_one_worker(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    res = CliRunner().invoke(app, ["--lang", "en", "serve", "--db", str(db), "--workers", "2"])
    assert res.exit_code == 2
    assert "several workers need the application state in PostgreSQL" in res.stderr
    assert str(tmp_path / "w.state.duckdb") in res.stderr
    assert "Traceback" not in res.output
    de = CliRunner().invoke(app, ["serve", "--db", str(db), "--workers", "3"])
    assert de.exit_code == 2
    assert "mehrere Worker brauchen" in de.stderr
    assert list(tmp_path.iterdir()) == []  # nothing made

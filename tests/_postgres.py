"""A real PostgreSQL for the tests (Debian's package): a cluster made with ``initdb`` in a
temporary folder, served on 127.0.0.1 at a free port for the test session and stopped at its end
(the ``postgres`` fixture of conftest.py). Run as root, the server runs as the ``postgres`` user
(PostgreSQL refuses root). Each test gets a database of its own (:meth:`Postgres.database`).
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wandel.settings import DatabaseUrl

SUPERUSER = "wandel"
PASSWORD = "pg-Geheim-7f3a9c"
"""The superuser's password (checked with scram-sha-256 over TCP): the masking tests look for it."""

_COUNTER = itertools.count(1)


def bin_dir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: the newest /usr/lib/postgresql/*/bin, else PATH."""

    def version(p: Path) -> int:
        m = re.search(r"/(\d+)/bin$", str(p))
        return int(m.group(1)) if m else 0

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for d in found:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Postgres:
    """A running cluster: its port and folder."""

    port: int
    folder: Path
    names: list[str] = field(default_factory=list)

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    def database(self) -> DatabaseUrl:
        """A new empty database of this cluster."""
        import psycopg

        name = f"t{os.getpid()}_{next(_COUNTER)}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return DatabaseUrl(self.url(name))


def start(missing: object) -> Iterator[Postgres]:
    """Make, start, yield and stop a cluster (``missing``: conftest's ``missing`` when no
    PostgreSQL binaries exist)."""
    bindir = bin_dir()
    if bindir is None:
        missing("PostgreSQL", "apt-get install postgresql")  # type: ignore[operator]
        return
    folder = Path(tempfile.mkdtemp(prefix="wandel-pg-"))
    run_as: list[str] = []
    if os.getuid() == 0:  # initdb and postgres refuse root
        who = next((u for u in ("postgres", "nobody") if _exists(u)), None)
        if who is None:
            missing("a user other than root to run PostgreSQL", "apt-get install postgresql")  # type: ignore[operator]
            return
        run_as = ["runuser", "-u", who, "--"]
        os.chown(folder, pwd.getpwnam(who).pw_uid, pwd.getpwnam(who).pw_gid)
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(pwfile, pwd.getpwnam(run_as[2]).pw_uid, -1)
    data = folder / "data"
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            *("-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile)),
            *("--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-locale"),
        ],
        check=True,
        capture_output=True,
    )
    pwfile.unlink()
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            *("-D", str(data), "-l", str(folder / "log"), "-o", options, "-w", "start"),
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield Postgres(port, folder)
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True

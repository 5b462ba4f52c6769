"""Serving the web app: on a port for people (:func:`serve`), or once for a smoke check
(:func:`smoke`: a real HTTP server on a free loopback port, a few requests, then shut down)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from wandel.errors import MissingDataError
from wandel.settings import environment, get_settings, setting
from wandel.web.app import create_app

__all__ = ["SMOKE_PATHS", "SmokeResult", "serve", "smoke", "worker_app"]

SMOKE_PATHS = ("/", "/kommune/15087220", "/api/kommune/15087220", "/daten")
"""What the smoke check asks for (Hettstedt, a seed town of the demo region)."""


def _check_db(db: Path) -> Path:
    if not Path(db).is_file():
        raise MissingDataError("@web.error.no_store", path=str(db))
    return Path(db)


def serve(db: Path, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the app on ``host:port`` until interrupted (the store is loaded first).

    ``workers`` > 1: that many processes (uvicorn's workers) answer on the one address, each
    with its own copy of the app made by :func:`worker_app` from the settings of this call (passed
    on as ``WANDEL_*`` variables); they share the application state, which must then be a
    PostgreSQL database (``wandel serve`` refuses a DuckDB state for several workers)."""
    from wandel.web.security import configure_logging

    configure_logging()
    if workers <= 1:
        app = create_app(_check_db(db))
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    _check_db(db)
    from wandel.workflow.users import open_state, state_path

    # the state is reached (and migrated) once here: a database that cannot be reached is one
    # clear error, not workers that fail and are started again
    where = state_path(Path(db))
    open_state(where).close()
    with worker_environment(environment(), where) as env:
        os.environ.update(env)  # the workers are new processes: they read the settings
        os.environ[setting("db").env] = str(Path(db).resolve())
        uvicorn.run(
            "wandel.web.server:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )


def _passfile_field(text: str) -> str:
    r"""A field of libpq's password file: ``:`` and ``\`` escaped with a backslash.

    >>> print(_passfile_field(r"a:b\c"))
    a\:b\\c
    """
    return text.replace("\\", "\\\\").replace(":", "\\:")


def _passfile_root() -> Path | None:
    """The folder of the servers' password files: ``wandel-pg-<uid>`` (0700) in the user's
    runtime folder (``XDG_RUNTIME_DIR``, a tmpfs the system empties at logout) or else the
    temporary folder; ``None`` where that name is taken by something not the user's own."""
    base = os.environ.get("XDG_RUNTIME_DIR") or ""
    if not base or not os.access(base, os.W_OK):
        base = tempfile.gettempdir()
    root = Path(base) / f"wandel-pg-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    if root.is_symlink() or not root.is_dir() or root.stat().st_uid != os.getuid():
        return None  # pragma: no cover - not ours: a folder of its own, as before
    os.chmod(root, 0o700)
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process
        return True
    return True


def _passfile_folder() -> Path:
    """A new folder (0700) for this server's password file, named by its process id; the
    folders of servers whose process is gone (killed with ``kill -9``: no ``finally`` ran) are
    removed first, so a password file outlives its server only until the next start."""
    root = _passfile_root()
    if root is None:  # pragma: no cover
        return Path(tempfile.mkdtemp(prefix="wandel-pg-"))
    for old in root.iterdir():
        pid = old.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))  # 0700


@contextlib.contextmanager
def worker_environment(env: Mapping[str, str], state: object) -> Iterator[dict[str, str]]:
    """The variables for the workers of ``wandel serve --workers``: ``env`` (the settings of this
    call) with the password of a PostgreSQL ``state`` taken out of its address and put into a
    password file of libpq instead (``PGPASSFILE``: a file only the owner can read, 0600, in a
    folder only the owner can open, 0700, removed when the server stops, and, after a
    ``kill -9``, at the next start: :func:`_passfile_folder`).

    The environment of a process can be read by every process of the same user
    (``/proc/<pid>/environ``), so a password never goes there, nor into a command line.
    """
    import sqlalchemy as sa

    from wandel.settings import DatabaseUrl

    out = dict(env)
    key = setting("state").env
    if not isinstance(state, DatabaseUrl):
        yield out
        return
    scheme = state.url.split("://", 1)[0]
    url = sa.engine.make_url("postgresql://" + state.url.split("://", 1)[1])
    if not url.password:
        out[key] = state.url
        yield out
        return
    folder = _passfile_folder()
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix="pgpass-")  # 0600
        user = _passfile_field(str(url.username or "*"))
        line = f"*:*:*:{user}:{_passfile_field(str(url.password))}\n"
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(line)
        os.chmod(name, 0o600)
        bare = sa.engine.URL.create(
            url.drivername, url.username, None, url.host, url.port, url.database, url.query
        ).render_as_string(hide_password=False)
        out[key] = scheme + "://" + bare.split("://", 1)[1]
        out["PGPASSFILE"] = name
        yield out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def worker_app() -> FastAPI:
    """The app of one worker of ``wandel serve --workers`` (the store of the ``db`` setting)."""
    from wandel.web.security import configure_logging

    configure_logging()
    return create_app(_check_db(get_settings().db))


@dataclass(frozen=True)
class SmokeResult:
    """Address served and ``(path, status)`` of each request."""

    url: str
    statuses: tuple[tuple[str, int], ...]

    @property
    def ok(self) -> bool:
        return all(s == 200 for _, s in self.statuses)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smoke(db: Path, paths: Sequence[str] = SMOKE_PATHS) -> SmokeResult:
    """Start the app on a free loopback port, request ``paths`` over HTTP, stop it."""
    app = create_app(_check_db(db))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise MissingDataError("@web.error.no_start", port=port)
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=120) as client:
            statuses = tuple((p, client.get(p).status_code) for p in paths)
    finally:
        server.should_exit = True
        thread.join()
    return SmokeResult(url, statuses)

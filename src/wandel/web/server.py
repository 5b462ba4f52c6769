"""Serving the web app: on a port for people (:func:`serve`), or once for a smoke check
(:func:`smoke`: a real HTTP server on a free loopback port, a few requests, then shut down)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from wandel.errors import MissingDataError
from wandel.web.app import create_app

__all__ = ["SMOKE_PATHS", "SmokeResult", "serve", "smoke"]

SMOKE_PATHS = ("/", "/kommune/15087220", "/api/kommune/15087220", "/daten")
"""What the smoke check asks for (Hettstedt, a seed town of the demo region)."""


def _check_db(db: Path) -> Path:
    if not Path(db).is_file():
        raise MissingDataError("@web.error.no_store", path=str(db))
    return Path(db)


def serve(db: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the app on ``host:port`` until interrupted (the store is loaded first)."""
    from wandel.web.security import configure_logging

    app = create_app(_check_db(db))
    configure_logging()
    uvicorn.run(app, host=host, port=port, log_level="warning")


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

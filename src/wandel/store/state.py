"""Application state of the web app: users, sessions, failed logins, the audit log and saved
scenarios (drafts and published ones), behind one small repository interface.

:class:`AppState` is the interface the workflow and the web app use; :class:`DuckState` keeps it in
one DuckDB file beside the statistics store; :class:`wandel.store.pg_state.PgState` gives the same
methods on PostgreSQL (for several web workers). Every method is one transaction: a change and its audit entry are written together or
not at all. The file is opened for each call and closed after it, so that ``wandel users`` can
change users while ``wandel serve`` runs; a call that finds the file locked by another process
tries again for a few seconds.

>>> import datetime as dt
>>> st = DuckState(":memory:")
>>> at = dt.datetime(2026, 1, 1)
>>> st.save_user(User("anna", "planner", ("15087",), "h", at), Audit(at, "cli", "user.add", "anna"))
>>> [u.name for u in st.users()], st.audit()[0].action
(['anna'], 'user.add')
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb

from wandel.errors import StoreError

__all__ = [
    "STATE_SCHEMA_VERSION",
    "AppState",
    "Audit",
    "DuckState",
    "SavedScenario",
    "Session",
    "User",
]

STATE_SCHEMA_VERSION = 1
"""Version of the tables below; a file of another version is refused (see :data:`_MIGRATIONS`)."""

T = TypeVar("T")


@dataclass(frozen=True)
class User:
    """A person who logs in: ``role`` is ``admin``, ``planner`` or ``viewer``; ``zones`` the AGS
    keys she works on (a key covers the zones below it: ``15087`` covers ``15087220``)."""

    name: str
    role: str
    zones: tuple[str, ...]
    password_hash: str = field(repr=False)
    created_at: dt.datetime
    disabled: bool = False

    def public(self) -> dict[str, Any]:
        """Its fields without the hash (for the audit log and listings)."""
        return {
            "name": self.name,
            "role": self.role,
            "zones": list(self.zones),
            "disabled": self.disabled,
        }


@dataclass(frozen=True)
class Session:
    """A login: only the SHA-256 of the cookie's token is kept, and the CSRF token of the session."""

    token_sha256: str
    user: str
    csrf: str = field(repr=False)
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class Audit:
    """One entry of the audit log: who did what to which object when, with the state before and
    after (JSON-able dictionaries; ``None`` for a new or removed object)."""

    at: dt.datetime
    actor: str
    action: str
    target: str
    zone: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True)
class SavedScenario:
    """A scenario of a zone kept by a planner: its levers, a draft until published."""

    id: int
    zone: str
    title: str
    levers: dict[str, Any]
    author: str
    status: str  # "draft" or "published"
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def published(self) -> bool:
        return self.status == "published"

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "zone": self.zone,
            "title": self.title,
            "levers": dict(self.levers),
            "author": self.author,
            "status": self.status,
        }


class AppState(Protocol):
    """The repository of the application state (one implementation per database)."""

    def user(self, name: str) -> User | None: ...
    def users(self) -> list[User]: ...
    def save_user(self, user: User, audit: Audit) -> None: ...
    def add_session(self, session: Session) -> None: ...
    def session(self, token_sha256: str) -> Session | None: ...
    def end_session(self, token_sha256: str) -> None: ...
    def end_sessions_of(self, user: str) -> int: ...
    def add_failure(self, key: str, at: dt.datetime) -> None: ...
    def failures_since(self, key: str, since: dt.datetime) -> list[dt.datetime]: ...
    def clear_failures(self, key: str) -> None: ...
    def add_audit(self, audit: Audit) -> None: ...
    def audit(self, limit: int = 1000) -> list[Audit]: ...
    def save_scenario(self, scenario: SavedScenario, audit: Audit) -> SavedScenario: ...
    def scenario(self, id: int) -> SavedScenario | None: ...
    def scenarios(self, zone: str | None = None) -> list[SavedScenario]: ...
    def close(self) -> None: ...


_TABLES = (
    """CREATE TABLE IF NOT EXISTS state_meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS users (
        name VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, zones VARCHAR NOT NULL,
        password_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, disabled BOOLEAN NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_sha256 VARCHAR PRIMARY KEY, user_name VARCHAR NOT NULL, csrf VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS login_failures (key VARCHAR NOT NULL, failed_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit (
        id BIGINT PRIMARY KEY, logged_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
        action VARCHAR NOT NULL, target VARCHAR NOT NULL, zone VARCHAR,
        before VARCHAR, after VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS scenarios (
        id BIGINT PRIMARY KEY, zone VARCHAR NOT NULL, title VARCHAR NOT NULL,
        levers VARCHAR NOT NULL, author VARCHAR NOT NULL, status VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)""",
)

_MIGRATIONS: dict[int, Sequence[str]] = {}
"""From version ``v`` to ``v + 1``: the statements to run (none yet: version 1 is the first)."""

_BUSY_SECONDS = 10.0


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _unjson(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))


class DuckState:
    """:class:`AppState` in one DuckDB file (``":memory:"`` keeps one connection for tests).

    The connection stays open for ``keep_open`` seconds after the last call (a busy web app does
    not reopen the file for every request) and is closed when idle, so that another process (a
    ``wandel users`` command) gets its turn.
    """

    def __init__(self, path: str | Path, keep_open: float = 1.0) -> None:
        self.path = str(path)
        self.keep_open = keep_open
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._timer: threading.Timer | None = None
        self._memory = duckdb.connect(":memory:") if self.path == ":memory:" else None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._tx() as con:
            self._ensure_schema(con)

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self._memory is not None:
            return self._memory.cursor()
        deadline = time.monotonic() + _BUSY_SECONDS
        while True:
            try:
                return duckdb.connect(self.path)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise StoreError("@error.state.busy", path=self.path, reason=str(exc)) from None
                time.sleep(0.05)
            except duckdb.Error as exc:
                raise StoreError(
                    "@error.store.cannot_open", path=self.path, reason=str(exc)
                ) from None

    @contextmanager
    def _tx(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            con = self._con if self._con is not None else self._connect()
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                self._release(con)

    def _release(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._memory is not None or self.keep_open <= 0:
            con.close()
            self._con = None
            return
        self._con = con
        self._timer = threading.Timer(self.keep_open, self.close)
        self._timer.daemon = True
        self._timer.start()

    def close(self) -> None:
        """Close the file now (it is opened again by the next call)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def _read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        with self._tx() as con:
            return fn(con)

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        for sql in _TABLES:
            con.execute(sql)
        row = con.execute("SELECT value FROM state_meta WHERE key = 'schema_version'").fetchall()
        if not row:
            con.execute(
                "INSERT INTO state_meta VALUES ('schema_version', ?)", [str(STATE_SCHEMA_VERSION)]
            )
            return
        have = int(row[0][0])
        if have > STATE_SCHEMA_VERSION or any(
            v not in _MIGRATIONS for v in range(have, STATE_SCHEMA_VERSION)
        ):
            raise StoreError(
                "@error.store.schema", path=self.path, have=have, need=STATE_SCHEMA_VERSION
            )
        for v in range(have, STATE_SCHEMA_VERSION):
            for sql in _MIGRATIONS[v]:
                con.execute(sql)
        con.execute(
            "UPDATE state_meta SET value = ? WHERE key = 'schema_version'",
            [str(STATE_SCHEMA_VERSION)],
        )

    def schema_version(self) -> int:
        return self._read(
            lambda c: int(
                c.execute("SELECT value FROM state_meta WHERE key = 'schema_version'").fetchall()[
                    0
                ][0]
            )
        )

    # -- users ---------------------------------------------------------------------------------
    @staticmethod
    def _user(row: tuple[Any, ...]) -> User:
        name, role, zones, h, created, disabled = row
        return User(name, role, tuple(json.loads(zones)), h, created, bool(disabled))

    def user(self, name: str) -> User | None:
        rows = self._read(
            lambda c: c.execute(
                "SELECT name, role, zones, password_hash, created_at, disabled FROM users "
                "WHERE name = ?",
                [name],
            ).fetchall()
        )
        return self._user(rows[0]) if rows else None

    def users(self) -> list[User]:
        rows = self._read(
            lambda c: c.execute(
                "SELECT name, role, zones, password_hash, created_at, disabled FROM users "
                "ORDER BY name"
            ).fetchall()
        )
        return [self._user(r) for r in rows]

    def save_user(self, user: User, audit: Audit) -> None:
        with self._tx() as con:
            con.execute("DELETE FROM users WHERE name = ?", [user.name])
            con.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                [
                    user.name,
                    user.role,
                    json.dumps(list(user.zones)),
                    user.password_hash,
                    user.created_at,
                    user.disabled,
                ],
            )
            self._audit(con, audit)

    # -- sessions and failed logins ------------------------------------------------------------
    def add_session(self, session: Session) -> None:
        with self._tx() as con:
            con.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                [
                    session.token_sha256,
                    session.user,
                    session.csrf,
                    session.created_at,
                    session.expires_at,
                ],
            )

    def session(self, token_sha256: str) -> Session | None:
        rows = self._read(
            lambda c: c.execute(
                "SELECT token_sha256, user_name, csrf, created_at, expires_at FROM sessions "
                "WHERE token_sha256 = ?",
                [token_sha256],
            ).fetchall()
        )
        return Session(*rows[0]) if rows else None

    def end_session(self, token_sha256: str) -> None:
        with self._tx() as con:
            con.execute("DELETE FROM sessions WHERE token_sha256 = ?", [token_sha256])

    def end_sessions_of(self, user: str) -> int:
        with self._tx() as con:
            n = con.execute("SELECT count(*) FROM sessions WHERE user_name = ?", [user]).fetchall()
            con.execute("DELETE FROM sessions WHERE user_name = ?", [user])
            return int(n[0][0])

    def add_failure(self, key: str, at: dt.datetime) -> None:
        with self._tx() as con:
            con.execute("INSERT INTO login_failures VALUES (?, ?)", [key, at])

    def failures_since(self, key: str, since: dt.datetime) -> list[dt.datetime]:
        rows = self._read(
            lambda c: c.execute(
                "SELECT failed_at FROM login_failures WHERE key = ? AND failed_at >= ? "
                "ORDER BY failed_at",
                [key, since],
            ).fetchall()
        )
        return [r[0] for r in rows]

    def clear_failures(self, key: str) -> None:
        with self._tx() as con:
            con.execute("DELETE FROM login_failures WHERE key = ?", [key])

    # -- audit ---------------------------------------------------------------------------------
    @staticmethod
    def _audit(con: duckdb.DuckDBPyConnection, a: Audit) -> None:
        (n,) = con.execute("SELECT coalesce(max(id), 0) + 1 FROM audit").fetchall()[0]
        con.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [n, a.at, a.actor, a.action, a.target, a.zone, _json(a.before), _json(a.after)],
        )

    def add_audit(self, audit: Audit) -> None:
        with self._tx() as con:
            self._audit(con, audit)

    def audit(self, limit: int = 1000) -> list[Audit]:
        rows = self._read(
            lambda c: c.execute(
                "SELECT logged_at, actor, action, target, zone, before, after FROM audit "
                "ORDER BY id DESC LIMIT ?",
                [limit],
            ).fetchall()
        )
        return [Audit(r[0], r[1], r[2], r[3], r[4], _unjson(r[5]), _unjson(r[6])) for r in rows]

    # -- saved scenarios -----------------------------------------------------------------------
    @staticmethod
    def _scenario(row: tuple[Any, ...]) -> SavedScenario:
        i, zone, title, levers, author, status, created, updated = row
        return SavedScenario(
            int(i), zone, title, json.loads(levers), author, status, created, updated
        )

    _SCENARIO_COLS = "id, zone, title, levers, author, status, created_at, updated_at"

    def save_scenario(self, scenario: SavedScenario, audit: Audit) -> SavedScenario:
        """Insert (``id`` 0: a new id is given) or replace a scenario, with its audit entry."""
        with self._tx() as con:
            s = scenario
            if s.id == 0:
                (n,) = con.execute("SELECT coalesce(max(id), 0) + 1 FROM scenarios").fetchall()[0]
                s = replace(s, id=int(n))
            con.execute("DELETE FROM scenarios WHERE id = ?", [s.id])
            con.execute(
                "INSERT INTO scenarios VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    s.id,
                    s.zone,
                    s.title,
                    json.dumps(s.levers, sort_keys=True),
                    s.author,
                    s.status,
                    s.created_at,
                    s.updated_at,
                ],
            )
            self._audit(con, replace(audit, target=f"scenario:{s.id}", after=s.public()))
            return s

    def scenario(self, id: int) -> SavedScenario | None:
        rows = self._read(
            lambda c: c.execute(
                f"SELECT {self._SCENARIO_COLS} FROM scenarios WHERE id = ?", [id]
            ).fetchall()
        )
        return self._scenario(rows[0]) if rows else None

    def scenarios(self, zone: str | None = None) -> list[SavedScenario]:
        where, params = ("WHERE zone = ?", [zone]) if zone is not None else ("", [])
        rows = self._read(
            lambda c: c.execute(
                f"SELECT {self._SCENARIO_COLS} FROM scenarios {where} ORDER BY id", params
            ).fetchall()
        )
        return [self._scenario(r) for r in rows]

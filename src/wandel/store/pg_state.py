"""The application state in PostgreSQL: :class:`PgState`, the same methods and numbers as
:class:`wandel.store.state.DuckState`, for several web workers (and machines) sharing one state.

Selected when the ``state`` setting is a ``postgresql://`` address. psycopg 3 through SQLAlchemy
Core; the schema is made and migrated by the Alembic revisions in :mod:`wandel.store.pg_migrations`
(revision ``"000N"`` is schema version N): a database of a revision this Wandel does not know is
refused, a known older one is migrated, under an advisory lock so that workers starting together
migrate once. Every method is one transaction (a change and its audit entry are written together
or not at all). The password of the address never appears in an error, a log line or a ``repr``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects.postgresql import insert

from wandel.errors import StoreError
from wandel.settings import DatabaseUrl, mask_url
from wandel.store.state import (
    STATE_SCHEMA_VERSION,
    Audit,
    SavedScenario,
    Session,
    User,
    _json,
    _unjson,
)

__all__ = ["TABLES", "PgState", "revision_of"]

_MIGRATIONS = Path(__file__).resolve().parent / "pg_migrations"
_LOCK_KEY = 0x57414E44454C  # "WANDEL": the advisory lock of schema changes and restores

meta = sa.MetaData()
state_meta = sa.Table(
    "state_meta", meta, sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text)
)
users = sa.Table(
    "users",
    meta,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text),
    sa.Column("zones", sa.Text),
    sa.Column("password_hash", sa.Text),
    sa.Column("created_at", sa.DateTime),
    sa.Column("disabled", sa.Boolean),
)
sessions = sa.Table(
    "sessions",
    meta,
    sa.Column("token_sha256", sa.Text, primary_key=True),
    sa.Column("user_name", sa.Text),
    sa.Column("csrf", sa.Text),
    sa.Column("created_at", sa.DateTime),
    sa.Column("expires_at", sa.DateTime),
)
login_failures = sa.Table(
    "login_failures",
    meta,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("key", sa.Text),
    sa.Column("failed_at", sa.DateTime),
)
audit_log = sa.Table(
    "audit",
    meta,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("logged_at", sa.DateTime),
    sa.Column("actor", sa.Text),
    sa.Column("action", sa.Text),
    sa.Column("target", sa.Text),
    sa.Column("zone", sa.Text),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
)
scenarios = sa.Table(
    "scenarios",
    meta,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("zone", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("levers", sa.Text),
    sa.Column("author", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("created_at", sa.DateTime),
    sa.Column("updated_at", sa.DateTime),
)
TABLES = (state_meta, users, sessions, login_failures, audit_log, scenarios)
"""The tables of the state, in the order a restore fills them."""


def revision_of(version: int) -> str:
    """The Alembic revision of schema version ``version`` (``1`` -> ``"0001"``)."""
    return f"{version:04d}"


def _script() -> ScriptDirectory:
    return ScriptDirectory(str(_MIGRATIONS), version_locations=[str(_MIGRATIONS / "versions")])


def _driver_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return "postgresql+psycopg://" + rest if scheme.lower() != "postgresql+psycopg" else url


def _reason(exc: BaseException, url: DatabaseUrl) -> str:
    """The first line of a driver's message, with no trace of the password."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    password = sa.engine.make_url(_driver_url(url.url)).password
    if password:
        text = text.replace(str(password), "***")
    return mask_url(text)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


class PgState:
    """:class:`~wandel.store.state.AppState` in a PostgreSQL database (one connection pool per
    process; ``pool_size`` connections kept open)."""

    def __init__(self, url: DatabaseUrl, pool_size: int = 5) -> None:
        self.url = url
        self.path = url.masked  # what errors and messages name
        self._engine = sa.create_engine(
            _driver_url(url.url),
            pool_size=pool_size,
            max_overflow=2 * pool_size,
            pool_pre_ping=True,
            hide_parameters=True,  # no bound value (a hash, a token) in an error message
        )
        with self._tx() as con:
            self._ensure_schema(con)

    def __repr__(self) -> str:
        return f"PgState({self.path!r})"

    # -- connections ---------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        try:
            with self._engine.begin() as con:
                yield con
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise StoreError(
                "@error.state.pg", path=self.path, reason=_reason(exc, self.url)
            ) from None

    def close(self) -> None:
        """Close the pool's connections (new ones are opened by the next call)."""
        self._engine.dispose()

    def _ensure_schema(self, con: sa.Connection) -> None:
        con.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        script = _script()
        have = MigrationContext.configure(con).get_current_revision()
        head = script.get_current_head()
        known = {r.revision for r in script.walk_revisions()}
        if head != revision_of(STATE_SCHEMA_VERSION):  # the package is broken, not the database
            raise StoreError(
                "@error.store.schema", path=self.path, have=head, need=STATE_SCHEMA_VERSION
            )
        if have is not None and have not in known:
            raise StoreError(
                "@error.store.schema", path=self.path, have=have, need=STATE_SCHEMA_VERSION
            )
        if have == head:
            return
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))

        def upgrade(rev: Any, context: Any) -> Any:
            return script._upgrade_revs("head", rev)

        with EnvironmentContext(config, script, fn=upgrade, destination_rev="head") as env:
            env.configure(connection=con, target_metadata=meta)
            env.run_migrations()
        con.execute(
            sa.update(state_meta)
            .where(state_meta.c.key == "schema_version")
            .values(value=str(STATE_SCHEMA_VERSION))
        )

    def schema_version(self) -> int:
        with self._tx() as con:
            value = con.execute(
                sa.select(state_meta.c.value).where(state_meta.c.key == "schema_version")
            ).scalar_one()
        return int(value)

    # -- users ---------------------------------------------------------------------------------
    @staticmethod
    def _user(row: Sequence[Any]) -> User:
        name, role, zones, h, created, disabled = row
        return User(name, role, tuple(json.loads(zones)), h, created, bool(disabled))

    _USER_COLS = (
        users.c.name,
        users.c.role,
        users.c.zones,
        users.c.password_hash,
        users.c.created_at,
        users.c.disabled,
    )

    def user(self, name: str) -> User | None:
        with self._tx() as con:
            row = con.execute(sa.select(*self._USER_COLS).where(users.c.name == name)).first()
        return self._user(row) if row is not None else None

    def users(self) -> list[User]:
        with self._tx() as con:
            rows = con.execute(sa.select(*self._USER_COLS).order_by(users.c.name)).all()
        return [self._user(r) for r in rows]

    def save_user(self, user: User, audit: Audit) -> None:
        entry = self._audit_row(audit)  # not JSON-able: refused before anything is written
        values = {
            "name": user.name,
            "role": user.role,
            "zones": json.dumps(list(user.zones)),
            "password_hash": user.password_hash,
            "created_at": user.created_at,
            "disabled": user.disabled,
        }
        stmt = insert(users).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[users.c.name],
            set_={k: stmt.excluded[k] for k in values if k != "name"},
        )
        with self._tx() as con:
            con.execute(stmt)
            con.execute(sa.insert(audit_log).values(**entry))

    # -- sessions and failed logins ------------------------------------------------------------
    def add_session(self, session: Session) -> None:
        with self._tx() as con:
            con.execute(
                sa.insert(sessions).values(
                    token_sha256=session.token_sha256,
                    user_name=session.user,
                    csrf=session.csrf,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                )
            )

    def session(self, token_sha256: str) -> Session | None:
        with self._tx() as con:
            row = con.execute(
                sa.select(
                    sessions.c.token_sha256,
                    sessions.c.user_name,
                    sessions.c.csrf,
                    sessions.c.created_at,
                    sessions.c.expires_at,
                ).where(sessions.c.token_sha256 == token_sha256)
            ).first()
        return Session(*row) if row is not None else None

    def end_session(self, token_sha256: str) -> None:
        with self._tx() as con:
            con.execute(sa.delete(sessions).where(sessions.c.token_sha256 == token_sha256))

    def end_sessions_of(self, user: str) -> int:
        with self._tx() as con:
            res = con.execute(sa.delete(sessions).where(sessions.c.user_name == user))
            return int(res.rowcount)

    def add_failure(self, key: str, at: dt.datetime) -> None:
        with self._tx() as con:
            con.execute(sa.insert(login_failures).values(key=key, failed_at=at))

    def failures_since(self, key: str, since: dt.datetime) -> list[dt.datetime]:
        with self._tx() as con:
            rows = con.execute(
                sa.select(login_failures.c.failed_at)
                .where(login_failures.c.key == key, login_failures.c.failed_at >= since)
                .order_by(login_failures.c.failed_at)
            ).all()
        return [r[0] for r in rows]

    def clear_failures(self, key: str) -> None:
        with self._tx() as con:
            con.execute(sa.delete(login_failures).where(login_failures.c.key == key))

    # -- audit ---------------------------------------------------------------------------------
    @staticmethod
    def _audit_row(a: Audit) -> dict[str, Any]:
        return {
            "logged_at": a.at,
            "actor": a.actor,
            "action": a.action,
            "target": a.target,
            "zone": a.zone,
            "before": _json(a.before),
            "after": _json(a.after),
        }

    def add_audit(self, audit: Audit) -> None:
        entry = self._audit_row(audit)
        with self._tx() as con:
            con.execute(sa.insert(audit_log).values(**entry))

    def audit(self, limit: int = 1000) -> list[Audit]:
        t = audit_log
        with self._tx() as con:
            rows = con.execute(
                sa.select(
                    t.c.logged_at,
                    t.c.actor,
                    t.c.action,
                    t.c.target,
                    t.c.zone,
                    t.c.before,
                    t.c.after,
                )
                .order_by(t.c.id.desc())
                .limit(limit)
            ).all()
        return [Audit(r[0], r[1], r[2], r[3], r[4], _unjson(r[5]), _unjson(r[6])) for r in rows]

    # -- saved scenarios -----------------------------------------------------------------------
    @staticmethod
    def _scenario(row: Sequence[Any]) -> SavedScenario:
        i, zone, title, levers, author, status, created, updated = row
        return SavedScenario(
            int(i), zone, title, json.loads(levers), author, status, created, updated
        )

    _SCENARIO_COLS = (
        scenarios.c.id,
        scenarios.c.zone,
        scenarios.c.title,
        scenarios.c.levers,
        scenarios.c.author,
        scenarios.c.status,
        scenarios.c.created_at,
        scenarios.c.updated_at,
    )

    def save_scenario(self, scenario: SavedScenario, audit: Audit) -> SavedScenario:
        """Insert (``id`` 0: a new id is given) or replace a scenario, with its audit entry.

        New ids are the largest one plus 1, as in DuckState (no gaps after a failed save): the
        table is locked against other writers for the transaction, so that two workers saving at
        once get two ids."""
        with self._tx() as con:
            s = scenario
            if s.id == 0:
                con.execute(sa.text("LOCK TABLE scenarios IN SHARE ROW EXCLUSIVE MODE"))
                n = con.execute(
                    sa.select(sa.func.coalesce(sa.func.max(scenarios.c.id), 0) + 1)
                ).scalar_one()
                s = replace(s, id=int(n))
            entry = self._audit_row(replace(audit, target=f"scenario:{s.id}", after=s.public()))
            values = {
                "id": s.id,
                "zone": s.zone,
                "title": s.title,
                "levers": json.dumps(s.levers, sort_keys=True),
                "author": s.author,
                "status": s.status,
                "created_at": s.created_at,
                "updated_at": s.updated_at,
            }
            stmt = insert(scenarios).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[scenarios.c.id],
                set_={k: stmt.excluded[k] for k in values if k != "id"},
            )
            con.execute(stmt)
            con.execute(sa.insert(audit_log).values(**entry))
            return s

    def scenario(self, id: int) -> SavedScenario | None:
        with self._tx() as con:
            row = con.execute(sa.select(*self._SCENARIO_COLS).where(scenarios.c.id == id)).first()
        return self._scenario(row) if row is not None else None

    def scenarios(self, zone: str | None = None) -> list[SavedScenario]:
        q = sa.select(*self._SCENARIO_COLS).order_by(scenarios.c.id)
        if zone is not None:
            q = q.where(scenarios.c.zone == zone)
        with self._tx() as con:
            rows = con.execute(q).all()
        return [self._scenario(r) for r in rows]

    # -- backup and restore --------------------------------------------------------------------
    def dump(self) -> tuple[bytes, int]:
        """Every row of every table as JSON (one consistent snapshot), and the schema version."""
        with self._tx() as con:
            con.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            version = int(
                con.execute(
                    sa.select(state_meta.c.value).where(state_meta.c.key == "schema_version")
                ).scalar_one()
            )
            tables = {
                t.name: {
                    "columns": [c.name for c in t.columns],
                    "rows": [
                        [_iso(v) for v in row]
                        for row in con.execute(
                            sa.select(*t.columns).order_by(*t.primary_key.columns)
                        )
                    ],
                }
                for t in TABLES
            }
        doc = {"format": "wandel-state", "schema_version": version, "tables": tables}
        return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8"), version

    def is_empty(self) -> bool:
        """Whether no user, session, audit entry or scenario is kept."""
        with self._tx() as con:
            return all(
                con.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() == 0
                for t in TABLES[1:]
            )

    def load(self, data: bytes) -> None:
        """Replace every row by those of a :meth:`dump` (one transaction: all or nothing)."""
        doc = json.loads(data)
        if int(doc["schema_version"]) != STATE_SCHEMA_VERSION:
            raise StoreError(
                "@error.store.schema",
                path=self.path,
                have=doc["schema_version"],
                need=STATE_SCHEMA_VERSION,
            )
        with self._tx() as con:
            con.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            con.execute(sa.text("TRUNCATE " + ", ".join(t.name for t in TABLES)))
            for t in TABLES:
                part = doc["tables"][t.name]
                cols = list(part["columns"])
                types = {c.name: c.type for c in t.columns}
                rows = [
                    {
                        c: dt.datetime.fromisoformat(v)
                        if isinstance(types[c], sa.DateTime) and v is not None
                        else v
                        for c, v in zip(cols, row, strict=True)
                    }
                    for row in part["rows"]
                ]
                if rows:
                    if t.name in ("audit", "login_failures"):  # identity columns: keep the ids
                        con.execute(
                            sa.text(
                                f"INSERT INTO {t.name} ({', '.join(cols)}) OVERRIDING SYSTEM VALUE "
                                f"VALUES ({', '.join(':' + c for c in cols)})"
                            ),
                            rows,
                        )
                    else:
                        con.execute(sa.insert(t), rows)
                if t.name in ("audit", "login_failures"):
                    con.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                            f"coalesce((SELECT max(id) FROM {t.name}), 0) + 1, false)"
                        )
                    )

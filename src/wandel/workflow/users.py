"""Users, roles, logins and the permission rule of the web app.

Roles: ``admin`` (everything), ``planner`` (reads the drafts of her zones and saves and publishes
scenarios there), ``viewer`` (reads the drafts of her zones), and the public (no login: published
material only). A user's zones are AGS keys; a key covers every zone below it (``15087`` covers
``15087220``). :func:`allowed` is the one rule; the web app asks it through
:meth:`wandel.web.reader.Reader.permit` for every read and write.

Passwords are kept as Argon2id hashes (RFC 9106, low-memory profile); a login that fails five
times within 15 minutes locks the name for the rest of that window, and one client address may fail
20 times per window. Every change of a user and every login is in the audit log.

>>> allowed("planner", ("15087",), "publish", "15087220"), allowed("viewer", ("15087",), "write", "15087220")
(True, False)
>>> allowed("public", (), "read", "15087220"), allowed("public", (), "read_draft", "15087220")
(True, False)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from wandel.errors import LoginError, StoreError, UserError
from wandel.settings import DatabaseUrl, get_settings, override
from wandel.store.state import AppState, Audit, DuckState, Session, User

__all__ = [
    "ACTIONS",
    "MIN_PASSWORD",
    "PUBLIC",
    "ROLES",
    "Login",
    "UserAdmin",
    "allowed",
    "covers",
    "end_session",
    "hash_password",
    "login",
    "open_state",
    "session_user",
    "state_path",
    "token_sha256",
    "utcnow",
    "verify_password",
]

ROLES = ("admin", "planner", "viewer")
"""The roles of a user (the public is no user)."""

PUBLIC = "public"
"""The role of a caller who has not logged in."""

ACTIONS = ("read", "read_draft", "write", "publish", "admin")
"""What a caller may be allowed to do with a zone: read published material, read drafts, save
scenarios, publish them, manage the app."""

MIN_PASSWORD = 12
MAX_FAILURES = 5
CLIENT_MAX_FAILURES = 20
WINDOW = dt.timedelta(minutes=15)
SESSION_HOURS = 8

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_ZONE = re.compile(r"^(?:\d{2}|\d{3}|\d{5}|\d{8}|\d{9}|\d{12})$")


def utcnow() -> dt.datetime:
    """Now in UTC, without time zone (as the state tables keep it)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def covers(zones: Collection[str], zone: str) -> bool:
    """Whether one of ``zones`` is ``zone`` or above it (an AGS prefix)."""
    return any(zone.startswith(z) for z in zones)


def allowed(role: str, zones: Collection[str], action: str, zone: str | None) -> bool:
    """Whether a caller of ``role`` with ``zones`` may do ``action`` with ``zone`` (``None``: the
    whole store, e.g. the search or the list of sources)."""
    if action not in ACTIONS:
        raise KeyError(action)
    if action == "read":
        return True
    if role == "admin":
        return True
    if action == "admin" or zone is None or not covers(zones, zone):
        return False
    if action == "read_draft":
        return role in ("planner", "viewer")
    return role == "planner"


# -- passwords ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (which must have :data:`MIN_PASSWORD` characters)."""
    if len(password) < MIN_PASSWORD:
        raise UserError("@error.user.short_password", n=MIN_PASSWORD)
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def token_sha256(token: str) -> str:
    """What the state keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- managing users (wandel users) ---------------------------------------------------------------


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError("@error.user.bad_name", name=name)
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError("@error.user.bad_role", role=role, roles=", ".join(ROLES))
    return role


@dataclass(frozen=True)
class UserAdmin:
    """The changes of ``wandel users``, each with its audit entry (``actor``: who made it)."""

    state: AppState
    actor: str = "cli"
    known_zones: Collection[str] | None = None

    def _zones(self, zones: Sequence[str]) -> tuple[str, ...]:
        out = []
        for z in zones:
            z = z.strip()
            if not _ZONE.match(z):
                raise UserError("@error.user.bad_zone", zone=z)
            if self.known_zones is not None and z not in self.known_zones:
                raise UserError("@error.user.unknown_zone", zone=z)
            out.append(z)
        return tuple(sorted(set(out)))

    def _get(self, name: str) -> User:
        user = self.state.user(name)
        if user is None:
            raise UserError("@error.user.unknown", name=name)
        return user

    def _save(self, before: User | None, after: User, action: str) -> User:
        self.state.save_user(
            after,
            Audit(
                utcnow(),
                self.actor,
                action,
                f"user:{after.name}",
                before=None if before is None else before.public(),
                after=after.public(),
            ),
        )
        return after

    def add(self, name: str, role: str, zones: Sequence[str], password: str) -> User:
        _check_name(name)
        if self.state.user(name) is not None:
            raise UserError("@error.user.exists", name=name)
        user = User(name, _check_role(role), self._zones(zones), hash_password(password), utcnow())
        return self._save(None, user, "user.add")

    def list(self) -> list[User]:
        return self.state.users()

    def set_role(self, name: str, role: str) -> User:
        user = self._get(name)
        return self._save(user, replace(user, role=_check_role(role)), "user.set_role")

    def set_zones(self, name: str, zones: Sequence[str]) -> User:
        user = self._get(name)
        return self._save(user, replace(user, zones=self._zones(zones)), "user.set_zones")

    def disable(self, name: str, disabled: bool = True) -> User:
        user = self._get(name)
        after = self._save(
            user, replace(user, disabled=disabled), "user.disable" if disabled else "user.enable"
        )
        self.state.end_sessions_of(name)
        return after

    def passwd(self, name: str, password: str) -> User:
        user = self._get(name)
        after = self._save(
            user, replace(user, password_hash=hash_password(password)), "user.passwd"
        )
        self.state.end_sessions_of(name)  # a new password ends every login of the old one
        return after


# -- logins and sessions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    """A successful login: the token for the cookie (kept only as its SHA-256) and the session."""

    token: str
    session: Session
    user: User


def _locked(state: AppState, name: str, client: str, now: dt.datetime) -> bool:
    since = now - WINDOW
    return (
        len(state.failures_since(f"user:{name}", since)) >= MAX_FAILURES
        or len(state.failures_since(f"client:{client}", since)) >= CLIENT_MAX_FAILURES
    )


def login(
    state: AppState, name: str, password: str, client: str, now: dt.datetime | None = None
) -> Login:
    """Log ``name`` in from ``client`` (an address); one message for an unknown name, a wrong
    password and a disabled user.

    Raises
    ------
    LoginError
        Refused; ``locked`` when too many attempts failed in the last 15 minutes.
    """
    now = now or utcnow()
    if _locked(state, name, client, now):
        state.add_audit(Audit(now, name[:64], "login.locked", f"user:{name[:64]}"))
        raise LoginError(
            "@error.login.locked", locked=True, minutes=int(WINDOW.total_seconds() // 60)
        )
    user = state.user(name)
    ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    if user is None or not ok or user.disabled:
        state.add_failure(f"user:{name}", now)
        state.add_failure(f"client:{client}", now)
        state.add_audit(Audit(now, name[:64], "login.failed", f"user:{name[:64]}"))
        raise LoginError("@error.login.failed")
    state.clear_failures(f"user:{name}")
    token = secrets.token_urlsafe(32)
    session = Session(
        token_sha256(token),
        user.name,
        secrets.token_urlsafe(32),
        now,
        now + dt.timedelta(hours=SESSION_HOURS),
    )
    state.add_session(session)
    state.add_audit(Audit(now, user.name, "login", f"user:{user.name}"))
    return Login(token, session, user)


def session_user(
    state: AppState, token: str, now: dt.datetime | None = None
) -> tuple[User, Session] | None:
    """The user and session of a cookie's token, or ``None`` (unknown, expired, user disabled)."""
    if not token or len(token) > 128:
        return None
    h = token_sha256(token)
    session = state.session(h)
    if session is None:
        return None
    if session.expires_at <= (now or utcnow()):
        state.end_session(h)
        return None
    user = state.user(session.user)
    if user is None or user.disabled:
        return None
    return user, session


def end_session(state: AppState, token: str, now: dt.datetime | None = None) -> None:
    """Log out: the session of ``token`` ends (nothing happens for an unknown token)."""
    found = session_user(state, token, now)
    state.end_session(token_sha256(token))
    if found is not None:
        state.add_audit(Audit(now or utcnow(), found[0].name, "logout", f"user:{found[0].name}"))


# -- where the state lives ---------------------------------------------------------------------


def state_path(db: Path, state: str | Path | None = None) -> Path | DatabaseUrl:
    """Where the application state lives: ``state`` if given (a path or a ``postgresql://``
    address, read as the ``state`` setting), else the ``state`` setting, else
    ``<store>.state.duckdb`` beside the statistics store ``db``."""
    if state is not None:
        with override(state=str(state)):
            configured = get_settings().state
    else:
        configured = get_settings().state
    if configured is not None:
        return configured
    if not Path(db).name:  # "" or "." names no store file, so no state beside one either
        raise StoreError("@error.store.missing", path=str(db))
    return Path(db).with_name(Path(db).stem + ".state.duckdb")


def open_state(where: Path | DatabaseUrl) -> AppState:
    """The application state at ``where``: a DuckDB file (created if missing) or a PostgreSQL
    database (its tables made or migrated)."""
    if isinstance(where, DatabaseUrl):
        try:
            from wandel.store.pg_state import PgState
        except ImportError:
            raise StoreError("@error.state.no_postgres", path=where.masked) from None
        return PgState(where)
    return DuckState(where)

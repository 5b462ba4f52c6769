"""Settings declared once: the table :data:`SETTINGS` drives the CLI options, the README and the checks.

A value comes from, in order: an explicit argument of the call (``--db``, ``--draws``, ``--lang``:
the CLI passes them or sets them for one call with :func:`override`), the environment variable
``WANDEL_<NAME>``, the default. This module is the only reader of the environment in Wandel.

:func:`get_settings` resolves the settings *at call time*: a changed environment (``WANDEL_LANG=en``
in a test, a later call in the same process) takes effect at the next call; parsing is cached per
distinct set of raw values only. A value that cannot be used is a :class:`~wandel.errors.SettingError`
naming the variable, the value and what was expected.

>>> with override(lang="en", draws=10):
...     (get_settings().lang, get_settings().draws)
('en', 10)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs

from wandel import _catalogue
from wandel.errors import SettingError

__all__ = [
    "SETTINGS",
    "Credentials",
    "DatabaseUrl",
    "Setting",
    "Settings",
    "environment",
    "genesis_credentials",
    "get_settings",
    "markdown_table",
    "mask_url",
    "override",
    "setting",
]

ENV_PREFIX = "WANDEL_"


def _whole_number(text: str) -> int:
    value = int(text.strip())
    if value < 0:
        raise ValueError(text)
    return value


def _lang(text: str) -> str:
    value = text.strip().lower()
    if value not in _catalogue.LANGS:
        raise ValueError(text)
    return value


def _path(text: str) -> Path:
    if not text.strip():
        raise ValueError(text)
    return Path(text).expanduser()


_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@/?#\s]*)(?=@)", re.I
)
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def mask_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    >>> mask_url("postgresql://wandel:geheim@db.example:5432/wandel")
    'postgresql://wandel:***@db.example:5432/wandel'
    >>> mask_url("state.duckdb")
    'state.duckdb'
    """
    return _URL_PASSWORD.sub(lambda m: m.group("head") + "***", text)


@dataclass(frozen=True)
class DatabaseUrl:
    """The address of a PostgreSQL database (``postgresql://user:password@host:port/name``); its
    password never shows in ``repr`` or ``str`` (only :attr:`url` holds it).

    >>> DatabaseUrl("postgresql://anna:geheim@127.0.0.1/wandel")
    DatabaseUrl('postgresql://anna:***@127.0.0.1/wandel')
    """

    url: str = field(repr=False)

    @property
    def masked(self) -> str:
        return mask_url(self.url)

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.masked!r})"

    def __str__(self) -> str:
        return self.masked


def _state(text: str) -> Path | DatabaseUrl | None:
    """The application state: a DuckDB file, a ``postgresql://`` address, or empty (beside the
    store)."""
    t = text.strip()
    if not t:
        return None
    if "://" not in t:
        return Path(t).expanduser()
    scheme, rest = t.split("://", 1)
    name = rest.rsplit("@", 1)[-1].split("?", 1)[0]
    host, _, database = name.partition("/")
    if scheme.lower() not in _PG_SCHEMES or not database.strip() or not host.strip():
        raise ValueError(t)
    return DatabaseUrl(t)


def _yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "ja"):
        return True
    if value in ("0", "false", "no", "nein", ""):
        return False
    raise ValueError(text)


def _default_db() -> str:
    return str(Path(platformdirs.user_data_dir("wandel", appauthor=False)) / "wandel.duckdb")


def _default_cache() -> str:
    return platformdirs.user_cache_dir("wandel", appauthor=False)


def _default_shared() -> str:
    # the folder of real official files beside a source checkout (src/wandel/settings.py -> repo),
    # or inside it
    repo = Path(__file__).resolve().parents[2]
    beside, inside = repo.parent / "shared" / "data", repo / "shared" / "data"
    return str(inside if inside.is_dir() and not beside.is_dir() else beside)


@dataclass(frozen=True)
class Setting:
    """One setting.

    Attributes
    ----------
    name
        Attribute of :class:`Settings`; the variable is ``WANDEL_<NAME>``.
    default
        The default as documented (a placeholder such as ``<user data dir>`` for paths).
    option
        The command-line option that sets it for one call (``""``: none).
    parse
        Text -> value; raises ``ValueError`` for text it cannot use.
    expected
        What :attr:`parse` accepts (a catalogue key ``@...`` or plain words), for the error message.
    compute_default
        The default as text when it depends on the machine (user directories).
    """

    name: str
    default: str
    option: str
    parse: Callable[[str], Any]
    expected: str
    compute_default: Callable[[], str] | None = None

    @property
    def env(self) -> str:
        """The environment variable, ``WANDEL_<NAME>``."""
        return ENV_PREFIX + self.name.upper()

    @property
    def help_key(self) -> str:
        """The catalogue key of its meaning (``setting.<name>``, :mod:`wandel.i18n`)."""
        return f"setting.{self.name}"

    @property
    def help(self) -> str:
        """Its meaning in English (the README's table)."""
        return _catalogue.text(self.help_key, "en")

    def default_text(self) -> str:
        return self.compute_default() if self.compute_default is not None else self.default


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "<user data dir>/wandel.duckdb", "--db", _path, "@error.a_path", _default_db),
    Setting("cache_dir", "<user cache dir>", "--cache-dir", _path, "@error.a_path", _default_cache),
    Setting("seed", "20261123", "--seed", _whole_number, "@error.whole_number"),
    Setting("draws", "1000", "--draws", _whole_number, "@error.whole_number"),
    Setting("lang", "de", "--lang", _lang, "de, en"),
    Setting(
        "shared_data",
        "<checkout>/../shared/data",
        "",
        _path,
        "@error.a_path",
        _default_shared,
    ),
    Setting("state", "<store>.state.duckdb", "--state", _state, "@error.a_path_or_url", str),
    Setting("secure_cookies", "0", "", _yes_no, "0, 1"),
)
"""Every setting of Wandel, in the order of the README's table."""


def setting(name: str) -> Setting:
    """The entry of :data:`SETTINGS` called ``name``."""
    for s in SETTINGS:
        if s.name == name:
            return s
    raise KeyError(name)


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one call."""

    db: Path
    cache_dir: Path
    seed: int
    draws: int
    lang: str
    shared_data: Path
    state: Path | DatabaseUrl | None
    secure_cookies: bool


_OVERRIDES: ContextVar[Mapping[str, str] | None] = ContextVar("wandel_settings", default=None)


@contextmanager
def override(**values: object) -> Iterator[None]:
    """Set settings for the duration of a block, above the environment (``None`` leaves one as it
    is): the CLI's ``--lang`` holds for the whole call this way, without touching the environment."""
    given = {k: str(v) for k, v in values.items() if v is not None}
    unknown = set(given) - {s.name for s in SETTINGS}
    if unknown:
        raise KeyError(sorted(unknown)[0])
    token = _OVERRIDES.set({**(_OVERRIDES.get() or {}), **given})
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


def _raw() -> tuple[tuple[str, str, bool], ...]:
    """(where, text, given) for every setting: an override, the environment, or the default."""
    over = _OVERRIDES.get() or {}
    rows = []
    for s in SETTINGS:
        if s.name in over:
            rows.append((s.option or s.name, over[s.name], True))
        elif s.env in os.environ:
            rows.append((s.env, os.environ[s.env], True))
        else:
            rows.append((s.env, s.default_text(), False))
    return tuple(rows)


@lru_cache(maxsize=64)
def _resolve(raw: tuple[tuple[str, str, bool], ...]) -> Settings:
    values: dict[str, Any] = {}
    for s, (where, text, _) in zip(SETTINGS, raw, strict=True):
        try:
            values[s.name] = s.parse(text)
        except ValueError:
            raise SettingError(where, mask_url(text), s.expected) from None
    return Settings(**values)


def environment() -> dict[str, str]:
    """The settings given for this call (overrides and ``WANDEL_*`` variables) as environment
    variables, for processes started from it (the workers of ``wandel serve --workers``)."""
    return {s.env: text for s, (_, text, given) in zip(SETTINGS, _raw(), strict=True) if given}


def described() -> list[tuple[Setting, str, str]]:
    """Every setting with its value as text (any password of an address shown as ``***``) and
    where it came from (the option, the ``WANDEL_*`` variable, or ``default``); raises
    :class:`~wandel.errors.SettingError` for a value that cannot be used, like
    :func:`get_settings`."""
    get_settings()
    return [
        (s, mask_url(text), where if given else "default")
        for s, (where, text, given) in zip(SETTINGS, _raw(), strict=True)
    ]


def get_settings() -> Settings:
    """The settings of this call, from the overrides, the environment and the defaults.

    Raises
    ------
    SettingError
        A value cannot be used (``WANDEL_DRAWS=abc``, ``WANDEL_LANG=fr``).
    """
    return _resolve(_raw())


def markdown_table() -> str:
    """The README's table of settings (English), built from :data:`SETTINGS`."""
    lines = [
        "| setting | environment variable | CLI option | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        option = f"`{s.option}`" if s.option else "-"
        lines.append(f"| {s.name} | `{s.env}` | {option} | `{s.default}` | {s.help} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# credentials of the GENESIS web service (wandel fetch): never settings with a default, never
# an option, never in a repr
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """A user name (or API token) and password of a GENESIS database; the password never shows
    in ``repr`` or ``str``.

    >>> Credentials("ANMELDE", "geheim")
    Credentials(username='ANMELDE', password=<hidden>)
    """

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"

    __str__ = __repr__


def genesis_credentials(database: str) -> Credentials | None:
    """The credentials of ``database`` (``genesis``, ``regio``, ``zensus``) from the environment:
    ``WANDEL_<DATABASE>_USER`` and ``WANDEL_<DATABASE>_PASSWORD`` (e.g. ``WANDEL_REGIO_USER``),
    else ``WANDEL_GENESIS_USER`` and ``WANDEL_GENESIS_PASSWORD`` for every database. A token
    needs no password (empty). ``None`` when no user is set.
    """
    prefix = f"{ENV_PREFIX}{database.upper()}_"
    for pre in (prefix, f"{ENV_PREFIX}GENESIS_"):
        user = os.environ.get(pre + "USER", "").strip()
        if user:
            return Credentials(user, os.environ.get(pre + "PASSWORD", ""))
    return None

"""Settings declared once: a table of (name, default, unit, help) drives the CLI and the docs.

Values come from, in order: an explicit argument (e.g. ``--db``), the environment variable
``WANDEL_<NAME>``, the default. :func:`get_settings` builds them once per process (cached), never at
import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import platformdirs

__all__ = ["SETTINGS", "Setting", "Settings", "get_settings"]


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default (as text), unit and help."""

    name: str
    default: str
    unit: str
    help: str

    @property
    def env(self) -> str:
        return "WANDEL_" + self.name.upper()


def _default_db() -> str:
    return str(Path(platformdirs.user_data_dir("wandel", appauthor=False)) / "wandel.duckdb")


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "<user data dir>/wandel.duckdb", "path", "The DuckDB store file."),
    Setting("cache_dir", "<user cache dir>", "path", "Cache for parsed road networks."),
    Setting("seed", "20261123", "", "Default random seed for stochastic projections."),
    Setting("draws", "1000", "draws", "Default number of stochastic draws."),
    Setting("lang", "de", "", "Language of the user interface: de or en."),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings of this process."""

    db: Path
    cache_dir: Path
    seed: int
    draws: int
    lang: str


def _get(name: str, default: str) -> str:
    return os.environ.get("WANDEL_" + name.upper(), default)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, from the environment and the defaults (cached)."""
    return Settings(
        db=Path(_get("db", _default_db())),
        cache_dir=Path(_get("cache_dir", platformdirs.user_cache_dir("wandel", appauthor=False))),
        seed=int(_get("seed", "20261123")),
        draws=int(_get("draws", "1000")),
        lang=_get("lang", "de"),
    )

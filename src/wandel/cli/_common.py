"""Pieces every CLI module shares: consoles, the store option, error handling (exit code 2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from wandel.errors import WandelError
from wandel.i18n import tr
from wandel.settings import get_settings

__all__ = ["DbOption", "err", "out", "resolve_db", "run_cli", "ui_lang"]

err = Console(stderr=True)
out = Console()

T = TypeVar("T")

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB-Datei des Datenbestands (sonst WANDEL_DB bzw. Standardort)."),
]


def ui_lang() -> str:
    """The user-interface language of this process (``de`` or ``en``)."""
    return get_settings().lang


def resolve_db(db: Path | None) -> Path:
    """The store path: ``--db`` if given, else the setting."""
    return db if db is not None else get_settings().db


def run_cli(fn: Callable[[], T]) -> T:
    """Run ``fn``; a WandelError (bad input) or an OSError (a file that cannot be read or written)
    becomes a clear message on stderr and exit code 2."""
    try:
        return fn()
    except OSError as exc:  # a file that cannot be read or written: say which, no traceback
        err.print(f"[bold red]{tr('error', ui_lang())}:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except WandelError as exc:
        err.print(f"[bold red]{tr('error', ui_lang())}:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None

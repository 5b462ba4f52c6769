"""Pieces every CLI module shares: consoles, the store option, error handling (exit code 2)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import typer.core
from rich.console import Console

from wandel.errors import WandelError
from wandel.i18n import tr
from wandel.settings import get_settings

__all__ = [
    "DbOption",
    "WandelGroup",
    "err",
    "out",
    "resolve_db",
    "run_cli",
    "split_values",
    "translate_tree",
    "ui_lang",
]

err = Console(stderr=True)
out = Console()

T = TypeVar("T")

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB-Datei des Datenbestands (sonst WANDEL_DB bzw. Standardort)."),
]


_SEPARATORS = re.compile(r"[,\s]+")


def split_values(values: Sequence[str] | None) -> list[str]:
    """The items of a list option, however the user wrote them.

    ``--zones 14,15``, ``--zones "14 15"`` and ``--zones 14 --zones 15`` all mean the same: every
    value is split on commas and whitespace, empty pieces are dropped, and each item is kept once,
    in the order it was first given.

    >>> split_values(["14,15", "16 14", " ,17"])
    ['14', '15', '16', '17']
    >>> split_values(None)
    []
    """
    seen: dict[str, None] = {}
    for value in values or ():
        for item in _SEPARATORS.split(value):
            if item:
                seen.setdefault(item, None)
    return list(seen)


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


HELP_KEY = "@"
"""A help text that starts with ``@`` is a catalogue key (:mod:`wandel.i18n`), translated when the
command line is built for a call: ``help="@cli.project.zones"``."""


def _translated(text: str | None, lang: str) -> str | None:
    if text is not None and text.startswith(HELP_KEY):
        return tr(text[len(HELP_KEY) :], lang)
    return text


def translate_tree(command: Any, lang: str) -> None:
    """Replace every help key of ``command``, its parameters and its subcommands by its text."""
    command.help = _translated(command.help, lang)
    command.short_help = _translated(command.short_help, lang)
    for param in command.params:
        if hasattr(param, "help"):
            param.help = _translated(param.help, lang)
    # duck-typed: typer builds its commands on a click of its own (typer._click)
    for sub in getattr(command, "commands", {}).values():
        translate_tree(sub, lang)


class WandelGroup(typer.core.TyperGroup):
    """The top command group: translates every help text into the language of the call first."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        translate_tree(self, ui_lang())
        return super().make_context(info_name, args, parent, **extra)

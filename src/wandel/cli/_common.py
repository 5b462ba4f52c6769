"""Pieces every CLI module shares: consoles, options, list splitting, progress, errors (exit code 2).

Texts
-----
Every help text is a catalogue key written ``help="@cli.group.option"``; :class:`WandelGroup`
translates the whole command tree into the language of the call before it parses (so ``--help`` of
any subcommand is German by default, English with ``WANDEL_LANG=en`` or ``wandel --lang en ...``).
Printed messages go through :func:`wandel.i18n.tr`; errors through :func:`wandel.i18n.error_text`.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import typer.core

try:  # a recent typer carries its own copy of click
    from typer._click.exceptions import ClickException
    from typer.exceptions import Abort
except ImportError:  # pragma: no cover - an older typer on the public click
    from click.exceptions import Abort, ClickException  # type: ignore[assignment]
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from wandel.cli._usage import translate_help_words, translate_usage
from wandel.errors import KEY_MARK, OptionError, WandelError
from wandel.i18n import LANGS, current_lang, error_text, tr
from wandel.settings import get_settings, override

__all__ = [
    "HELP_KEY",
    "CacheOption",
    "DbOption",
    "DrawsOption",
    "Lang",
    "SeedOption",
    "WandelGroup",
    "bar",
    "err",
    "fmt_int",
    "fmt_num",
    "out",
    "print_table",
    "resolve_db",
    "resolve_draws",
    "resolve_seed",
    "resolve_years",
    "run_cli",
    "say",
    "spinner",
    "split_values",
    "translate_tree",
    "ui_lang",
]

err = Console(stderr=True)
out = Console()

T = TypeVar("T")

HELP_KEY = KEY_MARK
"""A help text that starts with ``@`` is a catalogue key (:mod:`wandel.i18n`), translated when the
command line is built for a call: ``help="@cli.project.zones"``."""


class Lang(StrEnum):
    """The languages of ``--lang`` (:data:`wandel.i18n.LANGS`)."""

    de = "de"
    en = "en"


# options that set a setting for one call (wandel.settings.SETTINGS drives their help)
DbOption = Annotated[Path | None, typer.Option("--db", help="@setting.db", show_default=False)]


def _cache_path(text: str) -> Path | None:
    """``--cache-dir``: an empty value means the ``cache_dir`` setting (never the current folder,
    which is what ``Path("")`` would be)."""
    return Path(text).expanduser() if text.strip() else None


CacheOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="@setting.cache_dir", show_default=False, parser=_cache_path),
]
DrawsOption = Annotated[
    int | None, typer.Option("--draws", min=0, help="@setting.draws", show_default=False)
]
SeedOption = Annotated[
    int | None, typer.Option("--seed", min=0, help="@setting.seed", show_default=False)
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
    """The user-interface language of this call (``de`` or ``en``)."""
    return current_lang()


def resolve_db(db: Path | None) -> Path:
    """The store path: ``--db`` if given, else the ``db`` setting."""
    return db if db is not None else get_settings().db


def resolve_draws(draws: int | None) -> int:
    """``--draws`` if given, else the ``draws`` setting (``WANDEL_DRAWS``, default 1000)."""
    return draws if draws is not None else get_settings().draws


def resolve_seed(seed: int | None) -> int:
    """``--seed`` if given, else the ``seed`` setting (``WANDEL_SEED``)."""
    return seed if seed is not None else get_settings().seed


def resolve_years(
    base_year: int | None, until: int | None, scenario: Any | None, path: Path | None
) -> tuple[int, int]:
    """Base year and last year of a run: ``--base-year``/``--until``, else the scenario file's
    ``base_year``/``horizon``; both given and different is a mistake, neither is one too.

    Raises
    ------
    OptionError
        A year that is missing, or an option that contradicts the scenario file.
    """
    years = []
    for option, given, name in (
        ("--base-year", base_year, "base_year"),
        ("--until", until, "horizon"),
    ):
        from_file = getattr(scenario, name, None)
        if given is not None and from_file is not None and given != from_file:
            raise OptionError(
                "@error.scenario_disagrees",
                option=option,
                value=given,
                field=name,
                given=from_file,
                file=str(path),
            )
        value = given if given is not None else from_file
        if value is None:
            raise OptionError("@error.required", option=option)
        years.append(int(value))
    return years[0], years[1]


def fmt_int(n: float) -> str:
    """A count with the thousands separator of the language: ``13.885`` (de), ``13,885`` (en)."""
    text = f"{n:,.0f}"
    return text.replace(",", ".") if ui_lang() == "de" else text


def fmt_num(x: float, digits: int = 1) -> str:
    """A number with ``digits`` decimals and the decimal mark of the language."""
    text = f"{x:,.{digits}f}"
    if ui_lang() == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def print_note(text: str, label: str | None = None, lang: str | None = None) -> None:
    """One note of a result on stderr, after ``label`` (default "Hinweis"/"Note"): whole on one
    line into a pipe or a file (a reader or a script finds it by its label), folded to the
    terminal's width on a terminal."""
    from wandel.i18n import note_text, tr

    head = tr("cli.note", lang) if label is None else label
    err.print(
        f"[yellow]{head}:[/] {note_text(text, lang)}",
        highlight=False,
        soft_wrap=not err.is_terminal,
    )


def print_table(table: Table) -> None:
    """Print ``table`` on stdout: into a pipe or a file at its natural width (never cut to 80
    columns), on a terminal at the terminal's width (its columns fold what does not fit)."""
    if out.is_terminal:
        out.print(table)
        return
    from rich.measure import Measurement

    width = Measurement.get(out, out.options.update(width=10_000), table).maximum
    saved = out.width
    out.width = max(width, saved)  # Console.print(width=) would clamp to the console's width
    try:
        out.print(table)
    finally:
        out.width = saved


def say(key: str, /, *, style: str = "", to: Console | None = None, **fields: object) -> None:
    """Print the text of ``key`` (filled with ``fields``) on stdout (or ``to``), plain text."""
    text = tr(key, **fields)
    (to or out).print(
        f"[{style}]{text}[/]" if style else text,
        highlight=False,
        emoji=False,
        soft_wrap=True,
        markup=bool(style),
    )


_OS_KEYS = {
    errno.ENOENT: "error.os.not_found",
    errno.EACCES: "error.os.permission",
    errno.EPERM: "error.os.permission",
    errno.EISDIR: "error.os.is_directory",
    errno.ENOTDIR: "error.os.not_directory",
    errno.ENOSPC: "error.os.no_space",
}


def _os_text(exc: OSError) -> str:
    file = exc.filename if exc.filename is not None else ""
    key = _OS_KEYS.get(exc.errno or -1)
    if key is None or not file:
        return tr("error.os.other", file=file or "-", reason=exc.strerror or str(exc))
    return tr(key, file=file)


def _fail(text: str) -> typer.Exit:
    err.print(f"[bold red]{tr('error')}:[/] ", end="", highlight=False)
    err.print(text, highlight=False, markup=False, emoji=False, soft_wrap=True)
    return typer.Exit(2)


def run_cli(fn: Callable[[], T], *, then: str | None = None) -> T:
    """Run ``fn``; a WandelError (bad input) or an OSError (a file that cannot be read or written)
    becomes one clear line on stderr, in the user's language, and exit code 2. ``then`` is the key
    of a sentence that ends that line (``store_unchanged``)."""
    try:
        return fn()
    except OSError as exc:
        raise _fail(_ending(_os_text(exc), then)) from None
    except WandelError as exc:
        raise _fail(_ending(error_text(exc), then)) from None


def _ending(text: str, then: str | None) -> str:
    """``text``, then the sentence of ``then`` (a full stop between them where needed)."""
    if not then:
        return text
    return f"{text}{'' if text.endswith(('.', '!', '?')) else '.'} {tr(then)}"


@contextmanager
def spinner(key: str, /, **fields: object) -> Iterator[Callable[..., None]]:
    """A Rich spinner on stderr with the text of ``key``; the yielded function
    (``step(key, **fields)``, :class:`wandel.workflow.access.Steps`) changes its text."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(tr(key, **fields), total=None)

        def step(k: str, /, **f: object) -> None:
            progress.update(task, description=tr(k, **f))

        yield step


def bar() -> Progress:
    """A Rich progress bar on stderr (``description, bar, done/total, time``)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _translated(text: str | None, lang: str) -> str | None:
    if text is not None and text.startswith(HELP_KEY):
        return tr(text[len(HELP_KEY) :], lang)
    return text


def _help_option(command: Any, lang: str) -> None:
    """Translate the help of ``--help`` itself (typer creates that option lazily)."""
    if getattr(command, "_help_option", None) is None and getattr(
        command, "add_help_option", False
    ):
        try:
            from typer._click.decorators import help_option

            help_option(["--help"])(command)
            command._help_option = command.params.pop()
        except (ImportError, AttributeError, TypeError):  # another typer: keep its own text
            return
    option = getattr(command, "_help_option", None)
    if option is not None:
        option.help = tr("cli.help_option", lang)
        if hasattr(option, "rich_help_panel"):
            option.rich_help_panel = tr("cli.panel.options", lang)


def translate_tree(command: Any, lang: str) -> None:
    """Replace every help key of ``command``, its parameters and its subcommands by its text, and
    put parameters and subcommands under translated panel titles."""
    command.help = _translated(command.help, lang)
    command.short_help = _translated(command.short_help, lang)
    if hasattr(command, "options_metavar"):
        command.options_metavar = tr("cli.usage.help.options", lang)
    if getattr(command, "subcommand_metavar", None):
        command.subcommand_metavar = tr("cli.usage.help.subcommand", lang)
    for param in command.params:
        if hasattr(param, "help"):
            param.help = _translated(param.help, lang)
        if hasattr(param, "rich_help_panel") and not param.rich_help_panel:
            kind = "arguments" if param.param_type_name == "argument" else "options"
            param.rich_help_panel = tr(f"cli.panel.{kind}", lang)
    _help_option(command, lang)
    # duck-typed: typer builds its commands on a click of its own (typer._click)
    for sub in getattr(command, "commands", {}).values():
        if hasattr(sub, "rich_help_panel") and not sub.rich_help_panel:
            sub.rich_help_panel = tr("cli.panel.commands", lang)
        translate_tree(sub, lang)


def _peek_lang(args: Sequence[str]) -> str | None:
    """The value of a top-level ``--lang`` in ``args`` (before the subcommand), if valid."""
    for i, arg in enumerate(args):
        value = None
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        elif not arg.startswith("-"):
            return None  # the subcommand: its own options are not ours
        if value is not None:
            return value if value in LANGS else None
    return None


def _usage_error(exc: ClickException) -> int:
    """Print a mistake on the command line (unknown option, a value of the wrong type) as one
    line on stderr, with the command whose ``--help`` explains it; returns the exit code (2)."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # no arguments: the help
        out.print(ctx.get_help(), highlight=False, markup=False, emoji=False)
        return exc.exit_code
    text = translate_usage(" ".join(exc.format_message().split()), current_lang())
    if ctx is not None:
        text = f"{text} ({tr('cli.usage_hint', command=ctx.command_path)})"
    _fail(text)
    return exc.exit_code


class WandelGroup(typer.core.TyperGroup):
    """The top command group: holds ``--lang`` for the whole call and translates every help text
    into the language of the call before parsing."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        import sys

        argv = list(sys.argv[1:] if args is None else args)
        with override(lang=_peek_lang(argv)):
            if not standalone_mode:
                return super().main(
                    argv, prog_name, complete_var, False, windows_expand_args, **extra
                )
            try:
                rv = super().main(
                    argv, prog_name, complete_var, False, windows_expand_args, **extra
                )
            except ClickException as exc:
                raise SystemExit(_usage_error(exc)) from None
            except Abort:
                err.print(tr("cli.aborted"), highlight=False)
                raise SystemExit(1) from None
            raise SystemExit(rv if isinstance(rv, int) else 0)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        lang = ui_lang()
        translate_tree(self, lang)
        translate_help_words(lang)
        return super().make_context(info_name, args, parent, **extra)

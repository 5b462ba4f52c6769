"""CLI command ``wandel fetch``: a table from the GENESIS web service into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from wandel.cli._common import (
    CacheOption,
    DbOption,
    fmt_int,
    print_table,
    resolve_db,
    run_cli,
    say,
    spinner,
    split_values,
)
from wandel.errors import OptionError
from wandel.i18n import tr
from wandel.settings import override

__all__ = ["fetch", "register"]


def _years(values: list[str] | None) -> tuple[int, ...]:
    """``--years 2015,2017`` or ``--years 2015-2017`` (a range), repeated or comma-separated."""
    years: list[int] = []
    for v in split_values(values):
        first, _, last = v.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise OptionError("@error.fetch.years", value=v)
        years += range(int(first), int(last or first) + 1)
    return tuple(sorted(set(years)))


def fetch(
    table: Annotated[str, typer.Argument(help="@cli.fetch.table", show_default=False)],
    database: Annotated[
        str | None, typer.Option("--database", help="@cli.fetch.database", show_default=False)
    ] = None,
    years: Annotated[list[str] | None, typer.Option("--years", help="@cli.fetch.years")] = None,
    regional_variable: Annotated[
        str | None, typer.Option("--regional-variable", help="@cli.fetch.regional_variable")
    ] = None,
    regions: Annotated[
        list[str] | None, typer.Option("--regions", help="@cli.fetch.regions")
    ] = None,
    file_format: Annotated[str, typer.Option("--format", help="@cli.fetch.format")] = "csv",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="@cli.fetch.base_url", show_default=False)
    ] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="@cli.fetch.refresh")] = False,
    cache_dir: CacheOption = None,
    db: DbOption = None,
) -> None:
    """Fetch a table from the GENESIS web service and import it (:mod:`wandel.workflow.fetch`)."""
    from wandel.sources.genesis_api import TableRequest, guess_database
    from wandel.workflow.fetch import FetchResult, fetch_into_store

    def run() -> FetchResult:
        request = TableRequest(
            database or guess_database(table),
            table,
            _years(years),
            regional_variable,
            tuple(split_values(regions)),
            file_format,
        )
        with override(cache_dir=cache_dir), spinner("cli.fetch.fetching", what=request.label()):
            return fetch_into_store(resolve_db(db), request, base_url=base_url, refresh=refresh)

    res = run_cli(run, then="store_unchanged")
    t = Table(title=tr("cli.import.summary"))
    for col in ("file", "kind", "rows_read", "rows_imported"):
        t.add_column(tr(f"cli.import.col.{col}"), overflow="fold")
    for r in res.reports:
        imported = tr("cli.import.already") if r.skipped else fmt_int(r.rows_imported)
        t.add_row(Path(r.file).name, r.kind, fmt_int(r.rows_read), imported)
    print_table(t)
    say("cli.fetch.cache" if res.from_cache else "cli.fetch.fetched", path=res.path, n=res.attempts)
    say("cli.store_at", path=resolve_db(db))


def register(app: typer.Typer) -> None:
    """Add ``fetch`` to the Wandel CLI."""
    app.command("fetch", help="@cli.fetch.help")(fetch)

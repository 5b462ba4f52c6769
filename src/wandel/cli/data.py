"""CLI commands ``wandel import``, ``zones``, ``info`` and ``population`` (see :func:`register`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from wandel.cli._common import (
    DbOption,
    bar,
    err,
    fmt_int,
    out,
    print_table,
    resolve_db,
    run_cli,
    say,
    split_values,
    ui_lang,
)
from wandel.errors import say as say_text

if TYPE_CHECKING:
    from wandel.workflow.imports import DerivedReport
from wandel.i18n import tr

__all__ = ["import_", "info", "population", "register", "zones"]


def import_(
    files: Annotated[list[Path], typer.Argument(help="@cli.import.files", show_default=False)],
    kind: Annotated[str, typer.Option("--kind", help="@cli.import.kind")] = "auto",
    year: Annotated[int | None, typer.Option("--year", help="@cli.import.year")] = None,
    valid_year: Annotated[
        int | None, typer.Option("--valid-year", help="@cli.import.valid_year")
    ] = None,
    facility_kind: Annotated[
        str | None, typer.Option("--facility-kind", help="@cli.import.facility_kind")
    ] = None,
    zone: Annotated[str | None, typer.Option("--zone", help="@cli.import.zone")] = None,
    variant: Annotated[str | None, typer.Option("--variant", help="@cli.import.variant")] = None,
    db: DbOption = None,
) -> None:
    """Import official files into the store (:mod:`wandel.workflow.data`): all read, then written."""
    from wandel.workflow.data import ImportOptions, read_files, write_batches

    options = ImportOptions(kind, year, valid_year, facility_kind, zone, variant)
    with bar() as progress:
        task = progress.add_task(tr("cli.import.reading"), total=len(files))

        def on_file(f: Path) -> None:
            progress.update(task, description=tr("cli.import.reading_file", file=f.name))

        batches = run_cli(
            lambda: read_files(files, options, on_file, resolve_db(db)), then="store_unchanged"
        )
        progress.update(task, completed=len(files))
        wtask = progress.add_task(tr("cli.import.writing"), total=len(batches))
        derived: list[DerivedReport] = []
        reports = run_cli(
            lambda: write_batches(
                resolve_db(db), batches, lambda b: progress.advance(wtask), derived.append
            )
        )
    lang = ui_lang()
    table = Table(title=tr("cli.import.summary"))
    for col in ("file", "kind", "rows_read", "rows_imported", "rejected"):
        table.add_column(tr(f"cli.import.col.{col}"), overflow="fold")
    for r in reports:
        rejected = "; ".join(f"{n} × {say_text(why, lang)}" for why, n in r.rejected) or "-"
        imported = tr("cli.import.already") if r.skipped else fmt_int(r.rows_imported)
        table.add_row(Path(r.file).name, r.kind, fmt_int(r.rows_read), imported, rejected)
    print_table(table)
    for d in derived:
        _note_uncovered(d.uncovered)
    say("cli.store_at", path=resolve_db(db))


def _note_uncovered(uncovered: tuple[tuple[int, int, str], ...], shown: int = 8) -> None:
    """Name the Gemeinden a partial Gemeindeverzeichnis leaves out (their series end there)."""
    by_step: dict[tuple[int, int], list[str]] = {}
    for y0, y1, zone in uncovered:
        by_step.setdefault((y0, y1), []).append(zone)
    for (y0, y1), zones in sorted(by_step.items()):
        listed = ", ".join(zones[:shown]) + (", …" if len(zones) > shown else "")
        say("cli.import.uncovered", to=err, n=len(zones), from_year=y0, to_year=y1, zones=listed)


def zones(
    search: Annotated[str | None, typer.Option("--search", help="@cli.zones.search")] = None,
    level: Annotated[str | None, typer.Option("--level", help="@cli.zones.level")] = None,
    db: DbOption = None,
) -> None:
    """List zones of the store as CSV (:func:`wandel.workflow.data.zone_list`)."""
    from wandel.workflow.data import zone_list

    frame = run_cli(lambda: zone_list(resolve_db(db), search, level))
    frame.to_csv(sys.stdout, index=False)


def info(
    db: DbOption = None,
    csv: Annotated[bool, typer.Option("--csv", help="@cli.info.csv")] = False,
) -> None:
    """Show what the store holds and where it came from."""
    from wandel.workflow.data import store_summary

    summary = run_cli(lambda: store_summary(resolve_db(db)))
    if csv:
        summary.provenance.to_csv(sys.stdout, index=False)
        return
    t = Table(title=tr("cli.store_at", path=resolve_db(db)))
    t.add_column(tr("cli.info.table"))
    t.add_column(tr("cli.info.rows"), justify="right")
    for name, n in summary.counts.items():
        t.add_row(name, fmt_int(n))
    out.print(t)
    p = Table(title=tr("cli.info.provenance"))
    cols = ("import_id", "file_name", "kind", "table_code", "rows_imported", "licence")
    for col in cols:
        p.add_column(col, overflow="fold")
    for _, row in summary.provenance.iterrows():
        p.add_row(*(str(row[c]) if row[c] is not None else "" for c in cols))
    out.print(p)


def population(
    zones: Annotated[
        list[str], typer.Option("--zones", help="@cli.population.zones", show_default=False)
    ],
    year: Annotated[list[int] | None, typer.Option("--year", help="@cli.population.year")] = None,
    level: Annotated[str | None, typer.Option("--level", help="@cli.population.level")] = None,
    total: Annotated[bool, typer.Option("--total", help="@cli.population.total")] = False,
    territory: Annotated[
        int | None, typer.Option("--territory", help="@cli.population.territory")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write population as the canonical long table (CSV) to stdout."""
    from wandel.workflow.population import population_table

    frame = run_cli(
        lambda: population_table(
            resolve_db(db),
            zones=split_values(zones),
            years=year,
            level=level,
            total=total,
            territory=territory,
        )
    )
    if frame.empty:
        say("cli.population.no_rows", to=err)
    if total and "status" in frame.columns and (frame["status"] == "incomplete").any():
        say("cli.population.incomplete", to=err, style="yellow")
    cols = ["zone", "year", "sex", "age_start", "age_end", "value"]
    frame[cols].to_csv(sys.stdout, index=False, float_format="%.10g")


def register(app: typer.Typer) -> None:
    """Add ``import``, ``zones``, ``info`` and ``population`` to the Wandel CLI."""
    app.command("import", help="@cli.import.help")(import_)
    app.command("zones", help="@cli.zones.help")(zones)
    app.command("info", help="@cli.info.help")(info)
    app.command("population", help="@cli.population.help")(population)

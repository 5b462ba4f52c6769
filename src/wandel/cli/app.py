"""The ``wandel`` command line. It only orchestrates: reading, storing and models live elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wandel.cli._common import DbOption, WandelGroup, err, out, resolve_db, run_cli, ui_lang
from wandel.i18n import tr

__all__ = ["app", "main"]

app = typer.Typer(
    name="wandel",
    cls=WandelGroup,
    help="Wandel: Daten, Prognosen und Planung für den demografischen Wandel in Städten und "
    "Städtenetzen. (Data, projections and planning for demographic change.)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Dateien (CSV, ZIP, XLSX, Shapefile-ZIP).")],
    kind: Annotated[str, typer.Option("--kind", help="Format; 'auto' erkennt es.")] = "auto",
    year: Annotated[
        int | None,
        typer.Option("--year", help="Bezugsjahr für Einrichtungslisten ohne eigenes Jahr."),
    ] = None,
    valid_year: Annotated[
        int | None,
        typer.Option("--valid-year", help="Gebietsstand für Grenzen (VG250) ohne eigene Angabe."),
    ] = None,
    facility_kind: Annotated[
        str | None,
        typer.Option("--facility-kind", help="Art der Einrichtungen (school, kita, gp, ...)."),
    ] = None,
    zone: Annotated[
        str | None,
        typer.Option(
            "--zone",
            help="AGS für Dateien ohne eigene Gebietsangabe (kommunale Open-Data-CSV), "
            "z. B. 14612000 für Dresden.",
        ),
    ] = None,
    variant: Annotated[
        str | None,
        typer.Option(
            "--variant",
            help="Name der Prognosevariante für kommunale Prognosen (Standard: kommunal).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Amtliche Dateien in den Datenbestand importieren (jede Datei: alles oder nichts)."""
    from wandel.sources.registry import read
    from wandel.store import Store

    lang = ui_lang()
    batches = []
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )

    def read_all() -> None:
        with progress:
            task = progress.add_task(tr("reading", lang), total=len(files))
            for f in files:
                progress.update(task, description=f"{tr('reading', lang)} {f.name}")
                batches.append(
                    read(
                        f,
                        kind,
                        year=year,
                        valid_year=valid_year,
                        facility_kind=facility_kind,
                        zone=zone,
                        variant=variant,
                    )
                )
                progress.advance(task)

    try:
        run_cli(read_all)
    except typer.Exit:
        err.print(tr("store_unchanged", lang), soft_wrap=True)
        raise
    reports = []

    def write_all() -> None:
        with Store.open(resolve_db(db)) as store, progress:
            task = progress.add_task(tr("writing", lang), total=len(batches))
            for b in batches:
                reports.append(store.import_batch(b))
                progress.advance(task)

    run_cli(write_all)
    table = Table(title=tr("import_summary", lang))
    for col in ("file", "kind", "rows_read", "rows_imported", "rejected"):
        table.add_column(tr(col, lang))
    for r in reports:
        rejected = "; ".join(f"{n} × {why}" for why, n in r.rejected) or "-"
        imported = tr("already", lang) if r.skipped else f"{r.rows_imported:,}".replace(",", ".")
        table.add_row(
            Path(r.file).name, r.kind, f"{r.rows_read:,}".replace(",", "."), imported, rejected
        )
    out.print(table)
    out.print(f"{tr('store', lang)}: {resolve_db(db)}")


@app.command()
def zones(
    search: Annotated[
        str | None, typer.Option("--search", help="Name oder Schlüsselanfang.")
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="land, kreis, gemeindeverband, gemeinde")
    ] = None,
    db: DbOption = None,
) -> None:
    """Gebiete (Land, Kreis, Gemeindeverband, Gemeinde) suchen und auflisten."""
    from wandel.store import Store

    def run() -> None:
        with Store.open(resolve_db(db), read_only=True) as store:
            frame = store.zones(search, level)
        frame.to_csv(sys.stdout, index=False)

    run_cli(run)


@app.command()
def info(
    db: DbOption = None,
    csv: Annotated[
        bool, typer.Option("--csv", help="Herkunftstabelle vollständig als CSV ausgeben.")
    ] = False,
) -> None:
    """Inhalt und Herkunft des Datenbestands anzeigen."""
    from wandel.store import Store

    lang = ui_lang()

    def run() -> None:
        with Store.open(resolve_db(db), read_only=True) as store:
            counts = store.counts()
            prov = store.provenance()
        if csv:
            prov.to_csv(sys.stdout, index=False)
            return
        t = Table(title=f"{tr('store', lang)}: {resolve_db(db)}")
        t.add_column(tr("table", lang))
        t.add_column(tr("rows", lang), justify="right")
        for name, n in counts.items():
            t.add_row(name, f"{n:,}".replace(",", "."))
        out.print(t)
        p = Table(title=tr("provenance", lang))
        for col in ("import_id", "file_name", "kind", "table_code", "rows_imported", "licence"):
            p.add_column(col, overflow="fold")
        for _, row in prov.iterrows():
            p.add_row(
                str(row["import_id"]),
                str(row["file_name"]),
                str(row["kind"]),
                str(row["table_code"] or ""),
                str(row["rows_imported"]),
                str(row["licence"] or ""),
            )
        out.print(p)

    run_cli(run)


@app.command()
def population(
    zones: Annotated[
        list[str], typer.Option("--zones", help="AGS-Schlüssel (mit führender Null).")
    ],
    year: Annotated[list[int] | None, typer.Option("--year", help="Stichtagsjahr(e).")] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="land|kreis|gemeinde: Gebiete dieser Ebene darin")
    ] = None,
    total: Annotated[
        bool, typer.Option("--total", help="Über Geschlecht und Alter summieren.")
    ] = False,
    territory: Annotated[
        int | None,
        typer.Option("--territory", help="Auf den Gebietsstand dieses Jahres umrechnen."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Bevölkerung als kanonische lange Tabelle (CSV) auf die Standardausgabe schreiben."""
    from wandel.workflow.population import population_table

    lang = ui_lang()

    def run() -> None:
        frame = population_table(
            resolve_db(db), zones=zones, years=year, level=level, total=total, territory=territory
        )
        if frame.empty:
            err.print(tr("no_rows", lang))
        if total and "status" in frame.columns and (frame["status"] == "incomplete").any():
            err.print(f"[yellow]{tr('incomplete_total', lang)}[/]")
        cols = ["zone", "year", "sex", "age_start", "age_end", "value"]
        frame[cols].to_csv(sys.stdout, index=False, float_format="%.10g")

    run_cli(run)


@app.command(help="@cli.demo.help")
def demo(
    db: DbOption = None,
    out_dir: Annotated[Path, typer.Option("--out", help="@cli.demo.out")] = Path("out/demo"),
) -> None:
    """Build the demo store and run the main job (:func:`wandel.workflow.demo.run_demo`)."""
    from wandel.workflow.demo import run_demo

    target = db if db is not None else out_dir / "wandel-demo.duckdb"
    run_cli(lambda: run_demo(target, out_dir, console=out))


from wandel.cli import projection as cli_projection  # noqa: E402

cli_projection.register(app)

from wandel.cli import access as cli_access  # noqa: E402

cli_access.register(app)

from wandel.cli import report as cli_report  # noqa: E402

cli_report.register(app)


def main() -> None:
    """Entry point of the ``wandel`` console script."""
    app()


if __name__ == "__main__":
    main()

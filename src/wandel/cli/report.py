"""CLI commands ``wandel profil``, ``wandel bericht`` and ``wandel export`` (:func:`register`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from wandel.cli._common import DbOption, err, out, resolve_db, run_cli, ui_lang
from wandel.errors import ExportError
from wandel.i18n import tr

if TYPE_CHECKING:
    from wandel.workflow.report import Edition, ReportSettings

__all__ = ["bericht", "export", "profil", "register", "split_list"]

UntilOption = Annotated[int, typer.Option("--until", help="@cli.report.until")]
DrawsOption = Annotated[int, typer.Option("--draws", help="@cli.report.draws")]
SeedOption = Annotated[int, typer.Option("--seed", help="@cli.report.seed")]
LangOption = Annotated[str | None, typer.Option("--lang", help="@cli.report.lang")]
OutDir = Annotated[Path, typer.Option("--out", help="@cli.report.out")]


def split_list(values: list[str]) -> list[str]:
    """Repeated options and comma lists alike: ``["a,b", "c"] -> ["a", "b", "c"]``."""
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _settings(until: int, draws: int, seed: int, lang: str | None) -> ReportSettings:
    from wandel.workflow.report import ReportSettings

    return ReportSettings(until=until, draws=draws, seed=seed, lang=lang or ui_lang())


def _print_edition(edition: Edition) -> None:
    lang = ui_lang()
    if not edition.new:
        out.print(tr("reports.cli.edition_exists", lang, path=edition.folder), highlight=False)
    else:
        out.print(f"{tr('reports.cli.written', lang)}:", highlight=False)
    for f in edition.files:
        out.print(f"  {f}", highlight=False)


def profil(
    zone: Annotated[str, typer.Argument(help="@cli.report.zone")],
    out_dir: OutDir = Path("out/berichte"),
    until: UntilOption = 2040,
    draws: DrawsOption = 100,
    seed: SeedOption = 2040,
    lang: LangOption = None,
    db: DbOption = None,
) -> None:
    """Write a town's Kommunalprofil edition (:func:`wandel.workflow.report.build_profile`)."""
    from wandel.workflow.report import build_profile, write_edition

    def run() -> Edition:
        s = _settings(until, draws, seed, lang)
        with Progress(console=err, transient=True) as progress:
            progress.add_task(tr("reports.title.profile", s.lang, name=zone), total=None)
            report = build_profile(resolve_db(db), zone, s)
            return write_edition(report, out_dir / zone, f"kommunalprofil_{zone}")

    _print_edition(run_cli(run))


def bericht(
    name: Annotated[str, typer.Option("--name", help="@cli.report.name")],
    zones: Annotated[list[str], typer.Option("--zones", help="@cli.report.zones")],
    out_dir: OutDir = Path("out/berichte"),
    until: UntilOption = 2040,
    draws: DrawsOption = 100,
    seed: SeedOption = 2040,
    lang: LangOption = None,
    db: DbOption = None,
) -> None:
    """Write a network's Demografiebericht edition."""
    from wandel.workflow.report import build_network_report, write_edition

    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "netzwerk"

    def run() -> Edition:
        s = _settings(until, draws, seed, lang)
        with Progress(console=err, transient=True) as progress:
            progress.add_task(tr("reports.title.network", s.lang, name=name), total=None)
            report = build_network_report(resolve_db(db), name, split_list(zones), s)
            return write_edition(report, out_dir / slug, f"demografiebericht_{slug}")

    _print_edition(run_cli(run))


def export(
    zones: Annotated[list[str], typer.Option("--zones", help="@cli.export.zones")],
    out_file: Annotated[Path, typer.Option("--out", help="@cli.export.out")],
    dialect: Annotated[str, typer.Option("--dialect", help="@cli.export.dialect")] = "de",
    until: UntilOption = 2040,
    draws: DrawsOption = 100,
    seed: SeedOption = 2040,
    lang: LangOption = None,
    db: DbOption = None,
) -> None:
    """Export the projection by age group (CSV, XLSX) or the zones with geometry (GeoPackage)."""
    from wandel.reports.exports import write_csv, write_gpkg, write_xlsx
    from wandel.workflow.report import export_note, projection_export, zones_export

    def run() -> tuple[Path, ...]:
        s = _settings(until, draws, seed, lang)
        suffix = out_file.suffix.lower()
        if suffix not in (".csv", ".xlsx", ".gpkg"):
            raise ExportError(f"--out must end in .csv, .xlsx or .gpkg, got {out_file.name!r}")
        if dialect not in ("de", "rfc"):
            raise ExportError(f"--dialect must be de or rfc, got {dialect!r}")
        db_path = resolve_db(db)
        wanted = split_list(zones)
        note = export_note(db_path, s)
        if suffix == ".gpkg":
            return (
                write_gpkg(
                    zones_export(db_path, wanted, s), out_file, layer="gemeinden", source_note=note
                ),
            )
        frame = projection_export(db_path, wanted, s)
        if suffix == ".csv":
            return write_csv(frame, out_file, dialect=dialect, source_note=note)  # type: ignore[arg-type]
        return (write_xlsx({"Vorausberechnung": frame}, out_file, source_note=note),)

    paths = run_cli(run)
    out.print(f"{tr('reports.cli.written', ui_lang())}:", highlight=False)
    for p in paths:
        out.print(f"  {p}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``profil``, ``bericht`` and ``export`` to the ``wandel`` command group."""
    app.command("profil", help="@cli.profil.help")(profil)
    app.command("bericht", help="@cli.bericht.help")(bericht)
    app.command("export", help="@cli.export.help")(export)

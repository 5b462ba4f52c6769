"""CLI group ``wandel report``: ``town`` (Kommunalprofil), ``network`` (Demografiebericht) and
``export`` (registered by :func:`register`).

The names keep apart what ``wandel profile`` does: that command prints a town's strengths and
weaknesses as sentences; ``wandel report town`` writes the printable two-page Kommunalprofil (HTML
and PDF/UA), which shows the same strengths and weaknesses among its other numbers. The report's
language is the interface language (``wandel --lang en report town ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wandel.cli._common import DbOption, out, resolve_db, run_cli, spinner, split_values, ui_lang
from wandel.i18n import tr

if TYPE_CHECKING:
    from wandel.reports.model import EditionKind
    from wandel.workflow.report import Edition, ReportSettings

__all__ = ["register", "report_app"]

report_app = typer.Typer(help="@cli.report.help", no_args_is_help=True)

UntilOption = Annotated[int, typer.Option("--until", help="@cli.report.until")]
DrawsOption = Annotated[int, typer.Option("--draws", min=0, help="@cli.report.draws")]
SeedOption = Annotated[int, typer.Option("--seed", min=0, help="@cli.report.seed")]
OutDir = Annotated[Path, typer.Option("--out", help="@cli.report.out")]
EditionOption = Annotated[str, typer.Option("--edition", help="@cli.report.edition")]


def _edition(value: str) -> EditionKind:
    """``internal`` or ``public``; anything else is a clear error (exit 2)."""
    from wandel.errors import UnknownChoiceError
    from wandel.reports.model import EDITIONS

    for e in EDITIONS:
        if value == e:
            return e
    raise UnknownChoiceError("--edition", value, EDITIONS)


def _settings(until: int, draws: int, seed: int) -> ReportSettings:
    from wandel.workflow.report import ReportSettings

    return ReportSettings(until=until, draws=draws, seed=seed, lang=ui_lang())


def _print_edition(edition: Edition) -> None:
    if not edition.new:
        out.print(tr("reports.cli.edition_exists", path=edition.folder), highlight=False)
    else:
        out.print(f"{tr('reports.cli.written')}:", highlight=False)
    for f in edition.files:
        out.print(f"  {f}", highlight=False)


@report_app.command("town", help="@cli.report.town.help")
def town(
    zone: Annotated[str, typer.Argument(help="@cli.report.zone", show_default=False)],
    out_dir: OutDir = Path("out/berichte"),
    until: UntilOption = 2040,
    draws: DrawsOption = 100,
    seed: SeedOption = 2040,
    edition: EditionOption = "internal",
    db: DbOption = None,
) -> None:
    """Write a town's Kommunalprofil edition (:func:`wandel.workflow.report.build_profile`)."""
    from wandel.workflow.report import build_profile, write_edition

    def run() -> Edition:
        s = _settings(until, draws, seed)
        kind = _edition(edition)
        with spinner("reports.cli.building", what=zone):
            report = build_profile(resolve_db(db), zone, s, edition=kind)
            return write_edition(report, out_dir / zone, f"kommunalprofil_{zone}")

    _print_edition(run_cli(run))


@report_app.command("network", help="@cli.report.network.help")
def network(
    spec: Annotated[str, typer.Argument(help="@cli.report.network_spec", show_default=False)],
    out_dir: OutDir = Path("out/berichte"),
    until: UntilOption = 2040,
    draws: DrawsOption = 100,
    seed: SeedOption = 2040,
    edition: EditionOption = "internal",
    db: DbOption = None,
) -> None:
    """Write a network's Demografiebericht edition."""
    from wandel.workflow.report import build_network_report, network_slug, write_edition

    slug = network_slug(spec)

    def run() -> Edition:
        s = _settings(until, draws, seed)
        kind = _edition(edition)
        with spinner("reports.cli.building", what=spec):
            report = build_network_report(resolve_db(db), spec, s, edition=kind)
            return write_edition(report, out_dir / slug, f"demografiebericht_{slug}")

    _print_edition(run_cli(run))


@report_app.command("export", help="@cli.export.help")
def export(
    zones: Annotated[list[str], typer.Option("--zones", help="@cli.export.zones")],
    out_file: Annotated[Path, typer.Option("--out", help="@cli.export.out")],
    dialect: Annotated[str, typer.Option("--dialect", help="@cli.export.dialect")] = "de",
    until: UntilOption = 2040,
    draws: DrawsOption = 100,
    seed: SeedOption = 2040,
    edition: EditionOption = "internal",
    db: DbOption = None,
) -> None:
    """Export the projection by age group (CSV, XLSX) or the zones with geometry (GeoPackage);
    ``--edition public`` keeps small counts secret as ``wandel report town`` does."""
    from wandel.workflow.report import export_report_figures

    def run() -> tuple[Path, ...]:
        s = _settings(until, draws, seed)
        kind = _edition(edition)
        with spinner("reports.cli.building", what=", ".join(split_values(zones))):
            return export_report_figures(
                resolve_db(db), split_values(zones), out_file, dialect, s, edition=kind
            )

    paths = run_cli(run)
    out.print(f"{tr('reports.cli.written')}:", highlight=False)
    for p in paths:
        out.print(f"  {p}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the group ``report`` (``town``, ``network``, ``export``) to ``wandel``."""
    app.add_typer(report_app, name="report")

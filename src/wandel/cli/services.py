"""CLI command ``wandel services`` (registered by :func:`register`): parse, call the workflow, print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from wandel.cli._common import (
    DbOption,
    SeedOption,
    err,
    out,
    print_note,
    resolve_db,
    resolve_seed,
    resolve_years,
    run_cli,
    split_values,
    ui_lang,
)
from wandel.errors import OptionError, UnknownChoiceError

if TYPE_CHECKING:
    from wandel.demography.scenario import ScenarioFile

__all__ = ["register", "services"]


def services(
    zones: Annotated[list[str], typer.Option("--zones", help="@cli.services.zones")],
    base_year: Annotated[
        int | None, typer.Option("--base-year", help="@cli.services.base_year")
    ] = None,
    until: Annotated[int | None, typer.Option("--until", help="@cli.services.until")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="@cli.services.out")] = Path("out/dienste"),
    draws: Annotated[int, typer.Option("--draws", help="@cli.services.draws")] = 0,
    seed: SeedOption = None,
    service: Annotated[
        list[str] | None, typer.Option("--services", help="@cli.services.services")
    ] = None,
    stem: Annotated[str, typer.Option("--stem", help="@cli.services.stem")] = "dienste",
    catalogue: Annotated[
        Path | None, typer.Option("--catalogue", help="@cli.services.catalogue")
    ] = None,
    overrides: Annotated[
        Path | None, typer.Option("--overrides", help="@cli.services.overrides")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="@cli.services.param")] = None,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="@cli.services.scenario")
    ] = None,
    variant: Annotated[
        list[str] | None, typer.Option("--variant", help="@cli.services.variant")
    ] = None,
    trend: Annotated[bool, typer.Option("--trend/--no-trend", help="@cli.services.trend")] = False,
    level: Annotated[str, typer.Option("--level", help="@cli.services.level")] = "gemeinde",
    mittelbereiche: Annotated[
        Path | None, typer.Option("--mittelbereiche", help="@cli.services.mittelbereiche")
    ] = None,
    gp_supply: Annotated[
        Path | None, typer.Option("--gp-supply", help="@cli.services.gp_supply")
    ] = None,
    fire_members: Annotated[
        Path | None, typer.Option("--fire-members", help="@cli.services.fire_members")
    ] = None,
    dwellings: Annotated[
        Path | None, typer.Option("--dwellings", help="@cli.services.dwellings")
    ] = None,
    travel_times: Annotated[
        Path | None, typer.Option("--travel-times", help="@cli.services.travel_times")
    ] = None,
    db: DbOption = None,
) -> None:
    """Service demand per zone and year with uncertainty (:mod:`wandel.workflow.services`)."""

    def run() -> None:
        from wandel.workflow.services import ServicesRequest

        if level not in ("gemeinde", "kreis"):
            raise UnknownChoiceError("--level", level, ("gemeinde", "kreis"))
        sf = None
        if scenario is not None:
            from wandel.demography.scenario import load_scenarios

            sf = load_scenarios(scenario)
        chosen = _scenarios(sf, tuple(split_values(variant)))
        first, last = resolve_years(base_year, until, sf, scenario)
        req = ServicesRequest(
            zones=tuple(split_values(zones)),
            base_year=first,
            until=last,
            draws=draws,
            seed=resolve_seed(seed),
            services=tuple(split_values(service)),
            catalogue=catalogue,
            overrides=overrides,
            params=tuple(param or ()),
            scenarios=chosen,
            level=level,
            trend=trend,
            mittelbereiche=mittelbereiche,
            gp_supply=gp_supply,
            fire_members=fire_members,
            dwellings=dwellings,
            travel_times=travel_times,
        )
        _execute(req, resolve_db(db), out_dir, stem)

    run_cli(run)


def _scenarios(sf: ScenarioFile | None, wanted: tuple[str, ...]) -> tuple[tuple[str, object], ...]:
    """``(name, Scenario)`` of the chosen variants (all without ``--variant``), or the base."""
    if sf is None:
        if wanted:
            raise OptionError("@error.needs", option="--variant", needed="--scenario")
        return (("basis", None),)
    names = [v.name for v in sf.variants]
    for v in wanted:
        if v not in names:
            raise UnknownChoiceError("--variant", v, names)
    chosen = [sf.variant(v) for v in wanted] if wanted else list(sf.variants)
    return tuple((v.name, v) for v in chosen)


def _execute(req: object, db: Path, out_dir: Path, stem: str) -> None:
    """Run the request with a progress bar (the workflow writes the files), print notes and what
    was written."""
    from wandel.i18n import tr
    from wandel.workflow.services import ServicesRequest, services_to_files

    assert isinstance(req, ServicesRequest)
    lang = ui_lang()
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with progress:
        task = progress.add_task(tr("services.progress", lang), total=None)
        res, files = services_to_files(
            db,
            req,
            out_dir,
            stem=stem,
            lang=lang,
            on_chunk=lambda n: progress.advance(task, n),
        )
    for note in res.notes:
        print_note(note, tr("services.note", lang), lang)
    n = f"{len(res.figures):,}".replace(",", ".")
    out.print(tr("services.done", lang, n=n, files=len(files), out=out_dir), highlight=False)
    for f in files:
        out.print(f"  {f}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``services`` to the Wandel CLI."""
    app.command("services", help="@cli.services.help")(services)

"""CLI commands ``wandel project`` and ``wandel backtest`` (registered by :func:`register`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from wandel.cli._common import (
    DbOption,
    DrawsOption,
    SeedOption,
    err,
    fmt_int,
    out,
    resolve_db,
    resolve_draws,
    resolve_seed,
    resolve_years,
    run_cli,
    split_values,
)
from wandel.errors import OptionError, UnknownChoiceError
from wandel.i18n import tr

if TYPE_CHECKING:
    import pandas as pd

    from wandel.demography.scenario import Scenario, ScenarioFile

__all__ = ["BACKTEST_LEVELS", "backtest", "project", "register"]

BACKTEST_LEVELS = ("kreis", "gemeinde")
"""The levels ``wandel backtest --level`` knows."""


def _variant(sf: ScenarioFile, variant: str | None) -> Scenario:
    """The variant ``variant`` of the scenario file ``sf`` (default: its first)."""
    names = [v.name for v in sf.variants]
    if variant and variant not in names:
        raise UnknownChoiceError("--variant", variant, names)
    return sf.variant(variant) if variant else sf.variants[0]


def project(
    zones: Annotated[list[str], typer.Option("--zones", help="@cli.project.zones")],
    out_file: Annotated[Path, typer.Option("--out", help="@cli.project.out")],
    base_year: Annotated[
        int | None, typer.Option("--base-year", help="@cli.project.base_year")
    ] = None,
    until: Annotated[int | None, typer.Option("--until", help="@cli.project.until")] = None,
    level: Annotated[str | None, typer.Option("--level", help="@cli.project.level")] = None,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="@cli.project.scenario")
    ] = None,
    variant: Annotated[str | None, typer.Option("--variant", help="@cli.project.variant")] = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="@cli.project.scheduler")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="@cli.project.workers")] = None,
    control: Annotated[
        bool, typer.Option("--control/--no-control", help="@cli.project.control")
    ] = False,
    db: DbOption = None,
) -> None:
    """Project the population (cohort components), with scenario and uncertainty."""

    def run() -> None:
        from wandel.demography.engine.distributed import Mapper, builtin_map, dask_map
        from wandel.demography.scenario import load_scenarios
        from wandel.workflow.outputs import check_suffix
        from wandel.workflow.projection import project_from_store, save_projection

        check_suffix("--out", out_file, (".csv", ".parquet"))
        sf = None if scenario is None else load_scenarios(scenario)
        sc = None if sf is None else _variant(sf, variant)
        first, last = resolve_years(base_year, until, sf, scenario)
        mapper: Mapper = builtin_map
        client = cluster = None
        if scheduler or workers:
            from dask.distributed import Client, LocalCluster

            if scheduler:
                try:
                    client = Client(scheduler, timeout=30)  # type: ignore[no-untyped-call]
                except (ValueError, OSError, TimeoutError) as exc:
                    raise OptionError(
                        "@error.scheduler", address=repr(scheduler), reason=str(exc)
                    ) from None
            else:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)  # type: ignore[no-untyped-call]
                client = Client(cluster)  # type: ignore[no-untyped-call]
            mapper = dask_map(client)
        try:
            with Progress(console=err, transient=True) as progress:
                task = progress.add_task(tr("cli.project.running"), total=None)

                def step(cls: str) -> None:
                    progress.update(task, description=tr("cli.project.draws_of", size=cls))

                frame, res = project_from_store(
                    resolve_db(db),
                    split_values(zones),
                    first,
                    last,
                    level=level,
                    scenario=sc,
                    draws=resolve_draws(draws),
                    seed=resolve_seed(seed),
                    mapper=mapper,
                    control_to_kreis=control,
                    on_chunk=step,
                )
        finally:
            if client is not None:
                client.close()  # type: ignore[no-untyped-call]
            if cluster is not None:
                cluster.close()
        written = save_projection(frame, res, out_file)
        for note in res.notes:
            err.print(f"[yellow]{tr('cli.note')}:[/] {note}", highlight=False)
        tables = [frame, res.latest_territory]
        for path, table in zip(written, tables, strict=False):
            rows = 0 if table is None else len(table)
            out.print(tr("cli.project.written", rows=fmt_int(rows), out=path))

    run_cli(run)


def backtest(
    db: DbOption = None,
    level: Annotated[str | None, typer.Option("--level", help="@cli.backtest.level")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="@cli.backtest.out")] = None,
    draws: Annotated[int, typer.Option("--draws", help="@cli.backtest.draws")] = 200,
) -> None:
    """Backtest: project from earlier base years and compare with what was observed."""

    def run() -> None:
        from wandel.workflow.backtest import backtest_store
        from wandel.workflow.outputs import check_suffix, write_atomic

        if level is not None and level not in BACKTEST_LEVELS:
            raise UnknownChoiceError("--level", level, BACKTEST_LEVELS)
        if out_file is not None:
            check_suffix("--out", out_file, (".csv",))
        levels = BACKTEST_LEVELS if level is None else (level,)
        with Progress(console=err, transient=True) as progress:
            progress.add_task(tr("cli.backtest.running"), total=None)
            res = backtest_store(resolve_db(db), levels=levels, draws=draws)
        m = res.metrics
        for (lv, by), g in m.groupby(["level", "base_year"], sort=True):
            title = tr("cli.backtest.title", level=lv, base_year=by)
            out.print(_mape_table(title, g, ["horizon", "size_class"]))
        for lv, g in res.horizons.groupby("level", sort=True):
            origins = res.errors.loc[res.errors["level"] == lv, "base_year"].nunique()
            title = tr("cli.backtest.pooled_title", level=lv, origins=origins)
            out.print(_mape_table(title, g, ["horizon", "group"]))
        if not res.coverage.empty:
            t = Table(title=tr("cli.backtest.coverage_title"))
            cols = ["level", "horizon", "size_class", "n", "origins", "obs50", "obs80", "obs95"]
            for c in cols:
                t.add_column(c)
            for _, r in res.coverage.iterrows():
                t.add_row(*[_cell(r[c]) for c in cols])
            out.print(t)
        if not res.age_errors.empty:
            t = Table(title=tr("cli.backtest.age_title"))
            for c in res.age_errors.columns:
                t.add_column(str(c))
            for _, r in res.age_errors.iterrows():
                t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
            out.print(t)
        for note in res.notes:
            err.print(f"{tr('cli.note')}: {note}", highlight=False)
        if out_file is not None:
            write_atomic(out_file, lambda p: m.to_csv(p, index=False))
            out.print(tr("cli.backtest.written", out=out_file))

    run_cli(run)


def _cell(v: object) -> str:
    """A table cell: floats with two decimals, NaN as a dash."""
    if isinstance(v, float):
        return "-" if v != v else f"{v:.2f}"
    return str(v)


def _mape_table(title: str, g: pd.DataFrame, keys: list[str]) -> Table:
    """MAPE of every method side by side per row of ``keys``, n, and the winner of the row."""
    from wandel.demography.baselines import BASELINES

    wide = g.pivot_table(index=keys, columns="method", values="mape", sort=True)
    n = g[g["method"] == "wandel"].set_index(keys)["n"]
    methods = ["wandel", *[b for b in BASELINES if b in wide.columns]]
    t = Table(title=title)
    for c in [*keys, "n", *methods, tr("cli.backtest.winner")]:
        t.add_column(c)
    for key, r in wide.iterrows():
        k = key if isinstance(key, tuple) else (key,)
        present = r[methods].dropna()
        win = str(present.idxmin()) if not present.empty else "-"
        cells = [_cell(r[c]) if c in r else "-" for c in methods]
        t.add_row(*map(str, k), _cell(int(n.get(key, 0))), *cells, win)
    return t


def register(app: typer.Typer) -> None:
    """Add ``project`` and ``backtest`` to the Wandel CLI."""
    app.command("project", help="@cli.project.help")(project)
    app.command("backtest", help="@cli.backtest.help")(backtest)

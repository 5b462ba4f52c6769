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
    print_note,
    print_table,
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
            print_note(note)
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
            title = tr("cli.backtest.title", level=_label(str(lv)), base_year=by)
            print_table(_mape_table(title, g, ["horizon", "size_class"]))
        for lv, g in res.horizons.groupby("level", sort=True):
            origins = res.errors.loc[res.errors["level"] == lv, "base_year"].nunique()
            title = tr("cli.backtest.pooled_title", level=_label(str(lv)), origins=origins)
            print_table(_mape_table(title, g, ["horizon", "group"]))
        if not res.coverage.empty:
            cols = ["level", "horizon", "size_class", "n", "origins", "obs50", "obs80", "obs95"]
            t = _table(tr("cli.backtest.coverage_title"), cols)
            for _, r in res.coverage.iterrows():
                t.add_row(*[_cell(r[c]) for c in cols])
            print_table(t)
        if not res.age_errors.empty:
            cols = [str(c) for c in res.age_errors.columns]
            t = _table(tr("cli.backtest.age_title"), cols)
            for _, r in res.age_errors.iterrows():
                t.add_row(*[f"{v:.3f}" if isinstance(v, float) else _label(str(v)) for v in r])
            print_table(t)
        for note in res.notes:
            print_note(note)
        if out_file is not None:
            write_atomic(out_file, lambda p: m.to_csv(p, index=False))
            out.print(tr("cli.backtest.written", out=out_file))

    run_cli(run)


_LABELS = ("kreis", "gemeinde", "all", "wandel", "constant", "linear", "share", "share_trend")
"""Values of the backtest tables shown in the user's language (levels, the group of all zones,
the methods); the others (horizons, size classes such as ``<5k``, Kreis types) are shown as they
are."""


def _label(v: str) -> str:
    """``v`` in the user's language where it is one of :data:`_LABELS` or ``hamilton_perry``."""
    return tr(f"cli.backtest.label.{v}") if v in (*_LABELS, "hamilton_perry") else v


def _cell(v: object) -> str:
    """A table cell: floats with two decimals, NaN as a dash, labels translated."""
    if isinstance(v, float):
        return "-" if v != v else f"{v:.2f}"
    return _label(str(v))


def _table(title: str, cols: list[str]) -> Table:
    """A table with translated headers for the columns ``cols`` of a backtest frame."""
    t = Table(title=title)
    for c in cols:
        key = f"cli.backtest.col.{c}"
        header = tr(key) if c not in _LABELS and c != "hamilton_perry" else _label(c)
        word = max(len(w) for w in header.split())  # headers wrap between words, never inside
        if c in _TEXT_COLS:
            t.add_column(header, overflow="fold", justify="left", min_width=word)
        else:
            t.add_column(header, overflow="fold", justify="right", min_width=word)
    return t


_TEXT_COLS = {"level", "size_class", "group", "method", "winner"}


def _mape_table(title: str, g: pd.DataFrame, keys: list[str]) -> Table:
    """MAPE of every method side by side per row of ``keys``, n, and the winner of the row."""
    from wandel.demography.baselines import BASELINES

    wide = g.pivot_table(index=keys, columns="method", values="mape", sort=True)
    n = g[g["method"] == "wandel"].set_index(keys)["n"]
    methods = ["wandel", *[b for b in BASELINES if b in wide.columns]]
    t = _table(title, [*keys, "n", *methods, "winner"])
    for key, r in wide.iterrows():
        k = key if isinstance(key, tuple) else (key,)
        present = r[methods].dropna()
        win = _label(str(present.idxmin())) if not present.empty else "-"
        cells = [_cell(r[c]) if c in r else "-" for c in methods]
        t.add_row(*map(_cell, k), _cell(int(n.get(key, 0))), *cells, win)
    return t


def register(app: typer.Typer) -> None:
    """Add ``project`` and ``backtest`` to the Wandel CLI."""
    app.command("project", help="@cli.project.help")(project)
    app.command("backtest", help="@cli.backtest.help")(backtest)

"""CLI command group ``wandel plan``: pmedian, mclp, lscp, cooperate (see :func:`register`).

The demand comes from a file ``id,demand`` (``--demand``), from a projection CSV
(``--projection`` with ``--year`` and ``--ages``) or, with neither, from the population of the
store in ``--year`` (:class:`wandel.workflow.plan.DemandSpec`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.table import Table

from wandel.cli._common import (
    DbOption,
    err,
    fmt_num,
    out,
    resolve_db,
    run_cli,
    say,
    spinner,
    split_values,
)
from wandel.i18n import tr

if TYPE_CHECKING:
    from wandel.planning import PlanResult
    from wandel.workflow.plan import PlanInputs

__all__ = ["plan_app", "plan_cooperate", "register", "summary_rows"]

plan_app = typer.Typer(help="@cli.plan.help", no_args_is_help=True)

MatrixOpt = Annotated[Path, typer.Option("--matrix", help="@cli.plan.matrix", show_default=False)]
OutOpt = Annotated[Path, typer.Option("--out", help="@cli.plan.out", show_default=False)]
DemandOpt = Annotated[Path | None, typer.Option("--demand", help="@cli.plan.demand")]
ProjectionOpt = Annotated[Path | None, typer.Option("--projection", help="@cli.plan.projection")]
YearOpt = Annotated[int | None, typer.Option("--year", help="@cli.plan.year")]
AgesOpt = Annotated[str, typer.Option("--ages", help="@cli.plan.ages")]
POpt = Annotated[int | None, typer.Option("--p", help="@cli.plan.p")]
ThresholdOpt = Annotated[float | None, typer.Option("--threshold", help="@cli.plan.threshold")]
FixedOpt = Annotated[
    list[str] | None, typer.Option("--fixed", help="@cli.plan.fixed", show_default=False)
]
ExistingOpt = Annotated[
    list[str] | None, typer.Option("--existing", help="@cli.plan.existing", show_default=False)
]
CapacityOpt = Annotated[Path | None, typer.Option("--capacity", help="@cli.plan.capacity")]
SolverOpt = Annotated[str, typer.Option("--solver", help="@cli.plan.solver")]
TimeLimitOpt = Annotated[
    float | None, typer.Option("--time-limit-s", help="@cli.plan.time_limit_s")
]
MissingOpt = Annotated[str, typer.Option("--missing", help="@cli.plan.missing")]


def _inputs(
    matrix: Path,
    demand: Path | None,
    projection: Path | None,
    year: int | None,
    ages: str,
    how: tuple[str, float | None, str],
) -> PlanInputs:
    """The inputs of a plan from the options (``how``: solver, time limit, missing pairs)."""
    from wandel.workflow.access import PopulationSource
    from wandel.workflow.plan import DemandSpec, PlanInputs

    solver, time_limit_s, missing = how
    spec = DemandSpec(demand, year, ages, PopulationSource(projection))
    return PlanInputs(matrix, spec, missing, solver, time_limit_s)  # type: ignore[arg-type]


def _missing_note(n_missing: int) -> None:
    if n_missing:
        say("cli.plan.missing_pairs", n=n_missing, to=err, style="yellow")


def summary_rows(result: PlanResult) -> list[tuple[str, str]]:
    """Label/value pairs of the summary table, in the language of the call."""
    gap = "-" if result.gap is None else f"{fmt_num(100 * result.gap, 2)} %"
    rows = [
        ("model", result.kind),
        ("solver", f"{result.solver} ({result.status})"),
        ("objective", f"{result.objective:.6g}"),
        ("gap", gap),
        ("sites", f"{result.n_sites}: " + ", ".join(str(s) for s in result.sites)),
        ("opened", ", ".join(str(s) for s in result.opened) or "-"),
        ("closed", ", ".join(str(s) for s in result.closed) or "-"),
        ("total_demand", f"{result.total_demand:.6g}"),
        ("mean_cost", f"{result.mean_cost:.4g}"),
        ("p95_cost", f"{result.p95_cost:.4g}"),
    ]
    labelled = [(tr(f"cli.plan.summary.{k}"), v) for k, v in rows]
    if result.threshold is not None:
        label = tr("cli.plan.summary.beyond", threshold=f"{result.threshold:g}")
        labelled.append((label, f"{result.demand_beyond:.6g}"))
    labelled.append((tr("cli.plan.summary.time"), f"{result.time_s:.3f} s"))
    return labelled


def _plan_command(model: str) -> Callable[..., None]:
    def command(
        matrix: MatrixOpt,
        out_file: OutOpt,
        demand: DemandOpt = None,
        projection: ProjectionOpt = None,
        year: YearOpt = None,
        ages: AgesOpt = "0+",
        p: POpt = None,
        threshold: ThresholdOpt = None,
        fixed: FixedOpt = None,
        existing: ExistingOpt = None,
        capacity: CapacityOpt = None,
        solver: SolverOpt = "highs",
        time_limit_s: TimeLimitOpt = None,
        missing: MissingOpt = "error",
        db: DbOption = None,
    ) -> None:
        from wandel.workflow.plan import PlanRequest, PlanRun, plan

        def run() -> PlanRun:
            inputs = _inputs(
                matrix, demand, projection, year, ages, (solver, time_limit_s, missing)
            )
            request = PlanRequest(
                model,
                p,
                threshold,
                tuple(split_values(fixed)),
                tuple(split_values(existing)),
                capacity,
            )
            with spinner("step.prepare") as step:
                return plan(inputs, request, resolve_db(db), out_file, steps=step)

        res = run_cli(run)
        _missing_note(res.n_missing)
        table = Table(title=tr("cli.plan.title", kind=res.result.kind))
        table.add_column(tr("cli.plan.col.measure"))
        table.add_column(tr("cli.plan.col.value"), overflow="fold")
        for k, v in summary_rows(res.result):
            table.add_row(k, v)
        out.print(table)
        say("cli.plan.written", out=out_file)

    command.__doc__ = (
        f"Solve the {model} model on a cost matrix (:func:`wandel.workflow.plan.plan`)."
    )
    return command


for _model in ("pmedian", "mclp", "lscp"):
    plan_app.command(_model, help=f"@cli.plan.{_model}.help")(_plan_command(_model))


@plan_app.command("cooperate", help="@cli.plan.cooperate.help")
def plan_cooperate(
    matrix: MatrixOpt,
    candidates: Annotated[
        Path, typer.Option("--candidates", help="@cli.plan.candidates", show_default=False)
    ],
    out_file: OutOpt,
    model: Annotated[str, typer.Option("--model", help="@cli.plan.model")] = "pmedian",
    p: Annotated[int | None, typer.Option("--p", help="@cli.plan.cooperate.p")] = None,
    joint_p: Annotated[int | None, typer.Option("--joint-p", help="@cli.plan.joint_p")] = None,
    threshold: ThresholdOpt = None,
    towns: Annotated[Path | None, typer.Option("--towns", help="@cli.plan.towns")] = None,
    fixed: FixedOpt = None,
    existing: ExistingOpt = None,
    fixed_cost: Annotated[float, typer.Option("--fixed-cost", help="@cli.plan.fixed_cost")] = 0.0,
    unit_cost: Annotated[float, typer.Option("--unit-cost", help="@cli.plan.unit_cost")] = 1.0,
    solver: SolverOpt = "highs",
    time_limit_s: TimeLimitOpt = None,
    missing: MissingOpt = "error",
    demand: DemandOpt = None,
    projection: ProjectionOpt = None,
    year: YearOpt = None,
    ages: AgesOpt = "0+",
    db: DbOption = None,
) -> None:
    """Each town alone against joint planning (:func:`wandel.workflow.plan.cooperation`)."""
    from wandel.planning.cooperation import Money
    from wandel.workflow.plan import CooperationRequest, CooperationRun, cooperation

    def run() -> CooperationRun:
        inputs = _inputs(matrix, demand, projection, year, ages, (solver, time_limit_s, missing))
        request = CooperationRequest(
            model,
            candidates,
            towns,
            p,
            joint_p,
            threshold,
            tuple(split_values(fixed)),
            tuple(split_values(existing)),
            Money(fixed_cost, unit_cost),
        )
        with spinner("step.prepare") as step:
            return cooperation(inputs, request, resolve_db(db), out_file, steps=step)

    res = run_cli(run)
    _missing_note(res.n_missing)
    _print_cooperation(res.result.table)
    say("cli.plan.cooperate.written", out=out_file)


def _print_cooperation(frame: pd.DataFrame) -> None:
    from wandel.planning.cooperation import COLUMNS as measures

    table = Table(title=tr("cli.plan.cooperate.title"))
    table.add_column(tr("cli.plan.col.measure"))
    plans = ("alone", "joint", "difference")
    for col in plans:
        table.add_column(tr(f"cli.plan.cooperate.{col}"), justify="right")
    for key in measures:
        vals = [frame.loc[r, key] for r in plans]
        cells = ("" if pd.isna(v) else f"{v:,.4g}" for v in vals)
        table.add_row(tr(f"cli.plan.cooperate.{key}"), *cells)
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command group to the Wandel CLI."""
    app.add_typer(plan_app, name="plan")

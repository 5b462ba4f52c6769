"""The ``wandel`` command line: the app, its top-level options, the registration of every command
group, and ``main``. It only orchestrates: reading, storing and models live elsewhere.

A command group is a module ``wandel.cli.<group>`` with a ``register(app)`` function, called
below; its help texts are catalogue keys (``help="@cli.<group>..."``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wandel.cli._common import DbOption, Lang, WandelGroup, out, run_cli
from wandel.settings import get_settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="wandel",
    cls=WandelGroup,
    help="@cli.app.help",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def options(
    lang: Annotated[
        Lang | None, typer.Option("--lang", help="@setting.lang", show_default=False)
    ] = None,
) -> None:
    """Top-level options. ``--lang`` is held for the whole call by :class:`WandelGroup` (which
    reads it before parsing, so that even ``--help`` of a subcommand speaks it); here the settings
    of the environment are checked once, so that a bad ``WANDEL_*`` value ends with one line."""
    run_cli(get_settings)


def demo(
    db: DbOption = None,
    out_dir: Annotated[Path, typer.Option("--out", help="@cli.demo.out")] = Path("out/demo"),
) -> None:
    """Build the demo store and run the main job (:func:`wandel.workflow.demo.run_demo`)."""
    from wandel.workflow.demo import run_demo

    target = db if db is not None else out_dir / "wandel-demo.duckdb"
    run_cli(lambda: run_demo(target, out_dir, console=out))


from wandel.cli import access as cli_access  # noqa: E402
from wandel.cli import data as cli_data  # noqa: E402
from wandel.cli import network as cli_network  # noqa: E402
from wandel.cli import plan as cli_plan  # noqa: E402
from wandel.cli import projection as cli_projection  # noqa: E402

cli_data.register(app)
cli_projection.register(app)
cli_network.register(app)
cli_access.register(app)
cli_plan.register(app)
app.command("demo", help="@cli.demo.help")(demo)

from wandel.cli import services as cli_services  # noqa: E402

cli_services.register(app)

from wandel.cli import compare as cli_compare  # noqa: E402

cli_compare.register(app)

from wandel.cli import report as cli_report  # noqa: E402

cli_report.register(app)

from wandel.cli import serve as cli_serve  # noqa: E402

cli_serve.register(app)

from wandel.cli import fetch as cli_fetch  # noqa: E402

cli_fetch.register(app)

from wandel.cli import users as cli_users  # noqa: E402

cli_users.register(app)

from wandel.cli import backup as cli_backup  # noqa: E402

cli_backup.register(app)

from wandel.cli import settings as cli_settings  # noqa: E402

cli_settings.register(app)


def main() -> None:
    """Entry point of the ``wandel`` console script."""
    app()


if __name__ == "__main__":
    main()

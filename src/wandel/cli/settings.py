"""CLI command ``wandel settings``: every setting with the value this call would use and where it
comes from (passwords of addresses shown as ``***``)."""

from __future__ import annotations

import typer
from rich.table import Table

from wandel.cli._common import out, run_cli
from wandel.i18n import tr

__all__ = ["register", "settings"]


def settings() -> None:
    """The settings of this call: name, variable, value, source."""

    def run() -> None:
        from wandel.settings import described

        table = Table(title=tr("cli.settings.title"))
        table.add_column(tr("cli.settings.col_name"))
        table.add_column(tr("cli.settings.col_env"))
        table.add_column(tr("cli.settings.col_value"), overflow="fold")  # paths whole
        table.add_column(tr("cli.settings.col_from"))
        for s, value, where in described():
            table.add_row(
                s.name, s.env, value, tr("cli.settings.default") if where == "default" else where
            )
        out.print(table)

    run_cli(run)


def register(app: typer.Typer) -> None:
    app.command("settings", help="@cli.settings.help")(settings)

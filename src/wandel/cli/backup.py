"""CLI commands ``wandel backup`` and ``wandel restore``: the whole state (store and application
state) in one archive with checksums (:mod:`wandel.workflow.backup`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wandel.cli._common import DbOption, resolve_db, run_cli, say
from wandel.cli.users import StateOption

__all__ = ["backup", "register", "restore"]


def backup(
    out: Annotated[Path, typer.Argument(help="@cli.backup.out", show_default=False)],
    db: DbOption = None,
    state: StateOption = None,
) -> None:
    """Write the store and the application state into one archive."""

    def run() -> None:
        from wandel.workflow.backup import backup as write
        from wandel.workflow.users import state_path

        path = resolve_db(db)
        report = write(path, state_path(path, state), out)
        for name, f in report.files.items():
            say("cli.backup.file", name=name, bytes=f["bytes"], sha256=f["sha256"])
        say("cli.backup.written", path=str(report.archive), sha256=report.sha256)

    run_cli(run)


def restore(
    archive: Annotated[Path, typer.Argument(help="@cli.restore.archive", show_default=False)],
    db: DbOption = None,
    state: StateOption = None,
    force: Annotated[bool, typer.Option("--force", help="@cli.restore.force")] = False,
) -> None:
    """Put the store and the application state of an archive in place (checksums checked)."""

    def run() -> None:
        from wandel.workflow.backup import restore as put
        from wandel.workflow.users import state_path

        path = resolve_db(db)
        report = put(archive, path, state_path(path, state), force=force)
        for name, f in report.files.items():
            say("cli.backup.file", name=name, bytes=f["bytes"], sha256=f["sha256"])
        say("cli.restore.done", path=str(path))

    run_cli(run, then="store_unchanged")


def register(app: typer.Typer) -> None:
    app.command("backup", help="@cli.backup.help")(backup)
    app.command("restore", help="@cli.restore.help")(restore)

"""CLI command ``wandel serve`` (registered by :func:`register`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wandel.cli._common import DbOption, out, resolve_db, run_cli
from wandel.cli.users import StateOption
from wandel.errors import OptionError, WandelError
from wandel.i18n import tr

__all__ = ["register", "serve"]


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="@cli.serve.host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="@cli.serve.port")] = 8000,
    smoke: Annotated[bool, typer.Option("--smoke", help="@cli.serve.smoke")] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="@cli.serve.workers")
    ] = 1,
    state: StateOption = None,
) -> None:
    """Serve the web app on the store, or (``--smoke``) answer a few requests and stop."""

    def run() -> None:
        from wandel.settings import DatabaseUrl, override
        from wandel.web import server
        from wandel.workflow.users import state_path

        path = resolve_db(db)
        where = state_path(path, state)
        if workers > 1 and not isinstance(where, DatabaseUrl):
            # a DuckDB file has one writer at a time: workers would wait on each other's lock
            raise OptionError("@error.serve.workers_duckdb", n=workers, path=str(where))
        if state is not None:
            with override(state=state):
                _serve(server, path)
        else:
            _serve(server, path)

    def _serve(server: Any, path: Path) -> None:
        if smoke:
            res = server.smoke(path)
            for p, status in res.statuses:
                out.print(tr("cli.serve.smoke_line", path=p, status=status), highlight=False)
            if not res.ok:
                raise WandelError("@cli.serve.smoke_failed")
            return
        out.print(tr("cli.serve.address", url=f"http://{host}:{port}/"), highlight=False)
        server.serve(path, host, port, workers=workers)

    run_cli(run)


def register(app: typer.Typer) -> None:
    app.command("serve", help="@cli.serve.help")(serve)

"""CLI command ``wandel serve`` (registered by :func:`register`)."""

from __future__ import annotations

from typing import Annotated

import typer

from wandel.cli._common import DbOption, out, resolve_db, run_cli
from wandel.errors import WandelError
from wandel.i18n import tr

__all__ = ["register", "serve"]


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="@cli.serve.host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="@cli.serve.port")] = 8000,
    smoke: Annotated[bool, typer.Option("--smoke", help="@cli.serve.smoke")] = False,
) -> None:
    """Serve the web app on the store, or (``--smoke``) answer a few requests and stop."""

    def run() -> None:
        from wandel.web import server

        path = resolve_db(db)
        if smoke:
            res = server.smoke(path)
            for p, status in res.statuses:
                out.print(tr("cli.serve.smoke_line", path=p, status=status), highlight=False)
            if not res.ok:
                raise WandelError("@cli.serve.smoke_failed")
            return
        out.print(tr("cli.serve.address", url=f"http://{host}:{port}/"), highlight=False)
        server.serve(path, host, port)

    run_cli(run)


def register(app: typer.Typer) -> None:
    app.command("serve", help="@cli.serve.help")(serve)

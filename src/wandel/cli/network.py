"""CLI command group ``wandel network`` (see :func:`register`), and the road-network options that
``wandel access`` shares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from wandel.cli._common import CacheOption, fmt_int, out, run_cli, say, spinner, split_values
from wandel.i18n import tr

if TYPE_CHECKING:
    from wandel.workflow.access import BuiltNetwork

__all__ = [
    "AccessSpeedOpt",
    "ModeOpt",
    "NoCacheOpt",
    "SnapOpt",
    "SpeedOpt",
    "network_app",
    "network_build",
    "register",
]

network_app = typer.Typer(help="@cli.network.help", no_args_is_help=True)

ModeOpt = Annotated[str, typer.Option("--mode", help="@cli.access.mode")]
SnapOpt = Annotated[float, typer.Option("--max-snap-m", min=0.0, help="@cli.access.max_snap_m")]
AccessSpeedOpt = Annotated[
    float, typer.Option("--access-speed-kph", help="@access.cli.access_speed_kph")
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="@cli.access.no_cache")]
SpeedOpt = Annotated[
    list[str] | None, typer.Option("--speed", help="@cli.access.speed", show_default=False)
]

ATTRIBUTION_OSM = "© OpenStreetMap contributors, ODbL 1.0"


@network_app.command("build", help="@cli.network.build.help")
def network_build(
    extract: Annotated[Path, typer.Argument(help="@cli.network.build.extract", show_default=False)],
    mode: Annotated[
        list[str] | None,
        typer.Option("--mode", help="@cli.network.build.mode", show_default=False),
    ] = None,
    cache_dir: CacheOption = None,
    speed: SpeedOpt = None,
) -> None:
    """Build the road networks of an extract and cache them."""
    from wandel.workflow.access import build_networks, network_cache, parse_speeds

    def run() -> tuple[list[BuiltNetwork], Path | None]:
        cache = network_cache(cache_dir)
        with spinner("step.read_network_any") as step:
            built = build_networks(
                extract,
                split_values(mode),
                speeds_kph=parse_speeds(split_values(speed)),
                cache_dir=cache,
                steps=step,
            )
        return built, cache

    built, cache = run_cli(run)
    table = Table(title=tr("cli.network.build.title", name=extract.name))
    for col in ("mode", "nodes", "edges", "cache"):
        table.add_column(tr(f"cli.network.build.col.{col}"))
    for net in built:
        table.add_row(net.mode, fmt_int(net.n_nodes), fmt_int(net.n_edges), str(cache))
    out.print(table)
    say("cli.attribution", text=ATTRIBUTION_OSM)


def register(app: typer.Typer) -> None:
    """Add the ``network`` command group to the Wandel CLI."""
    app.add_typer(network_app, name="network")

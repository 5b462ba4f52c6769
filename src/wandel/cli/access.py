"""CLI command group ``wandel access``: nearest, matrix, isochrones, coverage (see :func:`register`).

The commands parse options into the requests of :mod:`wandel.workflow.access`, run them with a
spinner on stderr and print a summary; the workflow writes the output file atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.table import Table

from wandel.cli._common import (
    CacheOption,
    DbOption,
    err,
    fmt_int,
    fmt_num,
    out,
    resolve_db,
    run_cli,
    say,
    spinner,
    split_values,
)
from wandel.cli.network import AccessSpeedOpt, ModeOpt, NoCacheOpt, SnapOpt, SpeedOpt
from wandel.i18n import tr

if TYPE_CHECKING:
    from wandel.workflow.access import FacilitySpec, NetworkSpec, OriginSpec, Snapped

__all__ = [
    "access_app",
    "access_coverage",
    "access_isochrones",
    "access_matrix",
    "access_nearest",
    "register",
]

access_app = typer.Typer(help="@cli.access.help", no_args_is_help=True)

NetworkOpt = Annotated[Path | None, typer.Option("--network", help="@cli.access.network")]
OriginsOpt = Annotated[Path | None, typer.Option("--origins", help="@cli.access.origins")]
ZonesOpt = Annotated[
    list[str] | None, typer.Option("--zones", help="@cli.access.zones", show_default=False)
]
OriginKindOpt = Annotated[str, typer.Option("--origin-kind", help="@cli.access.origin_kind")]
CellOpt = Annotated[float, typer.Option("--cell-m", help="@cli.access.cell_m")]
FacilitiesOpt = Annotated[Path | None, typer.Option("--facilities", help="@cli.access.facilities")]
KindOpt = Annotated[str | None, typer.Option("--facility-kind", help="@cli.access.facility_kind")]
FacYearOpt = Annotated[
    int | None, typer.Option("--facility-year", help="@cli.access.facility_year")
]
AmenityOpt = Annotated[
    list[str] | None, typer.Option("--amenity", help="@cli.access.amenity", show_default=False)
]
AllowOpt = Annotated[bool, typer.Option("--allow-unsnapped", help="@cli.access.allow_unsnapped")]
OutOpt = Annotated[Path, typer.Option("--out", help="@cli.access.out", show_default=False)]


def _origin_spec(
    origins: Path | None, zones: list[str] | None, kind: str, cell_m: float
) -> OriginSpec:
    from wandel.workflow.access import OriginSpec

    return OriginSpec(origins, tuple(split_values(zones)), kind, cell_m)


def _facility_spec(
    facilities: Path | None, kind: str | None, year: int | None, amenity: list[str] | None
) -> FacilitySpec:
    from wandel.workflow.access import FacilitySpec

    return FacilitySpec(facilities, kind, year, tuple(split_values(amenity)))


def _network_spec(
    network: Path | None,
    mode: str,
    link: tuple[float, float],
    speed: list[str] | None,
    cache: tuple[Path | None, bool],
    allow_unsnapped: bool,
) -> NetworkSpec:
    """The network request; ``link`` is ``(max_snap_m, access_speed_kph)``."""
    from wandel.workflow.access import NetworkSpec, network_cache, parse_speeds

    cache_dir, no_cache = cache
    max_snap_m, access_speed_kph = link
    return NetworkSpec(
        network,
        mode,
        max_snap_m,
        parse_speeds(split_values(speed)),
        network_cache(cache_dir, enabled=not no_cache),
        allow_unsnapped,
        access_speed_kph,
    )


def _report(left: Snapped, fallback: str | None = None) -> None:
    """Points left off the network and the straight-line fallback, on stderr."""
    if fallback is not None:
        say("cli.access.fallback", method=fallback, to=err, style="yellow")
    for what, frame in (("origins", left.origins), ("facilities", left.facilities)):
        if len(frame):
            shown = ", ".join(
                f"{i} ({fmt_int(d)} m)" if np.isfinite(d) else f"{i} ({tr('cli.access.no_xy')})"
                for i, d in zip(frame["id"], frame["distance_m"], strict=True)
            )
            say(
                "cli.access.unsnapped",
                n=len(frame),
                what=tr(f"cli.access.word.{what}"),
                points=shown,
                to=err,
                style="yellow",
            )


@access_app.command("nearest", help="@cli.access.nearest.help")
def access_nearest(
    out_file: OutOpt,
    network: NetworkOpt = None,
    origins: OriginsOpt = None,
    facilities: FacilitiesOpt = None,
    zones: ZonesOpt = None,
    origin_kind: OriginKindOpt = "representative",
    cell_m: CellOpt = 1000.0,
    facility_kind: KindOpt = None,
    facility_year: FacYearOpt = None,
    amenity: AmenityOpt = None,
    mode: ModeOpt = "car",
    max_snap_m: SnapOpt = 1600.0,
    access_speed_kph: AccessSpeedOpt = 4.68,
    cutoff_min: Annotated[
        float | None, typer.Option("--cutoff-min", help="@cli.access.nearest.cutoff_min")
    ] = None,
    cache_dir: CacheOption = None,
    speed: SpeedOpt = None,
    no_cache: NoCacheOpt = False,
    allow_unsnapped: AllowOpt = False,
    db: DbOption = None,
) -> None:
    """Travel time from every origin to its nearest facility (:func:`wandel.workflow.access.nearest`)."""
    from wandel.workflow.access import NearestRun, nearest

    def run() -> NearestRun:
        net = _network_spec(
            network,
            mode,
            (max_snap_m, access_speed_kph),
            speed,
            (cache_dir, no_cache),
            allow_unsnapped,
        )
        o = _origin_spec(origins, zones, origin_kind, cell_m)
        f = _facility_spec(facilities, facility_kind, facility_year, amenity)
        with spinner("step.prepare") as step:
            return nearest(o, f, net, resolve_db(db), out_file, cutoff_min=cutoff_min, steps=step)

    res = run_cli(run)
    _report(res.left_off, res.method if res.fallback else None)
    t = res.table["travel_time_min"]
    say(
        "cli.access.nearest.done",
        n=len(t),
        reached=int(t.notna().sum()),
        median=fmt_num(float(t.median())),
        max=fmt_num(float(t.max())),
        method=res.method,
        out=out_file,
    )


@access_app.command("matrix", help="@cli.access.matrix.help")
def access_matrix(
    out_file: OutOpt,
    network: NetworkOpt = None,
    origins: OriginsOpt = None,
    facilities: FacilitiesOpt = None,
    zones: ZonesOpt = None,
    origin_kind: OriginKindOpt = "representative",
    cell_m: CellOpt = 1000.0,
    facility_kind: KindOpt = None,
    facility_year: FacYearOpt = None,
    amenity: AmenityOpt = None,
    mode: ModeOpt = "car",
    max_snap_m: SnapOpt = 1600.0,
    access_speed_kph: AccessSpeedOpt = 4.68,
    cutoff_min: Annotated[
        float | None, typer.Option("--cutoff-min", help="@cli.access.matrix.cutoff_min")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="@cli.access.matrix.workers")
    ] = 0,
    cache_dir: CacheOption = None,
    speed: SpeedOpt = None,
    no_cache: NoCacheOpt = False,
    allow_unsnapped: AllowOpt = False,
    db: DbOption = None,
) -> None:
    """Travel-time matrix origin, destination, travel_time_min (:func:`wandel.workflow.access.matrix`)."""
    from wandel.workflow.access import MatrixRun, matrix

    def run() -> MatrixRun:
        net = _network_spec(
            network,
            mode,
            (max_snap_m, access_speed_kph),
            speed,
            (cache_dir, no_cache),
            allow_unsnapped,
        )
        o = _origin_spec(origins, zones, origin_kind, cell_m)
        f = _facility_spec(facilities, facility_kind, facility_year, amenity)
        with spinner("step.prepare") as step:
            return matrix(
                o,
                f,
                net,
                resolve_db(db),
                out_file,
                cutoff_min=cutoff_min,
                workers=workers,
                steps=step,
            )

    res = run_cli(run)
    _report(res.left_off, res.method if res.fallback else None)
    say("cli.access.matrix.done", n=fmt_int(len(res.table)), method=res.method, out=out_file)


@access_app.command("isochrones", help="@cli.access.isochrones.help")
def access_isochrones(
    network: Annotated[
        Path, typer.Option("--network", help="@cli.access.isochrones.network", show_default=False)
    ],
    facilities: Annotated[
        Path,
        typer.Option("--facilities", help="@cli.access.isochrones.facilities", show_default=False),
    ],
    out_file: Annotated[
        Path, typer.Option("--out", help="@cli.access.isochrones.out", show_default=False)
    ],
    minutes: Annotated[
        list[str] | None,
        typer.Option("--minutes", help="@cli.access.isochrones.minutes", show_default=False),
    ] = None,
    mode: ModeOpt = "car",
    max_snap_m: SnapOpt = 1600.0,
    access_speed_kph: AccessSpeedOpt = 4.68,
    buffer_m: Annotated[
        float, typer.Option("--buffer-m", min=0.0, help="@cli.access.isochrones.buffer_m")
    ] = 50.0,
    cache_dir: CacheOption = None,
    speed: SpeedOpt = None,
    no_cache: NoCacheOpt = False,
    allow_unsnapped: AllowOpt = False,
) -> None:
    """Isochrone polygons around facilities (:func:`wandel.workflow.access.isochrone_polygons`)."""
    from wandel.workflow.access import IsochroneRun, isochrone_polygons, parse_numbers

    def run() -> IsochroneRun:
        net = _network_spec(
            network,
            mode,
            (max_snap_m, access_speed_kph),
            speed,
            (cache_dir, no_cache),
            allow_unsnapped,
        )
        thresholds = parse_numbers("--minutes", split_values(minutes)) or [5.0, 10.0, 15.0]
        with spinner("step.prepare") as step:
            return isochrone_polygons(
                facilities, net, out_file, minutes=thresholds, buffer_m=buffer_m, steps=step
            )

    res = run_cli(run)
    _report(res.left_off)
    say("cli.access.isochrones.done", n=len(res.table), method=res.method, out=out_file)


@access_app.command("coverage", help="@cli.access.coverage.help")
def access_coverage(
    out_file: OutOpt,
    year: Annotated[
        int, typer.Option("--year", help="@cli.access.coverage.year", show_default=False)
    ],
    threshold_min: Annotated[
        float, typer.Option("--threshold-min", help="@cli.access.coverage.threshold_min")
    ] = 15.0,
    age_groups: Annotated[
        str, typer.Option("--age-groups", help="@cli.access.coverage.age_groups")
    ] = "0-5,6-17,18-64,65-74,75+",
    network: NetworkOpt = None,
    origins: OriginsOpt = None,
    facilities: FacilitiesOpt = None,
    zones: ZonesOpt = None,
    origin_kind: OriginKindOpt = "representative",
    cell_m: CellOpt = 1000.0,
    facility_kind: KindOpt = None,
    facility_year: FacYearOpt = None,
    amenity: AmenityOpt = None,
    projection: Annotated[
        Path | None, typer.Option("--projection", help="@cli.access.coverage.projection")
    ] = None,
    mode: ModeOpt = "car",
    max_snap_m: SnapOpt = 1600.0,
    access_speed_kph: AccessSpeedOpt = 4.68,
    cache_dir: CacheOption = None,
    speed: SpeedOpt = None,
    no_cache: NoCacheOpt = False,
    allow_unsnapped: AllowOpt = False,
    db: DbOption = None,
) -> None:
    """Share of the people of each age group who reach a facility (:func:`wandel.workflow.access.coverage`)."""
    from wandel.workflow.access import CoverageRun, CoverageSpec, PopulationSource, coverage

    def run() -> CoverageRun:
        net = _network_spec(
            network,
            mode,
            (max_snap_m, access_speed_kph),
            speed,
            (cache_dir, no_cache),
            allow_unsnapped,
        )
        o = _origin_spec(origins, zones, origin_kind, cell_m)
        f = _facility_spec(facilities, facility_kind, facility_year, amenity)
        spec = CoverageSpec(year, threshold_min, age_groups, PopulationSource(projection))
        with spinner("step.prepare") as step:
            return coverage(o, f, net, resolve_db(db), out_file, spec, steps=step)

    res = run_cli(run)
    _report(res.left_off, res.method if res.fallback else None)
    table = Table(title=tr("cli.access.coverage.title", minutes=f"{threshold_min:g}", year=year))
    for col in ("age_group", "population", "covered", "share", "unrouted"):
        table.add_column(tr(f"cli.access.coverage.col.{col}"), justify="right")
    for _, r in res.table.iterrows():
        table.add_row(
            str(r["age_group"]),
            fmt_int(r["population"]),
            fmt_int(r["covered"]),
            f"{fmt_num(100 * r['share'])} %",
            fmt_int(r["unrouted"]),
        )
    out.print(table)
    say("cli.access.written", method=res.method, out=out_file)


def register(app: typer.Typer) -> None:
    """Add the ``access`` command group to the Wandel CLI."""
    app.add_typer(access_app, name="access")

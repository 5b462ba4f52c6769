"""CLI command groups ``wandel network``, ``wandel access`` and ``wandel plan`` (see :func:`register`).

They only orchestrate: reading and models live in :mod:`wandel.workflow.access`,
:mod:`wandel.workflow.plan`, :mod:`wandel.access` and :mod:`wandel.planning`. Every output file is
written to a temporary file in the same folder and renamed at the end, so an error never leaves a
partial file behind; every :class:`~wandel.errors.WandelError` ends with exit code 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import numpy as np
import pandas as pd
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from wandel.cli._common import DbOption, err, out, resolve_db, run_cli
from wandel.errors import OutputPathError, WandelError

__all__ = ["access_app", "network_app", "plan_app", "register", "write_atomic"]

network_app = typer.Typer(
    help="Straßennetze aus OpenStreetMap-Auszügen (road networks from OSM extracts).",
    no_args_is_help=True,
)
access_app = typer.Typer(
    help="Erreichbarkeit: Fahrzeiten, Matrizen, Isochronen, Abdeckung (accessibility).",
    no_args_is_help=True,
)
plan_app = typer.Typer(
    help="Standortplanung: p-Median, maximale Abdeckung, Mengenüberdeckung, Kooperation "
    "(location planning).",
    no_args_is_help=True,
)


# ---------------------------------------------------------------------------------------------
# shared pieces
# ---------------------------------------------------------------------------------------------


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path`` and rename it to ``path``.

    The temporary name keeps the suffix (drivers pick the format by it). On any error the temporary
    file is removed and ``path`` is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return write_atomic(
        path, lambda p: frame.to_csv(p, index=False, float_format="%.6f", na_rep="")
    )


GEO_SUFFIXES = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}


def _write_table(frame: pd.DataFrame, path: Path, points: pd.DataFrame, key: str) -> Path:
    """CSV, or with a ``.gpkg``/``.geojson`` suffix a point layer (WGS84) at the ``points``
    (``id, lon, lat``) matched by ``frame[key]``, for a map in QGIS or a web map."""
    driver = GEO_SUFFIXES.get(path.suffix.lower())
    if driver is None:
        return _write_csv(frame, path)
    import geopandas as gpd

    xy = points.assign(id=points["id"].astype(str)).drop_duplicates("id").set_index("id")
    ids = frame[key].astype(str)
    geo = gpd.GeoDataFrame(
        frame.reset_index(drop=True),
        geometry=gpd.points_from_xy(
            xy["lon"].reindex(ids).to_numpy(), xy["lat"].reindex(ids).to_numpy()
        ),
        crs="EPSG:4326",
    )
    return _write_geo(geo, path)


def _write_geo(geo: Any, path: Path) -> Path:
    """Write a GeoDataFrame atomically as GeoPackage or GeoJSON (by the suffix of ``path``)."""
    driver = GEO_SUFFIXES[path.suffix.lower()]
    layer = re.sub(r"[^A-Za-z0-9_]", "_", path.stem) or "wandel"  # not the temporary file's name
    opts = {"layer": layer} if driver == "GPKG" else {}
    return write_atomic(path, lambda p: geo.to_file(p, driver=driver, **opts))


@contextmanager
def _progress(description: str) -> Iterator[Callable[[str], None]]:
    """A Rich spinner on stderr; the yielded function changes its text."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda text: progress.update(task, description=text)


def _mode(mode: str) -> Any:
    from wandel.access import MODES

    if mode not in MODES:
        raise WandelError(f"unknown travel mode {mode!r}; expected car, bike or walk")
    return mode


def _cache(cache_dir: Path | None, no_cache: bool) -> Path | None:
    from wandel.settings import get_settings

    if no_cache:
        return None
    return cache_dir if cache_dir is not None else get_settings().cache_dir / "networks"


def _report_unsnapped(frame: pd.DataFrame, what: str) -> None:
    if len(frame):
        shown = ", ".join(
            f"{i} ({d:,.0f} m)" if np.isfinite(d) else f"{i} (ohne Koordinaten)"
            for i, d in zip(frame["id"], frame["distance_m"], strict=True)
        )
        err.print(
            f"[yellow]{len(frame)} {what} nicht am Netz (not snapped):[/] {shown}",
            highlight=False,
            emoji=False,
            soft_wrap=True,
        )


def _check_facilities_snapped(unsnapped: pd.DataFrame, allow: bool, max_snap_m: float) -> None:
    if unsnapped.empty:
        return
    if not allow:
        shown = ", ".join(
            f"{i} ({d:,.0f} m)"
            for i, d in zip(unsnapped["id"], unsnapped["distance_m"], strict=True)
        )
        raise WandelError(
            f"{len(unsnapped)} facility/facilities lie farther than {max_snap_m:g} m from the road "
            f"network (outside the extract?): {shown}; use --allow-unsnapped to leave them out"
        )
    _report_unsnapped(unsnapped, "Einrichtungen")


# common options
NetworkOpt = Annotated[
    Path | None,
    typer.Option(
        "--network",
        help="OSM-Auszug (.osm.pbf/.osm/.osm.gz); ohne: Luftlinie × Umwegfaktor (fallback).",
    ),
]
OriginsOpt = Annotated[
    Path | None, typer.Option("--origins", help="Startpunkte als CSV id,lon,lat (WGS84).")
]
ZonesOpt = Annotated[
    list[str] | None,
    typer.Option("--zones", help="Startpunkte aus Gebietsgrenzen im Datenbestand (AGS-Präfix)."),
]
OriginKindOpt = Annotated[
    str,
    typer.Option(
        "--origin-kind", help="representative|centroid|grid (Punkte je Gebiet oder Rasterzellen)."
    ),
]
CellOpt = Annotated[float, typer.Option("--cell-m", help="Rasterweite in Metern (grid).")]
FacilitiesOpt = Annotated[
    Path | None,
    typer.Option("--facilities", help="Einrichtungen: CSV id,lon,lat, GeoJSON oder G-BA-Liste."),
]
KindOpt = Annotated[
    str | None,
    typer.Option("--facility-kind", help="Einrichtungen dieser Art aus dem Datenbestand."),
]
FacYearOpt = Annotated[
    int | None, typer.Option("--facility-year", help="Jahr der Einrichtungen (sonst das letzte).")
]
AmenityOpt = Annotated[
    list[str] | None,
    typer.Option("--amenity", help="OSM amenity=… aus dem Auszug (hospital, doctors, school, …)."),
]
ModeOpt = Annotated[str, typer.Option("--mode", help="car|bike|walk")]
SnapOpt = Annotated[float, typer.Option("--max-snap-m", help="Größter Abstand zum Netz in Metern.")]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Cache für gelesene Netze (sonst Standardort).")
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Netz nicht zwischenspeichern.")]
SpeedOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--speed",
        help="Geschwindigkeit einer Straßenklasse in km/h, z. B. residential=30 (mehrfach; 0 "
        "sperrt die Klasse).",
    ),
]


def _speeds(spec: list[str] | None) -> dict[str, float] | None:
    """Parse ``--speed CLASS=KPH`` options into an override table."""
    if not spec:
        return None
    table: dict[str, float] = {}
    for item in spec:
        name, sep, value = item.partition("=")
        try:
            kph = float(value.replace(",", "."))
        except ValueError:
            kph = -1.0
        if not sep or not name.strip() or kph < 0:
            raise WandelError(
                f"--speed {item!r}: expected CLASS=KPH with a non-negative speed, e.g. residential=30"
            )
        table[name.strip()] = kph
    return table


AllowOpt = Annotated[
    bool,
    typer.Option("--allow-unsnapped", help="Einrichtungen fern vom Netz auslassen (statt Fehler)."),
]
OutOpt = Annotated[
    Path, typer.Option("--out", help="Ergebnisdatei (.csv; nearest auch .gpkg oder .geojson).")
]


def _origins(
    origins: Path | None,
    zones: list[str] | None,
    origin_kind: str,
    cell_m: float,
    db: Path | None,
) -> tuple[pd.DataFrame, str]:
    from wandel.workflow import access as wa

    if (origins is None) == (not zones):
        raise WandelError("give either --origins O.csv or --zones AGS... (origins from the store)")
    if origins is not None:
        return wa.read_points(origins, what="origins"), ""
    from wandel.store import Store

    with Store.open(resolve_db(db), read_only=True) as store:
        b = wa.boundaries_frame(store, zones)
    if origin_kind == "grid":
        return wa.grid_origins(b, cell_m), wa.GRID_METHOD
    if origin_kind not in ("representative", "centroid"):
        raise WandelError(
            f"unknown --origin-kind {origin_kind!r}; expected representative, centroid or grid"
        )
    return wa.zone_points(b, how=origin_kind), f"zone {origin_kind} points"  # type: ignore[arg-type]


def _facilities(
    facilities: Path | None,
    facility_kind: str | None,
    facility_year: int | None,
    amenity: list[str] | None,
    network: Path | None,
    db: Path | None,
) -> pd.DataFrame:
    from wandel.workflow import access as wa

    given = sum(x is not None and x != [] for x in (facilities, facility_kind, amenity))
    if given != 1:
        raise WandelError("give exactly one of --facilities F.csv, --facility-kind, --amenity")
    if facilities is not None:
        return wa.destinations_from_file(facilities)
    if facility_kind is not None:
        from wandel.store import Store

        with Store.open(resolve_db(db), read_only=True) as store:
            return wa.destinations_from_store(store, facility_kind, facility_year)
    if network is None:
        raise WandelError("--amenity reads the OSM extract given by --network")
    frame = wa.osm_amenities(network, amenity or ())
    if frame.empty:
        raise WandelError(f"no amenity={'|'.join(amenity or ())} in {network}")
    return frame


def _load(
    network: Path,
    mode: str,
    cache_dir: Path | None,
    set_text: Callable[[str], None],
    speeds: dict[str, float] | None = None,
) -> Any:
    from wandel.access import load_network

    set_text(f"Straßennetz lesen ({network.name}, {mode})")
    return load_network(network, _mode(mode), speeds_kph=speeds, cache_dir=cache_dir)


def _fallback_note(label: str) -> None:
    err.print(f"[yellow]Ohne Straßennetz: {label}[/]", highlight=False, emoji=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# wandel network build
# ---------------------------------------------------------------------------------------------


@network_app.command("build")
def network_build(
    extract: Annotated[Path, typer.Argument(help="OSM-Auszug (.osm.pbf, .osm, .osm.gz).")],
    mode: Annotated[
        list[str] | None, typer.Option("--mode", help="car|bike|walk (mehrfach; Standard: alle).")
    ] = None,
    cache_dir: CacheOpt = None,
    speed: SpeedOpt = None,
) -> None:
    """Straßennetz bauen und zwischenspeichern (build and cache the road network)."""
    from wandel.access import MODES

    def run() -> None:
        cache = _cache(cache_dir, False)
        modes = mode or list(MODES)
        nets = []
        with _progress("Straßennetz lesen") as set_text:
            for m in modes:
                nets.append((m, _load(extract, m, cache, set_text, _speeds(speed))))
        table = Table(title=f"Straßennetz: {extract.name}")
        for col in ("Modus", "Knoten", "Kanten", "Cache"):
            table.add_column(col)
        for m, net in nets:
            table.add_row(
                m,
                f"{net.n_nodes:,}".replace(",", "."),
                f"{net.n_edges:,}".replace(",", "."),
                str(cache),
            )
        out.print(table)
        out.print("© OpenStreetMap contributors, ODbL 1.0", highlight=False, emoji=False)

    run_cli(run)


# ---------------------------------------------------------------------------------------------
# wandel access nearest | matrix | isochrones | coverage
# ---------------------------------------------------------------------------------------------


def _nearest_table(
    network: Path | None,
    origins_frame: pd.DataFrame,
    fac: pd.DataFrame,
    mode: str,
    max_snap_m: float,
    cache: Path | None,
    allow_unsnapped: bool,
    cutoff_min: float | None = None,
    speeds: dict[str, float] | None = None,
) -> Any:
    from wandel.access import nearest_facility, nearest_facility_crowfly, snap_frame

    if network is None:
        res = nearest_facility_crowfly(origins_frame, fac, mode=_mode(mode))
        _fallback_note(res.method)
        return res
    with _progress("Straßennetz lesen") as set_text:
        net = _load(network, mode, cache, set_text, speeds)
        set_text("Punkte ans Netz anbinden")
        o = snap_frame(net, origins_frame, max_distance_m=max_snap_m, what="origins")
        f = snap_frame(net, fac, max_distance_m=max_snap_m, what="facilities")
        _check_facilities_snapped(f.unsnapped, allow_unsnapped, max_snap_m)
        if not f.snapped.any():
            raise WandelError("no facility lies on the road network")
        set_text("Fahrzeiten berechnen")
        res = nearest_facility(net, o, f, cutoff_min=cutoff_min)
    _report_unsnapped(o.unsnapped, "Startpunkte")
    return res


@access_app.command("nearest")
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
    max_snap_m: SnapOpt = 500.0,
    cutoff_min: Annotated[
        float | None, typer.Option("--cutoff-min", help="Suche nach so vielen Minuten beenden.")
    ] = None,
    cache_dir: CacheOpt = None,
    speed: SpeedOpt = None,
    no_cache: NoCacheOpt = False,
    allow_unsnapped: AllowOpt = False,
    db: DbOption = None,
) -> None:
    """Fahrzeit von jedem Startpunkt zur nächsten Einrichtung (nearest facility), CSV.

    Spalten: origin, facility, travel_time_min, snap_origin_m, snap_facility_m, status, method.
    Startpunkte fern vom Netz bleiben mit status=unsnapped in der Datei und werden gemeldet.
    """

    def run() -> None:
        o, _ = _origins(origins, zones, origin_kind, cell_m, db)
        fac = _facilities(facilities, facility_kind, facility_year, amenity, network, db)
        res = _nearest_table(
            network,
            o,
            fac,
            mode,
            max_snap_m,
            _cache(cache_dir, no_cache),
            allow_unsnapped,
            cutoff_min,
            _speeds(speed),
        )
        frame = res.table.reset_index()
        frame["method"] = res.method
        _write_table(frame, out_file, o, "origin")
        t = frame["travel_time_min"]
        out.print(
            f"{len(frame)} Startpunkte, {int(t.notna().sum())} mit Fahrzeit; Median "
            f"{t.median():.1f} min, Maximum {t.max():.1f} min ({res.method}) -> {out_file}",
            highlight=False,
            emoji=False,
            soft_wrap=True,
        )

    run_cli(run)


@access_app.command("matrix")
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
    max_snap_m: SnapOpt = 500.0,
    cutoff_min: Annotated[
        float | None,
        typer.Option("--cutoff-min", help="Paare über dieser Fahrzeit weglassen."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", help="Parallele Suchen (Threads bzw. Prozesse); 0 = alle Kerne."),
    ] = 0,
    cache_dir: CacheOpt = None,
    speed: SpeedOpt = None,
    no_cache: NoCacheOpt = False,
    allow_unsnapped: AllowOpt = False,
    db: DbOption = None,
) -> None:
    """Fahrzeitmatrix origin, destination, travel_time_min (travel-time matrix), CSV.

    Paare jenseits von --cutoff-min und nicht angebundene Punkte fehlen in der Datei (für
    ``wandel plan``: --missing unreachable).
    """
    from wandel.access import snap_frame, travel_time_matrix, travel_time_matrix_crowfly

    def run() -> None:
        o, _ = _origins(origins, zones, origin_kind, cell_m, db)
        fac = _facilities(facilities, facility_kind, facility_year, amenity, network, db)
        if network is None:
            res = travel_time_matrix_crowfly(o, fac, mode=_mode(mode))
            _fallback_note(res.method)
            if cutoff_min is not None:
                t = res.travel_time_min
                t[t > cutoff_min] = np.inf
        else:
            with _progress("Straßennetz lesen") as set_text:
                net = _load(network, mode, _cache(cache_dir, no_cache), set_text, _speeds(speed))
                so = snap_frame(net, o, max_distance_m=max_snap_m, what="origins")
                sf = snap_frame(net, fac, max_distance_m=max_snap_m, what="facilities")
                _check_facilities_snapped(sf.unsnapped, allow_unsnapped, max_snap_m)
                set_text(f"Fahrzeitmatrix {len(o)} × {len(fac)}")
                res = travel_time_matrix(
                    net, so, sf, cutoff_min=cutoff_min, workers=workers or (os.cpu_count() or 1)
                )
            _report_unsnapped(so.unsnapped, "Startpunkte")
        frame = res.to_frame(reached_only=True)
        if network is None:
            frame["method"] = res.method
        _write_csv(frame, out_file)
        out.print(
            f"{len(frame)} Paare ({res.method}) -> {out_file}",
            highlight=False,
            emoji=False,
            soft_wrap=True,
        )

    run_cli(run)


@access_app.command("isochrones")
def access_isochrones(
    network: Annotated[Path, typer.Option("--network", help="OSM-Auszug.")],
    facilities: Annotated[Path, typer.Option("--facilities", help="Quellen: CSV id,lon,lat.")],
    out_file: Annotated[Path, typer.Option("--out", help=".geojson oder .gpkg")],
    minutes: Annotated[
        list[float] | None, typer.Option("--minutes", help="Schwellen in Minuten (mehrfach).")
    ] = None,
    mode: ModeOpt = "car",
    max_snap_m: SnapOpt = 500.0,
    buffer_m: Annotated[float, typer.Option("--buffer-m", help="Puffer um Straßen.")] = 50.0,
    cache_dir: CacheOpt = None,
    speed: SpeedOpt = None,
    no_cache: NoCacheOpt = False,
    allow_unsnapped: AllowOpt = False,
) -> None:
    """Isochronen um Einrichtungen (isochrone polygons), GeoJSON oder GeoPackage."""
    from wandel.access import isochrones, snap_frame
    from wandel.workflow import access as wa

    def run() -> None:
        if out_file.suffix.lower() not in GEO_SUFFIXES:
            raise OutputPathError("--out", str(out_file), (".geojson", ".gpkg"))
        fac = wa.read_points(facilities, what="facilities")
        with _progress("Straßennetz lesen") as set_text:
            net = _load(network, mode, _cache(cache_dir, no_cache), set_text, _speeds(speed))
            sf = snap_frame(net, fac, max_distance_m=max_snap_m, what="facilities")
            _check_facilities_snapped(sf.unsnapped, allow_unsnapped, max_snap_m)
            set_text("Isochronen berechnen")
            iso = isochrones(net, sf, minutes or [5.0, 10.0, 15.0], buffer_m=buffer_m)
        table = iso.table.assign(method=iso.method)
        table["source"] = table["source"].astype(str)
        _write_geo(table, out_file)
        out.print(
            f"{len(table)} Isochronen ({iso.method}) -> {out_file}", highlight=False, emoji=False
        )

    run_cli(run)


@access_app.command("coverage")
def access_coverage(
    out_file: OutOpt,
    year: Annotated[int, typer.Option("--year", help="Jahr der Bevölkerung (Zieljahr).")],
    threshold_min: Annotated[
        float, typer.Option("--threshold-min", help="Erreichbar innerhalb so vieler Minuten.")
    ] = 15.0,
    age_groups: Annotated[
        str, typer.Option("--age-groups", help="z. B. 0-5,6-17,75+ (a-b einschließlich).")
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
        Path | None,
        typer.Option(
            "--projection", help="Vorausberechnung (CSV von wandel project) statt Bestand."
        ),
    ] = None,
    mode: ModeOpt = "car",
    max_snap_m: SnapOpt = 500.0,
    cache_dir: CacheOpt = None,
    speed: SpeedOpt = None,
    no_cache: NoCacheOpt = False,
    allow_unsnapped: AllowOpt = False,
    db: DbOption = None,
) -> None:
    """Anteil der Menschen je Altersgruppe, die eine Einrichtung erreichen (coverage by age), CSV.

    Startpunkte brauchen eine Zone (AGS) als id oder Spalte ``zone`` (mit ``weight``: Anteil der
    Zonenbevölkerung). Bevölkerung aus dem Datenbestand oder aus --projection.
    """
    from wandel.access import coverage_by_age
    from wandel.workflow import access as wa

    def run() -> None:
        groups = wa.parse_age_groups(age_groups)
        o, how = _origins(origins, zones, origin_kind, cell_m, db)
        fac = _facilities(facilities, facility_kind, facility_year, amenity, network, db)
        if projection is not None:
            long = wa.read_projection_csv(projection)
            source = str(projection)
        else:
            from wandel.store import Store

            zone_ids = sorted(set((o["zone"] if "zone" in o.columns else o["id"]).astype(str)))
            with Store.open(resolve_db(db), read_only=True) as store:
                long = store.population(zones=zone_ids, years=[year])
            source = f"store {resolve_db(db)}"
        by_zone = wa.population_by_age(long, year, groups, source=source)
        pop = wa.origin_population(o, by_zone)
        res = _nearest_table(
            network,
            o,
            fac,
            mode,
            max_snap_m,
            _cache(cache_dir, no_cache),
            allow_unsnapped,
            cutoff_min=threshold_min,
            speeds=_speeds(speed),
        )
        tt = res.table["travel_time_min"]
        tt.index = tt.index.astype(str)
        cov = coverage_by_age(tt, pop, threshold_min, method=res.method)
        frame = cov.table.reset_index()
        frame.insert(1, "year", year)
        frame.insert(2, "threshold_min", threshold_min)
        frame["method"] = res.method + (f"; origins: {how}" if how else "")
        _write_csv(frame, out_file)
        table = Table(title=f"Erreichbar in {threshold_min:g} min, {year}")
        for col in ("Altersgruppe", "Einwohner", "erreicht", "Anteil", "ohne Fahrzeit"):
            table.add_column(col, justify="right")
        for _, r in frame.iterrows():
            table.add_row(
                str(r["age_group"]),
                f"{r['population']:,.0f}".replace(",", "."),
                f"{r['covered']:,.0f}".replace(",", "."),
                f"{100 * r['share']:.1f} %",
                f"{r['unrouted']:,.0f}".replace(",", "."),
            )
        out.print(table)
        out.print(f"{res.method} -> {out_file}", highlight=False, emoji=False, soft_wrap=True)

    run_cli(run)


# ---------------------------------------------------------------------------------------------
# wandel plan pmedian | mclp | lscp | cooperate
# ---------------------------------------------------------------------------------------------

MatrixOpt = Annotated[
    Path, typer.Option("--matrix", help="Kostenmatrix origin,destination,cost (CSV).")
]
DemandOpt = Annotated[Path | None, typer.Option("--demand", help="Nachfrage id,demand (CSV).")]
ProjectionOpt = Annotated[
    Path | None,
    typer.Option(
        "--projection",
        help="Nachfrage aus einer Vorausberechnung (CSV von 'wandel project'), statt --demand.",
    ),
]
YearOpt = Annotated[
    int | None, typer.Option("--year", help="Jahr der Nachfrage (mit --projection).")
]
AgesOpt = Annotated[
    str, typer.Option("--ages", help="Altersgruppen der Nachfrage, z. B. 75+ oder 6-9.")
]
POpt = Annotated[int | None, typer.Option("--p", help="Zahl der Standorte.")]
ThresholdOpt = Annotated[
    float | None, typer.Option("--threshold", help="Schwelle (gleiche Einheit wie cost).")
]
FixedOpt = Annotated[
    list[str] | None, typer.Option("--fixed", help="Standort, der bleiben muss (mehrfach).")
]
ExistingOpt = Annotated[
    list[str] | None,
    typer.Option("--existing", help="Bestehender Standort, darf schließen (mehrfach)."),
]
CapacityOpt = Annotated[
    Path | None, typer.Option("--capacity", help="Kapazitäten id,capacity (CSV).")
]
SolverOpt = Annotated[str, typer.Option("--solver", help="highs (exakt) oder heuristic.")]
TimeLimitOpt = Annotated[
    float | None, typer.Option("--time-limit-s", help="Zeitlimit des exakten Lösers.")
]
MissingOpt = Annotated[
    str,
    typer.Option(
        "--missing", help="error: fehlende Paare sind ein Fehler; unreachable: unerreichbar."
    ),
]


def _read_demand(
    demand: Path | None, projection: Path | None, year: int | None, ages: str, origins: object
) -> object:
    """The demand from ``--demand`` or from ``--projection``/``--year``/``--ages``."""
    from wandel.planning import ModelInputError
    from wandel.workflow import plan as wp

    if (demand is None) == (projection is None):
        raise ModelInputError("give either --demand or --projection (with --year), not both")
    if demand is not None:
        return wp.read_demand(demand, origins)  # type: ignore[arg-type]
    if year is None or projection is None:
        raise ModelInputError("--projection needs --year (the year of the demand)")
    return wp.demand_from_projection(projection, year, ages, origins)  # type: ignore[arg-type]


def _plan(
    model: str,
    matrix: Path,
    demand: Path | None,
    out_file: Path,
    p: int | None,
    threshold: float | None,
    fixed: list[str] | None,
    existing: list[str] | None,
    capacity: Path | None,
    solver: str,
    time_limit_s: float | None,
    missing: str,
    projection: Path | None = None,
    year: int | None = None,
    ages: str = "0+",
) -> None:
    from wandel.planning import solve
    from wandel.workflow import plan as wp

    def run() -> None:
        slv = wp.make_solver(solver, time_limit_s)
        m = wp.read_cost_matrix(matrix, missing=missing)  # type: ignore[arg-type]
        if m.n_missing:
            err.print(
                f"[yellow]{m.n_missing} fehlende Paare als unerreichbar behandelt[/]",
                highlight=False,
                emoji=False,
            )
        d = cast(wp.Demand, _read_demand(demand, projection, year, ages, m.origins))
        cap = None if capacity is None else wp.read_capacity(capacity, m.destinations)
        lm = wp.build_model(
            model,  # type: ignore[arg-type]
            m,
            d.values,
            p=p,
            threshold=threshold,
            fixed=fixed or (),
            existing=existing or (),
            capacity=cap,
        )
        with _progress("Modell lösen"):
            res = solve(lm, slv)
        _write_csv(wp.assignment_frame(res), out_file)
        table = Table(title=f"Standortplanung ({res.kind})")
        table.add_column("Kennzahl")
        table.add_column("Wert", overflow="fold")
        for k, v in wp.summary_rows(res):
            table.add_row(k, v)
        out.print(table)
        out.print(f"Zuordnung -> {out_file}", highlight=False, emoji=False)

    run_cli(run)


def _plan_command(model: str, doc: str) -> Callable[..., None]:
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
    ) -> None:
        _plan(
            model,
            matrix,
            demand,
            out_file,
            p,
            threshold,
            fixed,
            existing,
            capacity,
            solver,
            time_limit_s,
            missing,
            projection,
            year,
            ages,
        )

    command.__doc__ = doc
    return command


plan_app.command("pmedian")(
    _plan_command(
        "pmedian",
        "p-Median: p Standorte mit der kleinsten gewichteten Summe der Kosten (one row per demand "
        "point: demand_id, facility_id, cost).",
    )
)
plan_app.command("mclp")(
    _plan_command(
        "mclp",
        "Maximale Abdeckung: p Standorte, die die meiste Nachfrage innerhalb --threshold erreichen.",
    )
)
plan_app.command("lscp")(
    _plan_command(
        "lscp",
        "Mengenüberdeckung: die wenigsten Standorte, sodass alle innerhalb --threshold versorgt sind.",
    )
)


@plan_app.command("cooperate")
def plan_cooperate(
    matrix: MatrixOpt,
    candidates: Annotated[
        Path, typer.Option("--candidates", help="Standorte id,town (oder id,zone mit --towns).")
    ],
    out_file: OutOpt,
    model: Annotated[str, typer.Option("--model", help="pmedian|mclp|lscp")] = "pmedian",
    p: Annotated[
        int | None, typer.Option("--p", help="Standorte je Stadt (gemeinsam: die Summe).")
    ] = None,
    joint_p: Annotated[
        int | None, typer.Option("--joint-p", help="Standorte des gemeinsamen Plans.")
    ] = None,
    threshold: ThresholdOpt = None,
    towns: Annotated[
        Path | None,
        typer.Option("--towns", help="Zuordnung zone,town (AGS oder AGS-Präfix -> Stadt)."),
    ] = None,
    fixed: FixedOpt = None,
    existing: ExistingOpt = None,
    fixed_cost: Annotated[
        float, typer.Option("--fixed-cost", help="Kosten je Standort (z. B. EUR/Jahr).")
    ] = 0.0,
    unit_cost: Annotated[
        float, typer.Option("--unit-cost", help="Kosten je Einheit gewichteter Fahrzeit.")
    ] = 1.0,
    solver: SolverOpt = "highs",
    time_limit_s: TimeLimitOpt = None,
    missing: MissingOpt = "error",
    demand: DemandOpt = None,
    projection: ProjectionOpt = None,
    year: YearOpt = None,
    ages: AgesOpt = "0+",
) -> None:
    """Kooperationsgewinn: jede Stadt allein gegen gemeinsame Planung (alone/joint/difference), CSV."""
    from wandel.workflow import plan as wp

    def run() -> None:
        slv = wp.make_solver(solver, time_limit_s)
        m = wp.read_cost_matrix(matrix, missing=missing)  # type: ignore[arg-type]
        d = cast(wp.Demand, _read_demand(demand, projection, year, ages, m.origins))
        mapping = None if towns is None else wp.read_town_mapping(towns)
        c_town = wp.read_candidate_towns(candidates, m.destinations, mapping)
        d_town = None
        if d.town is None and mapping is not None:
            d_town = np.asarray(wp.town_of(m.origins, mapping), dtype=object)
        with _progress("Allein und gemeinsam lösen"):
            res = wp.cooperate(
                model,  # type: ignore[arg-type]
                m,
                d,
                c_town,
                demand_town=d_town,
                p=p,
                joint_p=joint_p,
                threshold=threshold,
                fixed=fixed or (),
                existing=existing or (),
                fixed_cost_per_facility=fixed_cost,
                cost_per_unit_travel=unit_cost,
                solver=slv,
            )
        frame = res.table.reset_index(names="plan")
        _write_csv(frame, out_file)
        _print_cooperation(res)
        out.print(f"Vergleich -> {out_file}", highlight=False, emoji=False)

    run_cli(run)


def _print_cooperation(res: Any) -> None:
    labels = {
        "facilities": "Standorte",
        "mean_cost": "mittlere Kosten",
        "p95_cost": "95. Perzentil",
        "demand_beyond": "Nachfrage über Schwelle",
        "travel_cost": "Wegekosten",
        "fixed_cost": "Fixkosten",
        "total_cost": "Gesamtkosten",
    }
    table = Table(title="Kooperationsgewinn: allein / gemeinsam / Differenz")
    table.add_column("Kennzahl")
    for col in ("allein", "gemeinsam", "Differenz"):
        table.add_column(col, justify="right")
    for key, label in labels.items():
        vals = [res.table.loc[r, key] for r in ("alone", "joint", "difference")]
        table.add_row(label, *("" if pd.isna(v) else f"{v:,.4g}" for v in vals))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``network``, ``access`` and ``plan`` command groups to the Wandel CLI."""
    app.add_typer(network_app, name="network")
    app.add_typer(access_app, name="access")
    app.add_typer(plan_app, name="plan")

"""Accessibility workflow: load origins and destinations, route, count people, save.

A thin layer between files/the store and :mod:`wandel.access`, used by ``wandel access ...``, the
web app and the demo. The runs (:func:`nearest`, :func:`matrix`, :func:`isochrone_polygons`,
:func:`coverage`) take small frozen requests, load what they need (:mod:`wandel.workflow.points`),
call the model once, write the output atomically (:mod:`wandel.workflow.outputs`) and return what
a caller prints: the result, the method label and the points left unsnapped. They never print;
progress goes to an optional ``steps`` callback that receives catalogue keys (``step.*``).

Without a network extract a run uses the labelled straight-line fallback
(:func:`wandel.access.nearest_facility_crowfly`) and says so in its result (``fallback``).

Coverage
--------
:func:`population_by_age` sums a canonical long population table (the store, a projection CSV as
written by ``wandel project``, or a projection's long table in memory: :class:`PopulationSource`)
into requested age groups for a year; :func:`origin_population` spreads it onto the origins by
their ``zone`` and ``weight``; :func:`wandel.access.coverage_by_age` does the counting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from wandel.ages import sum_age_groups
from wandel.errors import (
    InputFormatError,
    MissingColumnError,
    MissingDataError,
    OptionError,
    SnapError,
    UnknownChoiceError,
)
from wandel.settings import get_settings
from wandel.sources.rdb_tidy import read_records
from wandel.tables import SEXES
from wandel.workflow import points as wp
from wandel.workflow.outputs import (
    CSV_SUFFIXES,
    GEO_SUFFIXES,
    check_suffix,
    write_csv,
    write_geo,
    write_table,
)

__all__ = [
    "ORIGIN_KINDS",
    "AgeGroup",
    "BuiltNetwork",
    "CoverageRun",
    "CoverageSpec",
    "FacilitySpec",
    "IsochroneRun",
    "MatrixRun",
    "NearestRun",
    "NetworkSpec",
    "OriginSpec",
    "PopulationSource",
    "Snapped",
    "Steps",
    "build_networks",
    "coverage",
    "isochrone_polygons",
    "load_facilities",
    "load_origins",
    "matrix",
    "nearest",
    "network_cache",
    "origin_population",
    "parse_age_groups",
    "parse_numbers",
    "parse_speeds",
    "population_by_age",
    "quiet",
    "read_projection_csv",
]

ORIGIN_KINDS: tuple[str, ...] = ("representative", "centroid", "grid")


class Steps(Protocol):
    """Progress of a run: a catalogue key (``step.*``) and its fields."""

    def __call__(self, key: str, /, **fields: object) -> None: ...


def quiet(key: str, /, **fields: object) -> None:
    """The default :class:`Steps`: say nothing."""


# ---------------------------------------------------------------------------------------------
# requests
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OriginSpec:
    """Where the origins come from: a CSV ``id,lon,lat`` or the zone polygons in the store.

    ``zones`` are AGS prefixes (a Kreis gives its Gemeinden); ``kind`` is ``representative``,
    ``centroid`` (one point per zone) or ``grid`` (cells of ``cell_m`` metres).
    """

    file: Path | None = None
    zones: tuple[str, ...] = ()
    kind: str = "representative"
    cell_m: float = 1000.0


@dataclass(frozen=True)
class FacilitySpec:
    """Where the destinations come from: exactly one of a facility file, a kind of facility in the
    store (of ``year``, default its latest), or OSM ``amenity`` values of the network extract."""

    file: Path | None = None
    kind: str | None = None
    year: int | None = None
    amenities: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkSpec:
    """The road network: an OSM extract (``None``: the straight-line fallback), the travel mode,
    the largest snap distance (R5's 1.6 km, :data:`wandel.access.DEFAULT_MAX_SNAP_M`), speed
    overrides per road class, the cache folder (``None``: no cache), and the speed of the access
    legs between the points and the network (walking, R5's 1.3 m/s = 4.68 km/h; ``inf``: legs
    cost nothing)."""

    extract: Path | None = None
    mode: str = "car"
    max_snap_m: float = 1600.0
    speeds_kph: Mapping[str, float] | None = None
    cache_dir: Path | None = None
    allow_unsnapped: bool = False
    access_speed_kph: float = 4.68

    def leg_speed_kph(self) -> float:
        """The access-leg speed, checked (an error naming ``--access-speed-kph`` if not > 0)."""
        from wandel.access import check_access_speed

        return check_access_speed(self.access_speed_kph, "--access-speed-kph")


def network_cache(cache_dir: Path | None = None, *, enabled: bool = True) -> Path | None:
    """The folder for cached networks: ``cache_dir`` if given, else ``networks`` in the
    ``cache_dir`` setting (``WANDEL_CACHE_DIR``); ``None`` when caching is off."""
    if not enabled:
        return None
    return cache_dir if cache_dir is not None else get_settings().cache_dir / "networks"


_SPEED = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([0-9]+(?:[.,][0-9]*)?)\s*$")


def parse_speeds(items: Sequence[str]) -> dict[str, float] | None:
    """``["residential=30", "track=0"]`` -> ``{"residential": 30.0, "track": 0.0}``.

    >>> parse_speeds(["residential=30", "track=0,5"])
    {'residential': 30.0, 'track': 0.5}
    """
    if not items:
        return None
    table: dict[str, float] = {}
    for item in items:
        m = _SPEED.match(item)
        if m is None:
            raise OptionError("@error.speed", option="--speed", value=item)
        table[m.group(1)] = float(m.group(2).replace(",", "."))
    return table


def parse_numbers(option: str, items: Sequence[str]) -> list[float]:
    """Numbers of a list option (``--minutes 5 10 15``); a word that is no number is an error.

    >>> parse_numbers("--minutes", ["5", "7.5"])
    [5.0, 7.5]
    """
    values = []
    for item in items:
        try:
            values.append(float(item))
        except ValueError:
            raise OptionError("@error.not_a_number", option=option, value=item) from None
        if not np.isfinite(values[-1]):
            raise OptionError("@error.not_a_number", option=option, value=item)
    return values


def _mode(mode: str) -> Any:
    from wandel.access import MODES

    if mode not in MODES:
        raise UnknownChoiceError("--mode", mode, MODES)
    return mode


# ---------------------------------------------------------------------------------------------
# loading origins and destinations
# ---------------------------------------------------------------------------------------------


def load_origins(spec: OriginSpec, db: Path) -> tuple[pd.DataFrame, str]:
    """The origin points and how they were made (``""`` for a file).

    Raises
    ------
    OptionError
        Neither or both of a file and zones.
    """
    if (spec.file is None) == (not spec.zones):
        raise OptionError("@error.either", first="--origins", second="--zones")
    if spec.file is not None:
        return wp.read_points(spec.file, what="origins"), ""
    if spec.kind not in ORIGIN_KINDS:
        raise UnknownChoiceError("--origin-kind", spec.kind, ORIGIN_KINDS)
    if not spec.cell_m > 0:
        raise OptionError("@error.positive", option="--cell-m", value=spec.cell_m)
    from wandel.store import Store

    with Store.open(db, read_only=True) as store:
        b = wp.boundaries_frame(store, spec.zones)
    if spec.kind == "grid":
        return wp.grid_origins(b, spec.cell_m), wp.GRID_METHOD
    return wp.zone_points(b, how=spec.kind), f"zone {spec.kind} points"  # type: ignore[arg-type]


def load_facilities(spec: FacilitySpec, db: Path, extract: Path | None) -> pd.DataFrame:
    """The destination points (``id, lon, lat``, ...) of ``spec``.

    Raises
    ------
    OptionError
        Not exactly one source given; ``--amenity`` without a network extract.
    MissingDataError
        No amenity of those values in the extract, no facility of the kind in the store.
    """
    given = sum((spec.file is not None, spec.kind is not None, bool(spec.amenities)))
    if given != 1:
        raise OptionError(
            "@error.exactly_one", options=["--facilities", "--facility-kind", "--amenity"]
        )
    if spec.file is not None:
        return wp.destinations_from_file(spec.file)
    if spec.kind is not None:
        from wandel.store import Store

        with Store.open(db, read_only=True) as store:
            return wp.destinations_from_store(store, spec.kind, spec.year)
    if extract is None:
        raise OptionError("@error.needs", option="--amenity", needed="--network")
    frame = wp.osm_amenities(extract, spec.amenities)
    if frame.empty:
        raise MissingDataError(
            "@error.no_amenity", amenities="|".join(spec.amenities), file=str(extract)
        )
    return frame


# ---------------------------------------------------------------------------------------------
# population by age group for a year
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeGroup:
    """Ages ``start <= age < end`` (``end=None``: open); ``label`` as the user wrote it."""

    label: str
    start: int
    end: int | None


_GROUP = re.compile(r"^(\d+)\s*(?:-\s*(\d+)|(\+))$")


def parse_age_groups(text: str) -> list[AgeGroup]:
    """Parse ``"0-5,6-17,75+"``: ``a-b`` is ages a to b *inclusive*, ``a+`` is a and older.

    >>> [(g.label, g.start, g.end) for g in parse_age_groups("0-5, 75+")]
    [('0-5', 0, 6), ('75+', 75, None)]
    """
    groups = []
    for part in (p.strip() for p in text.split(",")):
        m = _GROUP.match(part)
        if not m:
            raise InputFormatError(
                "--age-groups",
                value=part,
                reason="bad age group",
                expected="groups like 0-5,6-17,75+ (a-b inclusive, a+ open)",
            )
        start = int(m.group(1))
        end = None if m.group(3) else int(m.group(2)) + 1
        if end is not None and end <= start:
            raise InputFormatError(
                "--age-groups", value=part, reason="empty age group", expected="a-b with a <= b"
            )
        groups.append(AgeGroup(part, start, end))
    if not groups:
        raise InputFormatError("--age-groups", value=text, reason="no age group")
    return groups


def population_by_age(
    population: pd.DataFrame, year: int, groups: Sequence[AgeGroup], *, source: str = "population"
) -> pd.DataFrame:
    """People by zone (rows) and age group (columns) in ``year``, summed over sex.

    ``population`` is a canonical long table (``zone, year, sex, age_start, age_end, value``). Each
    requested group must be a union of the table's age groups (``75+`` from ``75-80, 80-85, ...,
    90+``); a group that cuts through a published group is an error, never a guess.
    """
    need = ("zone", "year", "age_start", "age_end", "value")
    for col in need:
        if col not in population.columns:
            raise MissingColumnError(
                source, column=col, reason="missing column", expected=",".join(need)
            )
    sel = population[population["year"] == int(year)]
    if sel.empty:
        years = sorted(pd.unique(population["year"]).tolist())
        raise MissingDataError(
            "@error.no_population_year", source=source, year=year, years=[str(y) for y in years]
        )
    if "sex" in sel.columns:
        sel = sel[sel["sex"].isin(SEXES)] if sel["sex"].isin(SEXES).any() else sel
    # a zone with an all-ages total beside its age groups (the store keeps both for Gemeinden
    # with estimated structures): the total is not an age group, drop it
    total = (sel["age_start"] == 0) & sel["age_end"].isna()
    detailed = sel.loc[~total, "zone"].unique()
    sel = sel[~(total & sel["zone"].isin(detailed))]
    sel = sel.assign(
        zone=sel["zone"].astype(str), value=pd.to_numeric(sel["value"], errors="coerce")
    )
    long = sum_age_groups(
        sel, [(g.start, g.end) for g in groups], by=["zone"], context=f"{source}, {year}"
    )
    frame = long.pivot(index="zone", columns="group", values="value").fillna(0.0)
    frame.columns = [groups[int(k)].label for k in frame.columns]
    frame = frame.loc[:, ~frame.columns.duplicated()]
    frame.index.name = "zone"
    return frame


def read_projection_csv(path: str | Path) -> pd.DataFrame:
    """Read a projection CSV (``zone,year,sex,age_start,age_end,value`` as ``wandel project``
    writes it; extra columns such as ``q10`` are ignored) into a long table."""
    rec = read_records(path)
    need = ("zone", "year", "sex", "age_start", "age_end", "value")
    for col in need:
        if col not in rec.header:
            raise MissingColumnError(
                rec.file, line=1, column=col, reason="missing column", expected=",".join(need)
            )
    frame = pd.DataFrame(list(rec.rows), columns=list(rec.header), dtype=object)[list(need)]
    for col in ("year", "age_start", "age_end", "value"):
        raw = frame[col].str.strip()
        v = pd.to_numeric(raw, errors="coerce")
        bad = v.isna() & ~((col == "age_end") & (raw == ""))
        bad |= v < 0
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFormatError(
                rec.file,
                line=rec.lines[k],
                column=col,
                value=frame[col].iloc[k],
                reason="not a non-negative number",
                expected="a number (age_end may be empty for the open group)",
            )
        frame[col] = v
    frame["zone"] = frame["zone"].str.strip()
    return frame


def origin_population(origins: pd.DataFrame, by_zone: pd.DataFrame) -> pd.DataFrame:
    """People per origin and age group: ``weight × population of the origin's zone``.

    Origins without a ``zone`` column stand for the zone named by their ``id`` (weight 1).

    Raises
    ------
    MissingDataError
        An origin's zone has no population (listed), so coverage would silently leave people out.
    """
    zone = origins["zone"] if "zone" in origins.columns else origins["id"]
    zone = zone.astype(str)
    weight = (
        origins["weight"].to_numpy(np.float64)
        if "weight" in origins.columns
        else np.ones(len(origins))
    )
    missing = sorted(set(zone) - set(by_zone.index.astype(str)))
    if missing:
        raise MissingDataError(
            "@error.origins_without_population", n=len(missing), zones=missing[:10]
        )
    values = by_zone.reindex(zone.to_numpy()).to_numpy(np.float64) * weight[:, None]
    return pd.DataFrame(values, index=origins["id"].astype(str).to_numpy(), columns=by_zone.columns)


# ---------------------------------------------------------------------------------------------
# runs
# ---------------------------------------------------------------------------------------------

_NO_POINTS = pd.DataFrame({"id": pd.Series(dtype=object), "distance_m": pd.Series(dtype=float)})


@dataclass(frozen=True, eq=False)
class Snapped:
    """The points left off the network by a run (``id, distance_m``; ``nan``: no coordinates)."""

    origins: pd.DataFrame = field(default_factory=lambda: _NO_POINTS)
    facilities: pd.DataFrame = field(default_factory=lambda: _NO_POINTS)


def _network(spec: NetworkSpec, steps: Steps) -> Any:
    from wandel.access import load_network

    if spec.extract is None:
        raise OptionError("@error.required", option="--network")
    steps("step.read_network", name=spec.extract.name, mode=spec.mode)
    return load_network(
        spec.extract, _mode(spec.mode), speeds_kph=spec.speeds_kph, cache_dir=spec.cache_dir
    )


@dataclass(frozen=True, eq=False)
class BuiltNetwork:
    """A road network as built (and cached) for one mode: its nodes and edges."""

    mode: str
    n_nodes: int
    n_edges: int


def build_networks(
    extract: Path,
    modes: Sequence[str],
    *,
    speeds_kph: Mapping[str, float] | None = None,
    cache_dir: Path | None = None,
    steps: Steps = quiet,
) -> list[BuiltNetwork]:
    """Build the road network of ``extract`` for every mode (all of them if ``modes`` is empty)
    and store it in ``cache_dir``, so that later runs read it from there."""
    from wandel.access import MODES

    built = []
    for mode in modes or MODES:
        spec = NetworkSpec(extract, mode, speeds_kph=speeds_kph, cache_dir=cache_dir)
        net = _network(spec, steps)
        built.append(BuiltNetwork(mode, int(net.n_nodes), int(net.n_edges)))
    return built


def _unsnapped_text(frame: pd.DataFrame) -> list[str]:
    return [
        f"{i} ({d:,.0f} m)" if np.isfinite(d) else str(i)
        for i, d in zip(frame["id"], frame["distance_m"], strict=True)
    ]


def _snap_facilities(net: Any, fac: pd.DataFrame, spec: NetworkSpec) -> Any:
    """Facilities on the network; those too far are an error unless ``allow_unsnapped``."""
    from wandel.access import snap_frame

    f = snap_frame(net, fac, max_distance_m=spec.max_snap_m, what="facilities")
    if len(f.unsnapped) and not spec.allow_unsnapped:
        raise SnapError(
            "@error.facilities_off_network",
            n=len(f.unsnapped),
            max_snap_m=f"{spec.max_snap_m:g}",
            points=_unsnapped_text(f.unsnapped),
        )
    if not f.snapped.any():
        raise SnapError("@error.no_facility_on_network")
    return f


def _nearest_result(
    o: pd.DataFrame,
    fac: pd.DataFrame,
    spec: NetworkSpec,
    cutoff_min: float | None,
    steps: Steps,
) -> tuple[Any, Snapped]:
    from wandel.access import nearest_facility, nearest_facility_crowfly, snap_frame

    if spec.extract is None:
        return nearest_facility_crowfly(o, fac, mode=_mode(spec.mode)), Snapped()
    spec.leg_speed_kph()
    net = _network(spec, steps)
    steps("step.snap")
    so = snap_frame(net, o, max_distance_m=spec.max_snap_m, what="origins")
    sf = _snap_facilities(net, fac, spec)
    steps("step.travel_times")
    res = nearest_facility(
        net, so, sf, cutoff_min=cutoff_min, access_speed_kph=spec.leg_speed_kph()
    )
    return res, Snapped(so.unsnapped, sf.unsnapped)


@dataclass(frozen=True, eq=False)
class NearestRun:
    """The nearest facility of every origin, as written to ``out``.

    ``table``: ``origin, facility, travel_time_min, snap_origin_m, snap_facility_m,
    leg_origin_min, leg_facility_min, status, method`` (the travel time includes both legs); ``fallback``: no network (straight line × detour); ``left_off``: unsnapped points.
    """

    table: pd.DataFrame
    method: str
    fallback: bool
    left_off: Snapped
    out: Path


def nearest(
    origins: OriginSpec,
    facilities: FacilitySpec,
    network: NetworkSpec,
    db: Path,
    out: Path,
    *,
    cutoff_min: float | None = None,
    steps: Steps = quiet,
) -> NearestRun:
    """Travel time from every origin to its nearest facility; CSV, GeoPackage or GeoJSON points."""
    check_suffix("--out", out, (*CSV_SUFFIXES, *GEO_SUFFIXES))
    o, _ = load_origins(origins, db)
    fac = load_facilities(facilities, db, network.extract)
    res, left = _nearest_result(o, fac, network, cutoff_min, steps)
    frame = res.table.reset_index()
    frame["method"] = res.method
    write_table(frame, out, o, "origin")
    return NearestRun(frame, res.method, network.extract is None, left, out)


@dataclass(frozen=True, eq=False)
class MatrixRun:
    """A travel-time matrix as written to ``out`` (``origin, destination, travel_time_min``, and
    ``snap_origin_m, snap_destination_m`` on a network; only the pairs reached within the
    cut-off)."""

    table: pd.DataFrame
    method: str
    fallback: bool
    left_off: Snapped
    out: Path


def matrix(
    origins: OriginSpec,
    facilities: FacilitySpec,
    network: NetworkSpec,
    db: Path,
    out: Path,
    *,
    cutoff_min: float | None = None,
    workers: int = 0,
    steps: Steps = quiet,
) -> MatrixRun:
    """Travel times of all origin-facility pairs (``workers`` parallel searches; 0: all cores)."""
    from wandel.access import snap_frame, travel_time_matrix, travel_time_matrix_crowfly

    check_suffix("--out", out, CSV_SUFFIXES)
    if workers < 0:
        raise OptionError("@error.not_negative", option="--workers", value=workers)
    o, _ = load_origins(origins, db)
    fac = load_facilities(facilities, db, network.extract)
    left = Snapped()
    if network.extract is None:
        res = travel_time_matrix_crowfly(o, fac, mode=_mode(network.mode))
        if cutoff_min is not None:
            t = res.travel_time_min
            t[t > cutoff_min] = np.inf
    else:
        speed = network.leg_speed_kph()
        net = _network(network, steps)
        so = snap_frame(net, o, max_distance_m=network.max_snap_m, what="origins")
        sf = _snap_facilities(net, fac, network)
        steps("step.matrix", n_origins=len(o), n_facilities=len(fac))
        n = workers or (os.cpu_count() or 1)
        res = travel_time_matrix(
            net, so, sf, cutoff_min=cutoff_min, workers=n, access_speed_kph=speed
        )
        left = Snapped(so.unsnapped, sf.unsnapped)
    frame = res.to_frame(reached_only=True)
    if network.extract is None:
        frame["method"] = res.method
    write_csv(frame, out)
    return MatrixRun(frame, res.method, network.extract is None, left, out)


@dataclass(frozen=True, eq=False)
class IsochroneRun:
    """Isochrone polygons (``source, threshold_min, geometry, method``) as written to ``out``."""

    table: Any
    method: str
    left_off: Snapped
    out: Path


def isochrone_polygons(
    facilities: Path,
    network: NetworkSpec,
    out: Path,
    *,
    minutes: Sequence[float] = (5.0, 10.0, 15.0),
    buffer_m: float = 50.0,
    steps: Steps = quiet,
) -> IsochroneRun:
    """Isochrones around the facilities of a CSV ``id,lon,lat``; GeoJSON or GeoPackage."""
    from wandel.access import isochrones

    check_suffix("--out", out, tuple(GEO_SUFFIXES))
    bad = [m for m in minutes if not m > 0]
    if bad:
        raise OptionError("@error.positive", option="--minutes", value=bad[0])
    if buffer_m < 0:
        raise OptionError("@error.not_negative", option="--buffer-m", value=buffer_m)
    speed = network.leg_speed_kph()
    fac = wp.read_points(facilities, what="facilities")
    net = _network(network, steps)
    sf = _snap_facilities(net, fac, network)
    steps("step.isochrones")
    iso = isochrones(net, sf, list(minutes), buffer_m=buffer_m, access_speed_kph=speed)
    table = iso.table.assign(method=iso.method)
    table["source"] = table["source"].astype(str)
    write_geo(table, out)
    return IsochroneRun(table, iso.method, Snapped(facilities=sf.unsnapped), out)


@dataclass(frozen=True, eq=False)
class PopulationSource:
    """Where people by age come from: a projection CSV the user gives, a canonical long table in
    memory (a projection's result, ``zone, year, sex, age_start, age_end, value``; it wins over a
    file), or, with neither, the population in the store."""

    projection_csv: Path | None = None
    table: pd.DataFrame | None = None

    def by_age(
        self, db: Path, zones: Sequence[str], year: int, groups: Sequence[AgeGroup]
    ) -> pd.DataFrame:
        """People by zone and age group in ``year`` (:func:`population_by_age`)."""
        if self.table is not None:
            return population_by_age(self.table, year, groups, source="projection")
        if self.projection_csv is not None:
            long = read_projection_csv(self.projection_csv)
            return population_by_age(long, year, groups, source=str(self.projection_csv))
        from wandel.store import Store

        with Store.open(db, read_only=True) as store:
            long = store.population(zones=list(zones), years=[year])
        return population_by_age(long, year, groups, source=f"store {db}")

    def label(self, db: Path) -> str:
        if self.projection_csv is not None:
            return str(self.projection_csv)
        return "projection" if self.table is not None else f"store {db}"


@dataclass(frozen=True, eq=False)
class CoverageSpec:
    """What a coverage run counts: people of ``age_groups`` (``"0-5,6-17,75+"``) in ``year`` who
    reach a facility within ``threshold_min``, with people from ``population``."""

    year: int
    threshold_min: float = 15.0
    age_groups: str = "0-5,6-17,18-64,65-74,75+"
    population: PopulationSource = field(default_factory=PopulationSource)


@dataclass(frozen=True, eq=False)
class CoverageRun:
    """Coverage by age group as written to ``out`` (``age_group, year, threshold_min,
    population, covered, share, unrouted, method``)."""

    table: pd.DataFrame
    method: str
    fallback: bool
    left_off: Snapped
    out: Path


def coverage(
    origins: OriginSpec,
    facilities: FacilitySpec,
    network: NetworkSpec,
    db: Path,
    out: Path,
    spec: CoverageSpec,
    *,
    steps: Steps = quiet,
) -> CoverageRun:
    """Share of the people of each age group who reach a facility within the threshold.

    Origins need a zone (AGS) as id or a column ``zone`` (with ``weight``: their share of the
    zone's people).
    """
    from wandel.access import coverage_by_age

    check_suffix("--out", out, CSV_SUFFIXES)
    if not spec.threshold_min > 0:
        raise OptionError("@error.positive", option="--threshold-min", value=spec.threshold_min)
    groups = parse_age_groups(spec.age_groups)
    o, how = load_origins(origins, db)
    fac = load_facilities(facilities, db, network.extract)
    zones = sorted(set((o["zone"] if "zone" in o.columns else o["id"]).astype(str)))
    by_zone = spec.population.by_age(db, zones, spec.year, groups)
    pop = origin_population(o, by_zone)
    res, left = _nearest_result(o, fac, network, spec.threshold_min, steps)
    tt = res.table["travel_time_min"]
    tt.index = tt.index.astype(str)
    cov = coverage_by_age(tt, pop, spec.threshold_min, method=res.method)
    frame = cov.table.reset_index()
    frame.insert(1, "year", spec.year)
    frame.insert(2, "threshold_min", spec.threshold_min)
    frame["method"] = res.method + (f"; origins: {how}" if how else "")
    write_csv(frame, out)
    return CoverageRun(frame, res.method, network.extract is None, left, out)

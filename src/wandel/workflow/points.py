"""Origins and destinations of accessibility runs: point tables from files, the store and OSM.

Every point table here has the CLI layout ``id, lon, lat`` (WGS84 degrees) plus, for origins,
``zone`` and ``weight`` (the share of the zone's population the point stands for).

Origins
-------
* :func:`read_points`: a CSV ``id,lon,lat`` (optional ``zone``, ``weight``).
* :func:`zone_points`: one point per zone polygon (``boundaries`` table, EPSG:25832): the
  *representative point* (always inside the polygon; default) or the centroid (may fall outside a
  crescent-shaped Gemeinde), converted to WGS84 with pyproj (through geopandas). ``weight`` = 1.
* :func:`population_weighted_points`: one point per *parent* zone (e.g. a Kreis) at the
  population-weighted mean of its child zones' points (e.g. its Gemeinden):
  ``x̄ = Σ_g P_g x_g / Σ_g P_g`` in EPSG:25832. Within a Gemeinde only its polygon and total exist
  in official data, so a Gemeinde's own point stays its representative point; finer weighting
  (buildings, census grid) needs data Wandel does not have.
* :func:`grid_origins`: a regular grid of ``cell_m`` squares in EPSG:25832, clipped to the zones;
  each clipped cell gets ``weight = area(cell ∩ zone) / area(zone)``, i.e. the zone's people are
  **spread evenly by area**. This is an approximation (people live in villages, not in forests);
  the method string says so.

Destinations
------------
Facility files through :func:`wandel.sources.facilities.read` (generic ``id,lon,lat`` CSV, GeoJSON,
the G-BA hospital list), facilities of a kind and year from the store, or OSM amenities of an
extract (:func:`osm_amenities`: nodes, and ways at the mean of their nodes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.errors import (
    DuplicateKeyError,
    InputFormatError,
    MissingColumnError,
    MissingDataError,
    OptionError,
    UnknownChoiceError,
)
from wandel.sources.rdb_tidy import read_records

__all__ = [
    "AMENITIES",
    "GRID_METHOD",
    "POINT_KINDS",
    "boundaries_frame",
    "destinations_from_file",
    "destinations_from_store",
    "grid_origins",
    "osm_amenities",
    "population_weighted_points",
    "read_points",
    "zone_points",
]

#: OSM ``amenity`` values offered as destinations (any other value can be asked for too).
AMENITIES: tuple[str, ...] = (
    "hospital",
    "doctors",
    "clinic",
    "dentist",
    "pharmacy",
    "school",
    "kindergarten",
    "nursing_home",
    "social_facility",
    "library",
)

GRID_METHOD = "grid: population spread evenly by area within each zone (approximation)"
"""Label of grid-cell origins."""

_METRIC_CRS = "EPSG:25832"

PointKind = Literal["representative", "centroid"]

POINT_KINDS: tuple[str, ...] = ("representative", "centroid")


# ---------------------------------------------------------------------------------------------
# points from files
# ---------------------------------------------------------------------------------------------


def read_points(
    path: str | Path, *, what: Literal["points", "origins", "facilities"] = "points"
) -> pd.DataFrame:
    """Read ``id,lon,lat`` (WGS84; optional ``zone``, ``weight`` and any other columns).

    Ids are kept as text. Missing or non-numeric coordinates, coordinates outside the WGS84 ranges,
    empty and duplicate ids raise with file, line and column.
    """
    rec = read_records(path)
    for col in ("id", "lon", "lat"):
        if col not in rec.header:
            raise MissingColumnError(
                rec.file, line=1, column=col, reason="missing column", expected="id,lon,lat"
            )
    frame = pd.DataFrame(list(rec.rows), columns=list(rec.header), dtype=object)
    frame = frame.apply(lambda c: c.str.strip())
    lines = np.asarray(rec.lines)
    empty = np.flatnonzero(frame["id"].to_numpy() == "")
    if len(empty):
        raise InputFormatError(
            rec.file, line=int(lines[empty[0]]), column="id", value="", reason="empty id"
        )
    dup = frame["id"].duplicated().to_numpy()
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise DuplicateKeyError(
            rec.file,
            line=int(lines[k]),
            column="id",
            value=frame["id"].iloc[k],
            reason="@error.duplicate_among",
            fields={"what": f"@error.word.{what}"},
            expected="unique ids",
        )
    for col, lim in (("lon", 180.0), ("lat", 90.0)):
        raw = frame[col].str.replace(",", ".", regex=False) if rec.delimiter == ";" else frame[col]
        v = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(v) | (np.abs(v) > lim)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputFormatError(
                rec.file,
                line=int(lines[k]),
                column=col,
                value=frame[col].iloc[k],
                reason="bad coordinate",
                expected="@error.wgs84_range",
                fields={"limit": f"{lim:g}"},
            )
        frame[col] = v
    if "weight" in frame.columns:
        w = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputFormatError(
                rec.file,
                line=int(lines[k]),
                column="weight",
                value=frame["weight"].iloc[k],
                reason="bad weight",
                expected="a non-negative share of the zone's population",
            )
        frame["weight"] = w
    return frame


def destinations_from_file(path: str | Path, *, kind: str | None = None) -> pd.DataFrame:
    """Facilities from a CSV (``id,lon,lat``; the G-BA list) or GeoJSON via the facilities reader.

    Returns ``id, lon, lat, name, kind`` (all years of the file; a multi-year list such as the G-BA
    file keeps its latest year only).
    """
    from wandel.sources.facilities import read

    frame = read(path).tables["facilities"]
    if frame["year"].nunique() > 1:
        frame = frame[frame["year"] == frame["year"].max()]
    if kind is not None:
        frame = frame[frame["kind"] == kind]
    return _facility_points(frame)


def _facility_points(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": frame["facility_id"].astype(str).to_numpy(dtype=object),
            "lon": frame["lon"].to_numpy(dtype=np.float64),
            "lat": frame["lat"].to_numpy(dtype=np.float64),
            "name": frame["name"].to_numpy(dtype=object),
            "kind": frame["kind"].to_numpy(dtype=object),
        }
    ).reset_index(drop=True)


def destinations_from_store(store: Any, kind: str, year: int | None = None) -> pd.DataFrame:
    """Facilities of ``kind`` in ``year`` (default: the latest year of that kind) from the store.

    Only located facilities: sites without a coordinate (e.g. hospitals whose coordinate the
    reader found to be a geocoder's fallback shared with other hospitals) are left out, their ids
    listed in ``attrs["not_located"]`` of the result so that callers can say so.

    Raises
    ------
    MissingDataError
        No facility of that kind (and year) is in the store.
    """
    frame = store.table("facilities", "kind = ?", [kind])
    if frame.empty:
        raise MissingDataError("@error.no_facilities", kind=kind)
    y = int(frame["year"].max()) if year is None else int(year)
    frame = frame[frame["year"] == y]
    if frame.empty:
        years = sorted(store.table("facilities", "kind = ?", [kind])["year"].unique().tolist())
        raise MissingDataError(
            "@error.no_facilities_in_year", kind=kind, year=y, years=[str(v) for v in years]
        )
    located = frame["lon"].notna().to_numpy() & frame["lat"].notna().to_numpy()
    out = _facility_points(frame[located])
    out.attrs["not_located"] = tuple(sorted(frame.loc[~located, "facility_id"].astype(str)))
    return out


def osm_amenities(path: str | Path, amenities: Iterable[str] = AMENITIES) -> pd.DataFrame:
    """OSM objects tagged ``amenity=<one of amenities>`` as points: ``id, lon, lat, amenity, name``.

    Nodes give their location (id ``n<osm id>``); ways give the mean of their distinct node
    locations (id ``w<osm id>``; for a building outline a point near its centre). Relations
    (multipolygons) are not read.

    Raises
    ------
    wandel.errors.InputFormatError
        The file cannot be read as OSM data.
    """
    import osmium

    from wandel.access.osm import _check_suffix

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(2, "OSM extract not found", str(p))
    _check_suffix(p)
    wanted = set(amenities)
    rows: list[tuple[str, float, float, str, str]] = []
    try:
        processor = (
            osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("amenity"))
        )
        for obj in processor:
            value = obj.tags.get("amenity")
            if value not in wanted:
                continue
            name = str(obj.tags.get("name") or "")
            if isinstance(obj, osmium.osm.Node):
                if obj.location.valid():
                    rows.append((f"n{obj.id}", obj.location.lon, obj.location.lat, value, name))
            elif isinstance(obj, osmium.osm.Way):
                pts = {
                    (n.ref, n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()
                }
                if pts:
                    arr = np.array([(x, y) for _, x, y in pts])
                    lon, lat = arr.mean(axis=0)
                    rows.append((f"w{obj.id}", float(lon), float(lat), value, name))
    except (RuntimeError, ValueError, OSError) as exc:
        raise InputFormatError(
            str(p),
            reason=f"cannot read as OpenStreetMap data ({exc})",
            expected="a complete OSM XML, gzip-compressed XML or PBF extract",
        ) from None
    return pd.DataFrame(rows, columns=["id", "lon", "lat", "amenity", "name"])


# ---------------------------------------------------------------------------------------------
# origins from zone polygons
# ---------------------------------------------------------------------------------------------


def boundaries_frame(
    store: Any, zones: Sequence[str] | None = None, level: str = "gemeinde"
) -> Any:
    """Zone polygons of ``level`` from the store as a GeoDataFrame in EPSG:25832 (``zone``,
    ``geometry``), the latest territorial status; ``zones`` filters by AGS prefix (e.g. a Kreis).

    Raises
    ------
    MissingDataError
        No boundaries of that level (and prefix) in the store.
    """
    import geopandas as gpd
    import shapely

    frame = store.table("boundaries", "level = ?", [level])
    if frame.empty:
        raise MissingDataError("@error.no_boundaries", level=level)
    frame = frame[frame["valid_year"] == frame["valid_year"].max()]
    if zones:
        keep = np.zeros(len(frame), dtype=bool)
        for z in zones:
            keep |= frame["zone"].str.startswith(str(z)).to_numpy()
        frame = frame[keep]
        if frame.empty:
            raise MissingDataError(
                "@error.no_boundaries_for", level=level, zones=[str(z) for z in list(zones)[:5]]
            )
    crs = str(frame["crs"].iloc[0])
    geom = shapely.from_wkb([bytes(g) for g in frame["geometry"]])
    gdf = gpd.GeoDataFrame({"zone": frame["zone"].astype(str).to_numpy()}, geometry=geom, crs=crs)
    return gdf.to_crs(_METRIC_CRS).reset_index(drop=True)


def _to_wgs84(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    from pyproj import Transformer

    t = Transformer.from_crs(_METRIC_CRS, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(lon), np.asarray(lat)


def zone_points(boundaries: Any, *, how: PointKind = "representative") -> pd.DataFrame:
    """One origin per zone: ``id`` (= zone), ``lon``, ``lat``, ``zone``, ``weight`` (= 1).

    ``how="representative"`` uses :func:`shapely.point_on_surface` (inside the polygon),
    ``"centroid"`` the area centroid; both computed in EPSG:25832.
    """
    import shapely

    gdf = boundaries.to_crs(_METRIC_CRS)
    geom = gdf.geometry.to_numpy()
    if how == "representative":
        pts = shapely.point_on_surface(geom)
    elif how == "centroid":
        pts = shapely.centroid(geom)
    else:
        raise UnknownChoiceError("--origin-kind", how, POINT_KINDS)
    lon, lat = _to_wgs84(shapely.get_x(pts), shapely.get_y(pts))
    zone = gdf["zone"].astype(str).to_numpy(dtype=object)
    return pd.DataFrame({"id": zone, "lon": lon, "lat": lat, "zone": zone, "weight": 1.0})


def population_weighted_points(
    points: pd.DataFrame, population: pd.Series, parent_digits: int = 5
) -> pd.DataFrame:
    """One point per parent zone at the population-weighted mean of its child zones' points.

    ``x̄_K = Σ_{g∈K} P_g x_g / Σ_{g∈K} P_g`` in EPSG:25832 (the parent is the first
    ``parent_digits`` of the child's AGS: 5 = Kreis). Children without population count 0; a
    parent whose children all lack population gets the plain mean.

    Parameters
    ----------
    points
        Child points (``id, lon, lat``; ids are AGS), e.g. from :func:`zone_points`.
    population
        People per child id.
    """
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", _METRIC_CRS, always_xy=True)
    x, y = t.transform(points["lon"].to_numpy(np.float64), points["lat"].to_numpy(np.float64))
    w = population.reindex(points["id"].astype(str)).fillna(0.0).to_numpy(np.float64)
    parent = points["id"].astype(str).str[:parent_digits].to_numpy()
    frame = pd.DataFrame({"parent": parent, "x": x, "y": y, "w": w})
    frame["wx"], frame["wy"] = frame["w"] * frame["x"], frame["w"] * frame["y"]
    g = frame.groupby("parent", sort=True)
    sums = g[["w", "wx", "wy"]].sum()
    means = g[["x", "y"]].mean()
    pos = sums["w"] > 0
    px = np.where(pos, sums["wx"] / sums["w"].where(pos, 1.0), means["x"])
    py = np.where(pos, sums["wy"] / sums["w"].where(pos, 1.0), means["y"])
    lon, lat = _to_wgs84(px, py)
    ids = sums.index.astype(str).to_numpy(dtype=object)
    return pd.DataFrame(
        {"id": ids, "lon": lon, "lat": lat, "zone": ids, "weight": 1.0, "population": sums["w"]}
    ).reset_index(drop=True)


def grid_origins(boundaries: Any, cell_m: float = 1000.0) -> pd.DataFrame:
    """Regular grid cells clipped to the zones, as origins at the cells' representative points.

    Cells are ``cell_m`` squares aligned to multiples of ``cell_m`` in EPSG:25832. A cell split by a
    zone border gives one origin per piece. ``weight = area(cell ∩ zone) / area(zone)``, so the
    weights of a zone sum to 1 and its people are spread evenly by area (:data:`GRID_METHOD`).

    Returns
    -------
    pandas.DataFrame
        ``id`` (``<zone>_<col>_<row>``), ``lon``, ``lat``, ``zone``, ``weight``, ``area_m2``.
    """
    import shapely

    if not cell_m > 0:
        raise OptionError("@error.positive", option="--cell-m", value=cell_m)
    gdf = boundaries.to_crs(_METRIC_CRS)
    rows = []
    for zone, geom in zip(gdf["zone"].astype(str), gdf.geometry, strict=True):
        x0, y0, x1, y1 = geom.bounds
        cols = np.arange(np.floor(x0 / cell_m), np.ceil(x1 / cell_m)).astype(np.int64)
        rws = np.arange(np.floor(y0 / cell_m), np.ceil(y1 / cell_m)).astype(np.int64)
        mc, mr = np.meshgrid(cols, rws)
        cc, rr = mc.ravel(), mr.ravel()
        boxes = shapely.box(cc * cell_m, rr * cell_m, (cc + 1) * cell_m, (rr + 1) * cell_m)
        parts = shapely.intersection(boxes, geom)
        area = shapely.area(parts)
        keep = area > 0
        total = float(geom.area)
        pts = shapely.point_on_surface(parts[keep])
        rows.append(
            pd.DataFrame(
                {
                    "id": [f"{zone}_{c}_{r}" for c, r in zip(cc[keep], rr[keep], strict=True)],
                    "x": shapely.get_x(pts),
                    "y": shapely.get_y(pts),
                    "zone": zone,
                    "weight": area[keep] / total,
                    "area_m2": area[keep],
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    lon, lat = _to_wgs84(frame.pop("x"), frame.pop("y"))
    frame.insert(1, "lon", lon)
    frame.insert(2, "lat", lat)
    return frame

"""VG250 administrative boundaries (BKG) from zipped or plain shapefiles -> table ``boundaries``.

Zone keys come from the ``ARS`` attribute (Amtlicher Regionalschlüssel) or, failing that, ``AGS``.
A 12-digit ARS of a Gemeinde becomes its 8-digit AGS by dropping the four Gemeindeverband digits::

    AGS = ARS[:5] + ARS[9:]          e.g. 150870220220 -> 15087220 (Hettstedt)

Shorter keys give the higher levels (2 Land, 3 Regierungsbezirk, 5 Kreis, 9 Gemeindeverband). A file
without a key attribute is read only if its name marks the outline of Germany (``VG250_DE``,
``VG250_STA``): it becomes zone ``DG``, level ``bund``. A keyless file of *lines* (the simplified
Länder mesh ``VG250_LAN_mesh``: the Land borders as a line network) becomes one row, zone ``DG``, level
``border_lines``, for drawing maps: its lines cannot be keyed to Länder, so the Länder and Kreise as
areas are derived from a Gemeinde file by dissolving its polygons (``derive``).

``valid_year`` (the territorial status) is taken from an attribute ``VALID_YEAR``, ``STAND`` or
``GEBIETSSTAND`` when the file has one; otherwise from the parameter, whose default
:data:`DEFAULT_VALID_YEAR` = 2021 is the status of the simplified files in the shared data (about
2021/22). Geometries are stored as WKB in the file's CRS (EPSG:25832 for VG250). Invalid polygons
(self-intersections left by simplification: 37 of the 10,990 Gemeinden) are repaired with
``shapely.make_valid`` by default, which is recorded in the provenance title; with
``repair_invalid=False`` they are an error. Where a ``GF`` attribute exists (full VG250), only land
areas with structure (``GF = 4``) are kept.

Source: © GeoBasis-DE / BKG, dl-de/by-2-0.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio.errors
import pyogrio.raw
import shapely

from wandel.errors import DuplicateKeyError, InputFormatError, MissingColumnError
from wandel.sources.base import LICENCE_BKG, ImportBatch, SourceMeta, sha256_of
from wandel.tables import conform

__all__ = [
    "DEFAULT_VALID_YEAR",
    "NAME",
    "ags_from_ars",
    "dissolve",
    "read",
    "sniff",
]

NAME = "vg250"
DEFAULT_VALID_YEAR = 2021
"""Territorial status of the simplified VG250 files in the shared data (about 2021/22)."""

_LEVEL_OF_ARS = {2: "land", 3: "regbez", 5: "kreis", 9: "gemeindeverband", 12: "gemeinde"}
_LEVEL_OF_AGS = {2: "land", 3: "regbez", 5: "kreis", 8: "gemeinde"}
_PREFIX_OF_LEVEL = {"land": 2, "regbez": 3, "kreis": 5}
_YEAR_FIELDS = ("valid_year", "stand", "gebietsstand")
_GERMANY_NAME = re.compile(r"(?:^|[_\-. ])(?:DE|STA)(?:$|[_\-. ])", re.IGNORECASE)


def ags_from_ars(ars: str) -> str:
    """The 8-digit AGS of a Gemeinde from its 12-digit ARS: ``ARS[:5] + ARS[9:]``.

    >>> ags_from_ars("150870220220")
    '15087220'
    >>> ags_from_ars("020000000000")
    '02000000'
    """
    if len(ars) != 12 or not ars.isdigit():
        raise ValueError(f"not a 12-digit ARS: {ars!r}")
    return ars[:5] + ars[9:]


def sniff(path: Path, head: bytes) -> bool:
    """A ``.shp`` file, or a ZIP archive holding one."""
    suffix = path.suffix.lower()
    if suffix == ".shp":
        return True
    if suffix != ".zip" or not head.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.lower().endswith(".shp") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _source(path: Path) -> str:
    """GDAL path of the one shapefile in ``path`` (a ZIP via ``/vsizip/``, or a ``.shp``)."""
    file = str(path)
    if path.stat().st_size == 0:
        raise InputFormatError(file, reason="the file is empty", expected="a zipped shapefile")
    if path.suffix.lower() != ".zip":
        return file
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFormatError(
            file,
            reason="@sources.error.unreadable_zip",
            expected="a ZIP with a shapefile",
            fields={"detail": str(exc)},
        ) from None
    shps = [n for n in names if n.lower().endswith(".shp")]
    if len(shps) != 1:
        raise InputFormatError(
            file,
            value=", ".join(names) if names else "(empty archive)",
            reason="no shapefile in the ZIP" if not shps else "more than one shapefile in the ZIP",
            expected="a ZIP holding exactly one .shp (with .shx, .dbf and .prj)",
        )
    return f"/vsizip/{path.resolve()}/{shps[0]}"


def _read_layer(path: Path) -> tuple[dict[str, Any], npt.NDArray[np.object_], dict[str, Any]]:
    """Read geometry (WKB) and attributes; return ``(meta, wkb, fields by lower-case name)``."""
    src = _source(path)
    try:
        meta, _fids, wkb, field_data = pyogrio.raw.read(src)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.CRSError,
        pyogrio.errors.FeatureError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        UnicodeDecodeError,
    ) as exc:
        raise InputFormatError(
            str(path),
            reason="@sources.error.unreadable_shapefile",
            expected="a valid shapefile",
            fields={"detail": str(exc)},
        ) from None
    names = [str(n) for n in meta["fields"]]
    fields = {n.lower(): np.asarray(col) for n, col in zip(names, field_data, strict=True)}
    return meta, np.asarray(wkb, dtype=object), fields


def _keys(
    file: str, fields: dict[str, Any], n: int, source_name: str, geometry_type: str = ""
) -> tuple[list[str], list[str], str]:
    """Zone keys, levels and the attribute they came from."""
    for attr, levels in (("ars", _LEVEL_OF_ARS), ("ags", _LEVEL_OF_AGS)):
        if attr not in fields:
            continue
        zones: list[str] = []
        lvls: list[str] = []
        for i, raw in enumerate(fields[attr]):
            key = "" if raw is None else str(raw).strip()
            level = levels.get(len(key)) if key.isdigit() else None
            if level is None:
                raise InputFormatError(
                    file,
                    line=i + 1,
                    column=attr.upper(),
                    value=key,
                    reason="malformed key (record number given as line)",
                    expected=f"{attr.upper()} of "
                    + ", ".join(str(k) for k in levels)
                    + " digits with leading zeros",
                )
            zones.append(ags_from_ars(key) if attr == "ars" and len(key) == 12 else key)
            lvls.append(level)
        return zones, lvls, attr.upper()
    if _GERMANY_NAME.search(Path(source_name).stem):
        return ["DG"] * n, ["bund"] * n, ""
    mesh = (
        "; the file holds border lines (a mesh such as VG250_LAN_mesh), which cannot be keyed to "
        "zones: read the Gemeinde file instead, whose Länder are dissolved from its polygons"
        if "line" in geometry_type.lower()
        else ""
    )
    raise MissingColumnError(
        file,
        column="ARS",
        value=", ".join(k.upper() for k in fields) or "(no attributes)",
        reason="no ARS or AGS attribute to key the zones" + mesh,
        expected="an ARS or AGS attribute (only the outline of Germany, VG250_DE/VG250_STA, "
        "may go without one)",
    )


def _years(file: str, fields: dict[str, Any], n: int, default: int) -> npt.NDArray[np.int64]:
    name = next((f for f in _YEAR_FIELDS if f in fields), None)
    if name is None:
        return np.full(n, default, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    for i, raw in enumerate(fields[name]):
        m = re.search(r"(?<!\d)(19|20)\d\d(?!\d)", "" if raw is None else str(raw))
        if m is None:
            raise InputFormatError(
                file,
                line=i + 1,
                column=name.upper(),
                value=raw,
                reason="territorial status without a year",
                expected="a year or a date (2021, 31.12.2021, 2021-12-31)",
            )
        out[i] = int(m.group(0))
    return out


def _polygons(
    file: str, wkb: npt.NDArray[np.object_], zones: Sequence[str], repair: bool
) -> tuple[npt.NDArray[np.object_], int]:
    """Shapely polygons from WKB; invalid ones repaired (or refused). Returns ``(geoms, repaired)``."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")  # unreadable WKB -> None -> refused below
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, [3, 6])  # Polygon, MultiPolygon
    bad = ~polygonal | shapely.is_empty(geoms)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        type_name = "no geometry" if geoms[i] is None else str(geoms[i].geom_type)
        if type_name != "no geometry" and shapely.is_empty(geoms[i]):
            type_name = f"empty {type_name}"
        mesh = "; a mesh of border lines cannot be keyed to zones" if types[i] in (1, 5) else ""
        raise InputFormatError(
            file,
            line=i + 1,
            column="geometry",
            value=f"{zones[i]}: {type_name}",
            reason="not a polygon (record number given as line)" + mesh,
            expected="Polygon or MultiPolygon geometries",
        )
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms, 0
    if not repair:
        i = int(np.flatnonzero(invalid)[0])
        raise InputFormatError(
            file,
            line=i + 1,
            column="geometry",
            value=f"{zones[i]}: {shapely.is_valid_reason(geoms[i])}",
            reason="invalid geometry (record number given as line)",
            expected="valid polygons (or read with repair_invalid=True)",
        )
    fixed = shapely.make_valid(geoms[invalid])
    # keep the polygonal parts of any GeometryCollection that make_valid returns
    parts, index = shapely.get_parts(fixed, return_index=True)
    keep = np.isin(shapely.get_type_id(parts), [3, 6])
    merged = np.array(
        [shapely.union_all(parts[keep & (index == k)]) for k in range(len(fixed))], dtype=object
    )
    empty = shapely.is_empty(merged) | (shapely.area(merged) <= 0)
    if empty.any():
        i = int(np.flatnonzero(invalid)[np.flatnonzero(empty)[0]])
        raise InputFormatError(
            file,
            line=i + 1,
            column="geometry",
            value=f"{zones[i]}: {shapely.is_valid_reason(geoms[i])}",
            reason="invalid geometry that cannot be repaired into a polygon",
            expected="valid polygons",
        )
    out = geoms.copy()
    out[invalid] = merged
    return out, int(invalid.sum())


def dissolve(boundaries: pd.DataFrame, level: str) -> pd.DataFrame:
    """Boundaries of a higher ``level`` (``land``, ``regbez``, ``kreis``) as unions of Gemeinden.

    The key of the higher level is the prefix of the Gemeinde AGS (2, 3 or 5 digits). Takes and
    returns a canonical ``boundaries`` frame; only rows of level ``gemeinde`` are used.
    """
    width = _PREFIX_OF_LEVEL[level]
    gem = boundaries[boundaries["level"] == "gemeinde"]
    if gem.empty:
        return conform("boundaries", gem.iloc[0:0])
    geoms = shapely.from_wkb(gem["geometry"].to_numpy(dtype=object))
    groups = pd.DataFrame(
        {"zone": gem["zone"].str[:width].to_numpy(), "valid_year": gem["valid_year"].to_numpy()}
    )
    rows = []
    for (zone, year), idx in groups.groupby(["zone", "valid_year"]).indices.items():
        crs = gem["crs"].iloc[idx[0]]
        union = shapely.union_all(geoms[idx])
        rows.append((zone, int(year), level, crs, shapely.to_wkb(union)))
    frame = pd.DataFrame(rows, columns=["zone", "valid_year", "level", "crs", "geometry"])
    return conform("boundaries", frame)


def _border_lines(
    p: Path, wkb: npt.NDArray[np.object_], crs: str, valid_year: int, fields: dict[str, Any]
) -> ImportBatch:
    """A keyless line layer (e.g. the Länder mesh): one MultiLineString row, zone DG."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    bad = pd.isna(geoms) | ~shapely.is_valid(geoms) | shapely.is_empty(geoms)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputFormatError(
            str(p),
            line=i + 1,
            column="geometry",
            reason="invalid or empty line (record number given as line)",
            expected="valid border lines",
        )
    years = _years(str(p), fields, len(wkb), valid_year)
    lines = shapely.line_merge(shapely.union_all(geoms))
    frame = pd.DataFrame(
        {
            "zone": ["DG"],
            "valid_year": [int(years[0])],
            "level": ["border_lines"],
            "crs": [crs],
            "geometry": [shapely.to_wkb(lines)],
        }
    )
    meta = SourceMeta(
        file=p.name,
        sha256=sha256_of(p),
        kind=NAME,
        table_code="VG250",
        title=f"VG250 Grenzlinien ({len(wkb)} Linien, für Karten)",
        producer="Bundesamt für Kartographie und Geodäsie (BKG)",
        licence=LICENCE_BKG,
    )
    return ImportBatch(
        meta=meta, tables={"boundaries": conform("boundaries", frame)}, rows_read=len(wkb)
    )


@dataclass(frozen=True)
class _Layer:
    """A shapefile layer's features (``wkb``, attribute ``fields``), CRS, geometry type and the
    features left out (water and structureless areas of the full VG250)."""

    wkb: npt.NDArray[np.object_]
    fields: dict[str, Any]
    crs: str
    gtype: str
    rejected: list[tuple[str, int]]


def _land_layer(p: Path) -> _Layer:
    """The layer of ``p`` with at least one feature and a CRS; of a full VG250 (``GF``) only the
    land areas with structure."""
    file = str(p)
    meta, wkb, fields = _read_layer(p)
    if len(wkb) == 0:
        raise InputFormatError(file, reason="the shapefile has no features", expected="polygons")
    crs = meta.get("crs")
    if not crs:
        raise InputFormatError(
            file, reason="no coordinate reference system (.prj missing)", expected="e.g. EPSG:25832"
        )
    rejected: list[tuple[str, int]] = []
    if "gf" in fields:  # full VG250: keep land areas with structure only
        keep = np.asarray(fields["gf"]).astype(str) == "4"
        if (~keep).any():
            rejected.append(("VG250 water or structureless areas (GF != 4)", int((~keep).sum())))
        wkb = wkb[keep]
        fields = {k: np.asarray(v)[keep] for k, v in fields.items()}
    return _Layer(wkb, fields, str(crs), str(meta.get("geometry_type") or ""), rejected)


def _zone_frame(
    p: Path, layer: _Layer, valid_year: int, repair_invalid: bool
) -> tuple[pd.DataFrame, int]:
    """One row per zone (key, year, level, CRS, WKB) and the number of geometries repaired."""
    file = str(p)
    n = len(layer.wkb)
    zones, levels, key_attr = _keys(file, layer.fields, n, p.name, layer.gtype)
    years = _years(file, layer.fields, n, valid_year)
    geoms, repaired = _polygons(file, layer.wkb, zones, repair_invalid)
    frame = pd.DataFrame(
        {
            "zone": zones,
            "valid_year": years,
            "level": levels,
            "crs": layer.crs,
            "geometry": list(shapely.to_wkb(geoms)),
        }
    )
    if key_attr == "":  # the outline of Germany: one zone, whatever the number of parts
        union = shapely.union_all(geoms)
        frame = frame.iloc[:1].assign(geometry=[shapely.to_wkb(union)])
    dup = frame.duplicated(["zone", "valid_year"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DuplicateKeyError(
            file,
            line=i + 1,
            column=key_attr or "geometry",
            value=zones[i],
            reason="the same zone twice (record number given as line)",
            expected="one feature per zone",
        )
    return frame, repaired


def read(
    path: str | Path,
    *,
    valid_year: int = DEFAULT_VALID_YEAR,
    repair_invalid: bool = True,
    derive: Sequence[str] = ("kreis", "land"),
) -> ImportBatch:
    """Read a VG250 shapefile (plain or zipped) into the ``boundaries`` table.

    Parameters
    ----------
    path
        A ``.zip`` holding one ``.shp`` (read through GDAL's ``/vsizip/``) or a ``.shp``.
    valid_year
        Territorial status year for files that carry none in their attributes.
    repair_invalid
        Repair invalid polygons with ``shapely.make_valid`` (default) instead of refusing them.
    derive
        For a file of Gemeinden: also dissolve them into these higher levels (``kreis``, ``land``,
        ``regbez``); keys are the AGS prefixes.

    Raises
    ------
    InputFormatError
        A ZIP without a shapefile, no ARS/AGS attribute, a malformed key, a non-polygon, an invalid
        geometry that cannot be repaired, no CRS (``.prj``); ``DuplicateKeyError`` for a zone twice.
    """
    p = Path(path)
    layer = _land_layer(p)
    wkb, fields, crs = layer.wkb, layer.fields, layer.crs
    if "line" in layer.gtype.lower() and "ars" not in fields and "ags" not in fields:
        return _border_lines(p, wkb, crs, valid_year, fields)
    frame, repaired = _zone_frame(p, layer, valid_year, repair_invalid)
    rejected = layer.rejected
    out = [conform("boundaries", frame)]
    if (frame["level"] == "gemeinde").any():
        out.extend(dissolve(out[0], level) for level in derive)
    boundaries = pd.concat(out, ignore_index=True)
    title = "VG250 Verwaltungsgebiete"
    if repaired:
        title += f" ({repaired} invalid geometries repaired with make_valid)"
    if derive and len(out) > 1:
        title += f"; {', '.join(derive)} dissolved from the Gemeinden"
    source_meta = SourceMeta(
        file=p.name,
        sha256=sha256_of(p),
        kind=NAME,
        table_code="VG250",
        title=title,
        producer="Bundesamt für Kartographie und Geodäsie (BKG)",
        licence=LICENCE_BKG,
    )
    return ImportBatch(
        meta=source_meta,
        tables={"boundaries": boundaries},
        rows_read=len(wkb) + sum(c for _r, c in rejected),
        rejected=tuple(rejected),
    )

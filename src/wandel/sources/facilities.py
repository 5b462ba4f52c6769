"""Facility lists with WGS84 coordinates -> table ``facilities``.

Three inputs are read:

* the **G-BA hospital list** (``krankenhaeuser_gba_2015-2019.csv``: one row per hospital site and
  report year with ``year, ID, HospitalName, quantityBeds, street, housenumber, zip, city, lat, lon``
  and about thirty further fields). ``kind="hospital"``, ``capacity`` = beds, ``facility_id`` = the
  site ``ID`` (IK number and site number, stable across years). Where one ``ID`` names two sites in
  the same year (12 cases in 2015-2019), each gets ``ID/<locationNumberSite>``. Every other field goes
  into ``attributes`` as JSON. The coordinates must lie in Germany.
* a **generic CSV**: ``id, lon, lat`` in any order (also ``lat, lon``; ``facility_id``,
  ``longitude``, ``latitude`` accepted), optional ``name, kind, capacity, year, address, zone``; any
  other column goes into ``attributes``. Comma or semicolon separated; a semicolon-separated file may
  use the decimal comma (``51,65``).
* **GeoJSON**: a ``FeatureCollection`` of ``Point`` features; the id is ``properties.id`` or the
  feature's ``id``; ``name, kind, capacity, year`` are read from the properties.

Coordinates are checked against the WGS84 ranges (``-90 <= lat <= 90``, ``-180 <= lon <= 180``). A
point that lies outside Germany's box (lat 47-55.1, lon 5.8-15.1) but inside it with lat and lon
exchanged is refused with a hint at the swap. Generic lists may hold points outside Germany (a
hospital across the border near Görlitz is a real option). Ids must be present and unique per year.
Lists without a year get the ``year`` parameter (default :data:`DEFAULT_YEAR`), lists without a kind
the ``facility_kind`` parameter.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.errors import DuplicateKeyError, InputFormatError, MissingColumnError
from wandel.sources._text import decode_text
from wandel.sources.base import LICENCE_GBA, ImportBatch, SourceMeta, sha256_of
from wandel.sources.rdb_tidy import CsvRecords, read_records
from wandel.tables import conform

__all__ = [
    "DEFAULT_KIND",
    "DEFAULT_YEAR",
    "GERMANY_LAT",
    "GERMANY_LON",
    "NAME",
    "NOT_LOCATED",
    "check_coordinates",
    "fallback_points",
    "read",
    "sniff",
]

NAME = "facilities"
DEFAULT_YEAR = 2024
"""Reference year given to a facility list that carries none."""
DEFAULT_KIND = "facility"
"""Kind given to a facility list that carries none."""
GERMANY_LAT = (47.0, 55.1)
GERMANY_LON = (5.8, 15.1)

_HOSPITAL_COLUMNS = ("year", "id", "hospitalname", "quantitybeds", "lat", "lon")
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "id": ("id", "facility_id"),
    "lon": ("lon", "lng", "longitude"),
    "lat": ("lat", "latitude"),
    "name": ("name",),
    "kind": ("kind", "type"),
    "capacity": ("capacity",),
    "year": ("year", "jahr"),
    "address": ("address", "adresse"),
    "zone": ("zone", "ags"),
}


def _in(values: npt.NDArray[np.float64], bounds: tuple[float, float]) -> npt.NDArray[np.bool_]:
    return np.asarray((values >= bounds[0]) & (values <= bounds[1]), dtype=bool)


def check_coordinates(
    file: str,
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    *,
    lines: Sequence[int | None],
    columns: tuple[str, str] = ("lon", "lat"),
    shown: Sequence[tuple[str, str]] | None = None,
    germany_only: bool = False,
) -> None:
    """Refuse swapped, out-of-range (or, with ``germany_only``, foreign) WGS84 coordinates.

    ``lines`` gives each point's line for the message, ``columns`` the names of the lon and lat
    columns, ``shown`` the cells as written (defaults to the numbers).

    >>> import numpy as np
    >>> check_coordinates("f.csv", np.array([11.5]), np.array([51.6]), lines=[2])
    >>> check_coordinates("f.csv", np.array([51.6]), np.array([11.5]), lines=[2])
    Traceback (most recent call last):
    ...
    wandel.errors.InputFormatError: f.csv, line 2, column lat: latitude and longitude look swapped ...
    """
    in_de = _in(lat, GERMANY_LAT) & _in(lon, GERMANY_LON)
    swapped = ~in_de & _in(lon, GERMANY_LAT) & _in(lat, GERMANY_LON)
    out_of_range = ~(_in(lat, (-90.0, 90.0)) & _in(lon, (-180.0, 180.0)))
    checks: list[tuple[npt.NDArray[np.bool_], int, str, str]] = [
        (
            swapped,
            1,
            "latitude and longitude look swapped (the point lies in Germany only the other way "
            "round)",
            f"{columns[1]} between {GERMANY_LAT[0]} and {GERMANY_LAT[1]} and {columns[0]} between "
            f"{GERMANY_LON[0]} and {GERMANY_LON[1]} for Germany: exchange the columns",
        ),
        (~_in(lat, (-90.0, 90.0)), 1, "latitude out of range", "WGS84 latitude in [-90, 90]"),
        (~_in(lon, (-180.0, 180.0)), 0, "longitude out of range", "WGS84 longitude in [-180, 180]"),
    ]
    if germany_only:
        checks.append(
            (
                ~in_de & ~out_of_range,
                1,
                "point outside Germany",
                f"lat {GERMANY_LAT[0]}-{GERMANY_LAT[1]}, lon {GERMANY_LON[0]}-{GERMANY_LON[1]}",
            )
        )
    for mask, which, reason, expected in checks:
        bad = np.flatnonzero(mask)
        if len(bad):
            i = int(bad[0])
            value = shown[i][which] if shown is not None else float((lon, lat)[which][i])
            raise InputFormatError(
                file,
                line=lines[i],
                column=columns[which],
                value=value,
                reason=reason,
                expected=expected,
            )


# ---------------------------------------------------------------------------------------------
# detection


def _csv_header(head: bytes, file: str) -> tuple[str, ...] | None:
    try:
        text, _enc = decode_text(head.split(b"\n", 1)[0], file)
    except InputFormatError:
        return None
    delimiter = ";" if text.count(";") > text.count(",") else ","
    return tuple(h.strip().strip('"').lower() for h in text.split(delimiter))


def _find(header: Sequence[str], canon: str) -> int | None:
    return next((header.index(n) for n in _ALIASES[canon] if n in header), None)


def sniff(path: Path, head: bytes) -> bool:
    """A GeoJSON FeatureCollection, the G-BA hospital list, or a CSV with id, lon and lat."""
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json"}:
        return b"FeatureCollection" in head or b'"Feature"' in head
    if suffix not in {".csv", ".txt"}:
        return False
    header = _csv_header(head, str(path))
    if header is None:
        return False
    if all(c in header for c in _HOSPITAL_COLUMNS):
        return True
    return all(_find(header, c) is not None for c in ("id", "lon", "lat"))


# ---------------------------------------------------------------------------------------------
# CSV


def _cells(rec: CsvRecords, idx: int) -> list[str]:
    return [r[idx] for r in rec.rows]


def _numbers(
    rec: CsvRecords, idx: int, *, decimal_comma: bool, expected: str, allow_empty: bool = False
) -> npt.NDArray[np.float64]:
    pattern = re.compile(r"[+-]?\d+(?:[.,]\d+)?" if decimal_comma else r"[+-]?\d+(?:\.\d+)?")
    out = np.full(len(rec.rows), np.nan)
    for i, cell in enumerate(_cells(rec, idx)):
        if cell == "" and allow_empty:
            continue
        if not pattern.fullmatch(cell):
            raise InputFormatError(
                rec.file,
                line=rec.lines[i],
                column=rec.raw_header[idx],
                value=cell,
                reason="not a number",
                expected=expected,
            )
        out[i] = float(cell.replace(",", "."))
    return out


def _non_negative(rec: CsvRecords, idx: int, values: npt.NDArray[np.float64]) -> None:
    bad = np.flatnonzero(values < 0)
    if len(bad):
        i = int(bad[0])
        raise InputFormatError(
            rec.file,
            line=rec.lines[i],
            column=rec.raw_header[idx],
            value=rec.rows[i][idx],
            reason="negative capacity",
            expected="a capacity >= 0",
        )


def _years(rec: CsvRecords, idx: int) -> npt.NDArray[np.int64]:
    out = np.empty(len(rec.rows), dtype=np.int64)
    for i, cell in enumerate(_cells(rec, idx)):
        if not re.fullmatch(r"(19|20)\d\d", cell):
            raise InputFormatError(
                rec.file,
                line=rec.lines[i],
                column=rec.raw_header[idx],
                value=cell,
                reason="not a year",
                expected="a four-digit year",
            )
        out[i] = int(cell)
    return out


def _check_ids(
    file: str, ids: Sequence[str], years: Sequence[int], lines: Sequence[int | None], column: str
) -> None:
    seen: dict[tuple[str, int], int] = {}
    for i, (fid, year) in enumerate(zip(ids, years, strict=True)):
        if fid == "":
            raise InputFormatError(
                file,
                line=lines[i],
                column=column,
                value=fid,
                reason="missing facility id",
                expected="a non-empty id",
            )
        if (fid, year) in seen:
            raise DuplicateKeyError(
                file,
                line=lines[i],
                column=column,
                value=fid,
                reason="@sources.error.duplicate_facility",
                expected="each id once per year",
                fields={"year": year, "line": lines[seen[(fid, year)]]},
            )
        seen[(fid, year)] = i


NOT_LOCATED = "wandel_not_located"
"""Key in ``attributes`` of a hospital site whose coordinate was left empty (see
:func:`fallback_points`)."""

_STREET_WORD = re.compile(r"(stra(ss|ß)e|str\.?)$")


def _norm(text: str) -> str:
    """A street, number or place for comparison: entities decoded, lower case, ``Straße``,
    ``Strasse`` and ``Str.`` alike, only letters and digits."""
    t = html.unescape(text).casefold().strip()
    t = " ".join(_STREET_WORD.sub("str", w) for w in t.replace("-", " ").split())
    return re.sub(r"[^0-9a-zäöüß]", "", t)


def fallback_points(
    ids: Sequence[str],
    streets: Sequence[str],
    numbers: Sequence[str],
    zips: Sequence[str],
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    """Rows whose coordinate is a geocoder's fallback (a country, state or town centroid), over all
    rows (all years) of a hospital list.

    The rule: rows with exactly the same coordinate are grouped; within a point, sites
    (an id at one address; an id whose address changed between years is two) are **one
    hospital** if they share the address (street, number and PLZ, spelling of ``Straße``/``Str.``
    aside), or the IK number (the id before ``-``) and the PLZ, or the IK number and the street and
    number. A point held by one hospital is its own. A point held by several (sites in different
    PLZ or at different addresses of different hospitals) is a fallback: it stays with the
    hospital that has more than half of the point's rows (site-years; e.g. Mittweida's 5 of 9 on
    its point, Freiberg's 4 are marked), and every other row on it is marked (``True``: not
    located); without such a majority (e.g. Neumünster and Freyung, 5 rows each on the centre of
    Germany) every row on the point is marked.

    >>> import numpy as np
    >>> fallback_points(
    ...     ["1-01", "1-02", "2-00", "3-00"], ["A", "B", "C", "D"], ["1", "2", "3", "4"],
    ...     ["01067", "01067", "24536", "94078"],
    ...     np.array([13.7, 13.7, 10.8, 10.8]), np.array([51.0, 51.0, 51.0, 51.0]),
    ... ).tolist()
    [False, False, True, True]
    """
    n = len(ids)
    marked = np.zeros(n, dtype=bool)
    site_key = [str(i).split("/")[0] for i in ids]
    addr = [
        f"{_norm(s)}|{_norm(h)}|{z.strip()}" for s, h, z in zip(streets, numbers, zips, strict=True)
    ]
    ik = [f"{k.split('-')[0]}|{z.strip()}" for k, z in zip(site_key, zips, strict=True)]
    ik_street = [  # one IK at one street and number: a PLZ typo does not part a hospital
        f"{k.split('-')[0]}|{_norm(s)}|{_norm(h)}"
        for k, s, h in zip(site_key, streets, numbers, strict=True)
    ]
    node = [f"{k}#{a}" for k, a in zip(site_key, addr, strict=True)]  # a site at one address
    points: dict[tuple[float, float], list[int]] = {}
    for i in range(n):
        if np.isfinite(lon[i]) and np.isfinite(lat[i]):
            points.setdefault((float(lon[i]), float(lat[i])), []).append(i)
    for rows in points.values():
        nodes = sorted({node[i] for i in rows})
        if len(nodes) < 2:
            continue
        parent = {s: s for s in nodes}

        def find(s: str, parent: dict[str, str] = parent) -> str:
            while parent[s] != s:
                parent[s] = parent[parent[s]]
                s = parent[s]
            return s

        first: dict[str, str] = {}
        for i in rows:  # an address, an IK number in one PLZ or at one street: one hospital
            for k in (f"a:{addr[i]}", f"i:{ik[i]}", f"s:{ik_street[i]}"):
                if k in first:
                    parent[find(node[i])] = find(first[k])
                else:
                    first[k] = node[i]
        units: dict[str, int] = {}  # hospital -> its rows on the point
        for i in rows:
            units[find(node[i])] = units.get(find(node[i]), 0) + 1
        if len(units) < 2:
            continue
        owner = next((u for u, m in units.items() if 2 * m > len(rows)), None)
        for i in rows:
            if owner is None or find(node[i]) != owner:
                marked[i] = True
    return marked


def _attributes(rec: CsvRecords, used: set[int]) -> list[str | None]:
    rest = [j for j in range(len(rec.header)) if j not in used]
    out: list[str | None] = []
    for row in rec.rows:
        attrs = {rec.raw_header[j]: row[j] for j in rest if row[j] != ""}
        out.append(json.dumps(attrs, ensure_ascii=False, sort_keys=True) if attrs else None)
    return out


def _hospital_ids(rec: CsvRecords, years: npt.NDArray[np.int64]) -> list[str]:
    """Site ID; where one ID names two sites in a year, ``ID/<locationNumberSite>``."""
    h = rec.header
    ids = [r[h.index("id")] for r in rec.rows]
    site_idx = h.index("locationnumbersite") if "locationnumbersite" in h else None
    frame = pd.DataFrame({"id": ids, "year": years})
    dup = frame.duplicated(["id", "year"], keep=False).to_numpy()
    out = list(ids)
    for i in np.flatnonzero(dup):
        site = rec.rows[i][site_idx] if site_idx is not None else ""
        out[i] = f"{ids[i]}/{site or '00'}"
    return out


def _read_hospitals(rec: CsvRecords, path: Path) -> ImportBatch:
    h = rec.header
    col = {c: h.index(c) for c in h}
    years = _years(rec, col["year"])
    ids = _hospital_ids(rec, years)
    lat = _numbers(rec, col["lat"], decimal_comma=False, expected="a latitude in decimal degrees")
    lon = _numbers(rec, col["lon"], decimal_comma=False, expected="a longitude in decimal degrees")
    shown = [(r[col["lon"]], r[col["lat"]]) for r in rec.rows]
    check_coordinates(
        rec.file, lon, lat, lines=rec.lines, columns=("lon", "lat"), shown=shown, germany_only=True
    )
    beds = _numbers(
        rec, col["quantitybeds"], decimal_comma=False, expected="a number of beds", allow_empty=True
    )
    _non_negative(rec, col["quantitybeds"], beds)
    _check_ids(rec.file, ids, years.tolist(), rec.lines, rec.raw_header[col["id"]])

    def text(name: str) -> list[str]:
        return [r[col[name]] if name in col else "" for r in rec.rows]

    fallback = fallback_points(ids, text("street"), text("housenumber"), text("zip"), lon, lat)
    lon = np.where(fallback, np.nan, lon)
    lat = np.where(fallback, np.nan, lat)
    attributes = _attributes(rec, _used_columns(col))
    for i in np.flatnonzero(fallback):
        attrs = json.loads(attributes[i] or "{}")
        attrs[NOT_LOCATED] = "coordinate shared with other hospitals (a geocoder's fallback)"
        attributes[i] = json.dumps(attrs, ensure_ascii=False, sort_keys=True)

    street = [f"{s} {n}".strip() for s, n in zip(text("street"), text("housenumber"), strict=True)]
    place = [f"{z} {c}".strip() for z, c in zip(text("zip"), text("city"), strict=True)]
    address = [
        ", ".join(p for p in parts if p) or None for parts in zip(street, place, strict=True)
    ]
    frame = pd.DataFrame(
        {
            "facility_id": ids,
            "year": years,
            "kind": "hospital",
            "name": text("hospitalname"),
            "address": address,
            "zone": None,
            "lon": lon,
            "lat": lat,
            "capacity": beds,
            "attributes": attributes,
        }
    )
    meta = SourceMeta(
        file=path.name,
        sha256=sha256_of(path),
        kind=NAME,
        table_code="G-BA Qualitätsberichte",
        title="Krankenhausstandorte aus den Qualitätsberichten der Krankenhäuser",
        producer="Gemeinsamer Bundesausschuss (G-BA)",
        licence=LICENCE_GBA,
    )
    frame = frame.sort_values(["facility_id", "year"], kind="stable")
    n_fallback = int(fallback.sum())
    return ImportBatch(
        meta=meta,
        tables={"facilities": conform("facilities", frame)},
        rows_read=len(rec.rows),
        rejected=(("@sources.rejected.hospital_not_located", n_fallback),) if n_fallback else (),
    )


def _used_columns(col: Mapping[str, int]) -> set[int]:
    """The columns of the hospital list that have a field of their own (the rest: attributes)."""
    return {
        col[c] for c in (*_HOSPITAL_COLUMNS, "street", "housenumber", "zip", "city") if c in col
    }


def _read_generic_csv(rec: CsvRecords, path: Path, year: int, kind: str) -> ImportBatch:
    found = {c: _find(rec.header, c) for c in _ALIASES}
    missing = [c for c in ("id", "lon", "lat") if found[c] is None]
    if missing:
        raise MissingColumnError(
            rec.file,
            line=1,
            column=missing[0],
            value=rec.delimiter.join(rec.raw_header),
            reason="@sources.error.no_column",
            expected="columns id, lon and lat (in any order; optional name, kind, capacity, year)",
            fields={"columns": ", ".join(missing)},
        )
    idx = {c: i for c, i in found.items() if i is not None}
    comma = rec.delimiter == ";"
    lon = _numbers(rec, idx["lon"], decimal_comma=comma, expected="a longitude in decimal degrees")
    lat = _numbers(rec, idx["lat"], decimal_comma=comma, expected="a latitude in decimal degrees")
    shown = [(r[idx["lon"]], r[idx["lat"]]) for r in rec.rows]
    names = (rec.raw_header[idx["lon"]], rec.raw_header[idx["lat"]])
    check_coordinates(rec.file, lon, lat, lines=rec.lines, columns=names, shown=shown)
    years = _years(rec, idx["year"]) if "year" in idx else np.full(len(rec.rows), year)
    ids = _cells(rec, idx["id"])
    _check_ids(rec.file, ids, years.tolist(), rec.lines, rec.raw_header[idx["id"]])
    capacity = np.full(len(rec.rows), np.nan)
    if "capacity" in idx:
        capacity = _numbers(
            rec, idx["capacity"], decimal_comma=comma, expected="a capacity", allow_empty=True
        )
        _non_negative(rec, idx["capacity"], capacity)

    def text(name: str, default: str | None = None) -> list[str | None]:
        if name not in idx:
            return [default] * len(rec.rows)
        return [r[idx[name]] or default for r in rec.rows]

    frame = pd.DataFrame(
        {
            "facility_id": ids,
            "year": years,
            "kind": text("kind", kind),
            "name": text("name"),
            "address": text("address"),
            "zone": text("zone"),
            "lon": lon,
            "lat": lat,
            "capacity": capacity,
            "attributes": _attributes(rec, set(idx.values())),
        }
    )
    return ImportBatch(
        meta=_generic_meta(path),
        tables={"facilities": conform("facilities", frame)},
        rows_read=len(rec.rows),
    )


def _generic_meta(path: Path) -> SourceMeta:
    return SourceMeta(
        file=path.name, sha256=sha256_of(path), kind=NAME, title="Facility list (user file)"
    )


# ---------------------------------------------------------------------------------------------
# GeoJSON


def _geojson_error(file: str, where: str, value: object, reason: str, expected: str) -> NoReturn:
    raise InputFormatError(file, column=where, value=value, reason=reason, expected=expected)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _geojson_features(path: Path) -> list[Any]:
    """The features of a GeoJSON FeatureCollection (a non-empty list), or a clear error."""
    file = str(path)
    text, _enc = decode_text(path.read_bytes(), file)
    if not text.strip():
        raise InputFormatError(file, line=1, reason="the file is empty", expected="GeoJSON")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFormatError(
            file,
            line=exc.lineno,
            column=exc.colno,
            value=text[exc.pos : exc.pos + 20],
            reason="@sources.error.not_json",
            expected="a GeoJSON FeatureCollection",
            fields={"detail": exc.msg},
        ) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        _geojson_error(
            file, "type", found, "not a FeatureCollection", 'a GeoJSON "FeatureCollection"'
        )
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        _geojson_error(file, "features", features, "no features", "a non-empty list of features")
    return features


def _geojson_row(file: str, i: int, feat: Any, year: int, kind: str) -> dict[str, Any]:
    """One facility from feature ``i``: a Point with an id, optional name, kind, capacity, year."""
    where = f"features[{i}]"
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        _geojson_error(file, where, feat, "not a Feature", 'an object with "type": "Feature"')
    geom = feat.get("geometry")
    coords = geom.get("coordinates") if isinstance(geom, dict) else None
    if not isinstance(geom, dict) or geom.get("type") != "Point":
        found = geom.get("type") if isinstance(geom, dict) else geom
        _geojson_error(file, f"{where}.geometry", found, "not a Point", "a Point geometry")
    nums = [_number(c) for c in coords] if isinstance(coords, list) else []
    if len(nums) not in (2, 3) or any(n is None for n in nums):
        _geojson_error(
            file, f"{where}.geometry.coordinates", coords, "bad coordinates", "[lon, lat]"
        )
    props = feat.get("properties") or {}
    if not isinstance(props, dict):
        _geojson_error(file, f"{where}.properties", props, "not an object", "an object")
    fid = props.get("id", feat.get("id"))
    attrs = {k: v for k, v in props.items() if k not in {"id", "name", "kind", "capacity", "year"}}
    capacity = props.get("capacity")
    if capacity is not None and (_number(capacity) is None or float(capacity) < 0):
        _geojson_error(
            file, f"{where}.properties.capacity", capacity, "bad capacity", "a number >= 0"
        )
    fyear = props.get("year", year)
    if not isinstance(fyear, int) or isinstance(fyear, bool) or not 1900 <= fyear <= 2099:
        _geojson_error(file, f"{where}.properties.year", fyear, "bad year", "a year (integer)")
    return {
        "facility_id": "" if fid is None else str(fid),
        "year": fyear,
        "kind": props.get("kind") or kind,
        "name": props.get("name"),
        "lon": nums[0],
        "lat": nums[1],
        "capacity": np.nan if capacity is None else float(capacity),
        "attributes": json.dumps(attrs, ensure_ascii=False, sort_keys=True) if attrs else None,
    }


def _read_geojson(path: Path, year: int, kind: str) -> ImportBatch:
    file = str(path)
    features = _geojson_features(path)
    frame = pd.DataFrame([_geojson_row(file, i, f, year, kind) for i, f in enumerate(features)])
    where_of = [f"features[{i}]" for i in range(len(frame))]
    lon = frame["lon"].to_numpy(dtype=float)
    lat = frame["lat"].to_numpy(dtype=float)
    try:
        check_coordinates(file, lon, lat, lines=[None] * len(frame))
    except InputFormatError as exc:
        i = int(np.flatnonzero((lon == exc.value) | (lat == exc.value))[0])
        raise InputFormatError(
            file,
            column=f"{where_of[i]}.geometry.coordinates",
            value=[float(lon[i]), float(lat[i])],
            reason=exc.reason,
            expected="[lon, lat] " + exc.expected,
        ) from None
    ids = frame["facility_id"].tolist()
    _check_ids(file, ids, frame["year"].tolist(), [None] * len(frame), "properties.id")
    return ImportBatch(
        meta=_generic_meta(path),
        tables={"facilities": conform("facilities", frame)},
        rows_read=len(frame),
    )


def read(
    path: str | Path, *, year: int = DEFAULT_YEAR, facility_kind: str = DEFAULT_KIND
) -> ImportBatch:
    """Read a facility list (G-BA hospitals, generic CSV or GeoJSON) into ``facilities``.

    Parameters
    ----------
    path
        ``.csv``/``.txt`` or ``.geojson``/``.json``.
    year, facility_kind
        Used for rows whose file gives no year or no kind.

    Raises
    ------
    InputFormatError
        With the file, line (CSV; for GeoJSON the JSON path is the column), column and value:
        missing columns, text in a number, swapped or out-of-range coordinates, missing or
        duplicate ids, a GeoJSON that is not a FeatureCollection of Points, an empty file.
    """
    p = Path(path)
    if p.suffix.lower() in {".geojson", ".json"}:
        return _read_geojson(p, year, facility_kind)
    rec = read_records(p)
    if all(c in rec.header for c in _HOSPITAL_COLUMNS):
        return _read_hospitals(rec, p)
    return _read_generic_csv(rec, p, year, facility_kind)

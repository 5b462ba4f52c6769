"""Writing results: atomically (nothing half-written on error), CSV or a point/polygon layer.

Every output is written to a temporary file in the target folder and renamed at the end, so that an
error never leaves a partial file behind and a reader never sees one. The temporary name keeps the
suffix (GDAL drivers pick the format by it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from wandel.errors import OutputPathError

__all__ = [
    "CSV_SUFFIXES",
    "GEO_SUFFIXES",
    "check_suffix",
    "write_atomic",
    "write_csv",
    "write_geo",
    "write_table",
]

CSV_SUFFIXES: tuple[str, ...] = (".csv",)
GEO_SUFFIXES: dict[str, str] = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}
"""Suffix -> GDAL driver of the geodata outputs."""


def check_suffix(option: str, path: Path, suffixes: Sequence[str]) -> str:
    """The lower-case suffix of ``path`` if it is one of ``suffixes``.

    Raises
    ------
    OutputPathError
        Another suffix (named with the option that gave the path).
    """
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise OutputPathError(option, str(path), suffixes)
    return suffix


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path`` and rename it to ``path``.

    On any error the temporary file is removed and ``path`` is left as it was.
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


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """A table as CSV (six decimals, empty cells for missing values), atomically."""
    return write_atomic(
        path, lambda p: frame.to_csv(p, index=False, float_format="%.6f", na_rep="")
    )


def write_table(frame: pd.DataFrame, path: Path, points: pd.DataFrame, key: str) -> Path:
    """CSV, or with a ``.gpkg``/``.geojson`` suffix a point layer (WGS84) at the ``points``
    (``id, lon, lat``) matched by ``frame[key]``, for a map in QGIS or a web map."""
    if GEO_SUFFIXES.get(path.suffix.lower()) is None:
        return write_csv(frame, path)
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
    return write_geo(geo, path)


def write_geo(geo: Any, path: Path) -> Path:
    """Write a GeoDataFrame atomically as GeoPackage or GeoJSON (by the suffix of ``path``)."""
    driver = GEO_SUFFIXES[check_suffix("--out", path, tuple(GEO_SUFFIXES))]
    layer = re.sub(r"[^A-Za-z0-9_]", "_", path.stem) or "wandel"  # not the temporary file's name
    opts = {"layer": layer} if driver == "GPKG" else {}
    return write_atomic(path, lambda p: geo.to_file(p, driver=driver, **opts))

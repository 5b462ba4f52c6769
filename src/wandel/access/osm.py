"""Read the highway ways of an OpenStreetMap extract (``.osm.pbf``, ``.osm``, ``.osm.gz``).

The reader streams the file once with pyosmium's :class:`osmium.FileProcessor`, keeping node
locations in memory (``with_locations``) and only ways tagged ``highway=*``. The result is a flat,
columnar :class:`OsmWays`: the node references of every way concatenated, with their coordinates,
and per way the few tags that routing needs. Nothing here knows about travel modes; that is
:mod:`wandel.access.network`.

Every failure of the file itself (not OSM, truncated, compressed stream broken, no roads) becomes a
:class:`wandel.errors.InputFormatError` naming the file; no traceback from the C++ layer reaches the
user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from wandel.errors import InputFormatError

__all__ = ["ROUTING_TAGS", "SUPPORTED_SUFFIXES", "OsmWays", "read_highways"]

#: The way tags that :mod:`wandel.access.network` looks at; all other tags are dropped on reading.
ROUTING_TAGS: tuple[str, ...] = (
    "highway",
    "oneway",
    "oneway:bicycle",
    "junction",
    "maxspeed",
    "access",
    "vehicle",
    "motor_vehicle",
    "motorcar",
    "bicycle",
    "foot",
    "area",
)

#: File name endings the reader accepts (pyosmium picks the parser by the ending).
SUPPORTED_SUFFIXES: tuple[str, ...] = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2")


@dataclass(frozen=True)
class OsmWays:
    """The highway ways of one extract, in flat arrays.

    Way ``k`` has the nodes ``node_id[way_offsets[k]:way_offsets[k+1]]`` in drawing order, with
    coordinates ``lon``/``lat`` (WGS84 degrees). Nodes whose location is missing from the extract
    (ways cut at the extract's border) are left out, which splits nothing: the way simply starts or
    ends at its first or last node inside the extract. ``tags[k]`` holds the routing tags of way
    ``k`` (see :data:`ROUTING_TAGS`), ``way_id[k]`` its OSM id.
    """

    source: str
    way_id: npt.NDArray[np.int64]
    way_offsets: npt.NDArray[np.int64]
    node_id: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    tags: tuple[Mapping[str, str], ...]

    @property
    def n_ways(self) -> int:
        """Number of highway ways read."""
        return len(self.way_id)


def _check_suffix(path: Path) -> None:
    name = path.name.lower()
    if not any(name.endswith(s) for s in SUPPORTED_SUFFIXES):
        raise InputFormatError(
            str(path),
            value=path.name,
            reason="not an OpenStreetMap extract",
            expected="a file ending in " + ", ".join(SUPPORTED_SUFFIXES),
        )


def read_highways(path: str | Path) -> OsmWays:
    """Read every ``highway=*`` way of an OSM extract with node coordinates.

    Parameters
    ----------
    path
        An ``.osm.pbf``, ``.osm`` or ``.osm.gz`` (also ``.osm.bz2``) file.

    Returns
    -------
    OsmWays
        Flat arrays of the ways' nodes and coordinates and their routing tags.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    wandel.errors.InputFormatError
        The file is not OSM, is truncated or corrupt, or holds no highway way with located nodes.
    """
    import osmium  # local: a heavy C++ extension, loaded only when an extract is read

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"OSM extract not found: {p}")
    _check_suffix(p)

    way_ids: list[int] = []
    offsets: list[int] = [0]
    node_ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    tags: list[dict[str, str]] = []
    try:
        processor = (
            osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            if not isinstance(way, osmium.osm.Way):
                continue
            refs = []
            wlon = []
            wlat = []
            for n in way.nodes:
                loc = n.location
                if loc.valid():
                    refs.append(n.ref)
                    wlon.append(loc.lon)
                    wlat.append(loc.lat)
            if len(refs) < 2:
                continue
            way_ids.append(way.id)
            node_ids.extend(refs)
            lons.extend(wlon)
            lats.extend(wlat)
            offsets.append(len(node_ids))
            wtags = way.tags
            tags.append({k: wtags[k] for k in ROUTING_TAGS if k in wtags})
    except (RuntimeError, ValueError, OSError) as exc:
        raise InputFormatError(
            str(p),
            reason=f"cannot read as OpenStreetMap data ({exc})",
            expected="a complete OSM XML, gzip-compressed XML or PBF extract",
        ) from None
    if not way_ids:
        raise InputFormatError(
            str(p),
            reason="no roads: the extract holds no highway=* way with located nodes",
            expected="an extract containing a road network",
        )
    return OsmWays(
        source=str(p),
        way_id=np.asarray(way_ids, dtype=np.int64),
        way_offsets=np.asarray(offsets, dtype=np.int64),
        node_id=np.asarray(node_ids, dtype=np.int64),
        lon=np.asarray(lons, dtype=np.float64),
        lat=np.asarray(lats, dtype=np.float64),
        tags=tuple(tags),
    )

"""Road networks as compact directed graphs (CSR arrays) for car, bicycle and walking.

A :class:`RoadNetwork` holds, for ``n`` nodes and ``m`` directed edges,

- ``indptr`` (n + 1), ``indices`` (m, int32), ``weight_s`` (m, float64 travel seconds) and
  ``length_m`` (m): the out-edges of node ``i`` are ``indices[indptr[i]:indptr[i+1]]``;
- the same for the reversed graph (``rev_*``), prepared once, for searches *towards* targets;
- ``node_lon``, ``node_lat`` (WGS84) and ``node_osm_id`` (OSM node ids, or synthetic ids).

How an OSM extract becomes a graph (:func:`build_network`):

1. **Classes and speeds.** A way is routable for a mode if its ``highway`` value is a key of the
   mode's speed table (:data:`DEFAULT_SPEEDS_KPH`; overrides per class add or change entries, a
   speed of 0 removes a class). Cars use a sane ``maxspeed`` tag (5 to 150 km/h; ``DE:urban`` 50,
   ``DE:rural`` 100, ``DE:living_street``/``walk`` 7, ``DE:zone30`` 30) instead of the class speed;
   ``none``, ``signals``, ``variable`` and unparsable values fall back to the class speed.
2. **Access.** The most specific tag decides: car ``motorcar`` > ``motor_vehicle`` > ``vehicle`` >
   ``access``; bicycle ``bicycle`` > ``vehicle`` > ``access``; walk ``foot`` > ``access``. Values
   ``no``, ``private``, ``agricultural``, ``forestry`` (and ``agricultural;forestry``) exclude the way;
   every other value admits it. Footways, paths, steps, tracks and cycleways are not in the car table;
   motorways are not in the bicycle and walk tables.
3. **One-way streets.** ``oneway=yes/true/1`` admits only the drawing direction, ``-1``/``reverse``
   only the opposite one; ``junction=roundabout``/``circular`` and ``highway=motorway`` imply
   ``oneway=yes`` unless ``oneway=no``. Bicycles obey one-way rules except where
   ``oneway:bicycle=no``; walking ignores them.
4. **Geometry.** Every pair of consecutive nodes of a way is an edge, its length the haversine
   distance (:func:`wandel.access._geo.haversine_m`), its weight ``length_m / (speed_kph / 3.6)``.
   Intermediate nodes are **kept** (no contraction): snapping may land on any shape point, isochrones
   follow the real geometry and travel times are exact sums of segment times. Parallel edges keep the
   fastest; self-loops are dropped.
5. **Largest strongly connected component.** Only the largest strongly connected component
   (:func:`scipy.sparse.csgraph.connected_components`, ``connection="strong"``) is kept, so every
   node reaches every other one and snapped points never land on an island.

:func:`load_network` adds a cache: an ``.npz`` file in ``cache_dir`` whose name holds a key made from
the extract's SHA-256, the mode, the speed table and the format version; a second call with the same
inputs reads the arrays and does not parse the extract again.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from wandel.access._geo import haversine_m
from wandel.access.osm import OsmWays, read_highways
from wandel.errors import InputFormatError, OptionError, UnknownChoiceError, shown

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "MODES",
    "Mode",
    "RoadNetwork",
    "build_network",
    "cache_key",
    "load_network",
    "network_from_edges",
    "parse_maxspeed_kph",
    "speed_table",
]

Mode = Literal["car", "bike", "walk"]
MODES: tuple[Mode, ...] = ("car", "bike", "walk")

#: Format version of cached networks; raise it when the build rules change.
CACHE_VERSION = 1

#: Default speeds in km/h by ``highway`` class and mode. A class missing from a mode's table is not
#: routable for that mode. Car speeds are typical free-flow averages on German roads below the legal
#: limit (towns 30-50, rural 60-100, motorway 120); bicycle 15 km/h on roads (utility cycling, as in
#: most cycling accessibility studies), slower off-road; walking 5 km/h, 3 km/h on steps.
DEFAULT_SPEEDS_KPH: Mapping[Mode, Mapping[str, float]] = {
    "car": {
        "motorway": 120.0,
        "motorway_link": 60.0,
        "trunk": 90.0,
        "trunk_link": 50.0,
        "primary": 70.0,
        "primary_link": 50.0,
        "secondary": 60.0,
        "secondary_link": 45.0,
        "tertiary": 50.0,
        "tertiary_link": 40.0,
        "unclassified": 40.0,
        "residential": 30.0,
        "living_street": 7.0,
        "service": 20.0,
        "road": 30.0,
    },
    "bike": {
        "trunk": 15.0,
        "trunk_link": 15.0,
        "primary": 15.0,
        "primary_link": 15.0,
        "secondary": 15.0,
        "secondary_link": 15.0,
        "tertiary": 15.0,
        "tertiary_link": 15.0,
        "unclassified": 15.0,
        "residential": 15.0,
        "living_street": 10.0,
        "service": 15.0,
        "road": 15.0,
        "cycleway": 16.0,
        "track": 12.0,
        "path": 12.0,
        "bridleway": 10.0,
        "footway": 6.0,
        "pedestrian": 6.0,
    },
    "walk": {
        "trunk": 5.0,
        "trunk_link": 5.0,
        "primary": 5.0,
        "primary_link": 5.0,
        "secondary": 5.0,
        "secondary_link": 5.0,
        "tertiary": 5.0,
        "tertiary_link": 5.0,
        "unclassified": 5.0,
        "residential": 5.0,
        "living_street": 5.0,
        "service": 5.0,
        "road": 5.0,
        "cycleway": 5.0,
        "track": 5.0,
        "path": 5.0,
        "bridleway": 5.0,
        "footway": 5.0,
        "pedestrian": 5.0,
        "corridor": 5.0,
        "steps": 3.0,
    },
}

_DENY = frozenset({"no", "private", "agricultural", "forestry", "agricultural;forestry"})
_ACCESS_KEYS: Mapping[Mode, tuple[str, ...]] = {
    "car": ("motorcar", "motor_vehicle", "vehicle", "access"),
    "bike": ("bicycle", "vehicle", "access"),
    "walk": ("foot", "access"),
}
_ONEWAY_FWD = frozenset({"yes", "true", "1"})
_ONEWAY_BWD = frozenset({"-1", "reverse"})
_MAXSPEED_NAMED = {
    "de:urban": 50.0,
    "de:rural": 100.0,
    "de:living_street": 7.0,
    "de:walk": 7.0,
    "walk": 7.0,
    "de:zone30": 30.0,
    "de:zone:30": 30.0,
    "de:zone20": 20.0,
    "de:zone:20": 20.0,
    "de:bicycle_road": 30.0,
}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def speed_table(mode: Mode, overrides_kph: Mapping[str, float] | None = None) -> dict[str, float]:
    """The speed table of a mode with per-class overrides applied.

    A positive override sets (or adds) a class; an override of 0 removes the class from the mode.

    >>> speed_table("car", {"residential": 25, "service": 0})["residential"]
    25.0
    >>> "service" in speed_table("car", {"service": 0})
    False
    """
    if mode not in DEFAULT_SPEEDS_KPH:
        raise UnknownChoiceError("mode", mode, list(MODES))
    table = dict(DEFAULT_SPEEDS_KPH[mode])
    for cls, kph in (overrides_kph or {}).items():
        value = float(kph)
        if not np.isfinite(value) or value < 0:
            raise OptionError("@access.error.speed", cls=cls, value=shown(kph))
        if value == 0:
            table.pop(cls, None)
        else:
            table[cls] = value
    return table


def parse_maxspeed_kph(value: str | None) -> float | None:
    """A ``maxspeed`` tag in km/h, or ``None`` where it is absent, not numeric or not sane.

    Sane means 5 to 150 km/h; ``mph`` values are converted; several values (``30;50``) give the
    lowest.

    >>> parse_maxspeed_kph("50"), parse_maxspeed_kph("DE:urban"), parse_maxspeed_kph("none")
    (50.0, 50.0, None)
    >>> parse_maxspeed_kph("20 mph")
    32.18688
    """
    if value is None:
        return None
    speeds: list[float] = []
    for part in value.split(";"):
        text = part.strip().lower()
        if text in _MAXSPEED_NAMED:
            speeds.append(_MAXSPEED_NAMED[text])
            continue
        m = _NUMBER.match(text)
        if m is None:
            continue
        kph = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)
        speeds.append(kph)
    if not speeds:
        return None
    kph = min(speeds)
    return kph if 5.0 <= kph <= 150.0 else None


def _allowed(tags: Mapping[str, str], mode: Mode) -> bool:
    for key in _ACCESS_KEYS[mode]:
        if key in tags:
            return tags[key].strip().lower() not in _DENY
    return True


def _directions(tags: Mapping[str, str], mode: Mode) -> tuple[bool, bool]:
    """(forward, backward) admitted for the mode."""
    if mode == "walk":
        return True, True
    oneway = tags.get("oneway", "").strip().lower()
    if mode == "bike" and tags.get("oneway:bicycle", "").strip().lower() == "no":
        return True, True
    if oneway in _ONEWAY_FWD:
        return True, False
    if oneway in _ONEWAY_BWD:
        return False, True
    if oneway == "no":
        return True, True
    implied = tags.get("junction", "") in ("roundabout", "circular") or (
        tags.get("highway") == "motorway"
    )
    return (True, False) if implied else (True, True)


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph in CSR arrays (see the module docstring for the layout).

    Node positions ``0..n_nodes-1`` are internal; ``node_osm_id`` maps them to OSM node ids. Use
    :mod:`wandel.access.snap` to get from the user's points to node positions.
    """

    mode: str
    indptr: IntArray
    indices: npt.NDArray[np.int32]
    weight_s: FloatArray
    length_m: FloatArray
    rev_indptr: IntArray
    rev_indices: npt.NDArray[np.int32]
    rev_weight_s: FloatArray
    node_lon: FloatArray
    node_lat: FloatArray
    node_osm_id: IntArray
    source: str = ""
    key: str = ""

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_lon)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.indices)

    def graph(self, *, reverse: bool = False) -> Any:
        """The graph as a :class:`scipy.sparse.csr_matrix` of travel seconds, sharing the arrays.

        ``reverse=True`` gives the transposed graph: a search from ``t`` on it yields the travel
        times *to* ``t``.
        """
        from scipy.sparse import csr_matrix

        n = self.n_nodes
        if reverse:
            arrays = (self.rev_weight_s, self.rev_indices, self.rev_indptr)
        else:
            arrays = (self.weight_s, self.indices, self.indptr)
        g = csr_matrix(arrays, shape=(n, n), copy=False)
        g.has_sorted_indices = True
        return g

    def edge_sources(self) -> npt.NDArray[np.int64]:
        """The tail node of every forward edge (``indices`` holds the heads)."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))

    def to_npz(self, path: str | Path) -> None:
        """Write the network's arrays to an uncompressed ``.npz`` file."""
        np.savez(
            path,
            mode=np.array(self.mode),
            indptr=self.indptr,
            indices=self.indices,
            weight_s=self.weight_s,
            length_m=self.length_m,
            rev_indptr=self.rev_indptr,
            rev_indices=self.rev_indices,
            rev_weight_s=self.rev_weight_s,
            node_lon=self.node_lon,
            node_lat=self.node_lat,
            node_osm_id=self.node_osm_id,
            source=np.array(self.source),
            key=np.array(self.key),
        )

    @classmethod
    def from_npz(cls, path: str | Path) -> RoadNetwork:
        """Read a network written by :meth:`to_npz`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                mode=str(z["mode"]),
                indptr=z["indptr"],
                indices=z["indices"],
                weight_s=z["weight_s"],
                length_m=z["length_m"],
                rev_indptr=z["rev_indptr"],
                rev_indices=z["rev_indices"],
                rev_weight_s=z["rev_weight_s"],
                node_lon=z["node_lon"],
                node_lat=z["node_lat"],
                node_osm_id=z["node_osm_id"],
                source=str(z["source"]),
                key=str(z["key"]),
            )


def _csr(
    tail: IntArray, head: IntArray, weight_s: FloatArray, length_m: FloatArray, n: int
) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray, FloatArray]:
    order = np.lexsort((head, tail))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return (
        indptr,
        head[order].astype(np.int32),
        np.ascontiguousarray(weight_s[order]),
        np.ascontiguousarray(length_m[order]),
    )


def network_from_edges(
    tail: npt.ArrayLike,
    head: npt.ArrayLike,
    weight_s: npt.ArrayLike,
    node_lon: npt.ArrayLike,
    node_lat: npt.ArrayLike,
    *,
    length_m: npt.ArrayLike | None = None,
    node_id: npt.ArrayLike | None = None,
    mode: str = "car",
    largest_component: bool = True,
    source: str = "",
    key: str = "",
) -> RoadNetwork:
    """Assemble a :class:`RoadNetwork` from directed edges (the core constructor).

    Self-loops are dropped, parallel edges keep the smallest weight, nodes without edges are dropped
    and, with ``largest_component``, only the largest strongly connected component is kept; nodes
    are renumbered in their original order.

    Parameters
    ----------
    tail, head
        Edge end points as positions into ``node_lon``/``node_lat``.
    weight_s
        Travel time of each edge in seconds (finite, >= 0).
    node_lon, node_lat
        Node coordinates (WGS84 degrees).
    length_m
        Edge lengths; by default the haversine distance of the end points.
    node_id
        External node ids (OSM ids); by default the positions.

    >>> net = network_from_edges([0, 1, 1, 2], [1, 0, 2, 1], [10.0, 10.0, 5.0, 5.0],
    ...                          [8.0, 8.001, 8.002], [49.0, 49.0, 49.0])
    >>> net.n_nodes, net.n_edges, net.weight_s.tolist()
    (3, 4, [10.0, 10.0, 5.0, 5.0])
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    t = np.asarray(tail, dtype=np.int64)
    h = np.asarray(head, dtype=np.int64)
    w = np.asarray(weight_s, dtype=np.float64)
    lon = np.asarray(node_lon, dtype=np.float64)
    lat = np.asarray(node_lat, dtype=np.float64)
    ids = np.arange(len(lon), dtype=np.int64) if node_id is None else np.asarray(node_id, np.int64)
    if length_m is None:
        ln = haversine_m(lon[t], lat[t], lon[h], lat[h])
    else:
        ln = np.asarray(length_m, dtype=np.float64)
    if not (len(t) == len(h) == len(w) == len(ln)):
        lengths = [len(t), len(h), len(w), len(ln)]
        raise OptionError("@access.error.edge_lengths", lengths=[str(k) for k in lengths])
    if len(w) and (not np.all(np.isfinite(w)) or w.min() < 0):
        raise OptionError("@access.error.edge_weights")

    keep = t != h
    t, h, w, ln = t[keep], h[keep], w[keep], ln[keep]
    # parallel edges: keep the fastest
    order = np.lexsort((w, h, t))
    t, h, w, ln = t[order], h[order], w[order], ln[order]
    first = np.ones(len(t), dtype=bool)
    first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
    t, h, w, ln = t[first], h[first], w[first], ln[first]

    used = np.zeros(len(lon), dtype=bool)
    used[t] = True
    used[h] = True
    if largest_component and len(t):
        n0 = len(lon)
        g = csr_matrix((np.ones(len(t)), (t, h)), shape=(n0, n0))
        _, labels = connected_components(g, directed=True, connection="strong")
        best = int(np.argmax(np.bincount(labels, weights=used.astype(np.float64))))
        used &= labels == best
        ekeep = used[t] & used[h]
        t, h, w, ln = t[ekeep], h[ekeep], w[ekeep], ln[ekeep]
    newpos = np.full(len(lon), -1, dtype=np.int64)
    newpos[used] = np.arange(int(used.sum()))
    n = int(used.sum())
    t, h = newpos[t], newpos[h]
    indptr, indices, wf, lf = _csr(t, h, w, ln, n)
    rindptr, rindices, rw, _ = _csr(h, t, w, ln, n)
    return RoadNetwork(
        mode=mode,
        indptr=indptr,
        indices=indices,
        weight_s=wf,
        length_m=lf,
        rev_indptr=rindptr,
        rev_indices=rindices,
        rev_weight_s=rw,
        node_lon=lon[used],
        node_lat=lat[used],
        node_osm_id=ids[used],
        source=source,
        key=key,
    )


def build_network(
    ways: OsmWays,
    mode: Mode = "car",
    *,
    speeds_kph: Mapping[str, float] | None = None,
    use_maxspeed: bool = True,
    key: str = "",
) -> RoadNetwork:
    """Build the routable graph of one mode from the highway ways of an extract.

    Parameters
    ----------
    ways
        From :func:`wandel.access.osm.read_highways`.
    mode
        ``"car"``, ``"bike"`` or ``"walk"``.
    speeds_kph
        Per-class overrides of :data:`DEFAULT_SPEEDS_KPH` (see :func:`speed_table`).
    use_maxspeed
        Cars: use sane ``maxspeed`` tags instead of the class speed.

    Raises
    ------
    wandel.errors.InputFormatError
        No way of the extract is routable for the mode.
    """
    table = speed_table(mode, speeds_kph)
    nw = ways.n_ways
    speed = np.zeros(nw)
    fwd = np.zeros(nw, dtype=bool)
    bwd = np.zeros(nw, dtype=bool)
    for k, tags in enumerate(ways.tags):
        cls = tags.get("highway", "")
        kph = table.get(cls)
        if kph is None or tags.get("area") == "yes" or not _allowed(tags, mode):
            continue
        if mode == "car" and use_maxspeed:
            tagged = parse_maxspeed_kph(tags.get("maxspeed"))
            if tagged is not None:
                kph = tagged
        speed[k] = kph
        fwd[k], bwd[k] = _directions(tags, mode)
    if not (fwd | bwd).any():
        raise InputFormatError(
            ways.source,
            reason="@access.error.no_roads",
            expected="@access.error.road_classes",
            fields={"mode": mode, "classes": sorted(table)},
        )
    # unique nodes -> positions; coordinates of the first occurrence
    uniq, first_idx, pos = np.unique(ways.node_id, return_index=True, return_inverse=True)
    seg_way = np.repeat(np.arange(nw), np.diff(ways.way_offsets))[:-1]
    ok = np.ones(len(ways.node_id) - 1, dtype=bool)
    ok[ways.way_offsets[1:-1] - 1] = False  # no edge across the boundary of two ways
    a = np.flatnonzero(ok)
    seg_way = seg_way[a]
    length = haversine_m(ways.lon[a], ways.lat[a], ways.lon[a + 1], ways.lat[a + 1])
    mps = speed[seg_way] / 3.6
    f = fwd[seg_way]
    b = bwd[seg_way]
    tail = np.concatenate([pos[a][f], pos[a + 1][b]])
    head = np.concatenate([pos[a + 1][f], pos[a][b]])
    ln = np.concatenate([length[f], length[b]])
    w = ln / np.concatenate([mps[f], mps[b]])
    return network_from_edges(
        tail,
        head,
        w,
        ways.lon[first_idx],
        ways.lat[first_idx],
        length_m=ln,
        node_id=uniq,
        mode=mode,
        source=ways.source,
        key=key,
    )


def cache_key(
    sha256: str, mode: Mode, speeds_kph: Mapping[str, float] | None, use_maxspeed: bool
) -> str:
    """The cache key of a network: a hash of the extract's SHA-256, mode, speed table and version."""
    payload = json.dumps(
        {
            "sha256": sha256,
            "mode": mode,
            "speeds": sorted(speed_table(mode, speeds_kph).items()),
            "maxspeed": use_maxspeed,
            "version": CACHE_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def load_network(
    path: str | Path,
    mode: Mode = "car",
    *,
    speeds_kph: Mapping[str, float] | None = None,
    use_maxspeed: bool = True,
    cache_dir: str | Path | None = None,
) -> RoadNetwork:
    """Read an OSM extract and build the network of a mode, through a cache if ``cache_dir`` is given.

    The cache file is ``<cache_dir>/<extract name>.<mode>.<key>.npz`` with ``key`` from
    :func:`cache_key`; a changed file (other SHA-256), mode or speed table gives another key.

    Raises
    ------
    FileNotFoundError
        The extract does not exist.
    wandel.errors.InputFormatError
        Not OSM, truncated, or no roads for the mode.
    """
    from wandel.sources.base import sha256_of

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(errno.ENOENT, "OSM extract not found", str(p))
    key = cache_key(sha256_of(p), mode, speeds_kph, use_maxspeed)
    target: Path | None = None
    if cache_dir is not None:
        target = Path(cache_dir) / f"{p.name}.{mode}.{key}.npz"
        if target.is_file():
            try:
                return RoadNetwork.from_npz(target)
            except (OSError, ValueError, KeyError):
                pass  # a broken cache file is rebuilt below
    net = build_network(
        read_highways(p), mode, speeds_kph=speeds_kph, use_maxspeed=use_maxspeed, key=key
    )
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp.npz")
        net.to_npz(tmp)
        tmp.replace(target)
    return net

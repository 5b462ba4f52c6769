"""Territorial changes of Gemeinden between two Gemeindeverzeichnis years, derived from the data.

Between GV years A < B every Gemeinde of A maps to one or more Gemeinden of B. :func:`derive_changes`
finds these maps from keys, names, areas, Gemeindeverband membership and centre coordinates, and
records each as a row ``from_zone, to_zone, from_year, to_year, weight, basis, kind`` (plus
``flagged``, ``from_pop``, ``from_area_km2`` and ``note``). Gemeinden with the same key, name and area
in A and B have no row (identity).

Kinds and their weights (share of the old zone going to the new one; each old zone's weights sum
to 1, so totals are conserved):

* ``renamed`` (same key, other name; weight 1), ``key_changed`` (other key, same name and area, e.g.
  after a Kreis merger; weight 1),
* ``absorbed`` (the old Gemeinde is dissolved into a Gemeinde that existed in A; weight 1) and
  ``merged`` (dissolved into a Gemeinde new in B; weight 1),
* ``split`` (a Gemeinde that keeps its key but lost area: weight ``area_B / area_A`` to itself and the
  rest to the neighbour that gained it; area shares, since the GV gives no population by part;
  always ``flagged``).

The target of a dissolved Gemeinde is, in order: the Gemeinde whose polygon (optional ``boundaries``,
e.g. VG250) contains its centre, if that Gemeinde exists in B (basis ``coordinates``); the one
Gemeindeverband sibling of A that survives in B and grew (basis ``key``); else the nearest growing
Gemeinde of the same Kreis by centre distance (basis ``coordinates``). A centre more than
:data:`PLAUSIBLE_KM` from its Gemeindeverband's other members is a misplaced coordinate (the 2009
extract has some: same-named Gemeinden elsewhere) and is replaced by the members' mean. Finally
every receiving Gemeinde's area gain is checked against the areas it received
(``|gain - received| <= max(0.5 km², 2 %)``); rows of a receiver that fails are ``flagged``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wandel.tables import CHANGE_COLUMNS

__all__ = [
    "CHANGE_COLUMNS",
    "PLAUSIBLE_KM",
    "Derivation",
    "derive",
    "derive_changes",
    "derive_step",
    "name_base",
]


PLAUSIBLE_KM = 25.0
"""A Gemeinde centre further than this from its Verband siblings' mean is treated as misplaced."""


def name_base(name: str) -> str:
    """The comparable part of a Gemeinde name: before the first comma, lower case, letters only.

    >>> name_base("Hettstedt, Stadt"), name_base("Eisleben, Lutherstadt")
    ('hettstedt', 'eisleben')
    """
    base = re.split(r"[,/]", name)[0].lower()
    return re.sub(r"[^a-zäöüß0-9]", "", base)


def _tol_km2(area: float) -> float:
    return max(0.5, 0.02 * area)


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Equirectangular distance in km (fine at the scale of a Kreis)."""
    x = np.radians(lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    y = np.radians(lat2 - lat1)
    return float(6371.0 * np.hypot(x, y))


def _gemeinden(gv: pd.DataFrame, year: int) -> pd.DataFrame:
    g = gv[(gv["year"] == year) & (gv["level"] == "gemeinde")].copy()
    g["base"] = g["name"].astype(str).map(name_base)
    return g.set_index("zone", drop=False)


def _columns(g: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Column -> {zone: value}: fast scalar look-ups in the loops below."""
    cols = ("name", "base", "area_km2", "pop_total", "lon", "lat", "parent")
    return {c: dict(zip(g["zone"], g[c].tolist(), strict=True)) for c in cols}


def _reference_points(a: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """A plausible centre for each Gemeinde of A (see :data:`PLAUSIBLE_KM`)."""
    lon = a["lon"].astype(float)
    lat = a["lat"].astype(float)
    par = a["parent"].astype(str)
    mlon = lon.groupby(par).transform("median").to_numpy()
    mlat = lat.groupby(par).transform("median").to_numpy()
    n = lon.groupby(par).transform("count").to_numpy()
    x = np.radians(mlon - lon.to_numpy()) * np.cos(np.radians(lat.to_numpy()))
    y = np.radians(mlat - lat.to_numpy())
    far = (6371.0 * np.hypot(x, y) > PLAUSIBLE_KM) & (n >= 3)
    own = np.isfinite(lon.to_numpy()) & np.isfinite(lat.to_numpy()) & ~far
    use_lon = np.where(own, lon.to_numpy(), mlon)
    use_lat = np.where(own, lat.to_numpy(), mlat)
    ok = np.isfinite(use_lon) & np.isfinite(use_lat)
    return {
        z: (float(x0), float(y0))
        for z, x0, y0, k in zip(a["zone"], use_lon, use_lat, ok, strict=True)
        if k
    }


def _containing(
    points: Mapping[str, tuple[float, float]], boundaries: pd.DataFrame | None
) -> dict[str, str]:
    """AGS of the boundary polygon containing each point (``boundaries``: ``zone`` + ``geometry``)."""
    if boundaries is None or len(points) == 0:
        return {}
    import geopandas as gpd  # local: optional cross-check

    keys = list(points)
    pts = gpd.GeoSeries(
        gpd.points_from_xy([points[k][0] for k in keys], [points[k][1] for k in keys]),
        crs="EPSG:4326",
    )
    b = boundaries if isinstance(boundaries, gpd.GeoDataFrame) else gpd.GeoDataFrame(boundaries)
    pts = pts.to_crs(b.crs) if b.crs is not None else pts
    ipt, ipoly = b.sindex.query(pts.to_numpy(), predicate="within")
    zones = b["zone"].to_numpy()
    return {keys[i]: str(zones[j]) for i, j in zip(ipt, ipoly, strict=True)}


def derive_step(
    gv: pd.DataFrame, from_year: int, to_year: int, boundaries: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Changes of Gemeinden from GV year ``from_year`` to ``to_year`` (see the module docstring).

    The steps, in order: renamed Gemeinden (same key, other name); key changes (same Land, name and
    area under a new key); the Gemeinden of the later year that gained area (receivers); each
    dissolved Gemeinde placed in a receiver (:meth:`_Step.place_gone`); partial splits of
    continuing Gemeinden that lost area; identity rows of receivers that kept their key; a flag on
    every receiver whose gain the assigned areas do not explain.
    """
    return _derive_step(gv, from_year, to_year, boundaries)[0]


def _derive_step(
    gv: pd.DataFrame, from_year: int, to_year: int, boundaries: pd.DataFrame | None
) -> tuple[pd.DataFrame, list[str]]:
    """:func:`derive_step`, and the dissolved Gemeinden it found no receiver for."""
    step = _Step.between(gv, from_year, to_year)
    continuing, gone, new = step.match_keys()
    gain = step.gains(continuing, new)
    points = _reference_points(step.a)
    bc = step.bc
    bpoints = {
        z: (float(bc["lon"][z]), float(bc["lat"][z]))
        for z in gain
        if np.isfinite(bc["lon"][z]) and np.isfinite(bc["lat"][z])
    }
    step.received = dict.fromkeys(gain, 0.0)
    step.place_gone(gone, continuing, gain, _Points(points, bpoints), boundaries)
    step.partial_splits(continuing, gain, _Points(points, bpoints))
    step.identity_rows(continuing)
    return step.table(gain, from_year, to_year), step.uncovered


@dataclass(frozen=True)
class _Points:
    """Reference points (lon, lat) of the earlier year's Gemeinden and of the receivers."""

    earlier: dict[str, tuple[float, float]]
    receivers: dict[str, tuple[float, float]]


@dataclass
class _Step:
    """The working state of one :func:`derive_step`: both years' Gemeinden and the rows so far."""

    a: pd.DataFrame
    b: pd.DataFrame
    ac: dict[str, dict[str, Any]]
    bc: dict[str, dict[str, Any]]
    rows: list[dict[str, object]] = field(default_factory=list)
    received: dict[str, float] = field(default_factory=dict)
    uncovered: list[str] = field(default_factory=list)

    @classmethod
    def between(cls, gv: pd.DataFrame, from_year: int, to_year: int) -> _Step:
        a, b = _gemeinden(gv, from_year), _gemeinden(gv, to_year)
        return cls(a, b, _columns(a), _columns(b))

    def add(self, o: str, t: str, w: float, basis: str, kind: str, note: str = "") -> None:
        self.rows.append(
            {
                "from_zone": o,
                "to_zone": t,
                "weight": w,
                "basis": basis,
                "kind": kind,
                "flagged": kind == "split",
                "from_pop": float(self.ac["pop_total"][o]),
                "from_area_km2": float(self.ac["area_km2"][o]),
                "note": note,
            }
        )

    def match_keys(self) -> tuple[dict[str, str], list[str], list[str]]:
        """Renamed Gemeinden and key changes (same Land, same name, same area): returns the
        continuing Gemeinden (earlier key -> later key), the dissolved ones and the new ones."""
        a, b, ac, bc = self.a, self.b, self.ac, self.bc
        common = a.index.intersection(b.index)
        gone = [z for z in a.index if z not in b.index]
        new = [z for z in b.index if z not in a.index]
        for z in common:
            if ac["base"][z] != bc["base"][z]:
                self.add(z, z, 1.0, "key", "renamed", f"{ac['name'][z]} -> {bc['name'][z]}")
        continuing: dict[str, str] = {z: z for z in common}
        new_by_name: dict[tuple[str, str], list[str]] = {}
        for z in new:
            new_by_name.setdefault((z[:2], bc["base"][z]), []).append(z)
        gone_set, new_set = set(gone), set(new)
        for o in gone:
            area = float(ac["area_km2"][o])
            cands = [
                t
                for t in new_by_name.get((o[:2], ac["base"][o]), [])
                if abs(float(bc["area_km2"][t]) - area) <= _tol_km2(area)
            ]
            if cands:
                t = min(cands, key=lambda t: abs(float(bc["area_km2"][t]) - area))
                self.add(o, t, 1.0, "name", "key_changed")
                continuing[o] = t
                gone_set.discard(o)
                new_set.discard(t)
                new_by_name[(o[:2], ac["base"][o])].remove(t)
        return continuing, [o for o in gone if o in gone_set], [t for t in new if t in new_set]

    def gains(self, continuing: Mapping[str, str], new: Iterable[str]) -> dict[str, float]:
        """Receivers: Gemeinden of the later year that are new (their whole area) or grew."""
        ac, bc = self.ac, self.bc
        gain: dict[str, float] = {t: float(bc["area_km2"][t]) for t in new}
        for o, t in continuing.items():
            g = float(bc["area_km2"][t]) - float(ac["area_km2"][o])
            if g > _tol_km2(float(ac["area_km2"][o])):
                gain[t] = g
        return gain

    def place_gone(
        self,
        gone: list[str],
        continuing: Mapping[str, str],
        gain: Mapping[str, float],
        points: _Points,
        boundaries: pd.DataFrame | None,
    ) -> None:
        """Place each dissolved Gemeinde in a receiver.

        Strong signals first (the later polygon containing its centre), then the rest greedily:
        those with a surviving Verband sibling first, then the largest first; each goes to the
        sibling if its unexplained gain still takes the area, else to the nearest receiver of the
        Kreis that takes it, else to the nearest.
        """
        a, ac = self.a, self.ac
        inside = _containing(
            {o: points.earlier[o] for o in gone if o in points.earlier}, boundaries
        )
        existed = set(continuing.values())
        kreise_b = {z[:5] for z in self.b.index}
        members: dict[object, list[str]] = {}
        for z, par in zip(a["zone"], a["parent"], strict=True):
            members.setdefault(par, []).append(z)
        area_a = {z: float(v) for z, v in zip(a["zone"], a["area_km2"], strict=True)}
        pending: list[tuple[str, list[str], set[str]]] = []
        for o in gone:
            p = inside.get(o)
            if p is not None and p in gain:
                _assign(self.add, self.received, area_a, o, p, "coordinates", existed)
                continue
            siblings = [s for s in members[ac["parent"][o]] if s != o]
            surviving = {
                continuing[s] for s in siblings if s in continuing and continuing[s] in gain
            }
            kreis = o[:5]
            pool = [r for r in gain if r[:5] == kreis] if kreis in kreise_b else []
            if not pool:
                pool = [r for r in gain if r[:2] == o[:2]]
            pending.append((o, pool, surviving))
        pending.sort(key=lambda item: (not item[2], -area_a[item[0]]))
        for o, pool, surviving in pending:
            pt = points.earlier.get(o)
            ranked = sorted(
                (c for c in pool if c in points.receivers),
                key=lambda c: _km(pt[0], pt[1], *points.receivers[c]) if pt else 0.0,
            )
            if not ranked:
                # no Gemeinde of the later year gained area where ``o`` was: the later file does
                # not cover ``o`` (a partial extract), so there is no change to record for it
                self.uncovered.append(o)
                continue
            fits = [
                c for c in ranked if gain[c] - self.received[c] >= area_a[o] - _tol_km2(area_a[o])
            ]
            sib = [c for c in fits if c in surviving]
            if sib:
                _assign(self.add, self.received, area_a, o, sib[0], "key", existed)
            else:
                target = (fits or ranked)[0]
                _assign(self.add, self.received, area_a, o, target, "coordinates", existed)

    def partial_splits(
        self, continuing: Mapping[str, str], gain: Mapping[str, float], points: _Points
    ) -> None:
        """A continuing Gemeinde that lost area gives it to a neighbour with a surplus."""
        for o, t in continuing.items():
            old_area, new_area = float(self.ac["area_km2"][o]), float(self.bc["area_km2"][t])
            if old_area - new_area <= _tol_km2(old_area) or old_area <= 0:
                continue
            lost = old_area - new_area
            pool = [r for r in gain if r != t and r[:5] == t[:5]]
            to = _nearest(points.earlier.get(o), points.receivers, pool)
            if to is None:
                continue
            note = f"lost {lost:.2f} km² of {old_area:.2f}"
            self.add(o, t, new_area / old_area, "area", "split", note)
            self.add(o, to, lost / old_area, "area", "split", note)
            self.received[to] += lost

    def identity_rows(self, continuing: Mapping[str, str]) -> None:
        """Receivers that kept their key get an explicit identity row, so that the step can be
        inverted."""
        for o, t in continuing.items():
            if (
                o == t
                and self.received.get(t, 0.0) > 0
                and o not in {r["from_zone"] for r in self.rows}
            ):
                self.add(o, t, 1.0, "key", "absorbing")

    def table(self, gain: Mapping[str, float], from_year: int, to_year: int) -> pd.DataFrame:
        """The rows as a change table; receivers whose gain is not explained are flagged."""
        out = pd.DataFrame(
            self.rows, columns=[c for c in CHANGE_COLUMNS if c not in ("from_year", "to_year")]
        )
        # a continuing Gemeinde split above has an earlier identity/key_changed row: keep the split
        split_from = set(out.loc[out["kind"] == "split", "from_zone"])
        out = out[~(out["from_zone"].isin(split_from) & (out["kind"] != "split"))]
        for t, g in gain.items():
            if abs(g - self.received[t]) > _tol_km2(float(self.bc["area_km2"][t])):
                hit = out["to_zone"] == t
                out.loc[hit, "flagged"] = True
                out.loc[hit, "note"] = out.loc[hit, "note"].astype(str) + (
                    f" area check: gained {g:.2f} km², received {self.received[t]:.2f}"
                )
        out.insert(2, "from_year", from_year)
        out.insert(3, "to_year", to_year)
        return out.reset_index(drop=True)


def _nearest(
    point: tuple[float, float] | None,
    bpoints: Mapping[str, tuple[float, float]],
    candidates: Iterable[str],
) -> str | None:
    cands = [c for c in candidates if c in bpoints]
    if point is None or not cands:
        return None
    return min(cands, key=lambda c: _km(point[0], point[1], *bpoints[c]))


def _assign(
    add: Callable[[str, str, float, str, str], None],
    received: dict[str, float],
    area_a: Mapping[str, float],
    o: str,
    target: str,
    basis: str,
    existed: set[str],
) -> None:
    kind = "absorbed" if target in existed else "merged"
    add(o, target, 1.0, basis, kind)
    received[target] += area_a[o]


@dataclass(frozen=True, eq=False)
class Derivation:
    """The result of :func:`derive`: the change table, and the Gemeinden for which none could be
    derived because the later Gemeindeverzeichnis does not cover them.

    Attributes
    ----------
    changes
        Rows of ``CHANGE_COLUMNS`` for every consecutive pair of GV years.
    uncovered
        ``(from_year, to_year, AGS)`` of each Gemeinde of ``from_year`` that is missing in
        ``to_year`` while no Gemeinde of its Kreis (or Land) gained area there: the later file is a
        partial extract that leaves it out. Its series is not carried forward; tell the user.
    """

    changes: pd.DataFrame
    uncovered: tuple[tuple[int, int, str], ...]


def derive(gv: pd.DataFrame, boundaries: pd.DataFrame | None = None) -> Derivation:
    """Changes between every pair of consecutive GV years in ``gv``, and what they leave out."""
    years = sorted(int(y) for y in gv["year"].unique())
    tables: list[pd.DataFrame] = []
    uncovered: list[tuple[int, int, str]] = []
    for y0, y1 in itertools.pairwise(years):
        table, missing = _derive_step(gv, y0, y1, boundaries)
        tables.append(table)
        uncovered += [(y0, y1, z) for z in missing]
    if not tables:
        return Derivation(pd.DataFrame(columns=CHANGE_COLUMNS), ())
    return Derivation(pd.concat(tables, ignore_index=True), tuple(uncovered))


def derive_changes(gv: pd.DataFrame, boundaries: pd.DataFrame | None = None) -> pd.DataFrame:
    """Changes between every pair of consecutive GV years in ``gv`` (canonical ``gv_records``).

    ``boundaries`` (optional): Gemeinde polygons with columns ``zone`` (AGS) and ``geometry``, e.g.
    VG250, used to place a dissolved Gemeinde's centre. :func:`derive` also names the Gemeinden a
    partial later extract leaves out.
    """
    return derive(gv, boundaries).changes

"""Erreichbarkeit of one town for the web app: the travel time from every Gemeinde of its Kreis to
the nearest hospital and the share of people by age who reach one within a few thresholds.

The same method as the demo's part (a) (:mod:`wandel.workflow.demo_access`): no road network of
the region is bundled, so travel times use the labelled straight-line fallback
(:func:`wandel.access.nearest_facility_crowfly`: great-circle distance × 1.3 at 50 km/h by car) from
each Gemeinde's representative point (VG250 polygon, :func:`wandel.workflow.points.zone_points`) to
the hospital sites of the latest year in the store (any site, also beyond the Kreis border). People
by age are the *estimated* Gemeinde age structures of their latest year; coverage is
:func:`wandel.access.coverage_by_age`. Everything comes with its source and year
(:class:`AccessSources`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wandel.access import coverage_by_age, nearest_facility_crowfly
from wandel.errors import MissingDataError
from wandel.store import Store
from wandel.workflow.access import parse_age_groups, population_by_age
from wandel.workflow.points import boundaries_frame, destinations_from_store, zone_points

__all__ = [
    "AGE_GROUPS",
    "THRESHOLDS_MIN",
    "AccessSources",
    "TownAccess",
    "area_prefix",
    "town_access",
]

AGE_GROUPS = "0-17,18-64,65-74,75+"
"""The age groups of the coverage table (a-b inclusive, a+ open)."""

THRESHOLDS_MIN = (15.0, 20.0, 30.0)
"""Travel-time thresholds of the coverage table (minutes, inclusive)."""

KIND = "hospital"
"""The facility kind of the page (the only kind the demo store holds)."""


@dataclass(frozen=True)
class AccessSources:
    """Where the numbers come from, each with its year."""

    boundaries: str
    boundaries_year: int
    facilities: str
    facilities_year: int
    population: str
    population_year: int
    detour_factor: float
    speed_kph: float


@dataclass(frozen=True)
class TownAccess:
    """Travel times of the Gemeinden of one area (``prefix``: a Kreis AGS, or a Land's) to the
    nearest hospital, and coverage by age.

    ``gemeinden``: ``zone, name, travel_time_min, facility, facility_name`` and one
    column per age group (people; ``nan`` where the store holds no age structure), sorted by
    zone. ``coverage``: ``threshold_min, age_group, population, covered, share`` (``age_group``
    ``total`` for all groups). ``shapes``: ``zone -> rings`` (polygon rings in EPSG:25832
    metres, for the map); ``sites``: the hospitals drawn on the map (``id, name, x, y``);
    ``not_located``: the hospital sites of the year in the store without a coordinate (left out;
    all of the store, not only of the area: a site without a place has no area).
    """

    prefix: str
    gemeinden: pd.DataFrame
    coverage: pd.DataFrame
    shapes: dict[str, tuple[tuple[tuple[float, float], ...], ...]]
    sites: pd.DataFrame
    sources: AccessSources
    unweighted: tuple[str, ...]
    not_located: tuple[str, ...] = ()


def area_prefix(zone: str) -> str:
    """The AGS prefix of the area shown for ``zone``: its Kreis (5 digits), or a Land itself."""
    return zone[:5] if len(zone) >= 5 else zone


def _rings(geom: object, tolerance: float) -> tuple[tuple[tuple[float, float], ...], ...]:
    import shapely

    g = shapely.simplify(geom, tolerance, preserve_topology=True)
    out = []
    for poly in getattr(g, "geoms", [g]):
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            out.append(tuple((round(float(x), 1), round(float(y), 1)) for x, y in xy))
    return tuple(out)


def _sites(hospitals: pd.DataFrame, bounds: Sequence[float], margin: float) -> pd.DataFrame:
    from pyproj import Transformer

    to_m = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    x, y = to_m.transform(hospitals["lon"].to_numpy(), hospitals["lat"].to_numpy())
    x0, y0, x1, y1 = bounds
    inside = (x >= x0 - margin) & (x <= x1 + margin) & (y >= y0 - margin) & (y <= y1 + margin)
    out = hospitals.loc[inside, ["id", "name"]].assign(x=np.asarray(x)[inside], y=y[inside])
    return out.drop_duplicates(["x", "y"]).sort_values("id").reset_index(drop=True)


def _provenance(store: Store, kind: str) -> str:
    prov = store.provenance()
    rows = prov[prov["kind"] == kind]
    if rows.empty:
        return ""
    r = rows.iloc[-1]
    return str(r["licence"] or r["producer"] or "")


def _coverage(table: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    weighted = table.dropna(subset=groups).set_index("zone")
    parts = []
    for t in THRESHOLDS_MIN:
        res = coverage_by_age(weighted["travel_time_min"], weighted[groups], t)
        part = res.table.reset_index()
        parts.append(part.assign(threshold_min=t))
    cov = pd.concat(parts, ignore_index=True)
    return cov[["threshold_min", "age_group", "population", "covered", "share"]]


def town_access(db: Path, zone: str) -> TownAccess:
    """The hospital access of the area of ``zone`` (:func:`area_prefix`) from the store at ``db``.

    Raises
    ------
    MissingDataError
        The store holds no boundaries of the area, no hospitals or no estimated age structures.
    """
    from wandel.access.routing import CROWFLY_DETOUR_FACTOR, CROWFLY_SPEED_KPH

    prefix = area_prefix(zone)
    with Store.open(db, read_only=True) as store:
        gem = boundaries_frame(store, [prefix], level="gemeinde")
        b_year = int(store.table("boundaries", "level = 'gemeinde'")["valid_year"].max())
        hospitals = destinations_from_store(store, KIND)
        h_year = int(store.table("facilities", "kind = ?", [KIND])["year"].max())
        pop = store.population(level="gemeinde")
        names = store.zones().sort_values("valid_from").drop_duplicates("zone", keep="last")
        sources = (_provenance(store, "vg250"), _provenance(store, "facilities"))
        estimate = _provenance(store, "wandel-estimate")
    est = pop[pop["estimated"].astype(bool) & pop["zone"].astype(str).str.startswith(prefix)]
    if est.empty:
        raise MissingDataError("@web.error.no_age_structure", zone=zone)
    p_year = int(est["year"].max())
    groups = parse_age_groups(AGE_GROUPS)
    by_age = population_by_age(est, p_year, groups, source="store")
    res = nearest_facility_crowfly(zone_points(gem), hospitals, mode="car")
    t = res.table.reset_index().rename(columns={"origin": "zone"})
    t["zone"] = t["zone"].astype(str)
    name_of = names.set_index(names["zone"].astype(str))["name"]
    site_name = hospitals.drop_duplicates("id").set_index("id")["name"]
    table = pd.DataFrame(
        {
            "zone": t["zone"],
            "name": name_of.reindex(t["zone"]).fillna(t["zone"]).to_numpy(),
            "travel_time_min": t["travel_time_min"].astype(float),
            "facility": t["facility"].astype(str),
            "facility_name": site_name.reindex(t["facility"]).to_numpy(),
        }
    )
    labels = [g.label for g in groups]
    table = table.join(by_age.reindex(table["zone"]).reset_index(drop=True)[labels])
    table = table.sort_values("zone").reset_index(drop=True)
    bounds = gem.total_bounds
    tol = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 600.0
    shapes = {str(z): _rings(g, tol) for z, g in zip(gem["zone"], gem.geometry, strict=True)}
    speed = float(CROWFLY_SPEED_KPH["car"])
    return TownAccess(
        prefix=prefix,
        gemeinden=table,
        coverage=_coverage(table, labels),
        shapes=shapes,
        sites=_sites(hospitals, bounds, 10_000.0),
        sources=AccessSources(
            sources[0], b_year, sources[1], h_year, estimate, p_year, CROWFLY_DETOUR_FACTOR, speed
        ),
        unweighted=tuple(table.loc[table[labels[0]].isna(), "zone"]),
        not_located=tuple(hospitals.attrs.get("not_located", ())),
    )

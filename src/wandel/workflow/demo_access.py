"""The accessibility and planning part of the demo (``make demo``): :func:`run_access_demo`.

(a) **Hospitals for the demo region and two seed networks, with the labelled straight-line fallback**
(no road network of the seed region is bundled): ``t = d_gc × 1.3 / 50 km/h``
(:func:`wandel.access.nearest_facility_crowfly`). Demand points are the Gemeinden of the demo region
(representative points of the VG250 polygons) weighted by their people aged 75+ (the *estimated*
Gemeinde age structures of the latest year); candidates are the hospital sites in the store (latest
year). Reported: the current demand-weighted mean and 95th percentile travel time to the nearest
hospital; for each seed network the p-median with the current number of sites (candidates: the
existing hospitals of the network plus every Gemeinde of 5,000 people or more as a possible new
site) and the cooperation gain of its two Kreise planning jointly instead of each alone (each Kreis
keeps its current number of sites; hospitals are assigned to a Kreis by point-in-polygon).

(b) **An accessibility run on the Heidelberg extract** (``osm/heidelberg.test.pbf`` in the shared
data folder, the ``shared_data`` setting: ``WANDEL_SHARED_DATA`` or ``shared/data`` beside the repository; skipped
with a message if absent): car travel times from a 1 km grid of origins to a handful of fixed,
documented destinations (the extract holds almost no POIs), a 5/10/15-minute isochrone GeoJSON
around the University Hospital and a small coverage table (share of grid cells, i.e. of the area,
not of people: there is no population for Heidelberg in the demo store).

Every output names its method and sources: "© OpenStreetMap contributors, ODbL 1.0",
"© GeoBasis-DE / BKG, dl-de/by-2-0", "© G-BA Qualitätsberichte der Krankenhäuser",
"Statistische Ämter des Bundes und der Länder, dl-de/by-2-0; eigene Berechnung (Schätzung)".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from wandel.access import (
    CROWFLY_DETOUR_FACTOR,
    CROWFLY_SPEED_KPH,
    DEFAULT_MAX_SNAP_M,
    coverage_by_age,
    isochrones,
    load_network,
    nearest_facility,
    nearest_facility_crowfly,
    snap_frame,
    travel_time_matrix_crowfly,
)
from wandel.i18n import tr
from wandel.planning import HighsSolver, p_median_from_cost_matrix, solve, weighted_quantile
from wandel.planning.cooperation import Plans, Sites, Towns, cooperation_gain
from wandel.settings import get_settings
from wandel.workflow.access import parse_age_groups, population_by_age
from wandel.workflow.points import boundaries_frame, destinations_from_store, zone_points

__all__ = [
    "HEIDELBERG_DESTINATIONS",
    "SEED_NETWORKS",
    "find_shared_data",
    "run_access_demo",
]

ATTRIBUTION_OSM = "© OpenStreetMap contributors, ODbL 1.0"
ATTRIBUTION_BKG = "© GeoBasis-DE / BKG, dl-de/by-2-0"
SOURCES_A = (
    f"{ATTRIBUTION_BKG}; Krankenhäuser: © G-BA Qualitätsberichte; Einwohner 75+: Statistische "
    "Ämter des Bundes und der Länder, dl-de/by-2-0, eigene Berechnung (Schätzung)"
)

SEED_NETWORKS: dict[str, dict[str, str]] = {
    "Oberlausitz (Bautzen, Hoyerswerda, Görlitz)": {
        "14625": "Landkreis Bautzen",
        "14626": "Landkreis Görlitz",
    },
    "Saalfeld-Rudolstadt und Saale-Orla": {
        "16073": "Saalfeld-Rudolstadt",
        "16075": "Saale-Orla-Kreis",
    },
}
"""Seed networks of the demo: Kreis AGS -> label; each Kreis is one partner of the cooperation."""

HEIDELBERG_DESTINATIONS = pd.DataFrame(
    {
        "id": ["uniklinikum", "hauptbahnhof", "bismarckplatz", "universitaetsplatz"],
        "name": [
            "Universitätsklinikum Heidelberg (Im Neuenheimer Feld)",
            "Heidelberg Hauptbahnhof",
            "Bismarckplatz",
            "Universitätsplatz (Altstadt)",
        ],
        "lon": [8.6655, 8.6756, 8.6936, 8.7063],
        "lat": [49.4179, 49.4036, 49.4096, 49.4106],
    }
)
"""Fixed destinations of the Heidelberg run (WGS84, rounded to 4 decimals, read from the map; the
extract has almost no POIs). Illustrative points, not a facility list."""

CANDIDATE_MIN_POP = 5000.0
"""Gemeinden with at least this many people are possible new hospital sites in the demo plan."""


def find_shared_data(shared: Path | None = None) -> Path | None:
    """The shared data folder: ``shared``, else the ``shared_data`` setting (``WANDEL_SHARED_DATA``,
    default ``shared/data`` beside the repository); ``None`` if it does not exist."""
    folder = shared if shared is not None else get_settings().shared_data
    return folder if folder.is_dir() else None


@dataclass(frozen=True)
class _Region:
    points: pd.DataFrame  # id, lon, lat, zone, weight (Gemeinden)
    pop75: pd.Series  # people 75+ per Gemeinde
    total: pd.Series  # all ages per Gemeinde
    hospitals: pd.DataFrame  # id, lon, lat, name, kind, kreis
    boundaries: Any
    kreise: Any
    year: int
    hospital_year: int


def _region(store: Any) -> _Region:
    import geopandas as gpd

    pop = store.population(level="gemeinde")
    est = pop[pop["estimated"].astype(bool)]
    year = int(est["year"].max())
    groups = population_by_age(est, year, parse_age_groups("0+,75+"), source="store")
    gem = boundaries_frame(store, level="gemeinde")
    kreise = boundaries_frame(store, level="kreis")
    points = zone_points(gem)
    hosp = destinations_from_store(store, "hospital")
    hyear = int(store.table("facilities", "kind = 'hospital'")["year"].max())
    hp = gpd.GeoDataFrame(
        hosp, geometry=gpd.points_from_xy(hosp["lon"], hosp["lat"]), crs="EPSG:4326"
    ).to_crs(kreise.crs)
    joined = gpd.sjoin(hp, kreise[["zone", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    hosp = hosp.assign(kreis=joined["zone"].reindex(hosp.index).to_numpy())
    return _Region(points, groups["75+"], groups["0+"], hosp, gem, kreise, year, hyear)


def _fmt(v: float, digits: int = 1) -> str:
    return (
        ""
        if not np.isfinite(v)
        else f"{v:,.{digits}f}".replace(",", "X").replace(".", ",").replace("X", ".")
    )


def _gap(gap: float | None) -> str:
    return "-" if gap is None else f"{100 * gap:.2g} %"


def _current_access(
    reg: _Region, out_dir: Path, console: Console
) -> tuple[list[Path], pd.DataFrame]:
    with_pop = reg.points[reg.points["id"].isin(reg.pop75.index)]
    lacking = sorted(set(reg.points["id"]) - set(reg.pop75.index))
    if lacking:
        console.print(
            tr(
                "demo.access.unweighted",
                n=len(lacking),
                source=ATTRIBUTION_BKG,
                year=reg.year,
                zones=", ".join(lacking),
            ),
            highlight=False,
            emoji=False,
        )
    res = nearest_facility_crowfly(with_pop, reg.hospitals, mode="car")
    t = res.table.reset_index()
    t["einwohner_75plus"] = reg.pop75.reindex(t["origin"]).to_numpy()
    t["method"] = res.method
    p = out_dir / "erreichbarkeit_krankenhaus_gemeinden.csv"
    t.rename(columns={"origin": "zone"}).to_csv(p, index=False, float_format="%.3f")
    w = t["einwohner_75plus"].to_numpy(np.float64)
    tt = t["travel_time_min"].to_numpy(np.float64)
    mean = float((w * tt).sum() / w.sum())
    p95 = weighted_quantile(tt, w, 0.95)
    console.print(
        tr(
            "demo.access.hospitals",
            year=reg.hospital_year,
            sites=len(reg.hospitals),
            pop_year=reg.year,
            zones=len(t),
            mean=_fmt(mean),
            p95=_fmt(p95),
            method=res.method,
        ),
        highlight=False,
        emoji=False,
    )
    return [p], t


def _network_plan(
    name: str, kreise: dict[str, str], reg: _Region, console: Console
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """p-median with the current number of sites and the cooperation of the network's Kreise."""
    dem = reg.points[
        reg.points["id"].str[:5].isin(list(kreise)) & reg.points["id"].isin(reg.pop75.index)
    ].reset_index(drop=True)
    dem_town = dem["id"].str[:5].map(kreise).to_numpy(dtype=object)
    w = reg.pop75.reindex(dem["id"]).to_numpy(np.float64)
    hosp = reg.hospitals[reg.hospitals["kreis"].isin(list(kreise))]
    big = dem[reg.total.reindex(dem["id"]).to_numpy() >= CANDIDATE_MIN_POP]
    cand = pd.concat(
        [
            hosp[["id", "lon", "lat"]].assign(town=hosp["kreis"].map(kreise), existing=True),
            pd.DataFrame(
                {
                    "id": "Gemeinde " + big["id"],
                    "lon": big["lon"],
                    "lat": big["lat"],
                    "town": big["id"].str[:5].map(kreise),
                    "existing": False,
                }
            ),
        ],
        ignore_index=True,
    )
    m = travel_time_matrix_crowfly(dem, cand, mode="car")
    existing = cand.loc[cand["existing"], "id"].tolist()
    p = len(existing)
    solver = HighsSolver(time_limit_s=60)
    model = p_median_from_cost_matrix(
        m.travel_time_min,
        w,
        p,
        demand_ids=dem["id"].to_numpy(),
        candidate_ids=cand["id"].to_numpy(),
        existing=existing,
        threshold=30.0,
    )
    plan = solve(model, solver)
    cur = np.where(cand["existing"].to_numpy()[None, :], m.travel_time_min, np.inf).min(axis=1)
    per_town = {t: int(n) for t, n in hosp["kreis"].map(kreise).value_counts().items()}
    for t in kreise.values():
        per_town.setdefault(t, 0)
    rows = [
        {
            "netz": name,
            "plan": "heute",
            "standorte": p,
            "mittlere_fahrzeit_min": float((w * cur).sum() / w.sum()),
            "p95_fahrzeit_min": weighted_quantile(cur, w, 0.95),
            "einwohner_75plus_ueber_30min": float(w[cur > 30].sum()),
            "geoeffnet": "",
            "geschlossen": "",
        },
        {
            "netz": name,
            "plan": f"p-Median (p = {p}, {plan.solver}, Lücke {_gap(plan.gap)})",
            "standorte": plan.n_sites,
            "mittlere_fahrzeit_min": plan.mean_cost,
            "p95_fahrzeit_min": plan.p95_cost,
            "einwohner_75plus_ueber_30min": plan.demand_beyond,
            "geoeffnet": "; ".join(map(str, plan.opened)),
            "geschlossen": "; ".join(map(str, plan.closed)),
        },
    ]
    coop_rows = pd.DataFrame()
    if all(per_town.get(t, 0) > 0 for t in kreise.values()):
        coop = cooperation_gain(
            m.travel_time_min,
            w,
            Towns(dem_town, cand["town"].to_numpy(dtype=object)),
            Plans("p_median", p=per_town, threshold=30.0),
            sites=Sites(
                demand_ids=dem["id"].to_numpy(),
                candidate_ids=cand["id"].to_numpy(),
                existing=existing,
            ),
            solver=solver,
        )
        coop_rows = coop.table.reset_index(names="plan").assign(netz=name)
    else:
        console.print(tr("demo.access.no_hospital", name=name), highlight=False)
    return pd.DataFrame(rows), coop_rows


def _plans(reg: _Region, out_dir: Path, console: Console) -> list[Path]:
    plans = []
    coops = []
    for name, kreise in SEED_NETWORKS.items():
        if not all((reg.points["id"].str[:5] == k).any() for k in kreise):
            console.print(tr("demo.access.kreise_missing", name=name), highlight=False)
            continue
        a, b = _network_plan(name, kreise, reg, console)
        plans.append(a)
        coops.append(b)
    files = []
    method = nearest_method()
    if plans:
        frame = pd.concat(plans, ignore_index=True).assign(methode=method, quellen=SOURCES_A)
        p = out_dir / "standortplanung_krankenhaus.csv"
        frame.to_csv(p, index=False, float_format="%.2f")
        files.append(p)
        t = Table(title=tr("demo.access.plan_title"))
        for col in ("network", "plan", "sites", "mean", "p95", "beyond75"):
            t.add_column(tr(f"demo.access.col.{col}"))
        for _, r in frame.iterrows():
            t.add_row(
                str(r["netz"]),
                str(r["plan"]),
                str(r["standorte"]),
                _fmt(r["mittlere_fahrzeit_min"]),
                _fmt(r["p95_fahrzeit_min"]),
                _fmt(r["einwohner_75plus_ueber_30min"], 0),
            )
        console.print(t)
    coop = pd.concat([c for c in coops if not c.empty], ignore_index=True) if coops else None
    if coop is not None and not coop.empty:
        coop = coop[["netz", "plan", *[c for c in coop.columns if c not in ("netz", "plan")]]]
        coop = coop.assign(methode=method, quellen=SOURCES_A)
        p = out_dir / "kooperationsgewinn_krankenhaus.csv"
        coop.to_csv(p, index=False, float_format="%.2f")
        files.append(p)
        t = Table(title=tr("demo.access.coop_title"))
        for col in ("network", "plan", "sites", "mean", "p95", "beyond"):
            t.add_column(tr(f"demo.access.col.{col}"))
        for _, r in coop.iterrows():
            t.add_row(
                str(r["netz"]),
                tr(f"demo.access.plan.{r['plan']}"),
                _fmt(r["facilities"], 0),
                _fmt(r["mean_cost"], 2),
                _fmt(r["p95_cost"], 2),
                _fmt(r["demand_beyond"], 0),
            )
        console.print(t)
    return files


def nearest_method() -> str:
    """The label of the fallback used in part (a)."""
    return (
        f"Luftlinie × {CROWFLY_DETOUR_FACTOR:g} bei {CROWFLY_SPEED_KPH['car']:g} km/h "
        "(kein Straßennetz geladen)"
    )


def _map_region(reg: _Region, access: pd.DataFrame, path: Path) -> Path:
    from matplotlib.figure import Figure

    gem = reg.boundaries.merge(
        access[["origin", "travel_time_min"]], left_on="zone", right_on="origin", how="left"
    )
    fig = Figure(figsize=(8, 7.5))
    ax = fig.subplots()
    gem.plot(
        ax=ax,
        column="travel_time_min",
        cmap="viridis_r",
        legend=True,
        legend_kwds={
            "label": "Fahrzeit zum nächsten Krankenhaus (min, Luftlinie × 1,3 bei 50 km/h)"
        },
        missing_kwds={"color": "lightgrey", "label": "ohne Einwohnerzahl"},
        linewidth=0.1,
        edgecolor="white",
    )
    reg.kreise.boundary.plot(ax=ax, color="black", linewidth=0.3)
    hx = reg.hospitals.to_numpy()
    import geopandas as gpd

    hp = gpd.GeoSeries(
        gpd.points_from_xy(reg.hospitals["lon"], reg.hospitals["lat"]), crs="EPSG:4326"
    ).to_crs(reg.boundaries.crs)
    hp.plot(ax=ax, color="red", markersize=6, label=f"Krankenhaus ({len(hx)})")
    ax.set_title(f"Erreichbarkeit der Krankenhäuser {reg.hospital_year}")
    ax.set_axis_off()
    ax.legend(loc="lower left", fontsize=8)
    fig.text(0.01, 0.01, SOURCES_A, fontsize=5.5, wrap=True)
    fig.savefig(path, dpi=110, metadata={"Software": "Wandel"})
    return path


# ---------------------------------------------------------------------------------------------
# (b) Heidelberg
# ---------------------------------------------------------------------------------------------


def _grid(net: Any, cell_m: float = 1000.0) -> pd.DataFrame:
    from pyproj import Transformer

    to_m = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    x, y = to_m.transform(net.node_lon, net.node_lat)
    # the core of the extract: 2nd to 98th percentile of the node coordinates (ways cut at the
    # extract's border reach far out with few nodes)
    x0, x1 = np.percentile(x, [2, 98])
    y0, y1 = np.percentile(y, [2, 98])
    xs = np.arange(np.floor(x0 / cell_m), np.ceil(x1 / cell_m)) * cell_m + cell_m / 2
    ys = np.arange(np.floor(y0 / cell_m), np.ceil(y1 / cell_m)) * cell_m + cell_m / 2
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True).transform(
        gx.ravel(), gy.ravel()
    )
    ids = [
        f"r{int(a // cell_m)}_{int(b // cell_m)}"
        for a, b in zip(gx.ravel(), gy.ravel(), strict=True)
    ]
    return pd.DataFrame({"id": ids, "lon": lon, "lat": lat})


def _heidelberg(pbf: Path, out_dir: Path, console: Console) -> list[Path]:
    net = load_network(pbf, "car")
    grid = _grid(net)
    o = snap_frame(net, grid, what="origins")
    f = snap_frame(net, HEIDELBERG_DESTINATIONS, what="facilities")
    near = nearest_facility(net, o, f)
    table = near.table.reset_index()
    table["method"] = near.method
    files = []
    p = out_dir / "heidelberg_naechstes_ziel.csv"
    table.to_csv(p, index=False, float_format="%.3f")
    files.append(p)
    n_un = int((~o.snapped).sum())
    console.print(
        tr(
            "demo.access.heidelberg",
            points=len(grid),
            unsnapped=n_un,
            radius_m=_fmt(DEFAULT_MAX_SNAP_M, 0),
            nodes=_fmt(net.n_nodes, 0),
        ),
        highlight=False,
    )
    hosp = snap_frame(net, HEIDELBERG_DESTINATIONS.iloc[[0]], what="facilities")
    iso = isochrones(net, hosp, [5.0, 10.0, 15.0], buffer_m=50.0)
    gj = iso.table.assign(method=iso.method, attribution=ATTRIBUTION_OSM)
    p = out_dir / "heidelberg_isochronen_uniklinikum.geojson"
    gj.to_file(p, driver="GeoJSON")
    files.append(p)
    # coverage: share of grid cells (area), not of people
    to_hosp = nearest_facility(net, o, hosp).table["travel_time_min"]
    cells = pd.DataFrame({"Rasterzellen": np.ones(len(to_hosp))}, index=to_hosp.index)
    cov = pd.concat(
        [
            coverage_by_age(to_hosp, cells, t, method=near.method)
            .table.loc[["Rasterzellen"]]
            .assign(schwelle_min=t)
            for t in (5.0, 10.0, 15.0)
        ]
    ).reset_index()
    cov["ziel"] = HEIDELBERG_DESTINATIONS["name"].iloc[0]
    cov["hinweis"] = "Anteil der 1-km-Rasterzellen (Fläche), keine Einwohnerzahlen"
    cov["method"] = near.method
    p = out_dir / "heidelberg_abdeckung.csv"
    cov.to_csv(p, index=False, float_format="%.4f")
    files.append(p)
    t = Table(title=tr("demo.access.cover_title"))
    for col in ("threshold", "cells", "covered", "share", "unrouted"):
        t.add_column(tr(f"demo.access.col.{col}"), justify="right")
    for _, r in cov.iterrows():
        t.add_row(
            f"{r['schwelle_min']:g} min",
            f"{r['population']:.0f}",
            f"{r['covered']:.0f}",
            f"{_fmt(100 * r['share'])} %",
            f"{r['unrouted']:.0f}",
        )
    console.print(t)
    files.append(_map_heidelberg(net, iso.table, table, grid, out_dir / "heidelberg_karte.png"))
    return files


def _map_heidelberg(net: Any, iso: Any, near: pd.DataFrame, grid: pd.DataFrame, path: Path) -> Path:
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 8))
    ax = fig.subplots()
    tail = net.edge_sources()
    head = net.indices
    seg = np.stack(
        [
            np.column_stack([net.node_lon[tail], net.node_lat[tail]]),
            np.column_stack([net.node_lon[head], net.node_lat[head]]),
        ],
        axis=1,
    )
    ax.add_collection(LineCollection(list(seg), colors="0.75", linewidths=0.2))
    for (_, row), color in zip(
        iso.sort_values("threshold_min", ascending=False).iterrows(),
        ("#fde0c5", "#facba6", "#f59e72"),
        strict=False,
    ):
        geoms = getattr(row.geometry, "geoms", [row.geometry])
        for g in geoms:
            xs, ys = g.exterior.xy
            ax.fill(xs, ys, color=color, alpha=0.8, label=None)
        ax.plot(
            [], [], color=color, linewidth=8, label=f"≤ {row.threshold_min:g} min zum Uniklinikum"
        )
    ok = near["status"] == "ok"
    sc = ax.scatter(
        grid["lon"][ok.to_numpy()],
        grid["lat"][ok.to_numpy()],
        c=near.loc[ok, "travel_time_min"],
        cmap="viridis_r",
        s=12,
    )
    fig.colorbar(
        sc, ax=ax, shrink=0.6, label="Fahrzeit zum nächsten Ziel (min, Auto, OSM-Straßennetz)"
    )
    ax.scatter(
        HEIDELBERG_DESTINATIONS["lon"],
        HEIDELBERG_DESTINATIONS["lat"],
        marker="*",
        s=120,
        color="red",
        label="Ziele (feste Punkte)",
    )
    ax.set_xlim(float(grid["lon"].min()) - 0.01, float(grid["lon"].max()) + 0.01)
    ax.set_ylim(float(grid["lat"].min()) - 0.01, float(grid["lat"].max()) + 0.01)
    ax.set_aspect(1 / np.cos(np.radians(float(net.node_lat.mean()))))
    ax.set_xlabel("Länge (°)")
    ax.set_ylabel("Breite (°)")
    ax.set_title("Heidelberg: Fahrzeiten mit dem Auto")
    ax.legend(loc="upper left", fontsize=7)
    fig.text(0.01, 0.01, ATTRIBUTION_OSM, fontsize=7)
    fig.savefig(path, dpi=110, metadata={"Software": "Wandel"})
    return path


def run_access_demo(
    store: Any, out_dir: Path, console: Console | None = None, shared: Path | None = None
) -> list[Path]:
    """Run the accessibility and planning demo; write CSV/GeoJSON/PNG into ``out_dir``.

    Parameters
    ----------
    store
        An open :class:`wandel.store.Store` holding the demo region (boundaries, hospitals,
        estimated Gemeinde age structures), e.g. inside ``run_demo``'s ``with Store.open(db)``.
    out_dir
        Output folder (created if needed).
    console
        Where to print the summaries (default: a new Rich console).
    shared
        The shared data folder (for ``osm/heidelberg.test.pbf``); default
        :func:`find_shared_data`.

    Returns
    -------
    list of Path
        The files written.
    """
    con = console or Console()
    out_dir.mkdir(parents=True, exist_ok=True)
    reg = _region(store)
    files, access = _current_access(reg, out_dir, con)
    files += _plans(reg, out_dir, con)
    files.append(_map_region(reg, access, out_dir / "erreichbarkeit_krankenhaus_karte.png"))
    folder = find_shared_data(shared)
    pbf = None if folder is None else folder / "osm" / "heidelberg.test.pbf"
    if pbf is None or not pbf.is_file():
        where = (
            tr("demo.access.no_shared") if folder is None else tr("demo.access.no_file", file=pbf)
        )
        con.print(tr("demo.access.skipped", where=where), highlight=False)
    else:
        files += _heidelberg(pbf, out_dir, con)
    return files

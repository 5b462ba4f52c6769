"""Services workflow: store -> projection inputs -> service plans -> streamed demand -> files.

:func:`services_from_store` loads the projection inputs (as :mod:`wandel.workflow.projection`
does), the service catalogue (shipped, or a user's own, plus overrides and ``--param`` figures),
the facilities (capacity; each placed in its Gemeinde by point-in-polygon), the Pflegestatistik
(calibration of the Pflegequoten to each Kreis) and the user's tables (Mittelbereiche and their
GPs, fire-brigade members, dwellings, a travel-time matrix), then runs
:func:`wandel.services.service_demand` once per scenario variant. :func:`write_services` writes
the results (CSV German and RFC 4180, XLSX, GeoPackage, one fan chart per service), every file with
its source note, all or nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from wandel import i18n
from wandel.demography.rates import BasePopulation
from wandel.errors import (
    DuplicateKeyError,
    FacilityOutsideZonesError,
    InputFormatError,
    MissingColumnError,
    WandelError,
)
from wandel.services import (
    Catalogue,
    Chunking,
    DrawGroup,
    Grid,
    Parents,
    ServiceInputs,
    ServicePlan,
    ServiceResult,
    plan_services,
    required_breaks,
    service_demand,
    shipped_catalogue,
)
from wandel.services.care import CareCalibration, calibrate_care, calibration_years
from wandel.services.catalogue import overrides_from_pairs, parse_catalogue, parse_overrides

__all__ = [
    "PreparedServices",
    "ServicesRequest",
    "ServicesRun",
    "facility_capacity",
    "kreis_population",
    "latest_split_year",
    "load_catalogue",
    "prepare_services",
    "read_table",
    "read_travel_times",
    "run_prepared",
    "services_from_store",
    "services_to_files",
    "write_services",
]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ServicesRequest:
    """What to compute: zones (AGS; Kreise or Länder stand for their Gemeinden), years, draws,
    services (empty: every service of the catalogue) and the user's files.

    ``scenarios``: ``(name, Scenario or None)`` pairs, one run each (the cost path per scenario).
    """

    zones: tuple[str, ...]
    base_year: int
    until: int
    draws: int = 0
    seed: int = 0
    services: tuple[str, ...] = ()
    catalogue: Path | None = None
    overrides: Path | None = None
    params: tuple[str, ...] = ()
    scenarios: tuple[tuple[str, object], ...] = (("basis", None),)
    level: str = "gemeinde"
    trend: bool = False
    mittelbereiche: Path | None = None
    gp_supply: Path | None = None
    fire_members: Path | None = None
    dwellings: Path | None = None
    travel_times: Path | None = None
    chunking: Chunking = field(default_factory=Chunking)


@dataclass(frozen=True, eq=False)
class ServicesRun:
    """The results of one request: figures (with a ``scenario`` column), thresholds, and what
    they rest on."""

    figures: pd.DataFrame
    thresholds: pd.DataFrame
    crossings: pd.DataFrame
    names: Mapping[str, str]
    services: tuple[str, ...]
    start_year: int
    until: int
    draws: int
    source_note: str
    notes: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# user files
# --------------------------------------------------------------------------------------------


def load_catalogue(
    catalogue: Path | None, overrides: Path | None, params: Sequence[str], year: int
) -> Catalogue:
    """The shipped catalogue (or the user's own), with overrides and ``--param`` figures."""
    if catalogue is not None:
        cat = parse_catalogue(catalogue.read_text(encoding="utf-8"), str(catalogue))
    else:
        cat = shipped_catalogue()
    if overrides is not None:
        cat = parse_overrides(overrides.read_text(encoding="utf-8"), cat, str(overrides))
    if params:
        cat = overrides_from_pairs(params, cat, year)
    return cat


def _nonneg(raw: str, delimiter: str, file: str, line: int, column: str, expected: str) -> float:
    """A number >= 0 from a CSV cell (decimal comma where ``;`` separates fields)."""
    try:
        v = float(raw.replace(",", ".")) if delimiter == ";" else float(raw)
    except ValueError:
        raise InputFormatError(
            file, line=line, column=column, value=raw, expected=expected
        ) from None
    if not np.isfinite(v) or v < 0:
        raise InputFormatError(file, line=line, column=column, value=raw, expected=expected)
    return v


def read_table(path: Path, key: str, value: str, *, numeric: bool = True) -> dict[str, object]:
    """A two-column mapping ``key -> value`` from a CSV (``,`` or ``;``; decimal comma allowed).

    Raises
    ------
    MissingColumnError, DuplicateKeyError, InputFormatError
        A column missing, a key twice, a value that is no number >= 0 (file, line, column, value).
    """
    from wandel.sources.rdb_tidy import read_records

    rec = read_records(path)
    out: dict[str, object] = {}
    for col in (key, value):
        if col not in rec.header:
            raise MissingColumnError(
                rec.file, line=1, column=col, value=",".join(rec.header), expected=f"{key},{value}"
            )
    ik, iv = rec.header.index(key), rec.header.index(value)
    for row, line in zip(rec.rows, rec.lines, strict=True):
        k = row[ik].strip()
        if not k:
            raise InputFormatError(rec.file, line=line, column=key, value=row[ik], expected="a key")
        if k in out:
            raise DuplicateKeyError(
                rec.file, line=line, column=key, value=k, expected="each key once"
            )
        raw = row[iv].strip()
        if numeric:
            out[k] = _nonneg(raw, rec.delimiter, rec.file, line, value, "a number >= 0")
        else:
            if not raw:
                raise InputFormatError(
                    rec.file, line=line, column=value, value=raw, expected="a value"
                )
            out[k] = raw
    return out


def read_travel_times(path: Path, zones: Sequence[str]) -> Array:
    """A travel-time matrix ``origin, destination, travel_time_min`` (as ``wandel access matrix``
    writes it; ``cost`` is accepted too) between zones, as ``[from, to]`` minutes, NaN where no
    row is given (not reached). Ids are zone keys (the brigade's Gemeinde and the Gemeinde served).
    """
    from wandel.sources.rdb_tidy import read_records

    rec = read_records(path)
    tcol = "travel_time_min" if "travel_time_min" in rec.header else "cost"
    for col in ("origin", "destination", tcol):
        if col not in rec.header:
            raise MissingColumnError(
                rec.file,
                line=1,
                column=col,
                value=",".join(rec.header),
                expected="origin,destination,travel_time_min",
            )
    io_, id_, it = (rec.header.index(c) for c in ("origin", "destination", tcol))
    pos = {z: i for i, z in enumerate(zones)}
    out = np.full((len(zones), len(zones)), np.nan)
    for row, line in zip(rec.rows, rec.lines, strict=True):
        o, d, raw = row[io_].strip(), row[id_].strip(), row[it].strip()
        t = _nonneg(raw, rec.delimiter, rec.file, line, tcol, "minutes >= 0")
        if o in pos and d in pos:
            out[pos[o], pos[d]] = t
    np.fill_diagonal(out, np.where(np.isnan(np.diag(out)), 0.0, np.diag(out)))
    return out


# --------------------------------------------------------------------------------------------
# store
# --------------------------------------------------------------------------------------------


def facility_capacity(
    facilities: pd.DataFrame,
    boundaries: pd.DataFrame,
    cat: Catalogue,
    services: Sequence[str],
    base_year: int,
) -> dict[str, dict[str, float]]:
    """Capacity per service and Gemeinde from the facilities of the service's kinds.

    Each facility's latest record ``<= base_year`` counts (else its earliest); its Gemeinde is its
    ``zone`` where given, else the Gemeinde polygon (store ``boundaries``) that contains it.

    Raises
    ------
    FacilityOutsideZonesError
        A facility lies in no Gemeinde polygon (or has no zone and there are no boundaries).
    """
    out: dict[str, dict[str, float]] = {}
    for name in services:
        kinds = cat.service(name).facility_kinds
        f = facilities[facilities["kind"].isin(kinds)] if kinds else facilities.iloc[0:0]
        if f.empty:
            continue
        f = f.assign(_after=f["year"].astype(int) > base_year).sort_values(
            ["facility_id", "_after", "year"]
        )
        last = f[~f["_after"]].groupby("facility_id").tail(1)
        rest = f[~f["facility_id"].isin(last["facility_id"])].groupby("facility_id").head(1)
        f = pd.concat([last, rest])
        zone = f["zone"].astype("string")
        need = zone.isna() | (zone.str.len() != 8)
        if need.any():
            zone = zone.copy()
            zone[need] = _point_zones(f[need], boundaries)
        cap = pd.to_numeric(f["capacity"], errors="coerce").fillna(0.0)
        out[name] = {str(z): float(v) for z, v in cap.groupby(zone.to_numpy()).sum().items()}
    return out


def _point_zones(f: pd.DataFrame, boundaries: pd.DataFrame) -> list[str]:
    import geopandas as gpd
    import shapely

    b = boundaries[boundaries["level"] == "gemeinde"]
    first = f.iloc[0]
    if b.empty:
        raise FacilityOutsideZonesError(
            "@services.error.facility_no_boundaries", id=first["facility_id"], name=first["name"]
        )
    b = b[b["valid_year"] == b["valid_year"].max()]
    poly = gpd.GeoDataFrame(
        {"zone": b["zone"].astype(str).to_numpy()},
        geometry=shapely.from_wkb([bytes(g) for g in b["geometry"]]),
        crs=str(b["crs"].iloc[0]),
    )
    pts = gpd.GeoDataFrame(
        {"i": np.arange(len(f))},
        geometry=gpd.points_from_xy(f["lon"].astype(float), f["lat"].astype(float)),
        crs="EPSG:4326",
    ).to_crs(poly.crs)
    hit = gpd.sjoin(pts, poly, how="left", predicate="within").drop_duplicates("i").sort_values("i")
    if hit["zone"].isna().any():
        i = int(hit.loc[hit["zone"].isna(), "i"].iloc[0])
        r = f.iloc[i]
        raise FacilityOutsideZonesError(
            "@services.error.facility_outside",
            id=r["facility_id"],
            name=r["name"],
            kind=r["kind"],
            lon=r["lon"],
            lat=r["lat"],
        )
    return [str(z) for z in hit["zone"]]


def kreis_population(
    tables: object,
    kreise: Sequence[str],
    year: int,
    totals: pd.DataFrame | None = None,
    known: BasePopulation | None = None,
) -> tuple[xr.DataArray, int]:
    """Population of ``kreise`` (dims ``zone, sex, age``) at ``year`` as the sum of their
    Gemeinden's base populations (the projection's own construction), and the year it is of.
    ``totals``: the Gemeinde totals of ``year`` if already at hand (:func:`gemeinde_totals`);
    ``known``: the Gemeinden's base population for ``year`` if already at hand (the run's own,
    built the same way; used where it holds every Gemeinde of the Kreise)."""
    from wandel.demography.rates import base_population
    from wandel.workflow.projection import StoreTables, gemeinde_totals

    assert isinstance(tables, StoreTables)
    gt = gemeinde_totals(tables.until(year), year) if totals is None else totals
    wanted = set(kreise)
    gems = sorted(z for z in gt["zone"].astype(str).unique() if z[:5] in wanted)
    have = set() if known is None else set(known.population["zone"].values.tolist())
    if known is not None and known.year == year and set(gems) <= have:
        pop, got = known.population.sel(zone=gems), int(known.year)
    else:
        bp = base_population(tables.population, gems, year, gemeinde_totals=gt)
        pop, got = bp.population, int(bp.year)
    pop = pop.assign_coords(kreis=("zone", [g[:5] for g in gems]))
    k = pop.groupby("kreis").sum().rename(kreis="zone")
    return k.transpose("zone", "sex", "age"), got


def _care_inputs(
    tables: object,
    care: pd.DataFrame,
    cat: Catalogue,
    zones: Sequence[str],
    start_year: int,
    trend: bool,
    totals: pd.DataFrame | None = None,
    known: BasePopulation | None = None,
) -> tuple[CareCalibration | None, dict[str, float], tuple[str, ...]]:
    """The Pflege calibration on each zone's Kreis, and the Kreise's occupied places."""
    kreise = sorted({z[:5] for z in zones})
    rows = care[care["zone"].astype(str).isin(kreise)]
    if rows.empty:
        return None, {}, ()
    rate = cat.entry_for("pflege", "care_rate", kreise[0], start_year)
    if rate is None:
        return None, {}, ()
    years = calibration_years(rows, start_year, rate.year, trend)
    if not years:
        return None, {}, ()
    notes: list[str] = []
    pops: dict[int, xr.DataArray] = {}
    for y in years:
        pops[y], got = kreis_population(
            tables, kreise, y, *((totals, known) if y == start_year else (None, None))
        )
        if got != y:
            notes.append(i18n.note("services.note.care_population_year", year=y, got=got))
    single = Grid(tuple(kreise), (start_year,), tuple(range(101)))

    def rate_for(k: str, y: int) -> Array:
        e = cat.entry_for("pflege", "care_rate", k, y)
        assert e is not None
        return single.rates_on_groups(e)

    def share(k: str, c: str) -> Array:
        e = cat.entry_for("pflege", f"type_share_{c}", k, start_year)
        return np.array(e.by_sex if e is not None and e.by_sex else (np.nan, np.nan))

    cal = calibrate_care(rows, pops, rate_for, share, years, kreise)
    last = cal.factors[
        (cal.factors["year"] == years[-1]) & (cal.factors["care_type"] == "residential")
    ]
    places = last.groupby("kreis")["observed"].sum(min_count=2).dropna()
    return cal, {str(k): float(v) for k, v in places.items()}, (*cal.notes, *notes)


def _parents(zones: Sequence[str], all_gemeinden: set[str], mb: Mapping[str, object]) -> Parents:
    """Kreise and Länder all of whose Gemeinden are in the run, Mittelbereiche, and the selection."""
    levels: dict[str, tuple[str, ...]] = {}
    zs = list(zones)
    if all(len(z) == 8 for z in zs):
        sel = set(zs)
        full_k = {k for k in {z[:5] for z in zs} if {g for g in all_gemeinden if g[:5] == k} <= sel}
        levels["kreis"] = tuple(z[:5] if z[:5] in full_k else "" for z in zs)
    lands = {z[:2] for z in zs}
    prefix = 8 if all(len(z) == 8 for z in zs) else 5
    full_l = {
        land
        for land in lands
        if {g[:prefix] for g in all_gemeinden if g[:2] == land} <= {z[:prefix] for z in zs}
    }
    levels["land"] = tuple(z[:2] if z[:2] in full_l else "" for z in zs)
    if mb:
        levels["mittelbereich"] = tuple(str(mb.get(z, "")) for z in zs)
    levels["auswahl"] = tuple("alle" for _ in zs)
    return Parents(levels)


def _groups(inputs: object, classes: Mapping[str, str], draws: int, seed: int) -> list[DrawGroup]:
    from wandel.workflow.projection import SIZE_CLASSES, calibrated_spec, load_sigmas

    if draws <= 0:
        return []
    sig = load_sigmas()
    zones = list(classes)
    level = "kreis" if all(len(z) == 5 for z in zones) else "gemeinde"
    out = []
    for cls in SIZE_CLASSES:
        zs = tuple(z for z in zones if classes[z] == cls)
        if zs:
            key = f"{level}:{cls}" if f"{level}:{cls}" in sig else cls
            out.append(DrawGroup(zs, calibrated_spec(key, draws, seed, sig)))
    return out


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------


def _service_inputs(
    store_data: Mapping[str, pd.DataFrame],
    tables: object,
    cat: Catalogue,
    names: Sequence[str],
    zones: Sequence[str],
    start: int,
    req: ServicesRequest,
    totals: pd.DataFrame | None = None,
    known: BasePopulation | None = None,
) -> tuple[ServiceInputs, dict[str, object], tuple[str, ...]]:
    notes: list[str] = []
    capacity = facility_capacity(
        store_data["facilities"], store_data["boundaries"], cat, names, start
    )
    cal: CareCalibration | None = None
    places: dict[str, float] = {}
    care_notes: tuple[str, ...] = ()
    if "pflege" in names:
        cal, places, care_notes = _care_inputs(
            tables, store_data["care"], cat, zones, start, req.trend, totals, known
        )
    notes += care_notes
    mb = (
        read_table(req.mittelbereiche, "zone", "mittelbereich", numeric=False)
        if req.mittelbereiche
        else {}
    )
    supply = read_table(req.gp_supply, "mittelbereich", "gps") if req.gp_supply else {}
    if supply and not mb:
        raise WandelError("@services.error.gp_supply_needs_mb")
    members = read_table(req.fire_members, "zone", "members") if req.fire_members else {}
    dwell = read_table(req.dwellings, "zone", "dwellings") if req.dwellings else {}
    reach = read_travel_times(req.travel_times, zones) if req.travel_times else None
    inputs = ServiceInputs(
        capacity=capacity,
        care=cal,
        care_places=places,
        gp_supply={str(k): float(v) for k, v in supply.items()},  # type: ignore[arg-type]
        fire_members={str(k): float(v) for k, v in members.items()},  # type: ignore[arg-type]
        dwellings={str(k): float(v) for k, v in dwell.items()},  # type: ignore[arg-type]
        reach=reach,
        trend=req.trend,
    )
    return inputs, mb, tuple(notes)


def _load(db: Path) -> tuple[object, dict[str, pd.DataFrame], pd.DataFrame]:
    from wandel.store import Store
    from wandel.workflow.projection import load_tables

    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
        data = {
            "care": store.table("care"),
            "facilities": store.table("facilities"),
            "boundaries": store.table("boundaries"),
        }
        provenance = store.provenance()
        names = store.zones()
    data["zones"] = names
    return tables, data, provenance


@dataclass(frozen=True, eq=False)
class PreparedServices:
    """Everything of a services request that does not depend on its scenarios: the zones' inputs,
    the catalogue and plans, the grid, parents and draw groups (:func:`prepare_services`); run the
    scenarios on it with :func:`run_prepared` (a web page recomputes one scenario at a time)."""

    req: ServicesRequest
    inputs: object
    cat: Catalogue
    names: tuple[str, ...]
    grid: Grid
    plans: Sequence[ServicePlan]
    parents: Parents
    groups: list[DrawGroup]
    notes: tuple[str, ...]
    zone_names: Mapping[str, str]
    provenance: pd.DataFrame


def prepare_services(
    tables: object, data: Mapping[str, pd.DataFrame], provenance: pd.DataFrame, req: ServicesRequest
) -> PreparedServices:
    """The scenario-free part of ``req`` on loaded store tables (see :func:`services_from_store`)."""
    from wandel.demography.model import select_zones
    from wandel.workflow.projection import build_inputs, gemeinde_totals, size_class

    cat = load_catalogue(req.catalogue, req.overrides, req.params, req.base_year)
    names = tuple(req.services) or tuple(cat.services)
    for n in names:
        cat.service(n)
    level = "kreis" if req.level == "kreis" and all(len(z) == 5 for z in req.zones) else "gemeinde"
    gt0 = gemeinde_totals(tables.until(req.base_year), req.base_year)  # type: ignore[attr-defined]
    zones = select_zones(tables, list(req.zones), level, req.base_year, gt0).zones  # type: ignore[arg-type]
    inputs = build_inputs(tables, zones, req.base_year, totals=gt0)  # type: ignore[arg-type]
    start = inputs.start_year
    if req.until <= start:
        raise WandelError("@services.error.until_after_base", until=req.until, start=start)
    provisional = Grid(tuple(inputs.zones), tuple(range(start, req.until + 1)), (0,))
    grid = Grid(provisional.zones, provisional.years, required_breaks(cat, names, provisional))
    gt = gt0 if start == req.base_year else gemeinde_totals(tables.until(start), start)  # type: ignore[attr-defined]
    svc_inputs, mb, notes = _service_inputs(
        data, tables, cat, names, grid.zones, start, req, gt, inputs.base
    )
    plans = plan_services(cat, names, grid, svc_inputs, strict=bool(req.services))
    parents = _parents(grid.zones, set(gt["zone"].astype(str)), mb)
    classes = {
        z: size_class(float(v))
        for z, v in zip(
            inputs.zones, inputs.base.population.sum(("sex", "age")).values, strict=True
        )
    }
    zone_names = dict(
        zip(data["zones"]["zone"].astype(str), data["zones"]["name"].astype(str), strict=True)
    )
    return PreparedServices(
        req,
        inputs,
        cat,
        names,
        grid,
        plans,
        parents,
        _groups(inputs, classes, req.draws, req.seed),
        (*notes, *inputs.notes()),
        zone_names,
        provenance,
    )


def run_prepared(
    prep: PreparedServices,
    scenarios: Sequence[tuple[str, object]],
    on_chunk: Callable[[int], None] | None = None,
    lang: str | None = None,
) -> ServicesRun:
    """Run ``scenarios`` (name, scenario or None for the base) on a prepared request; the source
    note in ``lang`` (default: the language of the call)."""
    from wandel.workflow.projection import scenario_rates

    req, inputs, grid = prep.req, prep.inputs, prep.grid
    start = inputs.start_year  # type: ignore[attr-defined]
    figs, ths, crs = [], [], []
    all_notes: list[str] = list(prep.notes)
    result: ServiceResult | None = None
    for sc_name, scenario in scenarios:
        rates, sc_notes = scenario_rates(inputs, scenario, req.until)  # type: ignore[arg-type]
        all_notes += sc_notes
        result = service_demand(
            inputs.base.population,  # type: ignore[attr-defined]
            rates,
            base_year=start,
            until=req.until,
            plans=prep.plans,
            grid=grid,
            parents=prep.parents,
            groups=prep.groups,
            chunking=req.chunking,
            on_chunk=on_chunk,
        )
        figs.append(result.figures.assign(scenario=sc_name))
        ths.append(result.thresholds.assign(scenario=sc_name))
        crs.append(result.crossings.assign(scenario=sc_name))
    assert result is not None
    all_notes += [*result.notes, *(m.note() for m in result.missing)]
    notes = tuple(dict.fromkeys(all_notes))
    note = source_note(prep.cat, prep.plans, prep.provenance, req, start, notes, lang)
    parents = prep.parents
    return ServicesRun(
        figures=_front(pd.concat(figs, ignore_index=True)),
        thresholds=_front(pd.concat(ths, ignore_index=True)),
        crossings=_front(pd.concat(crs, ignore_index=True)),
        names={
            z: prep.zone_names.get(z, z)
            for z in (*grid.zones, *(c for lv in parents.levels.values() for c in lv if c))
        },
        services=prep.names,
        start_year=start,
        until=req.until,
        draws=req.draws,
        source_note=note,
        notes=notes,
    )


def services_from_store(
    db: Path,
    req: ServicesRequest,
    on_chunk: Callable[[int], None] | None = None,
    lang: str | None = None,
) -> ServicesRun:
    """Run the request on the store at ``db`` (read only); the source note in ``lang``."""
    tables, data, provenance = _load(db)
    return run_prepared(
        prepare_services(tables, data, provenance, req), req.scenarios, on_chunk, lang
    )


def _front(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["scenario", *[c for c in frame.columns if c != "scenario"]]
    return frame[cols]


def source_note(
    cat: Catalogue,
    plans: Sequence[ServicePlan],
    provenance: pd.DataFrame,
    req: ServicesRequest,
    start: int,
    notes: Sequence[str],
    lang: str | None = None,
) -> str:
    """The source note of a services run in ``lang`` (default: the language of the call): data in
    the store, every figure of the catalogue used (region, year, source), the user's figures,
    method notes and missing parameters."""
    tr = i18n.tr
    lines = [
        tr("services.source.head", lang),
        tr(
            "services.source.run",
            lang,
            start=start,
            until=req.until,
            draws=req.draws,
            seed=req.seed,
        ),
        "",
        tr("services.source.data", lang),
    ]
    for _, p in provenance.iterrows():
        lines.append(f"- {p['file_name']} ({p['producer'] or p['kind']}; {p['licence'] or ''})")
    lines += ["", tr("services.source.figures", lang)]
    for plan in plans:
        for e in plan.entries:
            param = next((k for k, v in cat.service(plan.name).parameters.items() if e in v), "?")
            valid = ""
            if e.valid_from is not None or e.valid_to is not None:
                valid = ", " + tr(
                    "services.source.valid", lang, first=e.valid_from or "", last=e.valid_to or ""
                )
            lines.append(
                f"- {plan.name}.{param}{'.' + e.measure if e.measure else ''} {e.region} ({e.year}{valid}): "
                f"{cat.source_text(e.source)}"
            )
    if notes:
        lines += ["", tr("services.source.notes", lang)]
        lines += [f"- {i18n.note_text(n, lang)}" for n in notes]
    lines += ["", tr("services.source.licence", lang)]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------

KEY_MEASURES: dict[str, str] = {
    "quota": "places",
    "school": "pupils",
    "care": "people_in_need",
    "gp": "gps_needed",
    "fire": "day_available",
    "households": "households",
    "labour": "labour_force",
}
"""The measure each service's fan chart shows."""


def _labelled(frame: pd.DataFrame, names: Mapping[str, str], lang: str | None) -> pd.DataFrame:
    """German (or English) column names, zone names and measure labels for people."""
    from wandel.i18n import catalogue, tr

    texts = catalogue()
    out = frame.copy()
    if "zone" in out.columns:  # a run without threshold crossings has an empty crossings frame
        out.insert(
            out.columns.get_loc("zone") + 1,
            "name",
            out["zone"].astype(str).map(lambda z: names.get(z, z)),
        )
    if "measure" in out.columns:

        def label(m: str) -> str:
            base = m[5:] if m.startswith("cost_") else m
            key = f"services.measure.{base}"
            text = tr(key, lang) if key in texts else base
            return f"{tr('services.measure.cost', lang)}: {text}" if m.startswith("cost_") else text

        out.insert(out.columns.get_loc("measure") + 1, "label", out["measure"].map(label))
    if "unit" in out.columns:
        out["unit"] = out["unit"].map(
            lambda u: tr(f"services.unit.{u}", lang) if f"services.unit.{u}" in texts else u
        )
    cols = {c: tr(f"services.col.{c}", lang) for c in out.columns if f"services.col.{c}" in texts}
    return out.rename(columns=cols)


def _gpkg_frame(run: ServicesRun, boundaries: pd.DataFrame) -> object | None:
    """Zones (Gemeinden) with their geometry and, per measure, the base year's value and the last
    year's value, median and 80 % band (first scenario)."""
    import geopandas as gpd
    import shapely

    f = run.figures
    f = f[(f["level"] == "zone") & (f["scenario"] == f["scenario"].iloc[0])]
    b = boundaries[boundaries["level"] == "gemeinde"]
    if f.empty or b.empty:
        return None
    b = b[b["valid_year"] == b["valid_year"].max()]
    zones = pd.Series(sorted(f["zone"].astype(str).unique()))
    cols: dict[str, pd.Series] = {"zone": zones, "name": zones.map(lambda z: run.names.get(z, z))}
    for (svc, m), g in f.groupby(["service", "measure"], sort=True):
        g = g.set_index("zone")
        for year, what in (
            (run.start_year, ("value",)),
            (run.until, ("value", "q10", "q50", "q90")),
        ):
            gy = g[g["year"] == year]
            for c in what:
                cols[f"{svc}_{m}_{year}{'' if c == 'value' else '_' + c}"] = zones.map(gy[c])
    wide = pd.DataFrame(cols)
    geo = b.set_index(b["zone"].astype(str))
    wide = wide[wide["zone"].isin(geo.index)]
    if wide.empty:
        return None
    geom = shapely.from_wkb([bytes(geo.loc[z, "geometry"]) for z in wide["zone"]])
    out: object = gpd.GeoDataFrame(wide, geometry=geom, crs=str(b["crs"].iloc[0]))
    return out


def write_services(
    run: ServicesRun,
    out_dir: Path,
    *,
    stem: str = "dienste",
    boundaries: pd.DataFrame | None = None,
    lang: str | None = None,
) -> list[Path]:
    """Write the run's results into ``out_dir``, all or nothing.

    ``<stem>.csv`` (German: ``;``, decimal comma) and ``<stem>_rfc4180.csv`` (RFC 4180), the same
    for ``<stem>_schwellen`` (thresholds), ``<stem>.xlsx`` (sheets Kennzahlen, Schwellen,
    Schwellen_je_Jahr, Quellen), ``<stem>.gpkg`` (Gemeinden with geometry, where the store has
    boundaries) and ``<stem>_faecher_<service>.png``; each CSV with its ``.quellen.txt``. Files are
    made in a temporary folder and moved into place only when all are complete.
    """
    from wandel.i18n import tr
    from wandel.reports.charts import save
    from wandel.reports.exports import write_csv, write_gpkg, write_xlsx
    from wandel.reports.service_charts import service_fan_chart

    out_dir.mkdir(parents=True, exist_ok=True)
    note = run.source_note
    stage = Path(tempfile.mkdtemp(prefix=".wandel-services-", dir=out_dir))
    try:
        made: list[Path] = []
        rounded = run.figures.round(
            dict.fromkeys(("value", "q025", "q10", "q50", "q90", "q975"), 6)
        )
        figs = _labelled(rounded, run.names, lang)
        ths = _labelled(run.thresholds, run.names, lang)
        made += write_csv(figs, stage / f"{stem}.csv", dialect="de", source_note=note)
        made += write_csv(rounded, stage / f"{stem}_rfc4180.csv", dialect="rfc", source_note=note)
        made += write_csv(ths, stage / f"{stem}_schwellen.csv", dialect="de", source_note=note)
        made += write_csv(
            run.thresholds, stage / f"{stem}_schwellen_rfc4180.csv", dialect="rfc", source_note=note
        )
        sheets = {
            "Kennzahlen": figs,
            "Schwellen": ths,
            "Schwellen_je_Jahr": _labelled(run.crossings, run.names, lang),
        }
        made.append(write_xlsx(sheets, stage / f"{stem}.xlsx", source_note=note))
        gdf = _gpkg_frame(run, boundaries) if boundaries is not None else None
        if gdf is not None:
            made.append(write_gpkg(gdf, stage / f"{stem}.gpkg", layer=stem, source_note=note))
        made += _charts(run, stage, stem, lang, service_fan_chart, save, tr)
        final = []
        mode = _file_mode()
        for p in made:
            target = out_dir / p.name
            p.chmod(mode)
            p.replace(target)
            final.append(target)
        return sorted(set(final))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _file_mode() -> int:
    """Permissions of a new file under the process's umask (temporary files are made 0600)."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _charts(
    run: ServicesRun,
    stage: Path,
    stem: str,
    lang: str | None,
    chart: Callable[..., object],
    save: Callable[..., Path],
    tr: Callable[..., str],
) -> list[Path]:
    from wandel.services import shipped_catalogue

    kinds = {n: s.kind for n, s in shipped_catalogue().services.items()}
    f = run.figures[run.figures["scenario"] == run.figures["scenario"].iloc[0]]
    zones = f[f["level"] == "zone"]["zone"].unique()
    level = "zone" if len(zones) <= 12 else "auswahl"
    made = []
    for svc in run.services:
        m = KEY_MEASURES.get(kinds.get(svc, ""), "")
        rows = f[(f["service"] == svc) & (f["measure"] == m) & (f["level"] == level)]
        if rows.empty:
            continue
        names = {**run.names, "alle": tr("services.chart.all", lang)}
        title = f"{tr(f'services.service.{svc}', lang)}: {tr(f'services.measure.{m}', lang)}"
        unit = tr(f"services.unit.{rows['unit'].iloc[0]}", lang)
        fig = chart(rows, title, unit, names, lang)
        made.append(save(fig, stage / f"{stem}_faecher_{svc}.png"))
    return made


def services_to_files(
    db: Path,
    req: ServicesRequest,
    out_dir: Path,
    *,
    stem: str = "dienste",
    lang: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[ServicesRun, list[Path]]:
    """Run ``req`` on the store at ``db`` and write its files into ``out_dir`` (GeoPackage with
    the store's Gemeinde boundaries): the run and the files written (``wandel services``)."""
    from wandel.store import Store

    run = services_from_store(db, req, on_chunk=on_chunk, lang=lang)
    with Store.open(db, read_only=True) as store:
        boundaries = store.table("boundaries", "level = 'gemeinde'")
    return run, write_services(run, out_dir, stem=stem, boundaries=boundaries, lang=lang)


def run_services_demo(
    db: Path, out_dir: Path, zones: Sequence[str], draws: int, until: int = 2040
) -> list[Path]:
    """The services part of ``make demo``: every service with sourced figures for ``zones`` (the
    seed towns) from the latest Gemeindeverzeichnis year to ``until`` with ``draws`` draws; files
    ``dienste_seed_*`` in ``out_dir``. Services or measures whose figures no source gives are left
    out and named in the source note."""
    req = ServicesRequest(
        zones=tuple(zones), base_year=latest_split_year(db), until=until, draws=draws, seed=2040
    )
    return services_to_files(db, req, out_dir, stem="dienste_seed")[1]


def latest_split_year(db: Path) -> int:
    """The latest year with Gemeinde totals by sex in the store (the demo's base year)."""
    from wandel.store import Store
    from wandel.workflow.projection import year_end_totals

    with Store.open(db, read_only=True) as store:
        pop = store.population(level="gemeinde", include_estimated=False)
    gem = year_end_totals(pop, 8)
    return int(gem.loc[gem["sex"].isin(["m", "f"]), "year"].max())

"""The data of each page as plain JSON-able dictionaries: the HTML page and its JSON twin render
the same dictionary, so both show the same numbers.

Numbers are rounded once here (persons to whole numbers or one decimal, shares as fractions);
the templates only format them for the language.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from wandel.compare.catalogue import load_catalogue
from wandel.i18n import tr
from wandel.web.disclosure import protect
from wandel.web.reader import Caller, Reader
from wandel.workflow.town import UNTIL, Levers, TownProjection

__all__ = [
    "PYRAMID_BREAKS",
    "data_view",
    "kommune_view",
    "network_view",
    "scenario_view",
    "services_view",
    "start_view",
]

PYRAMID_BREAKS = tuple(range(0, 95, 5))
"""Age groups of the pyramid table: 0-4, 5-9, ..., 90+."""

KEY_INDICATORS = (
    "population",
    "population_change",
    "median_age",
    "share_65plus",
    "share_80plus",
    "old_age_ratio",
    "youth_ratio",
    "density",
)
"""The indicators shown on the town page, against Kreis and Land."""

KEY_SERVICES = {  # service -> the measure shown for it on the pages
    "krippe": "places",
    "kita": "places",
    "grundschule": "pupils",
    "sekundarstufe1": "pupils",
    "pflege": "people_in_need",
    "hausaerzte": "gps_needed",
    "feuerwehr": "residents_active_age",
    "haushalte": "households",
    "erwerbspersonen": "labour_force",
}


_MEMO: OrderedDict[tuple[object, ...], tuple[tuple[object, ...], dict[str, Any]]] = OrderedDict()
_MEMO_LOCK = threading.Lock()
MEMO_SIZE = 128
"""How many page views are kept (the newest)."""


def _memo(
    key: tuple[object, ...], reads: tuple[object, ...], make: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The view ``make()`` builds from ``reads`` (results of :meth:`Reader.read`), remembered
    while the read door hands out the very same result objects (a view is a pure function of its
    reads; the reads themselves still pass the door every time). Callers must not change it."""
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if (
            hit is not None
            and len(hit[0]) == len(reads)
            and all(a is b for a, b in zip(hit[0], reads, strict=True))
        ):
            _MEMO.move_to_end(key)
            return hit[1]
    view = make()
    with _MEMO_LOCK:
        _MEMO[key] = (reads, view)
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return view


def _r(x: object, digits: int = 1) -> float | None:
    """``x`` rounded for the pages (``None`` for missing values)."""
    if x is None or pd.isna(x):
        return None
    v = float(x)  # type: ignore[arg-type]
    return None if math.isnan(v) else round(v, digits)


def projection_source(reader: Reader, caller: Caller, start_year: int, draws: int) -> str:
    """The source line of a Wandel projection."""
    return tr("web.source.projection", caller.lang, year=start_year, draws=draws)


def _groups(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Single years of age (``age, f, m``) summed to :data:`PYRAMID_BREAKS` groups."""
    ages = frame["age"].to_numpy()
    idx = np.searchsorted(np.asarray(PYRAMID_BREAKS), ages, side="right") - 1
    n = len(PYRAMID_BREAKS)
    men = np.bincount(idx, weights=frame["m"].to_numpy(dtype=float), minlength=n)
    women = np.bincount(idx, weights=frame["f"].to_numpy(dtype=float), minlength=n)
    out = []
    for i, a in enumerate(PYRAMID_BREAKS):
        label = f"{a}–{PYRAMID_BREAKS[i + 1] - 1}" if i + 1 < n else f"{a}+"
        out.append({"age_start": a, "label": label, "men": _r(men[i], 0), "women": _r(women[i], 0)})
    return out


def _records(frame: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    years = frame["year"].to_numpy()
    values = {c: frame[c].to_numpy(dtype=float) for c in cols}
    return [{"year": int(y), **{c: _r(values[c][i], 0) for c in cols}} for i, y in enumerate(years)]


def _fan(p: TownProjection) -> list[dict[str, Any]]:
    t = p.totals()
    return _records(t, [c for c in ("value", "q10", "q50", "q90") if c in t.columns])


def _components(p: TownProjection) -> list[dict[str, Any]]:
    cols = ["births", "deaths", "in_migration", "out_migration", "natural", "net_migration"]
    return _records(p.components(), cols)


def uncertainty_sentence(name: str, fan: list[dict[str, Any]], lang: str) -> str:
    """ "In 8 von 10 simulierten Zukünften leben 2040 zwischen ... und ... Menschen in ..."."""
    from wandel.compare._format import format_number

    last = fan[-1]
    if last.get("q10") is None:
        return ""
    return tr(
        "web.sentence.band",
        lang,
        year=last["year"],
        low=format_number(float(last["q10"]), 0, lang),
        high=format_number(float(last["q90"]), 0, lang),
        name=name,
    )


def _indicators(caller: Caller, table: pd.DataFrame) -> list[dict[str, Any]]:
    cat = load_catalogue()
    out = []
    for key in KEY_INDICATORS:
        rows = table[table["indicator"] == key]
        if rows.empty:
            continue
        r = rows.iloc[0]
        ind = cat[key]
        scale = 100.0 if ind.unit == "share" else 1.0
        out.append(
            {
                "key": key,
                "name": ind.text("name", caller.lang),
                "unit": "%" if ind.unit == "share" else ind.unit_text(caller.lang),
                "year": int(r["year"]),
                "value": _r(r["value"] * scale, ind.decimals),
                "kreis_value": _r(r["kreis_value"] * scale, ind.decimals),
                "land_value": _r(r["land_value"] * scale, ind.decimals),
                "decimals": ind.decimals,
                "estimated": bool(r["estimated"]),
                "source": ind.text("source", caller.lang),
            }
        )
    return out


def _head(reader: Reader, caller: Caller, zone: str) -> dict[str, Any]:
    wb = reader.workbench
    return {
        "zone": zone,
        "name": reader.read(caller, "name", zone),
        "level": wb.level(zone),
        "projectable": zone in wb.projectable,
        "base_year": wb.base_year,
        "until": UNTIL,
    }


def start_view(reader: Reader, caller: Caller, q: str = "") -> dict[str, Any]:
    """Search results (towns, Kreise, Länder by name or AGS) and the networks."""
    hits = reader.read(caller, "search", text=q) if q.strip() else pd.DataFrame()
    nets = reader.read(caller, "networks", text=q if q.strip() else "")
    wb = reader.workbench
    return {
        "q": q,
        "results": [
            {
                "zone": str(r["zone"]),
                "name": str(r["name"]),
                "level": str(r["level"]),
                "projectable": bool(r["projectable"]),
            }
            for _, r in hits.iterrows()
        ],
        "networks": [
            {
                "name": n.name,
                "title": n.title,
                "members": [{"zone": m, "name": wb.name(m)} for m in n.members],
            }
            for n in nets
        ],
    }


def kommune_view(reader: Reader, caller: Caller, zone: str, year: int = 2030) -> dict[str, Any]:
    """The town page: population today and in ``year`` (pyramid), fan chart, components of
    change, key indicators against Kreis and Land, each with its source and year."""
    name = reader.read(caller, "name", zone)
    table = reader.read(caller, "indicators", zone)
    wb = reader.workbench
    p: TownProjection | None = None
    if zone in wb.projectable:
        p = reader.read(caller, "projection", zone)
    key = ("kommune", zone, year, caller)
    return _memo(key, (name, table, p), lambda: _kommune(reader, caller, zone, year, table, p))


def _kommune(
    reader: Reader,
    caller: Caller,
    zone: str,
    year: int,
    table: pd.DataFrame,
    p: TownProjection | None,
) -> dict[str, Any]:
    view = _head(reader, caller, zone)
    view["indicators"] = _indicators(caller, table)
    view["year"] = year
    if p is None or not view["projectable"]:
        return view
    start = p.result.start_year
    year = min(max(year, start + 1), UNTIL)
    view["year"] = year
    view["pyramid"] = {
        "years": [start, year],
        "base": _groups(p.population(start)),
        "year": _groups(p.population(year)),
    }
    view["fan"] = _fan(p)
    view["components"] = _components(p)
    by_year = {r["year"]: r for r in view["fan"]}
    view["population"] = {str(y): by_year[y] for y in (start, 2030, UNTIL) if y in by_year}
    view["sentence"] = uncertainty_sentence(view["name"], view["fan"], caller.lang)
    view["source"] = projection_source(reader, caller, start, p.draws)
    return protect("kommune", view, caller, lambda: p.public_secret)


def _service_rows(run: Any, lang: str, years: tuple[int, ...]) -> list[dict[str, Any]]:
    """The :data:`KEY_SERVICES` rows of a services run in ``years``, per scenario (in the order
    the run has them); plain arrays rather than a pandas filter per cell (the slider waits)."""
    f = run.figures
    f = f[(f["level"] == "zone").to_numpy()]
    svc = f["service"].to_numpy(dtype=object)
    mea = f["measure"].to_numpy(dtype=object)
    keep = np.fromiter(
        (KEY_SERVICES.get(a) == b for a, b in zip(svc, mea, strict=True)), bool, len(f)
    )
    sub = f[keep]
    wanted = {int(y) for y in years}
    units: dict[str, str] = {}
    cells: dict[str, dict[str, dict[str, dict[str, float | None]]]] = {}
    for sc, service, unit, year, value, q10, q90 in zip(
        sub["scenario"].to_numpy(dtype=object),
        sub["service"].to_numpy(dtype=object),
        sub["unit"].to_numpy(dtype=object),
        sub["year"].to_numpy(),
        sub["value"].to_numpy(dtype=float),
        sub["q10"].to_numpy(dtype=float),
        sub["q90"].to_numpy(dtype=float),
        strict=True,
    ):
        units.setdefault(str(service), str(unit))
        by_sc = cells.setdefault(str(service), {}).setdefault(str(sc), {})
        if int(year) in wanted and str(int(year)) not in by_sc:
            by_sc[str(int(year))] = {"value": _r(value), "q10": _r(q10), "q90": _r(q90)}
    rows = []
    for service, measure in KEY_SERVICES.items():
        if service not in units:
            continue
        row: dict[str, Any] = {
            "service": service,
            "measure": measure,
            "label": tr(f"services.service.{service}", lang),
            "measure_label": tr(f"services.measure.{measure}", lang),
            "unit": units[service],
        }
        for sc, vals in cells[service].items():
            row[sc] = {str(y): vals[str(y)] for y in years if str(y) in vals}
        rows.append(row)
    return rows


def services_view(reader: Reader, caller: Caller, zone: str) -> dict[str, Any]:
    """Daseinsvorsorge: demand of each service today, 2030 and 2040 (with the band) and the
    years in which thresholds are crossed."""
    view = _head(reader, caller, zone)
    if not view["projectable"]:
        return view
    run = reader.read(caller, "services", zone)
    years = (run.start_year, 2030, run.until)
    view["years"] = list(years)
    view["services"] = _service_rows(run, caller.lang, years)
    th = run.thresholds[run.thresholds["level"] == "zone"]
    view["thresholds"] = [
        {
            "service": str(r["service"]),
            "label": tr(f"services.service.{r['service']}", caller.lang),
            "measure_label": tr(f"services.measure.{r['measure']}", caller.lang),
            "threshold": str(r["threshold"]),
            "p_by_end": _r(r["p_by_end"], 2),
            "year_p50": None if pd.isna(r["year_p50"]) else int(r["year_p50"]),
        }
        for _, r in th.iterrows()
    ]
    view["source"] = tr("web.source.services", caller.lang, year=run.start_year, draws=run.draws)
    return protect("daseinsvorsorge", view, caller)


def scenario_view(
    reader: Reader, caller: Caller, zone: str, levers: Levers, draws: int = 20
) -> dict[str, Any]:
    """Szenarien: the base and the scenario of ``levers`` side by side (population, pyramid in
    :data:`UNTIL`, service demand)."""
    view = _head(reader, caller, zone)
    view["levers"] = {
        "refugees_per_year": levers.refugees_per_year,
        "stay_young_pct": levers.stay_young_pct,
        "tfr": levers.tfr,
        "from_year": levers.from_year,
        "to_year": levers.to_year,
    }
    if not view["projectable"]:
        return view
    base: TownProjection = reader.read(caller, "projection", zone, draws=draws)
    var: TownProjection = reader.read(caller, "projection", zone, levers=levers, draws=draws)
    start = base.result.start_year
    view["fan"] = {"basis": _fan(base), "szenario": _fan(var)}
    view["pyramid"] = {
        "years": [start, UNTIL],
        "basis": _groups(base.population(UNTIL)),
        "szenario": _groups(var.population(UNTIL)),
    }
    fb = {r["year"]: r for r in view["fan"]["basis"]}
    fs = {r["year"]: r for r in view["fan"]["szenario"]}
    view["population"] = [
        {"year": y, "basis": fb[y], "szenario": fs[y]} for y in (start, 2030, UNTIL) if y in fb
    ]
    view["sentence"] = uncertainty_sentence(view["name"], view["fan"]["szenario"], caller.lang)
    run = reader.read(caller, "zone_services", zone, levers=levers, draws=draws)
    view["services"] = _service_rows(run, caller.lang, (2030, UNTIL))
    view["source"] = projection_source(reader, caller, start, draws)
    return protect("szenarien", view, caller, lambda: base.public_secret)


def network_view(reader: Reader, caller: Caller, zone: str) -> dict[str, Any]:
    """Netzwerk: the most similar towns, the strengths-weaknesses sentences and measures of
    similar towns for the weaknesses."""
    view = _head(reader, caller, zone)
    wb = reader.workbench
    peers = reader.read(caller, "peers", zone)
    view["peers"] = [
        {
            "rank": int(r["rank"]),
            "zone": str(r["peer"]),
            "name": wb.name(str(r["peer"])),
            "distance": _r(r["distance"], 2),
        }
        for _, r in peers.table.iterrows()
    ]
    prof = reader.read(caller, "profile", zone)
    m = reader.read(caller, "measures", zone)
    if caller.public:
        from wandel.web.disclosure import public_network

        table = reader.read(caller, "indicators", zone)
        pop = table.loc[table["indicator"] == "population", "value"]
        if len(pop):
            prof, m = public_network(prof, m, zone, float(pop.iloc[0]))
    view["profile"] = [
        {
            "indicator": str(r["indicator"]),
            "assessment": str(r["assessment"]),
            "sentence": str(r["sentence"]),
        }
        for _, r in prof.facts.iterrows()
    ]
    view["measures"] = [
        {
            "title": str(r["title"]),
            "town": str(r["town"]),
            "zone": str(r["zone"]),
            "weakness": str(r["weakness"]),
            "year": None if pd.isna(r["year"]) else int(r["year"]),
            "description": str(r["description"]),
        }
        for _, r in m.iterrows()
    ]
    view["source"] = wb.compare().note
    return view


def data_view(reader: Reader, caller: Caller) -> dict[str, Any]:
    """Daten: every import of the store (file, table, producer, licence, rows) and row counts."""
    prov = reader.read(caller, "sources")
    return {
        "sources": [
            {
                "file": str(r["file_name"]),
                "table_code": str(r["table_code"] or r["kind"]),
                "title": str(r["title"] or ""),
                "producer": str(r["producer"] or ""),
                "licence": str(r["licence"] or ""),
                "rows": int(r["rows_imported"]),
                "sha256": str(r["sha256"]),
            }
            for _, r in prov.iterrows()
        ],
        "tables": {str(k): int(v) for k, v in reader.read(caller, "facts").items()},
    }

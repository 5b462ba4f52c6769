"""The Erreichbarkeit page: travel times from the Gemeinden of a town's Kreis to the nearest
hospital and the coverage by age, as an SVG map from the imported boundaries, a sortable table
(sorted on the server: the column headers are links, so it works without JavaScript) and its JSON
twin ``/api/kommune/{ags}/erreichbarkeit`` with the same numbers in the same order.

The numbers come from :meth:`wandel.workflow.town.TownWorkbench.access` through the read door;
every table and the map name their sources and years.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from wandel.compare._format import format_number
from wandel.i18n import tr
from wandel.reports.map_svg import CLASS_COLOURS, MapClass, MapShape, MapSite, choropleth_svg
from wandel.web import views
from wandel.web.disclosure import protect_access
from wandel.web.reader import Caller, Reader
from wandel.workflow.town_access import AGE_GROUPS, THRESHOLDS_MIN, TownAccess

if TYPE_CHECKING:
    from wandel.web.app import _Pages

__all__ = ["CLASS_BREAKS", "SORTS", "access_map", "access_view", "add_access_routes"]

CLASS_BREAKS = (10.0, 15.0, 20.0, 30.0)
"""Upper bounds (minutes, inclusive) of the map's classes; a last class above 30 minutes."""

SORTS = ("name", "zone", "time", "people")
"""Columns the table can be sorted by (``people``: people aged 75 and over)."""

OLDEST = AGE_GROUPS.split(",")[-1]
"""The age group named in the table and the sentence (75+)."""

Sort = Literal["name", "zone", "time", "people"]
Order = Literal["asc", "desc"]


def _r(x: float, digits: int) -> float | None:
    return None if math.isnan(x) else round(float(x), digits)


def _cls(minutes: float | None) -> int | None:
    if minutes is None:
        return None
    return next((i for i, b in enumerate(CLASS_BREAKS) if minutes <= b), len(CLASS_BREAKS))


def _rows(acc: TownAccess) -> list[dict[str, Any]]:
    labels = AGE_GROUPS.split(",")
    rows = []
    for _, r in acc.gemeinden.iterrows():
        people = {g: _r(r[g], 0) for g in labels}
        rows.append(
            {
                "zone": str(r["zone"]),
                "name": str(r["name"]),
                "travel_time_min": _r(r["travel_time_min"], 1),
                "class": _cls(_r(r["travel_time_min"], 1)),
                "facility": str(r["facility"]),
                "facility_name": str(r["facility_name"]),
                "people": people,
            }
        )
    return rows


def _sort_rows(rows: list[dict[str, Any]], sort: Sort, order: Order) -> None:
    """Sort the table's rows (in place); a secret count sorts as a missing one, so the order
    tells nothing of it."""

    def people(row: dict[str, Any]) -> tuple[bool, float]:
        v = row["people"][OLDEST]
        return (not isinstance(v, int | float), v if isinstance(v, int | float) else 0.0)

    keys: dict[str, Any] = {
        "name": lambda row: (row["name"].casefold(), row["zone"]),
        "zone": lambda row: (row["zone"],),
        "time": lambda row: (row["travel_time_min"] is None, row["travel_time_min"] or 0.0),
        "people": people,
    }
    rows.sort(key=keys[sort], reverse=order == "desc")


def _coverage(acc: TownAccess) -> list[dict[str, Any]]:
    out = []
    cov = acc.coverage
    for group in [*AGE_GROUPS.split(","), "total"]:
        part = cov[cov["age_group"] == group].set_index("threshold_min")
        out.append(
            {
                "age_group": group,
                "population": _r(part["population"].iloc[0], 0),
                "shares": {f"{t:g}": _r(part.loc[t, "share"], 3) for t in THRESHOLDS_MIN},
            }
        )
    return out


def _sources(acc: TownAccess, lang: str) -> dict[str, Any]:
    s = acc.sources
    return {
        "boundaries": {"text": s.boundaries, "year": s.boundaries_year},
        "facilities": {"text": s.facilities, "year": s.facilities_year},
        "population": {"text": s.population, "year": s.population_year},
        "method": tr(
            "web.access.method",
            lang,
            detour=format_number(s.detour_factor, 1, lang),
            speed=format_number(s.speed_kph, 0, lang),
        ),
    }


def access_view(
    reader: Reader, caller: Caller, zone: str, sort: Sort = "time", order: Order = "asc"
) -> dict[str, Any]:
    """Erreichbarkeit of ``zone``: the Gemeinden of its Kreis with the travel time to the nearest
    hospital (sorted by ``sort``), the coverage by age within :data:`THRESHOLDS_MIN`, sources."""
    view = views._head(reader, caller, zone)
    acc: TownAccess = reader.read(caller, "access", zone)
    view["area"] = {"zone": acc.prefix, "name": reader.read(caller, "name", acc.prefix)}
    view["sort"], view["order"] = sort, order
    view["thresholds"] = [f"{t:g}" for t in THRESHOLDS_MIN]
    view["age_groups"] = AGE_GROUPS.split(",")
    view["oldest"] = OLDEST
    view["gemeinden"] = _rows(acc)
    view["coverage"] = _coverage(acc)
    minutes = {
        str(z): float(m)
        for z, m in zip(acc.gemeinden["zone"], acc.gemeinden["travel_time_min"], strict=True)
    }
    protect_access(view, minutes, caller)  # the public: small counts kept secret
    _sort_rows(view["gemeinden"], sort, order)
    view["town"] = next((r for r in view["gemeinden"] if r["zone"] == zone), None)
    view["unweighted"] = list(acc.unweighted)
    view["not_located"] = list(acc.not_located)
    view["sources"] = _sources(acc, caller.lang)
    oldest = next(c for c in view["coverage"] if c["age_group"] == OLDEST)
    share = oldest["shares"]["15"]
    view["sentence"] = (
        ""  # a secret share: no sentence tells it
        if isinstance(share, str)
        else tr(
            "web.access.sentence",
            caller.lang,
            share=format_number(100 * (share or 0.0), 0, caller.lang),
            area=view["area"]["name"],
            year=acc.sources.population_year,
        )
    )
    return view


def class_labels(lang: str) -> list[str]:
    """Legend labels of the map classes ("bis 10 min", ..., "über 30 min")."""
    out = [tr("web.access.class_first", lang, high=f"{CLASS_BREAKS[0]:g}")]
    lo = CLASS_BREAKS[0]
    for b in CLASS_BREAKS[1:]:
        out.append(tr("web.access.class", lang, low=f"{lo:g}", high=f"{b:g}"))
        lo = b
    out.append(tr("web.access.class_above", lang, low=f"{lo:g}"))
    return out


def access_map(reader: Reader, caller: Caller, view: dict[str, Any]) -> str:
    """The choropleth of the view's Gemeinden (travel time classes), the hospitals on top."""
    acc: TownAccess = reader.read(caller, "access", view["zone"])
    lang = caller.lang
    by_zone = {r["zone"]: r for r in view["gemeinden"]}
    shapes = []
    for zone, rings in sorted(acc.shapes.items()):
        r = by_zone.get(zone)
        minutes = None if r is None else r["travel_time_min"]
        tip = tr(
            "web.access.tooltip",
            lang,
            name="" if r is None else r["name"],
            minutes="–" if minutes is None else format_number(minutes, 1, lang),
            site="" if r is None else r["facility_name"],
        )
        shapes.append(MapShape(zone, tip, rings, _cls(minutes), zone == view["zone"]))
    sites = [MapSite(str(s["name"]), float(s["x"]), float(s["y"])) for _, s in acc.sites.iterrows()]
    classes = [MapClass(lab, c) for lab, c in zip(class_labels(lang), CLASS_COLOURS, strict=True)]
    src = view["sources"]
    return choropleth_svg(
        shapes,
        sites,
        classes,
        chart_id="karte",
        title=tr("web.access.map_title", lang, area=view["area"]["name"]),
        desc=tr(
            "web.access.map_desc",
            lang,
            n=len(shapes),
            year=src["facilities"]["year"],
            sentence=view["sentence"],
        ),
        legend_title=tr("web.access.legend", lang),
        site_label=tr("web.access.site", lang, year=src["facilities"]["year"]),
        no_data_label=tr("web.access.no_data", lang),
    )


def add_access_routes(app: FastAPI, pages: _Pages) -> None:
    """``/kommune/{ags}/erreichbarkeit`` and its JSON twin."""

    def _view(request: Request, ags: str, sort: Sort, order: Order) -> dict[str, Any]:
        return access_view(pages.reader, pages.caller(request), ags, sort, order)

    @app.get("/kommune/{ags}/erreichbarkeit", response_class=HTMLResponse)
    def erreichbarkeit(
        request: Request, ags: str, sort: Sort = Query("time"), order: Order = Query("asc")
    ) -> Response:
        v = _view(request, ags, sort, order)
        svg = access_map(pages.reader, pages.caller(request), v)
        return pages.html(request, "erreichbarkeit.html", v, charts={"map": svg}, sorts=SORTS)

    @app.get("/api/kommune/{ags}/erreichbarkeit")
    def api_erreichbarkeit(
        request: Request, ags: str, sort: Sort = Query("time"), order: Order = Query("asc")
    ) -> dict[str, Any]:
        return _view(request, ags, sort, order)

"""The FastAPI application: server-rendered pages (Jinja2) and their JSON twins.

Every page ``/x`` has a twin ``/api/x`` that returns the same view dictionary
(:mod:`wandel.web.views`) as JSON; the pages are plain HTML forms that work without JavaScript,
and htmx (vendored) only swaps the changed part in place. German is the default, ``?lang=en``
switches to English (links keep the language).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from wandel.compare._format import format_number
from wandel.errors import UnknownZoneError, WandelError
from wandel.i18n import LANGS, error_text, tr
from wandel.settings import get_settings
from wandel.web import views
from wandel.web.access_page import add_access_routes
from wandel.web.auth import caller_of, csrf_of, register_auth
from wandel.web.charts import drawn_charts, page_charts
from wandel.web.drafts import register_drafts
from wandel.web.reader import Caller, Reader
from wandel.web.report_page import add_report_routes
from wandel.web.security import SecurityMiddleware
from wandel.workflow.town import UNTIL, Levers, TownWorkbench
from wandel.workflow.users import open_state, state_path

__all__ = ["create_app"]

PAGES = ("kommune", "szenarien", "daseinsvorsorge", "erreichbarkeit", "netzwerk", "entwuerfe")
"""The pages of a town, in the order of its navigation."""


KOMMUNE_READS = ("name", "indicators", "projection")
"""The reads of the town page (:func:`wandel.web.views.kommune_view`), without parameters."""

READ_CACHE = 32
"""Reads of the statistics the app keeps (projections of the last towns and levers asked for)."""


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("wandel") / "web" / name))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_package_dir("templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _num(lang: str) -> Callable[..., str]:
    def num(x: float | str | None, digits: int = 0) -> str:
        if isinstance(x, str):  # a secret value (the sign ".") or another sign
            return x
        return "–" if x is None else format_number(float(x), digits, lang)

    return num


class _Pages:
    """Renders a view dictionary as a page, or returns it as JSON."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.env = _environment()

    def caller(self, request: Request) -> Caller:
        lang = request.query_params.get("lang", LANGS[0])
        return caller_of(request, lang if lang in LANGS else LANGS[0])

    def html(self, request: Request, template: str, view: dict[str, Any], **extra: Any) -> Response:
        caller = self.caller(request)
        lang = caller.lang

        def url(path: str, **params: object) -> str:
            q = {k: v for k, v in params.items() if v not in (None, "")}
            if lang != LANGS[0]:
                q["lang"] = lang
            return path + ("?" + urlencode(q) if q else "")

        def t(key: str, **fields: object) -> str:
            return tr(f"web.{key}", lang, **fields)

        other = next(x for x in LANGS if x != lang)
        switch = dict(request.query_params)
        switch["lang"] = other
        ctx = {
            "v": view,
            "t": t,
            "num": _num(lang),
            "url": url,
            "lang": lang,
            "other_lang": other,
            "switch_url": request.url.path + "?" + urlencode(switch),
            "path": request.url.path,
            "pages": PAGES,
            "me": caller.user,
            "csrf": csrf_of(request),
            **extra,
        }
        body = self.env.get_template(template).render(**ctx)
        return HTMLResponse(body)

    def error(self, request: Request, exc: WandelError, status: int) -> Response:
        lang = self.caller(request).lang
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": error_text(exc, lang)}, status_code=status)
        resp = self.html(request, "error.html", {"message": error_text(exc, lang)})
        resp.status_code = status
        return resp


def _cell(x: object) -> str:
    """A number of a CSV export (a secret one stays its sign)."""
    return f"{x:.0f}" if isinstance(x, int | float) else str(x if x is not None else "")


def _levers(zuzug: int, bleiben: int, geburten: float | None) -> Levers:
    return Levers(refugees_per_year=zuzug, stay_young_pct=bleiben, tfr=geburten)


def _births(text: str | None) -> float | None:
    """The births control: empty (a plain form sends ``geburten=``) is today's level; a number
    from 0.5 to 3 (German decimal comma accepted)."""
    t = (text or "").strip()
    if not t:
        return None
    try:
        value = float(t.replace(",", "."))
    except ValueError:
        value = float("nan")
    if not 0.5 <= value <= 3.0:
        raise WandelError("@web.error.bad_births", value=t)
    return value


def create_app(db: Path, reader: Reader | None = None) -> FastAPI:
    """The web app on the store at ``db`` (opened read-only, loaded once); ``reader``: the read
    door to use (default: a :class:`Reader` on a new :class:`TownWorkbench` of ``db`` and the
    application state beside it)."""
    reader = reader or Reader(
        TownWorkbench(Path(db)), open_state(state_path(Path(db))), cache=READ_CACHE
    )
    pages = _Pages(reader)
    app = FastAPI(title="Wandel", docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=_package_dir("static")), name="static")
    app.state.reader = reader
    for add in (
        _error_handlers,
        _start_routes,
        _kommune_routes,
        _scenario_routes,
        _town_routes,
        add_access_routes,
        add_report_routes,
        _data_routes,
    ):
        add(app, pages)
    secure = get_settings().secure_cookies
    register_auth(app, pages, reader.state, secure)
    register_drafts(app, pages, reader)
    app.add_middleware(SecurityMiddleware, secure=secure)
    return app


def _error_handlers(app: FastAPI, pages: _Pages) -> None:
    @app.exception_handler(UnknownZoneError)
    async def unknown_zone(request: Request, exc: UnknownZoneError) -> Response:
        return pages.error(request, exc, 404)

    @app.exception_handler(WandelError)
    async def wandel_error(request: Request, exc: WandelError) -> Response:
        return pages.error(request, exc, 400)


def _start_routes(app: FastAPI, pages: _Pages) -> None:
    def _start(request: Request, q: str) -> dict[str, Any]:
        return views.start_view(pages.reader, pages.caller(request), q)

    @app.get("/", response_class=HTMLResponse)
    def start(request: Request, q: str = "") -> Response:
        return pages.html(request, "start.html", _start(request, q))

    @app.get("/api/suche")
    def api_start(request: Request, q: str = "") -> dict[str, Any]:
        return _start(request, q)


def _kommune(pages: _Pages, request: Request, ags: str, jahr: int) -> dict[str, Any]:
    return views.kommune_view(pages.reader, pages.caller(request), ags, jahr)


def _kommune_routes(app: FastAPI, pages: _Pages) -> None:
    @app.get("/kommune/{ags}", response_class=HTMLResponse)
    async def kommune(
        request: Request, ags: str, jahr: int = Query(2030, ge=2000, le=UNTIL)
    ) -> Response:
        def page() -> Response:
            v = _kommune(pages, request, ags, jahr)
            lang = pages.caller(request).lang
            return pages.html(request, "kommune.html", v, charts=drawn_charts("kommune", v, lang))

        # the town's reads in memory: a page of a few milliseconds, rendered on the event loop
        # (no hop to a worker thread and back); else computed in a worker thread
        if pages.reader.ready(pages.caller(request), KOMMUNE_READS, ags):
            return page()
        return await run_in_threadpool(page)

    @app.get("/api/kommune/{ags}")
    def api_kommune(
        request: Request, ags: str, jahr: int = Query(2030, ge=2000, le=UNTIL)
    ) -> dict[str, Any]:
        return _kommune(pages, request, ags, jahr)

    @app.get("/kommune/{ags}/vorausberechnung.csv")
    def download(request: Request, ags: str) -> Response:
        v = _kommune(pages, request, ags, UNTIL)
        buf = io.StringIO()
        buf.write("jahr,einwohner,q10,q90\r\n")
        for r in v.get("fan", []):
            cells = [_cell(r.get(k)) for k in ("value", "q10", "q90")]
            buf.write(f"{r['year']},{','.join(cells)}\r\n")
        buf.write(f'"# {v.get("source", "")}"\r\n')
        name = f"vorausberechnung_{ags}.csv"
        return Response(
            buf.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def _scenario_routes(app: FastAPI, pages: _Pages) -> None:
    def _szen(request: Request, ags: str, z: int, b: int, g: str | None) -> dict[str, Any]:
        levers = _levers(z, b, _births(g))
        return views.scenario_view(pages.reader, pages.caller(request), ags, levers)

    @app.get("/kommune/{ags}/szenarien", response_class=HTMLResponse)
    def szenarien(
        request: Request,
        ags: str,
        zuzug: int = Query(0, ge=0, le=500),
        bleiben: int = Query(0, ge=0, le=100),
        geburten: str | None = Query(None),
    ) -> Response:
        v = _szen(request, ags, zuzug, bleiben, geburten)
        return pages.html(
            request,
            "szenarien.html",
            v,
            charts=page_charts("szenarien", v, pages.caller(request).lang),
        )

    @app.get("/api/kommune/{ags}/szenarien")
    def api_szenarien(
        request: Request,
        ags: str,
        zuzug: int = Query(0, ge=0, le=500),
        bleiben: int = Query(0, ge=0, le=100),
        geburten: str | None = Query(None),
    ) -> dict[str, Any]:
        return _szen(request, ags, zuzug, bleiben, geburten)


def _town_routes(app: FastAPI, pages: _Pages) -> None:
    @app.get("/kommune/{ags}/daseinsvorsorge", response_class=HTMLResponse)
    def dienste(request: Request, ags: str) -> Response:
        v = views.services_view(pages.reader, pages.caller(request), ags)
        return pages.html(request, "daseinsvorsorge.html", v)

    @app.get("/api/kommune/{ags}/daseinsvorsorge")
    def api_dienste(request: Request, ags: str) -> dict[str, Any]:
        return views.services_view(pages.reader, pages.caller(request), ags)

    @app.get("/kommune/{ags}/netzwerk", response_class=HTMLResponse)
    def netzwerk(request: Request, ags: str) -> Response:
        v = views.network_view(pages.reader, pages.caller(request), ags)
        return pages.html(request, "netzwerk.html", v)

    @app.get("/api/kommune/{ags}/netzwerk")
    def api_netzwerk(request: Request, ags: str) -> dict[str, Any]:
        return views.network_view(pages.reader, pages.caller(request), ags)


def _data_routes(app: FastAPI, pages: _Pages) -> None:
    @app.get("/daten", response_class=HTMLResponse)
    def daten(request: Request) -> Response:
        v = views.data_view(pages.reader, pages.caller(request))
        return pages.html(request, "daten.html", v)

    @app.get("/api/daten")
    def api_daten(request: Request) -> dict[str, Any]:
        return views.data_view(pages.reader, pages.caller(request))

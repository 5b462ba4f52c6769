"""Saved scenarios of a zone: the list (published ones for everyone, drafts for the users of the
zone), one saved scenario with its numbers, and the changes (save, publish, withdraw), each page
with its JSON twin. Every read and write goes through the one door
(:meth:`wandel.web.reader.Reader.read`, :meth:`~wandel.web.reader.Reader.write`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from wandel.errors import UserError
from wandel.store.state import SavedScenario
from wandel.web import views
from wandel.web.auth import _form, csrf_of
from wandel.web.reader import Caller, Reader
from wandel.workflow.drafts import levers_of
from wandel.workflow.town import Levers

if TYPE_CHECKING:
    from wandel.web.app import _Pages

__all__ = ["drafts_view", "register_drafts", "saved_view"]


def _item(s: SavedScenario) -> dict[str, Any]:
    return {**s.public(), "updated": s.updated_at.isoformat(timespec="minutes")}


def drafts_view(reader: Reader, caller: Caller, zone: str) -> dict[str, Any]:
    """The saved scenarios of ``zone`` the caller may see, and what she may do with them."""
    name = reader.read(caller, "name", zone)
    items = reader.read(caller, "published", zone)
    if reader.may(caller, "drafts", zone):
        items = reader.read(caller, "drafts", zone)
    return {
        "zone": zone,
        "name": name,
        "level": reader.workbench.level(zone),
        "items": [_item(s) for s in items],
        "can_save": reader.may(caller, "save", zone),
        "can_publish": reader.may(caller, "publish", zone),
    }


def saved_view(reader: Reader, caller: Caller, zone: str, id: int) -> dict[str, Any]:
    """One saved scenario: its record and the numbers of its levers (as on Szenarien)."""
    saved = reader.saved(caller, zone, id)
    view = views.scenario_view(reader, caller, zone, levers_of(saved))
    view["saved"] = _item(saved)
    view["can_publish"] = reader.may(caller, "publish", zone)
    return view


def _levers(form: dict[str, str]) -> Levers:
    def number(key: str, low: float, high: float) -> float | None:
        text = form.get(key, "").strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise UserError("@error.draft.lever", field=key, low=low, high=high) from None
        if not low <= value <= high:
            raise UserError("@error.draft.lever", field=key, low=low, high=high)
        return value

    zuzug = number("zuzug", 0, 500)
    bleiben = number("bleiben", 0, 100)
    return Levers(
        refugees_per_year=int(zuzug or 0),
        stay_young_pct=int(bleiben or 0),
        tfr=number("geburten", 0.5, 3.0),
    )


def register_drafts(app: FastAPI, pages: _Pages, reader: Reader) -> None:
    """The routes of saved scenarios."""

    @app.get("/kommune/{ags}/entwuerfe", response_class=Response)
    def drafts_page(request: Request, ags: str) -> Response:
        v = drafts_view(reader, pages.caller(request), ags)
        return pages.html(request, "entwuerfe.html", v, csrf=csrf_of(request))

    @app.get("/api/kommune/{ags}/entwuerfe")
    def api_drafts(request: Request, ags: str) -> dict[str, Any]:
        return drafts_view(reader, pages.caller(request), ags)

    @app.get("/kommune/{ags}/entwuerfe/{id}", response_class=Response)
    def saved_page(request: Request, ags: str, id: int = Path(ge=1, le=2**62)) -> Response:
        v = saved_view(reader, pages.caller(request), ags, id)
        return pages.html(request, "entwurf.html", v, csrf=csrf_of(request))

    @app.get("/api/kommune/{ags}/entwuerfe/{id}")
    def api_saved(request: Request, ags: str, id: int = Path(ge=1, le=2**62)) -> dict[str, Any]:
        return saved_view(reader, pages.caller(request), ags, id)

    def _back(request: Request, path: str) -> str:
        lang = pages.caller(request).lang
        return path + ("?lang=" + lang if lang != "de" else "")

    async def _save(request: Request, ags: str) -> SavedScenario:
        form = await _form(request)
        caller = pages.caller(request)

        def run() -> SavedScenario:
            title = form.get("titel", "")
            return reader.write(caller, "save", ags, title=title, levers=_levers(form))

        return await to_thread.run_sync(run)

    @app.post("/kommune/{ags}/entwuerfe")
    async def save(request: Request, ags: str) -> Response:
        s = await _save(request, ags)
        return RedirectResponse(_back(request, f"/kommune/{ags}/entwuerfe/{s.id}"), 303)

    @app.post("/api/kommune/{ags}/entwuerfe")
    async def api_save(request: Request, ags: str) -> Response:
        s = await _save(request, ags)
        return JSONResponse(_item(s), status_code=201)

    def _status(request: Request, ags: str, id: int, what: str) -> SavedScenario:
        caller = pages.caller(request)
        return reader.write(caller, what, ags, saved=reader.saved(caller, ags, id))

    @app.post("/kommune/{ags}/entwuerfe/{id}/veroeffentlichen")
    def publish(request: Request, ags: str, id: int = Path(ge=1, le=2**62)) -> Response:
        s = _status(request, ags, id, "publish")
        return RedirectResponse(_back(request, f"/kommune/{ags}/entwuerfe/{s.id}"), 303)

    @app.post("/api/kommune/{ags}/entwuerfe/{id}/veroeffentlichen")
    def api_publish(request: Request, ags: str, id: int = Path(ge=1, le=2**62)) -> dict[str, Any]:
        return _item(_status(request, ags, id, "publish"))

    @app.post("/kommune/{ags}/entwuerfe/{id}/zurueckziehen")
    def withdraw(request: Request, ags: str, id: int = Path(ge=1, le=2**62)) -> Response:
        s = _status(request, ags, id, "withdraw")
        return RedirectResponse(_back(request, f"/kommune/{ags}/entwuerfe/{s.id}"), 303)

    @app.post("/api/kommune/{ags}/entwuerfe/{id}/zurueckziehen")
    def api_withdraw(request: Request, ags: str, id: int = Path(ge=1, le=2**62)) -> dict[str, Any]:
        return _item(_status(request, ags, id, "withdraw"))

    @app.get("/api/protokoll")
    def api_audit(request: Request, limit: int = Query(200, ge=1, le=10000)) -> dict[str, Any]:
        entries = reader.read(pages.caller(request), "audit", None, limit=limit)
        return {
            "entries": [
                {
                    "at": a.at.isoformat(timespec="seconds"),
                    "actor": a.actor,
                    "action": a.action,
                    "target": a.target,
                    "zone": a.zone,
                    "before": a.before,
                    "after": a.after,
                }
                for a in entries
            ]
        }

"""Roles in the web app, over HTTP in process: logins, the CSRF check, and the role × zone × action
matrix over every route of the app (expected status, and no byte of a draft of a zone the caller
may not read), security headers and the absence of stack traces, on the demo store.

Zone A is Hettstedt (15087220), zone B Ahlsdorf (15087010), both in Mansfeld-Südharz.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from _compare_store import compare_db
from wandel.store.state import AppState, DuckState
from wandel.web import Reader, create_app
from wandel.web.auth import MAX_BODY
from wandel.workflow import drafts
from wandel.workflow.town import Levers, TownWorkbench
from wandel.workflow.users import MAX_FAILURES, UserAdmin

A, B = "15087220", "15087010"
PASSWORD = "ein-langes-passwort"
# the titles of the drafts: a body that shows one to a caller who may not read it leaks
SECRET = {A: "GEHEIM-A-7f3c", B: "GEHEIM-B-91d2"}
OPEN = {A: "OFFEN-A-20aa", B: "OFFEN-B-3bc1"}


@dataclass(frozen=True)
class Who:
    """A caller of the matrix, with the zones whose drafts she may read and where she may
    write, written out by hand (the oracle)."""

    name: str
    drafts: tuple[str, ...]
    writes: tuple[str, ...]
    logged_in: bool = True
    stale: bool = False  # her session ended: her old form token is no longer valid


WHO = (
    Who("public", (), (), logged_in=False),
    Who("viewer-a", (A,), ()),
    Who("planner-a", (A,), (A,)),
    Who("planner-b", (B,), (B,)),
    Who("kreis-planner", (A, B), (A, B)),
    Who("admin", (A, B), (A, B)),
    Who("disabled", (), (), logged_in=False, stale=True),  # logged in, then disabled
)
USERS = {  # name -> role, zones
    "viewer-a": ("viewer", [A]),
    "planner-a": ("planner", [A]),
    "planner-b": ("planner", [B]),
    "kreis-planner": ("planner", ["15087"]),
    "admin": ("admin", []),
    "disabled": ("planner", [A]),
}


@dataclass
class World:
    app: Any
    state: AppState
    ids: dict[str, int]  # "draft-A", "open-A", ... -> id
    clients: dict[str, TestClient]
    csrf: dict[str, str]


def _login(app: Any, name: str) -> tuple[TestClient, str]:
    c = TestClient(app)
    token = c.get("/api/anmelden").json()["csrf"]
    r = c.post(
        "/api/anmelden",
        json={"name": name, "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    return c, str(r.json()["csrf"])


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The app with its users and drafts, on the DuckDB state and on a real PostgreSQL."""
    db = compare_db(tmp_path_factory)
    state: AppState
    if request.param == "duckdb":
        state = DuckState(tmp_path_factory.mktemp("state") / "state.duckdb")
    else:
        from wandel.store.pg_state import PgState

        state = PgState(request.getfixturevalue("postgres").database())
    admin = UserAdmin(state)
    for name, (role, zones) in USERS.items():
        admin.add(name, role, zones, PASSWORD)
    ids = {}
    for z in (A, B):
        ids[f"draft-{z}"] = drafts.save_draft(state, "cli", z, SECRET[z], Levers(170, 15)).id
        opened = drafts.save_draft(state, "cli", z, OPEN[z], Levers(40, 0))
        ids[f"open-{z}"] = drafts.publish(state, "cli", opened).id
    # a memo big enough for every distinct read of the matrix: with 64 entries the ~500 reads of
    # the matrix evicted the Kommunalprofil (about 10 s a build) and it was built again and again;
    # the answers are the same either way (the memo keys carry zone, language and parameters)
    app = create_app(db, Reader(TownWorkbench(db), state, cache=4096))
    clients, csrf = {}, {}
    for who in WHO:
        if who.name == "public":
            c = TestClient(app)
            csrf[who.name] = c.get("/api/anmelden").json()["csrf"]  # the anonymous token
            clients[who.name] = c
        else:
            clients[who.name], csrf[who.name] = _login(app, who.name)
    admin.disable("disabled")
    return World(app, state, ids, clients, csrf)


# -- logins and the CSRF check -----------------------------------------------------------------


def test_login_form_sets_a_strict_session_cookie(world: World) -> None:
    c = TestClient(world.app)
    page = c.get("/anmelden", params={"next": "/daten"})
    assert page.status_code == 200
    assert "wandel_csrf=" in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"]
    assert "SameSite=strict" in page.headers["set-cookie"]
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    form = {"name": "planner-a", "password": PASSWORD, "next": "/daten"}
    refused = c.post("/anmelden", data=form, follow_redirects=False)
    assert refused.status_code == 403  # no token: not even a login
    r = c.post("/anmelden", data={**form, "csrf": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/daten"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("wandel_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age=28800" in cookie
    assert c.get("/api/ich").json() == {"user": "planner-a", "role": "planner", "zones": [A]}
    page = c.get("/daten").text
    assert "Abmelden (planner-a)" in page
    session_token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert session_token is not None
    out = c.post("/abmelden", data={"csrf": session_token.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    assert c.get("/api/ich").json()["user"] is None


def test_the_next_page_stays_on_this_site(world: World) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil"):
        c = TestClient(world.app)
        token = c.get("/api/anmelden").json()["csrf"]
        form = {"name": "viewer-a", "password": PASSWORD, "next": target, "csrf": token}
        r = c.post("/anmelden", data=form, follow_redirects=False)
        assert r.headers["location"] == "/"


def test_wrong_passwords_lock_the_name(world: World) -> None:
    admin = UserAdmin(world.state)
    admin.add("locked-out", "viewer", [A], PASSWORD)
    c = TestClient(world.app)
    token = c.get("/api/anmelden").json()["csrf"]
    h = {"X-CSRF-Token": token}
    for _ in range(MAX_FAILURES):
        r = c.post("/api/anmelden", json={"name": "locked-out", "password": "falsch"}, headers=h)
        assert r.status_code == 401
        assert r.json()["error"] == "Anmeldung fehlgeschlagen: Name oder Passwort stimmen nicht"
    r = c.post("/api/anmelden", json={"name": "locked-out", "password": PASSWORD}, headers=h)
    assert r.status_code == 429
    assert "15 Minuten" in r.json()["error"]
    unknown = c.post("/api/anmelden", json={"name": "niemand", "password": "x"}, headers=h)
    assert unknown.json()["error"] == "Anmeldung fehlgeschlagen: Name oder Passwort stimmen nicht"


def test_every_state_changing_request_needs_the_token(world: World) -> None:
    c = world.clients["planner-a"]
    good = world.csrf["planner-a"]
    path = f"/api/kommune/{A}/entwuerfe"
    body = {"titel": SECRET[A] + "-csrf", "zuzug": "10"}
    other = world.csrf["planner-b"]  # a real token, of another session
    for headers in ({}, {"X-CSRF-Token": "x"}, {"X-CSRF-Token": other}):
        r = c.post(path, json=body, headers=headers)
        assert r.status_code == 403
        assert "Formular-Token" in r.json()["error"]
    before = len(world.state.scenarios(A))
    # any unsafe method, also on paths without a route, is checked before the routes
    for method in ("PUT", "PATCH", "DELETE"):
        assert c.request(method, path).status_code == 403
    big = c.post(path, content=b"x" * (MAX_BODY + 1), headers={"X-CSRF-Token": good})
    assert big.status_code == 413
    assert len(world.state.scenarios(A)) == before
    ok = c.post(path, json=body, headers={"X-CSRF-Token": good})
    assert ok.status_code == 201
    assert ok.json()["levers"]["refugees_per_year"] == 10
    assert len(world.state.scenarios(A)) == before + 1
    bad = c.post(path, json={"titel": "x", "zuzug": "900"}, headers={"X-CSRF-Token": good})
    assert bad.status_code == 400
    assert "zuzug" in bad.json()["error"]


# -- the matrix --------------------------------------------------------------------------------

ANY_ZONE_GET = {"/", "/api/suche", "/daten", "/api/daten", "/anmelden", "/api/anmelden", "/api/ich"}
LOGIN_POSTS = {"/anmelden", "/api/anmelden", "/abmelden", "/api/abmelden"}  # tested above


def _routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for r in app.routes:
        if isinstance(r, APIRoute):
            out += [(m, r.path) for m in sorted(r.methods)]
    return out


def _expect_get(who: Who, path: str, zone: str, item: str) -> int:
    if path == "/api/protokoll":
        return 200 if who.name == "admin" else (401 if not who.logged_in else 403)
    if "{id}" in path:
        kind, item_zone = item.split("-")
        if item_zone != zone:
            return 404  # another zone's id under this zone's path
        return 200 if kind == "open" or zone in who.drafts else 404
    return 200


def _expect_post(who: Who, path: str, zone: str, item: str) -> int:
    if who.stale:
        return 403  # the CSRF check refuses the token of an ended session first
    ok = 201 if path.startswith("/api/") and path.endswith("entwuerfe") else 200
    if not path.startswith("/api/"):
        ok = 303
    if "{id}" in path:
        kind, item_zone = item.split("-")
        if item_zone != zone or (kind == "draft" and zone not in who.drafts):
            return 404
    if zone in who.writes:
        return ok
    return 401 if not who.logged_in else 403


def _concrete(path: str, zone: str, ids: dict[str, int], item: str) -> str:
    return path.replace("{ags}", zone).replace("{id}", str(ids.get(item, 0)))


def _cells(world: World) -> list[tuple[Who, str, str, str, str]]:
    """(who, method, route, zone, item) of every cell of the matrix."""
    items = [f"{k}-{z}" for k in ("draft", "open") for z in (A, B)]
    cells = []
    for method, path in _routes(world.app):
        if method == "POST" and path in LOGIN_POSTS:
            continue
        zones = (A, B) if "{ags}" in path else (A,)
        for who in WHO:
            for zone in zones:
                for item in items if "{id}" in path else [""]:
                    cells.append((who, method, path, zone, item))
    return cells


def test_every_route_is_in_the_matrix(world: World) -> None:
    """A new route is checked by the matrix: GET with the rule of reads, POST only if known."""
    known_posts = {
        "/kommune/{ags}/entwuerfe",
        "/api/kommune/{ags}/entwuerfe",
        "/kommune/{ags}/entwuerfe/{id}/veroeffentlichen",
        "/api/kommune/{ags}/entwuerfe/{id}/veroeffentlichen",
        "/kommune/{ags}/entwuerfe/{id}/zurueckziehen",
        "/api/kommune/{ags}/entwuerfe/{id}/zurueckziehen",
    } | LOGIN_POSTS
    posts = {p for m, p in _routes(world.app) if m not in ("GET", "HEAD")}
    assert posts <= known_posts, "a state-changing route needs its row in the matrix"
    gets = {p for m, p in _routes(world.app) if m == "GET"}
    assert all("{ags}" in p or p in ANY_ZONE_GET | {"/api/protokoll"} for p in gets), gets
    assert len(_cells(world)) > 400


def test_role_zone_action_matrix(world: World) -> None:
    wrong, leaks = [], []
    for who, method, path, zone, item in _cells(world):
        c = world.clients[who.name]
        url = _concrete(path, zone, world.ids, item)
        if method == "GET":
            want = _expect_get(who, path, zone, item)
            r = c.get(url, follow_redirects=False)
        else:
            want = _expect_post(who, path, zone, item)
            data = {"titel": SECRET[zone] + "-neu", "zuzug": "20", "csrf": world.csrf[who.name]}
            if path.startswith("/api/"):
                r = c.post(url, json=data, headers={"X-CSRF-Token": world.csrf[who.name]})
            else:
                r = c.post(url, data=data, follow_redirects=False)
            if (
                r.status_code in (200, 303)
                and path.endswith("veroeffentlichen")
                and "draft" in item
            ):
                drafts.withdraw(world.state, "test", world.state.scenario(world.ids[item]))  # type: ignore[arg-type]
            if r.status_code in (200, 303) and path.endswith("zurueckziehen") and "open" in item:
                drafts.publish(world.state, "test", world.state.scenario(world.ids[item]))  # type: ignore[arg-type]
        if r.status_code != want:
            wrong.append((who.name, method, url, r.status_code, want))
        for z in (A, B):
            if z not in who.drafts and SECRET[z].encode() in r.content:
                leaks.append((who.name, method, url, z))
    assert wrong == []
    assert leaks == []


def test_drafts_are_listed_only_for_their_zone(world: World) -> None:
    for who in WHO:
        for z in (A, B):
            view = world.clients[who.name].get(f"/api/kommune/{z}/entwuerfe").json()
            titles = {i["title"] for i in view["items"]}
            assert OPEN[z] in titles
            assert (SECRET[z] in titles) == (z in who.drafts), (who.name, z)
            assert view["can_save"] == (z in who.writes)


def test_a_publication_reaches_the_public_and_is_audited(world: World) -> None:
    planner, public = world.clients["planner-b"], world.clients["public"]
    h = {"X-CSRF-Token": world.csrf["planner-b"]}
    made = planner.post(
        f"/api/kommune/{B}/entwuerfe", json={"titel": "Neu B", "bleiben": "30"}, headers=h
    )
    sid = made.json()["id"]
    assert public.get(f"/api/kommune/{B}/entwuerfe/{sid}").status_code == 404
    r = planner.post(f"/api/kommune/{B}/entwuerfe/{sid}/veroeffentlichen", headers=h)
    assert r.json()["status"] == "published"
    seen = public.get(f"/api/kommune/{B}/entwuerfe/{sid}").json()
    assert seen["saved"]["title"] == "Neu B"
    assert seen["levers"]["stay_young_pct"] == 30
    entry = next(a for a in world.state.audit() if a.action == "scenario.publish")
    assert entry.actor == "planner-b"
    assert entry.target == f"scenario:{sid}"
    assert (entry.before or {})["status"] == "draft"
    assert (entry.after or {})["status"] == "published"
    log = world.clients["admin"].get("/api/protokoll").json()["entries"]
    assert log[0]["action"] == "scenario.publish"
    assert all("password" not in json.dumps(e) and "argon2" not in json.dumps(e) for e in log)


# -- headers, errors, logs ---------------------------------------------------------------------

PAGES = ("/", "/daten", "/anmelden", f"/kommune/{A}/entwuerfe", "/api/daten", "/static/wandel.css")


@pytest.mark.parametrize("path", PAGES)
def test_security_headers(world: World, path: str) -> None:
    r = world.clients["public"].get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    logged = world.clients["viewer-a"].get(path)
    if not path.startswith("/static"):
        assert logged.headers["cache-control"] == "private, no-store"


TEMPLATES = Path(__file__).resolve().parents[1] / "src/wandel/web/templates"


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_inline_script_or_style_in_templates(template: str) -> None:
    """What the CSP forbids is not in the pages: no inline script, no event handler attribute,
    no style attribute or element."""
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
    assert not re.search(r"\son[a-z]+\s*=", text)
    assert not re.search(r"\sstyle\s*=|<style", text)
    assert "javascript:" not in text


def test_a_server_error_shows_no_trace_and_is_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Reader):
        def read(self, caller: Any, what: str, zone: str | None = None, **params: Any) -> Any:
            if what == "sources":
                raise RuntimeError("secret internals at /srv/wandel/x.py")
            return super().read(caller, what, zone, **params)

    reader = world.app.state.reader
    app = create_app(reader.workbench.db, Broken(reader.workbench, world.state))
    with caplog.at_level(logging.INFO, logger="wandel.web"):
        r = TestClient(app).get("/api/daten")
    assert r.status_code == 500
    assert "Traceback" not in r.text
    assert "secret internals" not in r.text
    assert "RuntimeError" not in r.text
    assert "interner Fehler" in r.text
    assert r.headers["content-security-policy"]
    errors = [rec for rec in caplog.records if rec.getMessage() == "error"]
    assert errors
    assert getattr(errors[0], "fields", {})["error"] == "RuntimeError"


def test_logs_are_json_and_carry_no_secret(world: World, caplog: pytest.LogCaptureFixture) -> None:
    from wandel.web.security import JsonFormatter

    c = TestClient(world.app)
    token = c.get("/api/anmelden").json()["csrf"]
    with caplog.at_level(logging.INFO, logger="wandel.web"):
        r = c.post(
            "/api/anmelden",
            json={"name": "viewer-a", "password": PASSWORD},
            headers={"X-CSRF-Token": token},
        )
        c.get("/api/ich")
    session = r.cookies.get("wandel_session") or c.cookies.get("wandel_session")
    assert session
    lines = [JsonFormatter().format(rec) for rec in caplog.records]
    assert lines
    records = [json.loads(line) for line in lines]
    assert {"event", "time", "level"} <= set(records[0])
    me = next(x for x in records if x.get("path") == "/api/ich")
    assert me["user"] == "viewer-a"
    assert me["status"] == 200
    text = "\n".join(lines)
    for secret in (PASSWORD, token, session, r.json()["csrf"]):
        assert secret not in text


def test_no_route_passes_by_the_door(world: World) -> None:
    """With a door that refuses everything, every route that shows or changes data is refused:
    none reads or writes past :meth:`Reader.permit`."""

    class Shut(Reader):
        def permit(self, caller: Any, what: str, zone: str | None) -> None:
            from wandel.errors import AccessDeniedError

            raise AccessDeniedError("@error.access.denied", action=what)

    reader = world.app.state.reader
    shut = create_app(reader.workbench.db, Shut(reader.workbench, world.state))
    c, csrf = _login(shut, "admin")
    no_data = {"/anmelden", "/api/anmelden", "/api/ich"}  # the login form and who am I
    checked = 0
    for method, path in _routes(shut):
        if path in no_data or (method == "POST" and path in LOGIN_POSTS):
            continue
        url = _concrete(path, A, world.ids, f"open-{A}")
        if method == "GET":
            r = c.get(url, follow_redirects=False)
        else:
            r = c.post(url, json={"titel": "x"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403, (method, url, r.status_code)
        checked += 1
    assert checked >= 20


# -- the Kommunalprofil: one permission check decides the edition ----------------------------


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_the_kommunalprofil_edition_follows_the_callers_zones(world: World, who: Who) -> None:
    """Page and PDF download go through ``Reader.report``: the internal edition (every number) to
    a caller who may read the zone's drafts, the public one (small counts secret) to everyone
    else, never the other way round."""
    import io

    import pypdf

    internal = B in who.drafts
    c = world.clients[who.name]
    page = c.get(f"/kommune/{B}/kommunalprofil")
    assert page.status_code == 200
    labels = ("interne Ausgabe", "öffentliche Ausgabe")
    mine, other = labels if internal else labels[::-1]
    assert mine in page.text
    assert other not in page.text
    assert ("kleine Fallzahlen (1 bis 3) geheim gehalten" in page.text) is not internal
    pdf = c.get(f"/kommune/{B}/kommunalprofil.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    text = " ".join(text.split())
    assert mine in text
    assert other not in text

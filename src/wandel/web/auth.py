"""Logins of the web app: the session cookie, the CSRF check of every state-changing request,
and the pages ``/anmelden`` and ``/abmelden`` (with their JSON twins).

:class:`SessionMiddleware` sits in front of every route. It finds the user of the session cookie
(``HttpOnly``, ``SameSite=Lax``, ``Secure`` and the ``__Host-`` prefix with the
``secure_cookies`` setting) and rejects every request that is not GET, HEAD or OPTIONS unless it
carries the CSRF token: the session's own token for a logged-in user, else the token of the
``SameSite=Strict`` CSRF cookie set by the login form (double submit). The token travels as the
form field ``csrf`` or the header ``X-CSRF-Token``. Bodies above :data:`MAX_BODY` bytes are
refused before they are read whole.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from wandel.errors import AccessDeniedError, LoginError, LoginRequiredError, WandelError
from wandel.i18n import LANGS, error_text
from wandel.store.state import AppState, Session, User
from wandel.web.reader import Caller
from wandel.workflow.users import SESSION_HOURS, end_session, login, session_user

if TYPE_CHECKING:
    from wandel.web.app import _Pages

__all__ = [
    "CSRF_FIELD",
    "MAX_BODY",
    "SessionMiddleware",
    "caller_of",
    "csrf_of",
    "register_auth",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_BODY = 64 * 1024
"""The largest request body accepted (forms and JSON of the app are far smaller)."""

_USER = "wandel.user"
_CSRF = "wandel.csrf"


def _cookie_names(secure: bool) -> tuple[str, str]:
    prefix = "__Host-" if secure else ""
    return f"{prefix}wandel_session", f"{prefix}wandel_csrf"


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for k, v in scope.get("headers", []):
        if k == b"cookie":
            try:
                jar.load(v.decode("latin-1"))
            except Exception:  # a malformed cookie header counts as no cookie
                continue
    return {k: m.value for k, m in jar.items()}


def _header(scope: Scope, name: bytes) -> str:
    for k, v in scope.get("headers", []):
        if k == name:
            return str(v.decode("latin-1"))
    return ""


def caller_of(request: Request, lang: str) -> Caller:
    """The caller of a request: the logged-in user (role, zones), or the public."""
    found: tuple[User, Session] | None = request.scope.get(_USER)
    if found is None:
        return Caller(lang=lang)
    user = found[0]
    return Caller(lang=lang, role=user.role, user=user.name, zones=user.zones)


def csrf_of(request: Request) -> str:
    """The CSRF token that the forms of this request's page carry."""
    found: tuple[User, Session] | None = request.scope.get(_USER)
    if found is not None:
        return found[1].csrf
    return str(request.scope.get(_CSRF) or "")


def _token_in(body: bytes, scope: Scope) -> str:
    header = _header(scope, CSRF_HEADER.encode())
    if header:
        return header
    if _header(scope, b"content-type").startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])
        return values[0]
    return ""


class SessionMiddleware:
    """The session of each request and the CSRF check of every state-changing one."""

    def __init__(self, app: ASGIApp, state: AppState, secure: bool = False) -> None:
        self.app = app
        self.state = state
        self.session_cookie, self.csrf_cookie = _cookie_names(secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        token = cookies.get(self.session_cookie, "")
        found = await to_thread.run_sync(session_user, self.state, token) if token else None
        scope[_USER] = found
        scope[_CSRF] = cookies.get(self.csrf_cookie, "")
        if scope["method"] in SAFE:
            await self.app(scope, receive, send)
            return
        body = await self._body(scope, receive, send)
        if body is None:
            return
        expected = found[1].csrf if found is not None else scope[_CSRF]
        given = _token_in(body, scope)
        if not expected or not given or not hmac.compare_digest(expected, given):
            await _refuse(scope, send, 403, "@error.access.csrf")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > MAX_BODY:
            await _refuse(scope, send, 413, "@error.access.too_large", limit=MAX_BODY)
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _refuse(scope, send, 413, "@error.access.too_large", limit=MAX_BODY)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _lang_of(scope: Scope) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    lang = query.get("lang", [LANGS[0]])[0]
    return lang if lang in LANGS else LANGS[0]


async def _refuse(scope: Scope, send: Send, status: int, key: str, **fields: object) -> None:
    text = error_text(WandelError(key, **fields), _lang_of(scope))
    if str(scope.get("path", "")).startswith("/api/"):
        body = json.dumps({"error": text}, ensure_ascii=False).encode("utf-8")
        kind = b"application/json"
    else:
        from html import escape

        body = f"<!doctype html><title>{status}</title><p>{escape(text)}</p>".encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- the routes --------------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    """Only a path of this app (never another site) to go back to after the login."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


@dataclass(frozen=True)
class _Cookies:
    """The names of the session and CSRF cookies, and whether they are sent over TLS only."""

    session: str
    csrf: str
    secure: bool


def register_auth(app: FastAPI, pages: _Pages, state: AppState, secure: bool = False) -> None:
    """Add the session middleware, the login and logout routes and the access errors' answers."""
    cookies = _Cookies(*_cookie_names(secure), secure)
    app.add_middleware(SessionMiddleware, state=state, secure=secure)
    _register_access_errors(app, pages)
    _register_login(app, pages, state, cookies)
    _register_logout(app, state, cookies)


def _register_access_errors(app: FastAPI, pages: _Pages) -> None:
    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, exc: LoginRequiredError) -> Response:
        return pages.error(request, exc, 401)

    @app.exception_handler(AccessDeniedError)
    async def denied(request: Request, exc: AccessDeniedError) -> Response:
        return pages.error(request, exc, 403)

    @app.exception_handler(LoginError)
    async def refused(request: Request, exc: LoginError) -> Response:
        return pages.error(request, exc, 429 if exc.locked else 401)


def _register_login(app: FastAPI, pages: _Pages, state: AppState, cookies: _Cookies) -> None:
    def with_csrf_cookie(request: Request, response: Response, token: str) -> Response:
        if request.scope.get(_CSRF) != token:
            response.set_cookie(
                cookies.csrf,
                token,
                httponly=True,
                samesite="strict",
                secure=cookies.secure,
                path="/",
            )
        return response

    def login_token(request: Request) -> str:
        return str(request.scope.get(_CSRF) or "") or secrets.token_urlsafe(32)

    @app.get("/anmelden", response_class=Response)
    def login_page(request: Request, next: str = "/") -> Response:
        token = login_token(request)
        view = {"next": _safe_next(next), "csrf": token}
        return with_csrf_cookie(request, pages.html(request, "anmelden.html", view), token)

    @app.get("/api/anmelden")
    def api_login_page(request: Request) -> Response:
        token = login_token(request)
        return with_csrf_cookie(request, JSONResponse({"csrf": token}), token)

    def _login(request: Request, form: dict[str, str], api: bool) -> Response:
        done = login(
            state, form.get("name", "")[:64], form.get("password", "")[:1024], _client(request)
        )
        who = {"user": done.user.name, "role": done.user.role, "zones": list(done.user.zones)}
        target = _safe_next(form.get("next", "/"))
        resp: Response = (
            JSONResponse({**who, "csrf": done.session.csrf})
            if api
            else RedirectResponse(target, status_code=303)
        )
        resp.set_cookie(
            cookies.session,
            done.token,
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="lax",
            secure=cookies.secure,
            path="/",
        )
        resp.delete_cookie(cookies.csrf, path="/")
        return resp

    @app.post("/anmelden")
    async def login_form(request: Request) -> Response:
        form = await _form(request)
        return await to_thread.run_sync(_login, request, form, False)

    @app.post("/api/anmelden")
    async def api_login(request: Request) -> Response:
        form = await _form(request)
        return await to_thread.run_sync(_login, request, form, True)


def _register_logout(app: FastAPI, state: AppState, cookies: _Cookies) -> None:
    def _logout(request: Request, api: bool) -> Response:
        token = request.cookies.get(cookies.session, "")
        if token:
            end_session(state, token)
        resp: Response = JSONResponse({"user": None}) if api else RedirectResponse("/", 303)
        resp.delete_cookie(cookies.session, path="/")
        return resp

    @app.post("/abmelden")
    def logout(request: Request) -> Response:
        return _logout(request, False)

    @app.post("/api/abmelden")
    def api_logout(request: Request) -> Response:
        return _logout(request, True)

    @app.get("/api/ich")
    def me(request: Request) -> dict[str, Any]:
        c = caller_of(request, LANGS[0])
        return {"user": c.user, "role": c.role, "zones": list(c.zones)}

"""Protection of every answer of the web app: security headers, a strict Content-Security-Policy
(no inline script or style, nothing from elsewhere), no stack trace to a client, and one
structured log line (JSON) per request that carries no secret.

:class:`SecurityMiddleware` is the outermost layer of the app: it adds the headers to every answer
(also to refusals of the session layer), turns an unexpected exception into a plain 500 page that
names no code, and logs the request (method, path without the query, status, time, user) and the
exception (its type and traceback only in the log).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from wandel.errors import WandelError
from wandel.i18n import error_text

__all__ = ["CSP", "HEADERS", "LOGGER", "JsonFormatter", "SecurityMiddleware", "configure_logging"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; object-src 'none'"
)
"""The Content-Security-Policy of every answer: only the app's own files, no inline code."""

HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)
"""Headers added to every answer (HSTS too with the ``secure_cookies`` setting)."""

HSTS = ("strict-transport-security", "max-age=31536000; includeSubDomains")

LOGGER = logging.getLogger("wandel.web")

_SECRET_WORDS = ("password", "passwort", "token", "csrf", "cookie", "secret", "hash")


class JsonFormatter(logging.Formatter):
    """One JSON object per log record: time, level, event and the record's ``fields`` (keys that
    look like secrets are dropped)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        data = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **{k: v for k, v in fields.items() if not any(w in k.lower() for w in _SECRET_WORDS)},
        }
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """Log the app's requests and errors as JSON lines on stderr (once per process)."""
    if any(isinstance(h.formatter, JsonFormatter) for h in LOGGER.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level)
    LOGGER.propagate = False


def _log(level: int, event: str, **fields: object) -> None:
    LOGGER.log(level, event, extra={"fields": fields})


class SecurityMiddleware:
    """Headers, the 500 answer without a trace, and the request log."""

    def __init__(self, app: ASGIApp, secure: bool = False) -> None:
        self.app = app
        extra = (HSTS,) if secure else ()
        self.headers = [(k.encode(), v.encode()) for k, v in (*HEADERS, *extra)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = int(message["status"]), True
                present = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in self.headers if k not in present]
                if scope.get("wandel.user") is not None:
                    headers.append((b"cache-control", b"private, no-store"))
                    headers.append((b"vary", b"Cookie"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, guarded)
        except Exception as exc:
            _log(
                logging.ERROR,
                "error",
                path=scope.get("path", ""),
                error=type(exc).__name__,
                trace="".join(traceback.format_exception(exc))[-4000:],
            )
            if not status["sent"]:
                await self._server_error(guarded)
            status["code"] = 500
        found = scope.get("wandel.user")
        _log(
            logging.INFO,
            "request",
            method=scope.get("method", ""),
            path=scope.get("path", ""),
            status=status["code"],
            ms=round(1000 * (time.perf_counter() - started), 1),
            user=found[0].name if found else None,
        )

    @staticmethod
    async def _server_error(send: Send) -> None:
        body = error_text(WandelError("@error.access.server"), "de").encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

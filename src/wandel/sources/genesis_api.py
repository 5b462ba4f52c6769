"""Client of the GENESIS web service (REST interface "2020"): one table file per request.

GENESIS-Online (Destatis), the Regionaldatenbank Deutschland and the Zensus 2022 database run the
same software and share the interface (as do several Länder's own GENESIS databases, reached with
``base_url``): ``POST <base>/data/tablefile`` with the parameters as a form and the credentials in
the ``username`` and ``password`` headers (never in the URL, so they appear in no server or proxy
log). The parameters used here (GENESIS-Webservices, "Einführung", method ``data/tablefile``):

=================  ==========================================================================
``name``           table code (``12411-0018``, ``12411-02-03-4``, ``1000A-1001``)
``area``           ``all``
``format``         ``csv`` (the classic table, what the web site's CSV download gives), ``ffcsv``
                   (flat file) or ``xlsx``
``startyear``,     first and last year; ``timeslices`` is not used
``endyear``
``regionalvariable``, ``regionalkey``
                   the regional variable (``KREISE``, ``GEMEIN``) and keys (``15087*``, comma list)
``compress``,      ``false``: every cell, rows as published
``transpose``
``job``            ``false``: a direct answer; a table too large for it is refused (status 98)
``language``       ``de``
=================  ==========================================================================

A data answer is the file itself. Anything else is a JSON document whose ``Status`` holds
``Code``, ``Content`` (the service's message) and ``Type`` (``Information``, ``Warnung``,
``Fehler``/``Error``); the codes acted on are 0 (success), 22 (success with adjusted parameters),
98 (too large for a direct answer: a background job would be needed), 104 (no object matches the
selection, e.g. an unknown table code). pystatis and restatis read the same codes. HTTP 401/403
means the credentials were refused; HTTP 429 and 5xx, a timeout or a refused connection mean the
service is busy: the request is repeated after ``base_delay_s × 2**k`` seconds (capped, or the
server's ``Retry-After``), :class:`RetryPolicy`.

The module only talks HTTP; caching, credentials and the import live in
:mod:`wandel.workflow.fetch`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wandel.errors import (
    FetchError,
    OptionError,
    ServiceBusyError,
    ServiceLoginError,
    TableTooLargeError,
    UnknownChoiceError,
    UnknownTableError,
)
from wandel.settings import Credentials

__all__ = [
    "DATABASES",
    "FORMATS",
    "Database",
    "RetryPolicy",
    "TableFile",
    "TableRequest",
    "fetch_table",
    "guess_database",
]


@dataclass(frozen=True)
class Database:
    """One database of the GENESIS family: its key, name and REST base URL."""

    key: str
    name: str
    base_url: str


DATABASES: Mapping[str, Database] = {
    "genesis": Database(
        "genesis",
        "GENESIS-Online (Destatis)",
        "https://www-genesis.destatis.de/genesisWS/rest/2020",
    ),
    "regio": Database(
        "regio",
        "Regionaldatenbank Deutschland",
        "https://www.regionalstatistik.de/genesisws/rest/2020",
    ),
    "zensus": Database(
        "zensus", "Zensus 2022 Datenbank", "https://ergebnisse.zensus2022.de/api/rest/2020"
    ),
}
"""The three databases ``wandel fetch`` knows by name."""

FORMATS: tuple[str, ...] = ("csv", "ffcsv", "xlsx")

# table codes as the databases publish them: GENESIS-Online 12411-0018; Regionaldatenbank
# 12411-02-03-4 (also with a letter suffix, 12411-02-03-5-B, or -Z); Zensus 2022 1000A-1001
_CODE = re.compile(r"^[0-9A-Z]{5}(?:-[0-9A-Z]{1,4}){1,4}$")
_REGIO = re.compile(r"^\d{5}-\d{2}-\d{2}-\d(?:-[A-Z])?$|^\d{5}-Z-\d{1,2}$|^[A-Z]\d{3}-")
_ZENSUS = re.compile(r"^\d{4}[A-Z]-\d{4}$")


def guess_database(table: str) -> str:
    """The database a table code belongs to, by its shape.

    >>> guess_database("12411-0018"), guess_database("12411-02-03-4"), guess_database("1000A-1001")
    ('genesis', 'regio', 'zensus')
    """
    if _ZENSUS.match(table):
        return "zensus"
    if _REGIO.match(table):
        return "regio"
    return "genesis"


@dataclass(frozen=True)
class TableRequest:
    """What to fetch: a table of a database, for some years and regions, in a format.

    ``years`` empty: the service's default (its latest years); otherwise ``startyear`` and
    ``endyear`` are their smallest and largest.
    """

    database: str
    table: str
    years: tuple[int, ...] = ()
    regional_variable: str | None = None
    regional_keys: tuple[str, ...] = ()
    format: str = "csv"
    language: str = "de"

    def __post_init__(self) -> None:
        if self.database not in DATABASES:
            raise UnknownChoiceError("--database", self.database, tuple(DATABASES))
        if self.format not in FORMATS:
            raise UnknownChoiceError("--format", self.format, FORMATS)
        if not _CODE.match(self.table):
            raise OptionError("@error.fetch.table_code", value=self.table)
        if self.regional_keys and not self.regional_variable:
            raise OptionError("@error.needs", option="--regions", needed="--regional-variable")

    def params(self) -> dict[str, str]:
        """The form parameters of ``data/tablefile`` (no credentials).

        >>> TableRequest("regio", "12411-02-03-4", (2019,), "KREISE", ("15087",)).params()["endyear"]
        '2019'
        """
        p = {
            "name": self.table,
            "area": "all",
            "format": self.format,
            "compress": "false",
            "transpose": "false",
            "job": "false",
            "language": self.language,
        }
        if self.years:
            p["startyear"], p["endyear"] = str(min(self.years)), str(max(self.years))
        if self.regional_variable:
            p["regionalvariable"] = self.regional_variable
        if self.regional_keys:
            p["regionalkey"] = ",".join(self.regional_keys)
        return p

    def label(self) -> str:
        """The request in one line (the provenance record's file name; no slashes).

        >>> TableRequest("genesis", "12411-0018", (2015, 2017)).label()
        'genesis:12411-0018?startyear=2015&endyear=2017&format=csv'
        """
        p = self.params()
        keys = ("startyear", "endyear", "regionalvariable", "regionalkey", "format")
        query = "&".join(f"{k}={p[k]}" for k in keys if k in p)
        return f"{self.database}:{self.table}?{query}"

    def cache_key(self, base_url: str) -> str:
        """SHA-256 of the base URL and the parameters: the same request, the same key."""
        text = json.dumps({"url": base_url.rstrip("/"), **self.params()}, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RetryPolicy:
    """Repeat a request the service could not answer (busy, timeout) up to ``attempts`` times in
    all, waiting ``min(base_delay_s × 2**k, max_delay_s)`` before the ``k+1``-th repetition (or
    the server's ``Retry-After`` if it sends one, within the same cap)."""

    attempts: int = 4
    base_delay_s: float = 2.0
    max_delay_s: float = 60.0
    timeout_s: float = 120.0

    def delay_s(self, k: int, retry_after: str | None = None) -> float:
        """Seconds to wait before repetition ``k`` (0-based).

        >>> RetryPolicy(base_delay_s=2.0).delay_s(0), RetryPolicy(base_delay_s=2.0).delay_s(3)
        (2.0, 16.0)
        """
        if retry_after is not None and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_delay_s)
        return float(min(self.base_delay_s * 2**k, self.max_delay_s))


@dataclass(frozen=True, eq=False)
class TableFile:
    """A data answer: the file's bytes, its suffix (``.csv``, ``.zip``, ``.xlsx``) and how many
    attempts it took."""

    content: bytes
    suffix: str
    attempts: int = 1


_TRANSIENT_HTTP = frozenset({429, 500, 502, 503, 504})


def _status(body: bytes) -> dict[str, Any] | None:
    """The ``Status`` of a JSON answer, or ``None`` if the answer is not JSON (a data file)."""
    head = body.lstrip()[:1]
    if head not in (b"{", b"["):
        return None
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(doc, dict):
        status = doc.get("Status", doc)
        if isinstance(status, dict) and "Code" in status:
            return status
    return None


def _suffix(content_type: str, body: bytes) -> str:
    if body[:2] == b"PK":
        return ".xlsx" if "sheet" in content_type else ".zip"
    return ".csv"


def _refusal(status: Mapping[str, Any], request: TableRequest) -> FetchError | None:
    """The error a JSON status stands for, or ``None`` for a success."""
    code = int(status.get("Code", -1))
    kind = str(status.get("Type", "")).lower()
    text = str(status.get("Content", "")).strip()
    fields = {"code": code, "text": text, "table": request.table}
    if code == 98:
        return TableTooLargeError("@error.fetch.too_large", **fields)
    if code == 104:
        db = DATABASES[request.database].name
        return UnknownTableError("@error.fetch.unknown_table", database=db, **fields)
    if code in (0, 22) or kind in ("information", "warnung", "warning"):
        return None
    return FetchError("@error.fetch.service", **fields)


def _http_error(response: Any, request: TableRequest) -> FetchError:
    status = _status(response.content) or {}
    text = str(status.get("Content", "")).strip() or response.reason_phrase
    if response.status_code in (401, 403):
        db = DATABASES[request.database].name
        return ServiceLoginError(
            "@error.fetch.login", database=db, http=response.status_code, text=text
        )
    return FetchError(
        "@error.fetch.service", code=f"HTTP {response.status_code}", text=text, table=request.table
    )


def fetch_table(
    request: TableRequest,
    credentials: Credentials,
    *,
    base_url: str | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> TableFile:
    """Download one table file from the service; the service's refusals become clear errors.

    Raises
    ------
    ServiceLoginError
        HTTP 401/403: the credentials were refused.
    UnknownTableError
        Status 104: no table of that code (or nothing matches the selection).
    TableTooLargeError
        Status 98: too large for a direct answer.
    ServiceBusyError
        Busy (HTTP 429/5xx) or unreachable through every attempt of ``retry``.
    FetchError
        Any other refusal, with the service's code and text.
    """
    import httpx

    policy = retry or RetryPolicy()
    url = (base_url or DATABASES[request.database].base_url).rstrip("/") + "/data/tablefile"
    headers = {"username": credentials.username, "password": credentials.password}
    last = ""
    with httpx.Client(timeout=policy.timeout_s) as client:
        for attempt in range(1, max(1, policy.attempts) + 1):
            retry_after = None
            try:
                response = client.post(url, data=request.params(), headers=headers)
            except httpx.TransportError as exc:  # refused, reset, timed out
                last = type(exc).__name__
            else:
                if response.status_code not in _TRANSIENT_HTTP:
                    return _answer(response, request, attempt)
                last = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
            if attempt < policy.attempts:
                sleep(policy.delay_s(attempt - 1, retry_after))
    raise ServiceBusyError(
        "@error.fetch.busy",
        database=DATABASES[request.database].name,
        attempts=policy.attempts,
        last=last,
    )


def _answer(response: Any, request: TableRequest, attempt: int) -> TableFile:
    if response.status_code >= 400:
        raise _http_error(response, request)
    body = bytes(response.content)
    status = _status(body)
    if status is not None:
        refusal = _refusal(status, request)
        if refusal is not None:
            raise refusal
        raise FetchError(
            "@error.fetch.no_data",
            code=status.get("Code", ""),
            text=str(status.get("Content", "")),
            table=request.table,
        )
    if not body.strip():
        raise FetchError("@error.fetch.no_data", code="-", text="", table=request.table)
    content_type = response.headers.get("Content-Type", "")
    return TableFile(body, _suffix(content_type, body), attempt)

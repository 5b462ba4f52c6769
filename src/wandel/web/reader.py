"""The one door through which the web app reads and writes: :meth:`Reader.read` and
:meth:`Reader.write` know the zone and the caller, and :meth:`Reader.permit` decides.

Every page, JSON twin, export, search and download asks :meth:`Reader.read` for its data, naming
what it wants (:data:`READS`), the zone (an AGS, or ``None`` for reads about the whole store) and the
caller; every change goes through :meth:`Reader.write` (:data:`WRITES`). Each name has its action
(:data:`ACTION_OF`: ``read``, ``read_draft``, ``write``, ``publish``, ``admin``), and
:meth:`Reader.permit` asks the one rule, :func:`wandel.workflow.users.allowed`, with the caller's
role and zones, the zone and the action. The statistics and Wandel's calculations from them are
public (``read``); drafts of saved scenarios only for the users of their zone.

The Kommunalprofil has two editions: ``report`` is the public one (counts from 1 to 3 kept
secret, :mod:`wandel.reports.edition`), ``report_internal`` the one with every number, which
needs the action ``read_draft`` (the planners and viewers of the zone, the admin);
:meth:`Reader.report` asks :meth:`Reader.permit` which one a caller gets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wandel.errors import AccessDeniedError, LoginRequiredError, UnknownZoneError
from wandel.i18n import LANGS
from wandel.store.state import AppState, DuckState, SavedScenario
from wandel.workflow import drafts
from wandel.workflow.compare import measures_for, peers_of, profile_of
from wandel.workflow.town import Levers, TownWorkbench
from wandel.workflow.users import PUBLIC, allowed

__all__ = ["ACTION_OF", "READS", "WRITES", "Caller", "Reader"]


@dataclass(frozen=True)
class Caller:
    """Who asks: the language of the answer, the role (``public`` without a login), the user's
    name and her zones."""

    lang: str = LANGS[0]
    role: str = PUBLIC
    user: str | None = None
    zones: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        """Not logged in: sees published material only, with small counts kept secret."""
        return self.user is None


def _projection(wb: TownWorkbench, zone: str, **p: Any) -> object:
    return wb.project(zone, p.get("levers", Levers()), draws=int(p.get("draws", 100)))


def _services(wb: TownWorkbench, zone: str, **p: Any) -> object:
    levers = p.get("levers", Levers())
    return wb.services(zone, levers, draws=int(p.get("draws", 20)), zone_only=False)


def _zone_services(wb: TownWorkbench, zone: str, **p: Any) -> object:
    levers = p.get("levers", Levers())
    return wb.services(zone, levers, draws=int(p.get("draws", 20)), zone_only=True)


def _peers(wb: TownWorkbench, zone: str, **p: Any) -> object:
    return peers_of(wb.compare(), zone, int(p.get("k", 5)))[0]


def _profile(wb: TownWorkbench, zone: str, **p: Any) -> object:
    return profile_of(wb.compare(), zone, lang=p.get("lang"))


def _measures(wb: TownWorkbench, zone: str, **p: Any) -> object:
    return measures_for(wb.compare(), zone, lang=p.get("lang"))


READS: Mapping[str, Callable[..., object]] = {
    "search": lambda wb, _z, **p: wb.search(str(p.get("text", ""))),
    "networks": lambda wb, _z, **p: wb.networks(str(p.get("text", ""))),
    "sources": lambda wb, _z, **p: wb.sources(),
    "facts": lambda wb, _z, **p: wb.facts(),
    "name": lambda wb, z, **p: wb.name(z),
    "projection": _projection,
    "indicators": lambda wb, z, **p: wb.key_indicators(z),
    "services": _services,
    "zone_services": _zone_services,
    "peers": _peers,
    "profile": _profile,
    "measures": _measures,
    "access": lambda wb, z, **p: wb.access(z),
    "report": lambda wb, z, **p: wb.profile(z, str(p.get("lang", LANGS[0])), "public"),
    "report_internal": lambda wb, z, **p: wb.profile(z, str(p.get("lang", LANGS[0])), "internal"),
}
"""What can be read: name -> function ``(workbench, zone, **params)``."""

STATE_READS: Mapping[str, Callable[..., object]] = {
    "published": lambda st, z, **p: [s for s in st.scenarios(z) if s.published],
    "drafts": lambda st, z, **p: st.scenarios(z),
    "published_scenario": lambda st, z, **p: p["saved"],
    "draft_scenario": lambda st, z, **p: p["saved"],
    "audit": lambda st, _z, **p: st.audit(int(p.get("limit", 200))),
}
"""Reads of the application state: name -> function ``(state, zone, **params)``."""

WRITES: Mapping[str, Callable[..., SavedScenario]] = {
    "save": lambda st, user, z, **p: drafts.save_draft(st, user, z, p["title"], p["levers"]),
    "publish": lambda st, user, _z, **p: drafts.publish(st, user, p["saved"]),
    "withdraw": lambda st, user, _z, **p: drafts.withdraw(st, user, p["saved"]),
}
"""What can be changed: name -> function ``(state, user, zone, **params)``."""

ACTION_OF: Mapping[str, str] = {
    **dict.fromkeys(READS, "read"),
    "published": "read",
    "published_scenario": "read",
    "drafts": "read_draft",
    "draft_scenario": "read_draft",
    "report_internal": "read_draft",
    "audit": "admin",
    "save": "write",
    "publish": "publish",
    "withdraw": "publish",
}
"""The action of each read and write, as :func:`wandel.workflow.users.allowed` knows them."""


class Reader:
    """Reads and writes of the web app on one :class:`TownWorkbench` and the application state
    (default: an empty one in memory)."""

    def __init__(
        self, workbench: TownWorkbench, state: AppState | None = None, cache: int = 0
    ) -> None:
        self.workbench = workbench
        self.state: AppState = state if state is not None else DuckState(":memory:")
        self.cache = cache
        self._memo: OrderedDict[tuple[str, str | None, str, str], object] = OrderedDict()
        self._memo_lock = threading.Lock()

    def permit(self, caller: Caller, what: str, zone: str | None) -> None:
        """Whether ``caller`` may do ``what`` (a read or a write) with ``zone``: the one check.

        Raises
        ------
        LoginRequiredError
            The public asks for what needs a login.
        AccessDeniedError
            A logged-in user whose role or zones do not allow it.
        """
        action = ACTION_OF[what]
        if allowed(caller.role, caller.zones, action, zone):
            return
        if caller.public:
            raise LoginRequiredError("@error.access.login")
        raise AccessDeniedError("@error.access.denied", action=action)

    def may(self, caller: Caller, what: str, zone: str | None) -> bool:
        """Whether :meth:`permit` lets ``caller`` do ``what`` with ``zone``."""
        try:
            self.permit(caller, what, zone)
        except AccessDeniedError:
            return False
        return True

    def report(self, caller: Caller, zone: str) -> Any:
        """The Kommunalprofil of ``zone`` for ``caller``: the internal edition where
        :meth:`permit` allows ``report_internal``, else the public one (never the internal one
        to the public, whatever the request says)."""
        what = "report_internal" if self.may(caller, "report_internal", zone) else "report"
        return self.read(caller, what, zone)

    def saved(self, caller: Caller, zone: str, id: int) -> SavedScenario:
        """The saved scenario ``id`` of ``zone``: a published one for everyone, a draft for those
        who may read the drafts of ``zone``; any other is unknown to the caller (no hint that a
        draft exists)."""
        self.workbench.check_zone(zone)
        found = self.state.scenario(id)
        if found is None or found.zone != zone:
            raise UnknownZoneError(f"{zone}/{id}", reason="@error.draft.unknown", id=id)
        what = "published_scenario" if found.published else "draft_scenario"
        if not found.published and not self.may(caller, what, zone):
            raise UnknownZoneError(f"{zone}/{id}", reason="@error.draft.unknown", id=id)
        result: SavedScenario = self.read(caller, what, zone, saved=found)
        return result

    def write(self, caller: Caller, what: str, zone: str, **params: Any) -> SavedScenario:
        """Change ``what`` (a key of :data:`WRITES`) of ``zone`` for ``caller``, after
        :meth:`permit`; the change and its audit entry are one transaction."""
        fn = WRITES[what]
        self.workbench.check_zone(zone)
        self.permit(caller, what, zone)
        assert caller.user is not None  # permit lets no public caller write
        return fn(self.state, caller.user, zone, **params)

    def read(self, caller: Caller, what: str, zone: str | None = None, **params: Any) -> Any:
        """Read ``what`` (a key of :data:`READS`) of ``zone`` for ``caller``.

        Raises
        ------
        UnknownZoneError
            ``zone`` is not in the store.
        KeyError
            ``what`` is not a known read.
        """
        if zone is not None:
            self.workbench.check_zone(zone)
        self.permit(caller, what, zone)
        if what in STATE_READS:
            return STATE_READS[what](self.state, zone, **params)
        return self._compute(what, zone, caller.lang, params)

    def ready(self, caller: Caller, reads: tuple[str, ...], zone: str | None) -> bool:
        """Whether the reads ``reads`` (without parameters) of ``zone`` are already kept
        (:attr:`cache`): answering them takes no computation, so a page made of them can be
        rendered without a worker thread. Says nothing about permission (:meth:`read` checks)."""
        if self.cache <= 0:
            return False
        with self._memo_lock:
            return all((w, zone, caller.lang, "[]") in self._memo for w in reads)

    def _compute(self, what: str, zone: str | None, lang: str, params: dict[str, Any]) -> Any:
        """A read of the statistics, kept for the last :attr:`cache` distinct calls (they are
        computed from the store loaded once, so the same call gives the same answer)."""
        if self.cache <= 0:
            return READS[what](self.workbench, zone, lang=lang, **params)
        key = (what, zone, lang, repr(sorted(params.items())))
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = READS[what](self.workbench, zone, lang=lang, **params)
        with self._memo_lock:
            self._memo[key] = value
            while len(self._memo) > self.cache:
                self._memo.popitem(last=False)
        return value

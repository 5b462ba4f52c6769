"""The one door through which the web app reads: :meth:`Reader.read` knows the zone and the caller.

Every page and every JSON twin asks :meth:`Reader.read` for its data, naming what it wants
(:data:`READS`), the zone (an AGS, or ``None`` for reads about the whole store) and the caller. A
later permission layer (roles, logins, public views) sits in :meth:`Reader.permit` alone: today
every read is public, since the store holds only published official statistics and Wandel's own
calculations from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wandel.i18n import LANGS
from wandel.workflow.compare import measures_for, peers_of, profile_of
from wandel.workflow.town import Levers, TownWorkbench

__all__ = ["READS", "Caller", "Reader"]


@dataclass(frozen=True)
class Caller:
    """Who asks: the language of the answer and the role (``public`` until logins exist)."""

    lang: str = LANGS[0]
    role: str = "public"


def _projection(wb: TownWorkbench, zone: str, **p: Any) -> object:
    return wb.project(zone, p.get("levers", Levers()), draws=int(p.get("draws", 100)))


def _services(wb: TownWorkbench, zone: str, **p: Any) -> object:
    return wb.services(zone, p.get("levers", Levers()), draws=int(p.get("draws", 20)))


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
    "peers": _peers,
    "profile": _profile,
    "measures": _measures,
    "access": lambda wb, z, **p: wb.access(z),
    "report": lambda wb, z, **p: wb.profile(z, str(p.get("lang", LANGS[0]))),
}
"""What can be read: name -> function ``(workbench, zone, **params)``."""


class Reader:
    """Reads of the web app on one :class:`TownWorkbench`."""

    def __init__(self, workbench: TownWorkbench) -> None:
        self.workbench = workbench

    def permit(self, caller: Caller, what: str, zone: str | None) -> None:
        """Whether ``caller`` may read ``what`` of ``zone``: the place of the permission layer.

        Today every read is public (published statistics and calculations from them); a later
        layer raises here for what a role may not see.
        """

    def read(self, caller: Caller, what: str, zone: str | None = None, **params: Any) -> Any:
        """Read ``what`` (a key of :data:`READS`) of ``zone`` for ``caller``.

        Raises
        ------
        UnknownZoneError
            ``zone`` is not in the store.
        KeyError
            ``what`` is not a known read.
        """
        fn = READS[what]
        if zone is not None:
            self.workbench.check_zone(zone)
        self.permit(caller, what, zone)
        return fn(self.workbench, zone, lang=caller.lang, **params)

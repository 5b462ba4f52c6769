"""Scenarios a planner keeps for her zone: saved as drafts, published for everyone, withdrawn.

Each change is one transaction of the application state together with its audit entry (before and
after). Who may do what is decided by :func:`wandel.workflow.users.allowed`, asked by the web app's
one door before it calls these functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from wandel.errors import UserError
from wandel.store.state import AppState, Audit, SavedScenario
from wandel.workflow.town import Levers
from wandel.workflow.users import utcnow

__all__ = ["levers_of", "levers_record", "publish", "save_draft", "withdraw"]

MAX_TITLE = 120


def levers_record(levers: Levers) -> dict[str, Any]:
    """The levers as a JSON-able dictionary (as they are kept)."""
    return {
        "refugees_per_year": levers.refugees_per_year,
        "stay_young_pct": levers.stay_young_pct,
        "tfr": levers.tfr,
    }


def levers_of(saved: SavedScenario) -> Levers:
    """The levers of a saved scenario."""
    lv = saved.levers
    tfr = lv.get("tfr")
    return Levers(
        refugees_per_year=int(lv.get("refugees_per_year", 0)),
        stay_young_pct=int(lv.get("stay_young_pct", 0)),
        tfr=None if tfr is None else float(tfr),
    )


def save_draft(
    state: AppState,
    actor: str,
    zone: str,
    title: str,
    levers: Levers,
    now: dt.datetime | None = None,
) -> SavedScenario:
    """Keep the scenario of ``levers`` for ``zone`` as a new draft of ``actor``."""
    title = " ".join(title.split())
    if not title or len(title) > MAX_TITLE:
        raise UserError("@error.draft.title", n=MAX_TITLE)
    now = now or utcnow()
    draft = SavedScenario(0, zone, title, levers_record(levers), actor, "draft", now, now)
    return state.save_scenario(draft, Audit(now, actor, "scenario.save", "", zone))


def _set_status(
    state: AppState, actor: str, saved: SavedScenario, status: str, now: dt.datetime | None
) -> SavedScenario:
    now = now or utcnow()
    after = replace(saved, status=status, updated_at=now)
    action = "scenario.publish" if status == "published" else "scenario.withdraw"
    return state.save_scenario(
        after, Audit(now, actor, action, "", saved.zone, before=saved.public())
    )


def publish(
    state: AppState, actor: str, saved: SavedScenario, now: dt.datetime | None = None
) -> SavedScenario:
    """Publish a saved scenario: from now on the public sees it."""
    return _set_status(state, actor, saved, "published", now)


def withdraw(
    state: AppState, actor: str, saved: SavedScenario, now: dt.datetime | None = None
) -> SavedScenario:
    """Take a published scenario back to a draft."""
    return _set_status(state, actor, saved, "draft", now)

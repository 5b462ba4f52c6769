"""Disclosure control of the public pages: the counts of each view dictionary that the public
sees, with the relations between them, kept secret by :func:`wandel.reports.disclosure.suppress`.

A logged-in caller (planner, viewer, admin) sees the full numbers; for the public every count from
1 to 3 becomes the GENESIS sign ``.`` (:data:`~wandel.reports.disclosure.SECRET`), and so do the
cells from which it could be worked out:

* the pyramid of a year adds up to the population of that year (shown in the fan table);
* births - deaths = natural balance, arrivals - departures = net migration, and the two balances
  add up to the change of the population from the year before;
* a value and its band (``q10``, ``q50``, ``q90``) are hidden together, since the band brackets the
  value.

The numbers that are not counts of people (shares, ratios, ranks, distances, probabilities, row
counts of imports) are left as they are.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from wandel.reports.disclosure import SECRET, is_small, suppress
from wandel.web.reader import Caller

__all__ = ["SECRET", "access_secret", "protect", "protect_access", "public_network"]

Key = tuple[Any, ...]
Secret = frozenset[Key]
_BAND = ("value", "q10", "q50", "q90")
_COMPONENTS = ("births", "deaths", "natural", "in_migration", "out_migration", "net_migration")


def _hide_bands(rows: list[dict[str, Any]]) -> None:
    """A row of a value with its band: any small one hides the whole row's numbers."""
    for r in rows:
        cols = [c for c in _BAND if c in r]
        if any(isinstance(r[c], int | float) and is_small(r[c]) for c in cols):
            for c in cols:
                r[c] = SECRET


def _fan_total(fan: list[dict[str, Any]]) -> dict[int, float | None]:
    return {int(r["year"]): r.get("value") for r in fan}


def _pyramids(groups: list[list[dict[str, Any]]], totals: list[float | None]) -> None:
    """Each pyramid (age groups of men and women) adds up to its total."""
    cells: dict[Key, float | None] = {}
    relations = []
    for i, (rows, total) in enumerate(zip(groups, totals, strict=True)):
        rel: dict[Key, float] = {}
        for j, g in enumerate(rows):
            for sex in ("men", "women"):
                cells[(i, j, sex)] = g.get(sex)
                rel[(i, j, sex)] = 1.0
        if isinstance(total, int | float):
            cells[(i, "total")] = float(total)
            rel[(i, "total")] = -1.0
        relations.append(rel)
    # the totals stand in the fan table (a small one is hidden there, so not kept here)
    keep = [k for k in cells if k[1] == "total" and not is_small(cells[k])]
    secret = suppress(cells, relations, keep=keep)
    for i, j, sex in (k for k in secret if k[1] != "total"):
        groups[i][j][sex] = SECRET


def _components(rows: list[dict[str, Any]], totals: dict[int, float | None]) -> None:
    cells: dict[Key, float | None] = {}
    relations: list[dict[Key, float]] = []
    kept: list[Key] = []
    for r in rows:
        y = int(r["year"])
        for c in _COMPONENTS:
            cells[(y, c)] = r.get(c)
        relations.append({(y, "births"): 1, (y, "deaths"): -1, (y, "natural"): -1})
        relations.append(
            {(y, "in_migration"): 1, (y, "out_migration"): -1, (y, "net_migration"): -1}
        )
        now, before = totals.get(y), totals.get(y - 1)
        if isinstance(now, int | float) and isinstance(before, int | float):
            cells[(y, "change")] = float(now) - float(before)
            relations.append({(y, "natural"): 1, (y, "net_migration"): 1, (y, "change"): -1})
            if not (is_small(now) or is_small(before)):
                # the difference of two totals the fan table shows: known to every reader
                kept.append((y, "change"))
    signed = [k for k in cells if k[1] in ("natural", "net_migration", "change")]
    secret = suppress(cells, relations, keep=kept, free=signed)
    by_year = {int(r["year"]): r for r in rows}
    for y, c in (k for k in secret if k[1] != "change"):
        by_year[y][c] = SECRET


def _services(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for by_year in row.values():
            if isinstance(by_year, dict):
                _hide_bands([v for v in by_year.values() if isinstance(v, dict)])


def _sync_population(view: dict[str, Any], fans: dict[str, list[dict[str, Any]]]) -> None:
    pop = view.get("population")
    if isinstance(pop, dict):  # kommune: year -> fan row
        by_year = {str(r["year"]): r for r in fans["fan"]}
        view["population"] = {y: by_year.get(y, r) for y, r in pop.items()}
    elif isinstance(pop, list):  # szenarien: rows of basis and szenario
        for row in pop:
            for which in ("basis", "szenario"):
                match = [r for r in fans[which] if r["year"] == row["year"]]
                if match:
                    row[which] = match[0]


def _shared_pyramid(rows: list[dict[str, Any]], year: int, secret: Secret) -> None:
    for g in rows:
        for sex, col in (("m", "men"), ("f", "women")):
            if ("web", g["age_start"], year, sex) in secret:
                g[col] = SECRET


def _shared_fan(fan: list[dict[str, Any]], secret: Secret) -> None:
    for r in fan:
        if ("total", int(r["year"])) in secret:
            for c in _BAND:
                if c in r:
                    r[c] = SECRET


def _kommune(view: dict[str, Any], secret: Secret | None = None) -> None:
    """The town page; ``secret``: the town's shared decision
    (:func:`wandel.reports.town_secret.town_secret`, the Kommunalprofil's too), else the page's
    own cells are protected on their own."""
    fan = view.get("fan")
    if not isinstance(fan, list):
        return
    totals = _fan_total(fan)
    pyr = view["pyramid"]
    if secret is None:
        _pyramids([pyr["base"], pyr["year"]], [totals.get(y) for y in pyr["years"]])
        _components(view.get("components", []), totals)
    else:
        for y, rows in zip(pyr["years"], (pyr["base"], pyr["year"]), strict=True):
            _shared_pyramid(rows, int(y), secret)
        for r in view.get("components", []):
            for c in _COMPONENTS:
                if ("year", c, int(r["year"])) in secret:
                    r[c] = SECRET
        _shared_fan(fan, secret)
    _hide_bands(fan)
    _sync_population(view, {"fan": fan})
    _indicators(view.get("indicators", []))
    if fan and fan[-1].get("q10") == SECRET:
        view["sentence"] = ""


def _indicators(rows: list[dict[str, Any]]) -> None:
    """The town's key indicators that stand for a count from 1 to 3 (and the shares and ratios
    of age groups beside them), by the rule of the public report
    (:func:`wandel.reports.edition.secret_indicators`)."""
    from wandel.compare.catalogue import load_catalogue
    from wandel.reports.edition import secret_indicators

    cat = load_catalogue()
    pop = next((r.get("value") for r in rows if r.get("key") == "population"), None)
    if not isinstance(pop, int | float):
        return
    keys = [str(r["key"]) for r in rows]
    raw = [
        float(r["value"]) / (100.0 if cat[k].unit == "share" else 1.0)
        if isinstance(r.get("value"), int | float)
        else float("nan")
        for k, r in zip(keys, rows, strict=True)
    ]
    for r, hidden in zip(rows, secret_indicators(keys, raw, float(pop)), strict=True):
        if hidden:
            r["value"] = SECRET


def public_network(profile: Any, measures: Any, zone: str, population: float) -> tuple[Any, Any]:
    """The strengths-weaknesses profile and the measures of the Netzwerk page as the public sees
    them: a fact that stands for a small count (or is computed from one) is left out with its
    assessment, sentence and rank (:func:`wandel.reports.edition.public_profile`), and so are
    the measures listed for it as a weakness (they would tell that it is one)."""
    from wandel.reports.edition import public_profile

    prof = public_profile(profile, zone, population)
    secret = prof.facts["secret"].astype(bool)
    hidden = set(prof.facts.loc[secret, "indicator"].astype(str))
    prof = dataclasses.replace(prof, facts=prof.facts[~secret].reset_index(drop=True))
    if len(measures) and "weakness" in measures.columns:
        measures = measures[~measures["weakness"].astype(str).isin(hidden)]
    return prof, measures


def _szenarien(view: dict[str, Any], secret: Secret | None = None) -> None:
    """The scenario page; ``secret``: the town's shared decision, for the base (the same
    projection as the town page's); the scenario's own cells are protected on their own."""
    fans = view.get("fan")
    if not isinstance(fans, dict):
        return
    last = max(view["pyramid"]["years"])
    if secret is None:
        groups = [view["pyramid"]["basis"], view["pyramid"]["szenario"]]
        _pyramids(groups, [_fan_total(fans[w]).get(last) for w in ("basis", "szenario")])
    else:
        _shared_pyramid(view["pyramid"]["basis"], int(last), secret)
        _shared_fan(fans["basis"], secret)
        _pyramids([view["pyramid"]["szenario"]], [_fan_total(fans["szenario"]).get(last)])
    for rows in fans.values():
        _hide_bands(rows)
    _sync_population(view, fans)
    _services(view.get("services", []))
    if fans["szenario"] and fans["szenario"][-1].get("q10") == SECRET:
        view["sentence"] = ""


def _daseinsvorsorge(view: dict[str, Any], secret: Secret | None = None) -> None:
    _services(view.get("services", []))


_PAGES: dict[str, Callable[[dict[str, Any], Secret | None], None]] = {
    "kommune": _kommune,
    "szenarien": _szenarien,
    "daseinsvorsorge": _daseinsvorsorge,
}


def protect(
    page: str,
    view: dict[str, Any],
    caller: Caller,
    secret: Callable[[], Secret] | None = None,
) -> dict[str, Any]:
    """``view`` as ``caller`` may see it: unchanged for a logged-in user, with the small counts
    (and the cells that would reveal them) replaced by ``.`` for the public. ``secret`` gives
    the town's shared decision (:meth:`wandel.workflow.town.TownProjection.public_secret`, asked
    for only when the caller is the public): the cells every public output of the town keeps
    secret, so that the pages and the Kommunalprofil together tell no more than each alone."""
    if not caller.public or page not in _PAGES:
        return view
    out = copy.deepcopy(view)
    _PAGES[page](out, None if secret is None else secret())
    out["disclosure"] = SECRET
    return out


def access_secret(
    people: dict[tuple[str, str], float],
    minutes: dict[str, float],
    thresholds: tuple[float, ...],
) -> set[Key]:
    """The cells of the Erreichbarkeit page to keep secret from the public.

    ``people``: ``(zone, age group) -> persons`` of the Gemeinden weighted in the coverage (the
    page shows them per Gemeinde); ``minutes``: each Gemeinde's travel time (shown, so a reader
    knows which Gemeinden lie within a threshold). The cells are the persons ``("people", zone,
    group)``, the population of each group and of all ``("population", group)`` (the coverage
    table; kept shown unless small), each Gemeinde's total ``("gemeinde", zone)`` (shown on its
    own pages: known, unless small) and, for each threshold, the persons within it ``("within",
    group, t)`` (a share times the population) and beyond it ``("beyond", group, t)``: a share
    is shown only when both are. The relations: the Gemeinden add up to the population of the
    group, the groups to the Gemeinde's total and to all ages, the Gemeinden within a threshold
    to the persons within it, within and beyond to the population."""
    groups = sorted({g for _, g in people})
    zones = sorted({z for z, _ in people})
    cells: dict[Key, float | None] = {("people", z, g): float(v) for (z, g), v in people.items()}
    relations: list[dict[Key, float]] = []
    keep: set[Key] = set()
    for g in [*groups, "total"]:
        members = groups if g == "total" else [g]
        pop = sum(people[(z, h)] for z in zones for h in members)
        cells[("population", g)] = pop
        if g == "total":
            relations.append(
                {("population", "total"): -1.0} | {("population", h): 1.0 for h in groups}
            )
        else:
            relations.append({("population", g): -1.0} | {("people", z, g): 1.0 for z in zones})
        for t in thresholds:
            inside = [z for z in zones if minutes[z] <= t]
            within = sum(people[(z, h)] for z in inside for h in members)
            cells[("within", g, t)] = within
            cells[("beyond", g, t)] = pop - within
            relations.append(
                {("within", g, t): 1.0, ("beyond", g, t): 1.0, ("population", g): -1.0}
            )
            if g == "total":
                relations.append(
                    {("within", "total", t): -1.0} | {("within", h, t): 1.0 for h in groups}
                )
            else:
                relations.append({("within", g, t): -1.0} | {("people", z, g): 1.0 for z in inside})
    for z in zones:
        cells[("gemeinde", z)] = sum(people[(z, g)] for g in groups)
        relations.append({("gemeinde", z): -1.0} | {("people", z, g): 1.0 for g in groups})
    keep |= {k for k in cells if k[0] in ("population", "gemeinde") and not is_small(cells[k])}
    return suppress(cells, relations, keep=keep)


def protect_access(view: dict[str, Any], minutes: dict[str, float], caller: Caller) -> None:
    """The Erreichbarkeit view as the public sees it (in place; unchanged for a logged-in
    caller): persons per Gemeinde and group, populations of the coverage table and shares whose
    count within or beyond a threshold is kept secret (:func:`access_secret`) become ``.``."""
    if not caller.public:
        return
    people = {
        (str(r["zone"]), g): float(v)
        for r in view["gemeinden"]
        for g, v in r["people"].items()
        if isinstance(v, int | float)
    }
    # a Gemeinde without every group is not weighted (the coverage leaves it out)
    groups = view["age_groups"]
    people = {k: v for k, v in people.items() if all((k[0], g) in people for g in groups)}
    ths = tuple(float(t) for t in view["thresholds"])
    secret = access_secret(people, minutes, ths)
    for r in view["gemeinden"]:
        for g in r["people"]:
            if ("people", str(r["zone"]), g) in secret:
                r["people"][g] = SECRET
    for c in view["coverage"]:
        g = c["age_group"]
        if ("population", g) in secret:
            c["population"] = SECRET
        for t in view["thresholds"]:
            if {("within", g, float(t)), ("beyond", g, float(t))} & secret or (
                "population",
                g,
            ) in secret:
                c["shares"][t] = SECRET
    view["disclosure"] = SECRET

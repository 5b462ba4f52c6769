"""The two editions of a report: ``internal`` (every number, for the planners of the town) and
``public`` (small counts kept secret, for downloads by anyone).

The public edition is made *before* the report model is built: :func:`public_figures` turns a
:class:`~wandel.reports.profile.TownFigures` into one whose count cells (the totals, the age
groups with their bands, the pyramid, the components of change) hold NaN where a value must be
kept secret, at exactly the level of detail the report shows (the pyramid by ten-year groups,
the components by period, the age groups in the years shown). Every table, chart, fact and
sentence of the report is made from these figures, so HTML, PDF and any export read one
suppressed model; a NaN is shown as the GENESIS sign ``.`` (:func:`wandel.reports.numbers.fmt`),
a chart leaves a gap.

The rule is the statistical offices' (:mod:`wandel.reports.disclosure`): a count from 1 to 3 is
kept secret (primary suppression), and so many other cells too that no secret cell can be worked
out from the totals, sums and differences the report shows (secondary suppression, checked by
linear programming over every relation between the cells: the age groups and the pyramid add up
to the total, they agree where their age limits meet, births - deaths = natural balance, natural
balance + net migration = change of the total). A value and its 80 % band are kept secret
together, since the band brackets the value.

Shares, rates and changes in per cent are never computed from a secret count: a number derived
from cells is shown only when every cell it is computed from is shown (NaN propagates), so it
tells nothing that the shown cells do not tell already. This is the offices' practice for
derived values ("Aus Geheimhaltungsgründen ... werden auch Anteile und Veränderungsraten nicht
ausgewiesen", the GENESIS notes on secret cells): a share of 65+ is shown only when the counts
of both groups above 65 are. The town's indicators in the strengths table that stand for a count
(shares and rates per 1,000 of the population) are kept secret when that count is from 1 to 3,
and then every other age share of the town beside it too (they add up with the population).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from wandel.reports.disclosure import SECRET, is_small, suppress
from wandel.reports.model import EDITIONS, EditionKind
from wandel.reports.profile import AGE_GROUPS, TownFigures, component_bounds, milestones
from wandel.reports.town_secret import PYRAMID_BANDS, town_secret

if TYPE_CHECKING:
    from wandel.compare.profile import Profile

__all__ = [
    "EDITIONS",
    "PYRAMID_BANDS",
    "EditionKind",
    "changes_of_secret_totals",
    "edition_figures",
    "export_cells",
    "public_export",
    "public_figures",
    "public_profile",
    "secret_indicators",
    "town_cells",
]


Key = tuple[Hashable, ...]


def _band_end(lo: int) -> int | None:
    return lo + 10 if lo < PYRAMID_BANDS[-1] else None


def _segments(a: tuple[int, ...], b: tuple[int, ...]) -> list[tuple[int, int | None]]:
    """The age spans between the limits two partitions share (where their sums must agree).

    >>> _segments((0, 6, 10, 18, 25, 65, 80), tuple(range(0, 100, 10)))
    [(0, 10), (10, 80), (80, None)]
    """
    common = sorted(set(a) & set(b))
    return [(lo, hi) for lo, hi in itertools.pairwise([*common, None])]  # type: ignore[misc]


def _inside(lo: int, span: tuple[int, int | None]) -> bool:
    return lo >= span[0] and (span[1] is None or lo < span[1])


def town_cells(
    t: TownFigures,
) -> tuple[dict[Key, float], list[dict[Key, float]], set[Key], set[Key]]:
    """The count cells a report shows of ``t``, the relations between them, the cells that stay
    shown (totals) and the cells of any sign (balances): the input of
    :func:`wandel.reports.disclosure.suppress`."""
    cells: dict[Key, float] = {}
    relations: list[dict[Key, float]] = []
    keep: set[Key] = set()
    free: set[Key] = set()
    stats = ("value", "q10", "q90") if t.draws else ("value",)
    tot = t.totals().set_index("year")
    for y in tot.index:
        for s in stats:
            cells[("total", int(y), s)] = float(tot.loc[y, s])
    obs = t.observed[t.observed["year"] < t.base_year]
    for y, v in zip(obs["year"], obs["value"], strict=True):
        cells[("observed", int(y))] = float(v)
    keep |= {k for k, v in cells.items() if not is_small(v)}  # a small total is secret
    g = t.groups.set_index(["age_start", "year"])
    starts = tuple(lo for lo, _, _ in AGE_GROUPS)
    for y in milestones(t.base_year, t.until):
        for s in stats if (y > t.base_year and t.draws) else ("value",):
            rel: dict[Key, float] = {("total", y, s): -1.0}
            for lo in starts:
                cells[("group", lo, y, s)] = float(g.loc[(lo, y), s])
                rel[("group", lo, y, s)] = 1.0
            relations.append(rel)
    p = t.pyramid
    for y in (t.base_year, t.until):
        rel = {("total", y, "value"): -1.0}
        for lo in PYRAMID_BANDS:
            hi = _band_end(lo)
            for sex in ("m", "f"):
                sel = p[(p["year"] == y) & (p["sex"] == sex) & (p["age"] >= lo)]
                if hi is not None:
                    sel = sel[sel["age"] < hi]
                cells[("band", lo, y, sex)] = float(sel["value"].sum())
                rel[("band", lo, y, sex)] = 1.0
        relations.append(rel)
        for span in _segments(starts, PYRAMID_BANDS):
            link: dict[Key, float] = {
                ("group", lo, y, "value"): 1.0 for lo in starts if _inside(lo, span)
            }
            link |= {
                ("band", lo, y, sex): -1.0
                for lo in PYRAMID_BANDS
                if _inside(lo, span)
                for sex in ("m", "f")
            }
            relations.append(link)
    c = t.components
    for a, b in itertools.pairwise(component_bounds(t.base_year, t.until)):
        sel = c[(c["year"] > a) & (c["year"] <= b)]
        births, deaths, net = (float(sel[k].sum()) for k in ("births", "deaths", "net_migration"))
        cells |= {
            ("births", b): births,
            ("deaths", b): deaths,
            ("natural", b): births - deaths,
            ("net_migration", b): net,
            ("change", b): births - deaths + net,
        }
        free |= {("natural", b), ("net_migration", b), ("change", b)}
        if {("total", a, "value"), ("total", b, "value")} <= keep:
            keep.add(("change", b))  # the difference of two totals shown in the fan
        relations += [
            {("births", b): 1.0, ("deaths", b): -1.0, ("natural", b): -1.0},
            {("natural", b): 1.0, ("net_migration", b): 1.0, ("change", b): -1.0},
            {("change", b): 1.0, ("total", b, "value"): -1.0, ("total", a, "value"): 1.0},
        ]
    return cells, relations, keep, free


def _with_bands(secret: set[Key], cells: dict[Key, float]) -> set[Key]:
    """A value and its band are kept secret together (the band brackets the value): cells whose
    keys end in the statistic (``value``, ``q10``, ``q90``) and begin with ``group`` or ``total``."""
    out = set(secret)
    for k in secret:
        if k[0] in ("group", "total"):
            out |= {(*k[:-1], s) for s in ("value", "q10", "q90") if (*k[:-1], s) in cells}
    return out


def _shared_key(k: Key) -> Key:
    """The key of a report cell in the town's shared decision
    (:func:`wandel.reports.town_secret.town_table`): the value cells without their statistic."""
    if k[0] in ("total", "group") and k[-1] == "value":
        return k[:-1]
    return k


def _secret_cells(t: TownFigures) -> set[Key]:
    """The report's cells to keep secret: the value cells as the town's shared decision keeps
    them (:func:`wandel.reports.town_secret.town_secret`, the same for the web's pages), the
    bands and the past totals, which only the report shows, protected around them."""
    cells, relations, keep, free = town_cells(t)
    if t.counts is None:
        return _with_bands(suppress(cells, relations, keep=keep, free=free), cells)
    shared = town_secret(t.counts)
    values = {k for k in cells if _shared_key(k) in shared}
    rest = suppress(cells, relations, keep=keep - values, free=free, hidden=values)
    return _with_bands(rest, cells)


EXPORT_STATS: tuple[str, ...] = ("value", "q10", "q90")


def export_cells(
    table: pd.DataFrame,
) -> tuple[dict[Key, float], list[dict[Key, float]], set[Key]]:
    """The count cells of an export of the projection by age group (``zone, year, age_start``
    and the statistics ``value``, ``q10``, ``q90``), as :func:`town_cells` gives them for a
    report: ``("group", zone, age_start, year, stat)`` and the totals of each zone and year,
    ``("total", zone, year, stat)``, which the public report and the GeoPackage print and so stay
    shown (keep); each total is the sum of its groups."""
    stats = [s for s in EXPORT_STATS if s in table.columns]
    cells: dict[Key, float] = {}
    relations: list[dict[Key, float]] = []
    keep: set[Key] = set()
    for (zone, year), rows in table.groupby(["zone", "year"], sort=True):
        for s in stats:
            total: Key = ("total", str(zone), int(year), s)
            cells[total] = float(rows[s].sum())
            if not is_small(cells[total]):  # a small total is secret
                keep.add(total)
            rel: dict[Key, float] = {total: -1.0}
            for lo, v in zip(rows["age_start"], rows[s], strict=True):
                k: Key = ("group", str(zone), int(lo), int(year), s)
                cells[k] = float(v)
                rel[k] = 1.0
            relations.append(rel)
    return cells, relations, keep


def public_export(table: pd.DataFrame) -> tuple[pd.DataFrame, set[Key]]:
    """``table`` (see :func:`export_cells`) as the public edition exports it: NaN where a count
    is kept secret, by the rule of the public report (:func:`wandel.reports.disclosure.suppress`
    with a value and its band hidden together), and the secret cells (also the totals, for the
    GeoPackage's columns of totals)."""
    cells, relations, keep = export_cells(table)
    secret = _with_bands(suppress(cells, relations, keep=keep), cells)
    out = table.copy()
    for s in (s for s in EXPORT_STATS if s in out.columns):
        hidden = [
            ("group", str(z), int(lo), int(y), s) in secret
            for z, lo, y in zip(out["zone"], out["age_start"], out["year"], strict=True)
        ]
        out[s] = out[s].astype(float).mask(np.array(hidden, dtype=bool))
    return out, secret


_COUNT_UNITS = {"persons": 1.0, "share": 1.0, "per_1000": 1e-3}
"""Indicator units that stand for a count of the town's people: the count is value x factor x
population (``persons``: the value itself)."""


def secret_indicators(
    indicators: Sequence[str], values: Sequence[float], population: float
) -> np.ndarray:
    """Which of a town's indicator values the public may not see: those that stand for a count
    from 1 to 3 of the town's people (the units of :data:`_COUNT_UNITS`, the count being value x
    factor x ``population``), then, once one age share is secret, every age share and every ratio
    of age groups (``per_100``: old-age and youth ratios) too, since they add up with the
    population or divide the same groups (a value derived from a secret one is secret).

    >>> secret_indicators(["share_80plus", "share_65plus", "old_age_ratio", "median_age"],
    ...                   [0.05, 0.3, 50.0, 54.0], 40.0).tolist()
    [True, True, True, False]
    >>> secret_indicators(["share_80plus", "old_age_ratio"], [0.05, 50.0], 4000.0).tolist()
    [False, False]
    """
    from wandel.compare.catalogue import load_catalogue

    cat = load_catalogue()
    units = [cat[str(i)].unit if str(i) in cat else "" for i in indicators]
    out = np.zeros(len(units), dtype=bool)
    for n, (unit, v) in enumerate(zip(units, values, strict=True)):
        v = float(v)
        if unit in _COUNT_UNITS and math.isfinite(v):
            out[n] = is_small(v if unit == "persons" else v * _COUNT_UNITS[unit] * population)
    shares = np.array([u == "share" for u in units], dtype=bool)
    if (out & shares).any():
        out |= shares | np.array([u == "per_100" for u in units], dtype=bool)
    return out


def changes_of_secret_totals(secret_years: Iterable[int], base_year: int) -> set[str]:
    """The indicators of change computed from a town's total of a year kept secret: the projected
    change to a year (``projected_change``: from the base year's total to that year's) and the
    past change (``population_change``: up to the base year's total). A change reveals its
    start or end, so it is secret with them.

    >>> sorted(changes_of_secret_totals([2040], 2019))
    ['projected_change_2040']
    """
    from wandel.compare.catalogue import load_catalogue

    years = set(secret_years)
    out: set[str] = set()
    for key, ind in load_catalogue().items():
        if ind.function == "projected_change":
            target = int(ind.params.get("target_year", 0))
            if years & {base_year, target}:
                out.add(key)
        elif ind.function == "population_change" and any(y <= base_year for y in years):
            out.add(key)
    return out


def public_profile(
    profile: Profile, zone: str, population: float, derived: Iterable[str] = ()
) -> Profile:
    """``profile`` as the public may see it: a value of ``zone`` that
    :func:`secret_indicators` keeps secret (or one of the indicators ``derived``, computed from
    secret cells, :func:`changes_of_secret_totals`) loses with it everything that tells its
    range - the distance ``z``, the assessment (strength or weakness), the sentence and its rank
    among the facts (the secret facts go to the end, the others are ranked again 1, 2, ...);
    column ``secret`` marks them."""
    facts = profile.facts.copy()
    own = (facts["subject"].astype(str) == str(zone)).to_numpy()
    keys = [str(i) for i in facts["indicator"]]
    secret = own & secret_indicators(keys, facts["value"].astype(float).tolist(), population)
    derived_set = set(derived)
    secret |= own & np.array([k in derived_set for k in keys], dtype=bool)
    facts["secret"] = secret
    facts.loc[secret, ["value", "z"]] = np.nan
    facts.loc[secret, "assessment"] = SECRET
    facts.loc[secret, "sentence"] = ""
    facts = pd.concat([facts[~secret], facts[secret].sort_values("indicator")])
    if "rank" in facts.columns:
        facts["rank"] = np.arange(1, len(facts) + 1)
    return replace(profile, facts=facts.reset_index(drop=True))


def _public_profile(t: TownFigures, population: float, secret: set[Key]) -> Profile | None:
    """The town's strengths-weaknesses profile as :func:`public_profile` shows it, the changes
    computed from a secret total kept secret too."""
    if t.profile is None:
        return None
    years = {int(str(k[1])) for k in secret if k[0] in ("total", "observed")}
    derived = changes_of_secret_totals(years, t.base_year)
    return public_profile(t.profile, t.zone, population, derived)


def public_figures(t: TownFigures) -> TownFigures:
    """``t`` as the public edition shows it: the count cells at the report's level of detail,
    NaN where kept secret (see the module's description)."""
    secret = _secret_cells(t)
    cells, _, _, _ = town_cells(t)

    def value(k: Key) -> float:
        return math.nan if k in secret else cells[k]

    stats = ("value", "q10", "q90")
    years = milestones(t.base_year, t.until)
    tot = t.totals()
    totals = pd.DataFrame(
        {
            "year": tot["year"].astype(int),
            **{
                s: [value(("total", int(y), s)) if ("total", int(y), s) in cells else float(v)
                    for y, v in zip(tot["year"], tot[s], strict=True)]
                for s in stats
            },
        }
    )  # fmt: skip
    groups = t.groups[t.groups["year"].isin(years)].copy().reset_index(drop=True)
    for s in stats:
        groups[s] = [
            value(("group", int(lo), int(y), s))
            if ("group", int(lo), int(y), s) in cells
            else value(("group", int(lo), int(y), "value"))
            for lo, y in zip(groups["age_start"], groups["year"], strict=True)
        ]
    pyramid = pd.DataFrame(
        [
            {"year": y, "sex": sex, "age": lo, "value": value(("band", lo, y, sex))}
            for y in (t.base_year, t.until)
            for sex in ("m", "f")
            for lo in PYRAMID_BANDS
        ]
    )
    bounds = component_bounds(t.base_year, t.until)
    components = pd.DataFrame(
        [
            {
                "year": b,
                "births": value(("births", b)),
                "deaths": value(("deaths", b)),
                "net_migration": value(("net_migration", b)),
            }
            for b in bounds[1:]
        ]
    )
    observed = t.observed.copy()
    observed["value"] = [
        value(("observed", int(y))) if ("observed", int(y)) in cells else float(v)
        for y, v in zip(observed["year"], observed["value"], strict=True)
    ]
    out = replace(
        t,
        observed=observed,
        groups=groups,
        pyramid=pyramid,
        components=components,
        fixed_totals=totals,
        profile=None,
    )
    town, *others = t.areas
    share = {y: out.share_65(y) for y in town.share_65}
    if math.isnan(value(("total", t.base_year, "value"))):
        town = replace(town, base=math.nan)
    # the changes of the comparison table are computed from these: a secret end hides them
    projected = {
        y: value(("total", y, "value")) if ("total", y, "value") in cells else v
        for y, v in town.projected.items()
    }
    past = town.past
    if town.past_year is not None and ("observed", town.past_year) in secret:
        past = math.nan
    out = replace(
        out,
        areas=(replace(town, share_65=share, projected=projected, past=past), *others),
        profile=_public_profile(t, float(cells[("total", t.base_year, "value")]), secret),
    )
    return out


def edition_figures(t: TownFigures, edition: EditionKind) -> TownFigures:
    """``t`` for ``edition``: unchanged for ``internal``, :func:`public_figures` for ``public``."""
    if edition == "internal":
        return t
    if edition == "public":
        return public_figures(t)
    from wandel.errors import UnknownChoiceError

    raise UnknownChoiceError("--edition", edition, EDITIONS)

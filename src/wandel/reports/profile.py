"""Kommunalprofil and Demografiebericht: the report model built from a town's figures.

:class:`TownFigures` holds what a profile says about one town (observed totals, the projection by
age group with its 80 % band, the single-age pyramid, components of change, the comparison with its
Kreis and Land, the nearest hospital); :func:`profile_report` turns one into a two-page
Kommunalprofil, :func:`network_report` several into a Demografiebericht. Both are pure: the
workflow (:mod:`wandel.workflow.report`) gathers the figures from the store and a projection.

Other results plug in as extra sections: ``extra_sections`` takes any :class:`Section` built
from a services, comparison or access result, placed before the method notes.

Every text comes from the catalogue ``reports.yaml`` in German or English; the Leichte-Sprache
summary (:func:`easy_summary`) follows its rules: short sentences, one statement per sentence,
rounded numbers ("ungefähr 14.000", "1 von 3"), terms explained.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from wandel.compare._format import format_value
from wandel.compare.catalogue import load_catalogue
from wandel.compare.profile import Profile
from wandel.i18n import tr
from wandel.reports.model import (
    Block,
    Chart,
    EditionKind,
    Fact,
    FactList,
    Paragraph,
    Report,
    ReportMeta,
    Section,
    Source,
    Table,
)
from wandel.reports.numbers import fmt, fmt_signed, one_in, round_easy
from wandel.reports.svg import FanData, PyramidData, bars_svg, fan_svg, pyramid_svg

if TYPE_CHECKING:
    from wandel.reports.town_secret import TownCounts

__all__ = [
    "AGE_GROUPS",
    "AreaFigures",
    "HospitalAccess",
    "TownFigures",
    "component_bounds",
    "easy_summary",
    "milestones",
    "network_report",
    "profile_report",
    "strengths_table",
    "town_sections",
]

AGE_GROUPS: tuple[tuple[int, int | None, str], ...] = (
    (0, 6, "reports.group.kita"),
    (6, 10, "reports.group.grundschule"),
    (10, 18, "reports.group.schule"),
    (18, 25, "reports.group.ausbildung"),
    (25, 65, "reports.group.erwerb"),
    (65, 80, "reports.group.senioren"),
    (80, None, "reports.group.hochbetagt"),
)
"""Functional age groups (start, end exclusive or open, catalogue key): Kita, Grundschule,
weiterführende Schule, Ausbildung/Studium, Erwerbsalter, 65-79, 80+ (Pflege)."""


@dataclass(frozen=True)
class AreaFigures:
    """An area beside the town (the town itself, its Kreis, its Land) for the comparison table.

    Populations are totals; ``projected`` maps a year to the deterministic projection;
    ``share_65`` maps a year to the share of people aged 65 and over (0..1).
    """

    zone: str
    name: str
    past_year: int | None
    past: float | None
    base: float
    projected: dict[int, float]
    share_65: dict[int, float]


@dataclass(frozen=True)
class HospitalAccess:
    """The nearest hospital from the town's representative point: name, travel time by car in
    minutes by the straight-line fallback (distance × ``detour_factor`` at ``speed_kph``), the
    facility list's year."""

    name: str
    travel_time_min: float
    year: int
    detour_factor: float
    speed_kph: float


@dataclass(frozen=True)
class TownFigures:
    """Everything a profile says about one town.

    ``observed``: ``year, value`` (totals on the base year's territory). ``groups``: ``age_start,
    age_end, year, value, q10, q90`` summed over sex, for the :data:`AGE_GROUPS` breaks and every
    projected year (``q10/q90`` are sums of the groups' quantiles over sex: slightly wider than the
    band of the sum). ``pyramid``: ``year, sex, age, value`` for the base year and ``until``.
    ``components``: ``year, births, deaths, net_migration`` for every projected year.
    ``profile``: the town's strengths-weaknesses profile from :func:`wandel.compare.profile.profile`
    (indicators against Kreis and Land), shown as :func:`strengths_table`.

    ``counts``: the town's deterministic counts of every year
    (:class:`~wandel.reports.town_secret.TownCounts`), from which the public edition takes the
    disclosure decision it shares with the web's pages.

    ``fixed_totals`` (``year, value, q10, q90``), where given, are the totals instead of the sums
    of ``groups`` (the public edition keeps only the groups of the years it shows, some of them
    secret: NaN, :mod:`wandel.reports.edition`). Any sum over cells is NaN when one of them is.
    """

    zone: str
    name: str
    base_year: int
    until: int
    draws: int
    observed: pd.DataFrame
    groups: pd.DataFrame
    pyramid: pd.DataFrame
    components: pd.DataFrame
    areas: tuple[AreaFigures, ...]
    estimated_structure: bool
    hospital: HospitalAccess | None = None
    notes: tuple[str, ...] = field(default=())
    profile: Profile | None = None
    fixed_totals: pd.DataFrame | None = None
    counts: TownCounts | None = None

    def totals(self) -> pd.DataFrame:
        """``year, value, q10, q90`` of the whole population per projected year."""
        if self.fixed_totals is not None:
            return self.fixed_totals.copy()
        return self.groups.groupby("year", as_index=False)[["value", "q10", "q90"]].sum()

    def share_65(self, year: int) -> float:
        """The share aged 65 and over (NaN if a group it is made of is secret)."""
        g = self.groups[self.groups["year"] == year]
        old = g.loc[g["age_start"] >= 65, "value"].sum(skipna=False)
        return float(old / g["value"].sum(skipna=False))


def milestones(base_year: int, until: int) -> tuple[int, ...]:
    """The years a profile shows: the base year, 2030 and 2040 where they lie in range, ``until``.

    >>> milestones(2019, 2040), milestones(2019, 2035), milestones(2031, 2033)
    ((2019, 2030, 2040), (2019, 2030, 2035), (2031, 2033))
    """
    inner = [y for y in (2030, 2040) if base_year < y < until]
    return (base_year, *inner, until)


def component_bounds(base_year: int, until: int) -> tuple[int, ...]:
    """The limits of the periods of the components table: the base year, every fifth year,
    ``until`` (a period runs from the year after one limit to the next).

    >>> component_bounds(2019, 2032)
    (2019, 2020, 2025, 2030, 2032)
    """
    return (base_year, *[y for y in range(base_year + 1, until) if y % 5 == 0], until)


def _pct(value: float, digits: int, lang: str, signed: bool = True) -> str:
    """A per cent value (``+3,2 %``); a secret one is the sign ``.`` alone."""
    if math.isnan(value):
        return fmt(value, digits, lang)
    return (fmt_signed(value, digits, lang) if signed else fmt(value, digits, lang)) + " %"


def _row(totals: pd.DataFrame, year: int) -> pd.Series:
    return totals.loc[totals["year"] == year].iloc[0]


# -- sections -------------------------------------------------------------------------------------


def _overview(t: TownFigures, lang: str) -> Section:
    tot = t.totals()
    base = _row(tot, t.base_year)
    facts = [
        Fact(
            tr("reports.fact.population", lang),
            float(base["value"]),
            tr("reports.unit.persons", lang),
            t.base_year,
            "gv",
        )
    ]
    for y in milestones(t.base_year, t.until)[1:]:
        r = _row(tot, y)
        facts.append(
            Fact(
                tr("reports.fact.projected", lang, year=y),
                float(r["value"]),
                tr("reports.unit.persons", lang),
                y,
                "projection",
                low=float(r["q10"]) if t.draws else None,
                high=float(r["q90"]) if t.draws else None,
            )
        )
    end = _row(tot, t.until)
    change = (float(end["value"]) / float(base["value"]) - 1) * 100
    facts.append(
        Fact(
            tr("reports.fact.change", lang, base=t.base_year, year=t.until),
            change,
            "%",
            t.until,
            "projection",
            digits=1,
        )
    )
    for y in (t.base_year, t.until):
        facts.append(
            Fact(
                tr("reports.fact.share65", lang),
                t.share_65(y) * 100,
                "%",
                y,
                "estimate" if (y == t.base_year and t.estimated_structure) else "projection",
                digits=1,
                note=tr("reports.note.estimated", lang)
                if t.estimated_structure and y == t.base_year
                else "",
            )
        )
    if t.hospital is not None:
        facts.append(
            Fact(
                tr("reports.fact.hospital", lang),
                t.hospital.travel_time_min,
                tr("reports.unit.minutes", lang),
                t.hospital.year,
                "hospitals",
                note=tr("reports.note.hospital", lang, name=t.hospital.name),
            )
        )
    blocks: list[Block] = [FactList(tuple(facts))]
    if t.draws:
        blocks.append(
            Paragraph(
                tr(
                    "reports.band_sentence",
                    lang,
                    year=t.until,
                    name=t.name,
                    low=fmt(round_easy(float(end["q10"])), 0, lang),
                    high=fmt(round_easy(float(end["q90"])), 0, lang),
                    draws=t.draws,
                )
            )
        )
    return Section(f"ueberblick-{t.zone}", tr("reports.section.overview", lang), tuple(blocks))


def _fan(t: TownFigures, lang: str) -> Chart:
    tot = t.totals().sort_values("year")
    obs = t.observed.sort_values("year")
    obs = obs[obs["year"] <= t.base_year]
    base = _row(tot, t.base_year)
    end = _row(tot, t.until)
    data = FanData(
        tuple(int(y) for y in obs["year"]),
        tuple(float(v) for v in obs["value"]),
        tuple(int(y) for y in tot["year"]),
        tuple(float(v) for v in tot["value"]),
        tuple(float(v) for v in tot["q10"]) if t.draws else (),
        tuple(float(v) for v in tot["q90"]) if t.draws else (),
    )
    cid = f"faecher-{t.zone}"
    title = tr("reports.chart.fan.title", lang, name=t.name, year=t.until)
    desc = tr(
        "reports.chart.fan.desc",
        lang,
        base=t.base_year,
        pop=fmt(float(base["value"]), 0, lang),
        year=t.until,
        value=fmt(float(end["value"]), 0, lang),
        low=fmt(float(end["q10"]), 0, lang),
        high=fmt(float(end["q90"]), 0, lang),
    )
    svg = fan_svg(
        data,
        chart_id=cid,
        title=title,
        desc=desc,
        labels=(
            tr("reports.legend.observed", lang),
            tr("reports.legend.projection", lang),
            tr("reports.legend.band", lang),
        ),
        lang=lang,
    )
    rows = [
        (str(int(y)), fmt(float(v), 0, lang), "", "")
        for y, v in zip(obs["year"], obs["value"], strict=True)
        if int(y) < t.base_year
    ]
    for _, r in tot.iterrows():
        y = int(r["year"])
        if y in milestones(t.base_year, t.until) or y % 5 == 0:
            band = (
                (fmt(float(r["q10"]), 0, lang), fmt(float(r["q90"]), 0, lang))
                if t.draws
                else ("", "")
            )
            rows.append((str(y), fmt(float(r["value"]), 0, lang), *band))
    table = Table(
        f"{cid}-daten",
        tr("reports.table.fan", lang, name=t.name),
        (
            tr("reports.col.year", lang),
            tr("reports.col.persons", lang),
            tr("reports.col.q10", lang),
            tr("reports.col.q90", lang),
        ),
        tuple(rows),
        (False, True, True, True),
        ("gv", "projection"),
    )
    return Chart(cid, title, desc, svg, table)


def _pyramid(t: TownFigures, lang: str) -> Chart:
    p = t.pyramid
    years = (t.base_year, t.until)

    def series(sex: str, year: int) -> tuple[float, ...]:
        s = p[(p["sex"] == sex) & (p["year"] == year)].sort_values("age")
        return tuple(float(v) for v in s["value"])

    ages = sorted(int(a) for a in p["age"].unique())
    # single years of age (internal) or the ten-year groups of the public edition: the chart
    # shows persons per year of age either way
    widths = [float(b - a) for a, b in itertools.pairwise(ages)]
    widths.append(widths[-1] if widths else 1.0)

    def per_year(sex: str, year: int) -> tuple[float, ...]:
        return tuple(v / w for v, w in zip(series(sex, year), widths, strict=True))

    data = PyramidData(
        tuple(float(a) for a in ages),
        tuple(widths),
        (per_year("m", years[0]), per_year("m", years[1])),
        (per_year("f", years[0]), per_year("f", years[1])),
        years,
    )
    cid = f"pyramide-{t.zone}"
    title = tr("reports.chart.pyramid.title", lang, name=t.name, base=years[0], year=years[1])
    shares = (t.share_65(years[0]), t.share_65(years[1]))
    desc = tr(
        "reports.chart.pyramid.desc"
        if not any(math.isnan(x) for x in shares)
        else "reports.chart.pyramid.desc_secret",
        lang,
        base=years[0],
        year=years[1],
        share_base=fmt(shares[0] * 100, 0, lang),
        share_end=fmt(shares[1] * 100, 0, lang),
    )
    svg = pyramid_svg(
        data,
        chart_id=cid,
        title=title,
        desc=desc,
        labels=(
            tr("reports.legend.men", lang),
            tr("reports.legend.women", lang),
            tr("reports.legend.bars", lang, year=years[0]),
            tr("reports.legend.outline", lang, year=years[1]),
        ),
        lang=lang,
    )
    rows = []
    for lo in range(0, 100, 10):
        hi = lo + 10 if lo < 90 else None
        sel = p[(p["age"] >= lo) & ((p["age"] < hi) if hi else True)]
        cells = [f"{lo}–{hi - 1}" if hi else f"{lo}+"]
        for y in years:
            for sex in ("m", "f"):
                v = sel.loc[(sel["year"] == y) & (sel["sex"] == sex), "value"].sum(skipna=False)
                cells.append(fmt(float(v), 0, lang))
        rows.append(tuple(cells))
    header = (
        tr("reports.col.age", lang),
        *(f"{tr(f'reports.col.{s}', lang)} {y}" for y in years for s in ("m", "f")),
    )
    source = ("estimate", "projection") if t.estimated_structure else ("gv", "projection")
    table = Table(
        f"{cid}-daten",
        tr("reports.table.pyramid", lang, name=t.name),
        header,
        tuple(rows),
        (False, True, True, True, True),
        source,
    )
    return Chart(cid, title, desc, svg, table)


def _group_label(lo: int, hi: int | None, key: str, lang: str) -> str:
    span = f"{lo}–{hi - 1}" if hi is not None else f"{lo}+"
    return f"{tr(key, lang)} ({span})"


def _groups(t: TownFigures, lang: str) -> tuple[Table, Chart]:
    years = milestones(t.base_year, t.until)
    g = t.groups
    rows = []
    labels, changes = [], []
    for lo, hi, key in AGE_GROUPS:
        sel = g[g["age_start"] == lo].set_index("year")
        label = _group_label(lo, hi, key, lang)
        cells = [label]
        for y in years:
            v = float(sel.loc[y, "value"])
            if y > t.base_year and t.draws and not math.isnan(v):
                cells.append(
                    f"{fmt(v, 0, lang)} ({fmt(float(sel.loc[y, 'q10']), 0, lang)}–{fmt(float(sel.loc[y, 'q90']), 0, lang)})"
                )
            else:
                cells.append(fmt(v, 0, lang))
        change = (float(sel.loc[t.until, "value"]) / float(sel.loc[t.base_year, "value"]) - 1) * 100
        cells.append(_pct(change, 0, lang))
        rows.append(tuple(cells))
        labels.append(label)
        changes.append(change)
    header = (
        tr("reports.col.group", lang),
        *(str(y) for y in years),
        tr("reports.col.change", lang, base=t.base_year, year=t.until),
    )
    src = ("estimate" if t.estimated_structure else "gv", "projection")
    table = Table(
        f"altersgruppen-{t.zone}",
        tr("reports.table.groups", lang, name=t.name),
        header,
        tuple(rows),
        (False, *(True for _ in years), True),
        src,
    )
    cid = f"veraenderung-{t.zone}"
    title = tr("reports.chart.bars.title", lang, base=t.base_year, year=t.until)
    shown = [i for i, c in enumerate(changes) if not math.isnan(c)] or [0]
    lo_i = min(shown, key=lambda i: changes[i])
    hi_i = max(shown, key=lambda i: changes[i])
    desc = tr(
        "reports.chart.bars.desc"
        if len(shown) == len(changes)
        else "reports.chart.bars.desc_secret",
        lang,
        down=labels[lo_i],
        down_pct=fmt_signed(changes[lo_i], 0, lang),
        up=labels[hi_i],
        up_pct=fmt_signed(changes[hi_i], 0, lang),
    )
    svg = bars_svg(labels, changes, chart_id=cid, title=title, desc=desc, lang=lang)
    data = Table(
        f"{cid}-daten",
        title,
        (
            tr("reports.col.group", lang),
            tr("reports.col.change", lang, base=t.base_year, year=t.until),
        ),
        tuple((lab, _pct(c, 1, lang)) for lab, c in zip(labels, changes, strict=True)),
        (False, True),
        src,
    )
    return table, Chart(cid, title, desc, svg, data)


def _components(t: TownFigures, lang: str) -> Table:
    c = t.components.sort_values("year")
    rows = []
    for a, b in itertools.pairwise(component_bounds(t.base_year, t.until)):
        sel = c[(c["year"] > a) & (c["year"] <= b)]
        births, deaths, net = (
            float(sel[k].sum(skipna=False)) for k in ("births", "deaths", "net_migration")
        )
        rows.append(
            (
                f"{a + 1}–{b}" if b > a + 1 else str(b),
                fmt(births, 0, lang),
                fmt(deaths, 0, lang),
                fmt_signed(births - deaths, 0, lang),
                fmt_signed(net, 0, lang),
                fmt_signed(births - deaths + net, 0, lang),
            )
        )
    header = tuple(
        tr(f"reports.col.{k}", lang)
        for k in ("period", "births", "deaths", "natural", "net_migration", "total_change")
    )
    return Table(
        f"bewegung-{t.zone}",
        tr("reports.table.components", lang, name=t.name),
        header,
        tuple(rows),
        (False, True, True, True, True, True),
        ("projection",),
    )


def _comparison(t: TownFigures, lang: str) -> Table:
    years = milestones(t.base_year, t.until)[1:]
    past_year = next((a.past_year for a in t.areas if a.past_year), None)
    header = [tr("reports.col.area", lang)]
    if past_year:
        header.append(tr("reports.col.change", lang, base=past_year, year=t.base_year))
    header += [tr("reports.col.change", lang, base=t.base_year, year=y) for y in years]
    header += [tr("reports.col.share65", lang, year=y) for y in (t.base_year, t.until)]
    rows = []
    for a in t.areas:
        cells = [a.name]
        if past_year:
            cells.append(_pct((a.base / a.past - 1) * 100, 1, lang) if a.past else "–")
        for y in years:
            v = a.projected.get(y)
            cells.append(_pct((v / a.base - 1) * 100, 1, lang) if v else "–")
        for y in (t.base_year, t.until):
            s = a.share_65.get(y)
            cells.append(_pct(s * 100, 1, lang, signed=False) if s is not None else "–")
        rows.append(tuple(cells))
    src = ("gv", "genesis", "projection")
    return Table(
        f"vergleich-{t.zone}",
        tr("reports.table.comparison", lang, name=t.name),
        tuple(header),
        tuple(rows),
        (False, *(True for _ in header[1:])),
        src,
    )


STRENGTH_ROWS = 5
"""How many strengths and weaknesses a profile shows (those furthest from the Land's value)."""


def strengths_table(t: TownFigures, lang: str, rows: int = STRENGTH_ROWS) -> Table | None:
    """The town's clearest strengths and weaknesses against Kreis and Land, from its
    :class:`~wandel.compare.profile.Profile` (the facts of ``wandel profile``, ordered by the
    standardised distance ``|z|`` to the Land's value; neutral indicators left out).

    A value that only the Kreis has (migration by age, TFR, life expectancy) is shown in the Kreis
    column, and the town's cell says so; an estimated value carries ``*``; the year column gives
    the town's (or Kreis's) year and, where it differs, the Land's.
    """
    if t.profile is None:
        return None
    facts = t.profile.facts
    if "secret" in facts.columns:
        # the public edition: a value that stands for a small count is left out with its
        # assessment and its place among the strongest (both would tell its range)
        facts = facts[~facts["secret"].astype(bool)]
    facts = facts[facts["assessment"] != "neutral"].head(rows)
    if facts.empty:
        return None
    cat = load_catalogue()
    kreis_name, land_name = t.areas[1].name, t.areas[2].name

    def cell(x: object, ind_key: str, star: bool) -> str:
        v = float(x)  # type: ignore[arg-type]
        if not np.isfinite(v):
            return "–"
        return format_value(v, cat[ind_key], lang) + (" *" if star else "")

    out = []
    for f in facts.itertuples(index=False):
        key, own = str(f.indicator), f.subject == t.zone
        year = str(f.year) if f.year == f.reference_year else f"{f.year}/{f.reference_year}"
        est = bool(f.estimated)
        out.append(
            (
                cat[key].text("name", lang),
                year,
                cell(f.value, key, est) if own else tr("reports.strengths.kreis_only", lang),
                cell(f.kreis_value, key, est and not own),
                cell(f.land_value, key, False),
                tr(f"compare.assessment.{f.assessment}", lang),
            )
        )
    src = ("gv", "genesis", *(("estimate",) if t.estimated_structure else ()))
    return Table(
        f"staerken-{t.zone}",
        tr("reports.table.strengths", lang, name=t.name, n=len(out)),
        (
            tr("reports.col.indicator", lang),
            tr("reports.col.year", lang),
            t.name,
            kreis_name,
            land_name,
            tr("reports.col.assessment", lang),
        ),
        tuple(out),
        (False, False, True, True, True, False),
        src,
    )


def town_sections(t: TownFigures, lang: str) -> tuple[Section, ...]:
    """The sections every report shows for one town (overview, charts, tables, comparison)."""
    groups_table, bars = _groups(t, lang)
    return (
        _overview(t, lang),
        Section(
            f"entwicklung-{t.zone}",
            tr("reports.section.development", lang),
            (_fan(t, lang), _pyramid(t, lang)),
        ),
        Section(f"gruppen-{t.zone}", tr("reports.section.groups", lang), (groups_table, bars)),
        Section(
            f"bewegung-{t.zone}-s", tr("reports.section.components", lang), (_components(t, lang),)
        ),
        Section(
            f"vergleich-{t.zone}-s",
            tr("reports.section.comparison", lang, name=t.name),
            (_comparison(t, lang), *_strengths_blocks(t, lang)),
        ),
    )


def _strengths_blocks(t: TownFigures, lang: str) -> tuple[Block, ...]:
    table = strengths_table(t, lang)
    if table is None:
        return ()
    return (table, Paragraph(tr("reports.strengths.note", lang, base=t.base_year)))


# -- Leichte Sprache -------------------------------------------------------------------------------


def easy_summary(t: TownFigures, lang: str) -> tuple[str, ...]:
    """The summary in Leichte Sprache: one statement per sentence, numbers rounded, terms explained."""
    tot = t.totals()
    base = float(_row(tot, t.base_year)["value"])
    end = _row(tot, t.until)
    value = float(end["value"])
    rel = value / base - 1
    trend = "less" if rel < -0.02 else "more" if rel > 0.02 else "same"
    out = [
        tr(
            "reports.easy.now",
            lang,
            year=t.base_year,
            name=t.name,
            pop=fmt(round_easy(base), 0, lang),
        ),
        tr("reports.easy.term", lang),
        tr(f"reports.easy.trend_{trend}", lang, year=t.until),
        tr("reports.easy.then", lang, pop=fmt(round_easy(value), 0, lang)),
    ]
    if t.draws:
        out += [
            tr("reports.easy.unsure", lang),
            tr("reports.easy.futures", lang, draws=fmt(t.draws, 0, lang)),
            tr(
                "reports.easy.band",
                lang,
                year=t.until,
                low=fmt(round_easy(float(end["q10"])), 0, lang),
                high=fmt(round_easy(float(end["q90"])), 0, lang),
            ),
        ]
    # a sentence about a share or a trend made from a secret count is left out (public edition)
    for key, year in (("reports.easy.old_then", t.base_year), ("reports.easy.old", t.until)):
        share = t.share_65(year)
        if not math.isnan(share):
            out.append(tr(key, lang, year=year, n=one_in(share)))
    g = t.groups
    young = g[g["age_start"] < 18].groupby("year")["value"].sum(min_count=1)
    has_secret = g[g["age_start"] < 18].groupby("year")["value"].apply(lambda v: v.isna().any())
    if not (has_secret.get(t.until, True) or has_secret.get(t.base_year, True)):
        yrel = float(young[t.until] / young[t.base_year] - 1)
        kids = "less" if yrel < -0.02 else "more" if yrel > 0.02 else "same"
        out.append(tr(f"reports.easy.kids_{kids}", lang))
    out.append(tr("reports.easy.why", lang))
    return tuple(out)


# -- reports --------------------------------------------------------------------------------------


def _method(
    towns: Sequence[TownFigures], lang: str, meta: ReportMeta, edition: EditionKind = "internal"
) -> Section:
    blocks: list[Block] = [
        Paragraph(
            tr(
                "reports.method.projection",
                lang,
                base=meta.base_year,
                until=meta.until,
                draws=meta.draws,
                seed=meta.seed,
            )
        ),
    ]
    if meta.draws:
        blocks.append(Paragraph(tr("reports.method.band", lang)))
    if any(t.estimated_structure for t in towns):
        blocks.append(Paragraph(tr("reports.method.estimated", lang)))
    if any(t.hospital for t in towns):
        h = next(t.hospital for t in towns if t.hospital)
        blocks.append(
            Paragraph(
                tr(
                    "reports.method.hospital",
                    lang,
                    detour=fmt(h.detour_factor, 1, lang),
                    speed=fmt(h.speed_kph, 0, lang),
                )
            )
        )
    blocks.append(
        Paragraph(
            tr(
                "reports.method.edition",
                lang,
                checksum=meta.inputs_checksum[:12],
                version=meta.version,
            )
        )
    )
    return Section("methode", tr("reports.section.method", lang), tuple(blocks))


def _sources(
    sources: Sequence[Source],
    licences: Sequence[str],
    lang: str,
    edition: EditionKind = "internal",
) -> Section:
    rows = tuple((s.title, s.producer, str(s.year) if s.year else "–", s.licence) for s in sources)
    table = Table(
        "quellen",
        tr("reports.table.sources", lang),
        tuple(tr(f"reports.col.{k}", lang) for k in ("source", "producer", "data_year", "licence")),
        rows,
        (False, False, False, False),
        tuple(s.key for s in sources),
    )
    return Section(
        "quellen-lizenzen",
        tr("reports.section.sources", lang),
        (
            table,
            *(Paragraph(x) for x in licences),
        ),
    )


def profile_report(
    town: TownFigures,
    meta: ReportMeta,
    sources: Sequence[Source],
    licences: Sequence[str],
    *,
    lang: str = "de",
    extra_sections: Sequence[Section] = (),
    edition: EditionKind = "internal",
) -> Report:
    """The Kommunalprofil of one town: overview, development (fan chart, pyramid), age groups,
    components of change, comparison with Kreis and Land, any ``extra_sections``, method notes,
    sources and licences; a Leichte-Sprache summary up front.

    ``edition="public"`` builds it from the town's figures with the small counts kept secret
    (:func:`wandel.reports.edition.public_figures`); ``extra_sections`` must then be public too.
    """
    from wandel.reports.edition import edition_figures

    town = edition_figures(town, edition)
    sections = (
        *town_sections(town, lang),
        *extra_sections,
        _method([town], lang, meta, edition),
        _sources(sources, licences, lang, edition),
    )
    return Report(
        kind="profil",
        lang=lang,
        title=tr("reports.title.profile", lang, name=town.name),
        subtitle=tr(
            "reports.subtitle", lang, zone=town.zone, base=town.base_year, until=town.until
        ),
        easy_title=tr("reports.easy.title", lang),
        easy=easy_summary(town, lang),
        sections=sections,
        sources=tuple(sources),
        licences=tuple(licences),
        meta=meta,
        notes=town.notes,
        edition=edition,
    ).check()


def _network_table(towns: Sequence[TownFigures], lang: str) -> Table:
    rows = []
    for t in towns:
        tot = t.totals()
        b, e = _row(tot, t.base_year), _row(tot, t.until)
        band = (
            f"{fmt(float(e['q10']), 0, lang)}–{fmt(float(e['q90']), 0, lang)}" if t.draws else "–"
        )
        rows.append(
            (
                t.name,
                fmt(float(b["value"]), 0, lang),
                fmt(float(e["value"]), 0, lang),
                band,
                _pct((float(e["value"]) / float(b["value"]) - 1) * 100, 1, lang),
                _pct(t.share_65(t.until) * 100, 1, lang, signed=False),
            )
        )
    t0 = towns[0]
    header = (
        tr("reports.col.town", lang),
        str(t0.base_year),
        str(t0.until),
        tr("reports.col.band", lang, year=t0.until),
        tr("reports.col.change", lang, base=t0.base_year, year=t0.until),
        tr("reports.col.share65", lang, year=t0.until),
    )
    return Table(
        "netzwerk",
        tr("reports.table.network", lang),
        header,
        tuple(rows),
        (False, True, True, True, True, True),
        ("gv", "projection"),
    )


def network_report(
    name: str,
    towns: Sequence[TownFigures],
    meta: ReportMeta,
    sources: Sequence[Source],
    licences: Sequence[str],
    *,
    lang: str = "de",
    extra_sections: Sequence[Section] = (),
    edition: EditionKind = "internal",
) -> Report:
    """The Demografiebericht of a network: the towns side by side, then each town's sections
    (``edition``: as for :func:`profile_report`)."""
    from wandel.reports.edition import edition_figures

    if not towns:
        from wandel.errors import ReportError

        raise ReportError("@reports.error.no_towns")
    towns = [edition_figures(t, edition) for t in towns]
    tot = [t.totals() for t in towns]
    base = sum(float(_row(x, towns[0].base_year)["value"]) for x in tot)
    end = sum(float(_row(x, towns[0].until)["value"]) for x in tot)
    easy = (
        tr("reports.easy.network", lang, name=name, n=len(towns)),
        tr(
            "reports.easy.now",
            lang,
            year=towns[0].base_year,
            name=name,
            pop=fmt(round_easy(base), 0, lang),
        ),
        tr("reports.easy.term", lang),
        tr(
            "reports.easy.trend_"
            + ("less" if end < base * 0.98 else "more" if end > base * 1.02 else "same"),
            lang,
            year=towns[0].until,
        ),
        tr("reports.easy.then", lang, pop=fmt(round_easy(end), 0, lang)),
        *easy_summary(towns[0], lang)[4:7],
        tr("reports.easy.why", lang),
    )
    overview = Section(
        "netzwerk-ueberblick",
        tr("reports.section.network", lang, name=name),
        (_network_table(towns, lang),),
    )
    per_town: list[Section] = []
    for t in towns:
        per_town.append(Section(f"stadt-{t.zone}", t.name, ()))
        per_town.extend(replace(s, level=3) for s in town_sections(t, lang))
    return Report(
        kind="bericht",
        lang=lang,
        title=tr("reports.title.network", lang, name=name),
        subtitle=tr(
            "reports.subtitle.network",
            lang,
            towns=", ".join(t.name for t in towns),
            base=towns[0].base_year,
            until=towns[0].until,
        ),
        easy_title=tr("reports.easy.title", lang),
        easy=easy,
        sections=(
            overview,
            *per_town,
            *extra_sections,
            _method(towns, lang, meta, edition),
            _sources(sources, licences, lang, edition),
        ),
        sources=tuple(sources),
        licences=tuple(licences),
        meta=meta,
        notes=tuple(n for t in towns for n in t.notes),
        edition=edition,
    ).check()

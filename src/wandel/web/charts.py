"""The charts of the pages as SVG text, drawn from the view dictionaries with the hand-made SVG of
:mod:`wandel.reports.svg` (title, description, real text labels, no inline style).

The pages show every chart's numbers in a table beside it; a chart is a second way to read them.
Kommune: the pyramid of the base year (bars) and the chosen year (outline), the fan chart.
Szenarien: the pyramid of the last year, base (bars) and scenario (outline).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from wandel.compare._format import format_number
from wandel.i18n import tr
from wandel.reports.disclosure import SECRET
from wandel.reports.svg import FanData, PyramidData, fan_svg, pyramid_svg

__all__ = ["drawn_charts", "page_charts"]

OPEN_END = 100
"""Where the open last age group (90+) ends in the drawing."""


def _blocks(groups: Sequence[Mapping[str, Any]]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    starts = [float(g["age_start"]) for g in groups]
    ends = [*starts[1:], float(OPEN_END)]
    return tuple(starts), tuple(b - a for a, b in zip(starts, ends, strict=True))


def _number(v: Any) -> float:
    """A cell of a view as a number: NaN for one kept secret (``.``: the chart leaves a gap)."""
    return math.nan if v == SECRET else float(v or 0.0)


def _per_year(
    groups: Sequence[Mapping[str, Any]], sex: str, widths: Sequence[float]
) -> tuple[float, ...]:
    return tuple(_number(g[sex]) / w for g, w in zip(groups, widths, strict=True))


def _share65(groups: Sequence[Mapping[str, Any]]) -> float:
    """The share aged 65 and over; NaN when a cell it is made of is secret (a share of secret
    cells is secret too)."""
    total = sum(_number(g["men"]) + _number(g["women"]) for g in groups)
    old = sum(_number(g["men"]) + _number(g["women"]) for g in groups if g["age_start"] >= 65)
    return old / total if total else 0.0


def _share_text(share: float, lang: str) -> str:
    return SECRET if math.isnan(share) else format_number(100 * share, 0, lang)


def _pyramid(
    bars: Sequence[Mapping[str, Any]],
    outline: Sequence[Mapping[str, Any]],
    years: tuple[int, int],
    legends: tuple[str, str],
    name: str,
    lang: str,
) -> str:
    lo, widths = _blocks(bars)
    data = PyramidData(
        lo,
        widths,
        (_per_year(bars, "men", widths), _per_year(outline, "men", widths)),
        (_per_year(bars, "women", widths), _per_year(outline, "women", widths)),
        years,
    )
    desc = tr(
        "web.chart.pyramid_desc",
        lang,
        bars=legends[0],
        outline=legends[1],
        share_bars=_share_text(_share65(bars), lang),
        share_outline=_share_text(_share65(outline), lang),
    )
    return pyramid_svg(
        data,
        chart_id="pyramide",
        title=tr("web.chart.pyramid_title", lang, name=name, bars=legends[0], outline=legends[1]),
        desc=desc,
        labels=(tr("web.col.men", lang), tr("web.col.women", lang), *legends),
        lang=lang,
    )


def _fan(view: Mapping[str, Any], lang: str) -> str:
    fan = view["fan"]
    first, rest = fan[0], fan[1:]
    data = FanData(
        (int(first["year"]),),
        (_number(first["value"]),),
        tuple(int(r["year"]) for r in rest),
        tuple(_number(r["value"]) for r in rest),
        tuple(_number(r["q10"]) for r in rest),
        tuple(_number(r["q90"]) for r in rest),
    )
    return fan_svg(
        data,
        chart_id="faecher",
        title=tr("web.chart.fan_title", lang, name=view["name"], until=view["until"]),
        desc=view.get("sentence", ""),
        labels=(
            tr("web.chart.observed", lang, year=first["year"]),
            tr("web.chart.projection", lang),
            tr("web.col.band", lang),
        ),
        lang=lang,
    )


def page_charts(page: str, view: Mapping[str, Any], lang: str = "de") -> dict[str, str]:
    """SVG drawings of ``page`` (keys ``pyramid``, ``fan``) from its view dictionary."""
    if not view.get("projectable") or "pyramid" not in view:
        return {}
    p = view["pyramid"]
    if page == "kommune":
        years = (int(p["years"][0]), int(p["years"][1]))
        legends = (str(years[0]), str(years[1]))
        return {
            "pyramid": _pyramid(p["base"], p["year"], years, legends, view["name"], lang),
            "fan": _fan(view, lang),
        }
    if page == "szenarien":
        until = int(p["years"][1])
        legends = (
            f"{tr('web.szen.base', lang)} {until}",
            f"{tr('web.szen.variant', lang)} {until}",
        )
        return {
            "pyramid": _pyramid(
                p["basis"], p["szenario"], (until, until), legends, view["name"], lang
            )
        }
    return {}


_DRAWN: OrderedDict[tuple[str, int, str], tuple[Mapping[str, Any], dict[str, str]]] = OrderedDict()
_DRAWN_LOCK = threading.Lock()
DRAWN_SIZE = 128
"""How many drawings are kept (the newest)."""


def drawn_charts(page: str, view: Mapping[str, Any], lang: str = "de") -> dict[str, str]:
    """:func:`page_charts`, drawn once per view: the views of :mod:`wandel.web.views` are
    remembered and handed out as the same object while their data are the same, so the drawing
    of that object is kept (checked by identity, not by an id that could be reused). Callers must
    not change the result."""
    key = (page, id(view), lang)
    with _DRAWN_LOCK:
        hit = _DRAWN.get(key)
        if hit is not None and hit[0] is view:
            _DRAWN.move_to_end(key)
            return hit[1]
    charts = page_charts(page, view, lang)
    with _DRAWN_LOCK:
        _DRAWN[key] = (view, charts)  # holds the view, so its id is not reused meanwhile
        while len(_DRAWN) > DRAWN_SIZE:
            _DRAWN.popitem(last=False)
    return charts

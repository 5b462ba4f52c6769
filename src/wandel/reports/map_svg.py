"""A hand-made SVG choropleth: zone polygons filled by class, point sites on top, a legend.

Like :mod:`wandel.reports.svg`: one complete ``<svg>`` with ``role="img"``, ``<title>`` and
``<desc>``, real text labels, no inline ``style`` (presentation attributes only, so a strict
Content-Security-Policy needs no exception), and the same bytes for the same arguments. Colour is
never alone: every zone carries its value in a ``<title>`` tooltip, the highlighted zone a thick
outline, and the page shows the same numbers in a table beside the map.

Coordinates are metric (e.g. EPSG:25832 metres, x east, y north) and are fitted into the drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from wandel.reports.svg import INK, ORANGE, _num, _open, _text

__all__ = ["CLASS_COLOURS", "MapClass", "MapShape", "MapSite", "choropleth_svg"]

CLASS_COLOURS = ("#deebf7", "#9ecae1", "#4f95c8", "#2166ac", "#08306b")
"""Light to dark blue for the classes (low to high values); the two darkest have at least 3:1
contrast against white, the lighter ones are areas outlined in white on a grey frame."""

NO_DATA = "#d9d9d9"


@dataclass(frozen=True)
class MapClass:
    """A legend entry: its label (e.g. "bis 10 min") and fill colour."""

    label: str
    colour: str


@dataclass(frozen=True)
class MapShape:
    """One zone: id, tooltip text, rings (each a closed sequence of (x, y)), class index (``None``:
    no value) and whether it is outlined as the zone the page is about."""

    zone: str
    tooltip: str
    rings: tuple[tuple[tuple[float, float], ...], ...]
    cls: int | None
    highlight: bool = False


@dataclass(frozen=True)
class MapSite:
    """A point on the map (e.g. a hospital): tooltip text and metric coordinates."""

    tooltip: str
    x: float
    y: float


def _frame(shapes: Sequence[MapShape]) -> tuple[float, float, float, float]:
    xs = [x for s in shapes for r in s.rings for x, _ in r]
    ys = [y for s in shapes for r in s.rings for _, y in r]
    return min(xs), min(ys), max(xs), max(ys)


def choropleth_svg(
    shapes: Sequence[MapShape],
    sites: Sequence[MapSite],
    classes: Sequence[MapClass],
    *,
    chart_id: str,
    title: str,
    desc: str,
    legend_title: str,
    site_label: str,
    no_data_label: str,
    width: int = 560,
) -> str:
    """The map as SVG text: zones filled by ``classes[shape.cls]``, ``sites`` as orange circles
    (only those inside the frame), the legend below the map."""
    x0, y0, x1, y1 = _frame(shapes)
    pad = 8.0
    scale = (width - 2 * pad) / max(x1 - x0, 1.0)
    map_h = (y1 - y0) * scale + 2 * pad
    legend_rows = len(classes) + 2
    height = int(map_h + 28 + 18 * legend_rows)

    def pt(x: float, y: float) -> str:
        return f"{_num(pad + (x - x0) * scale)},{_num(pad + (y1 - y) * scale)}"

    out = _open(chart_id, width, height, title, desc)
    drawn = sorted(shapes, key=lambda s: (s.highlight, s.zone))  # the outlined zone on top
    for s in drawn:
        d = " ".join("M" + " L".join(pt(x, y) for x, y in ring) + " Z" for ring in s.rings)
        fill = NO_DATA if s.cls is None else classes[s.cls].colour
        stroke = (
            f'stroke="{INK}" stroke-width="2.5"'
            if s.highlight
            else 'stroke="#ffffff" stroke-width="0.8"'
        )
        out.append(
            f'<path d="{d}" fill="{fill}" {stroke} fill-rule="evenodd">'
            f"<title>{escape(s.tooltip)}</title></path>"
        )
    for site in sites:
        if not (x0 <= site.x <= x1 and y0 <= site.y <= y1):
            continue
        out.append(
            f'<circle cx="{_num(pad + (site.x - x0) * scale)}" cy="{_num(pad + (y1 - site.y) * scale)}"'
            f' r="4" fill="{ORANGE}" stroke="{INK}" stroke-width="1">'
            f"<title>{escape(site.tooltip)}</title></circle>"
        )
    ly = map_h + 18
    out.append(_text(pad, ly, legend_title, font_weight="bold"))
    entries = [(c.label, c.colour) for c in classes] + [(no_data_label, NO_DATA)]
    for i, (label, colour) in enumerate(entries):
        y = ly + 18 * (i + 1)
        out.append(
            f'<rect x="{_num(pad)}" y="{_num(y - 10)}" width="14" height="12" fill="{colour}" '
            f'stroke="{INK}" stroke-width="0.5"/>'
        )
        out.append(_text(pad + 22, y, label))
    y = ly + 18 * (len(entries) + 1)
    out.append(
        f'<circle cx="{_num(pad + 7)}" cy="{_num(y - 4)}" r="4" fill="{ORANGE}" stroke="{INK}" '
        'stroke-width="1"/>'
    )
    out.append(_text(pad + 22, y, site_label))
    out.append("</svg>")
    return "\n".join(out)

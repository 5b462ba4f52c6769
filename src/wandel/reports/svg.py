"""Hand-made SVG charts for reports and pages: fan chart, population pyramid, signed bars.

Each function returns one complete ``<svg>`` element as text: ``role="img"`` with a ``<title>`` and
a ``<desc>`` (the alternative text), real ``<text>`` labels (the font is DejaVu Sans, which the PDF
renderer embeds), colours with at least 3:1 contrast against white for every mark a reader must
see (WCAG 2.1, 1.4.11) and never colour alone: lines differ by dash, bars by position and label.
The output depends only on the arguments (fixed element ids from ``chart_id``, fixed number
formatting), so the same data give the same bytes.

Colours (contrast against white): :data:`INK` 15.3:1, :data:`BLUE` 8.6:1, :data:`ORANGE` 5.0:1,
:data:`GREY` 4.6:1; the band fill :data:`BAND` is a background area outlined in :data:`BLUE`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from xml.sax.saxutils import escape

from wandel.reports.numbers import fmt

__all__ = [
    "BAND",
    "BLUE",
    "FONT",
    "GREY",
    "INK",
    "ORANGE",
    "FanData",
    "PyramidData",
    "bars_svg",
    "fan_svg",
    "nice_ticks",
    "pyramid_svg",
]

INK = "#1a1a1a"
BLUE = "#1d4f91"
ORANGE = "#b34700"
GREY = "#6b6b6b"
BAND = "#c9dcf0"
FONT = "DejaVu Sans, Verdana, sans-serif"


T = TypeVar("T")


def nice_ticks(top: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``: steps of 1, 2, 2.5 or 5 times a power of ten.

    >>> nice_ticks(13885)
    [0.0, 5000.0, 10000.0, 15000.0]
    >>> nice_ticks(0.9, 4)
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if top <= 0:
        return [0.0, 1.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    count = math.ceil(top / step - 1e-9)
    return [float(round(i * step, 10)) for i in range(count + 1)]


def _num(v: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros (stable bytes)."""
    text = f"{v:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _runs(xs: Sequence[T], vs: Sequence[float]) -> list[list[tuple[T, float]]]:
    """The stretches of ``(x, value)`` without a missing value (a value kept secret is drawn as
    a gap, never bridged by a line that would show where it lies).

    >>> _runs([1, 2, 3, 4], [5.0, float("nan"), 6.0, 7.0])
    [[(1, 5.0)], [(3, 6.0), (4, 7.0)]]
    """
    out: list[list[tuple[T, float]]] = [[]]
    for a, v in zip(xs, vs, strict=True):
        if math.isfinite(v):
            out[-1].append((a, v))
        elif out[-1]:
            out.append([])
    return [r for r in out if r]


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}" '
        f'font-size="11" fill="{INK}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _polyline(points: Sequence[tuple[float, float]], **attrs: str) -> str:
    pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<polyline points="{pts}" fill="none"{extra}/>'


@dataclass(frozen=True)
class FanData:
    """Total population: observed years and values, projected years with the deterministic value
    and the 10 % / 90 % quantiles of the draws (``low``/``high``; empty without draws)."""

    observed_years: tuple[int, ...]
    observed: tuple[float, ...]
    years: tuple[int, ...]
    value: tuple[float, ...]
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()


def fan_svg(
    data: FanData,
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: tuple[str, str, str],
    lang: str = "de",
) -> str:
    """Fan chart: observed totals (grey line with dots), the projection (blue line) and the band
    in which 8 of 10 simulated futures lie. The y axis starts at 0 (a cut axis would make a decline
    of a tenth look like a collapse). ``labels``: legend texts for observed, projection, band."""
    width, height = 400, 250
    left, right, top, bottom = 58, 22, 12, 74
    pw, ph = width - left - right, height - top - bottom
    years = list(data.observed_years) + list(data.years)
    y0, y1 = min(years), max(years)
    ymax = max(v for v in (*data.observed, *data.value, *data.high) if math.isfinite(v))
    ticks = nice_ticks(ymax * 1.05)

    def x(year: float) -> float:
        return left + (year - y0) / max(1, y1 - y0) * pw

    def y(v: float) -> float:
        return top + ph - v / ticks[-1] * ph

    out = _open(chart_id, width, height, title, desc)
    for t in ticks:
        out.append(_polyline([(left, y(t)), (left + pw, y(t))], stroke="#d9d9d9", stroke_width="1"))
        out.append(_text(left - 6, y(t) + 4, fmt(t, 0, lang), "end"))
    step = 5 if y1 - y0 > 12 else 2
    for yr in range(y0 + (-y0) % step, y1 + 1, step):
        out.append(_text(x(yr), top + ph + 16, str(yr), "middle"))
    banded = all(math.isfinite(v) for v in (*data.low, *data.high))
    if data.low and data.high and banded:
        band = [(x(a), y(b)) for a, b in zip(data.years, data.high, strict=True)]
        band += [(x(a), y(b)) for a, b in zip(data.years[::-1], data.low[::-1], strict=True)]
        pts = " ".join(f"{_num(a)},{_num(b)}" for a, b in band)
        out.append(
            f'<polygon points="{pts}" fill="{BAND}" stroke="{BLUE}" stroke-width="0.8" stroke-dasharray="3 2"/>'
        )
    if data.observed:
        obs = [
            (x(a), y(b))
            for a, b in zip(data.observed_years, data.observed, strict=True)
            if math.isfinite(b)
        ]
        out.append(_polyline(obs, stroke=GREY, stroke_width="2"))
        out += [f'<circle cx="{_num(a)}" cy="{_num(b)}" r="2.2" fill="{GREY}"/>' for a, b in obs]
    for run in _runs(data.years, data.value):
        out.append(_polyline([(x(a), y(b)) for a, b in run], stroke=BLUE, stroke_width="2.5"))
    out.append(_polyline([(left, top + ph), (left + pw, top + ph)], stroke=INK, stroke_width="1"))
    ly = top + ph + 34
    out.append(_polyline([(left, ly - 4), (left + 22, ly - 4)], stroke=GREY, stroke_width="2"))
    out.append(_text(left + 28, ly, labels[0]))
    out.append(_polyline([(left, ly + 14), (left + 22, ly + 14)], stroke=BLUE, stroke_width="2.5"))
    out.append(_text(left + 28, ly + 18, labels[1]))
    if data.low and data.high and banded:
        out.append(
            f'<rect x="{left}" y="{_num(ly + 26)}" width="22" height="10" fill="{BAND}" '
            f'stroke="{BLUE}" stroke-width="0.8" stroke-dasharray="3 2"/>'
        )
        out.append(_text(left + 28, ly + 36, labels[2]))
    out.append("</svg>")
    return "\n".join(out)


@dataclass(frozen=True)
class PyramidData:
    """Persons per single year of age: ``age_lo``/``width`` per block (open group to 100),
    men and women in year ``years[0]`` (bars) and ``years[1]`` (outline); a missing value (NaN,
    kept secret) is drawn as a gap."""

    age_lo: tuple[float, ...]
    width: tuple[float, ...]
    men: tuple[tuple[float, ...], tuple[float, ...]]
    women: tuple[tuple[float, ...], tuple[float, ...]]
    years: tuple[int, int]


def pyramid_svg(
    data: PyramidData,
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: tuple[str, str, str, str],
    lang: str = "de",
) -> str:
    """Population pyramid: men left (blue), women right (orange), bars for ``years[0]``, a black
    outline for ``years[1]``; x in persons per year of age, the same scale on both sides.
    ``labels``: men, women, the first year's legend, the second year's legend."""
    width, height = 400, 330
    mid, top, bottom, half = 200, 24, 64, 160
    ph = height - top - bottom
    vmax = max((v for s in (*data.men, *data.women) for v in s if math.isfinite(v)), default=0.0)
    ticks = nice_ticks(vmax, 3)
    scale = half / ticks[-1]

    def y(age: float) -> float:
        return top + ph - age / 101 * ph

    out = _open(chart_id, width, height, title, desc)
    out.append(_text(mid - 8, 14, labels[0], "end", font_weight="bold"))
    out.append(_text(mid + 8, 14, labels[1], "start", font_weight="bold"))
    for sign, series, colour in ((-1, data.men, BLUE), (1, data.women, ORANGE)):
        for lo, w, v in zip(data.age_lo, data.width, series[0], strict=True):
            if not math.isfinite(v):
                continue
            x0 = mid if sign > 0 else mid - v * scale
            out.append(
                f'<rect x="{_num(x0)}" y="{_num(y(lo + w))}" width="{_num(v * scale)}" '
                f'height="{_num(w / 101 * ph)}" fill="{colour}"/>'
            )
        blocks = list(zip(data.age_lo, data.width, strict=True))
        for run in _runs(blocks, series[1]):
            step: list[tuple[float, float]] = []
            for (lo, w), v in run:
                xv = mid + sign * v * scale
                step += [(xv, y(lo)), (xv, y(lo + w))]
            out.append(_polyline(step, stroke=INK, stroke_width="1.3"))
    for age in range(0, 101, 10):
        out.append(
            _polyline(
                [(mid - half, y(age)), (mid + half, y(age))], stroke="#e6e6e6", stroke_width="0.6"
            )
        )
        out.append(_text(mid - half - 4, y(age) + 4, str(age), "end"))
    out.append(_polyline([(mid, top), (mid, top + ph)], stroke=INK, stroke_width="0.8"))
    base = top + ph
    out.append(_polyline([(mid - half, base), (mid + half, base)], stroke=INK, stroke_width="1"))
    for t in ticks:
        for sign in (-1, 1) if t else (1,):
            out.append(_text(mid + sign * t * scale, base + 14, fmt(t, 0, lang), "middle"))
    ly = base + 34
    out.append(f'<rect x="{mid - half}" y="{_num(ly - 9)}" width="10" height="10" fill="{BLUE}"/>')
    out.append(
        f'<rect x="{mid - half + 10}" y="{_num(ly - 9)}" width="10" height="10" fill="{ORANGE}"/>'
    )
    out.append(_text(mid - half + 26, ly, labels[2]))
    out.append(
        _polyline(
            [(mid - half, ly + 12), (mid - half + 20, ly + 12)], stroke=INK, stroke_width="1.3"
        )
    )
    out.append(_text(mid - half + 26, ly + 16, labels[3]))
    out.append("</svg>")
    return "\n".join(out)


def bars_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    chart_id: str,
    title: str,
    desc: str,
    unit: str = " %",
    digits: int = 0,
    lang: str = "de",
) -> str:
    """Horizontal bars from a zero line: decreases (orange) to the left, increases (blue) to the
    right; every bar's value stands as text in a column of its own, so neither colour nor length
    alone holds the number."""
    width, row, top = 400, 20, 6
    label_w, value_w = 206, 46
    height = top + row * len(values) + 6
    shown = [v for v in values if math.isfinite(v)]
    lo = min([0.0, *shown])
    hi = max([0.0, *shown])
    span = (hi - lo) or 1.0
    x0, x1 = label_w + 6, width - value_w - 6

    def x(v: float) -> float:
        return x0 + (v - lo) / span * (x1 - x0)

    out = _open(chart_id, width, height, title, desc)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        yc = top + i * row + row / 2
        out.append(_text(label_w, yc + 4, label, "end"))
        if not math.isfinite(v):  # kept secret: no bar, the GENESIS sign in the value column
            out.append(_text(width - 4, yc + 4, fmt(v, digits, lang), "end"))
            continue
        a, b = sorted((x(0.0), x(v)))
        colour = ORANGE if v < 0 else BLUE
        out.append(
            f'<rect x="{_num(a)}" y="{_num(yc - 6)}" width="{_num(max(b - a, 0.5))}" '
            f'height="12" fill="{colour}"/>'
        )
        sign = "+" if v > 0 else ""
        out.append(_text(width - 4, yc + 4, sign + fmt(v, digits, lang) + unit, "end"))
    out.append(_polyline([(x(0.0), top), (x(0.0), height - 6)], stroke=INK, stroke_width="1"))
    out.append("</svg>")
    return "\n".join(out)

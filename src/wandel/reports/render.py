"""Render a :class:`~wandel.reports.model.Report` to accessible HTML (Jinja2) and to a tagged
PDF/UA-1 (Typst, through the ``typst`` package).

Both renderers read one *view* of the report (:func:`report_view`): plain data with every number
already formatted in the report's language, every source cited by its number in the list of
sources ("Quelle [1]"). The PDF template (``templates/report.typ``) receives the view as JSON
through ``sys.inputs`` and shows every text as text, never as markup, so no string needs escaping.

Why Typst and not WeasyPrint: the ``typst`` wheel carries the whole typesetter (no Pango, no
system libraries), writes PDF/UA-1 with its structure tags (``pdf_standards=["ua-1"]``: title,
language, headings, figures with alternative text, table headers), and takes a fixed
``timestamp``; with its own fonts only (``ignore_system_fonts``) plus DejaVu Sans from
matplotlib's package data, the same view gives the same bytes on every machine.
"""

from __future__ import annotations

import calendar
import json
import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from wandel.i18n import tr
from wandel.reports.model import Chart, Fact, FactList, Paragraph, Report, Table
from wandel.reports.numbers import fmt

__all__ = ["font_paths", "render_html", "render_pdf", "render_png", "report_view"]


def _edition_line(report: Report, lang: str) -> str:
    """The footer: date, data checksum, version and edition; the public edition says there, on
    every page, that small counts are kept secret (a note of its own would not fit two pages)."""
    m = report.meta
    line = (
        f"{tr('reports.edition', lang)} {m.created:%Y-%m-%d} · {m.inputs_checksum[:12]} · "
        f"Wandel {m.version} · {tr(f'reports.edition.{report.edition}', lang)}"
    )
    if report.edition == "public":
        line += f" · {tr('reports.edition.public_note', lang)}"
    return line


def _template(name: str) -> str:
    return (resources.files("wandel") / "reports" / "templates" / name).read_text(encoding="utf-8")


@cache
def font_paths() -> tuple[str, ...]:
    """Folders of the fonts the PDF uses: DejaVu Sans from matplotlib's package data (Typst adds
    its own embedded fonts); system fonts are never used, so output is the same everywhere."""
    import matplotlib

    return (str(Path(matplotlib.get_data_path()) / "fonts" / "ttf"),)


def _cite(keys: tuple[str, ...] | str, numbers: dict[str, int]) -> str:
    keys = (keys,) if isinstance(keys, str) else keys
    return ", ".join(f"[{numbers[k]}]" for k in dict.fromkeys(keys))


def _fact(f: Fact, numbers: dict[str, int], lang: str) -> dict[str, str]:
    value = fmt(f.value, f.digits, lang)
    secret = math.isnan(f.value)  # kept secret (public edition): the sign alone, no band
    band = ""
    if f.low is not None and f.high is not None and not secret:
        band = f"{tr('reports.band_label', lang)}: {fmt(f.low, f.digits, lang)}–{fmt(f.high, f.digits, lang)}"
    src = f"{f.year} · {tr('reports.source_label', lang)} {_cite(f.source, numbers)}"
    return {
        "label": f.label,
        "value": value,
        "unit": "" if secret else f.unit,
        "band": band,
        "source": src,
        "note": f.note,
    }


def _table(t: Table, numbers: dict[str, int], lang: str) -> dict[str, Any]:
    return {
        "type": "table",
        "id": t.id,
        "caption": t.caption,
        "header": list(t.header),
        "rows": [list(r) for r in t.rows],
        "numeric": list(t.numeric),
        "source": f"{tr('reports.source_label', lang)} {_cite(t.source, numbers)}",
    }


def _block(b: Any, numbers: dict[str, int], lang: str) -> dict[str, Any]:
    if isinstance(b, Paragraph):
        return {"type": "paragraph", "text": b.text}
    if isinstance(b, FactList):
        return {"type": "facts", "facts": [_fact(f, numbers, lang) for f in b.facts]}
    if isinstance(b, Chart):
        return {
            "type": "chart",
            "id": b.id,
            "title": b.title,
            "description": b.description,
            "svg": b.svg,
            "width_mm": b.width_mm,
            "table": _table(b.table, numbers, lang),
        }
    return _table(b, numbers, lang)


def report_view(report: Report) -> dict[str, Any]:
    """The report as plain data for the templates (numbers formatted, sources numbered)."""
    lang = report.lang
    numbers = {s.key: i for i, s in enumerate(report.sources, start=1)}
    m = report.meta
    return {
        "kind": report.kind,
        "lang": lang,
        "title": report.title,
        "subtitle": report.subtitle,
        "easy_title": report.easy_title,
        "easy": list(report.easy),
        "edition": _edition_line(report, lang),
        "created": [m.created.year, m.created.month, m.created.day],
        "sections": [
            {
                "id": s.id,
                "title": s.title,
                "level": s.level,
                "blocks": [_block(b, numbers, lang) for b in s.blocks],
            }
            for s in report.sections
        ],
        "data_table": tr("reports.data_table", lang),
    }


def render_html(report: Report, *, standalone: bool = True) -> str:
    """The report as HTML: a whole document (``standalone``) or its ``<article>`` for a page.

    Semantic structure (one ``h1``, sections with ``h2``/``h3``), facts as a definition list,
    charts as inline SVG (``role="img"``, title and description) with their data table in a
    ``<details>`` element, tables with ``<caption>`` and header cells with ``scope``.
    """
    import jinja2
    import markupsafe

    env = jinja2.Environment(
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined
    )
    env.filters["safe_svg"] = markupsafe.Markup  # our own SVG, built with escaped texts
    tpl = env.from_string(_template("report.html.j2"))
    return tpl.render(r=report_view(report), standalone=standalone)


def _compile(report: Report, fmt_: str, ppi: float | None = None) -> Any:
    import typst

    view = json.dumps(report_view(report), ensure_ascii=False, sort_keys=True)
    stamp = calendar.timegm(report.meta.created.timetuple())  # a naive date is read as UTC
    kwargs: dict[str, Any] = {
        "font_paths": list(font_paths()),
        "ignore_system_fonts": True,
        "sys_inputs": {"report": view},
        "format": fmt_,
    }
    if fmt_ == "pdf":
        kwargs.update(pdf_standards=["ua-1"], timestamp=stamp)
    else:
        kwargs["ppi"] = ppi
    return typst.compile(_template("report.typ").encode("utf-8"), **kwargs)


def render_pdf(report: Report) -> bytes:
    """The report as a tagged PDF/UA-1 (A4): the same bytes for the same report."""
    out: bytes = _compile(report, "pdf")
    return out


def render_png(report: Report, *, ppi: float = 96.0) -> list[bytes]:
    """Every page of the PDF layout as a PNG image (for previews and the README)."""
    pages = _compile(report, "png", ppi)
    return [pages] if isinstance(pages, bytes) else list(pages)

"""The Kommunalprofil of a town in the web app: ``/kommune/{ags}/kommunalprofil`` shows the
report's HTML article inside the site (the site's style sheet, no inline style, so a strict
Content-Security-Policy holds), ``/kommune/{ags}/kommunalprofil.pdf`` downloads the tagged PDF/UA
made from the same report model (:mod:`wandel.reports.render`).

The report is read through the read door (:meth:`wandel.web.reader.Reader.report`, which asks the
one permission check): the public gets the public edition (counts from 1 to 3 kept secret), the
planners and viewers of the zone the internal one. It is built once per town, language and
edition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from wandel.reports.model import Report
from wandel.reports.render import render_html, render_pdf
from wandel.web import views

if TYPE_CHECKING:
    from wandel.web.app import _Pages

__all__ = ["add_report_routes", "profile_stem"]


def profile_stem(zone: str) -> str:
    """The file name (without suffix) of a town's Kommunalprofil."""
    return f"kommunalprofil_{zone}"


def add_report_routes(app: FastAPI, pages: _Pages) -> None:
    """The Kommunalprofil as a page of the site and as a PDF download."""

    def _report(request: Request, ags: str) -> Report:
        caller = pages.caller(request)
        report: Report = pages.reader.report(caller, ags)
        return report

    @app.get("/kommune/{ags}/kommunalprofil", response_class=HTMLResponse)
    def kommunalprofil(request: Request, ags: str) -> Response:
        report = _report(request, ags)
        view = views._head(pages.reader, pages.caller(request), ags)
        view["stem"] = profile_stem(ags)
        view["title"] = report.title
        article = render_html(report, standalone=False)
        return pages.html(request, "kommunalprofil.html", view, article=article)

    @app.get("/kommune/{ags}/kommunalprofil.pdf")
    def kommunalprofil_pdf(request: Request, ags: str) -> Response:
        pdf = render_pdf(_report(request, ags))
        name = profile_stem(ags) + ".pdf"
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

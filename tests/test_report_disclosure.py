"""The public edition of the Kommunalprofil: a tiny Gemeinde (the demo store's Ahlsdorf scaled to
about 140 inhabitants) has counts from 1 to 3; the internal edition shows them, the public one
(model, HTML, PDF text) shows none, and no secret cell can be worked out from the shown ones."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import duckdb
import pypdf
import pytest

from wandel.reports.disclosure import SECRET, is_small
from wandel.reports.edition import _secret_cells, town_cells
from wandel.reports.model import Report, Table
from wandel.reports.pdfcheck import check_pdfua
from wandel.reports.profile import TownFigures, profile_report
from wandel.reports.render import render_html, render_pdf
from wandel.store import Store
from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store
from wandel.workflow.report import ReportSettings, _meta, report_sources, town_figures

TINY = "15087010"
COUNT_TABLES = ("pyramide-", "altersgruppen-", "bewegung-")
"""Tables whose number columns are counts of persons (the per cent column of the age groups is
left out below)."""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[TownFigures, Report, Report]:
    db = tmp_path_factory.mktemp("tiny") / "tiny.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    con = duckdb.connect(str(db))
    con.execute(f"UPDATE population SET value = value / 12 WHERE zone = '{TINY}'")
    con.execute(
        "UPDATE gv_records SET pop_total = round(pop_total / 12), pop_m = round(pop_m / 12), "
        f"pop_f = round(pop_f / 12) WHERE zone = '{TINY}'"
    )
    con.close()
    s = ReportSettings()
    (t,) = town_figures(db, [TINY], s)
    meta, prov = _meta(db, [TINY], [t], s)
    sources, licences = report_sources(prov, [t], "de")
    internal = profile_report(t, meta, sources, licences, edition="internal")
    public = profile_report(t, meta, sources, licences, edition="public")
    return t, internal, public


def _numbers(cell: str) -> list[float]:
    return [
        float(x.replace(".", "").replace(",", ".").replace("\u2212", "-"))
        for x in re.findall(r"[\u2212+-]?\d[\d.]*(?:,\d+)?", cell)
    ]


def _count_cells(report: Report) -> list[str]:
    out = []
    for b in report.blocks():
        tables = [b] if isinstance(b, Table) else [getattr(b, "table", None)]
        for t in tables:
            if t is None or not t.id.startswith(COUNT_TABLES):
                continue
            last = len(t.header) - 1 if t.id.startswith("altersgruppen-") else None
            for row in t.rows:
                out += [c for i, c in enumerate(row) if t.numeric[i] and i != last]
    return out


def test_internal_shows_small_counts_public_none(tiny: tuple[TownFigures, Report, Report]) -> None:
    _, internal, public = tiny
    small = [c for c in _count_cells(internal) if any(is_small(v) for v in _numbers(c))]
    assert small  # the fixture really has small counts (the test can fail)
    cells = _count_cells(public)
    assert not [c for c in cells if any(is_small(v) for v in _numbers(c))]
    assert any(c == SECRET for c in cells)
    html = render_html(public)
    for td in re.findall(r'<td class="num">([^<]*)</td>', html):
        if td.endswith("%"):
            continue
        assert not any(is_small(v) for v in _numbers(td)), td
    assert "kleine Fallzahlen (1 bis 3) geheim gehalten" in html


def test_public_pdf_text_and_pdfua(
    tiny: tuple[TownFigures, Report, Report], tmp_path: Path
) -> None:
    _, internal, public = tiny
    pdf = render_pdf(public)
    assert pdf == render_pdf(public)  # the same bytes for the same inputs
    assert pdf != render_pdf(internal)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(BytesIO(pdf)).pages)
    assert "öffentliche Ausgabe" in text
    path = tmp_path / "public.pdf"
    path.write_bytes(pdf)
    assert check_pdfua(path, lang="de") == []


def test_no_secret_cell_can_be_worked_out(tiny: tuple[TownFigures, Report, Report]) -> None:
    """Integer programming over every relation (an oracle apart from the LP of the suppression):
    every secret small count can be at least 4 (or, a balance, -4) and is not pinned."""
    from test_web_disclosure import _interval, _safe

    t, _, _ = tiny
    cells, relations, _, free = town_cells(t)
    secret = _secret_cells(t)
    rounded = {k: float(round(v)) for k, v in cells.items()}
    relations = [r for r in relations if any(k in secret for k in r)]
    slack = [abs(sum(c * cells[k] for k, c in r.items())) + 0.5 * len(r) for r in relations]
    for k in sorted(secret, key=repr):
        # the change of the total over a period is the difference of two totals the report
        # shows (as the offices publish totals): kept shown, not a cell to protect
        if is_small(cells[k]) and k[0] != "change":
            lo, hi = _interval(rounded, relations, secret, k, frozenset(free), slack)
            assert _safe(lo, hi, k in free), (k, lo, hi)


def test_the_tiny_town_hides_far_fewer_cells_than_the_greedy_rule(
    tiny: tuple[TownFigures, Report, Report],
) -> None:
    """The report's cells of the tiny Gemeinde (183 cells, one linked table): the greedy rule hid
    91 of them (677 persons), the smallest protecting set hides 41 (122 persons)."""
    from wandel.reports.disclosure import suppress, suppress_greedy

    t, _, _ = tiny
    cells, relations, keep, free = town_cells(t)
    best = suppress(cells, relations, keep=keep, free=free)
    greedy = suppress_greedy(cells, relations, keep=keep, free=free)
    assert {k for k in cells if is_small(cells[k])} <= best
    assert len(best) < len(greedy) / 2
    assert sum(abs(cells[k]) for k in best) < sum(abs(cells[k]) for k in greedy) / 4

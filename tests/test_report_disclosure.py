"""The public edition of the Kommunalprofil: a tiny Gemeinde (the demo store's Ahlsdorf scaled to
about 140 inhabitants) has counts from 1 to 3; the internal edition shows them, the public one
(model, HTML, PDF text) shows none, and no secret cell can be worked out from the shown ones."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
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
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    return db


@pytest.fixture(scope="module")
def tiny(tiny_db: Path) -> tuple[TownFigures, Report, Report]:
    db = tiny_db
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


def test_the_tiny_town_hides_fewer_cells_than_the_greedy_rule(
    tiny: tuple[TownFigures, Report, Report],
) -> None:
    """The report's cells of the tiny Gemeinde (183 cells, one linked table): the greedy rule hid
    45 of them (140 persons), the smallest protecting set hides 40 (121 persons)."""
    from wandel.reports.disclosure import suppress, suppress_greedy

    t, _, _ = tiny
    cells, relations, keep, free = town_cells(t)
    best = suppress(cells, relations, keep=keep, free=free)
    greedy = suppress_greedy(cells, relations, keep=keep, free=free)
    assert {k for k in cells if is_small(cells[k]) and k not in keep} <= best
    assert not best & keep
    assert len(best) == 40
    assert len(greedy) == 45
    assert sum(abs(cells[k]) for k in best) < sum(abs(cells[k]) for k in greedy) - 15


# -- the public edition of the exports -------------------------------------------------------------


def _export(db: Path, out: Path, *extra: str) -> str:
    from typer.testing import CliRunner

    from wandel.cli import app

    args = ["report", "export", "--db", str(db), "--zones", TINY, "--draws", "20", "--out"]
    res = CliRunner().invoke(app, [*args, str(out), *extra])
    assert res.exit_code == 0, res.output
    return res.output


def _check_export_table(table: Any, internal: Any) -> int:
    """No shown count from 1 to 3; every hidden cell keeps a range (LP oracle over the relations
    a reader knows: the age groups of a zone and year add up to its total, which the public
    report and the GeoPackage print); returns the number of hidden cells."""
    from test_web_disclosure import _lp_range

    stats = [c for c in ("value", "q10", "q90") if c in internal.columns]
    hidden = 0
    for (_, year), rows in internal.groupby(["zone", "year"]):
        shown = table.loc[rows.index]
        for s in stats:
            cells: dict[Any, float] = {
                ("g", int(a)): float(v) for a, v in zip(rows["age_start"], rows[s], strict=True)
            }
            cells[("total",)] = float(rows[s].sum())
            rel = [{**{k: 1.0 for k in cells if k[0] == "g"}, ("total",): -1.0}]
            secret = {
                ("g", int(a))
                for a, v in zip(rows["age_start"], shown[s], strict=True)
                if str(v) == SECRET
            }
            for a, v in zip(rows["age_start"], shown[s], strict=True):
                if str(v) != SECRET:
                    assert not is_small(float(str(v).replace(",", "."))), (year, a, s, v)
            for k in secret:
                lo, hi = _lp_range(cells, rel, secret, k)
                assert hi - lo >= 1, (year, k, s, lo, hi)
                if is_small(cells[k]):
                    assert hi >= 4.5, (year, k, s, lo, hi)
            hidden += len(secret)
    return hidden


def test_public_exports_keep_small_counts_secret(tiny_db: Path, tmp_path: Path) -> None:
    """``wandel report export --edition public`` over every format (CSV de and RFC 4180, XLSX,
    GeoPackage): no cell from 1 to 3, no hidden cell can be worked out from the totals, the
    secrecy in the source note; the internal edition has the small counts."""
    import pandas as pd
    import pyogrio
    from openpyxl import load_workbook

    _export(tiny_db, tmp_path / "intern.csv")
    internal = pd.read_csv(tmp_path / "intern.csv", sep=";", decimal=",", dtype={"zone": str})
    small = [v for s in ("value", "q10", "q90") for v in internal[s] if is_small(v)]
    assert small  # the tiny town has small counts: the checks below can fail
    note = "Fallzahlen von 1 bis 3 sind geheim gehalten"
    assert note not in (tmp_path / "intern.quellen.txt").read_text("utf-8")

    _export(tiny_db, tmp_path / "de.csv", "--edition", "public")
    de = pd.read_csv(tmp_path / "de.csv", sep=";", dtype=str, keep_default_na=False)
    assert note in (tmp_path / "de.quellen.txt").read_text("utf-8")
    assert _check_export_table(de, internal) > 0
    # the shown cells are the internal numbers, the decimal comma kept
    v = de["value"][de["value"] != SECRET].str.replace(",", ".").astype(float)
    assert (v.to_numpy() == internal.loc[v.index, "value"].to_numpy()).all()

    _export(tiny_db, tmp_path / "rfc.csv", "--edition", "public", "--dialect", "rfc")
    rfc = pd.read_csv(tmp_path / "rfc.csv", dtype=str, keep_default_na=False)
    assert (rfc["value"] == de["value"].str.replace(",", ".")).all()
    _check_export_table(rfc, internal)

    _export(tiny_db, tmp_path / "p.xlsx", "--edition", "public")
    wb = load_workbook(tmp_path / "p.xlsx")
    rows = list(wb["Vorausberechnung"].values)
    xl = pd.DataFrame(rows[1:], columns=rows[0])

    def same(a: object, b: str) -> bool:
        return a == b if b == SECRET else isinstance(a, float | int) and a == float(b)

    assert all(same(a, b) for a, b in zip(xl["value"], rfc["value"], strict=True))
    _check_export_table(xl, internal)
    assert any(note in str(r[0]) for r in wb["Quellen"].values)

    _export(tiny_db, tmp_path / "p.gpkg", "--edition", "public")
    g = pyogrio.read_dataframe(tmp_path / "p.gpkg", layer="gemeinden")
    counts = [c for c in g.columns if c.startswith("einwohner_") and not c.endswith("_geheim")]
    for c in counts:
        assert not any(is_small(v) for v in g[c].dropna()), c
        assert (g[f"{c}_geheim"] == g[c].isna()).all()
    src = pyogrio.read_dataframe(tmp_path / "p.gpkg", layer="quellen", read_geometry=False)
    assert src["quelle"].str.contains(note).any()


def test_export_bad_edition_is_one_line(tiny_db: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from wandel.cli import app

    args = ["report", "export", "--db", str(tiny_db), "--zones", TINY, "--out"]
    res = CliRunner().invoke(app, [*args, str(tmp_path / "x.csv"), "--edition", "geheim"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert "--edition 'geheim' gibt es nicht" in res.output
    assert list(tmp_path.iterdir()) == []
    en = CliRunner().invoke(app, ["--lang", "en", "report", "export", "--help"])
    assert "internal (every number" in " ".join(en.output.split())
    de = CliRunner().invoke(app, ["report", "export", "--help"])
    assert "internal (alle Zahlen" in " ".join(de.output.split())


# -- labels and changes of secret values -----------------------------------------------------------


def test_a_secret_indicator_loses_its_assessment_and_rank(
    tiny: tuple[TownFigures, Report, Report], tiny_db: Path
) -> None:
    """A share of the town that stands for 1 to 3 people (80+: 2 % of about 130): the internal
    strengths table calls it a weakness, the public one shows neither the row nor its label, nor
    those of the age shares and ratios beside it; the other facts are ranked 1, 2, ... again."""
    from dataclasses import replace

    from wandel.reports.edition import public_figures
    from wandel.reports.profile import strengths_table

    t, _, _ = tiny
    assert t.profile is not None
    facts = t.profile.facts.copy()
    own = (facts["indicator"] == "share_80plus") & (facts["subject"] == t.zone)
    facts.loc[own, "value"] = 0.02  # 2.6 persons
    t2 = replace(t, profile=replace(t.profile, facts=facts))
    internal = strengths_table(t2, "de")
    assert internal is not None
    names = {r[0]: r for r in internal.rows}
    assert names["Anteil 80+"][-1] == "Schwäche"
    pub = public_figures(t2)
    public = strengths_table(pub, "de")
    assert public is not None
    shown = [r[0] for r in public.rows]
    for hidden in ("Anteil 80+", "Anteil 65+", "Altenquotient", "Jugendquotient"):
        assert hidden not in shown
    assert "Medianalter" in shown
    assert pub.profile is not None
    f = pub.profile.facts
    assert list(f["rank"]) == list(range(1, len(f) + 1))
    secret = f[f["secret"]]
    assert set(secret["indicator"]) >= {"share_80plus", "share_65plus", "old_age_ratio"}
    assert (secret["assessment"] == SECRET).all()
    assert secret["value"].isna().all()
    assert secret["z"].isna().all()
    assert (secret["sentence"] == "").all()
    assert not f.loc[~f["secret"], "rank"].gt(len(f) - len(secret)).any()  # secret ones last


@pytest.fixture(scope="module")
def micro(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TownFigures]:
    """The tiny store with the town scaled to about 4 inhabitants (about 2.6 in 2040)."""
    import shutil

    db = tmp_path_factory.mktemp("micro") / "micro.duckdb"
    shutil.copy(tiny_db, db)
    con = duckdb.connect(str(db))
    con.execute(f"UPDATE population SET value = value / 35 WHERE zone = '{TINY}'")
    con.execute(
        "UPDATE gv_records SET pop_total = round(pop_total / 35), pop_m = round(pop_m / 35), "
        f"pop_f = round(pop_f / 35) WHERE zone = '{TINY}'"
    )
    con.close()
    (t,) = town_figures(db, [TINY], ReportSettings())
    return db, t


def test_a_change_to_a_secret_total_is_secret(
    micro: tuple[Path, TownFigures], tmp_path: Path
) -> None:
    """A town whose projected total falls to 1 to 3: the public report's comparison table shows
    no change to (or from) a secret total, its strengths table no projected change to it, and
    the public GeoPackage no change in per cent; the internal edition shows them."""
    import pyogrio

    from wandel.reports.edition import public_figures
    from wandel.reports.profile import _comparison

    db, t = micro
    secret = _secret_cells(t)
    years = sorted(int(str(k[1])) for k in secret if k[0] == "total" and k[2] == "value")
    assert t.until in years  # the 2040 total is from 1 to 3
    assert ("total", t.base_year, "value") not in secret
    table = _comparison(t, "de")
    internal, public = table.rows[0], _comparison(public_figures(t), "de").rows[0]
    for y in years:
        if y in (2030, t.until):
            col = table.header.index(f"Veränderung {t.base_year}–{y}")
            assert internal[col] != SECRET
            assert public[col] == SECRET, (y, public)
    assert public[1] == internal[1]  # the past change: both totals shown
    pub = public_figures(t)
    if pub.profile is not None:
        f = pub.profile.facts
        hidden = f[f["indicator"] == f"projected_change_{t.until}"]
        assert hidden.empty or bool(hidden["secret"].all())
    _export(db, tmp_path / "m.gpkg", "--edition", "public")
    _export(db, tmp_path / "i.gpkg")
    g = pyogrio.read_dataframe(tmp_path / "m.gpkg", layer="gemeinden")
    i = pyogrio.read_dataframe(tmp_path / "i.gpkg", layer="gemeinden")
    row, irow = g[g["zone"] == TINY].iloc[0], i[i["zone"] == TINY].iloc[0]
    assert is_small(irow[f"einwohner_{t.until}"])
    assert np.isfinite(irow["veraenderung_prozent"])
    assert np.isnan(row[f"einwohner_{t.until}"])
    assert bool(row[f"einwohner_{t.until}_geheim"])
    assert np.isnan(row["veraenderung_prozent"])
    assert bool(row["veraenderung_prozent_geheim"])

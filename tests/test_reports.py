"""Kommunalprofil and Demografiebericht from the demo store: numbers, PDF/UA, HTML structure,
reproducible bytes, editions, Leichte Sprache, the README picture, the CLI."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pikepdf
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.errors import ReportError, UnknownNetworkError, UnknownZoneError
from wandel.reports.model import Chart, FactList, Paragraph, Report, Section, Table
from wandel.reports.pdfcheck import CHECKS, check_pdfua
from wandel.reports.render import render_html, render_pdf, render_png
from wandel.reports.svg import BAND, BLUE, GREY, INK, ORANGE, bars_svg, nice_ticks
from wandel.store import Store
from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store
from wandel.workflow.report import (
    ReportSettings,
    build_network_report,
    build_profile,
    town_figures,
    write_edition,
)

ROOT = Path(__file__).resolve().parents[1]
HETTSTEDT = "15087220"
runner = CliRunner()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("reports") / "demo.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    return db


@pytest.fixture(scope="session")
def profile(demo_db: Path) -> Report:
    return build_profile(demo_db, HETTSTEDT, ReportSettings())


@pytest.fixture(scope="session")
def profile_pdf(profile: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "profil.pdf"
    path.write_bytes(render_pdf(profile))
    return path


def _facts(report: Report) -> dict[tuple[str, int], float]:
    return {
        (f.label, f.year): f.value
        for b in report.blocks()
        if isinstance(b, FactList)
        for f in b.facts
    }


# -- numbers -----------------------------------------------------------------------------------


def test_profile_numbers_match_the_store_and_the_projection(demo_db: Path, profile: Report) -> None:
    facts = _facts(profile)
    assert facts[("Einwohner", 2019)] == 13_885  # GV-ISys 31.12.2019, published
    (town,) = town_figures(demo_db, [HETTSTEDT], ReportSettings())
    tot = town.totals().set_index("year")
    assert tot.loc[2019, "value"] == pytest.approx(13_885)  # the projection starts from the count
    assert facts[("Einwohner 2040 (Vorausberechnung)", 2040)] == pytest.approx(
        tot.loc[2040, "value"]
    )
    later = tot.loc[2020:]
    assert (later["q10"] <= later["value"] + 1e-6).all()
    assert (later["value"] <= later["q90"] + 1e-6).all()
    assert (later["q90"] - later["q10"]).iloc[-1] > (later["q90"] - later["q10"]).iloc[
        0
    ]  # the fan opens
    # balancing equation: births - deaths + net migration = change of the total, every year
    c = town.components.set_index("year")
    change = tot["value"].diff().loc[2020:]
    flows = c["births"] - c["deaths"] + c["net_migration"]
    pd.testing.assert_series_equal(flows, change, check_names=False, atol=1e-6, rtol=0)
    # the pyramid holds the same people as the age groups
    p = town.pyramid.groupby("year")["value"].sum()
    assert p[2019] == pytest.approx(13_885)
    assert p[2040] == pytest.approx(tot.loc[2040, "value"])
    # Hettstedt is part of its Kreis's total in the comparison
    town_area, kreis, land = town.areas
    assert (kreis.zone, land.zone) == ("15087", "15")
    assert town_area.base == pytest.approx(13_885)
    assert kreis.base > town_area.base
    assert town_area.past == pytest.approx(14_427 + 320 + 882)  # 2009 on the 2019 territory


def test_strengths_come_from_the_comparison_library(demo_db: Path, profile: Report) -> None:
    """The Kommunalprofil shows the facts of ``wandel profile`` (wandel.compare), not numbers of
    its own: the same indicators in the same order, the same values."""
    from wandel.workflow.compare import load, profile_of

    prof = profile_of(load(demo_db), HETTSTEDT, lang="de")
    shown = prof.facts[prof.facts["assessment"] != "neutral"].head(5)
    (table,) = [b for b in profile.blocks() if isinstance(b, Table) and b.id.startswith("staerken")]
    assert table.header[2:5] == ("Hettstedt", "Mansfeld-Südharz", "Sachsen-Anhalt")
    assert len(table.rows) == 5
    assert [r[0] for r in table.rows][:2] == ["Medianalter", "Anteil 65+"]
    median = shown.iloc[0]
    assert median["indicator"] == "median_age"
    assert table.rows[0][2] == f"{median['value']:.1f} Jahre *".replace(".", ",")
    assert table.rows[0][4] == f"{median['land_value']:.1f} Jahre".replace(".", ",")
    assert table.rows[0][5] == "Schwäche"  # older than the Land: a weakness
    # a value only the Kreis has (migration by age) stands in the Kreis column, said so
    kreis_rows = [
        r for r, f in zip(table.rows, shown.itertuples(), strict=True) if f.subject == "15087"
    ]
    assert kreis_rows
    assert all(r[2] == "nur Kreis" for r in kreis_rows)


def test_every_number_cites_a_listed_source(profile: Report) -> None:
    keys = {s.key for s in profile.sources}
    for b in profile.blocks():
        if isinstance(b, FactList):
            assert {f.source for f in b.facts} <= keys
        elif isinstance(b, Table | Chart):
            assert b.source
            assert set(b.source) <= keys
    bad = replace(
        profile,
        sections=(
            Section("x", "x", (FactList((replace(_first_fact(profile), source="nowhere"),)),)),
        ),
    )
    with pytest.raises(ReportError, match="nowhere"):
        bad.check()


def _first_fact(report: Report):  # type: ignore[no-untyped-def]
    return next(b.facts[0] for b in report.blocks() if isinstance(b, FactList))


def test_licence_notes_at_the_end(profile: Report) -> None:
    last = profile.sections[-1]
    text = " ".join(b.text for b in last.blocks if isinstance(b, Paragraph))
    assert "dl-de/by-2-0" in text
    assert "© GeoBasis-DE / BKG" in text
    assert "ODbL" in text  # says that no OpenStreetMap data is used (straight-line travel times)


def test_band_sentence_for_citizens(profile: Report) -> None:
    paras = [b.text for b in profile.blocks() if isinstance(b, Paragraph)]
    assert any(p.startswith("In 8 von 10 simulierten Zukünften") for p in paras)


# -- Leichte Sprache -----------------------------------------------------------------------------


def test_leichte_sprache_rules(profile: Report) -> None:
    assert profile.easy_title == "Das Wichtigste in Leichter Sprache"
    for line in profile.easy:
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            assert sentence.endswith((".", "!", "?")), sentence
            assert len(sentence.split()) <= 15, sentence  # short sentences
            assert ";" not in sentence  # one statement per sentence, no clause chains
            for number in re.findall(r"\d[\d.]*", sentence):
                digits = number.replace(".", "")
                if len(digits) == 4 and digits.startswith("20"):
                    continue  # a year
                assert len(digits.rstrip("0")) <= 2, f"not rounded: {number} in {sentence!r}"
    joined = " ".join(profile.easy)
    assert "ungefähr 14.000 Menschen" in joined  # 13,885 rounded
    assert "Voraus-Berechnung" in joined  # the term is explained


def test_english_profile(demo_db: Path) -> None:
    rep = build_profile(demo_db, HETTSTEDT, ReportSettings(lang="en", draws=20))
    assert rep.title == "Municipal profile Hettstedt"
    assert rep.easy[0] == "At the end of 2019 about 14,000 people lived in Hettstedt."
    html = render_html(rep)
    assert '<html lang="en">' in html
    assert "13,885" in html


# -- PDF/UA --------------------------------------------------------------------------------------


def test_profile_pdf_is_two_pages_a4(profile_pdf: Path) -> None:
    with pikepdf.open(profile_pdf) as pdf:
        assert len(pdf.pages) == 2
        for page in pdf.pages:
            w, h = (float(v) for v in page.mediabox[2:])
            assert (round(w), round(h)) == (595, 842)  # A4 in points
        with pdf.open_metadata() as meta:
            assert meta["dc:title"] == "Kommunalprofil Hettstedt"


def test_profile_pdf_passes_the_pdfua_checks(profile_pdf: Path) -> None:
    assert check_pdfua(profile_pdf, lang="de") == []
    import pdfua

    report = pdfua.validate(str(profile_pdf))
    errors = [f for f in report.findings if f.severity.name == "ERROR"]
    assert errors == []


def test_pdfua_check_fails_on_untagged_and_alt_less_pdfs(tmp_path: Path) -> None:
    import typst

    src = (
        b'#set document(title: "x")\n= Titel\nText.\n'
        b"#image(bytes(\"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'>"
        b"<rect width='5' height='5'/></svg>\"))\n"
        b"#table(columns: 2, [a], [b])\n"
    )
    untagged = tmp_path / "untagged.pdf"
    untagged.write_bytes(typst.compile(src, pdf_tags=False))
    failed = {f.check for f in check_pdfua(untagged)}
    assert {"tagged", "pdfua-id", "content-tagged"} <= failed
    tagged = tmp_path / "tagged.pdf"
    tagged.write_bytes(typst.compile(src))
    failed = {f.check for f in check_pdfua(tagged, lang="de")}
    assert {"figure-alt", "table-headers", "pdfua-id", "lang"} <= failed  # typst says "en"
    assert failed <= set(CHECKS)


# -- HTML ----------------------------------------------------------------------------------------


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_structured_for_screen_readers(profile: Report) -> None:
    html = render_html(profile)
    p = _Outline()
    p.feed(html)
    tags = [t for t, _ in p.tags]
    assert p.tags[0] == ("html", {"lang": "de"})
    assert tags.count("h1") == 1
    assert tags.count("main") == 1
    svgs = [a for t, a in p.tags if t == "svg"]
    assert len(svgs) == len(profile.charts()) == 3
    assert all(a["role"] == "img" and a["aria-labelledby"] for a in svgs)
    assert tags.count("title") == 1 + 3  # the page's and each chart's
    assert tags.count("table") == tags.count("caption")
    assert all(a.get("scope") in ("col", "row") for t, a in p.tags if t == "th")
    assert "13.885" in html
    ids = [a["id"] for _, a in p.tags if a.get("id")]
    assert len(ids) == len(set(ids))  # ids are unique
    fragment = render_html(profile, standalone=False)
    assert fragment.lstrip().startswith("<article")


# -- reproducibility and editions ----------------------------------------------------------------


def test_same_store_and_seed_same_bytes(demo_db: Path, profile: Report) -> None:
    again = build_profile(demo_db, HETTSTEDT, ReportSettings())
    assert render_pdf(again) == render_pdf(profile)
    assert render_html(again) == render_html(profile)


def test_editions_are_kept_never_overwritten(profile: Report, tmp_path: Path) -> None:
    first = write_edition(profile, tmp_path, "kommunalprofil_15087220")
    assert first.new
    assert sorted(p.name for p in first.folder.iterdir()) == [
        "kommunalprofil_15087220.html",
        "kommunalprofil_15087220.pdf",
        "manifest.json",
    ]
    manifest = json.loads((first.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs_sha256"] == profile.meta.inputs_checksum
    assert manifest["created"] == profile.meta.created.isoformat()
    assert manifest["seed"] == 2040
    assert first.folder.name.startswith(f"{profile.meta.created:%Y-%m-%d}_")
    again = write_edition(profile, tmp_path, "kommunalprofil_15087220")
    assert (again.folder, again.new) == (first.folder, False)
    other = write_edition(
        replace(profile, meta=replace(profile.meta, seed=7)), tmp_path, "kommunalprofil_15087220"
    )
    assert other.new
    assert other.folder != first.folder
    assert len(list(tmp_path.iterdir())) == 2
    pdf = first.folder / "kommunalprofil_15087220.pdf"
    pdf.write_bytes(b"changed by hand")
    with pytest.raises(ReportError, match="never overwritten"):
        write_edition(profile, tmp_path, "kommunalprofil_15087220")
    assert pdf.read_bytes() == b"changed by hand"


# -- network report ------------------------------------------------------------------------------


def test_network_report(demo_db: Path, tmp_path: Path) -> None:
    rep = build_network_report(demo_db, "mansfeld-suedharz", ReportSettings(draws=20))
    assert rep.title == (
        "Demografiebericht Städtenetzwerk Demografie Hettstedt – Lutherstadt Eisleben – Sangerhausen"
    )
    table = rep.sections[0].blocks[0]
    assert isinstance(table, Table)
    assert [r[0] for r in table.rows] == ["Hettstedt", "Lutherstadt Eisleben", "Sangerhausen"]
    assert table.rows[0][1] == "13.885"
    assert len(rep.charts()) == 9
    # a comma list of AGS gives the same towns (the CLI's third form, as in wandel compare network)
    same = build_network_report(demo_db, "15087220,15087130,15087370", ReportSettings(draws=20))
    assert same.sections[0].blocks[0] == table
    path = tmp_path / "bericht.pdf"
    path.write_bytes(render_pdf(rep))
    assert check_pdfua(path, lang="de") == []
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) > 2


def test_unknown_zone_is_a_clear_error(demo_db: Path) -> None:
    with pytest.raises(UnknownZoneError, match="15087220") as info:
        build_profile(demo_db, "15087221")  # one digit off Hettstedt: the nearest is named
    assert "15087221" in info.value.message("de")
    with pytest.raises(ReportError, match="8 digits"):
        build_profile(demo_db, "15087")
    with pytest.raises(UnknownNetworkError):
        build_network_report(demo_db, "gibt-es-nicht")


# -- the README picture --------------------------------------------------------------------------


def test_readme_picture_of_the_kommunalprofil(profile: Report) -> None:
    pages = render_png(profile, ppi=96)
    assert len(pages) == 2
    png = pages[0]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(png[16:20], "big")
    assert width == round(210 / 25.4 * 96)  # A4 at 96 ppi
    target = ROOT / "docs" / "img" / "kommunalprofil.png"
    if not target.is_file() or target.read_bytes() != png:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png)
    assert "docs/img/kommunalprofil.png" in (ROOT / "README.md").read_text(encoding="utf-8")


# -- charts --------------------------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize(("colour", "ratio"), [(INK, 7), (BLUE, 4.5), (ORANGE, 4.5), (GREY, 4.5)])
def test_chart_colours_have_contrast_against_white(colour: str, ratio: float) -> None:
    assert 1.05 / (_luminance(colour) + 0.05) >= ratio
    assert _luminance(BAND) > _luminance(BLUE)  # the band is a light background area


def test_bars_chart_is_deterministic_and_labelled() -> None:
    a = bars_svg(["Kita", "80+"], [-43.2, 19.4], chart_id="b", title="T", desc="D")
    assert a == bars_svg(["Kita", "80+"], [-43.2, 19.4], chart_id="b", title="T", desc="D")
    assert "−43 %" in a
    assert "+19 %" in a
    assert '<title id="b-title">T</title>' in a
    assert nice_ticks(9578) == [0.0, 2000.0, 4000.0, 6000.0, 8000.0, 10000.0]


# -- CLI -----------------------------------------------------------------------------------------


def test_cli_export_csv_and_bad_input(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.csv"
    base_args = ["report", "export", "--db", str(demo_db), "--zones", HETTSTEDT, "--draws", "0"]
    res = runner.invoke(app, [*base_args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    back = pd.read_csv(out, sep=";", decimal=",", dtype={"zone": str})
    base = back[back["year"] == 2019]
    assert base["value"].sum() == pytest.approx(13_885, abs=0.5)
    assert set(back["zone"]) == {HETTSTEDT}
    assert "dl-de/by-2-0" in (tmp_path / "h.quellen.txt").read_text(encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    res = runner.invoke(app, [*base_args, "--out", str(tmp_path / "h.txt")])
    assert res.exit_code == 2
    assert "unbekannte Dateiendung" in res.output
    assert ".xlsx" in res.output
    res = runner.invoke(app, [*base_args, "--out", str(out), "--dialect", "excel"])
    assert res.exit_code == 2
    assert "--dialect 'excel' gibt es nicht" in res.output
    res = runner.invoke(
        app, ["report", "town", "--db", str(demo_db), "12345678", "--out", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert "12345678" in res.output
    res = runner.invoke(
        app, ["report", "network", "--db", str(demo_db), "nirgendwo", "--out", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_cli_export_gpkg(demo_db: Path, tmp_path: Path) -> None:
    import pyogrio

    out = tmp_path / "k.gpkg"
    res = runner.invoke(
        app,
        [
            "report",
            "export",
            "--db",
            str(demo_db),
            "--zones",
            "15087",
            "--draws",
            "0",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    g = pyogrio.read_dataframe(out, layer="gemeinden")
    row = g[g["zone"] == HETTSTEDT].iloc[0]
    assert row["einwohner_2019"] == pytest.approx(13_885, abs=1)
    assert g["zone"].str.startswith("15087").all()
    assert len(g) > 10
    src = pyogrio.read_dataframe(out, layer="quellen", read_geometry=False)
    assert src["quelle"].str.contains("GeoBasis-DE").any()


def test_cli_report_town_writes_an_edition(demo_db: Path, tmp_path: Path) -> None:
    args = [
        "report",
        "town",
        "--db",
        str(demo_db),
        HETTSTEDT,
        "--draws",
        "20",
        "--out",
        str(tmp_path),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    (folder,) = (tmp_path / HETTSTEDT).iterdir()
    pdf = folder / f"kommunalprofil_{HETTSTEDT}.pdf"
    assert check_pdfua(pdf, lang="de") == []
    res = runner.invoke(app, args)
    assert res.exit_code == 0
    assert "gibt es schon" in res.output
    res = runner.invoke(app, ["--lang", "en", *args])  # an English edition beside the German one
    assert res.exit_code == 0, res.output
    assert "Written" in res.output
    assert len(list((tmp_path / HETTSTEDT).iterdir())) == 2


def test_cli_report_public_edition_beside_the_internal_one(demo_db: Path, tmp_path: Path) -> None:
    """``--edition public`` writes a folder of its own whose HTML and PDF name the edition and the
    secrecy of small counts; a value other than internal or public is one line, exit 2."""
    base = ["report", "town", "--db", str(demo_db), HETTSTEDT, "--draws", "20"]
    res = runner.invoke(app, [*base, "--out", str(tmp_path), "--edition", "public"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, [*base, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    folders = sorted((tmp_path / HETTSTEDT).iterdir())
    assert len(folders) == 2
    html = {f: (f / f"kommunalprofil_{HETTSTEDT}.html").read_text("utf-8") for f in folders}
    public = [f for f, t in html.items() if "öffentliche Ausgabe" in t]
    internal = [f for f, t in html.items() if "interne Ausgabe" in t]
    assert len(public) == len(internal) == 1
    assert "kleine Fallzahlen (1 bis 3) geheim gehalten" in html[public[0]]
    assert "kleine Fallzahlen (1 bis 3) geheim gehalten" not in html[internal[0]]
    assert check_pdfua(public[0] / f"kommunalprofil_{HETTSTEDT}.pdf", lang="de") == []
    bad = runner.invoke(app, [*base, "--out", str(tmp_path / "x"), "--edition", "geheim"])
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output
    assert "public" in bad.output
    assert not (tmp_path / "x").exists()


def test_cli_help_keeps_report_and_profile_apart() -> None:
    res = runner.invoke(app, ["report", "--help"])
    assert res.exit_code == 0
    assert "Kommunalprofil" in res.output
    for command in ("town", "network", "export"):
        assert command in res.output
    res = runner.invoke(app, ["--lang", "en", "report", "town", "--help"])
    text = " ".join(res.output.split())
    assert "municipal profile" in text
    assert "wandel profile" in text

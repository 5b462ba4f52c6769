"""The web app in process (FastAPI's TestClient): every route, HTML and JSON, its numbers checked
against the library on the demo store (Hettstedt, 15087220, a seed town)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from _compare_store import compare_db
from wandel.cli.app import app as cli_app
from wandel.compare._format import format_number
from wandel.errors import AccessDeniedError
from wandel.web import Caller, Reader, create_app
from wandel.workflow.compare import peers_of, profile_of
from wandel.workflow.services import ServicesRequest, services_from_store
from wandel.workflow.town import UNTIL, Levers, TownWorkbench

ZONE = "15087220"  # Hettstedt
HETTSTEDT_2019 = 13885  # Gemeindeverzeichnis 31.12.2019 (GV-ISys), the base population


class RecordingReader(Reader):
    """The real read door that also notes each read (what, zone)."""

    def __init__(self, wb: TownWorkbench) -> None:
        super().__init__(wb)
        self.reads: list[tuple[str, str | None]] = []

    def permit(self, caller: Caller, what: str, zone: str | None) -> None:
        self.reads.append((what, zone))


@pytest.fixture(scope="module")
def workbench(tmp_path_factory: pytest.TempPathFactory) -> TownWorkbench:
    return TownWorkbench(compare_db(tmp_path_factory))


@pytest.fixture(scope="module")
def reader(workbench: TownWorkbench) -> RecordingReader:
    return RecordingReader(workbench)


@pytest.fixture(scope="module")
def client(workbench: TownWorkbench, reader: RecordingReader) -> Iterator[TestClient]:
    with TestClient(create_app(workbench.db, reader)) as c:
        yield c


@pytest.fixture(scope="module")
def kommune(client: TestClient) -> dict[str, Any]:
    r = client.get(f"/api/kommune/{ZONE}")
    assert r.status_code == 200
    data: dict[str, Any] = r.json()
    return data


def _text(page: str) -> str:
    """The visible text of an HTML page (tags removed, entities decoded, spaces collapsed)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- start -------------------------------------------------------------------------------


def test_search_by_name_and_by_ags(client: TestClient) -> None:
    by_name = client.get("/api/suche", params={"q": "hettstedt"}).json()
    assert [r["zone"] for r in by_name["results"]] == [ZONE]
    by_ags = client.get("/api/suche", params={"q": "15087"}).json()
    zones = [r["zone"] for r in by_ags["results"]]
    assert "15087" in zones
    assert ZONE in zones
    assert all(z.startswith("15087") for z in zones)
    page = client.get("/", params={"q": "hettstedt"})
    assert page.status_code == 200
    assert f'href="/kommune/{ZONE}"' in page.text
    # the networks of the shipped presets, with their members' names
    nets = {n["name"]: n for n in client.get("/api/suche").json()["networks"]}
    assert "mansfeld-suedharz" in nets
    assert ZONE in [m["zone"] for m in nets["mansfeld-suedharz"]["members"]]


# -- Kommune -----------------------------------------------------------------------------


def test_kommune_numbers_match_the_library(
    kommune: dict[str, Any], workbench: TownWorkbench
) -> None:
    assert kommune["base_year"] == 2019
    assert kommune["population"]["2019"]["value"] == HETTSTEDT_2019
    lib = workbench.project(ZONE).totals().set_index("year")
    for y in ("2030", "2040"):
        row = kommune["population"][y]
        assert row["value"] == round(lib.loc[int(y), "value"])
        assert row["q10"] == round(lib.loc[int(y), "q10"])
        assert row["q90"] == round(lib.loc[int(y), "q90"])
        assert row["q10"] < row["q50"] < row["q90"]
    assert kommune["population"]["2040"]["value"] < HETTSTEDT_2019  # a shrinking town
    # the pyramid of the base year adds up to the base population (rounded groups)
    base = kommune["pyramid"]["base"]
    assert sum(g["men"] + g["women"] for g in base) == pytest.approx(HETTSTEDT_2019, abs=20)
    # components: births minus deaths is the natural balance, year by year
    for c in kommune["components"]:
        assert c["natural"] == pytest.approx(c["births"] - c["deaths"], abs=1)
    comp = workbench.project(ZONE).components().set_index("year")
    assert kommune["components"][0]["births"] == round(comp.loc[2020, "births"])


def test_kommune_year_control(client: TestClient, kommune: dict[str, Any]) -> None:
    assert kommune["pyramid"]["years"] == [2019, 2030]
    v = client.get(f"/api/kommune/{ZONE}", params={"jahr": UNTIL}).json()
    assert v["pyramid"]["years"] == [2019, UNTIL]
    total = sum(g["men"] + g["women"] for g in v["pyramid"]["year"])
    assert total == pytest.approx(v["population"]["2040"]["value"], abs=20)
    page = client.get(f"/kommune/{ZONE}", params={"jahr": UNTIL}).text
    assert f'<option value="{UNTIL}" selected>' in page


def test_kommune_page_shows_the_json_numbers(client: TestClient, kommune: dict[str, Any]) -> None:
    page = client.get(f"/kommune/{ZONE}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "13.885" in text
    p40 = kommune["population"]["2040"]
    sentence = (
        f"In 8 von 10 simulierten Zukünften leben 2040 zwischen {format_number(p40['q10'], 0, 'de')}"
        f" und {format_number(p40['q90'], 0, 'de')} Menschen in {kommune['name']}."
    )
    assert kommune["sentence"] == sentence
    assert sentence in text
    median = next(i for i in kommune["indicators"] if i["key"] == "median_age")
    assert format_number(median["value"], median["decimals"], "de") in text
    assert "Quelle:" in text
    assert "Wandel-Vorausberechnung" in text
    for i in kommune["indicators"]:  # every indicator names its source and year
        assert i["source"]
        assert 2000 <= i["year"] <= 2030


def test_kommune_indicators_against_kreis_and_land(
    kommune: dict[str, Any], workbench: TownWorkbench
) -> None:
    table = workbench.key_indicators(ZONE).set_index("indicator")
    for i in kommune["indicators"]:
        row = table.loc[i["key"]]
        scale = 100.0 if i["unit"] == "%" else 1.0
        tol = 0.51 * 10.0 ** -i["decimals"]  # rounded to the indicator's decimals
        assert i["value"] == pytest.approx(row["value"] * scale, abs=tol)
        assert i["kreis_value"] == pytest.approx(row["kreis_value"] * scale, abs=tol)
        assert i["land_value"] == pytest.approx(row["land_value"] * scale, abs=tol)
    pop = next(i for i in kommune["indicators"] if i["key"] == "population")
    assert pop["value"] == HETTSTEDT_2019
    assert pop["kreis_value"] > pop["value"]


def test_english_switch(client: TestClient, kommune: dict[str, Any]) -> None:
    de = client.get(f"/kommune/{ZONE}").text
    en = client.get(f"/kommune/{ZONE}", params={"lang": "en"}).text
    assert '<html lang="de">' in de
    assert '<html lang="en">' in en
    assert 'href="/kommune/15087220?lang=en"' in de  # the switch keeps the page
    assert "13,885" in _text(en)
    assert "In 8 of 10 simulated futures" in _text(en)
    en_json = client.get(f"/api/kommune/{ZONE}", params={"lang": "en"}).json()
    assert en_json["population"] == kommune["population"]  # the same numbers
    assert f'href="/kommune/{ZONE}/szenarien?lang=en"' in en  # links keep the language


def test_download_csv(client: TestClient, kommune: dict[str, Any]) -> None:
    r = client.get(f"/kommune/{ZONE}/vorausberechnung.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.split("\r\n")
    assert lines[0] == "jahr,einwohner,q10,q90"
    last = lines[1 + UNTIL - 2019].split(",")
    assert int(last[0]) == UNTIL
    assert int(last[1]) == kommune["population"]["2040"]["value"]


# -- Szenarien ---------------------------------------------------------------------------


def _scenario(client: TestClient, **params: object) -> dict[str, Any]:
    r = client.get(f"/api/kommune/{ZONE}/szenarien", params=params)
    assert r.status_code == 200
    data: dict[str, Any] = r.json()
    return data


def _pop(view: dict[str, Any], which: str, year: int = UNTIL) -> float:
    return float(next(r[which]["value"] for r in view["population"] if r["year"] == year))


def test_scenarios_move_the_numbers(
    client: TestClient, kommune: dict[str, Any], workbench: TownWorkbench
) -> None:
    base = _scenario(client)
    # the deterministic base does not depend on the number of draws
    assert _pop(base, "basis") == kommune["population"]["2040"]["value"]
    assert _pop(base, "szenario") == _pop(base, "basis")
    more = _scenario(client, zuzug=100)
    gain = _pop(more, "szenario") - _pop(more, "basis")
    # 100 a year for 11 years (2020-2030): some move on again, some die; only the children
    # born to them here can lift the gain by 2040 above the 1,100 arrivals
    a = workbench.project(ZONE, Levers(refugees_per_year=100), draws=20).result.deterministic
    b = workbench.project(ZONE, Levers(), draws=20).result.deterministic

    def total(d: Any, part: str) -> float:
        return float(getattr(d, part).sel(zone=ZONE).sum())

    moved_on = 1100 - (
        (total(a, "in_migration") - total(a, "out_migration"))
        - (total(b, "in_migration") - total(b, "out_migration"))
    )
    born = total(a, "births") - total(b, "births")
    assert moved_on > 0
    assert born > 0
    assert 300 < gain < 1100 + born
    stay = _scenario(client, bleiben=50)
    assert _pop(stay, "szenario") > _pop(stay, "basis")
    births = _scenario(client, geburten=2.0)
    assert _pop(births, "szenario") > _pop(births, "basis")
    kita = next(s for s in births["services"] if s["service"] == "kita")
    assert kita["szenario"]["2040"]["value"] > kita["basis"]["2040"]["value"]


def test_scenario_services_match_the_library(client: TestClient, workbench: TownWorkbench) -> None:
    view = _scenario(client, zuzug=40, bleiben=20)
    lev = Levers(refugees_per_year=40, stay_young_pct=20)
    from wandel.workflow.town import levers_scenario

    req = ServicesRequest(
        (ZONE,),
        2019,
        UNTIL,
        draws=20,
        scenarios=(("basis", None), ("szenario", levers_scenario(ZONE, lev))),
    )
    f = services_from_store(workbench.db, req).figures
    f = f[(f["level"] == "zone") & (f["service"] == "grundschule") & (f["measure"] == "pupils")]
    row = next(s for s in view["services"] if s["service"] == "grundschule")
    for sc in ("basis", "szenario"):
        lib = f[(f["scenario"] == sc) & (f["year"] == 2030)]["value"].iloc[0]
        assert row[sc]["2030"]["value"] == pytest.approx(lib, abs=0.051)


def test_scenario_page_works_as_a_plain_form(client: TestClient) -> None:
    page = client.get(f"/kommune/{ZONE}/szenarien", params={"zuzug": 100, "bleiben": 0})
    assert page.status_code == 200
    assert 'name="zuzug"' in page.text
    assert 'value="100"' in page.text
    assert 'id="ergebnis"' in page.text  # the part htmx swaps in place
    view = _scenario(client, zuzug=100)
    assert format_number(_pop(view, "szenario"), 0, "de") in _text(page.text)
    bad = client.get(f"/api/kommune/{ZONE}/szenarien", params={"zuzug": -5})
    assert bad.status_code == 422


# -- Daseinsvorsorge, Netzwerk, Daten --------------------------------------------------


def test_services_page(client: TestClient, workbench: TownWorkbench) -> None:
    view = client.get(f"/api/kommune/{ZONE}/daseinsvorsorge").json()
    assert view["years"] == [2019, 2030, UNTIL]
    f = workbench.services(ZONE).figures
    f = f[(f["level"] == "zone") & (f["service"] == "pflege") & (f["measure"] == "people_in_need")]
    row = next(s for s in view["services"] if s["service"] == "pflege")
    for y in view["years"]:
        lib = f[f["year"] == y]["value"].iloc[0]
        assert row["basis"][str(y)]["value"] == pytest.approx(lib, abs=0.051)
    late = row["basis"]["2040"]
    assert late["q10"] <= late["value"] <= late["q90"]
    page = client.get(f"/kommune/{ZONE}/daseinsvorsorge")
    assert page.status_code == 200
    assert format_number(row["basis"]["2030"]["value"], 0, "de") in _text(page.text)


def test_network_page(client: TestClient, workbench: TownWorkbench) -> None:
    view = client.get(f"/api/kommune/{ZONE}/netzwerk").json()
    peers, _ = peers_of(workbench.compare(), ZONE, 5)
    assert [p["zone"] for p in view["peers"]] == list(peers.table["peer"])
    assert ZONE not in [p["zone"] for p in view["peers"]]
    prof = profile_of(workbench.compare(), ZONE, lang="de")
    assert [p["sentence"] for p in view["profile"]] == list(prof.sentences)
    text = _text(client.get(f"/kommune/{ZONE}/netzwerk").text)
    assert prof.sentences[0] in text
    for m in view["measures"]:
        assert m["title"] in text


def test_data_page(client: TestClient, workbench: TownWorkbench) -> None:
    view = client.get("/api/daten").json()
    prov = workbench.sources()
    assert len(view["sources"]) == len(prov)
    assert {s["sha256"] for s in view["sources"]} == set(prov["sha256"])
    assert view["tables"]["population"] > 0
    text = _text(client.get("/daten").text)
    assert "dl-de/by-2-0" in text
    assert "Statistisches Bundesamt (Destatis)" in text


# -- the house rules of every page ------------------------------------------------------

PAGES = (
    "/",
    "/?q=hett",
    f"/kommune/{ZONE}",
    f"/kommune/{ZONE}/szenarien?zuzug=20",
    f"/kommune/{ZONE}/daseinsvorsorge",
    f"/kommune/{ZONE}/netzwerk",
    "/daten",
    "/kommune/15087",
)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_self_contained_and_structured(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    body = page.text
    # nothing from elsewhere: every script, style sheet and image comes from /static
    for attr in re.findall(r'(?:src|href)="([^"]+)"', body):
        assert not attr.startswith(("http:", "https:", "//")), attr
    assert body.count("<h1") == 1
    assert 'href="#inhalt"' in body
    assert 'id="inhalt"' in body
    assert "/static/vendor/htmx.min.js" in body
    assert "/static/vendor/kern.min.css" in body
    for table in re.findall(r"<table.*?</table>", body, flags=re.S):
        assert "<caption" in table  # every table says what it shows


@pytest.mark.parametrize(
    "asset", ["vendor/htmx.min.js", "vendor/kern.min.css", "vendor/fonts.css", "wandel.css"]
)
def test_assets_are_served_from_the_package(client: TestClient, asset: str) -> None:
    r = client.get(f"/static/{asset}")
    assert r.status_code == 200
    assert len(r.content) > 100
    fonts = re.findall(r'url\("\./fonts/([^"]+)"\)', client.get("/static/vendor/fonts.css").text)
    assert fonts
    assert all(client.get(f"/static/vendor/fonts/{f}").status_code == 200 for f in fonts)


def test_unknown_zone(client: TestClient) -> None:
    page = client.get("/kommune/15087221")
    assert page.status_code == 404
    assert "15087220" in page.text  # the nearest known key is named
    api = client.get("/api/kommune/15087221")
    assert api.status_code == 404
    assert "15087221" in api.json()["error"]


def test_every_read_goes_through_the_door(client: TestClient, reader: RecordingReader) -> None:
    reader.reads.clear()
    client.get(f"/kommune/{ZONE}")
    client.get(f"/kommune/{ZONE}/netzwerk")
    client.get("/daten")
    seen = set(reader.reads)
    assert {("projection", ZONE), ("indicators", ZONE), ("name", ZONE)} <= seen
    assert {("peers", ZONE), ("profile", ZONE), ("measures", ZONE)} <= seen
    assert {("sources", None), ("facts", None)} <= seen

    class Closed(Reader):
        def permit(self, caller: Caller, what: str, zone: str | None) -> None:
            if zone == ZONE:
                raise AccessDeniedError("@error.access.denied", action="read")

    closed = TestClient(create_app(reader.workbench.db, Closed(reader.workbench)))
    assert closed.get(f"/api/kommune/{ZONE}").status_code == 403
    assert closed.get(f"/kommune/{ZONE}/vorausberechnung.csv").status_code == 403
    assert closed.get("/api/kommune/15087").status_code == 200  # another zone stays open


# -- wandel serve ------------------------------------------------------------------------


def test_serve_smoke_over_loopback(workbench: TownWorkbench) -> None:
    res = CliRunner().invoke(cli_app, ["serve", "--db", str(workbench.db), "--smoke"])
    assert res.exit_code == 0, res.output
    assert res.output.count(": 200") == 4


def test_serve_without_store(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli_app, ["serve", "--db", str(tmp_path / "none.duckdb"), "--smoke"])
    assert res.exit_code == 2
    assert "none.duckdb" in res.output
    assert "Traceback" not in res.output

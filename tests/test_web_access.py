"""The Erreichbarkeit page in process: travel times and coverage by age against a naive oracle
(haversine × 1.3 at 50 km/h to every hospital of the store), the sortable table, the map, the JSON
twin, the sources and years, and the templates' readiness for a strict Content-Security-Policy."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from _compare_store import compare_db
from wandel.compare._format import format_number
from wandel.store import Store
from wandel.web import Caller, Reader, create_app
from wandel.workflow.town import TownWorkbench

ZONE = "15087220"  # Hettstedt, in the Kreis Mansfeld-Südharz (15087)
KREIS = "15087"
TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "wandel" / "web" / "templates"


class RecordingReader(Reader):
    def __init__(self, wb: TownWorkbench) -> None:
        super().__init__(wb)
        self.reads: list[tuple[str, str | None]] = []

    def permit(self, caller: Caller, what: str, zone: str | None) -> None:
        self.reads.append((what, zone))


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> RecordingReader:
    return RecordingReader(TownWorkbench(compare_db(tmp_path_factory)))


@pytest.fixture(scope="module")
def client(reader: RecordingReader) -> Iterator[TestClient]:
    with TestClient(create_app(reader.workbench.db, reader)) as c:
        yield c


@pytest.fixture(scope="module")
def view(client: TestClient) -> dict[str, Any]:
    r = client.get(f"/api/kommune/{ZONE}/erreichbarkeit")
    assert r.status_code == 200
    data: dict[str, Any] = r.json()
    return data


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6371.0088  # mean Earth radius (IUGG)
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def test_travel_times_match_a_naive_oracle(view: dict[str, Any], reader: RecordingReader) -> None:
    from wandel.workflow.points import boundaries_frame

    with Store.open(reader.workbench.db, read_only=True) as store:
        gem = boundaries_frame(store, [KREIS], level="gemeinde").to_crs("EPSG:4326")
        fac = store.table("facilities", "kind = 'hospital'")
    fac = fac[fac["year"] == fac["year"].max()]
    assert view["sources"]["facilities"]["year"] == 2019
    rows = {r["zone"]: r for r in view["gemeinden"]}
    assert set(rows) == set(gem["zone"])
    assert len(rows) == 22  # the Gemeinden of Mansfeld-Südharz (VG250, 2021)
    sites = list(zip(fac["lon"], fac["lat"], fac["name"], strict=True))
    # the representative point (shapely's point_on_surface) in EPSG:25832, then in degrees
    metric = boundaries_frame_points(gem)
    for zone, (lon, lat) in metric.items():
        best = min(sites, key=lambda s: _haversine_km(lon, lat, s[0], s[1]))
        minutes = _haversine_km(lon, lat, best[0], best[1]) * 1.3 / 50.0 * 60.0
        assert rows[zone]["travel_time_min"] == pytest.approx(minutes, abs=0.051), zone
        assert rows[zone]["facility_name"] == best[2]
    town = view["town"]
    assert town["zone"] == ZONE
    assert town["facility_name"] == "Helios Klinik Hettstedt"  # the town's own hospital
    assert town["travel_time_min"] < 5


def boundaries_frame_points(gem: Any) -> dict[str, tuple[float, float]]:
    """Representative points of the polygons, taken in metres and returned in degrees."""
    import shapely

    m = gem.to_crs("EPSG:25832")
    pts = shapely.point_on_surface(m.geometry.to_numpy())
    import geopandas as gpd

    deg = gpd.GeoSeries(pts, crs="EPSG:25832").to_crs("EPSG:4326")
    return {
        str(z): (float(p.x), float(p.y)) for z, p in zip(m["zone"], deg.to_numpy(), strict=True)
    }


def test_coverage_by_age_is_the_share_of_people_within_the_threshold(
    view: dict[str, Any],
) -> None:
    rows = view["gemeinden"]
    for c in view["coverage"]:
        groups = view["age_groups"] if c["age_group"] == "total" else [c["age_group"]]
        people = [sum(r["people"][g] for g in groups) for r in rows]
        assert c["population"] == pytest.approx(sum(people), abs=len(rows) * len(groups))
        for th, share in c["shares"].items():
            within = sum(
                p for p, r in zip(people, rows, strict=True) if r["travel_time_min"] <= float(th)
            )
            assert share == pytest.approx(within / sum(people), abs=0.002), (c["age_group"], th)
    # monotone in the threshold, and everyone within 30 minutes in this Kreis
    total = next(c for c in view["coverage"] if c["age_group"] == "total")
    shares = [total["shares"][t] for t in view["thresholds"]]
    assert shares == sorted(shares)
    assert shares[-1] == 1.0
    assert 0.5 < shares[0] < 1.0
    # the whole Kreis's population of 2019, from the estimated structures (GV-ISys: 134,942)
    assert total["population"] == pytest.approx(134_942, abs=2)


@pytest.mark.parametrize(
    ("sort", "order"), [("time", "asc"), ("time", "desc"), ("name", "asc"), ("people", "desc")]
)
def test_the_table_sorts_on_the_server(client: TestClient, sort: str, order: str) -> None:
    params = {"sort": sort, "order": order}
    v = client.get(f"/api/kommune/{ZONE}/erreichbarkeit", params=params).json()
    key = {
        "time": lambda r: r["travel_time_min"],
        "name": lambda r: r["name"].casefold(),
        "people": lambda r: r["people"]["75+"],
    }[sort]
    values = [key(r) for r in v["gemeinden"]]
    assert values == sorted(values, reverse=order == "desc")
    page = client.get(f"/kommune/{ZONE}/erreichbarkeit", params=params).text
    shown = re.findall(r'data-zone="(\d{8})"', page)
    assert shown == [r["zone"] for r in v["gemeinden"]]  # the page shows the JSON's order
    word = "ascending" if order == "asc" else "descending"
    assert f'aria-sort="{word}"' in page
    assert page.count("aria-sort=") == 1
    bad = client.get(f"/api/kommune/{ZONE}/erreichbarkeit", params={"sort": "x"})
    assert bad.status_code == 422


def test_page_shows_the_numbers_with_sources_and_years(
    client: TestClient, view: dict[str, Any]
) -> None:
    page = client.get(f"/kommune/{ZONE}/erreichbarkeit")
    assert page.status_code == 200
    text = _text(page.text)
    town = view["town"]
    assert format_number(town["travel_time_min"], 1, "de") in text
    assert view["sentence"] in text
    share = next(c for c in view["coverage"] if c["age_group"] == "75+")["shares"]["15"]
    assert view["sentence"].startswith(format_number(100 * share, 0, "de") + " von 100")
    for r in view["gemeinden"]:
        assert r["name"] in text
    # every table names sources and years: boundaries (VG250 2021), hospitals (G-BA 2019),
    # population (estimated 2019), and the method
    assert text.count("Quelle:") >= 3
    assert "GeoBasis-DE / BKG" in text
    assert "G-BA" in text
    assert "2021" in text
    assert "2019" in text
    assert "Luftlinie × 1,3 bei 50 km/h" in text
    en = _text(client.get(f"/kommune/{ZONE}/erreichbarkeit", params={"lang": "en"}).text)
    assert "straight line × 1.3 at 50 km/h" in en
    assert format_number(town["travel_time_min"], 1, "en") in en


def test_the_map_is_an_accessible_svg_of_the_kreis(
    client: TestClient, view: dict[str, Any]
) -> None:
    page = client.get(f"/kommune/{ZONE}/erreichbarkeit").text
    svg = re.search(r"<svg.*?</svg>", page, flags=re.S)
    assert svg is not None
    s = svg.group(0)
    assert 'role="img"' in s
    assert 'aria-labelledby="karte-title karte-desc"' in s
    assert s.count("<path ") == len(view["gemeinden"])  # one polygon per Gemeinde
    assert s.count('stroke-width="2.5"') == 1  # the town itself, outlined
    assert "style=" not in s
    assert "Helios Klinik Hettstedt" in s  # the hospital sites as points with their names
    assert s.count("<circle ") >= 5
    town = view["town"]
    assert f"{town['name']}: {format_number(town['travel_time_min'], 1, 'de')} min" in s
    # the same bytes for the same store
    again = re.search(r"<svg.*?</svg>", client.get(f"/kommune/{ZONE}/erreichbarkeit").text, re.S)
    assert again is not None
    assert again.group(0) == s


def test_a_kreis_page_and_the_read_door(client: TestClient, reader: RecordingReader) -> None:
    reader.reads.clear()
    v = client.get(f"/api/kommune/{KREIS}/erreichbarkeit").json()
    assert v["area"]["zone"] == KREIS
    assert v["town"] is None
    assert len(v["gemeinden"]) == 22
    assert ("access", KREIS) in reader.reads
    assert client.get("/api/kommune/15087221/erreichbarkeit").status_code == 404
    nav = client.get(f"/kommune/{ZONE}").text
    assert f'href="/kommune/{ZONE}/erreichbarkeit"' in nav


def test_templates_are_ready_for_a_strict_csp() -> None:
    """No inline script, no inline style, no inline event handler in any template."""
    for path in TEMPLATES.glob("*.html"):
        body = path.read_text(encoding="utf-8")
        assert "style=" not in body, path.name
        assert "<style" not in body, path.name
        assert not re.search(r"\son[a-z]+=", body), path.name
        for tag in re.findall(r"<script[^>]*>", body):
            assert "src=" in tag, (path.name, tag)


def test_the_scenario_form_as_a_browser_sends_it(client: TestClient) -> None:
    """A plain form (and htmx) sends every field, the empty births control as ``geburten=``."""
    base = client.get(f"/api/kommune/{ZONE}/szenarien").json()
    empty = client.get(f"/api/kommune/{ZONE}/szenarien?zuzug=0&bleiben=0&geburten=")
    assert empty.status_code == 200
    assert empty.json()["population"] == base["population"]
    comma = client.get(f"/api/kommune/{ZONE}/szenarien", params={"geburten": "1,8"}).json()
    dot = client.get(f"/api/kommune/{ZONE}/szenarien", params={"geburten": "1.8"}).json()
    assert comma["levers"]["tfr"] == 1.8
    assert comma["population"] == dot["population"]
    for bad in ("viele", "4", "0,2"):
        r = client.get(f"/kommune/{ZONE}/szenarien", params={"geburten": bad})
        assert r.status_code == 400
        assert f"nicht „{bad}“" in _text(r.text)
        assert "Traceback" not in r.text

"""Facility lists: G-BA hospitals, generic CSV and GeoJSON (wandel.sources.facilities)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wandel.errors import DuplicateKeyError, InputFormatError, MissingColumnError
from wandel.sources import facilities
from wandel.sources.facilities import check_coordinates

HOSPITALS = "einrichtungen/krankenhaeuser_gba_2015-2019.csv"


@pytest.fixture(scope="module")
def hospitals(shared_data: Path) -> pd.DataFrame:
    batch = facilities.read(shared_data / HOSPITALS)
    assert batch.rows_read == 11_326
    assert batch.meta.licence.startswith("© G-BA")
    return batch.tables["facilities"]


def test_sites_per_year_match_raw_count(hospitals: pd.DataFrame, shared_data: Path) -> None:
    with open(shared_data / HOSPITALS, encoding="utf-8", newline="") as fh:
        raw = Counter(int(row["year"]) for row in csv.DictReader(fh))
    assert raw == {2015: 2209, 2016: 2267, 2017: 2285, 2018: 2277, 2019: 2288}
    assert hospitals.groupby("year").size().to_dict() == dict(raw)
    assert not hospitals.duplicated(["facility_id", "year"]).any()
    assert (hospitals["kind"] == "hospital").all()
    assert (hospitals["capacity"] >= 0).all()


def test_coordinates_inside_germany(hospitals: pd.DataFrame) -> None:
    located = hospitals.dropna(subset=["lat", "lon"])  # the rest: fallbacks (test_hospital_points)
    assert len(located) > 0.9 * len(hospitals)
    assert located["lat"].between(47.27, 55.06).all()
    assert located["lon"].between(5.87, 15.04).all()


@pytest.mark.parametrize(
    ("city", "sites"),
    [
        ("Hettstedt", 1),
        ("Lutherstadt Eisleben", 1),
        ("Sangerhausen", 1),
        ("Bautzen", 1),
        ("Görlitz", 2),
        ("Hoyerswerda", 1),
        ("Saalfeld", 4),
    ],
)
def test_seed_towns_have_hospitals(hospitals: pd.DataFrame, city: str, sites: int) -> None:
    here = hospitals[hospitals["address"].str.endswith(" " + city)]
    assert here["facility_id"].nunique() == sites
    assert (here.groupby("facility_id")["year"].nunique() >= 3).all()  # stable ids over years
    # the seed towns lie between 50.6 N (Saalfeld) and 51.7 N (Hettstedt); the source geocodes
    # Saalfeld's site 261600188-03 (operator address Rainweg 68) to 48.46 N 13.36 E, near Passau
    in_band = here["lat"].between(50.6, 51.7) & here["lon"].between(11.0, 15.0)
    assert in_band.all() or set(here.loc[~in_band, "facility_id"]) == {"261600188-03"}


def test_hettstedt_record(hospitals: pd.DataFrame, shared_data: Path) -> None:
    with open(shared_data / HOSPITALS, encoding="utf-8", newline="") as fh:
        raw = [r for r in csv.DictReader(fh) if r["city"] == "Hettstedt" and r["year"] == "2019"]
    assert len(raw) == 1
    h = hospitals.set_index(["facility_id", "year"]).loc[("261500882-02", 2019)]
    assert h["capacity"] == float(raw[0]["quantityBeds"])
    assert h["lat"] == float(raw[0]["lat"])
    attrs = json.loads(h["attributes"])
    assert attrs["quantityCasesFull"] == raw[0]["quantityCasesFull"]
    assert "lat" not in attrs
    assert "quantityBeds" not in attrs


def test_one_id_two_sites_disambiguated(hospitals: pd.DataFrame) -> None:
    split = hospitals[hospitals["facility_id"].str.startswith("260641722-06/")]
    assert sorted(set(split["facility_id"])) == ["260641722-06/01", "260641722-06/06"]
    assert set(split["year"]) == {2018, 2019}
    assert hospitals["facility_id"].str.contains("/").sum() == 24  # 12 (ID, year) pairs x 2


# ------------------------------------------------------------------ generic lists (fixtures)


def test_generic_csv(fixtures: Path) -> None:
    b = facilities.read(fixtures / "facilities" / "kitas.csv").tables["facilities"]
    assert b["facility_id"].tolist() == ["K1", "K2", "K3"]
    assert (b["year"] == facilities.DEFAULT_YEAR).all()
    assert b["capacity"].iloc[:2].tolist() == [85.0, 60.0]
    assert np.isnan(b["capacity"].iloc[2])
    assert json.loads(b["attributes"].iloc[0]) == {"operator": "Stadt Hettstedt"}
    assert pd.isna(b["attributes"].iloc[1])
    assert b["lat"].iloc[0] == pytest.approx(51.6469)


def test_semicolon_csv_decimal_comma_and_lat_first(fixtures: Path) -> None:
    batch = facilities.read(
        fixtures / "facilities" / "schools_semicolon.csv", year=2022, facility_kind="school"
    )
    b = batch.tables["facilities"]
    assert b["lat"].tolist() == pytest.approx([51.6469, 51.2949])
    assert b["lon"].tolist() == pytest.approx([11.4983, 14.1169])
    assert b["capacity"].tolist() == [240.0, 310.5]
    assert set(b["kind"]) == {"school"}
    assert set(b["year"]) == {2022}


def test_geojson(fixtures: Path) -> None:
    b = facilities.read(fixtures / "facilities" / "practices.geojson").tables["facilities"]
    assert b["facility_id"].tolist() == ["GP1", "GP2", "GP3"]
    assert b["year"].tolist() == [facilities.DEFAULT_YEAR, facilities.DEFAULT_YEAR, 2023]
    assert b["lon"].tolist() == pytest.approx([11.4983, 14.9877, 15.0045])
    assert json.loads(b["attributes"].iloc[0]) == {"opening": "Mo-Fr"}
    assert b["capacity"].iloc[0] == 1.5


def test_sniff(fixtures: Path, shared_data: Path) -> None:
    for p in [*(fixtures / "facilities").iterdir(), shared_data / HOSPITALS]:
        assert facilities.sniff(p, p.read_bytes()[:65536]), p
    other = (
        shared_data
        / "regionaldatenbank"
        / ("12612_12613_geburten_sterbefaelle_kreise_14_15_16_2020-2024.csv")
    )
    assert not facilities.sniff(other, other.read_bytes()[:65536])


# ------------------------------------------------------------------ coordinates


@given(st.floats(47.0, 55.1), st.floats(5.8, 15.1))
@settings(max_examples=100, deadline=None)
def test_points_in_germany_pass_and_swapped_fail(lat: float, lon: float) -> None:
    check_coordinates("f.csv", np.array([lon]), np.array([lat]), lines=[2])
    with pytest.raises(InputFormatError, match="swapped") as info:
        check_coordinates("f.csv", np.array([lat]), np.array([lon]), lines=[2])
    assert info.value.line == 2
    assert info.value.column == "lat"


# ------------------------------------------------------------------ bad input

KITAS_HEADER = "id,lon,lat,name,kind,capacity,operator"

BAD_CSV = [
    # name, text, error, line, column, value
    ("lat/lon swapped", "id,lon,lat\nA,51.65,11.50\n", InputFormatError, 2, "lat", "11.50"),
    ("lat out of range", "id,lon,lat\nA,11.5,95.0\n", InputFormatError, 2, "lat", "95.0"),
    ("lon out of range", "id,lon,lat\nA,-181,51.5\n", InputFormatError, 2, "lon", "-181"),
    ("text coordinate", "id,lon,lat\nA,11.5,north\n", InputFormatError, 2, "lat", "north"),
    (
        "decimal comma in comma CSV",
        'id,lon,lat\nA,"11,5",51.6\n',
        InputFormatError,
        2,
        "lon",
        "11,5",
    ),
    ("duplicate id", "id,lon,lat\nA,11.5,51.6\nA,11.6,51.7\n", DuplicateKeyError, 3, "id", "A"),
    ("missing id", "id,lon,lat\nA,11.5,51.6\n,11.6,51.7\n", InputFormatError, 3, "id", ""),
    ("missing lat column", "id,lon,name\nA,11.5,x\n", MissingColumnError, 1, "lat", None),
    (
        "negative capacity",
        "id,lon,lat,capacity\nA,11.5,51.6,-3\n",
        InputFormatError,
        2,
        "capacity",
        "-3",
    ),
    (
        "text capacity",
        "id,lon,lat,capacity\nA,11.5,51.6,viele\n",
        InputFormatError,
        2,
        "capacity",
        "viele",
    ),
    ("bad year", "id,lon,lat,year\nA,11.5,51.6,neu\n", InputFormatError, 2, "year", "neu"),
    ("ragged row", "id,lon,lat\nA,11.5,51.6,extra\n", InputFormatError, 2, None, None),
    ("empty file", "", InputFormatError, 1, None, None),
    ("header only", "id,lon,lat\n", InputFormatError, 2, None, None),
    ("swapped in semicolon file", "id;lat;lon\nA;11,5;51,6\n", InputFormatError, 2, "lat", "11,5"),
]


@pytest.mark.parametrize(
    ("name", "text", "error", "line", "column", "value"), BAD_CSV, ids=[b[0] for b in BAD_CSV]
)
def test_bad_csv(
    tmp_path: Path,
    name: str,
    text: str,
    error: type[InputFormatError],
    line: int,
    column: str | None,
    value: str | None,
) -> None:
    p = tmp_path / "f.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(error) as info:
        facilities.read(p)
    exc = info.value
    assert exc.file == str(p)
    assert exc.line == line
    assert exc.column == column
    if value is not None:
        assert exc.value == value
    assert exc.expected


def test_swap_message_suggests_exchange(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text("id,lon,lat\nA,51.65,11.50\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="exchange the columns"):
        facilities.read(p)


def test_hospital_outside_germany_refused(tmp_path: Path, shared_data: Path) -> None:
    lines = (shared_data / HOSPITALS).read_text(encoding="utf-8").splitlines()[:3]
    # move the second site to Vienna (48.21 N, 16.37 E): valid WGS84, not in Germany
    lines[2] = lines[2].rsplit(",", 2)[0] + ",48.2082,16.3738"
    p = tmp_path / "kh.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="outside Germany") as info:
        facilities.read(p)
    assert info.value.line == 3
    assert info.value.column == "lat"


def _feature(coords: object, **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": {"id": "A", **props},
    }


BAD_JSON = [
    ("not a FeatureCollection", {"type": "Feature"}, "type", "Feature"),
    ("a list", [1, 2], "type", "list"),
    ("no features", {"type": "FeatureCollection", "features": []}, "features", []),
    (
        "polygon geometry",
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": {"type": "Polygon"}, "properties": {}}],
        },
        "features[0].geometry",
        "Polygon",
    ),
    (
        "lat/lon swapped",
        {"type": "FeatureCollection", "features": [_feature([51.6, 11.5])]},
        "features[0].geometry.coordinates",
        [51.6, 11.5],
    ),
    (
        "text coordinate",
        {"type": "FeatureCollection", "features": [_feature([11.5, "51.6"])]},
        "features[0].geometry.coordinates",
        [11.5, "51.6"],
    ),
    (
        "duplicate id",
        {"type": "FeatureCollection", "features": [_feature([11.5, 51.6]), _feature([11.6, 51.7])]},
        "properties.id",
        "A",
    ),
    (
        "missing id",
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [11.5, 51.6]}}
            ],
        },
        "properties.id",
        "",
    ),
    (
        "negative capacity",
        {"type": "FeatureCollection", "features": [_feature([11.5, 51.6], capacity=-1)]},
        "features[0].properties.capacity",
        -1,
    ),
]


@pytest.mark.parametrize(("name", "doc", "column", "value"), BAD_JSON, ids=[b[0] for b in BAD_JSON])
def test_bad_geojson(tmp_path: Path, name: str, doc: object, column: str, value: object) -> None:
    p = tmp_path / "f.geojson"
    p.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        facilities.read(p)
    assert info.value.file == str(p)
    assert info.value.column == column
    assert info.value.value == value
    assert info.value.expected


@pytest.mark.parametrize(
    ("text", "line"), [("", 1), ('{"type": "FeatureCollection",\n "features": [}', 2)]
)
def test_empty_or_broken_geojson(tmp_path: Path, text: str, line: int) -> None:
    p = tmp_path / "f.geojson"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        facilities.read(p)
    assert info.value.line == line

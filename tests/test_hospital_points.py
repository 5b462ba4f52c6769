"""Hospital coordinates that are a geocoder's fallback (one point for sites of different hospitals
at different addresses, e.g. Neumünster and Freyung on the centre of Germany) are found by the
reader and left without a coordinate; the demo extract and the real G-BA list hold no other shared
point (several sites of one hospital on one point are allowed)."""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wandel.sources import facilities
from wandel.sources.base import ImportBatch
from wandel.sources.facilities import NOT_LOCATED, fallback_points
from wandel.store import Store
from wandel.workflow.demo import load_demo_store
from wandel.workflow.points import destinations_from_store

HOSPITALS = "einrichtungen/krankenhaeuser_gba_2015-2019.csv"
DEMO = "krankenhaeuser_gba_2015-2019__facilities.parquet"
CENTRE_OF_GERMANY = (51.0109892, 10.845346)


def _street(text: str) -> str:
    t = html.unescape(str(text)).casefold()
    t = re.sub(r"(strasse|straße|str\.)", "str", t)
    return re.sub(r"[^0-9a-zäöüß]", "", t)


def _parts(address: str | None) -> tuple[str, str]:
    """(street and number, PLZ) of an ``address`` as the reader writes it ("street no, PLZ Ort")."""
    a = str(address or "")
    head, _, place = a.rpartition(", ")
    plz = place.split(" ")[0] if place[:1].isdigit() else ""
    return _street(head), plz


def shared_points(frame: pd.DataFrame) -> list[list[str]]:
    """A naive oracle: the points whose rows do not all hang together through one IK number or one
    address (street, number, PLZ), step by step (a hospital that moved keeps its IK number; a
    second hospital at its address is at the same place): sites of different hospitals at
    different places on one point."""
    located = frame.dropna(subset=["lat", "lon"])
    bad = []
    for _, g in located.groupby(["lat", "lon"]):
        if g["facility_id"].nunique() < 2:
            continue
        ik = g["facility_id"].astype(str).str.split("-").str[0].tolist()
        addr = [_parts(a) for a in g["address"]]
        reached, todo = {0}, [0]
        while todo:  # breadth-first over "same IK or same address"
            i = todo.pop()
            for j in range(len(g)):
                if j not in reached and (ik[i] == ik[j] or addr[i] == addr[j]):
                    reached.add(j)
                    todo.append(j)
        if len(reached) < len(g):
            bad.append(sorted(set(g["facility_id"].astype(str))))
    return bad


@pytest.fixture(scope="module")
def batch(shared_data: Path) -> ImportBatch:
    return facilities.read(shared_data / HOSPITALS)


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    path = Path(str(resources.files("wandel") / "data" / "demo" / DEMO))
    return pd.read_parquet(path)


def test_rule_on_a_small_list() -> None:
    lon = np.array([13.7, 13.7, 10.8, 10.8, 12.98, 12.98, 12.98, 12.2, 12.2])
    lat = np.array([51.0, 51.0, 51.0, 51.0, 50.98, 50.98, 50.98, 50.6, 50.6])
    got = fallback_points(
        # one hospital, two sites; two hospitals on one point; a majority; a site that moved
        ["1-01", "1-02", "2-00", "3-00", "4-01", "4-02", "5-00", "6-01", "6-01"],
        ["Friedrichstr.", "Friedrichstraße", "A", "B", "C", "C", "D", "E", "F"],
        ["41", "41", "1", "2", "3", "3", "4", "5", "6"],
        ["01067", "01067", "24536", "94078", "09648", "09648", "09599", "07973", "07646"],
        lon,
        lat,
    )
    assert got.tolist() == [False, False, True, True, False, False, True, True, True]


def test_real_list_has_no_shared_fallback(batch: ImportBatch) -> None:
    f = batch.tables["facilities"]
    assert shared_points(f) == []
    marked = f["lat"].isna()
    assert (f["lon"].isna() == marked).all()
    # the count is in the import notes, and every marked row carries the flag
    (reason, n) = batch.rejected[0]
    assert reason == "@sources.rejected.hospital_not_located"
    assert n == int(marked.sum())
    flags = f.loc[marked, "attributes"].map(lambda a: NOT_LOCATED in json.loads(a))
    assert flags.all()
    # a few per cent of the rows, in every year (the rest keep the source's coordinate)
    assert 0.02 < marked.mean() < 0.08
    assert set(f.loc[marked, "year"]) == {2015, 2016, 2017, 2018, 2019}
    located = f[~marked]
    assert located["lat"].between(47.27, 55.06).all()
    assert located["lon"].between(5.87, 15.04).all()


def _site(f: pd.DataFrame, fid: str) -> pd.DataFrame:
    return f[f["facility_id"] == fid]


def test_known_cases(batch: ImportBatch) -> None:
    f = batch.tables["facilities"]
    at_centre = (f["lat"] == CENTRE_OF_GERMANY[0]) & (f["lon"] == CENTRE_OF_GERMANY[1])
    assert not at_centre.any()
    # no majority: every row on the point is marked
    for fid in ("260102673-00", "260921231-03", "261460010-00", "261460021-00", "261401303-01"):
        assert _site(f, fid)["lat"].isna().all(), fid
    # a majority keeps its point: Mittweida (5 of 9 rows), Greiz (5 of 9), Döbeln (5 of 6)
    for fid, lat in (("261410155-02", 50.9810282), ("261600315-00", 50.6627541)):
        assert (_site(f, fid)["lat"] == lat).all(), fid
    assert _site(f, "261430046-00")["lat"].notna().all()
    assert _site(f, "261400972-02")["lat"].isna().all()  # Freiberg on Mittweida's point
    assert _site(f, "261601098-02")["lat"].isna().all()  # Stadtroda on Greiz's point
    # one site at one address keeps its point; in the year it was elsewhere it is marked
    dd = _site(f, "261400949-02").set_index("year")
    assert dd.loc[[2015, 2016, 2017], "lat"].isna().all()
    assert dd.loc[[2018, 2019], "lat"].notna().all()
    # several sites of one hospital at one address stay on one point
    one = f[f["facility_id"].isin(["261400949-01", "261400949-03"]) & (f["year"] == 2019)]
    assert one["lat"].notna().all()


def test_demo_extract_has_no_shared_fallback(demo: pd.DataFrame) -> None:
    assert shared_points(demo) == []
    at_centre = (demo["lat"] == CENTRE_OF_GERMANY[0]) & (demo["lon"] == CENTRE_OF_GERMANY[1])
    assert not at_centre.any()
    # Neumünster and Freyung (outside the three Länder) are no longer in the extract
    assert not demo["facility_id"].isin(["260102673-00", "260921231-03"]).any()
    # sites of the three Länder without a coordinate stay in it (by their IK number), flagged
    unplaced = demo[demo["lat"].isna()]
    assert len(unplaced) > 0
    assert unplaced["facility_id"].str[2:4].isin(["14", "15", "16"]).all()
    assert unplaced["attributes"].map(lambda a: NOT_LOCATED in json.loads(a)).all()
    assert {"261460010-00", "261460021-00", "261400972-02"} <= set(unplaced["facility_id"])


def test_access_leaves_them_out_and_says_so(demo: pd.DataFrame, tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        load_demo_store(store)
        dest = destinations_from_store(store, "hospital")
    year = int(demo["year"].max())
    latest = demo[demo["year"] == year]
    assert len(dest) == int(latest["lat"].notna().sum())
    assert dest["lat"].notna().all()
    assert set(dest.attrs["not_located"]) == set(latest.loc[latest["lat"].isna(), "facility_id"])
    assert len(dest.attrs["not_located"]) > 0

"""Format detection (`--kind auto`) on every real file, and refusal of unknown formats by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from wandel.errors import UnknownFormatError
from wandel.sources.registry import READER_NAMES, detect

EXPECTED = {
    "dresden/dresden_einwohnerprognose_einzelalter_2025_2040.csv": "kommunal",
    "dresden/dresden_amtliche_einwohnerzahl_statistisches_landesamt_1999_2025.csv": "kommunal",
    "statistik/12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv": "genesis-classic",
    "statistik/12411-0018_kreise_geschlecht_altersgruppen_2015-2017.csv": "genesis-classic",
    "statistik/12411-0005_deutschland_altersjahre_2000-2021.csv": "genesis-classic",
    "statistik/12421-0002_deutschland_vorausberechnung_15kBV_variante01.csv": "genesis-classic",
    "statistik/12612-0001.csv": "genesis-classic",
    "statistik/12612-0005.csv": "genesis-classic",
    "statistik/12612-0008.csv": "genesis-classic",
    "statistik/12612-0009.csv": "genesis-classic",
    "statistik/12612-0011.csv": "genesis-classic",
    "statistik/12612-0014.csv": "genesis-classic",
    "statistik/12621-0001_qx_1991-93_bis_2022-24_DE.csv": "genesis-classic",
    "statistik/12621-0001_full_Sterbetafel2016-2018.csv": "genesis-classic",
    "statistik/12621-0001_full_Sterbetafel2020-2022.csv": "genesis-classic",
    "statistik/12621-0001_full_Sterbetafel2022-2024.csv": "genesis-classic",
    "statistik/22411-02-03-4_pflegebeduerftige_kreise_2015-2019.csv": "genesis-classic",
    "statistik/12612-0008_asfr_deutschland_1972-2023_long.csv": "rdb-tidy",
    "regionaldatenbank/12612_12613_geburten_sterbefaelle_kreise_14_15_16_2020-2024.csv": "rdb-tidy",
    "regionaldatenbank/12711-01-03-4_wanderungen_kreise_14_15_16_2020_2023_2024.csv": "rdb-tidy",
    "gemeindeverzeichnis/31122009_Auszug_GV.xlsx": "gv-isys",
    "gemeindeverzeichnis/31122013_Auszug_GV.xlsx": "gv-isys",
    "gemeindeverzeichnis/31122017_Auszug_GV.xlsx": "gv-isys",
    "gemeindeverzeichnis/AuszugGV4QAktuell_2019.csv": "gv-isys",
    "geometrie/VG250_GEM_simplified.zip": "vg250",
    "geometrie/VG250_DE_simplified.zip": "vg250",
    "geometrie/VG250_LAN_mesh_simplified.zip": "vg250",
    "einrichtungen/krankenhaeuser_gba_2015-2019.csv": "facilities",
}


@pytest.mark.parametrize(("rel", "kind"), sorted(EXPECTED.items()))
def test_every_real_file_is_recognised(shared_data: Path, rel: str, kind: str) -> None:
    assert detect(shared_data / rel) == kind


def test_every_reader_is_exercised() -> None:
    # ffcsv, measures and gv100ad have no file in ../shared/data: their fixtures and the shipped
    # seed register are detected in test_ffcsv.py, test_source_measures.py and test_gv100ad.py
    others = {"genesis-ffcsv", "measures", "gv100ad"}
    assert set(EXPECTED.values()) | others == set(READER_NAMES)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", b"Einkaufsliste\nBrot\n"),
        ("data.csv", b"a,b,c\n1,2,3\n"),
        ("x.json", b'{"name": "Wandel", "list": [1, 2]}'),
        ("bild.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("empty.csv", b""),
        ("osm.osm", b"<?xml version='1.0'?><osm version='0.6'></osm>"),
    ],
)
def test_unknown_formats_are_refused_by_name(tmp_path: Path, name: str, content: bytes) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(UnknownFormatError) as info:
        detect(f)
    assert name in str(info.value)

"""VG250 boundaries from zipped shapefiles (wandel.sources.vg250)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Polygon, box

from wandel.errors import DuplicateKeyError, InputFormatError, MissingColumnError
from wandel.sources import vg250
from wandel.sources.vg250 import ags_from_ars

GEO = "geometrie"


def _areas_km2(frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(shapely.area(shapely.from_wkb(frame["geometry"].to_numpy())) / 1e6)


@pytest.fixture(scope="module")
def gem(shared_data: Path) -> vg250.ImportBatch:
    return vg250.read(shared_data / GEO / "VG250_GEM_simplified.zip")


def test_gemeinden_count_keys_and_crs(gem: vg250.ImportBatch) -> None:
    b = gem.tables["boundaries"]
    g = b[b["level"] == "gemeinde"]
    assert len(g) == 10_990
    assert gem.rows_read == 10_990
    assert g["zone"].str.fullmatch(r"\d{8}").all()
    assert g["zone"].is_unique
    assert set(b["crs"]) == {"EPSG:25832"}
    assert set(b["valid_year"]) == {vg250.DEFAULT_VALID_YEAR} == {2021}
    # 37 self-intersecting simplified polygons were repaired, and the provenance says so
    assert "37 invalid geometries repaired" in gem.meta.title
    assert shapely.is_valid(shapely.from_wkb(b["geometry"].to_numpy())).all()


def test_hettstedt_ars_to_ags(gem: vg250.ImportBatch, shared_data: Path) -> None:
    import pyogrio

    ars = pyogrio.read_dataframe(
        shared_data / GEO / "VG250_GEM_simplified.zip", read_geometry=False
    )["ARS"]
    assert "150870220220" in set(ars)  # Hettstedt: Kreis 15087, Verband 0220, Gemeinde 220
    assert ags_from_ars("150870220220") == "15087220"
    b = gem.tables["boundaries"].set_index("zone")
    assert b.loc["15087220", "level"] == "gemeinde"
    area = _areas_km2(b.loc[["15087220"]].reset_index())[0]
    assert area == pytest.approx(36.7, rel=0.03)  # GV 2019: 36.72 km2
    # every AGS is the documented slice of its ARS
    oracle = {a[:5] + a[9:] for a in ars}
    assert oracle == set(b.index[b["level"] == "gemeinde"])


def test_sachsen_anhalt_area_and_laender(gem: vg250.ImportBatch) -> None:
    b = gem.tables["boundaries"]
    areas = pd.Series(_areas_km2(b), index=b.index)
    g = b["level"] == "gemeinde"
    st_area = areas[g & b["zone"].str.startswith("15")].sum()
    assert st_area == pytest.approx(20_450, rel=0.02)  # Sachsen-Anhalt, official 20,452 km2
    laender = b[b["level"] == "land"]
    assert sorted(laender["zone"]) == [f"{i:02d}" for i in range(1, 17)]
    land_area = areas[b["level"] == "land"].set_axis(laender["zone"])
    assert land_area["15"] == pytest.approx(st_area, rel=1e-3)
    assert land_area["09"] == pytest.approx(70_542, rel=0.01)  # Bayern
    kreise = b[b["level"] == "kreis"]
    assert len(kreise) == 400
    # the dissolved levels cover the same area as the Gemeinden (slivers aside)
    assert areas[b["level"] == "land"].sum() == pytest.approx(areas[g].sum(), rel=1e-4)


def test_germany_outline(shared_data: Path, gem: vg250.ImportBatch) -> None:
    de = vg250.read(shared_data / GEO / "VG250_DE_simplified.zip").tables["boundaries"]
    assert de[["zone", "level"]].to_dict("records") == [{"zone": "DG", "level": "bund"}]
    assert _areas_km2(de)[0] == pytest.approx(357_588, rel=0.01)  # Destatis: 357,588 km2
    g = gem.tables["boundaries"]
    assert _areas_km2(g[g["level"] == "gemeinde"]).sum() == pytest.approx(_areas_km2(de)[0], 1e-3)


def test_laender_mesh_reads_as_border_lines(shared_data: Path) -> None:
    """The Länder mesh is keyless lines: one row of Land border lines for maps, zone DG.

    Independent check: every vertex of the mesh lies on the border of a Land dissolved from the
    Gemeinde polygons, and the mesh touches the border of each of the 16 Länder.
    """
    batch = vg250.read(shared_data / GEO / "VG250_LAN_mesh_simplified.zip")
    b = batch.tables["boundaries"]
    assert b[["zone", "level"]].to_dict("records") == [{"zone": "DG", "level": "border_lines"}]
    assert batch.rows_read == 1265
    mesh = shapely.from_wkb(b["geometry"].iloc[0])
    gem = vg250.read(shared_data / GEO / "VG250_GEM_simplified.zip").tables["boundaries"]
    lander = shapely.from_wkb(gem.loc[gem["level"] == "land", "geometry"].to_numpy())
    assert len(lander) == 16
    borders = shapely.union_all(shapely.boundary(lander))
    vertices = shapely.points(shapely.get_coordinates(mesh)[::10])
    assert float(shapely.distance(vertices, borders).max()) < 1.0  # metres
    assert all(shapely.distance(shapely.boundary(land), mesh) < 1.0 for land in lander)


def test_sniff(shared_data: Path, tmp_path: Path) -> None:
    p = shared_data / GEO / "VG250_GEM_simplified.zip"
    assert vg250.sniff(p, p.read_bytes()[:65536])
    other = tmp_path / "data.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("table.csv", "a,b\n1,2\n")
    assert not vg250.sniff(other, other.read_bytes())
    csv = (
        shared_data
        / "regionaldatenbank"
        / next(f.name for f in (shared_data / "regionaldatenbank").iterdir())
    )
    assert not vg250.sniff(csv, csv.read_bytes()[:100])


# ------------------------------------------------------------------ hand-made shapefiles


def _zip_shapefile(
    tmp_path: Path,
    name: str,
    frame: gpd.GeoDataFrame,
    drop: tuple[str, ...] = (),
) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    frame.to_file(folder / f"{name}.shp", engine="pyogrio")
    out = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(folder.iterdir()):
            if f.suffix not in drop:
                zf.write(f, f.name)
    return out


def _two_gemeinden(**extra: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ARS": ["150870220220", "150870220205"], **extra},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 3000, 1000)],
        crs="EPSG:25832",
    )


def test_small_file_keys_years_and_derived_levels(tmp_path: Path) -> None:
    p = _zip_shapefile(tmp_path, "gem", _two_gemeinden(STAND=["31.12.2019", "31.12.2019"]))
    b = vg250.read(p).tables["boundaries"]
    assert b[["zone", "level", "valid_year"]].to_dict("records") == [
        {"zone": "15087220", "level": "gemeinde", "valid_year": 2019},
        {"zone": "15087205", "level": "gemeinde", "valid_year": 2019},
        {"zone": "15087", "level": "kreis", "valid_year": 2019},
        {"zone": "15", "level": "land", "valid_year": 2019},
    ]
    assert _areas_km2(b).tolist() == pytest.approx([1.0, 2.0, 3.0, 3.0])
    only = vg250.read(p, derive=()).tables["boundaries"]
    assert list(only["level"]) == ["gemeinde", "gemeinde"]


def test_valid_year_parameter_and_repair(tmp_path: Path) -> None:
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    frame = gpd.GeoDataFrame({"AGS": ["15087220"]}, geometry=[bowtie], crs="EPSG:25832")
    p = _zip_shapefile(tmp_path, "bow", frame)
    batch = vg250.read(p, valid_year=2019)
    b = batch.tables["boundaries"]
    assert b.loc[b["level"] == "gemeinde", "valid_year"].tolist() == [2019]
    assert _areas_km2(b)[0] * 1e6 == pytest.approx(50.0)  # two triangles of 25 m2
    assert "1 invalid geometries repaired" in batch.meta.title
    with pytest.raises(InputFormatError, match="Self-intersection") as info:
        vg250.read(p, repair_invalid=False)
    assert info.value.line == 1
    assert info.value.column == "geometry"


def _bad_zip_without_shp(tmp_path: Path) -> Path:
    p = tmp_path / "noshp.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.txt", "no shapefile here")
    return p


def _bad_not_a_zip(tmp_path: Path) -> Path:
    p = tmp_path / "broken.zip"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    return p


def _bad_empty_zip_file(tmp_path: Path) -> Path:
    p = tmp_path / "empty.zip"
    p.write_bytes(b"")
    return p


def _bad_no_key(tmp_path: Path) -> Path:
    f = gpd.GeoDataFrame({"NAME": ["x"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:25832")
    return _zip_shapefile(tmp_path, "nokey", f)


def _bad_short_ars(tmp_path: Path) -> Path:
    return _zip_shapefile(
        tmp_path, "short", _two_gemeinden().assign(ARS=["150870220220", "15087022020"])
    )


def _bad_duplicate(tmp_path: Path) -> Path:
    return _zip_shapefile(tmp_path, "dup", _two_gemeinden().assign(ARS=["150870220220"] * 2))


def _bad_lines(tmp_path: Path) -> Path:
    f = gpd.GeoDataFrame(
        {"ARS": ["150870220220"]}, geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:25832"
    )
    return _zip_shapefile(tmp_path, "lines", f)


def _bad_no_prj(tmp_path: Path) -> Path:
    return _zip_shapefile(tmp_path, "noprj", _two_gemeinden(), drop=(".prj",))


def _bad_degenerate(tmp_path: Path) -> Path:
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])  # zero area: make_valid leaves a line
    f = gpd.GeoDataFrame({"ARS": ["150870220220"]}, geometry=[flat], crs="EPSG:25832")
    return _zip_shapefile(tmp_path, "flat", f)


BAD = {
    "zip without shp": (_bad_zip_without_shp, InputFormatError, None, None),
    "not a zip": (_bad_not_a_zip, InputFormatError, None, None),
    "empty file": (_bad_empty_zip_file, InputFormatError, None, None),
    "no ARS/AGS": (_bad_no_key, MissingColumnError, None, "ARS"),
    "ARS of 11 digits": (_bad_short_ars, InputFormatError, 2, "ARS"),
    "duplicate zone": (_bad_duplicate, DuplicateKeyError, 2, "ARS"),
    "line geometry": (_bad_lines, InputFormatError, 1, "geometry"),
    "no .prj": (_bad_no_prj, InputFormatError, None, None),
    "degenerate polygon": (_bad_degenerate, InputFormatError, 1, "geometry"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_shapefiles(tmp_path: Path, name: str) -> None:
    make, error, line, column = BAD[name]
    p = make(tmp_path)
    with pytest.raises(error) as info:
        vg250.read(p)
    exc = info.value
    assert exc.file == str(p)
    assert exc.line == line
    assert exc.column == column
    assert exc.expected
    assert str(p) in str(exc)


def test_ags_from_ars_rejects_other_lengths() -> None:
    with pytest.raises(ValueError, match="12-digit"):
        ags_from_ars("15087220")

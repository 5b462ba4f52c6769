"""Derive the bundled demo extract (Sachsen 14, Sachsen-Anhalt 15, Thüringen 16) from ../shared/data.

Reads every official file with Wandel's own readers, keeps the rows of the three states (and Germany-wide
reference tables: life tables, fertility, births), and writes one Parquet file per (source, table) into
``src/wandel/data/demo/`` together with ``sources.json`` (the provenance of each source: file, SHA-256,
table code, producer, licence) and ``SOURCES.md``. The raw files are never copied.

Usage: ``python scripts/build_demo.py [--shared ../shared/data]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from wandel.sources.registry import read

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "wandel" / "data" / "demo"
STATES = ("14", "15", "16")

DRESDEN = {"zone": "14612000"}
# (relative path, keep Germany-level rows too?, reader options)
SOURCES: list[tuple[str, bool] | tuple[str, bool, dict[str, str]]] = [
    ("gemeindeverzeichnis/31122009_Auszug_GV.xlsx", False),
    ("gemeindeverzeichnis/31122013_Auszug_GV.xlsx", False),
    ("gemeindeverzeichnis/31122017_Auszug_GV.xlsx", False),
    ("gemeindeverzeichnis/AuszugGV4QAktuell_2019.csv", False),
    ("statistik/12411-0018_kreise_geschlecht_altersgruppen_2015-2017.csv", True),
    ("statistik/12411-04-02-4_kreise_geschlecht_altersjahre_2020.csv", True),
    ("statistik/12411-0005_deutschland_altersjahre_2000-2021.csv", True),
    ("statistik/12421-0002_deutschland_vorausberechnung_15kBV_variante01.csv", True),
    ("statistik/12612-0001.csv", True),
    ("statistik/12612-0005.csv", True),
    ("statistik/12612-0008.csv", True),
    ("statistik/12612-0009.csv", True),
    ("statistik/12612-0011.csv", True),
    ("statistik/12612-0014.csv", True),
    ("statistik/12621-0001_qx_1991-93_bis_2022-24_DE.csv", True),
    ("statistik/12621-0001_full_Sterbetafel2016-2018.csv", True),
    ("statistik/12621-0001_full_Sterbetafel2020-2022.csv", True),
    ("statistik/12621-0001_full_Sterbetafel2022-2024.csv", True),
    ("statistik/12612-0008_asfr_deutschland_1972-2023_long.csv", True),
    ("statistik/22411-02-03-4_pflegebeduerftige_kreise_2015-2019.csv", True),
    ("regionaldatenbank/12612_12613_geburten_sterbefaelle_kreise_14_15_16_2020-2024.csv", True),
    ("regionaldatenbank/12711-01-03-4_wanderungen_kreise_14_15_16_2020_2023_2024.csv", True),
    ("geometrie/VG250_GEM_simplified.zip", False),
    ("einrichtungen/krankenhaeuser_gba_2015-2019.csv", False),
    (
        "dresden/dresden_amtliche_einwohnerzahl_statistisches_landesamt_1999_2025.csv",
        False,
        DRESDEN,
    ),
    ("dresden/dresden_einwohnerprognose_einzelalter_2025_2040.csv", False, DRESDEN),
]


def _in_region(zone: pd.Series, keep_germany: bool) -> pd.Series:
    z = zone.astype("string")
    mask = z.str[:2].isin(STATES)
    if keep_germany:
        mask |= z == "DG"
    return mask.fillna(False)


def _facilities_in_region(frame: pd.DataFrame, boundaries: pd.DataFrame) -> pd.DataFrame:
    """Facilities whose point lies in the three Länder; a hospital site without a coordinate (the
    reader found its point to be a geocoder's fallback) by its IK number instead, whose digits 3-4
    are the Land of the hospital (26 14 ... Sachsen), so that the demo says it is left out."""
    import shapely
    from pyproj import Transformer

    lander = boundaries[boundaries["zone"].isin(STATES)]
    region = shapely.union_all(shapely.from_wkb(lander["geometry"].to_numpy()))
    crs = str(lander["crs"].iloc[0])
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        frame["lon"].to_numpy(), frame["lat"].to_numpy()
    )
    inside = shapely.contains_xy(region, x, y)
    ids = frame["facility_id"].astype(str)
    unplaced = frame["lon"].isna().to_numpy() | frame["lat"].isna().to_numpy()
    by_ik = ((frame["kind"] == "hospital") & ids.str[2:4].isin(STATES)).to_numpy()
    return frame[np.where(unplaced, by_ik, inside)]


def build(shared: Path, out: Path = OUT) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.parquet"):
        old.unlink()
    manifest: list[dict[str, object]] = []
    lander_boundaries: pd.DataFrame | None = None
    for rel, keep_germany, *opts in SOURCES:
        path = shared / rel
        options = opts[0] if opts else {}
        batch = read(path, **options)
        tables: dict[str, str] = {}
        for name, frame in batch.tables.items():
            if name == "facilities":
                if lander_boundaries is None:
                    raise RuntimeError("Länder boundaries must be read before facilities")
                kept = _facilities_in_region(frame, lander_boundaries)
            else:
                kept = frame[_in_region(frame["zone"], keep_germany)]
            if name == "boundaries":
                # the Gemeinde file also yields Kreise and Länder (dissolved from the Gemeinden)
                lander_boundaries = kept[kept["zone"].str.len() == 2]
            if kept.empty:
                continue
            stem = Path(rel).name.rsplit(".", 1)[0]
            fname = f"{stem}__{name}.parquet"
            kept.reset_index(drop=True).to_parquet(out / fname, index=False, compression="zstd")
            tables[name] = fname
        meta = batch.meta
        manifest.append(
            {
                "source": rel,
                "file": Path(meta.file).name,
                "sha256": meta.sha256,
                "kind": meta.kind,
                "table_code": meta.table_code,
                "title": meta.title,
                "producer": meta.producer,
                "licence": meta.licence,
                "rows_read": batch.rows_read,
                "options": options,
                "tables": tables,
            }
        )
        print(f"{rel}: {', '.join(f'{k}' for k in tables)}", file=sys.stderr)
    (out / "sources.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    lines = [
        "# Sources of the bundled demo extract",
        "",
        "Derived by `scripts/build_demo.py` from the official files listed below (rows of Sachsen 14,",
        "Sachsen-Anhalt 15 and Thüringen 16; Germany-wide reference tables kept whole). Changed by",
        "Wandel: filtered and converted to canonical long tables (eigene Berechnung).",
        "",
        "| file | table | producer | licence | sha256 |",
        "|---|---|---|---|---|",
    ]
    for m in manifest:
        lines.append(
            f"| {m['file']} | {m['table_code']} | {m['producer']} | {m['licence']} | "
            f"{str(m['sha256'])[:12]}… |"
        )
    (out / "SOURCES.md").write_text("\n".join(lines) + "\n")
    return {"sources": len(manifest)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    print(build(args.shared))


if __name__ == "__main__":
    main()

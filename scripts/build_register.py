"""Derive the shipped region register (``src/wandel/data/reference/regions_register.csv``).

From the Gemeindeverzeichnis files (GV-ISys Auszug GV) of ``../shared/data/gemeindeverzeichnis``:
every Land, Regierungsbezirk and Kreis with its official name, one row per GV year, and whether a
Kreis is a kreisfreie Stadt (its Gemeinde ``kreis + "000"`` exists). From the VG250 Gemeinde
boundaries of 2021 (``geometrie/VG250_GEM_simplified.zip``, keys only): the Kreise of 2021, each with
its 2019 name (a Kreis key of 2021 that is not in the 2019 GV would stop the script). Writes the CSV
and ``regions_register.md`` (sources with SHA-256, licence). Gemeinden are not shipped: the import
workflow adds them from the store's own GV records (:meth:`wandel.sources.register.Register.over`).

Usage: ``python scripts/build_register.py [--shared ../shared/data]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from wandel.sources.base import LICENCE_BKG, LICENCE_DESTATIS, sha256_of
from wandel.sources.register import Register
from wandel.sources.registry import read

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "wandel" / "data" / "reference"
GV_FILES = (
    "gemeindeverzeichnis/31122009_Auszug_GV.xlsx",
    "gemeindeverzeichnis/31122013_Auszug_GV.xlsx",
    "gemeindeverzeichnis/31122017_Auszug_GV.xlsx",
    "gemeindeverzeichnis/AuszugGV4QAktuell_2019.csv",
)
VG250 = "geometrie/VG250_GEM_simplified.zip"
VG250_YEAR = 2021


def gv_register(shared: Path) -> pd.DataFrame:
    frames = [read(shared / f).tables["gv_records"] for f in GV_FILES]
    reg = Register.from_gv_records(pd.concat(frames, ignore_index=True)).frame
    return reg[reg["level"].isin(["land", "regbez", "kreis"])]


def vg250_kreise(shared: Path, named: pd.DataFrame) -> pd.DataFrame:
    b = read(shared / VG250, valid_year=VG250_YEAR).tables["boundaries"]
    gem = set(b.loc[b["level"] == "gemeinde", "zone"].astype(str))
    kreise = sorted({z[:5] for z in gem})
    last = named[(named["level"] == "kreis") & (named["year"] == named["year"].max())]
    name_of = dict(zip(last["zone"], last["name"], strict=True))
    missing = [k for k in kreise if k not in name_of]
    if missing:
        raise SystemExit(f"Kreise of {VG250_YEAR} without a name in the last GV year: {missing}")
    return pd.DataFrame(
        {
            "year": VG250_YEAR,
            "zone": kreise,
            "level": "kreis",
            "name": [name_of[k] for k in kreise],
            "kreisfrei": [k + "000" in gem for k in kreise],
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    named = gv_register(args.shared)
    reg = pd.concat([named, vg250_kreise(args.shared, named)], ignore_index=True)
    reg = reg.sort_values(["year", "level", "zone"], kind="stable")
    OUT.mkdir(parents=True, exist_ok=True)
    reg.to_csv(OUT / "regions_register.csv", index=False, lineterminator="\n")
    lines = [
        "# Region register (regions_register.csv)",
        "",
        "Official names of Länder, Regierungsbezirke and Kreise by year, used to resolve region",
        "names in official tables (`wandel.sources.register`). Derived by",
        "`scripts/build_register.py` (eigene Berechnung: names and keys selected, kreisfreie",
        "Städte marked by their Gemeinde key `kreis + 000`).",
        "",
        "| source | SHA-256 | years |",
        "|---|---|---|",
    ]
    for f in GV_FILES:
        lines.append(f"| {Path(f).name} | `{sha256_of(args.shared / f)}` | GV-ISys Auszug GV |")
    lines.append(f"| {Path(VG250).name} | `{sha256_of(args.shared / VG250)}` | {VG250_YEAR} keys |")
    lines += [
        "",
        f"Gemeindeverzeichnis: {LICENCE_DESTATIS}.",
        f"VG250: {LICENCE_BKG}.",
        "",
        f"{len(reg)} rows; years {', '.join(str(y) for y in sorted(reg['year'].unique()))}.",
        "",
    ]
    (OUT / "regions_register.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {OUT / 'regions_register.csv'} ({len(reg)} rows)")


if __name__ == "__main__":
    main()

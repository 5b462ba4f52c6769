"""Destatis Gemeindeverzeichnis GV100AD: the fixed-width ASCII file of GV-ISys ("GV100 ASCII").

Record layout (Destatis, "Datensatzbeschreibung GV100AD"; the same positions are read by the R
package ``wiesbaden``, ``read_gv100()`` with ``data-raw/GV100ADfwf.csv``, by the Rust crate
``gv100ad`` and by the Python package ``gv100ad-py``). One record per line, 220 characters,
positions 1-based and inclusive:

==========  =====================================================================================
positions   field
==========  =====================================================================================
1-2         Satzart: 10 Land, 20 Regierungsbezirk, 30 Region (Baden-Württemberg), 40 Kreis,
            50 Gemeindeverband, 60 Gemeinde
3-10        Gebietsstand, ``YYYYMMDD``
11-12       Land
13          Regierungsbezirk (Satzart 20-60)
14-15       Kreis (40-60); for Satzart 30 position 14 is the region digit
16-18       Gemeinde (60)
19-22       Gemeindeverband (50, 60)
23-72       name
73-122      seat of the administration (10-50)
123-124     Textkennzeichen (40-60: e.g. 41 kreisfreie Stadt, 44 Landkreis, 63 Stadt)
129-139     area in hectares (60)
140-150     population, total (60)
151-161     population, male (60)
166-170     postcode of the administration (60)
171-175     ``*****`` where the Gemeinde has several postcodes
==========  =====================================================================================

Newer files are UTF-8, older ones ISO-8859-1 (both are accepted, decoded strictly). Keys: AGS =
Land + RB + Kreis + Gemeinde (8), Gemeindeverband = Kreis + VB (9), as in ``gv_records``.

Two honest limits. Wandel's ``gv_records`` are year-end states, so a file whose Gebietsstand is not
31 December is refused (Destatis publishes a year-end GV100AD for every year). And the record
layout does not say which reference date the population counts have: they are the latest year-end
figures available when the file was produced (a file of 30.04.2021 carries the counts of 31.12.2019,
checked against the Auszug GV). The counts are therefore imported only when the caller states their
year (``year=``, ``wandel import --year``), which must be the Gebietsstand year; otherwise
``gv_records`` carries names, hierarchy, area and postcode, and the counts are reported as left out.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wandel.errors import InconsistentTotalError, InputFormatError
from wandel.sources._text import decode_text
from wandel.sources.base import LICENCE_DESTATIS, ImportBatch, SourceMeta, sha256_of
from wandel.sources.gv_isys import LEVEL_OF_SATZART
from wandel.tables import conform

__all__ = ["FIELDS", "NAME", "read", "sniff"]

NAME = "gv100ad"

FIELDS: dict[str, tuple[int, int]] = {
    "satzart": (1, 2),
    "stand": (3, 10),
    "land": (11, 12),
    "rb": (13, 13),
    "kreis": (14, 15),
    "gem": (16, 18),
    "vb": (19, 22),
    "name": (23, 72),
    "sitz": (73, 122),
    "tkz": (123, 124),
    "area_ha": (129, 139),
    "pop_t": (140, 150),
    "pop_m": (151, 161),
    "postcode": (166, 170),
    "postcode_many": (171, 175),
}
"""Field -> (first, last) position, 1-based and inclusive (Datensatzbeschreibung GV100AD)."""

# key fields each Satzart carries; region records (30) put their digit at position 14
_KEY: dict[str, tuple[tuple[str, int, int], ...]] = {
    "10": (("land", 11, 12),),
    "20": (("land", 11, 12), ("rb", 13, 13)),
    "30": (("land", 11, 12), ("rb", 13, 13), ("region", 14, 14)),
    "40": (("land", 11, 12), ("rb", 13, 13), ("kreis", 14, 15)),
    "50": (("land", 11, 12), ("rb", 13, 13), ("kreis", 14, 15), ("vb", 19, 22)),
    "60": (("land", 11, 12), ("rb", 13, 13), ("kreis", 14, 15), ("gem", 16, 18)),
}
_RECORD = re.compile(r"(10|20|30|40|50|60)(\d{8})")
_MIN_LENGTH = 72  # up to the end of the name


def _field(line: str, name: str) -> str:
    a, b = FIELDS[name]
    return line[a - 1 : b]


def _err(
    file: str,
    line: int,
    field: str | None,
    value: object,
    expected: str,
    reason: str = "",
    fields: dict[str, object] | None = None,
) -> InputFormatError:
    column = None if field is None else f"{field} (positions {FIELDS[field][0]}-{FIELDS[field][1]})"
    return InputFormatError(
        file, line=line, column=column, value=value, expected=expected, reason=reason, fields=fields
    )


@dataclass(frozen=True)
class _Lines:
    file: str
    lines: list[str]
    numbers: list[int]


def _lines(data: bytes, file: str) -> _Lines:
    text, _enc = decode_text(data, file)
    out: list[str] = []
    nums: list[int] = []
    for i, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if line.strip() == "":
            continue
        out.append(line)
        nums.append(i)
    if not out:
        raise InputFormatError(
            file, line=1, reason="the file is empty", expected="GV100AD records (Satzart 10..60)"
        )
    return _Lines(file, out, nums)


def _record(ls: _Lines, i: int) -> re.Match[str]:
    line, n = ls.lines[i], ls.numbers[i]
    m = _RECORD.match(line)
    if m is None or len(line) < _MIN_LENGTH:
        raise _err(
            ls.file,
            n,
            "satzart",
            line[:24],
            "@sources.expected.gv100ad_record",
            "@sources.error.not_gv100ad",
            {"length": _MIN_LENGTH},
        )
    return m


def _stand(ls: _Lines) -> dt.date:
    """The one Gebietsstand of the file (every record carries it; line 1 is checked first)."""
    first = _record(ls, 0).group(2)
    stand = _year_end(ls, first)
    for i in range(1, len(ls.lines)):
        found = _record(ls, i).group(2)
        if found != first:
            raise _err(
                ls.file,
                ls.numbers[i],
                "stand",
                found,
                "@sources.expected.same_stand",
                fields={"stand": first},
            )
    return stand


def _year_end(ls: _Lines, first: str) -> dt.date:
    try:
        stand = dt.date(int(first[:4]), int(first[4:6]), int(first[6:]))
    except ValueError:
        raise _err(ls.file, ls.numbers[0], "stand", first, "a date YYYYMMDD") from None
    if (stand.month, stand.day) != (12, 31):
        raise _err(
            ls.file,
            ls.numbers[0],
            "stand",
            first,
            "@sources.expected.year_end",
            "@sources.error.not_year_end",
        )
    return stand


def _key(line: str, n: int, file: str) -> str:
    sa = line[:2]
    parts = []
    for name, a, b in _KEY[sa]:
        part = line[a - 1 : b]
        if not part.isdigit() or len(part) != b - a + 1:
            field = "kreis" if name == "region" else name
            raise _err(
                file, n, field, part, f"{b - a + 1} digit(s) (Satzart {sa})", "malformed key"
            )
        parts.append(part)
    return "".join(parts)


def _count(line: str, n: int, file: str, field: str) -> float:
    raw = _field(line, field).strip()
    if raw == "":
        return float("nan")
    if not raw.isdigit():
        raise _err(file, n, field, raw, "a whole number (digits, zero-padded)", "not a number")
    return float(int(raw))


def _records(ls: _Lines) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, n in zip(ls.lines, ls.numbers, strict=True):
        sa = line[:2]
        key = _key(line, n, ls.file)
        if (sa, key) in seen:
            raise _err(
                ls.file,
                n,
                "satzart",
                key,
                f"each key once (first on line {seen[(sa, key)]})",
                "duplicate key",
            )
        seen[(sa, key)] = n
        name = _field(line, "name").strip()
        if not name:
            raise _err(ls.file, n, "name", "", "a name", "empty name")
        rec: dict[str, object] = {"satzart": sa, "zone": key, "name": name, "line": n}
        rec["vb"] = _field(line, "vb")
        if sa == "60":
            rec["area_ha"] = _count(line, n, ls.file, "area_ha")
            rec["pop_t"] = _count(line, n, ls.file, "pop_t")
            rec["pop_m"] = _count(line, n, ls.file, "pop_m")
            pc = _field(line, "postcode").strip()
            if pc and not (len(pc) == 5 and pc.isdigit()):
                raise _err(ls.file, n, "postcode", pc, "a 5-digit postcode")
            rec["postcode"] = pc or None
            if rec["pop_m"] > rec["pop_t"]:  # type: ignore[operator]
                raise InconsistentTotalError(
                    ls.file,
                    line=n,
                    column="pop_m (positions 151-161)",
                    value=f"{rec['pop_m']:.0f} male of {rec['pop_t']:.0f}",
                    expected="male population <= total population",
                    reason="male population above the total",
                )
        rows.append(rec)
    return pd.DataFrame(rows)


def _parents(f: pd.DataFrame, file: str) -> list[str | None]:
    regbez = set(f.loc[f["satzart"] == "20", "zone"])
    verbands = set(f.loc[f["satzart"] == "50", "zone"])
    out: list[str | None] = []
    for sa, key, vb, n in zip(f["satzart"], f["zone"], f["vb"], f["line"], strict=True):
        if sa == "10":
            out.append(None)
        elif sa == "20":
            out.append(key[:2])
        elif sa in ("30", "40"):
            out.append(key[:3] if key[:3] in regbez else key[:2])
        elif sa == "50":
            out.append(key[:5])
        else:
            gv = key[:5] + vb
            if verbands and gv not in verbands:
                raise _err(
                    file,
                    int(n),
                    "vb",
                    vb,
                    f"a Gemeindeverband {gv} given as a Satzart 50 record",
                    "Gemeinde in an unknown Gemeindeverband",
                )
            out.append(gv if verbands else key[:5])
    return out


def _with_sums(out: pd.DataFrame) -> pd.DataFrame:
    """Land, Regierungsbezirk, Kreis and Gemeindeverband figures as the sums of their Gemeinden."""
    gem = out[out["level"] == "gemeinde"]
    cols = ["area_km2", "pop_total", "pop_m", "pop_f"]
    for level, width in (("land", 2), ("regbez", 3), ("kreis", 5)):
        sums = gem.groupby(gem["zone"].str[:width])[cols].sum(min_count=1)
        mask = out["level"] == level
        for c in cols:
            out.loc[mask, c] = out.loc[mask, "zone"].map(sums[c]).to_numpy(dtype=float)
    sums = gem.groupby("parent")[cols].sum(min_count=1)
    mask = out["level"] == "gemeindeverband"
    for c in cols:
        out.loc[mask, c] = out.loc[mask, "zone"].map(sums[c]).to_numpy(dtype=float)
    return out


def _tables(f: pd.DataFrame, year: int, counts: bool, file: str) -> dict[str, pd.DataFrame]:
    gem = (f["satzart"] == "60").to_numpy()
    pop_t = f["pop_t"].to_numpy(dtype=float) if counts else np.full(len(f), np.nan)
    pop_m = f["pop_m"].to_numpy(dtype=float) if counts else np.full(len(f), np.nan)
    out = pd.DataFrame(
        {
            "zone": f["zone"],
            "year": year,
            "level": f["satzart"].map(LEVEL_OF_SATZART),
            "name": f["name"],
            "parent": _parents(f, file),
            "area_km2": np.where(gem, f["area_ha"].to_numpy(dtype=float) / 100.0, np.nan),
            "pop_total": pop_t,
            "pop_m": pop_m,
            "pop_f": pop_t - pop_m,
            "postcode": f["postcode"],
            "lon": np.nan,
            "lat": np.nan,
        }
    )
    gv = conform("gv_records", _with_sums(out))
    tables = {"gv_records": gv}
    if counts:
        g = gv[gv["level"] == "gemeinde"]
        long = pd.concat(
            [
                pd.DataFrame({"zone": g["zone"], "sex": s, "value": g[c]})
                for s, c in (("m", "pop_m"), ("f", "pop_f"))
            ],
            ignore_index=True,
        ).sort_values(["zone", "sex"], kind="stable")
        long["year"], long["age_start"], long["age_end"] = year, 0, pd.NA
        tables["population"] = conform("population", long)
    return tables


def sniff(path: Path, head: bytes) -> bool:
    """True if the first lines are GV100AD records (Satzart, Gebietsstand, fixed width)."""
    if b"\x00" in head[:4096]:
        return False
    lines = [ln for ln in head.split(b"\n")[:-1] if ln.strip()][:5] or head.split(b"\n")[:1]
    return all(
        re.match(rb"(10|20|30|40|50|60)\d{8}\d", ln) is not None and len(ln.rstrip(b"\r")) >= 100
        for ln in lines
    ) and bool(lines)


def read(path: str | Path, year: int | None = None) -> ImportBatch:
    """Read a GV100AD file into ``gv_records`` (and ``population`` when ``year`` states the
    reference year of its counts, see the module docstring).

    Raises
    ------
    InputFormatError
        (or a subclass) naming file, line, field (with its positions), the value and what was
        expected: a line that is no record, a mixed or non-year-end Gebietsstand, a malformed key,
        a duplicate key, a count that is no number, male above total, a ``year`` other than the
        Gebietsstand year.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputFormatError(
            str(p), reason="@sources.error.cannot_read", fields={"detail": exc.strerror}
        ) from None
    ls = _lines(data, str(p))
    stand = _stand(ls)
    if year is not None and year != stand.year:
        raise InputFormatError(
            str(p),
            line=ls.numbers[0],
            column="stand (positions 3-10)",
            value=year,
            reason="@sources.error.counts_year",
            expected="@sources.expected.counts_year",
            fields={"year": stand.year},
        )
    f = _records(ls)
    tables = _tables(f, stand.year, year is not None, str(p))
    n_gem = int((f["satzart"] == "60").sum())
    rejected = () if year is not None else (("@sources.rejected.gv100ad_counts", n_gem),)
    meta = SourceMeta(
        file=p.name,
        sha256=sha256_of(p),
        kind=NAME,
        table_code=f"GV100AD {stand:%d.%m.%Y}",
        title=f"Gemeindeverzeichnis GV100AD, Gebietsstand {stand:%d.%m.%Y}",
        producer="Statistisches Bundesamt (Destatis)",
        licence=LICENCE_DESTATIS,
    )
    return ImportBatch(meta=meta, tables=tables, rows_read=len(f), rejected=rejected)

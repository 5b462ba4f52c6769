"""Municipal open-data CSVs: a city's own projection by single age and official totals by Stichtag.

Cities publish on their open-data portals small CSV files that name no zone (the whole file is the
city). The zone therefore comes from the user (``zone=``, ``wandel import --zone AGS``): an AGS of
5 (Kreis, e.g. a kreisfreie Stadt ``14612``) or 8 digits (Gemeinde, Dresden ``14612000``). Two layouts
are recognised by their header columns (case-insensitive, German or English names, ``,`` or ``;``
separated, UTF-8 with or without BOM, cp1252 or ISO-8859-1):

``projection``
    ``jahr|year, alter|age, einwohner|population|value`` and optionally ``hinweis|note`` and
    ``geschlecht|sex``: the city's own population projection by single age, one row per year (and
    sex) and age. Ages are single years ``x`` (-> ``[x, x+1)``) and one open group ``N+``, ``N und
    älter``, ``N Jahre und mehr`` or ``N and over`` (-> ``[N, open)``). Every year (and sex) must
    partition the ages ``0 .. open`` exactly: no gap, no duplicate, exactly one open group, the same
    ages in every year. Rows go to ``official_projection`` with ``variant`` from the option
    (default ``"kommunal"``) and ``sex="t"`` unless a sex column says ``m``/``männlich``,
    ``w``/``weiblich``/``f`` or ``insgesamt``/``t``. The note column is not stored: the canonical
    ``flag`` holds only the quality flags ``p/r/s/e``, which cannot say "base year, unrounded"
    versus "projected, rounded to 10".
``totals``
    ``stichtag|reference_date, jahr|year, amtliche_einwohnerzahl|einwohner|population``: the official
    population (Statistisches Landesamt) on several reference dates per year. The canonical
    ``population`` table holds the population on 31 December, so only rows with Stichtag 31.12. are
    kept (``sex="t"``, all ages ``0``-open, not estimated); rows of other Stichtage are left out and
    counted in :attr:`~wandel.sources.base.ImportBatch.rejected`. A Stichtag is written ``31.12.``,
    ``31.12.2019`` or ``2019-12-31``; a date with a year must fall in the row's ``jahr``.

Counts are whole numbers ``>= 0``, plain (``562764``) or with German thousands separators
(``562.764``, ``562 764``); a decimal such as ``3928,5`` is refused, never rounded. GENESIS symbols
(``.``, ``-``, ``x``, ``/``, ``...``) become a ``status`` with no value
(:mod:`wandel.sources._cells`). Any violation raises an :class:`~wandel.errors.InputFormatError` (or
a subclass) naming the file, line, column and value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.errors import (
    DuplicateKeyError,
    InputFormatError,
    InvalidKeyError,
    MissingColumnError,
    keyed,
)
from wandel.regions.ags import check_key
from wandel.sources._cells import parse_cells
from wandel.sources._text import decode_text
from wandel.sources.base import LICENCE_DLDE, ImportBatch, SourceMeta, sha256_of
from wandel.sources.rdb_tidy import (
    CsvRecords,
    column_values,
    fail_at,
    parse_column,
    read_records,
)
from wandel.tables import conform

__all__ = [
    "DEFAULT_VARIANT",
    "LAYOUTS",
    "NAME",
    "PRODUCER",
    "parse_single_age",
    "parse_stichtag",
    "read",
    "sniff",
]

NAME = "kommunal"
PRODUCER = "Kommunale Statistikstelle (Open-Data-Portal)"
DEFAULT_VARIANT = "kommunal"


@dataclass(frozen=True)
class _Layout:
    """One layout: canonical column -> accepted header names (lower case)."""

    name: str
    required: Mapping[str, tuple[str, ...]]
    optional: Mapping[str, tuple[str, ...]]

    @property
    def known(self) -> frozenset[str]:
        return frozenset(
            n for names in (*self.required.values(), *self.optional.values()) for n in names
        )


LAYOUTS: tuple[_Layout, ...] = (
    _Layout(
        "projection",
        {
            "year": ("jahr", "year"),
            "age": ("alter", "age"),
            "value": ("einwohner", "population", "value"),
        },
        {"note": ("hinweis", "note"), "sex": ("geschlecht", "sex")},
    ),
    _Layout(
        "totals",
        {
            "date": ("stichtag", "reference_date"),
            "year": ("jahr", "year"),
            "value": ("amtliche_einwohnerzahl", "einwohner", "population"),
        },
        {},
    ),
)
"""The recognised layouts."""


def _normalise_name(name: str) -> str:
    return name.strip().strip('"').strip().lower()


def _columns(layout: _Layout, header: tuple[str, ...]) -> dict[str, int] | None:
    """Canonical column -> index in ``header``, or ``None`` if a required column is missing."""
    found: dict[str, int] = {}
    for canon, names in {**layout.required, **layout.optional}.items():
        idx = next((header.index(n) for n in names if n in header), None)
        if idx is not None:
            found[canon] = idx
    return found if all(c in found for c in layout.required) else None


def _matches(header: tuple[str, ...]) -> list[tuple[_Layout, dict[str, int]]]:
    out = []
    for layout in LAYOUTS:
        cols = _columns(layout, header)
        if cols is not None:
            out.append((layout, cols))
    return out


def sniff(path: Path, head: bytes) -> bool:
    """Is this a municipal open-data CSV? Looks only at the header line.

    Detection is strict so that it stays unambiguous beside the other readers: the header must hold
    the required columns of exactly one layout and no column that layout does not know.
    """
    if path.suffix.lower() not in {".csv", ".txt"}:
        return False
    try:
        text, _enc = decode_text(head.split(b"\n", 1)[0], str(path))
    except InputFormatError:
        return False
    delimiter = ";" if text.count(";") > text.count(",") else ","
    header = tuple(_normalise_name(h) for h in text.split(delimiter))
    found = _matches(header)
    return len(found) == 1 and set(header) <= found[0][0].known


def _layout_of(rec: CsvRecords) -> tuple[_Layout, dict[str, int]]:
    found = _matches(rec.header)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise InputFormatError(
            rec.file,
            line=1,
            value=",".join(rec.raw_header or rec.header),
            reason="the header fits both the projection layout (alter) and the totals layout "
            "(stichtag)",
            expected="either an age column (projection) or a Stichtag column (totals)",
        )
    best = max(
        LAYOUTS,
        key=lambda lay: sum(any(n in rec.header for n in names) for names in lay.required.values()),
    )
    missing = [names for names in best.required.values() if not any(n in rec.header for n in names)]
    raise MissingColumnError(
        rec.file,
        line=1,
        column=missing[0][0],
        value=",".join(rec.raw_header or rec.header),
        reason="@sources.error.no_column_for_layout",
        expected="@sources.expected.the_columns",
        fields={
            "columns": " / ".join("|".join(m) for m in missing),
            "layout": best.name,
            "required": ", ".join("|".join(n) for n in best.required.values()),
        },
    )


# ---------------------------------------------------------------------------------------------
# options


def _zone(zone: str | None, file: str) -> str:
    """The zone option as a validated 5- or 8-digit AGS."""
    if zone is None or not str(zone).strip():
        raise InputFormatError(
            file,
            reason="the file names no zone (AGS)",
            expected="the zone as an option: pass --zone AGS (e.g. 14612000 for the Gemeinde "
            "Dresden, 14612 for the kreisfreie Stadt)",
        )
    key = str(zone).strip()
    try:
        check_key(key)
    except InvalidKeyError as exc:
        raise InputFormatError(
            file,
            value=key,
            reason="@sources.error.bad_zone",
            expected="an AGS of 5 or 8 digits",
            fields={"detail": str(exc)},
        ) from None
    if len(key) not in (5, 8):
        raise InputFormatError(
            file,
            value=key,
            reason="@sources.error.bad_zone_digits",
            expected="@sources.expected.ags_5_or_8",
            fields={"n": len(key)},
        )
    return key


def _variant(variant: str | None, file: str) -> str:
    if variant is None:
        return DEFAULT_VARIANT
    name = variant.strip()
    if not name:
        raise InputFormatError(
            file, value=variant, reason="empty --variant", expected="a variant name"
        )
    return name


# ---------------------------------------------------------------------------------------------
# cells


def _years(rec: CsvRecords, idx: int) -> npt.NDArray[np.int64]:
    s = column_values(rec, idx)
    ok = s.str.fullmatch(r"(19|20|21)\d\d").to_numpy(dtype=bool)
    fail_at(rec, ~ok, idx, "a four-digit year (1900-2199)")
    return np.asarray(s.astype("int64").to_numpy(), dtype=np.int64)


_COUNT = "a whole number of persons >= 0 (thousands may be separated by '.' or a space) or a GENESIS symbol (. - x / ...)"


@dataclass(frozen=True)
class _Counts:
    value: npt.NDArray[np.float64]
    status: npt.NDArray[np.object_]
    flag: npt.NDArray[np.object_]


def _counts(rec: CsvRecords, idx: int) -> _Counts:
    """Whole non-negative counts; GENESIS symbols give a status and no value."""
    cells = parse_cells(column_values(rec, idx), decimal=",")
    fail_at(rec, cells.bad, idx, _COUNT, reason="not a number")
    fail_at(rec, cells.status == "empty", idx, _COUNT, reason="empty cell")
    value = cells.value
    has = ~np.isnan(value)
    fail_at(rec, has & (value != np.round(value)), idx, _COUNT, reason="not a whole number")
    fail_at(rec, has & (value < 0), idx, _COUNT, reason="negative count")
    return _Counts(value=value, status=cells.status, flag=cells.flag)


_SEX = {
    "insgesamt": "t",
    "zusammen": "t",
    "total": "t",
    "t": "t",
    "männlich": "m",
    "maennlich": "m",
    "male": "m",
    "m": "m",
    "weiblich": "f",
    "female": "f",
    "w": "f",
    "f": "f",
}


def _sexes(rec: CsvRecords, idx: int) -> npt.NDArray[np.object_]:
    s = column_values(rec, idx).str.strip().str.lower().map(_SEX)
    fail_at(
        rec,
        s.isna().to_numpy(dtype=bool),
        idx,
        "m/männlich, w/weiblich/f or insgesamt/t",
        "unknown sex label",
    )
    return np.asarray(s.to_numpy(dtype=object), dtype=object)


# ---------------------------------------------------------------------------------------------
# ages

_SINGLE = re.compile(r"\d{1,3}")
_OPEN = re.compile(
    r"(\d{1,3})\s*(?:\+|(?:jahre?\s+)?und\s+(?:älter|aelter|mehr)|(?:years?\s+)?and\s+(?:over|older))",
    re.IGNORECASE,
)


def parse_single_age(label: str) -> tuple[int, int | None]:
    """Parse a single-age label into the half-open interval ``(age_start, age_end)``.

    ``age_end`` is ``None`` for the open group. Raises ``ValueError`` for anything else (age groups
    such as ``18 bis unter 25`` are not single ages).

    >>> parse_single_age("42"), parse_single_age("85+"), parse_single_age("85 und älter")
    ((42, 43), (85, None), (85, None))
    """
    text = " ".join(label.split())
    if _SINGLE.fullmatch(text):
        return (int(text), int(text) + 1)
    m = _OPEN.fullmatch(text)
    if m is not None:
        return (int(m.group(1)), None)
    raise ValueError(f"not a single age or open age group: {label!r}")


def _ages(rec: CsvRecords, idx: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return ``(age_start, age_end)``; ``age_end`` is -1 for the open group."""
    ages = parse_column(
        rec,
        idx,
        parse_single_age,
        "not a single age",
        "a single age (0, 1, 2, ...) or the open group (e.g. 85+, 85 und älter)",
    )
    start = np.array([a[0] for a in ages], dtype=np.int64)
    end = np.array([-1 if a[1] is None else a[1] for a in ages], dtype=np.int64)
    return start, end


def _show_ages(starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> str:
    """``0..84, 85+`` for a partition (sorted by start)."""
    closed = starts[ends >= 0]
    parts = [f"{int(closed.min())}..{int(closed.max())}"] if len(closed) else []
    parts += [f"{int(s)}+" for s in starts[ends < 0]]
    return ", ".join(parts)


_Problem = tuple[int, str, str, type[InputFormatError]]


def _partition_problem(
    starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> _Problem | None:
    """The first problem of one sorted set of ages as ``(position, reason, expected, error)``.

    A valid set tiles ``[0, open)``: single ages ``0, 1, ..., N-1`` and exactly one open group ``N+``.
    """
    dup = np.flatnonzero(starts[1:] == starts[:-1])
    if len(dup):
        k = int(dup[0]) + 1
        return (k, f"age {int(starts[k])} appears twice", "each age once", DuplicateKeyError)
    is_open = ends < 0
    opens = np.flatnonzero(is_open)
    if len(opens) > 1:
        a, b = int(opens[0]), int(opens[1])
        reason = f"two open age groups ({int(starts[a])}+ and {int(starts[b])}+)"
        return (b, reason, "exactly one open age group", InputFormatError)
    if not len(opens):
        return (
            len(starts) - 1,
            "no open age group",
            "a last, open age group such as 85+",
            InputFormatError,
        )
    if opens[0] != len(starts) - 1:
        k = int(opens[0])
        reason = f"the open group {int(starts[k])}+ overlaps the single age {int(starts[-1])}"
        return (k, reason, "single ages below the open group only", InputFormatError)
    if starts[0] != 0:
        return (0, f"the ages start at {int(starts[0])}", "ages from 0", InputFormatError)
    gap = np.flatnonzero(starts[1:] != ends[:-1])
    if len(gap):
        k = int(gap[0]) + 1
        lo, hi = int(ends[k - 1]), int(starts[k]) - 1
        missing = f"{lo}" if lo == hi else f"{lo}..{hi}"
        reason = f"gap in the ages: no row for age {missing}"
        return (k, reason, "every single age from 0 to the open group", InputFormatError)
    return None


def _check_partition(rec: CsvRecords, frame: pd.DataFrame, idx: int) -> None:
    """Every (year, sex) tiles ``[0, open)`` with single ages and one open group, the same ages each.

    ``frame`` has columns year, sex, age_start, age_end (-1 = open) and row (position in ``rec``).
    """
    reference: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], str] | None = None
    for (year, sex), g in frame.groupby(["year", "sex"], sort=True):
        g = g.sort_values(["age_start", "row"], kind="stable")
        starts = g["age_start"].to_numpy(dtype=np.int64)
        ends = g["age_end"].to_numpy(dtype=np.int64)
        where = f"year {year}" + ("" if sex == "t" else f", sex {sex}")
        problem = _partition_problem(starts, ends)
        if (
            problem is None
            and reference is not None
            and not (np.array_equal(starts, reference[0]) and np.array_equal(ends, reference[1]))
        ):
            problem = (
                len(starts) - 1,
                f"ages {_show_ages(starts, ends)}, but "
                f"{_show_ages(reference[0], reference[1])} in {reference[2]}",
                "the same ages in every year",
                InputFormatError,
            )
        if problem is not None:
            k, reason, expected, error = problem
            i = int(g["row"].iloc[k])
            raise error(
                rec.file,
                line=rec.lines[i],
                column=rec.header[idx],
                value=rec.rows[i][idx],
                reason=f"{where}: {reason}",
                expected=expected,
            )
        if reference is None:
            reference = (starts, ends, where)


# ---------------------------------------------------------------------------------------------
# Stichtag

_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})?")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_stichtag(label: str, year: int) -> tuple[int, int, int]:
    """Parse a reference date into ``(year, month, day)``; ``year`` is the row's year.

    Accepted: ``31.12.`` (the year from the row), ``31.12.2019`` and ``2019-12-31``. Raises
    ``ValueError`` for another form, an impossible date, or a date outside the row's year.

    >>> parse_stichtag("31.12.", 2019), parse_stichtag("2019-06-30", 2019)
    ((2019, 12, 31), (2019, 6, 30))
    """
    text = label.strip()
    m = _DMY.fullmatch(text)
    if m is not None:
        day, month = int(m.group(1)), int(m.group(2))
        in_year = int(m.group(3)) if m.group(3) else year
    else:
        m = _ISO.fullmatch(text)
        if m is None:
            raise ValueError(f"not a date: {label!r}")
        in_year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    dt.date(in_year, month, day)  # raises ValueError for 31.13. or 30.02.
    if in_year != year:
        raise ValueError(f"the date lies in {in_year}, the row's year is {year}")
    return (in_year, month, day)


def _stichtage(
    rec: CsvRecords, idx: int, years: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return ``(month, day)`` per row."""
    month = np.empty(len(rec.rows), dtype=np.int64)
    day = np.empty(len(rec.rows), dtype=np.int64)
    for i, row in enumerate(rec.rows):
        try:
            _y, month[i], day[i] = parse_stichtag(row[idx], int(years[i]))
        except ValueError as exc:
            raise InputFormatError(
                rec.file,
                line=rec.lines[i],
                column=rec.header[idx],
                value=row[idx],
                reason="@sources.error.bad_stichtag",
                expected="@sources.expected.row_date",
                fields={"detail": str(exc)},
            ) from None
    return month, day


# ---------------------------------------------------------------------------------------------
# layouts


def _meta(path: Path, table_code: str, title: str) -> SourceMeta:
    return SourceMeta(
        file=path.name,
        sha256=sha256_of(path),
        kind=NAME,
        table_code=table_code,
        title=title,
        producer=PRODUCER,
        licence=LICENCE_DLDE,
    )


def _open_end(end: npt.NDArray[np.int64]) -> pd.Series:
    s = pd.Series(end, dtype="Int64")
    return s.where(s >= 0)


def _read_projection(
    rec: CsvRecords, cols: dict[str, int], path: Path, zone: str, variant: str
) -> ImportBatch:
    year = _years(rec, cols["year"])
    start, end = _ages(rec, cols["age"])
    counts = _counts(rec, cols["value"])
    n = len(rec.rows)
    sex = _sexes(rec, cols["sex"]) if "sex" in cols else np.full(n, "t", dtype=object)
    frame = pd.DataFrame(
        {"year": year, "sex": sex, "age_start": start, "age_end": end, "row": np.arange(n)}
    )
    _check_partition(rec, frame, cols["age"])
    out = pd.DataFrame(
        {
            "zone": zone,
            "year": year,
            "variant": variant,
            "sex": sex,
            "age_start": start,
            "age_end": _open_end(end),
            "value": counts.value,
            "status": counts.status,
            "flag": counts.flag,
        }
    ).sort_values(["year", "sex", "age_start"], kind="stable")
    meta = _meta(
        path,
        "kommunal-prognose",
        f"Bevölkerungsprognose nach Einzelaltersjahren (kommunal, Variante {variant})",
    )
    return ImportBatch(
        meta=meta,
        tables={"official_projection": conform("official_projection", out)},
        rows_read=n,
    )


def _read_totals(rec: CsvRecords, cols: dict[str, int], path: Path, zone: str) -> ImportBatch:
    year = _years(rec, cols["year"])
    month, day = _stichtage(rec, cols["date"], year)
    keys = pd.DataFrame({"year": year, "month": month, "day": day})
    dup = keys.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((keys == keys.iloc[i]).all(axis=1).to_numpy())[0])
        fail_at(
            rec,
            dup,
            cols["date"],
            "each Stichtag and year once",
            reason=f"Stichtag {int(day[i]):02d}.{int(month[i]):02d}.{int(year[i])} again "
            f"(first on line {rec.lines[first]})",
            error=DuplicateKeyError,
        )
    counts = _counts(rec, cols["value"])
    year_end = (month == 12) & (day == 31)
    out = pd.DataFrame(
        {
            "zone": zone,
            "year": year,
            "sex": "t",
            "age_start": 0,
            "age_end": pd.array([pd.NA] * len(year), dtype="Int64"),
            "value": counts.value,
            "status": counts.status,
            "flag": counts.flag,
            "estimated": False,
        }
    )[year_end].sort_values("year", kind="stable")
    rejected: tuple[tuple[str, int], ...] = ()
    if (~year_end).any():
        others = sorted(
            {(int(m), int(d)) for m, d in zip(month[~year_end], day[~year_end], strict=True)}
        )
        shown = ", ".join(f"{d:02d}.{m:02d}." for m, d in others)
        rejected = ((keyed("sources.rejected.not_year_end", days=shown), int((~year_end).sum())),)
    meta = _meta(path, "kommunal-einwohner", "Amtliche Einwohnerzahl nach Stichtagen (kommunal)")
    return ImportBatch(
        meta=meta,
        tables={"population": conform("population", out)},
        rows_read=len(rec.rows),
        rejected=rejected,
    )


def read(path: str | Path, zone: str | None = None, variant: str | None = None) -> ImportBatch:
    """Read a municipal projection (single ages) or official totals (by Stichtag) for ``zone``.

    Parameters
    ----------
    path
        The CSV file.
    zone
        The AGS the file is about (5 or 8 digits); required, since the files name no zone.
    variant
        Name of the projection variant (``official_projection.variant``); default ``"kommunal"``.

    Raises
    ------
    InputFormatError
        (or ``MissingColumnError``, ``DuplicateKeyError``) with the file, line, column and value of
        the first problem; also when ``zone`` is missing or not an AGS.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "ew.csv"
    >>> _ = f.write_text("stichtag,jahr,einwohner\\n30.06.,2019,554734\\n31.12.,2019,556.780\\n")
    >>> b = read(f, zone="14612000")
    >>> b.tables["population"][["zone", "year", "sex", "value"]].to_dict("records")
    [{'zone': '14612000', 'year': 2019, 'sex': 't', 'value': 556780.0}]
    >>> b.rejected[0][1]
    1
    """
    p = Path(path)
    key = _zone(zone, str(p))
    name = _variant(variant, str(p))
    rec = read_records(p)
    layout, cols = _layout_of(rec)
    if layout.name == "projection":
        return _read_projection(rec, cols, p, key, name)
    return _read_totals(rec, cols, p, key)

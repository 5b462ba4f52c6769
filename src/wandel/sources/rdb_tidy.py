"""Tidy CSV extracts of the Regionaldatenbank and GENESIS (one row per observation).

Three published extract layouts are recognised by their header columns (German or English names):

``events``
    ``year, ags_kreis, variable, count_total_both_sexes`` (births and deaths per Kreis, tables
    12612-01-01-4 and 12613-01-01-4). ``variable`` is ``births`` or ``deaths`` (German
    ``Lebendgeborene``/``Gestorbene`` accepted). Rows go to the tables ``births`` and ``deaths`` with
    ``sex="t"`` and all ages (``age_start=0``, open ``age_end``).
``migration``
    ``jahr, ags, name, ebene, geschlecht, altersgruppe, fortzuege, zuzuege, saldo`` (moves across
    Kreis borders, table 12711-01-03-4). Every row must satisfy the accounting identity
    ``saldo = zuzuege - fortzuege``; the age groups of a zone, year and sex must add up to the
    ``Insgesamt`` row, and ``männlich + weiblich`` to the ``Insgesamt`` sex. The verified totals are
    redundant and dropped (counted in :attr:`ImportBatch.rejected`); ``saldo`` is dropped as well.
    Fortzüge become ``direction="out"``, Zuzüge ``direction="in"``, ``partner=""`` (any zone outside).
``fertility``
    ``year, age_of_mother, live_births_per_1000_women`` (Germany, table 12612-0008 in long form) ->
    table ``fertility`` with ``zone="DG"``, ``measure="asfr_per_1000"``, single-year ages.

Counts must be whole non-negative numbers (``saldo`` may be negative); AGS keys stay strings with
their leading zeros and must have 2 (Land), 5 (Kreis) or 8 (Gemeinde) digits. Any violation raises an
:class:`~wandel.errors.InputFormatError` naming the file, line, column and value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from wandel.errors import (
    DuplicateKeyError,
    InconsistentTotalError,
    InputFormatError,
    MissingColumnError,
)
from wandel.sources._text import decode_text
from wandel.sources.base import LICENCE_DLDE, ImportBatch, SourceMeta, sha256_of
from wandel.tables import conform

__all__ = [
    "LAYOUTS",
    "NAME",
    "CsvRecords",
    "column_values",
    "fail_at",
    "parse_age_group",
    "parse_column",
    "read",
    "read_records",
    "sniff",
]

NAME = "rdb-tidy"

T = TypeVar("T")

_PRODUCER_RDB = "Statistische Ämter des Bundes und der Länder, Regionaldatenbank Deutschland"
_PRODUCER_DESTATIS = "Statistisches Bundesamt (Destatis), GENESIS-Online"


@dataclass(frozen=True)
class _Layout:
    """One published extract layout: canonical column -> accepted header names."""

    name: str
    required: Mapping[str, tuple[str, ...]]
    optional: Mapping[str, tuple[str, ...]]


LAYOUTS: tuple[_Layout, ...] = (
    _Layout(
        "migration",
        {
            "year": ("jahr", "year"),
            "zone": ("ags", "ags_kreis", "zone", "regionalschluessel"),
            "sex": ("geschlecht", "sex"),
            "age": ("altersgruppe", "age_group"),
            "out": ("fortzuege", "fortzüge", "moves_out", "out_migration"),
            "in": ("zuzuege", "zuzüge", "moves_in", "in_migration"),
        },
        {
            "net": ("saldo", "net", "net_migration"),
            "name": ("name",),
            "level": ("ebene", "level"),
        },
    ),
    _Layout(
        "events",
        {
            "year": ("year", "jahr"),
            "zone": ("ags_kreis", "ags", "zone"),
            "variable": ("variable", "merkmal"),
            "count": ("count_total_both_sexes", "anzahl_insgesamt", "count", "anzahl"),
        },
        {},
    ),
    _Layout(
        "fertility",
        {
            "year": ("year", "jahr"),
            "age": ("age_of_mother", "alter_der_mutter"),
            "value": ("live_births_per_1000_women", "lebendgeborene_je_1000_frauen"),
        },
        {},
    ),
)
"""The recognised layouts, most specific first."""


# ---------------------------------------------------------------------------------------------
# CSV records with line numbers


@dataclass(frozen=True)
class CsvRecords:
    """A decoded CSV file: its header, its data rows as strings and each row's 1-based line number.

    ``header`` holds the column names stripped and lower-cased; ``raw_header`` as written.
    """

    file: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]
    delimiter: str
    raw_header: tuple[str, ...] = ()


def _normalise_name(name: str) -> str:
    return name.strip().strip('"').strip().lower()


def read_records(path: str | Path, data: bytes | None = None) -> CsvRecords:
    """Decode and split a small CSV file (``,`` or ``;`` separated) into records with line numbers.

    Raises
    ------
    InputFormatError
        If the file is empty, has no data rows, or a row has another number of fields than the header.
    """
    p = Path(path)
    file = str(p)
    raw = p.read_bytes() if data is None else data
    text, _enc = decode_text(raw, file)
    if not text.strip():
        raise InputFormatError(file, line=1, reason="the file is empty", expected="a CSV header")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header_row = next(reader)
    except csv.Error as exc:  # pragma: no cover - a header broken by quoting
        raise InputFormatError(file, line=1, reason=str(exc), expected="a CSV header") from None
    header = tuple(_normalise_name(h) for h in header_row)
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    line_start = reader.line_num + 1
    try:
        for row in reader:
            line = line_start
            line_start = reader.line_num + 1
            if not row or all(c.strip() == "" for c in row):
                continue
            if len(row) != len(header):
                raise InputFormatError(
                    file,
                    line=line,
                    value=delimiter.join(row),
                    reason="@sources.error.fields_vs_header",
                    expected="@sources.expected.fields_separated",
                    fields={"n": len(row), "header": len(header), "delimiter": repr(delimiter)},
                )
            rows.append(tuple(c.strip() for c in row))
            lines.append(line)
    except csv.Error as exc:
        raise InputFormatError(
            file,
            line=reader.line_num,
            reason="@sources.error.csv_quoting",
            expected="valid CSV",
            fields={"detail": str(exc)},
        ) from None
    if not rows:
        raise InputFormatError(
            file, line=2, reason="no data rows", expected="at least one data row"
        )
    raw_header = tuple(h.strip() for h in header_row)
    return CsvRecords(file, header, tuple(rows), tuple(lines), delimiter, raw_header)


def _match_layout(header: tuple[str, ...]) -> tuple[_Layout, dict[str, int]] | None:
    for layout in LAYOUTS:
        found: dict[str, int] = {}
        for canon, names in {**layout.required, **layout.optional}.items():
            idx = next((header.index(n) for n in names if n in header), None)
            if idx is not None:
                found[canon] = idx
        if all(c in found for c in layout.required):
            return layout, found
    return None


def _layout_of(rec: CsvRecords) -> tuple[_Layout, dict[str, int]]:
    match = _match_layout(rec.header)
    if match is not None:
        return match
    # name the missing columns of the layout that fits best
    best = max(
        LAYOUTS,
        key=lambda lay: sum(any(n in rec.header for n in names) for names in lay.required.values()),
    )
    missing = [
        names[0] for names in best.required.values() if not any(n in rec.header for n in names)
    ]
    raise MissingColumnError(
        rec.file,
        line=1,
        column=missing[0],
        value=",".join(rec.header),
        reason="@sources.error.no_column_for_layout",
        expected="@sources.expected.the_columns",
        fields={
            "columns": " / ".join(missing),
            "layout": best.name,
            "required": ", ".join(names[0] for names in best.required.values()),
        },
    )


def sniff(path: Path, head: bytes) -> bool:
    """Is this one of the tidy extract layouts? Looks only at the header line of a CSV file."""
    if path.suffix.lower() not in {".csv", ".txt"}:
        return False
    try:
        text, _enc = decode_text(head.split(b"\n", 1)[0], str(path))
    except InputFormatError:
        return False
    delimiter = ";" if text.count(";") > text.count(",") else ","
    header = tuple(_normalise_name(h) for h in text.split(delimiter))
    return _match_layout(header) is not None


# ---------------------------------------------------------------------------------------------
# cells


def column_values(rec: CsvRecords, idx: int) -> pd.Series:
    """The raw text of column ``idx`` of every record."""
    return pd.Series([r[idx] for r in rec.rows], dtype=object)


def fail_at(
    rec: CsvRecords,
    mask: np.ndarray,
    idx: int,
    expected: str,
    reason: str = "",
    error: type[InputFormatError] = InputFormatError,
) -> None:
    """Raise ``error`` at the first record where ``mask`` is true (file, line, column, value)."""
    bad = np.flatnonzero(mask)
    if len(bad):
        i = int(bad[0])
        raise error(
            rec.file,
            line=rec.lines[i],
            column=rec.header[idx],
            value=rec.rows[i][idx],
            reason=reason or "@sources.error.bad_values",
            expected=expected,
            fields={"count": len(bad)},
        )


def _whole_numbers(rec: CsvRecords, idx: int, *, signed: bool = False) -> np.ndarray:
    """Parse a column of whole numbers; counts (``signed=False``) must not be negative."""
    s = column_values(rec, idx)
    ok = s.str.fullmatch(r"[+-]?\d{1,15}").to_numpy(dtype=bool)
    fail_at(rec, ~ok, idx, "a whole number" + ("" if signed else " (a count)"))
    values = np.asarray(s.astype("int64").to_numpy(), dtype=np.int64)
    if not signed:
        fail_at(rec, values < 0, idx, "a count >= 0", reason="negative count")
    return values


def _years(rec: CsvRecords, idx: int) -> np.ndarray:
    s = column_values(rec, idx)
    ok = s.str.fullmatch(r"(19|20|21)\d\d").to_numpy(dtype=bool)
    fail_at(rec, ~ok, idx, "a four-digit year (1900-2199)")
    return np.asarray(s.astype("int64").to_numpy(), dtype=np.int64)


def _zones(rec: CsvRecords, idx: int, lengths: tuple[int, ...] = (2, 5, 8)) -> np.ndarray:
    s = column_values(rec, idx)
    ok = s.str.fullmatch(r"\d+").to_numpy(dtype=bool) & s.str.len().isin(lengths).to_numpy()
    fail_at(
        rec,
        ~ok,
        idx,
        "an AGS of " + " or ".join(str(n) for n in lengths) + " digits with its leading zeros",
    )
    return np.asarray(s.to_numpy(dtype=object), dtype=object)


# ---------------------------------------------------------------------------------------------
# labels

_AGE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), kind)
    for p, kind in [
        (r"(?:insgesamt|total|alle altersgruppen|all ages)", "total"),
        (r"unter (\d+) jahre?n?|under (\d+)(?: years?)?", "under"),
        (r"(\d+) bis unter (\d+) jahre?n?|(\d+) to under (\d+)(?: years?)?", "range"),
        (r"(\d+) jahre? und (?:mehr|älter)|(\d+) years? and (?:over|older)|(\d+)\+", "open"),
        (r"(\d+)(?:-jährige| jahre?| years?)?", "single"),
    ]
)


def parse_age_group(label: str) -> tuple[int, int | None] | None:
    """Parse an age label into ``(age_start, age_end)``; ``None`` for the total over all ages.

    ``age_end`` is ``None`` for the open group. Raises ``ValueError`` for an unknown label.

    >>> parse_age_group("18 bis unter 25 Jahre")
    (18, 25)
    >>> parse_age_group("unter 18 Jahre"), parse_age_group("65 Jahre und mehr")
    ((0, 18), (65, None))
    >>> parse_age_group("Insgesamt") is None
    True
    """
    text = " ".join(label.split())
    for pattern, kind in _AGE_RULES:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        nums = [int(g) for g in m.groups() if g is not None]
        if kind == "total":
            return None
        if kind == "under":
            return (0, nums[0])
        if kind == "range":
            if nums[1] <= nums[0]:
                break
            return (nums[0], nums[1])
        if kind == "open":
            return (nums[0], None)
        return (nums[0], nums[0] + 1)
    raise ValueError(f"unknown age label {label!r}")


def parse_column(
    rec: CsvRecords, idx: int, parse: Callable[[str], T], reason: str, expected: str
) -> list[T]:
    """``parse`` applied to every cell of column ``idx`` (each distinct label once).

    A label ``parse`` refuses with :class:`ValueError` raises an
    :class:`~wandel.errors.InputFormatError` at its first line, with ``reason`` and ``expected``.
    """
    labels = column_values(rec, idx)
    parsed: dict[str, T] = {}
    for i, label in enumerate(labels):
        if label in parsed:
            continue
        try:
            parsed[label] = parse(label)
        except ValueError:
            raise InputFormatError(
                rec.file,
                line=rec.lines[i],
                column=rec.header[idx],
                value=label,
                reason=reason,
                expected=expected,
            ) from None
    return [parsed[label] for label in labels]


def _age_groups(rec: CsvRecords, idx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(is_total, age_start, age_end)``; ``age_end`` is -1 for the open group."""
    groups = parse_column(
        rec,
        idx,
        parse_age_group,
        "unknown age label",
        "e.g. 'unter 18 Jahre', '18 bis unter 25 Jahre', '65 Jahre und mehr', 'Insgesamt'",
    )
    is_total = np.array([g is None for g in groups])
    start = np.array([-1 if g is None else g[0] for g in groups], dtype="int64")
    end = np.array([-1 if g is None or g[1] is None else g[1] for g in groups], dtype="int64")
    return is_total, start, end


_SEX = {
    "insgesamt": "t",
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


def _sexes(rec: CsvRecords, idx: int) -> np.ndarray:
    s = column_values(rec, idx).str.lower().map(_SEX)
    fail_at(rec, s.isna().to_numpy(), idx, "Insgesamt, männlich or weiblich", "unknown sex label")
    return np.asarray(s.to_numpy(dtype=object), dtype=object)


def _meta(path: Path, table_code: str, title: str, producer: str) -> SourceMeta:
    return SourceMeta(
        file=path.name,
        sha256=sha256_of(path),
        kind=NAME,
        table_code=table_code,
        title=title,
        producer=producer,
        licence=LICENCE_DLDE,
    )


def _check_unique(rec: CsvRecords, keys: pd.DataFrame, column_idx: int, what: str) -> None:
    dup = keys.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DuplicateKeyError(
            rec.file,
            line=rec.lines[i],
            column=rec.header[column_idx],
            value=rec.rows[i][column_idx],
            reason="@sources.error.duplicate_key_of",
            expected="each key once",
            fields={"what": what, "key": ", ".join(str(v) for v in keys.iloc[i])},
        )


# ---------------------------------------------------------------------------------------------
# layouts

_EVENT_TABLE = {
    "births": "births",
    "lebendgeborene": "births",
    "geburten": "births",
    "deaths": "deaths",
    "gestorbene": "deaths",
    "sterbefaelle": "deaths",
    "sterbefälle": "deaths",
}


def _read_events(rec: CsvRecords, cols: dict[str, int], path: Path) -> ImportBatch:
    zone_len = (5,) if rec.header[cols["zone"]] == "ags_kreis" else (2, 5, 8)
    zone = _zones(rec, cols["zone"], zone_len)
    year = _years(rec, cols["year"])
    table = column_values(rec, cols["variable"]).str.lower().map(_EVENT_TABLE)
    fail_at(rec, table.isna().to_numpy(), cols["variable"], "births or deaths", "unknown variable")
    count = _whole_numbers(rec, cols["count"])
    frame = pd.DataFrame({"table": table, "zone": zone, "year": year, "value": count})
    _check_unique(rec, frame[["table", "zone", "year"]], cols["zone"], "variable, zone, year")
    frame["sex"] = "t"
    frame["age_start"] = 0
    frame["age_end"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    tables = {
        name: conform(
            name, frame[frame["table"] == name].drop(columns="table").sort_values(["zone", "year"])
        )
        for name in ("births", "deaths")
        if (frame["table"] == name).any()
    }
    meta = _meta(
        path,
        "12612-01-01-4, 12613-01-01-4",
        "Lebendgeborene und Gestorbene nach Kreisen (tidy extract)",
        _PRODUCER_RDB,
    )
    return ImportBatch(meta=meta, tables=tables, rows_read=len(rec.rows))


def _check_sums(
    rec: CsvRecords,
    frame: pd.DataFrame,
    parts: pd.Series,
    totals: pd.Series,
    by: list[str],
    what: str,
) -> pd.Series:
    """Compare part sums with the total rows; return a mask of groups that have parts."""
    summed = frame[parts].groupby(by)[["in", "out"]].sum()
    tot = frame[totals].set_index(by)[["in", "out", "line", "col_in", "col_out"]]
    joined = tot.join(summed.add_suffix("_sum"), how="inner")
    for flow, col in (("in", "col_in"), ("out", "col_out")):
        bad = joined[joined[flow] != joined[f"{flow}_sum"]]
        if len(bad):
            row = bad.iloc[0]
            raise InconsistentTotalError(
                rec.file,
                line=int(row["line"]),
                column=rec.header[int(row[col])],
                value=int(row[flow]),
                reason="@sources.error.parts_add_up",
                expected="@sources.expected.sum_of_the",
                fields={"what": what, "sum": int(row[f"{flow}_sum"])},
            )
    keyed = frame.set_index(by).index
    return pd.Series(keyed.isin(summed.index), index=frame.index)


def _complete_partition(parts: pd.DataFrame, by: list[str]) -> pd.Series:
    """For each group: do its age groups partition ``[0, open)`` without gap or overlap?"""

    def complete(g: pd.DataFrame) -> bool:
        g = g.sort_values("age_start")
        starts = g["age_start"].to_numpy()
        ends = g["age_end"].to_numpy()
        return bool(starts[0] == 0 and ends[-1] == -1 and (ends[:-1] == starts[1:]).all())

    if parts.empty:
        return pd.Series(dtype=bool)
    return parts.groupby(by)[["age_start", "age_end"]].apply(complete)


def _migration_frame(rec: CsvRecords, cols: dict[str, int]) -> pd.DataFrame:
    """One row per record: zone, year, sex, age group, moves in and out (each cell checked)."""
    zone = _zones(rec, cols["zone"])
    if "level" in cols:
        level = column_values(rec, cols["level"]).str.lower()
        expect_len = level.map({"land": 2, "kreis": 5, "gemeinde": 8})
        bad = expect_len.notna().to_numpy() & (
            pd.Series(zone).str.len().to_numpy() != expect_len.fillna(0).to_numpy()
        )
        fail_at(rec, bad, cols["zone"], "an AGS whose length fits the level (ebene)")
    year = _years(rec, cols["year"])
    sex = _sexes(rec, cols["sex"])
    is_total_age, age_start, age_end = _age_groups(rec, cols["age"])
    moves_out = _whole_numbers(rec, cols["out"])
    moves_in = _whole_numbers(rec, cols["in"])
    if "net" in cols:
        net = _whole_numbers(rec, cols["net"], signed=True)
        fail_at(
            rec,
            net != moves_in - moves_out,
            cols["net"],
            "saldo = zuzuege - fortzuege",
            reason="saldo contradicts zuzuege - fortzuege",
            error=InconsistentTotalError,
        )
    return pd.DataFrame(
        {
            "zone": zone,
            "year": year,
            "sex": sex,
            "total_age": is_total_age,
            "age_start": age_start,
            "age_end": age_end,
            "in": moves_in,
            "out": moves_out,
            "line": np.asarray(rec.lines),
            "col_in": cols["in"],
            "col_out": cols["out"],
        }
    )


def _migration_totals(rec: CsvRecords, frame: pd.DataFrame) -> pd.Series:
    """The total rows (all ages, both sexes) that their parts were verified against: to drop."""
    # age groups that partition all ages add up to the all-ages row of the same zone, year and sex
    by_age = ["zone", "year", "sex"]
    complete = _complete_partition(frame[~frame["total_age"]], by_age)
    age_keyed = pd.Series(
        frame.set_index(by_age).index.isin(complete[complete].index), index=frame.index
    )
    age_parts = _check_sums(
        rec, frame, ~frame["total_age"] & age_keyed, frame["total_age"], by_age, "age groups"
    )
    drop_age_total = frame["total_age"] & age_parts
    # männlich + weiblich add up to Insgesamt for the same zone, year and age group
    by_sex = ["zone", "year", "age_start", "age_end"]
    is_mf = frame["sex"].isin(["m", "f"])
    both = frame[is_mf].groupby(by_sex)["sex"].nunique() == 2
    has_both = pd.Series(frame.set_index(by_sex).index.isin(both[both].index), index=frame.index)
    sex_parts = _check_sums(
        rec, frame, is_mf & has_both, frame["sex"] == "t", by_sex, "sexes (m + f)"
    )
    drop_sex_total = (frame["sex"] == "t") & sex_parts
    drop: pd.Series = drop_age_total | drop_sex_total
    return drop


def _read_migration(rec: CsvRecords, cols: dict[str, int], path: Path) -> ImportBatch:
    frame = _migration_frame(rec, cols)
    key = ["zone", "year", "sex", "age_start", "age_end"]
    _check_unique(rec, frame[key], cols["age"], "zone, year, sex, age group")
    drop = _migration_totals(rec, frame)
    kept = frame[~drop]
    long = kept.melt(
        id_vars=["zone", "year", "sex", "age_start", "age_end"],
        value_vars=["in", "out"],
        var_name="direction",
        value_name="value",
    )
    long["age_end"] = long["age_end"].astype("Int64").where(long["age_end"] >= 0)
    long["partner"] = ""
    long["value"] = long["value"].astype("float64")
    long = long.sort_values(["zone", "year", "sex", "age_start", "direction"], kind="stable")
    meta = _meta(
        path,
        "12711-01-03-4",
        "Zu- und Fortzüge über die Kreisgrenzen nach Geschlecht und Altersgruppen (tidy extract)",
        _PRODUCER_RDB,
    )
    rejected = (
        (("verified total rows (Insgesamt), redundant", int(drop.sum())),) if drop.any() else ()
    )
    return ImportBatch(
        meta=meta,
        tables={"migration": conform("migration", long)},
        rows_read=len(rec.rows),
        rejected=rejected,
    )


def _read_fertility(rec: CsvRecords, cols: dict[str, int], path: Path) -> ImportBatch:
    year = _years(rec, cols["year"])
    is_total, age_start, age_end = _age_groups(rec, cols["age"])
    fail_at(rec, is_total, cols["age"], "an age of the mother (e.g. 15 or '50 Jahre und mehr')")
    vals = column_values(rec, cols["value"])
    ok = vals.str.fullmatch(r"\d{1,6}(?:\.\d+)?").to_numpy(dtype=bool)
    fail_at(rec, ~ok, cols["value"], "a rate per 1000 women >= 0 with a decimal point")
    value = vals.astype("float64").to_numpy()
    fail_at(rec, value > 1000.0, cols["value"], "a rate per 1000 women <= 1000")
    frame = pd.DataFrame(
        {
            "zone": "DG",
            "year": year,
            "measure": "asfr_per_1000",
            "category": "",
            "age_start": age_start,
            "age_end": pd.Series(age_end).astype("Int64").where(pd.Series(age_end) >= 0),
            "value": value,
        }
    )
    _check_unique(rec, frame[["year", "age_start"]], cols["age"], "year, age of mother")
    frame = frame.sort_values(["year", "age_start"], kind="stable")
    meta = _meta(
        path,
        "12612-0008",
        "Lebendgeborene je 1000 Frauen nach Alter der Mutter, Deutschland (tidy extract)",
        _PRODUCER_DESTATIS,
    )
    return ImportBatch(
        meta=meta, tables={"fertility": conform("fertility", frame)}, rows_read=len(rec.rows)
    )


def read(path: str | Path) -> ImportBatch:
    """Read one tidy extract (births/deaths, migration or fertility) into canonical tables.

    Raises
    ------
    InputFormatError
        (or its subclasses ``MissingColumnError``, ``DuplicateKeyError``, ``InconsistentTotalError``)
        with the file, line, column and value of the first problem.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "bd.csv"
    >>> _ = f.write_text("year,ags_kreis,variable,count_total_both_sexes\\n2020,15087,births,766\\n")
    >>> read(f).tables["births"][["zone", "year", "sex", "value"]].to_dict("records")
    [{'zone': '15087', 'year': 2020, 'sex': 't', 'value': 766.0}]
    """
    p = Path(path)
    rec = read_records(p)
    layout, cols = _layout_of(rec)
    if layout.name == "events":
        return _read_events(rec, cols, p)
    if layout.name == "migration":
        return _read_migration(rec, cols, p)
    return _read_fertility(rec, cols, p)

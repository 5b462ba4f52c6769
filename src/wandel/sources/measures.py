"""A register of measures towns tried (the practice exchange) -> table ``measures``.

Two layouts are read, with the same fields:

* **YAML**: a mapping with optional ``title``, ``producer`` and ``licence`` of the register and a list
  ``measures``; each item holds the fields below. ``zones`` may list several towns (a measure of a
  network of towns); ``zone`` names one.
* **CSV** (``,`` or ``;`` separated; with ``;`` the decimal comma is accepted): one row per measure,
  the fields as columns (English names or the German aliases in brackets); a ``zone`` cell may list
  several AGS separated by spaces, ``|`` or ``/``.

=================  ========  ==========================================================
field              required  meaning
=================  ========  ==========================================================
id                 yes       the register's key of the measure (``massnahme_id``)
zone / zones       yes       AGS of the town(s) (``ags``, ``stadt``)
title              yes       short name (``titel``)
field              yes       field of action, one of :data:`FIELDS` (``handlungsfeld``)
year               yes       first year, 1950..2100 (``jahr``)
year_end           no        last year, not before ``year`` (``jahr_ende``)
description        yes       what was done (``beschreibung``)
cost_eur           no        cost in euro, >= 0 (``kosten_eur``)
cost_note          no        funding and cost in words (``finanzierung``)
outcome            no        what came of it (``ergebnis``)
contact_role       no        whom to ask, as a role, never a person (``kontakt``)
network            no        the network of towns it belongs to (``netzwerk``)
source             yes       where the facts come from (``quelle``)
=================  ========  ==========================================================

Every violation raises an :class:`~wandel.errors.InputFormatError` (a missing field a
:class:`~wandel.errors.MissingColumnError`, an id named twice for one town a
:class:`~wandel.errors.DuplicateKeyError`) naming file, line, field, value and what was expected.
Whether each AGS exists is checked against the store by the workflow before the import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from wandel.errors import DuplicateKeyError, InputFormatError, InvalidKeyError, MissingColumnError
from wandel.regions.ags import check_key
from wandel.sources._text import decode_text
from wandel.sources._yaml import load_yaml
from wandel.sources.base import ImportBatch, SourceMeta, sha256_of
from wandel.sources.rdb_tidy import read_records
from wandel.tables import conform

__all__ = ["FIELDS", "NAME", "YEAR_RANGE", "read", "sniff"]

NAME = "measures"

FIELDS: tuple[str, ...] = (
    "zuwanderung",
    "fachkraefte",
    "jugend",
    "familie",
    "senioren",
    "image",
    "beteiligung",
    "kooperation",
    "daseinsvorsorge",
    "gesundheit",
    "erreichbarkeit",
    "wohnen",
    "bildung",
    "daten",
)
"""The closed list of fields of action (their texts: ``compare.field.<key>`` in the catalogue)."""

YEAR_RANGE = (1950, 2100)
"""Years a measure may carry (inclusive)."""

_ALIASES: Mapping[str, tuple[str, ...]] = {
    "id": ("id", "measure_id", "massnahme_id"),
    "zone": ("zone", "zones", "ags", "stadt"),
    "title": ("title", "titel"),
    "field": ("field", "handlungsfeld"),
    "year": ("year", "jahr"),
    "year_end": ("year_end", "jahr_ende"),
    "description": ("description", "beschreibung"),
    "cost_eur": ("cost_eur", "kosten_eur"),
    "cost_note": ("cost_note", "finanzierung"),
    "outcome": ("outcome", "ergebnis"),
    "contact_role": ("contact_role", "kontakt"),
    "network": ("network", "netzwerk"),
    "source": ("source", "quelle"),
}
_REQUIRED = ("id", "zone", "title", "field", "year", "description", "source")
_TEXT = ("title", "description", "cost_note", "outcome", "contact_role", "network", "source")


@dataclass(frozen=True)
class _Record:
    """One measure as written: raw values by canonical field, the item's line and each field's line."""

    values: Mapping[str, Any]
    line: int
    lines: Mapping[str, int]
    column: Mapping[str, str]


# ---------------------------------------------------------------------------------------------
# detection


def _csv_header(head: bytes, file: str) -> tuple[str, ...] | None:
    try:
        text, _enc = decode_text(head.split(b"\n", 1)[0], file)
    except InputFormatError:
        return None
    delimiter = ";" if text.count(";") > text.count(",") else ","
    return tuple(h.strip().strip('"').strip().lower() for h in text.split(delimiter))


def sniff(path: Path, head: bytes) -> bool:
    """A YAML file with a top-level ``measures:`` list, or a CSV with every required column."""
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return re.search(rb"^measures\s*:", head, re.MULTILINE) is not None
    if suffix not in {".csv", ".txt"}:
        return False
    header = _csv_header(head, str(path))
    return header is not None and all(any(n in header for n in _ALIASES[c]) for c in _REQUIRED)


# ---------------------------------------------------------------------------------------------
# the two layouts -> records


def _yaml_records(file: str, text: str) -> tuple[list[_Record], Mapping[str, Any]]:
    data, root = load_yaml(text, file, "a YAML mapping with a list 'measures'")
    if not isinstance(data, dict) or not isinstance(data.get("measures"), list):
        raise MissingColumnError(
            file, line=1, column="measures", expected="a YAML mapping with a list 'measures'"
        )
    assert isinstance(root, yaml.MappingNode)  # data is a dict, so the root node is a mapping
    seq = next(v for k, v in root.value if k.value == "measures")
    records = []
    for item, node in zip(data["measures"], seq.value, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(item, dict):
            raise InputFormatError(
                file, line=line, value=item, expected="a mapping of the fields of one measure"
            )
        key_lines = {}
        if isinstance(node, yaml.MappingNode):
            key_lines = {k.value: k.start_mark.line + 1 for k, _v in node.value}
        values: dict[str, Any] = {}
        lines: dict[str, int] = {}
        column: dict[str, str] = {}
        for canon, names in _ALIASES.items():
            for n in names:
                if n in item:
                    values[canon] = item[n]
                    lines[canon] = key_lines.get(n, line)
                    column[canon] = n
                    break
        unknown = sorted(str(k) for k in item if all(str(k) not in n for n in _ALIASES.values()))
        if unknown:
            raise InputFormatError(
                file,
                line=key_lines.get(unknown[0], line),
                column=unknown[0],
                reason="unknown field",
                expected="one of " + ", ".join(n[0] for n in _ALIASES.values()),
            )
        records.append(_Record(values, line, lines, column))
    return records, data


def _csv_records(file: str) -> list[_Record]:
    rec = read_records(file)
    index: dict[str, int] = {}
    for canon, names in _ALIASES.items():
        idx = next((rec.header.index(n) for n in names if n in rec.header), None)
        if idx is not None:
            index[canon] = idx
    out = []
    for row, line in zip(rec.rows, rec.lines, strict=True):
        values: dict[str, Any] = {}
        for canon, i in index.items():
            cell = row[i]
            if cell == "":
                continue
            if canon == "zone":
                values[canon] = [z for z in re.split(r"[\s|/]+", cell) if z]
            elif canon == "cost_eur" and rec.delimiter == ";":
                values[canon] = cell.replace(".", "").replace(",", ".")
            else:
                values[canon] = cell
        lines = dict.fromkeys(index, line)
        column = {c: rec.raw_header[i] for c, i in index.items()}
        out.append(_Record(values, line, lines, column))
    missing = [c for c in _REQUIRED if c not in index]
    if missing:
        raise MissingColumnError(
            file,
            line=1,
            column=_ALIASES[missing[0]][0],
            value=rec.delimiter.join(rec.raw_header),
            reason="a required column is missing",
            expected="the columns " + ", ".join(_ALIASES[c][0] for c in _REQUIRED),
        )
    return out


# ---------------------------------------------------------------------------------------------
# one validator for both


def _fail(file: str, r: _Record, canon: str, value: object, reason: str, expected: str) -> None:
    raise InputFormatError(
        file,
        line=r.lines.get(canon, r.line),
        column=r.column.get(canon, _ALIASES[canon][0]),
        value=value,
        reason=reason,
        expected=expected,
    )


def _year(file: str, r: _Record, canon: str) -> int | None:
    raw = r.values.get(canon)
    if raw is None:
        return None
    text = str(raw).strip()
    lo, hi = YEAR_RANGE
    if isinstance(raw, bool) or not re.fullmatch(r"\d{4}", text) or not lo <= int(text) <= hi:
        _fail(file, r, canon, raw, "not a year", f"a whole year between {lo} and {hi}")
    return int(text)


def _zones(file: str, r: _Record) -> list[str]:
    raw = r.values["zone"]
    zones = raw if isinstance(raw, list) else [raw]
    if not zones:
        _fail(file, r, "zone", raw, "no town", "at least one AGS")
    out = []
    for z in zones:
        if not isinstance(z, str):
            _fail(file, r, "zone", z, "an AGS written as a number", "an AGS in quotes ('15087220')")
        try:
            out.append(check_key(z))
        except InvalidKeyError as exc:
            _fail(file, r, "zone", z, str(exc), "an AGS as a quoted string of digits")
    return out


def _row(file: str, r: _Record) -> list[dict[str, Any]]:
    for c in _REQUIRED:
        if c not in r.values or r.values[c] is None or str(r.values[c]).strip() == "":
            raise MissingColumnError(
                file,
                line=r.line,
                column=_ALIASES[c][0],
                reason="a required field is missing or empty",
                expected="@sources.expected.value_for",
                fields={"field": repr(_ALIASES[c][0])},
            )
    field = str(r.values["field"]).strip()
    if field not in FIELDS:
        _fail(file, r, "field", field, "unknown field of action", "one of " + ", ".join(FIELDS))
    year = _year(file, r, "year")
    year_end = _year(file, r, "year_end")
    if year is not None and year_end is not None and year_end < year:
        _fail(file, r, "year_end", year_end, "ends before it starts", f"a year >= {year}")
    cost: float | None = None
    if r.values.get("cost_eur") is not None:
        raw = r.values["cost_eur"]
        text = str(raw).strip()
        if isinstance(raw, bool) or not re.fullmatch(r"\d+(\.\d+)?", text):
            _fail(file, r, "cost_eur", raw, "not an amount", "a number of euro >= 0")
        cost = float(text)
    base: dict[str, Any] = dict.fromkeys(_TEXT)
    for c in _TEXT:
        if r.values.get(c) is not None:
            base[c] = " ".join(str(r.values[c]).split())
    base.update(
        measure_id=str(r.values["id"]).strip(),
        field=field,
        year=year,
        year_end=year_end,
        cost_eur=cost,
    )
    return [{**base, "zone": z} for z in _zones(file, r)]


def _frame(file: str, records: Sequence[_Record]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for r in records:
        for row in _row(file, r):
            key = (row["measure_id"], row["zone"])
            if key in seen:
                raise DuplicateKeyError(
                    file,
                    line=r.line,
                    column="id",
                    value=f"{key[0]} / {key[1]}",
                    reason="@sources.error.same_measure",
                    expected="each id at most once per town",
                    fields={"line": seen[key]},
                )
            seen[key] = r.line
            rows.append(row)
    if not rows:
        raise InputFormatError(file, reason="no measures", expected="at least one measure")
    return conform("measures", pd.DataFrame(rows))


def read(path: str | Path) -> ImportBatch:
    """Read a register of measures (YAML or CSV) completely; raise on the first bad field."""
    p = Path(path)
    file = str(p)
    info: Mapping[str, Any] = {}
    if p.suffix.lower() in {".yaml", ".yml"}:
        text, _enc = decode_text(p.read_bytes(), file)
        records, info = _yaml_records(file, text)
    else:
        records = _csv_records(file)
    frame = _frame(file, records)
    meta = SourceMeta(
        file=file,
        sha256=sha256_of(p),
        kind=NAME,
        table_code="Maßnahmenregister",
        title=str(info.get("title") or p.name),
        producer=str(info.get("producer") or ""),
        licence=str(info.get("licence") or "Angaben der genannten Quellen, zusammengefasst"),
    )
    return ImportBatch(meta, {"measures": frame}, rows_read=len(records))

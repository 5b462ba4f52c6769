"""The canonical long tables at every boundary of Wandel (see DESIGN.md, "Canonical tables").

Every reader returns, and the store holds, these tables. Keys are strings with leading zeros
(``zone`` is an AGS: 2 digits Land, 5 Kreis, 8 Gemeinde, 9 Gemeindeverband; ``"DG"`` is Germany as in
the Regionaldatenbank). ``year`` is the reference year (31 December for stocks, the calendar year for
events). ``sex`` is ``"m"``, ``"f"`` or ``"t"`` (both sexes, used only where a source gives no split).
Ages are half-open intervals ``[age_start, age_end)``; the open group has ``age_end`` missing, so "all
ages" is ``age_start=0, age_end=<NA>``.

``status`` holds the typed GENESIS state of a cell (see :mod:`wandel.sources._cells`); ``value`` is NaN
whenever the status has no figure. ``flag`` holds quality flags (p, r, s, e). ``estimated`` marks rows
Wandel estimated itself (e.g. Gemeinde age structures from the Kreis structure).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = [
    "CHANGE_COLUMNS",
    "SEXES",
    "TABLES",
    "Column",
    "TableSpec",
    "conform",
    "empty_frame",
]

SEXES: tuple[str, str] = ("m", "f")
"""The two sexes of the canonical tables, in the order every array with a ``sex`` axis uses
(``"t"``, both sexes, is a third code only where a source gives no split)."""


@dataclass(frozen=True)
class Column:
    """One column: name, DuckDB type, pandas dtype, nullability and help text."""

    name: str
    sql: str
    dtype: str
    nullable: bool = True
    help: str = ""


def _c(name: str, sql: str, dtype: str, nullable: bool = True, help: str = "") -> Column:
    return Column(name, sql, dtype, nullable, help)


ZONE = _c("zone", "VARCHAR", "string", False, "AGS with leading zeros, or DG for Germany")
YEAR = _c("year", "INTEGER", "Int64", False, "reference year")
SEX = _c("sex", "VARCHAR", "string", False, "m, f or t (both)")
AGE_START = _c("age_start", "INTEGER", "Int64", False, "first age in the group")
AGE_END = _c("age_end", "INTEGER", "Int64", True, "first age after the group; missing = open")
VALUE = _c("value", "DOUBLE", "float64", True, "the figure; NaN where status has none")
STATUS = _c("status", "VARCHAR", "string", True, "GENESIS state: nothing, unknown, ...")
FLAG = _c("flag", "VARCHAR", "string", True, "quality flag p/r/s/e")
ESTIMATED = _c("estimated", "BOOLEAN", "boolean", False, "estimated by Wandel, not published")


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its key columns (unique per row) and its other columns."""

    name: str
    key: tuple[Column, ...]
    columns: tuple[Column, ...]
    help: str = ""

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.key + self.columns

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.all_columns]

    @property
    def key_names(self) -> list[str]:
        return [c.name for c in self.key]


_CELL = (VALUE, STATUS, FLAG)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec(
            "population",
            (ZONE, YEAR, SEX, AGE_START, AGE_END),
            (*_CELL, ESTIMATED),
            "Population on 31 December by sex and age group.",
        ),
        TableSpec(
            "census_population",
            (
                ZONE,
                _c(
                    "reference_date",
                    "VARCHAR",
                    "string",
                    False,
                    "census reference date, ISO (2011-05-09, 2022-05-15)",
                ),
                SEX,
                AGE_START,
                AGE_END,
            ),
            _CELL,
            "Census counts (Zensus 2011, 2022) by sex and age group on the census reference date; "
            "kept apart from the year-end Fortschreibung in population.",
        ),
        TableSpec(
            "official_projection",
            (
                ZONE,
                YEAR,
                _c("variant", "VARCHAR", "string", False, "e.g. 15kBV-V01 (G2L2W1)"),
                SEX,
                AGE_START,
                AGE_END,
            ),
            _CELL,
            "Official population projections (e.g. 12421-0002), for comparison only.",
        ),
        TableSpec(
            "births",
            (ZONE, YEAR, SEX, AGE_START, AGE_END),
            _CELL,
            "Live births in the year; sex of the child, age group of the mother (0-open = all).",
        ),
        TableSpec(
            "deaths",
            (ZONE, YEAR, SEX, AGE_START, AGE_END),
            _CELL,
            "Deaths in the year by sex and age group.",
        ),
        TableSpec(
            "migration",
            (
                ZONE,
                YEAR,
                SEX,
                AGE_START,
                AGE_END,
                _c("direction", "VARCHAR", "string", False, "in or out"),
                _c("partner", "VARCHAR", "string", False, "other zone; empty = any outside"),
            ),
            _CELL,
            "Moves across the zone's border (Zuzüge = in, Fortzüge = out).",
        ),
        TableSpec(
            "life_tables",
            (
                _c("zone", "VARCHAR", "string", False, "region of the table"),
                _c("period", "VARCHAR", "string", False, "e.g. 2022/24"),
                SEX,
                _c("age", "INTEGER", "Int64", False, "completed age x"),
            ),
            (
                _c("open", "BOOLEAN", "boolean", False, "last, open age group"),
                _c("qx", "DOUBLE", "float64"),
                _c("px", "DOUBLE", "float64"),
                _c("lx", "DOUBLE", "float64"),
                _c("dx", "DOUBLE", "float64"),
                _c("nLx", "DOUBLE", "float64", True, "person-years lived x..x+1 (L(x))"),
                _c("Tx", "DOUBLE", "float64"),
                _c("ex", "DOUBLE", "float64"),
            ),
            "Period life tables (Destatis 12621-0001).",
        ),
        TableSpec(
            "fertility",
            (
                ZONE,
                YEAR,
                _c(
                    "measure",
                    "VARCHAR",
                    "string",
                    False,
                    "asfr_per_1000, tfr, nrr, births, mean_age",
                ),
                _c("category", "VARCHAR", "string", False, "e.g. birth order 1..4; empty = all"),
                AGE_START,
                AGE_END,
            ),
            _CELL,
            "Fertility measures by age of the mother (Destatis 12612-...).",
        ),
        TableSpec(
            "care",
            (ZONE, YEAR, SEX, _c("care_type", "VARCHAR", "string", False, "Leistungsart")),
            _CELL,
            "People needing care by type of care (Pflegestatistik 22411).",
        ),
        TableSpec(
            "gv_records",
            (ZONE, YEAR),
            (
                _c(
                    "level",
                    "VARCHAR",
                    "string",
                    False,
                    "land, regbez, kreis, gemeindeverband, gemeinde",
                ),
                _c("name", "VARCHAR", "string", False),
                _c("parent", "VARCHAR", "string", True, "key of the next level up"),
                _c("area_km2", "DOUBLE", "float64"),
                _c("pop_total", "DOUBLE", "float64"),
                _c("pop_m", "DOUBLE", "float64"),
                _c("pop_f", "DOUBLE", "float64"),
                _c("postcode", "VARCHAR", "string"),
                _c("lon", "DOUBLE", "float64"),
                _c("lat", "DOUBLE", "float64"),
            ),
            "Gemeindeverzeichnis records (GV-ISys Auszug GV) as of 31 December of the year.",
        ),
        TableSpec(
            "facilities",
            (_c("facility_id", "VARCHAR", "string", False), YEAR),
            (
                _c("kind", "VARCHAR", "string", False, "hospital, school, kita, gp, ..."),
                _c("name", "VARCHAR", "string"),
                _c("address", "VARCHAR", "string"),
                _c("zone", "VARCHAR", "string", True, "AGS where known"),
                _c("lon", "DOUBLE", "float64"),
                _c("lat", "DOUBLE", "float64"),
                _c("capacity", "DOUBLE", "float64", True, "beds, places, ..."),
                _c("attributes", "VARCHAR", "string", True, "further fields as JSON"),
            ),
            "Facilities (hospitals, schools, ...) with WGS84 coordinates.",
        ),
        TableSpec(
            "boundaries",
            (
                ZONE,
                _c("valid_year", "INTEGER", "Int64", False, "territorial status year"),
                _c(
                    "level", "VARCHAR", "string", False, "gemeinde, kreis, land, bund, border_lines"
                ),
            ),
            (
                _c("crs", "VARCHAR", "string", False, "e.g. EPSG:25832"),
                _c("geometry", "BLOB", "object", False, "WKB"),
            ),
            "Boundaries of zones (VG250).",
        ),
        TableSpec(
            "measures",
            (
                _c("measure_id", "VARCHAR", "string", False, "the register's id of the measure"),
                ZONE,
            ),
            (
                _c("title", "VARCHAR", "string", False, "short name of the measure"),
                _c("field", "VARCHAR", "string", False, "field of action (closed list)"),
                YEAR,
                _c("year_end", "INTEGER", "Int64", True, "last year; missing = one year/ongoing"),
                _c("description", "VARCHAR", "string", False, "what was done"),
                _c("cost_eur", "DOUBLE", "float64", True, "cost in euro where the source says"),
                _c("cost_note", "VARCHAR", "string", True, "funding and cost as the source says"),
                _c("outcome", "VARCHAR", "string", True, "what came of it"),
                _c("contact_role", "VARCHAR", "string", True, "who to ask (a role, no person)"),
                _c("network", "VARCHAR", "string", True, "network of towns it belongs to"),
                _c("source", "VARCHAR", "string", False, "where the facts come from"),
            ),
            "Register of measures towns tried (practice exchange); one row per measure and town.",
        ),
    ]
}
"""Every canonical table by name."""


def empty_frame(name: str) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of table ``name``."""
    spec = TABLES[name]
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in spec.all_columns})


def conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the canonical columns of ``name`` in order and with their dtypes.

    Missing nullable columns are added empty (``estimated`` defaults to False); a missing non-nullable
    column or an unknown column is a programming error of the reader and raises ``KeyError``. Note that
    DuckDB names are case-insensitive, hence ``nLx`` (not ``Lx``) beside ``lx``.
    """
    spec = TABLES[name]
    unknown = sorted(set(frame.columns) - set(spec.names))
    if unknown:
        raise KeyError(f"{name}: unknown columns {unknown}; canonical columns are {spec.names}")
    out: dict[str, pd.Series] = {}
    n = len(frame)
    for c in spec.all_columns:
        if c.name in frame.columns:
            col = frame[c.name]
        elif c.name == "estimated":
            col = pd.Series([False] * n, index=frame.index)
        elif c.nullable:
            col = pd.Series([None] * n, index=frame.index)
        else:
            raise KeyError(f"{name}: reader produced no column {c.name!r}")
        out[c.name] = col.astype(c.dtype) if c.dtype != "object" else col
    return pd.DataFrame(out, copy=False).reset_index(drop=True)


CHANGE_COLUMNS = [
    "from_zone",
    "to_zone",
    "from_year",
    "to_year",
    "weight",
    "basis",
    "kind",
    "flagged",
    "from_pop",
    "from_area_km2",
    "note",
]
"""Columns of a territorial-change table (:mod:`wandel.regions.changes`), as the store keeps them (table ``zone_changes``)."""

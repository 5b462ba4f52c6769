"""DuckDB store: schema, transactional imports with provenance, canonical queries, checksum.

Every import is one transaction: the file is read and validated completely *before* the transaction
starts, then all its tables and its provenance record are written together or not at all. A file whose
SHA-256 is already recorded is skipped, so importing the same file twice changes nothing. Rows of a new
import replace rows with the same key (a corrected re-publication wins), and the provenance says which
import wrote each row (``import_id``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from wandel.errors import StoreError
from wandel.sources.base import ImportBatch
from wandel.tables import CHANGE_COLUMNS, TABLES, TableSpec, conform

__all__ = ["SCHEMA_VERSION", "ImportReport", "Store"]

SCHEMA_VERSION = 1

_PROVENANCE = """
CREATE TABLE IF NOT EXISTS provenance (
    import_id INTEGER PRIMARY KEY,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    table_code VARCHAR,
    title VARCHAR,
    producer VARCHAR,
    licence VARCHAR,
    rows_read BIGINT,
    rows_imported BIGINT,
    tables VARCHAR,
    imported_at TIMESTAMP
)
"""

_ZONE_CHANGES = """
CREATE TABLE IF NOT EXISTS zone_changes (
    from_zone VARCHAR NOT NULL,
    to_zone VARCHAR NOT NULL,
    from_year INTEGER NOT NULL,
    to_year INTEGER NOT NULL,
    weight DOUBLE NOT NULL,
    basis VARCHAR,
    kind VARCHAR,
    flagged BOOLEAN,
    from_pop DOUBLE,
    from_area_km2 DOUBLE,
    note VARCHAR
)
"""

_ZONES_VIEW = """
CREATE OR REPLACE VIEW zones AS
WITH last AS (SELECT max(year) AS y FROM gv_records)
SELECT zone,
       arg_max(name, year) AS name,
       arg_max(level, year) AS level,
       arg_max(parent, year) AS parent,
       min(year) AS valid_from,
       CASE WHEN max(year) = (SELECT y FROM last) THEN NULL ELSE max(year) END AS valid_to
FROM gv_records GROUP BY zone
"""


def _create_sql(spec: TableSpec) -> str:
    cols = [f'"{c.name}" {c.sql}{"" if c.nullable else " NOT NULL"}' for c in spec.all_columns]
    cols.append("import_id INTEGER NOT NULL")
    return f"CREATE TABLE IF NOT EXISTS {spec.name} ({', '.join(cols)})"


@dataclass(frozen=True)
class ImportReport:
    """What one import did. ``skipped`` is True when the same file (by SHA-256) was already imported."""

    file: str
    kind: str
    sha256: str
    rows_read: int
    rows_imported: int
    tables: dict[str, int] = field(default_factory=dict)
    rejected: tuple[tuple[str, int], ...] = ()
    skipped: bool = False
    import_id: int | None = None


def level_of_zone(zone: str) -> str:
    """Level of a key by its form: ``DG`` bund, 2 digits land, 5 kreis, 8 gemeinde, 9 verband."""
    if zone == "DG":
        return "bund"
    return {2: "land", 3: "regbez", 5: "kreis", 8: "gemeinde", 9: "gemeindeverband"}.get(
        len(zone), "unknown"
    )


class Store:
    """A Wandel store in one DuckDB file. Use :meth:`open` as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str) -> None:
        self.con = con
        self.path = path
        self._depth = 0  # open transactions of :meth:`transaction` (nested ones join the outer)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction around the block: everything it writes, or nothing.

        Nested blocks join the outermost one, so an import and the data derived from it (or all
        files of one ``wandel import``) commit together: an error anywhere inside leaves the store
        exactly as it was before the outermost block.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._depth = 0
        self.con.execute("COMMIT")

    # -- lifecycle -----------------------------------------------------------------------------------
    @classmethod
    @contextmanager
    def open(cls, path: str | Path, read_only: bool = False) -> Iterator[Store]:
        """Open (and create, unless ``read_only``) the store at ``path``; ``":memory:"`` works too."""
        p = str(path)
        if p != ":memory:":
            if read_only and not Path(p).is_file():
                raise StoreError("@error.store.missing", path=p)
            Path(p).parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(p, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError("@error.store.cannot_open", path=p, reason=str(exc)) from None
        store = cls(con, p)
        try:
            if not read_only:
                store._ensure_schema()
            elif not store._has_schema():
                raise StoreError("@error.store.not_wandel", path=p)
            else:
                store._check_version()
            yield store
        finally:
            con.close()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """First row of a query; the result is always fully consumed (DuckDB >= 2 requires it)."""
        rows = self.con.execute(sql, list(params)).fetchall()
        return rows[0] if rows else None

    def _has_schema(self) -> bool:
        row = self._one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'provenance'"
        )
        return bool(row and row[0])

    def _check_version(self) -> None:
        """A store read by this Wandel must be of its schema version (read-only: no migration)."""
        has_meta = self._one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'wandel_meta'"
        )
        if not (has_meta and has_meta[0]):
            return
        have = self._one("SELECT value FROM wandel_meta WHERE key = 'schema_version'")
        if have is not None and int(have[0]) != SCHEMA_VERSION:
            raise StoreError(
                "@error.store.schema", path=self.path, have=have[0], need=SCHEMA_VERSION
            )

    def _ensure_schema(self) -> None:
        self.con.execute("BEGIN")
        try:
            self.con.execute("CREATE TABLE IF NOT EXISTS wandel_meta (key VARCHAR, value VARCHAR)")
            have = self._one("SELECT value FROM wandel_meta WHERE key = 'schema_version'")
            if have is None:
                self.con.execute(
                    "INSERT INTO wandel_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
                )
            elif int(have[0]) != SCHEMA_VERSION:
                raise StoreError(
                    "@error.store.schema", path=self.path, have=have[0], need=SCHEMA_VERSION
                )
            self.con.execute(_PROVENANCE)
            self.con.execute(_ZONE_CHANGES)
            for spec in TABLES.values():
                self.con.execute(_create_sql(spec))
            self.con.execute(_ZONES_VIEW)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    # -- imports -------------------------------------------------------------------------------------
    def import_file(self, path: str | Path, kind: str = "auto") -> ImportReport:
        """Read ``path`` completely (raising on bad input before anything is written), then import it."""
        from wandel.sources.registry import read

        return self.import_batch(read(path, kind))

    def has_sha256(self, sha256: str) -> bool:
        row = self._one("SELECT count(*) FROM provenance WHERE sha256 = ?", [sha256])
        return bool(row and row[0])

    def import_batch(self, batch: ImportBatch) -> ImportReport:
        """Write one batch in one transaction: every table and the provenance record, or nothing."""
        meta = batch.meta
        if self.has_sha256(meta.sha256):
            return ImportReport(
                meta.file, meta.kind, meta.sha256, batch.rows_read, 0, {}, batch.rejected, True
            )
        frames = {name: conform(name, frame) for name, frame in batch.tables.items()}
        con = self.con
        with self.transaction():
            row = self._one("SELECT coalesce(max(import_id), 0) + 1 FROM provenance")
            import_id = int(row[0]) if row else 1
            counts: dict[str, int] = {}
            for name, frame in frames.items():
                if frame.empty:
                    continue
                counts[name] = self._replace_rows(TABLES[name], frame, import_id)
            con.execute(
                "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    import_id,
                    Path(meta.file).name,
                    meta.sha256,
                    meta.kind,
                    meta.table_code,
                    meta.title,
                    meta.producer,
                    meta.licence,
                    batch.rows_read,
                    sum(counts.values()),
                    json.dumps(counts, sort_keys=True),
                    dt.datetime.now(dt.UTC).replace(tzinfo=None),
                ],
            )
        return ImportReport(
            meta.file,
            meta.kind,
            meta.sha256,
            batch.rows_read,
            sum(counts.values()),
            counts,
            batch.rejected,
            False,
            import_id,
        )

    def _replace_rows(self, spec: TableSpec, frame: pd.DataFrame, import_id: int) -> int:
        con = self.con
        view = f"_incoming_{spec.name}"
        con.register(view, frame)
        try:
            cond = " AND ".join(f't."{c.name}" IS NOT DISTINCT FROM n."{c.name}"' for c in spec.key)
            keys = ", ".join(f'"{c}"' for c in spec.key_names)
            con.execute(
                f"DELETE FROM {spec.name} t WHERE EXISTS "
                f"(SELECT 1 FROM (SELECT DISTINCT {keys} FROM {view}) n WHERE {cond})"
            )
            cols = ", ".join(f'"{c}"' for c in spec.names)
            con.execute(
                f"INSERT INTO {spec.name} ({cols}, import_id) SELECT {cols}, {import_id} FROM {view}"
            )
        finally:
            con.unregister(view)
        return len(frame)

    def replace_zone_changes(self, changes: pd.DataFrame) -> None:
        """Replace the recorded territorial changes (derived by :mod:`wandel.regions`) in one transaction."""
        cols = CHANGE_COLUMNS
        changes = changes.reindex(columns=cols)
        con = self.con
        with self.transaction():
            con.execute("DELETE FROM zone_changes")
            con.register("_incoming_changes", changes[cols])
            try:
                con.execute(
                    f"INSERT INTO zone_changes ({', '.join(cols)}) SELECT * FROM _incoming_changes"
                )
            finally:
                con.unregister("_incoming_changes")

    # -- queries -------------------------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        """Whether the store file holds table ``name`` (a store written by an older Wandel may lack
        a canonical table added since; opening it writable adds it)."""
        row = self._one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        )
        return bool(row and row[0])

    def table(self, name: str, where: str = "", params: Sequence[Any] = ()) -> pd.DataFrame:
        """A canonical table (without ``import_id``), optionally filtered by a SQL ``where`` clause.

        A canonical table the store file does not hold yet (see :meth:`has_table`) reads as empty.
        """
        spec = TABLES[name]
        if not self.has_table(name):
            return conform(name, pd.DataFrame({c: [] for c in spec.names}))
        cols = ", ".join(f'"{c}"' for c in spec.names)
        sql = f"SELECT {cols} FROM {name}"
        if where:
            sql += f" WHERE {where}"
        sql += " ORDER BY " + ", ".join(f'"{c}"' for c in spec.key_names)
        frame = self.con.execute(sql, list(params)).fetchdf()
        return conform(name, frame)

    def population(
        self,
        zones: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
        level: str | None = None,
        include_estimated: bool = True,
    ) -> pd.DataFrame:
        """Population as the canonical long table, filtered by zones, years and level."""
        clauses: list[str] = []
        params: list[Any] = []
        if zones:
            clauses.append(f"zone IN ({', '.join('?' * len(zones))})")
            params.extend(zones)
        if years:
            clauses.append(f"year IN ({', '.join('?' * len(years))})")
            params.extend(int(y) for y in years)
        if level:
            lengths = {"bund": None, "land": 2, "kreis": 5, "gemeinde": 8}
            if level not in lengths:
                raise ValueError(f"unknown level {level!r}; expected one of {sorted(lengths)}")
            n = lengths[level]
            clauses.append("zone = 'DG'" if n is None else f"length(zone) = {n} AND zone <> 'DG'")
        if not include_estimated:
            clauses.append("NOT estimated")
        return self.table("population", " AND ".join(clauses), params)

    def zones(self, search: str | None = None, level: str | None = None) -> pd.DataFrame:
        """Zones known from the Gemeindeverzeichnis, with name, level, parent and validity."""
        sql = "SELECT zone, name, level, parent, valid_from, valid_to FROM zones"
        clauses: list[str] = []
        params: list[Any] = []
        if search:
            clauses.append("(name ILIKE ? OR zone LIKE ?)")
            params += [f"%{search}%", f"{search}%"]
        if level:
            clauses.append("level = ?")
            params.append(level)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return self.con.execute(sql + " ORDER BY zone", params).fetchdf()

    def zone_changes(self) -> pd.DataFrame:
        return self.con.execute(
            "SELECT * FROM zone_changes ORDER BY from_year, from_zone, to_zone"
        ).fetchdf()

    def provenance(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM provenance ORDER BY import_id").fetchdf()

    def counts(self) -> dict[str, int]:
        """Row count of every canonical table."""
        out: dict[str, int] = {}
        for name in TABLES:
            if not self.has_table(name):
                out[name] = 0
                continue
            row = self._one(f"SELECT count(*) FROM {name}")
            out[name] = int(row[0]) if row else 0
        return out

    def checksum(self) -> str:
        """A checksum of the store's whole content (all tables, provenance included), order-free.

        Two stores with the same rows give the same checksum; it proves that a failed import left the
        store exactly as it was.
        """
        import hashlib

        h = hashlib.sha256()
        names = ["provenance", "zone_changes", *TABLES]
        for name in names:
            if not self.has_table(name):
                continue
            row = self._one(f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {name} t")
            h.update(f"{name}:{row}".encode())
        return h.hexdigest()

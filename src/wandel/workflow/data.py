"""The store's content: importing files, listing zones, what the store holds and where it came from.

Used by ``wandel import``, ``wandel zones`` and ``wandel info`` (and the web app). An import reads
*every* file first and writes only when all of them were read: a file that cannot be read leaves
the store exactly as it was. The files, each with its provenance record
(:meth:`wandel.store.Store.import_batch`), and the data derived from them are then written in one
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from wandel.errors import UnknownChoiceError
from wandel.sources.base import ImportBatch
from wandel.sources.register import Register
from wandel.store import ImportReport, Store

if TYPE_CHECKING:
    from wandel.workflow.imports import DerivedReport

__all__ = [
    "ZONE_LEVELS",
    "ImportOptions",
    "StoreSummary",
    "import_register",
    "read_files",
    "store_summary",
    "write_batches",
    "zone_list",
]

ZONE_LEVELS: tuple[str, ...] = ("land", "regbez", "kreis", "gemeindeverband", "gemeinde")
"""The levels of the Gemeindeverzeichnis's zones (``wandel zones --level``)."""


@dataclass(frozen=True)
class ImportOptions:
    """How to read the files: the format (``auto``: detected from the content) and what a file
    may lack: the reference year of a facility list, the territorial status of boundaries, the
    kind of facilities, the zone (AGS) and variant name of a city's own files."""

    kind: str = "auto"
    year: int | None = None
    valid_year: int | None = None
    facility_kind: str | None = None
    zone: str | None = None
    variant: str | None = None


def _nothing(path: Path) -> None:
    """The default progress callback: say nothing."""


def read_files(
    files: Sequence[Path],
    options: ImportOptions,
    on_file: Callable[[Path], None] = _nothing,
    db: Path | None = None,
) -> list[ImportBatch]:
    """Read every file (``on_file(path)`` before each) into import batches; nothing is written.

    Regions given by name only are resolved against the region register of the store at ``db``
    (its Gemeindeverzeichnis records) together with those of the files read before in the same
    call, laid over the shipped register (:func:`import_register`).

    Raises
    ------
    wandel.errors.WandelError
        The first file that cannot be read, with file, line, column and what was expected.
    """
    from wandel.sources.registry import detect, read

    given = {k: v for k, v in asdict(options).items() if k != "kind"}
    batches: list[ImportBatch] = []
    for f in files:
        on_file(f)
        kind = detect(f) if options.kind == "auto" else options.kind
        extra = {"register": import_register(db, batches)} if kind in _BY_NAME else {}
        batches.append(read(f, kind, **given, **extra))
    return batches


_BY_NAME = frozenset({"genesis-classic"})
"""Readers that take regions given by name (and so a ``register=``)."""


def import_register(db: Path | None, batches: Sequence[ImportBatch] = ()) -> Register:
    """The region register an import resolves names with: the Gemeindeverzeichnis records of the
    store at ``db`` (if there is one) and of ``batches``, laid over :meth:`Register.shipped`.

    A later source wins for a (year, level) both hold: the batches over the store over the shipped
    register.
    """
    frames = [b.tables["gv_records"] for b in batches if "gv_records" in b.tables]
    if db is not None and Path(db).is_file():
        with Store.open(db, read_only=True) as store:
            frames.insert(0, store.table("gv_records"))
    reg = Register.shipped()
    for gv in frames:
        if len(gv):
            reg = Register.from_gv_records(gv).over(reg)
    return reg


def write_batches(
    db: Path,
    batches: Sequence[ImportBatch],
    on_batch: Callable[[ImportBatch], None] = lambda b: None,
    on_derived: Callable[[DerivedReport], None] = lambda d: None,
) -> list[ImportReport]:
    """Write the batches (``on_batch`` after each) and the data derived from them in ONE
    transaction: all of them or nothing, so the store never holds an import without its derived
    data. The same file twice changes nothing (its report says ``skipped``).

    The derived data, for the whole store (:func:`wandel.workflow.imports.derive_after_import`,
    the same step as in ``wandel demo``): the territorial changes between all Gemeindeverzeichnis
    years and the Gemeinde structure estimates; a report of the estimates is appended when they
    changed. ``on_derived`` receives what was derived (e.g. to name the Gemeinden a partial
    Gemeindeverzeichnis leaves out).
    """
    from wandel.workflow.imports import derive_after_import

    reports = []
    with Store.open(db) as store, store.transaction():
        for b in batches:
            reports.append(store.import_batch(b))
            on_batch(b)
        derived = derive_after_import(store)
    on_derived(derived)
    if not derived.estimates.skipped:
        reports.append(derived.estimates)
    return reports


def zone_list(db: Path, search: str | None = None, level: str | None = None) -> pd.DataFrame:
    """Zones of the store whose name contains ``search`` or whose key starts with it, of ``level``.

    Raises
    ------
    UnknownChoiceError
        ``level`` is not one of :data:`ZONE_LEVELS`.
    """
    if level is not None and level not in ZONE_LEVELS:
        raise UnknownChoiceError("--level", level, ZONE_LEVELS)
    with Store.open(db, read_only=True) as store:
        return store.zones(search, level)


@dataclass(frozen=True, eq=False)
class StoreSummary:
    """Rows per canonical table, and the provenance record of every import."""

    counts: dict[str, int]
    provenance: pd.DataFrame


def store_summary(db: Path) -> StoreSummary:
    """What the store at ``db`` holds and where it came from."""
    with Store.open(db, read_only=True) as store:
        return StoreSummary(store.counts(), store.provenance())

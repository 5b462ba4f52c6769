"""What every reader returns: an :class:`ImportBatch` of canonical tables plus provenance."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = [
    "LICENCE_BKG",
    "LICENCE_DESTATIS",
    "LICENCE_DLDE",
    "LICENCE_GBA",
    "LICENCE_ODBL",
    "ImportBatch",
    "SourceMeta",
    "sha256_of",
]

LICENCE_DLDE = "Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2-0)"
LICENCE_DESTATIS = (
    "© Statistisches Bundesamt (Destatis), GV-ISys; Vervielfältigung und Verbreitung, auch "
    "auszugsweise, mit Quellenangabe gestattet"
)
LICENCE_BKG = "© GeoBasis-DE / BKG, dl-de/by-2-0"
LICENCE_ODBL = "© OpenStreetMap contributors, ODbL 1.0"
LICENCE_GBA = "© G-BA Qualitätsberichte der Krankenhäuser"


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class SourceMeta:
    """Provenance of one imported file.

    ``kind`` is the reader's name (e.g. ``genesis-classic``), ``table_code`` the official table
    (``12411-0018``), ``producer`` who published it, ``licence`` the note every output must carry.
    """

    file: str
    sha256: str
    kind: str
    table_code: str = ""
    title: str = ""
    producer: str = ""
    licence: str = ""


@dataclass(frozen=True)
class ImportBatch:
    """Canonical tables read from one file, ready to be written in one transaction.

    ``tables`` maps a canonical table name (see :data:`wandel.tables.TABLES`) to a frame conformed to
    it. ``rows_read`` counts the data rows the reader saw; ``rejected`` lists ``(reason, count)`` for
    rows the reader deliberately left out (e.g. total rows that were verified and are redundant).
    """

    meta: SourceMeta
    tables: Mapping[str, pd.DataFrame]
    rows_read: int = 0
    rejected: tuple[tuple[str, int], ...] = field(default_factory=tuple)

    @property
    def rows(self) -> int:
        return sum(len(f) for f in self.tables.values())

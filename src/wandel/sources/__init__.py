"""Readers for the official formats. Each returns canonical tables (:mod:`wandel.tables`).

Every reader module offers ``NAME`` (the ``--kind`` name), ``sniff(path, head) -> bool`` (does this file
look like mine? ``head`` is the file's first 64 KiB) and ``read(path) -> ImportBatch``.
:func:`detect` asks each reader in turn; an unknown format is refused by name.
"""

from __future__ import annotations

from wandel.sources.base import ImportBatch, SourceMeta
from wandel.sources.registry import READER_NAMES, detect, read

__all__ = ["READER_NAMES", "ImportBatch", "SourceMeta", "detect", "read"]

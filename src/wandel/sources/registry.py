"""The one place that knows every reader: format detection and dispatch."""

from __future__ import annotations

import importlib
import inspect
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from wandel.errors import UnknownFormatError
from wandel.sources.base import ImportBatch

__all__ = ["READER_NAMES", "detect", "read"]

# kind name -> module; order matters for detection (most specific first)
_MODULES: dict[str, str] = {
    "genesis-ffcsv": "wandel.sources.ffcsv",
    "gv-isys": "wandel.sources.gv_isys",
    "gv100ad": "wandel.sources.gv100ad",
    "vg250": "wandel.sources.vg250",
    "rdb-tidy": "wandel.sources.rdb_tidy",
    "kommunal": "wandel.sources.kommunal",
    "measures": "wandel.sources.measures",
    "facilities": "wandel.sources.facilities",
    "genesis-classic": "wandel.sources.genesis_classic",
}

READER_NAMES: tuple[str, ...] = tuple(_MODULES)

# what reading a damaged file can raise inside a sniffer (archive, compression, decoding, I/O)
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, UnicodeDecodeError, ValueError)


def _module(kind: str) -> ModuleType:
    return importlib.import_module(_MODULES[kind])


def detect(path: str | Path) -> str:
    """Return the reader name for ``path``; raise :class:`UnknownFormatError` if none fits."""
    p = Path(path)
    if not p.is_file():
        raise UnknownFormatError(f"{p}: no such file")
    with open(p, "rb") as fh:
        head = fh.read(65536)
    if not head:
        raise UnknownFormatError(f"{p}: the file is empty; expected one of: {', '.join(_MODULES)}")
    for kind in _MODULES:
        sniff = cast(Callable[[Path, bytes], bool], _module(kind).sniff)
        try:
            mine = sniff(p, head)
        except _DAMAGED as exc:  # a damaged file must not break detection: refuse it by name
            raise UnknownFormatError(
                f"{p}: damaged or unreadable file ({type(exc).__name__}: {exc}); "
                f"Wandel reads: {', '.join(_MODULES)}"
            ) from None
        if mine:
            return kind
    raise UnknownFormatError(
        f"{p}: unknown format; Wandel reads: {', '.join(_MODULES)} (use --kind to force one)"
    )


def read(path: str | Path, kind: str = "auto", **options: Any) -> ImportBatch:
    """Read ``path`` with the reader ``kind`` (``"auto"``: :func:`detect`).

    ``options`` are keyword parameters of readers that take them (e.g. ``year`` for facility lists,
    ``valid_year`` for VG250); a reader that does not know an option simply does not get it.
    """
    p = Path(path)
    if kind == "auto":
        kind = detect(p)
    if kind not in _MODULES:
        raise UnknownFormatError(f"unknown kind {kind!r}; known kinds: {', '.join(_MODULES)}")
    reader = cast(Callable[..., ImportBatch], _module(kind).read)
    accepted = inspect.signature(reader).parameters
    return reader(p, **{k: v for k, v in options.items() if k in accepted and v is not None})

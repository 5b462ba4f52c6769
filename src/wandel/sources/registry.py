"""The one place that knows every reader: format detection and dispatch."""

from __future__ import annotations

import importlib
import inspect
import json
import re
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


def _not_data(p: Path, head: bytes) -> UnknownFormatError | None:
    """An HTML page or a GENESIS web service status (JSON) where a data file was expected: the
    error page a portal or the service sends instead of the table."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    low = start[:1024].lower()
    if low.startswith((b"<!doctype html", b"<html")) or (low.startswith(b"<") and b"<html" in low):
        m = re.search(rb"<title[^>]*>(.*?)</title>", start[:65536], re.I | re.S)
        title = m.group(1).decode("utf-8", "replace").strip() if m else ""
        return UnknownFormatError(
            "@sources.error.html_page", file=str(p), title=f": {title[:80]}" if title else ""
        )
    if low.startswith(b"{"):
        try:
            obj = json.loads(start.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        status = obj.get("Status") if isinstance(obj, dict) else None
        if isinstance(status, dict) and "Code" in status:
            return UnknownFormatError(
                "@sources.error.service_status",
                file=str(p),
                code=status.get("Code"),
                content=str(status.get("Content", ""))[:200],
            )
    return None


def detect(path: str | Path) -> str:
    """Return the reader name for ``path``; raise :class:`UnknownFormatError` if none fits."""
    p = Path(path)
    if not p.is_file():
        raise UnknownFormatError("@error.format.no_file", file=str(p))
    with open(p, "rb") as fh:
        head = fh.read(65536)
    page = _not_data(p, head)
    if page is not None:
        raise page
    if not head:
        raise UnknownFormatError("@error.format.empty", file=str(p), kinds=list(_MODULES))
    for kind in _MODULES:
        sniff = cast(Callable[[Path, bytes], bool], _module(kind).sniff)
        try:
            mine = sniff(p, head)
        except _DAMAGED as exc:  # a damaged file must not break detection: refuse it by name
            raise UnknownFormatError(
                "@error.format.damaged",
                file=str(p),
                reason=f"{type(exc).__name__}: {exc}",
                kinds=list(_MODULES),
            ) from None
        if mine:
            return kind
    raise UnknownFormatError("@error.format.unknown", file=str(p), kinds=list(_MODULES))


def read(path: str | Path, kind: str = "auto", **options: Any) -> ImportBatch:
    """Read ``path`` with the reader ``kind`` (``"auto"``: :func:`detect`).

    ``options`` are keyword parameters of readers that take them (e.g. ``year`` for facility lists,
    ``valid_year`` for VG250); a reader that does not know an option simply does not get it.
    """
    p = Path(path)
    if kind == "auto":
        kind = detect(p)
    if kind not in _MODULES:
        raise UnknownFormatError("@error.format.kind", kind=repr(kind), kinds=list(_MODULES))
    if p.is_file():
        with open(p, "rb") as fh:
            page = _not_data(p, fh.read(65536))
        if page is not None:
            raise page
    reader = cast(Callable[..., ImportBatch], _module(kind).read)
    accepted = inspect.signature(reader).parameters
    return reader(p, **{k: v for k, v in options.items() if k in accepted and v is not None})

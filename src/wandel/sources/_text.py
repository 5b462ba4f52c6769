"""Decoding official text files: UTF-8 (with or without BOM), cp1252 or ISO-8859-1.

The offices export CSV as ISO-8859-1/cp1252 (GENESIS classic, older downloads) or UTF-8 with BOM
(current exports, flat files). Wandel decodes strictly: a BOM promises UTF-8, and a file that decodes in
neither encoding is refused with the line and byte offset of the first bad byte.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from wandel.errors import InputFormatError

__all__ = ["decode_text", "read_text"]

# bytes cp1252 leaves undefined; ISO-8859-1 maps them to C1 control characters, never in real tables
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes, file: str) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding)``; newlines are normalised to ``\\n``.

    Raises
    ------
    InputFormatError
        If a BOM-marked file is not valid UTF-8, if the bytes fit no supported encoding, or if the text
        holds NUL bytes (a binary file).
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            text = data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            off = exc.start + len(codecs.BOM_UTF8)
            raise InputFormatError(
                file,
                line=_line_of(data, off),
                value=data[off : off + 4],
                reason="@sources.error.undecodable_at",
                expected="UTF-8 text (the file starts with a UTF-8 byte order mark)",
                fields={"offset": off},
            ) from None
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputFormatError(
            file, line=1, reason="UTF-16 text", expected="UTF-8, cp1252 or ISO-8859-1 text"
        )
    else:
        try:
            text = data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:
            bad = next((i for i, b in enumerate(data) if b in _CP1252_UNDEFINED), None)
            if bad is not None:
                raise InputFormatError(
                    file,
                    line=_line_of(data, bad),
                    value=data[bad : bad + 1],
                    reason=f"undecodable byte at offset {bad} (not UTF-8: {exc.reason} at offset "
                    f"{exc.start}; not cp1252 either)",
                    expected="UTF-8, cp1252 or ISO-8859-1 text",
                ) from None
            text = data.decode("cp1252", errors="strict")
            encoding = "cp1252"
    nul = text.find("\x00")
    if nul >= 0:
        raise InputFormatError(
            file,
            line=text.count("\n", 0, nul) + 1,
            reason="NUL byte in text: a binary file, or UTF-16",
            expected="a text file",
        )
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def read_text(path: str | Path) -> tuple[str, str]:
    """Read and decode a file; see :func:`decode_text`."""
    p = Path(path)
    return decode_text(p.read_bytes(), str(p))

"""A check of the PDF/UA-1 essentials (ISO 14289-1) that a program can decide, with pikepdf.

No veraPDF can be installed here (it is Java and in none of the registries this project uses), so
:func:`check_pdfua` reads the file itself and reports every failed rule; an empty list means all of
these hold (it is not a certificate of conformance, which needs veraPDF or PAC and a person):

``tagged``
    the catalogue has ``/MarkInfo << /Marked true >>`` and a ``/StructTreeRoot`` with children
    (ISO 14289-1 7.1).
``lang``
    the catalogue's ``/Lang`` is set (7.2), and equals ``lang`` when given.
``title``
    the XMP metadata hold a non-empty ``dc:title`` and ``/ViewerPreferences /DisplayDocTitle`` is
    true (7.1-8, 7.1-10).
``pdfua-id``
    the XMP metadata hold ``pdfuaid:part = 1`` (5).
``content-tagged``
    on every page every text and painting operator lies inside marked content (a tagged
    ``BDC`` with an ``/MCID`` or an ``/Artifact``), and a page with marked content has
    ``/StructParents`` (7.1-3); every page has ``/Tabs /S`` (7.18.3).
``figure-alt``
    every ``Figure`` structure element has a non-empty ``/Alt`` (7.3).
``table-headers``
    every ``Table`` element holds at least one ``TH`` (7.5).
``headings``
    the structure holds at least one heading and heading levels never skip one going down
    (H1 then H3 fails) (7.4.2).
``fonts-embedded``
    every font used on a page (also inside form XObjects and descendant fonts) has its font
    program embedded (7.21.4.1); Type 3 fonts carry their glyphs in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CHECKS", "Failure", "check_pdfua"]

CHECKS: tuple[str, ...] = (
    "tagged",
    "lang",
    "title",
    "pdfua-id",
    "content-tagged",
    "figure-alt",
    "table-headers",
    "headings",
    "fonts-embedded",
)
"""The names of the rules :func:`check_pdfua` runs, in order."""

_TEXT_OR_PAINT = {
    "Tj", "TJ", "'", '"', "Do", "sh", "BI",
    "S", "s", "f", "F", "f*", "B", "B*", "b", "b*",
}  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """A rule that does not hold: its name (one of :data:`CHECKS`) and what was found."""

    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


def _elements(root: Any) -> Iterator[Any]:
    """Every structure element below the StructTreeRoot, depth first."""
    import pikepdf

    stack = [root.get("/K")]
    while stack:
        k = stack.pop()
        if isinstance(k, pikepdf.Array):
            stack.extend(reversed(list(k)))
        elif isinstance(k, pikepdf.Dictionary) and "/S" in k:
            yield k
            stack.append(k.get("/K"))


def _untagged_ops(content: Any) -> int:
    """Text and painting operators outside any marked-content sequence."""
    import pikepdf

    depth = 0
    bad = 0
    for instruction in pikepdf.parse_content_stream(content):
        name = str(instruction.operator)
        if name in ("BDC", "BMC"):
            depth += 1
        elif name == "EMC":
            depth -= 1
        elif name in _TEXT_OR_PAINT and depth == 0:
            bad += 1
    return bad


def _fonts(resources: Any, seen: set[tuple[int, int]]) -> Iterator[Any]:
    import pikepdf

    if not isinstance(resources, pikepdf.Dictionary):
        return
    yield from dict(resources.get("/Font", {})).values()
    for xobj in dict(resources.get("/XObject", {})).values():
        key = xobj.objgen
        if key in seen or xobj.get("/Subtype") != "/Form":
            continue
        seen.add(key)
        yield from _fonts(xobj.get("/Resources"), seen)


def _embedded(font: Any) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True
    if font.get("/Subtype") == "/Type0":
        return all(_embedded(d) for d in font.get("/DescendantFonts", []))
    desc = font.get("/FontDescriptor")
    return desc is not None and any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _catalogue(pdf: Any, lang: str | None) -> list[Failure]:
    out: list[Failure] = []
    root = pdf.Root
    mark = root.get("/MarkInfo")
    tree = root.get("/StructTreeRoot")
    if mark is None or not bool(mark.get("/Marked", False)):
        out.append(Failure("tagged", "catalogue /MarkInfo /Marked is not true"))
    if tree is None or tree.get("/K") is None:
        out.append(Failure("tagged", "no /StructTreeRoot with children"))
    doc_lang = str(root.get("/Lang", "")).strip()
    if not doc_lang:
        out.append(Failure("lang", "catalogue /Lang is missing"))
    elif lang is not None and doc_lang.lower() != lang.lower():
        out.append(Failure("lang", f"catalogue /Lang is {doc_lang!r}, expected {lang!r}"))
    prefs = root.get("/ViewerPreferences")
    if prefs is None or not bool(prefs.get("/DisplayDocTitle", False)):
        out.append(Failure("title", "/ViewerPreferences /DisplayDocTitle is not true"))
    meta = pdf.open_metadata()
    if not str(meta.get("dc:title", "") or "").strip():
        out.append(Failure("title", "XMP dc:title is missing"))
    if str(meta.get("pdfuaid:part", "")) != "1":
        out.append(Failure("pdfua-id", "XMP pdfuaid:part is not 1"))
    return out


def _structure(pdf: Any) -> list[Failure]:
    import pikepdf

    out: list[Failure] = []
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None:
        return out
    roles = {str(k): str(v) for k, v in dict(tree.get("/RoleMap", {})).items()}
    levels: list[int] = []
    for e in _elements(tree):
        kind = str(e.S)
        kind = roles.get(kind, kind)
        if kind == "/Figure" and not str(e.get("/Alt", "")).strip():
            out.append(Failure("figure-alt", "a Figure without /Alt"))
        if kind == "/Table":
            has_th = any(
                roles.get(str(c.S), str(c.S)) == "/TH"
                for c in _elements(pikepdf.Dictionary({"/K": e.get("/K")}))
            )
            if not has_th:
                out.append(Failure("table-headers", "a Table without any TH cell"))
        if m := re.fullmatch(r"/H([1-6])", kind):
            levels.append(int(m.group(1)))
    if not levels:
        out.append(Failure("headings", "no heading in the structure"))
    for a, b in zip([0, *levels], levels, strict=False):
        if b > a + 1:
            out.append(Failure("headings", f"heading level skips from H{a} to H{b}"))
    return out


def _pages(pdf: Any) -> list[Failure]:
    out: list[Failure] = []
    seen: set[tuple[int, int]] = set()
    bad_fonts: set[str] = set()
    for i, page in enumerate(pdf.pages, start=1):
        n = _untagged_ops(page)
        if n:
            out.append(Failure("content-tagged", f"page {i}: {n} operators outside marked content"))
        if "/StructParents" not in page.obj:
            out.append(Failure("content-tagged", f"page {i}: no /StructParents"))
        if str(page.obj.get("/Tabs", "")) != "/S":
            out.append(Failure("content-tagged", f"page {i}: /Tabs is not /S"))
        for font in _fonts(page.obj.get("/Resources"), seen):
            if not _embedded(font):
                bad_fonts.add(str(font.get("/BaseFont", "?")))
    out += [Failure("fonts-embedded", f"font {f} is not embedded") for f in sorted(bad_fonts)]
    return out


def check_pdfua(path: Path | str, *, lang: str | None = None) -> list[Failure]:
    """Run every rule of :data:`CHECKS` on the PDF at ``path``; return the failures (empty: all
    hold). ``lang`` (e.g. ``"de"``) also checks the document language."""
    import pikepdf

    with pikepdf.open(path) as pdf:
        return [*_catalogue(pdf, lang), *_structure(pdf), *_pages(pdf)]

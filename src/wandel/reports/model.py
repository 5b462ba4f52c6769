"""The report model: one immutable value that both renderers read (HTML and PDF/UA).

A :class:`Report` is a title, a summary in Leichte Sprache, a sequence of :class:`Section` values and
the list of sources. A section holds blocks: :class:`Paragraph` (plain text), :class:`FactList`
(key numbers, each a :class:`Fact` with its value, unit, year, source and, for projections, its
80 % band), :class:`Table` (cells already formatted, with the header row and the source) and
:class:`Chart` (an SVG with title, description and the data table that says the same in numbers).

Other parts plug in by building sections: a function that turns a services, comparison or access
result into a :class:`Section` (see :mod:`wandel.reports.profile`) is all it takes; the renderers
know blocks, not topics.

Every number carries a source: a :class:`Fact`, :class:`Table` and :class:`Chart` name the keys of
their :class:`Source` entries, and :meth:`Report.check` refuses a report that cites a source it
does not list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from wandel.errors import ReportError

__all__ = [
    "EDITIONS",
    "Block",
    "Chart",
    "EditionKind",
    "Fact",
    "FactList",
    "Paragraph",
    "Report",
    "ReportKind",
    "ReportMeta",
    "Section",
    "Source",
    "Table",
]

ReportKind = Literal["profil", "bericht"]

EditionKind = Literal["internal", "public"]
"""Who a report is for: ``internal`` (every number, for the planners and viewers of the town) or
``public`` (counts from 1 to 3 kept secret, :mod:`wandel.reports.edition`)."""

EDITIONS: tuple[EditionKind, ...] = ("internal", "public")


@dataclass(frozen=True)
class Source:
    """Where numbers come from: ``key`` (cited by facts, tables, charts), title, producer, licence.

    ``year`` is the reference year of the data taken from it (``None`` for a method).
    """

    key: str
    title: str
    producer: str
    licence: str
    year: int | None = None


@dataclass(frozen=True)
class Fact:
    """One key number: ``label``, ``value`` in ``unit`` for ``year``, from ``source``.

    ``low``/``high`` bound the 80 % interval of a projected value (8 of 10 simulated futures lie
    inside); ``digits`` is the number of decimals to show; ``note`` says what is special (e.g. an
    estimated age structure).
    """

    label: str
    value: float
    unit: str
    year: int
    source: str
    low: float | None = None
    high: float | None = None
    digits: int = 0
    note: str = ""


@dataclass(frozen=True)
class Paragraph:
    """Plain text (no markup), one paragraph."""

    text: str


@dataclass(frozen=True)
class FactList:
    """Key numbers shown as a definition list (HTML) or a two-column grid (PDF)."""

    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Table:
    """A table with a header row; cells are text formatted for the report's language.

    ``numeric[i]`` marks column ``i`` as numbers (right-aligned). ``source`` names the source keys.
    """

    id: str
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    source: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.header)
        if len(self.numeric) != n or any(len(r) != n for r in self.rows):
            raise ReportError(f"table {self.id!r}: every row needs {n} cells")


@dataclass(frozen=True)
class Chart:
    """An SVG chart: ``title`` (shown), ``description`` (the alternative text: what the chart
    shows, in one or two sentences), ``svg`` (a complete ``<svg>`` element) and ``table`` (the same
    numbers). ``width_mm`` is the printed width."""

    id: str
    title: str
    description: str
    svg: str
    table: Table
    width_mm: float = 80.0

    @property
    def source(self) -> tuple[str, ...]:
        return self.table.source


Block = Paragraph | FactList | Table | Chart


@dataclass(frozen=True)
class Section:
    """A titled part of a report; ``id`` is stable (anchors in HTML, tests); ``level`` is the
    heading level (2 for a part of the report, 3 for a part inside a town's chapter)."""

    id: str
    title: str
    blocks: tuple[Block, ...]
    level: int = 2


@dataclass(frozen=True)
class ReportMeta:
    """What makes a report reproducible: the checksum of the store's inputs (the SHA-256 of every
    imported file, :func:`wandel.workflow.report.inputs_checksum`), the date of the store's latest
    import (the report's date), the Wandel version, the projection settings."""

    inputs_checksum: str
    created: dt.datetime
    version: str
    base_year: int
    until: int
    draws: int
    seed: int
    zones: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """A Kommunalprofil (``kind="profil"``, one town, two pages) or a Demografiebericht
    (``"bericht"``, a network of towns)."""

    kind: ReportKind
    lang: str
    title: str
    subtitle: str
    easy_title: str
    easy: tuple[str, ...]
    sections: tuple[Section, ...]
    sources: tuple[Source, ...]
    licences: tuple[str, ...]
    meta: ReportMeta
    notes: tuple[str, ...] = field(default=())
    edition: EditionKind = "internal"

    def blocks(self) -> Iterator[Block]:
        """Every block of every section, in order."""
        for s in self.sections:
            yield from s.blocks

    def charts(self) -> tuple[Chart, ...]:
        return tuple(b for b in self.blocks() if isinstance(b, Chart))

    def check(self) -> Report:
        """Return ``self`` if every cited source is listed and ids are unique, else raise."""
        keys = {s.key for s in self.sources}
        cited: set[str] = set()
        ids: list[str] = [s.id for s in self.sections]
        for b in self.blocks():
            if isinstance(b, FactList):
                cited.update(f.source for f in b.facts)
            elif isinstance(b, Table | Chart):
                cited.update(b.source)
                ids.append(b.id)
                if isinstance(b, Chart):
                    ids.append(b.table.id)
        if missing := sorted(cited - keys):
            raise ReportError(f"report cites sources it does not list: {', '.join(missing)}")
        if dup := sorted({i for i in ids if ids.count(i) > 1}):
            raise ReportError(f"report ids used twice: {', '.join(dup)}")
        return self

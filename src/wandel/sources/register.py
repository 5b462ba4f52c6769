"""The region register: official names of Länder, Regierungsbezirke, Kreise and Gemeinden by year.

Official tables name their regions by code (``15087``), by name (``Sachsen-Anhalt``,
``Mansfeld-Südharz, Landkreis``) or by both. A name is resolved against the register of the table's
year:

* the name is split into its *core* and its *designators*: ``Halle (Saale), kreisfreie Stadt`` has
  the core ``halle (saale)`` and the designator ``kreisfreie stadt``; ``Landkreis Rostock`` has the
  core ``rostock`` and the designator ``landkreis``. Designators restrict the level: ``Land``;
  ``Regierungsbezirk``/``Reg.-Bez.``/``Statistische Region``/``Direktionsbezirk``; ``Landkreis``/
  ``Kreis``/``Region``/``Städteregion``/``Regionalverband`` (a Kreis that is no kreisfreie Stadt);
  ``kreisfreie Stadt``/``Stadtkreis`` (a kreisfreie Stadt). Titles such as ``Stadt``,
  ``Landeshauptstadt`` or ``Hansestadt`` restrict nothing.
* a name equal to an official name (``Rostock``, the Landkreis) is taken first; otherwise every
  region whose core equals the name's core and whose level fits the designators is a candidate.
* several candidates: a kreisfreie Stadt is both a Kreis and a Gemeinde (AGS ``kreis + "000"``),
  and the level that most other names of the same column have decides; otherwise the name is
  ambiguous (:class:`~wandel.errors.AmbiguousRegionError`, naming the candidates). No candidate:
  :class:`~wandel.errors.UnknownRegionError`, naming the nearest official names.

Years: for each level, the register knows some years (the Gemeindeverzeichnis years it was built
from). A name of year ``y`` is looked up in the latest known year ``<= y`` and, when ``y`` lies
between two known years, also in the next one; the two must agree (a Kreis reform in between makes
the name ambiguous). A year before the first known year of a level is outside the register; Länder
names are the same since 1990 and resolve in any year.

Where the register comes from: :meth:`Register.shipped` is a compact table derived by
``scripts/build_register.py`` from the Gemeindeverzeichnis files (GV-ISys) of 2009, 2013, 2017 and
2019 (Länder, Regierungsbezirke, Kreise with names) and the VG250 Gemeinde keys of 2021 (Kreise
without names of their own: a Kreis whose key persists keeps its 2019 name), shipped in
``wandel/data/reference/regions_register.csv`` (source note and licence beside it). A reader takes
``register=``; the import workflow fills it with :meth:`Register.from_gv_records` of the store's own
Gemeindeverzeichnis records laid over the shipped one (:meth:`Register.over`), which adds
Gemeinden and the store's years.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from wandel.errors import AmbiguousRegionError, RegionNameError, UnknownRegionError

__all__ = [
    "LAENDER_SINCE",
    "LEVELS",
    "RegionPlace",
    "RegionQuery",
    "Register",
    "core_name",
    "parse_region_name",
]

LEVELS = ("land", "regbez", "kreis", "gemeinde")
"""Levels the register holds, from the top."""

_COLUMNS = ("year", "zone", "level", "name", "kreisfrei")
_GERMANY = frozenset({"deutschland", "germany", "bundesgebiet"})
LAENDER_SINCE = 1990
"""The 16 Länder and their names are unchanged since 3 October 1990."""

# designator -> (level, kreisfrei); None = no restriction on that part
_DESIGNATORS: dict[str, tuple[str | None, bool | None]] = {
    "land": ("land", None),
    "bundesland": ("land", None),
    "regierungsbezirk": ("regbez", None),
    "reg.-bez.": ("regbez", None),
    "reg.bez.": ("regbez", None),
    "statistische region": ("regbez", None),
    "direktionsbezirk": ("regbez", None),
    "landkreis": ("kreis", False),
    "kreis": ("kreis", False),
    "region": ("kreis", False),
    "städteregion": ("kreis", False),
    "regionalverband": ("kreis", False),
    "kreisfreie stadt": ("kreis", True),
    "stadtkreis": ("kreis", True),
}
_PREFIXES = sorted(_DESIGNATORS, key=len, reverse=True)


def _fold(text: str) -> str:
    """Case-folded, NFC, umlauts spelled out, one space, one kind of hyphen."""
    s = unicodedata.normalize("NFC", text).replace("\u00a0", " ")
    s = re.sub(r"[\u2010-\u2015]", "-", s).casefold()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        s = s.replace(a, b)
    return re.sub(r"\s+", " ", s).strip()


_FOLDED_DESIGNATORS = {_fold(k): v for k, v in _DESIGNATORS.items()}
_FOLDED_PREFIXES = sorted(_FOLDED_DESIGNATORS, key=len, reverse=True)


@dataclass(frozen=True)
class RegionQuery:
    """A region name split into its folded ``full`` text, ``core`` and restrictions."""

    full: str
    core: str
    level: str | None
    kreisfrei: bool | None


def parse_region_name(label: str) -> RegionQuery:
    """Split a region name into core and designators.

    >>> q = parse_region_name("  Halle (Saale), kreisfreie Stadt")
    >>> q.core, q.level, q.kreisfrei
    ('halle (saale)', 'kreis', True)
    >>> q = parse_region_name("Landkreis Mansfeld-Südharz")
    >>> q.core, q.level, q.kreisfrei
    ('mansfeld-suedharz', 'kreis', False)
    >>> parse_region_name("Baden-Württemberg, Land").level
    'land'
    """
    full = _fold(label)
    s = re.sub(r"^(?:frueher|ehemals)\s*:\s*", "", full)
    level: str | None = None
    kreisfrei: bool | None = None

    def restrict(d: str) -> None:
        nonlocal level, kreisfrei
        lv, kf = _FOLDED_DESIGNATORS[d]
        level = lv if lv is not None else level
        kreisfrei = kf if kf is not None else kreisfrei

    for p in _FOLDED_PREFIXES:
        if s.startswith(p + " ") and len(s) > len(p) + 1:
            restrict(p)
            s = s[len(p) + 1 :]
            break
    parts = [x.strip() for x in s.split(",")]
    for d in parts[1:]:
        if d in _FOLDED_DESIGNATORS:
            restrict(d)
    return RegionQuery(full, parts[0], level, kreisfrei)


def core_name(name: str) -> str:
    """The core of an official name: ``Flensburg, Stadt`` -> ``flensburg``.

    >>> core_name("Reg.-Bez. Düsseldorf"), core_name("Region Hannover")
    ('duesseldorf', 'hannover')
    """
    return parse_region_name(name).core


@dataclass(frozen=True)
class _Hit:
    zone: str
    level: str
    name: str
    year: int


@dataclass(frozen=True)
class _Index:
    """One (year, level) slice of the register, indexed by folded full name and by core."""

    full: dict[str, list[_Hit]]
    core: dict[str, list[_Hit]]
    kreisfrei: dict[str, bool]


@dataclass(frozen=True)
class Register:
    """Official region names by year.

    ``frame`` has the columns ``year`` (int), ``zone`` (AGS), ``level`` (``land``, ``regbez``,
    ``kreis``, ``gemeinde``), ``name`` (official name as in the Gemeindeverzeichnis) and
    ``kreisfrei`` (for Kreise: a kreisfreie Stadt).
    """

    frame: pd.DataFrame
    _cache: dict[tuple[int, str], _Index] = field(default_factory=dict, compare=False, repr=False)

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def shipped(cls) -> Register:
        """The register shipped with Wandel (see the module docstring for its sources)."""
        return _shipped()

    @classmethod
    def from_gv_records(cls, gv: pd.DataFrame) -> Register:
        """A register from canonical ``gv_records`` (any years; Gemeinden included).

        A Kreis is kreisfrei where the Gemeinde ``kreis + "000"`` exists in the same year.
        """
        keep = gv[gv["level"].isin(LEVELS)]
        frame = pd.DataFrame(
            {
                "year": keep["year"].astype("int64").to_numpy(),
                "zone": keep["zone"].astype(str).to_numpy(),
                "level": keep["level"].astype(str).to_numpy(),
                "name": keep["name"].astype(str).to_numpy(),
            }
        )
        gem = set(zip(frame["year"], frame["zone"], strict=True))
        frame["kreisfrei"] = [
            lv == "kreis" and (y, z + "000") in gem
            for y, z, lv in zip(frame["year"], frame["zone"], frame["level"], strict=True)
        ]
        return cls(frame)

    def over(self, base: Register) -> Register:
        """This register laid over ``base``: for a (year, level, AGS) both hold, this one's row
        wins; the rest of ``base`` stays (a store holding one Land's Gemeindeverzeichnis does not
        hide the other Länder's Kreise)."""
        cols = ["year", "level", "zone"]
        mine = set(zip(*(self.frame[c] for c in cols), strict=True))
        rest = base.frame[[k not in mine for k in zip(*(base.frame[c] for c in cols), strict=True)]]
        return Register(pd.concat([self.frame, rest], ignore_index=True))

    def years(self, level: str) -> tuple[int, ...]:
        """The years the register knows for ``level``."""
        return tuple(sorted(set(self.frame.loc[self.frame["level"] == level, "year"].tolist())))

    # -- lookup ------------------------------------------------------------------------------------
    def _index(self, year: int, level: str) -> _Index:
        key = (year, level)
        if key not in self._cache:
            f = self.frame[(self.frame["year"] == year) & (self.frame["level"] == level)]
            full: dict[str, list[_Hit]] = {}
            core: dict[str, list[_Hit]] = {}
            kf: dict[str, bool] = {}
            for z, n, k in zip(f["zone"], f["name"], f["kreisfrei"], strict=True):
                hit = _Hit(str(z), level, str(n), year)
                full.setdefault(_fold(str(n)), []).append(hit)
                core.setdefault(core_name(str(n)), []).append(hit)
                kf[str(z)] = bool(k)
            self._cache[key] = _Index(full, core, kf)
        return self._cache[key]

    def _years_for(self, level: str, year: int) -> list[int]:
        known = self.years(level)
        if not known:
            return []
        if level == "land" and year >= LAENDER_SINCE:
            before = [y for y in known if y <= year]
            return [before[-1] if before else known[0]]
        before = [y for y in known if y <= year]
        after = [y for y in known if y >= year]
        if not before:
            return []
        out = [before[-1]]
        if after and after[0] != before[-1]:
            out.append(after[0])
        return out

    def _hits(self, q: RegionQuery, level: str, year: int) -> list[_Hit]:
        idx = self._index(year, level)
        hits = idx.full.get(q.full) or idx.core.get(q.core, [])
        if q.kreisfrei is not None and level == "kreis":
            hits = [h for h in hits if idx.kreisfrei.get(h.zone, False) == q.kreisfrei]
        return hits

    def candidates(self, label: str, year: int) -> list[_Hit]:
        """Every region ``label`` may name in ``year`` (one per AGS), exact official names first.

        Raises
        ------
        RegionNameError
            Where ``year`` lies outside the register for every level the name may have.
        """
        q = parse_region_name(label)
        if q.core in _GERMANY:
            return [_Hit("DG", "bund", "Deutschland", year)]
        levels = [q.level] if q.level else list(LEVELS)
        out: dict[str, _Hit] = {}
        exact: dict[str, _Hit] = {}
        for level in levels:
            for y in self._years_for(level, year):
                for h in self._hits(q, level, y):
                    out.setdefault(h.zone, h)
                    if _fold(h.name) == q.full:
                        exact.setdefault(h.zone, h)
        if len(exact) == 1:
            return list(exact.values())
        return list(out.values())

    def nearest(self, label: str, year: int, n: int = 3) -> list[tuple[str, str]]:
        """The ``n`` official names closest to ``label`` in ``year`` (all levels)."""
        q = parse_region_name(label)
        pool: dict[str, tuple[str, str]] = {}
        for level in LEVELS:
            for y in self._years_for(level, year):
                for hits in self._index(y, level).core.values():
                    for h in hits:
                        pool.setdefault(core_name(h.name) + "|" + h.zone, (h.zone, h.name))
        cores = {k.split("|", 1)[0] for k in pool}
        best = difflib.get_close_matches(q.core, sorted(cores), n=n, cutoff=0.6)
        return [v for c in best for k, v in sorted(pool.items()) if k.split("|", 1)[0] == c][:n]

    def known_in(self, label: str) -> list[_Hit]:
        """Regions of any year whose official name or core equals ``label``'s (for messages)."""
        q = parse_region_name(label)
        out: dict[tuple[str, int], _Hit] = {}
        for level in [q.level] if q.level else LEVELS:
            for y in self.years(level):
                for h in self._hits(q, level, y):
                    out.setdefault((h.zone, y), h)
        return sorted(out.values(), key=lambda h: (h.zone, h.year))

    def span(self) -> str:
        """The register's years, for messages (``2009-2021``)."""
        ys = sorted(set(self.frame["year"].tolist()))
        return f"{ys[0]}-{ys[-1]}" if ys else "none"

    # -- a whole column ----------------------------------------------------------------------------
    def resolve(
        self,
        labels: Sequence[str],
        years: Sequence[Iterable[int]],
        where: RegionPlace,
    ) -> np.ndarray:
        """AGS for each label; ``years[i]`` are the years label ``i`` must be valid in.

        Labels that name two regions are decided by the level most other labels of the column have
        (a kreisfreie Stadt counts as its Kreis where nothing decides).

        Raises
        ------
        UnknownRegionError, AmbiguousRegionError
            Naming the file, line, column, the label and the nearest names or the candidates.
        """
        keys = [(str(lab), tuple(sorted(set(ys)))) for lab, ys in zip(labels, years, strict=True)]
        first: dict[tuple[str, tuple[int, ...]], int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        found = {k: self._resolve_one(k[0], k[1], where, first[k]) for k in first}
        levels = [hs[0].level for hs in found.values() if len(hs) == 1]
        dominant = _dominant(levels)
        zone_of: dict[tuple[str, tuple[int, ...]], str] = {}
        for k, hits in found.items():
            zone_of[k] = _decide(k[0], k[1], hits, dominant, where, first[k])
        return np.array([zone_of[k] for k in keys], dtype=object)

    def _resolve_one(
        self, label: str, years: tuple[int, ...], where: RegionPlace, row: int
    ) -> list[_Hit]:
        per_year: list[list[_Hit]] = [self.candidates(label, y) for y in years]
        if any(not hs for hs in per_year):
            y = years[next(i for i, hs in enumerate(per_year) if not hs)]
            raise _unknown(self, label, y, where, row)
        zones = [sorted(h.zone for h in hs) for hs in per_year]
        if any(z != zones[0] for z in zones):
            cands = {h.zone: h for hs in per_year for h in hs}
            raise _ambiguous(
                label,
                list(cands.values()),
                where,
                row,
                _Why("@sources.error.ambiguous_changed", {"first": years[0], "last": years[-1]}),
            )
        return per_year[0]


@dataclass(frozen=True)
class RegionPlace:
    """Where the labels sit: the file, and the line and column of each label."""

    file: str
    lines: Sequence[int | None]
    columns: Sequence[int | str | None]

    def at(self, i: int) -> tuple[int | None, int | str | None]:
        line = self.lines[i] if i < len(self.lines) else None
        col = self.columns[i] if i < len(self.columns) else None
        return (None if line is None else int(line)), col


def _dominant(levels: list[str]) -> str | None:
    inner = [lv for lv in levels if lv not in ("bund", "land")]
    pool = inner or levels
    if not pool:
        return None
    counts = pd.Series(pool).value_counts()
    return str(counts.index[0])


def _decide(
    label: str,
    years: tuple[int, ...],
    hits: list[_Hit],
    dominant: str | None,
    where: RegionPlace,
    row: int,
) -> str:
    if len(hits) == 1:
        return hits[0].zone
    by_level = [h for h in hits if h.level == dominant]
    if len(by_level) == 1:
        return by_level[0].zone
    kreise = [h for h in hits if h.level == "kreis"]
    pair = len(kreise) == 1 and all(
        h.level == "kreis" or (h.level == "gemeinde" and h.zone == kreise[0].zone + "000")
        for h in hits
    )
    if pair:  # a kreisfreie Stadt: its Kreis, unless the column is one of Gemeinden
        gem = [h for h in hits if h.level == "gemeinde"]
        return gem[0].zone if dominant == "gemeinde" and gem else kreise[0].zone
    ys = sorted({h.year for h in hits})
    if len(ys) > 1:
        why = _Why(
            "@sources.error.ambiguous_between", {"first": ys[0], "last": ys[-1], "year": years[0]}
        )
    else:
        why = _Why("@sources.error.ambiguous_same_year", {"count": len(hits), "year": years[0]})
    raise _ambiguous(label, hits, where, row, why)


@dataclass(frozen=True)
class _Why:
    """The catalogue key of what is wrong, with its fields."""

    key: str
    fields: dict[str, object]


def _ambiguous(
    label: str, hits: list[_Hit], where: RegionPlace, row: int, why: _Why
) -> AmbiguousRegionError:
    shown = ", ".join(f"{h.zone} {h.name}" for h in sorted(hits, key=lambda h: h.zone)[:6])
    line, column = where.at(row)
    exc = AmbiguousRegionError(
        where.file,
        line=line,
        column=column,
        value=label,
        reason=why.key,
        expected="@sources.expected.one_region",
        fields={**why.fields, "candidates": shown},
    )
    exc.candidates = tuple((h.zone, h.name) for h in hits)
    return exc


def _unknown(reg: Register, label: str, year: int, where: RegionPlace, row: int) -> RegionNameError:
    near = reg.nearest(label, year)
    known = {lv: reg.years(lv) for lv in LEVELS}
    outside = all(not ys or year < ys[0] for lv, ys in known.items() if lv != "land")
    fields: dict[str, object] = {"year": year, "span": reg.span()}
    if outside and parse_region_name(label).level != "land":
        first = min((ys[0] for lv, ys in known.items() if ys and lv != "land"), default=None)
        reason = "@sources.error.before_register"
        fields["first"] = first
    else:
        reason = "@sources.error.unknown_region"
        other = reg.known_in(label)
        if other:
            by_zone: dict[str, list[int]] = {}
            for h in other:
                by_zone.setdefault(h.zone, []).append(h.year)
            reason = "@sources.error.unknown_region_known"
            fields["known"] = ", ".join(
                f"{z} {ys[0]}-{ys[-1]}" if len(ys) > 1 else f"{z} {ys[0]}"
                for z, ys in by_zone.items()
            )
    expected = "@sources.expected.region_name"
    if near:
        expected = "@sources.expected.region_name_nearest"
        fields["nearest"] = ", ".join(f"{z} {n}" for z, n in near)
    line, column = where.at(row)
    exc = UnknownRegionError(
        where.file,
        line=line,
        column=column,
        value=label,
        reason=reason,
        expected=expected,
        fields=fields,
    )
    exc.candidates = tuple(near)
    return exc


@cache
def _shipped() -> Register:
    ref = resources.files("wandel") / "data" / "reference" / "regions_register.csv"
    with ref.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype={"zone": str, "name": str}, keep_default_na=False)
    frame["kreisfrei"] = frame["kreisfrei"].astype(bool)
    return Register(frame[list(_COLUMNS)])

"""One disclosure decision per town, shared by every public output that shows its counts.

The web's town page shows the population pyramid of any year in five-year groups by sex, the
total of every year and the components of change of every year; the public Kommunalprofil shows
the pyramid of the base year and the last year in ten-year groups by sex, the functional age
groups (0-5, 6-9, 10-17, ...) of its milestone years and the components by period. Protected one
by one, the outputs together could still give a count away: the report keeps the ten-year group
20-29 secret, the web page shows 20-24 and 25-29; or the web's 5-9 minus the report's 6-9 is the
number of five-year-olds. So the cells of every output are suppressed *together*
(:func:`wandel.reports.disclosure.suppress`), once per town:

* per year, the finest age groups that all the partitions shown that year share (by sex) are
  cells never shown (``hidden``): each shown group is the sum of its pieces, so a small piece is
  protected like a small shown cell, and a difference of two shown groups gives nothing away;
* the total of a year is the sum of its pieces, shown unless small (the fan chart prints it);
* per projected year: births - deaths = natural balance, arrivals - departures = net migration,
  natural balance + net migration (+ the control's adjustment, a hidden cell where there is one)
  = change of the total; per period of the report: the sums of its years.

Both outputs read their numbers from one projection (the deterministic result of a town is the
same whether it was projected alone or with its Kreis, :mod:`wandel.demography.inputs`), so they
compute the same :class:`TownCounts` and this module's decision is the same for both. The bands
(q10, q90) are not additive across outputs and stay with each output: a band is hidden with its
value, and a small band hides its value too (hiding more never gives anything away).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from wandel.reports.disclosure import is_small, suppress
from wandel.reports.profile import AGE_GROUPS, component_bounds, milestones

if TYPE_CHECKING:
    import xarray as xr

    from wandel.demography.model import ProjectionResult

__all__ = [
    "PYRAMID_BANDS",
    "WEB_PYRAMID_BREAKS",
    "TownCounts",
    "town_counts",
    "town_secret",
]

Key = tuple[Hashable, ...]
_Array = npt.NDArray[np.float64]

WEB_PYRAMID_BREAKS: tuple[int, ...] = tuple(range(0, 95, 5))
"""Age groups of the web's pyramid: 0-4, 5-9, ..., 90+ (the last one open)."""

PYRAMID_BANDS: tuple[int, ...] = tuple(range(0, 100, 10))
"""The ten-year groups of the report's pyramid (the last one open)."""

SEXES: tuple[str, ...] = ("m", "f")

COMPONENTS: tuple[str, ...] = (
    "births",
    "deaths",
    "in_migration",
    "out_migration",
    "natural",
    "net_migration",
)
"""The components of change of a year, as the web's town page shows them."""


@dataclass(frozen=True, eq=False)
class TownCounts:
    """The deterministic counts of one town that its public outputs show.

    ``years``: the base year, then every projected year; ``population``: persons
    ``[year, sex, age]`` (sexes :data:`SEXES`, single years of age, the last one open);
    ``flows``: per projected year (``years[1:]``) the totals over sex of births, deaths,
    in_migration, out_migration and the control's adjustment."""

    zone: str
    years: tuple[int, ...]
    population: _Array
    flows: dict[str, _Array]

    @property
    def base_year(self) -> int:
        return self.years[0]

    @property
    def until(self) -> int:
        return self.years[-1]

    def span(self, year: int, lo: int, hi: int | None, sex: str | None) -> float:
        """Persons aged ``lo`` to ``hi - 1`` (``hi=None``: and over) of ``sex`` (``None``: both)
        in ``year``."""
        at = self.population[self.years.index(year)]
        rows = at if sex is None else at[SEXES.index(sex)][None, :]
        return float(rows[:, lo:hi].sum())

    def total(self, year: int) -> float:
        return self.span(year, 0, None, None)

    def digest(self) -> str:
        """SHA-256 of the zone, the years and every count (the same counts, the same digest)."""
        h = hashlib.sha256(f"{self.zone}:{self.years}".encode())
        h.update(np.ascontiguousarray(self.population).tobytes())
        for k in sorted(self.flows):
            h.update(k.encode())
            h.update(np.ascontiguousarray(self.flows[k]).tobytes())
        return h.hexdigest()


def town_counts(result: ProjectionResult, zone: str) -> TownCounts:
    """The :class:`TownCounts` of ``zone`` from a :class:`~wandel.demography.model.ProjectionResult`
    (its deterministic part, the first draw)."""
    d = result.deterministic
    pop = d.population.isel(draw=0).sel(zone=zone).transpose("year", "sex", "age")
    pop = pop.sel(sex=list(SEXES))
    years = tuple(int(y) for y in pop["year"].values)

    def per_year(da: xr.DataArray) -> _Array:
        x = da.isel(draw=0).sel(zone=zone).sum("sex")
        return np.asarray(x.sel(year=list(years[1:])).values, dtype=float)

    flows = {
        "births": per_year(d.births),
        "deaths": per_year(d.deaths),
        "in_migration": per_year(d.in_migration),
        "out_migration": per_year(d.out_migration),
        "adjustment": per_year(d.adjustment),
    }
    return TownCounts(zone, years, np.asarray(pop.values, dtype=float), flows)


def _partitions(c: TownCounts, year: int) -> list[tuple[str, tuple[int, ...], bool]]:
    """The age partitions shown of ``year``: (name, lower limits, by sex)."""
    out = [("web", WEB_PYRAMID_BREAKS, True)]
    if year in (c.base_year, c.until):
        out.append(("band", PYRAMID_BANDS, True))
    if year in milestones(c.base_year, c.until):
        out.append(("group", tuple(lo for lo, _, _ in AGE_GROUPS), False))
    return out


def _pieces(limits: Sequence[int]) -> list[tuple[int, int | None]]:
    ends: list[int | None] = [*limits[1:], None]
    return list(zip(limits, ends, strict=True))


def _inside(lo: int, hi: int | None, piece: tuple[int, int | None]) -> bool:
    return piece[0] >= lo and (hi is None or (piece[1] is not None and piece[1] <= hi))


@dataclass
class _Table:
    cells: dict[Key, float]
    relations: list[dict[Key, float]]
    keep: set[Key]
    free: set[Key]
    hidden: set[Key]


def _year_cells(c: TownCounts, year: int, t: _Table) -> None:
    """The pyramid cells of ``year`` of every output, their pieces and the total."""
    parts = _partitions(c, year)
    limits = sorted({lo for _, los, _ in parts for lo in los})
    pieces = _pieces(limits)
    total: Key = ("total", year)
    t.cells[total] = c.total(year)
    if not is_small(t.cells[total]):
        t.keep.add(total)  # printed by the fan chart and the report's tables
    web = set(_pieces(WEB_PYRAMID_BREAKS))
    piece_key: dict[tuple[tuple[int, int | None], str], Key] = {}
    for piece, sex in itertools.product(pieces, SEXES):
        # a piece that is a group of the web's pyramid is that cell (shown), else never shown
        key: Key = ("web", piece[0], year, sex) if piece in web else ("piece", piece[0], year, sex)
        piece_key[(piece, sex)] = key
        t.cells[key] = c.span(year, piece[0], piece[1], sex)
        if key[0] == "piece":
            t.hidden.add(key)
    t.relations.append({total: -1.0} | dict.fromkeys(piece_key.values(), 1.0))
    for name, los, by_sex in parts:
        for lo, hi in _pieces(los):
            sexes: tuple[str | None, ...] = SEXES if by_sex else (None,)
            for one in sexes:
                key = (name, lo, year, one) if by_sex else (name, lo, year)
                inner = [
                    piece_key[(p, s)]
                    for p in pieces
                    if _inside(lo, hi, p)
                    for s in (SEXES if one is None else (one,))
                ]
                if inner == [key]:
                    continue  # the piece itself
                t.cells[key] = c.span(year, lo, hi, one)
                t.relations.append({key: -1.0} | dict.fromkeys(inner, 1.0))


def _component_cells(c: TownCounts, t: _Table) -> None:
    """The components of every projected year (web) and of every period (report)."""
    for i, year in enumerate(c.years[1:]):
        f = {k: float(v[i]) for k, v in c.flows.items()}
        yk: dict[str, Key] = {k: ("year", k, year) for k in (*COMPONENTS, "change", "adjustment")}
        values = {
            **{k: f[k] for k in ("births", "deaths", "in_migration", "out_migration")},
            "natural": f["births"] - f["deaths"],
            "net_migration": f["in_migration"] - f["out_migration"],
            "change": c.total(year) - c.total(c.years[i]),
        }
        for k, v in values.items():
            t.cells[yk[k]] = v
        t.free |= {yk["natural"], yk["net_migration"], yk["change"]}
        balance: dict[Key, float] = {
            yk["natural"]: 1.0,
            yk["net_migration"]: 1.0,
            yk["change"]: -1.0,
        }
        if abs(f["adjustment"]) > 1e-9:
            t.cells[yk["adjustment"]] = f["adjustment"]
            t.hidden.add(yk["adjustment"])
            t.free.add(yk["adjustment"])
            balance[yk["adjustment"]] = 1.0
        t.relations += [
            {yk["births"]: 1.0, yk["deaths"]: -1.0, yk["natural"]: -1.0},
            {yk["in_migration"]: 1.0, yk["out_migration"]: -1.0, yk["net_migration"]: -1.0},
            balance,
            {yk["change"]: 1.0, ("total", year): -1.0, ("total", c.years[i]): 1.0},
        ]
        if {("total", year), ("total", c.years[i])} <= t.keep:
            t.keep.add(yk["change"])  # the difference of two totals the fan chart shows
    for a, b in itertools.pairwise(component_bounds(c.base_year, c.until)):
        inside = [y for y in c.years[1:] if a < y <= b]
        period = {k: (k, b) for k in ("births", "deaths", "natural", "net_migration", "change")}
        for k, key in period.items():
            parts = [("year", k, y) for y in inside]
            if k == "net_migration":
                parts += [
                    ("year", "adjustment", y)
                    for y in inside
                    if ("year", "adjustment", y) in t.cells
                ]
            t.cells[key] = sum(t.cells[p] for p in parts)
            t.relations.append({key: -1.0} | dict.fromkeys(parts, 1.0))
        t.free |= {period["natural"], period["net_migration"], period["change"]}
        if {("total", a), ("total", b)} <= t.keep:
            t.keep.add(period["change"])


def town_table(
    c: TownCounts,
) -> tuple[dict[Key, float], list[dict[Key, float]], set[Key], set[Key], set[Key]]:
    """Every count cell the public outputs show of the town, the pieces between them, and the
    relations: ``cells, relations, keep, free, hidden`` for
    :func:`~wandel.reports.disclosure.suppress` (see the module's description).

    Keys: ``("web", lo, year, sex)`` the web's pyramid, ``("band", lo, year, sex)`` the report's,
    ``("group", lo, year)`` the report's age groups, ``("piece", lo, year, sex)`` the pieces
    never shown, ``("total", year)``, ``("year", component, year)`` the components of a year and
    ``(component, end)`` those of the report's period ending in ``end``."""
    t = _Table({}, [], set(), set(), set())
    for year in c.years:
        _year_cells(c, year, t)
    _component_cells(c, t)
    return t.cells, t.relations, t.keep, t.free, t.hidden


def town_secret(c: TownCounts) -> frozenset[Key]:
    """The keys of :func:`town_table` that every public output of the town keeps secret (the
    never-shown pieces among them). Remembered per process by the counts' digest: the web's
    town page and the Kommunalprofil of one town ask for the same decision (a tiny town's takes
    seconds of integer programming)."""
    key = c.digest()
    with _LOCK:
        hit = _DECISIONS.get(key)
    if hit is None:
        cells, relations, keep, free, hidden = town_table(c)
        hit = frozenset(suppress(cells, relations, keep=keep, free=free, hidden=hidden))
        with _LOCK:
            _DECISIONS[key] = hit
            while len(_DECISIONS) > _REMEMBERED:
                _DECISIONS.popitem(last=False)
    return hit


_REMEMBERED = 512
_DECISIONS: OrderedDict[str, frozenset[Key]] = OrderedDict()
_LOCK = threading.Lock()

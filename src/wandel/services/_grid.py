"""Catalogue parameters as arrays over (year, zone): the winning entry of every zone and year.

The zones' AGS keys are translated to positions once (:class:`Grid`); every parameter becomes an
array indexed ``[year, zone]`` (``NaN`` where no entry applies), built by painting the entries from
the least to the most specific region, so a Kreis figure overwrites its Land's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wandel.services.catalogue import Catalogue, Entry

__all__ = ["Grid", "age_groups"]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def age_groups(breaks: Sequence[int]) -> list[tuple[int, int]]:
    """``[start, end)`` of each group of ``breaks`` (the last ends at 101: ages 100+ count as 100).

    >>> age_groups([0, 3, 6])
    [(0, 3), (3, 6), (6, 101)]
    """
    b = [int(x) for x in breaks]
    return list(zip(b, [*b[1:], 101], strict=True))


@dataclass(frozen=True, eq=False)
class Grid:
    """Zones (AGS) and years of a run, and the age groups the population comes in."""

    zones: tuple[str, ...]
    years: tuple[int, ...]
    breaks: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.years), len(self.zones))

    def winners(
        self, cat: Catalogue, service: str, parameter: str, measure: str | None = None
    ) -> tuple[IntArray, list[Entry]]:
        """Index of the winning entry per ``[year, zone]`` (-1: none) and the entries."""
        entries = [
            e for e in cat.entries(service, parameter) if measure is None or e.measure == measure
        ]
        idx = np.full(self.shape, -1, dtype=np.intp)
        best = np.full(self.shape, -1, dtype=np.int64)
        z = np.asarray(self.zones, dtype=str)
        y = np.asarray(self.years, dtype=np.int64)
        for k, e in sorted(enumerate(entries), key=lambda ke: ke[1].specificity):
            inside = np.ones(len(z), bool) if e.region == "DG" else np.char.startswith(z, e.region)
            lo = e.valid_from if e.valid_from is not None else -(10**9)
            hi = e.valid_to if e.valid_to is not None else 10**9
            valid = (y >= lo) & (y <= hi)
            mask = valid[:, None] & inside[None, :] & (e.specificity >= best)
            idx[mask] = k
            best[mask] = e.specificity
        return idx, entries

    def scalar(
        self, cat: Catalogue, service: str, parameter: str, measure: str | None = None
    ) -> tuple[Array, list[Entry]]:
        """``[year, zone]`` values of a scalar parameter (NaN where none applies) and the entries
        used."""
        idx, entries = self.winners(cat, service, parameter, measure)
        vals: Array = np.array([float(e.value) for e in entries] + [np.nan])  # type: ignore[arg-type]
        used = sorted({int(i) for i in np.unique(idx) if i >= 0})
        return vals[idx], [entries[i] for i in used]

    def span(self, cat: Catalogue, service: str, parameter: str) -> tuple[Array, list[Entry]]:
        """``[year, zone, 2]`` first and end age of a span parameter (NaN where none)."""
        idx, entries = self.winners(cat, service, parameter)
        vals: Array = np.array([list(e.value) for e in entries] + [[np.nan, np.nan]])  # type: ignore[arg-type]
        used = sorted({int(i) for i in np.unique(idx) if i >= 0})
        return vals[idx], [entries[i] for i in used]

    def by_sex(self, cat: Catalogue, service: str, parameter: str) -> tuple[Array, list[Entry]]:
        """``[year, zone, sex]`` values of a by-sex parameter (NaN where none)."""
        idx, entries = self.winners(cat, service, parameter)
        vals = np.array([list(e.by_sex or (np.nan, np.nan)) for e in entries] + [[np.nan, np.nan]])
        used = sorted({int(i) for i in np.unique(idx) if i >= 0})
        return vals[idx], [entries[i] for i in used]

    def by_age(self, cat: Catalogue, service: str, parameter: str) -> tuple[Array, list[Entry]]:
        """``[year, zone, sex, group]`` rates on this grid's age groups (NaN where no entry applies;
        0 for ages an entry does not cover, e.g. participation below 15)."""
        idx, entries = self.winners(cat, service, parameter)
        groups = age_groups(self.breaks)
        table = np.full((len(entries) + 1, 2, len(groups)), np.nan)
        for k, e in enumerate(entries):
            table[k] = self.rates_on_groups(e)
        used = sorted({int(i) for i in np.unique(idx) if i >= 0})
        return table[idx], [entries[i] for i in used]

    def rates_on_groups(self, e: Entry) -> Array:
        """An entry's ``by_age`` rows on this grid's groups, ``[sex, group]``.

        Every group must lie inside one row (the breaks include every row's bounds).
        """
        groups = age_groups(self.breaks)
        out = np.zeros((2, len(groups)))
        for a0, a1, m, f in e.by_age or ():
            end = 101 if a1 is None else a1
            for g, (g0, g1) in enumerate(groups):
                if g0 >= a0 and g1 <= end:
                    out[0, g], out[1, g] = m, f
                elif g0 < end and g1 > a0:
                    raise ValueError(f"age group {g0}-{g1} straddles {a0}-{end} of {e.origin}")
        return out

    def band_weights(self, lo: Array, hi: Array) -> Array:
        """``[year, zone, group]`` 1 where a group lies in ``[lo, hi)`` per year and zone, else 0
        (NaN bounds give NaN). Bounds must be on the breaks."""
        groups = age_groups(self.breaks)
        g0 = np.array([g[0] for g in groups], float)
        g1 = np.array([g[1] for g in groups], float)
        w = ((g0[None, None, :] >= lo[..., None]) & (g1[None, None, :] <= hi[..., None])).astype(
            float
        )
        w[np.isnan(lo) | np.isnan(hi)] = np.nan
        return w

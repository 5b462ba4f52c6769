"""What the indicators are computed from: canonical tables, and the age structures read from them.

:class:`IndicatorInputs` holds the canonical tables (as the workflow loaded them from the store) and
derived tables from other parts (``extra``: a projection run, later service demand). Everything an
indicator function needs more than once is derived here once (cached on the frozen value):

* the zones to report on: every Gemeinde, Kreis and Land of the latest Gemeindeverzeichnis year (and
  Germany, ``DG``), with name and level;
* the **age structure** of each zone in its reference year (:func:`pick_years`): the finest
  partition of sex and age groups of that year (:func:`wandel.ages.finest_partition`), published rows
  before Wandel's estimates of the same year, with a flag whether it rests on estimates;
* population **totals** by zone and year, published figures first, the Gemeindeverzeichnis totals of
  Kreise and Länder where the population table has none.

Reference year of a zone: the latest year in which at least half as many zones of its level have data
as in the year with the most; a zone without data that year takes its own latest year (so one city
with later figures of its own does not move the year every other Gemeinde is compared in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.ages import finest_partition
from wandel.tables import empty_frame

__all__ = [
    "LEVELS",
    "OPEN_END",
    "IndicatorInputs",
    "age_sum",
    "level_of_zone",
    "pick_years",
]

LEVELS: tuple[str, ...] = ("gemeinde", "kreis", "land", "bund")
"""The levels indicators are computed for, finest first."""

OPEN_END = 100
"""Assumed end of an open age group when a group boundary falls inside it (e.g. 80+ from 75+);
the split is uniform over ``[start, max(OPEN_END, start + 5))`` and marks the value estimated."""

_LEVEL_OF_LENGTH = {8: "gemeinde", 5: "kreis", 2: "land"}


def level_of_zone(zone: str) -> str:
    """``DG`` -> bund, 2 digits land, 5 kreis, 8 gemeinde (else ``other``).

    >>> [level_of_zone(z) for z in ("DG", "15", "15087", "15087220", "150875")]
    ['bund', 'land', 'kreis', 'gemeinde', 'other']
    """
    if zone == "DG":
        return "bund"
    return _LEVEL_OF_LENGTH.get(len(zone), "other")


def pick_years(frame: pd.DataFrame, share: float = 0.5) -> pd.Series:
    """Reference year of every zone of ``frame`` (columns ``zone``, ``year``), by level.

    The level's reference year is the latest year with at least ``share`` times as many zones as
    its best-covered year; a zone with data that year takes it, any other zone its own latest year.

    >>> f = pd.DataFrame({"zone": ["14612000", "14612000", "14625020", "14626110"],
    ...                   "year": [2025, 2019, 2019, 2019]})
    >>> pick_years(f).to_dict()
    {'14612000': 2019, '14625020': 2019, '14626110': 2019}
    """
    zy = frame[["zone", "year"]].drop_duplicates()
    if zy.empty:
        return pd.Series(dtype="int64")
    zy = zy.assign(level=zy["zone"].map(level_of_zone), year=zy["year"].astype(int))
    out: dict[str, int] = {}
    for _level, grp in zy.groupby("level", sort=True):
        counts = grp.groupby("year")["zone"].nunique()
        ref = int(counts[counts >= share * counts.max()].index.max())
        have = set(grp.loc[grp["year"] == ref, "zone"])
        latest = grp.groupby("zone")["year"].max()
        for z, y in latest.items():
            out[str(z)] = ref if z in have else int(y)
    return pd.Series(out, dtype="int64").sort_index()


def _open_end(start: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.maximum(float(OPEN_END), start + 5.0)


def age_sum(
    structure: pd.DataFrame, lo: int, hi: int | None, by: tuple[str, ...] = ("zone",)
) -> pd.DataFrame:
    """Persons aged ``[lo, hi)`` (``hi=None``: ``lo`` and older) per ``by`` group of a structure.

    Groups that straddle a boundary are split uniformly over their width (an open group over
    ``[start, max(OPEN_END, start + 5))``). Returns ``by`` columns, ``value``, ``estimated`` (the
    structure was estimated or a group had to be split) and ``year``.

    >>> s = pd.DataFrame({"zone": ["a"] * 3, "year": 2020, "sex": "t", "age_start": [0, 10, 20],
    ...                   "age_end": pd.array([10, 20, None], dtype="Int64"),
    ...                   "value": [100.0, 50.0, 200.0], "estimated": False})
    >>> age_sum(s, 5, 20)[["zone", "value", "estimated"]].to_dict("records")
    [{'zone': 'a', 'value': 100.0, 'estimated': True}]
    >>> float(age_sum(s, 20, None)["value"].iloc[0])
    200.0
    """
    a = structure["age_start"].to_numpy(dtype=float)
    open_ = structure["age_end"].isna().to_numpy()
    b = np.where(open_, _open_end(a), structure["age_end"].astype("Float64").fillna(0).to_numpy())
    top = np.inf if hi is None else float(hi)
    overlap = np.clip(np.minimum(b, top) - np.maximum(a, float(lo)), 0.0, None)
    frac = overlap / np.maximum(b - a, 1e-12)
    whole_open = open_ & (hi is None) & (a >= lo)
    frac = np.where(whole_open, 1.0, frac)
    split = (frac > 0) & (frac < 1)
    est = structure["estimated"].to_numpy(dtype=bool) & (frac > 0)
    work = structure[list(dict.fromkeys([*by, "year"]))].assign(
        value=structure["value"].to_numpy(dtype=float) * frac, _est=est | split
    )
    g = work.groupby(list(by), sort=True)
    out = g["value"].sum().to_frame("value")
    out["estimated"] = g["_est"].any()
    if "year" not in by:
        out["year"] = g["year"].first().astype("int64")
    return out.reset_index()


@dataclass(frozen=True)
class IndicatorInputs:
    """Canonical tables an indicator may use; ``extra`` holds derived tables by name.

    Parameters
    ----------
    population, births, deaths, migration, fertility, life_tables, gv_records
        Canonical tables (:data:`wandel.tables.TABLES`); empty frames where the store has none.
    zone_changes
        Territorial changes (:data:`wandel.tables.CHANGE_COLUMNS`) to harmonise Gemeinde series.
    zones
        ``zone, name, level, parent`` of the zones to report on (the store's ``zones`` of the latest
        Gemeindeverzeichnis year). Empty: every zone found in ``population``.
    extra
        Derived tables: ``"projection"`` (long projection output: zone, year, sex, age_start,
        age_end, value), and any table a service indicator needs.
    """

    population: pd.DataFrame
    births: pd.DataFrame = field(default_factory=lambda: empty_frame("births"))
    deaths: pd.DataFrame = field(default_factory=lambda: empty_frame("deaths"))
    migration: pd.DataFrame = field(default_factory=lambda: empty_frame("migration"))
    fertility: pd.DataFrame = field(default_factory=lambda: empty_frame("fertility"))
    life_tables: pd.DataFrame = field(default_factory=lambda: empty_frame("life_tables"))
    gv_records: pd.DataFrame = field(default_factory=lambda: empty_frame("gv_records"))
    zone_changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    zones: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """A canonical table by name, or a derived table of ``extra`` (empty frame if absent)."""
        if name in self.extra:
            return self.extra[name]
        value = getattr(self, name, None)
        return value if isinstance(value, pd.DataFrame) else pd.DataFrame()

    def has(self, name: str) -> bool:
        """Whether table ``name`` holds any row."""
        return not self.table(name).empty

    @cached_property
    def zone_list(self) -> pd.DataFrame:
        """``zone, name, level, parent`` of every zone to report on (Gemeinde, Kreis, Land, DG)."""
        if not self.zones.empty:
            z = self.zones
            if "valid_to" in z.columns:
                z = z[z["valid_to"].isna()]
            z = z[["zone", "name"]].astype({"zone": str, "name": str})
        else:
            z = pd.DataFrame({"zone": sorted(self.population["zone"].astype(str).unique())})
            z["name"] = z["zone"]
        if "DG" not in set(z["zone"]):
            z = pd.concat([z, pd.DataFrame({"zone": ["DG"], "name": ["Deutschland"]})])
        z = z.assign(level=z["zone"].map(level_of_zone))
        z = z[z["level"].isin(LEVELS)]
        z["parent"] = [
            None
            if lv == "bund"
            else ("DG" if lv == "land" else zz[:2] if lv == "kreis" else zz[:5])
            for zz, lv in zip(z["zone"], z["level"], strict=True)
        ]
        return z.sort_values("zone").reset_index(drop=True)

    @cached_property
    def _known(self) -> frozenset[str]:
        return frozenset(self.zone_list["zone"])

    def _population_rows(self, known_only: bool = True) -> pd.DataFrame:
        pop = self.population
        pop = pop[pop["value"].notna()]
        if known_only:
            pop = pop[pop["zone"].astype(str).isin(self._known)]
        return pop.assign(zone=pop["zone"].astype(str), year=pop["year"].astype(int))

    def _structure(self, need_sexes: bool, zones: set[str] | None = None) -> pd.DataFrame:
        pop = self._population_rows()
        if zones is not None:
            pop = pop[pop["zone"].isin(zones)]
        parts = pop[~((pop["age_start"] == 0) & pop["age_end"].isna())]
        if need_sexes:
            parts = parts[parts["sex"].isin(["m", "f"])]
        # published age groups of a zone and year win over Wandel's estimates of the same year
        published = (~parts["estimated"]).groupby([parts["zone"], parts["year"]]).transform("any")
        parts = parts[~(published & parts["estimated"])]
        n = parts.groupby(["zone", "year", "sex"])["age_start"].transform("nunique")
        parts = parts[n > 1]
        if need_sexes:
            both = parts.groupby(["zone", "year"])["sex"].transform("nunique") == 2
            parts = parts[both]
        years = pick_years(parts)
        chosen = parts[parts["year"] == parts["zone"].map(years)]
        out = finest_partition(chosen)
        return out[
            ["zone", "year", "sex", "age_start", "age_end", "value", "estimated"]
        ].reset_index(drop=True)

    @cached_property
    def structure(self) -> pd.DataFrame:
        """Age structure of every zone in its reference year (any sexes; ``t`` where no split)."""
        return self._structure(need_sexes=False)

    @cached_property
    def structure_by_sex(self) -> pd.DataFrame:
        """Age structure by sex ``m``/``f`` of every zone in its reference year with that split."""
        s = self.structure
        split = s["sex"].isin(["m", "f"]).groupby(s["zone"]).transform("all")
        # zones whose latest structure has both sexes keep it; the others look for a year with them
        rest = self._structure(need_sexes=True, zones=set(s.loc[~split, "zone"]))
        return pd.concat([s[split], rest], ignore_index=True)

    @cached_property
    def gemeinde_totals(self) -> pd.DataFrame:
        """Published all-ages totals ``zone, year, value`` of every Gemeinde in the population
        table, also of Gemeinden dissolved since (what a harmonisation to one territory needs)."""
        pop = self._population_rows(known_only=False)
        return self._published_totals(pop[pop["zone"].str.len() == 8])

    @staticmethod
    def _published_totals(pop: pd.DataFrame) -> pd.DataFrame:
        whole = pop[(pop["age_start"] == 0) & pop["age_end"].isna() & ~pop["estimated"]]
        mf = whole[whole["sex"].isin(["m", "f"])]
        mf = mf[mf.groupby(["zone", "year"])["sex"].transform("nunique") == 2]
        by_sex = mf.groupby(["zone", "year"], as_index=False)["value"].sum()
        t = whole.loc[whole["sex"] == "t", ["zone", "year", "value"]]
        return pd.concat([by_sex, t]).drop_duplicates(["zone", "year"]).reset_index(drop=True)

    @cached_property
    def totals(self) -> pd.DataFrame:
        """Population totals ``zone, year, value, estimated`` (published first; GV for Kreis/Land)."""
        pop = self._population_rows()
        parts = self.structure.groupby(["zone", "year"], as_index=False).agg(
            value=("value", "sum"), estimated=("estimated", "any")
        )
        published = self._published_totals(pop).assign(estimated=False)
        frames = [published, parts]
        gv = self.gv_records
        if not gv.empty:
            g = gv[gv["level"].isin(["kreis", "land"]) & gv["pop_total"].notna()]
            frames.append(
                pd.DataFrame(
                    {
                        "zone": g["zone"].astype(str),
                        "year": g["year"].astype(int),
                        "value": g["pop_total"].astype(float),
                        "estimated": False,
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True).drop_duplicates(["zone", "year"])
        out = out[out["zone"].isin(self._known)]
        return out.sort_values(["zone", "year"]).reset_index(drop=True)

"""The canonical tables a projection reads, and the totals it derives from them.

:class:`ProjectionTables` holds the long tables of a store (all years; every estimator filters by its
base year, and :meth:`ProjectionTables.until` cuts them for an honest backtest). The totals functions
read published all-ages totals without ever counting a zone twice:

* :func:`year_end_totals`: the totals of one level (sex ``m``/``f`` where published, else ``t``);
* :func:`gemeinde_totals`: Gemeinde totals harmonised to the territorial status of the base
  population (the latest Gemeindeverzeichnis year ``<= base`` with totals by sex);
* :func:`kreis_totals`: Kreis totals, published or summed from their Gemeinden.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from wandel.demography.rates import period_end_year
from wandel.errors import MissingDataError
from wandel.regions.harmonise import harmonise_population
from wandel.tables import SEXES

__all__ = [
    "ProjectionTables",
    "gemeinde_totals",
    "kreis_totals",
    "kreise_at",
    "latest_gv_year",
    "status_year",
    "year_end_totals",
]


@dataclass(frozen=True, eq=False)
class ProjectionTables:
    """The canonical tables a projection reads (all years; estimators filter by base year)."""

    population: pd.DataFrame
    fertility: pd.DataFrame
    births: pd.DataFrame
    deaths: pd.DataFrame
    life_tables: pd.DataFrame
    migration: pd.DataFrame
    gv_records: pd.DataFrame
    zone_changes: pd.DataFrame

    def until(self, year: int) -> ProjectionTables:
        """The same tables without any row dated after ``year`` (life tables by period end)."""

        def cut(f: pd.DataFrame) -> pd.DataFrame:
            return f[f["year"].astype(int) <= year]

        lt = self.life_tables
        return ProjectionTables(
            cut(self.population),
            cut(self.fertility),
            cut(self.births),
            cut(self.deaths),
            lt[lt["period"].map(period_end_year) <= year],
            cut(self.migration),
            cut(self.gv_records),
            self.zone_changes[self.zone_changes["to_year"] <= year],
        )


def year_end_totals(population: pd.DataFrame, digits: int) -> pd.DataFrame:
    """Published all-ages totals of zones with ``digits``-digit keys, by sex where published.

    Rows with sex ``m``/``f`` and, for zone-years without them, rows with sex ``t`` (a total
    without a split, e.g. a city's own yearly series): never both for one zone and year, so sums
    over sex count everyone once. Columns zone, year, sex, age_start, age_end, value.

    >>> p = pd.DataFrame({"zone": ["14612000"] * 4, "year": [2019, 2019, 2019, 2020],
    ...     "sex": ["m", "f", "t", "t"], "age_start": 0, "age_end": pd.NA,
    ...     "value": [270.0, 280.0, 550.0, 556.0], "estimated": False})
    >>> year_end_totals(p, 8)[["year", "sex", "value"]].to_dict("records")
    [{'year': 2019, 'sex': 'f', 'value': 280.0}, {'year': 2019, 'sex': 'm', 'value': 270.0}, \
{'year': 2020, 'sex': 't', 'value': 556.0}]
    """
    p = population
    p = p[
        (p["zone"].str.len() == digits)
        & ~p["estimated"].astype(bool)
        & (p["age_start"] == 0)
        & p["age_end"].isna()
        & p["sex"].isin([*SEXES, "t"])
    ]
    split = p[p["sex"].isin(SEXES)]
    have = pd.MultiIndex.from_frame(split[["zone", "year"]].drop_duplicates())
    t = p[p["sex"] == "t"]
    t = t[~pd.MultiIndex.from_frame(t[["zone", "year"]]).isin(have)]
    out = pd.concat([split, t], ignore_index=True)
    cols = ["zone", "year", "sex", "age_start", "age_end", "value"]
    return out[cols].sort_values(["zone", "year", "sex"]).reset_index(drop=True)


def status_year(tables: ProjectionTables, base_year: int) -> int:
    """The territorial status of a Gemeinde projection from ``base_year``: the latest year
    ``<= base_year`` with Gemeinde totals by sex (the Gemeindeverzeichnis years)."""
    g = year_end_totals(tables.population, 8)
    split = g[g["sex"].isin(SEXES) & (g["year"].astype(int) <= base_year)]
    if split.empty:
        have = sorted({int(y) for y in g.loc[g["sex"].isin(SEXES), "year"]})
        raise MissingDataError(
            f"no Gemeinde totals by sex at or before {base_year} in the store"
            + (f" (years with such totals: {', '.join(map(str, have))})" if have else "")
        )
    return int(split["year"].max())


def gemeinde_totals(tables: ProjectionTables, base_year: int) -> pd.DataFrame:
    """Published Gemeinde totals of years ``<= base``, harmonised to the latest status by sex.

    Rows zone, year, sex, value; the territorial status is :func:`status_year`. Totals without a
    split (sex ``t``, e.g. a city's yearly series) are included for the years that have no split
    (:func:`year_end_totals`); projections take their base population from the split totals only.
    """
    target = status_year(tables, base_year)
    g = year_end_totals(tables.population, 8)
    g = g[g["year"].astype(int) <= target]
    ch = tables.zone_changes
    ch = ch[ch["to_year"] <= target]
    h = harmonise_population(g, ch, target)
    return h[["zone", "year", "sex", "value"]].reset_index(drop=True)


def kreis_totals(tables: ProjectionTables, base_year: int) -> pd.DataFrame:
    """Kreis totals (both sexes) of years ``<= base``: published Kreis rows, else sums of Gemeinden.

    Sums of Gemeinden use the split totals of the Gemeindeverzeichnis years; a total without a split
    counts only for a kreisfreie Stadt (Gemeinde key ending ``000``, the only Gemeinde of its
    Kreis), so a Kreis never gets a partial sum. Rows zone, year, value.
    """
    p = tables.population
    p = p[(p["year"].astype(int) <= base_year) & ~p["estimated"].astype(bool)]
    kp = p[(p["zone"].str.len() == 5) & p["sex"].isin(SEXES)]
    kp = kp.groupby(["zone", "year"], as_index=False)["value"].sum()
    kt = year_end_totals(p, 5)
    kt = kt.loc[kt["sex"] == "t", ["zone", "year", "value"]]
    k = pd.concat([kp, kt]).drop_duplicates(["zone", "year"], keep="first")
    g = year_end_totals(p, 8)
    g = g[g["sex"].isin(SEXES) | g["zone"].str.endswith("000")]
    g = g.assign(zone=g["zone"].str[:5]).groupby(["zone", "year"], as_index=False)["value"].sum()
    both = pd.concat([k, g]).drop_duplicates(["zone", "year"], keep="first")
    return both.sort_values(["zone", "year"]).reset_index(drop=True)


def kreise_at(tables: ProjectionTables, base_year: int) -> list[str]:
    """The Kreise of the latest Gemeindeverzeichnis year ``<= base_year`` (else the earliest)."""
    gv = tables.gv_records
    gv = gv[gv["level"] == "kreis"]
    years = sorted(int(y) for y in gv["year"].unique())
    if not years:
        raise MissingDataError(
            "no Kreis records in the Gemeindeverzeichnis: import a GV-ISys Auszug GV first"
        )
    y = max([y for y in years if y <= base_year] or [years[0]])
    return sorted(gv.loc[gv["year"] == y, "zone"].astype(str))


def latest_gv_year(tables: ProjectionTables) -> int | None:
    """The newest territorial status the store knows (its latest Gemeindeverzeichnis year)."""
    years = tables.gv_records["year"]
    return None if years.empty else int(years.max())

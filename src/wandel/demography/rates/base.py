"""The base population in single ages 0..100+.

Published age groups are graduated to single years, guided by Germany's single-age shape of the same
year (:func:`germany_shape`). Gemeinden known only by totals get their Kreis's single-age structure by
sex scaled to their totals, by the one Gemeinde structure estimator
(:func:`wandel.regions.estimates.estimate_gemeinde_structure`, marked in ``estimated``): the Kreis
structure of the year nearest to the totals among the years ``<= base``, or, if none exists, the
earliest later one (marked in ``later_structure``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from wandel import i18n
from wandel.ages import finest_partition
from wandel.demography.graduation import graduate
from wandel.demography.lifetable import OPEN_AGE
from wandel.demography.rates._common import AGES, Array, all_ages, upto
from wandel.errors import MissingDataError
from wandel.regions.estimates import estimate_gemeinde_structure, structure_years
from wandel.tables import SEXES

__all__ = ["BasePopulation", "base_population", "germany_shape", "single_ages"]


def single_ages(frame: pd.DataFrame, parent_shape: Array | None = None) -> xr.DataArray:
    """Graduate one year's population rows (zone, sex, age groups) to single ages 0..100+.

    Rows are grouped by zone and sex; each group's finest partition of ages
    (:func:`wandel.ages.finest_partition`; the all-ages row dropped when parts exist) is graduated
    with :func:`graduate` guided by ``parent_shape`` (101 values) if given. A zone-sex with a total
    but no structure gets NaN (its caller must estimate one). Returns a DataArray ``(zone, sex,
    age)``.
    """
    rows = frame[frame["sex"].isin(SEXES) & frame["value"].notna()]
    parts = finest_partition(rows[~all_ages(rows)])
    zones = sorted(rows["zone"].astype(str).unique())
    out = np.zeros((len(zones), 2, OPEN_AGE + 1))
    zi = {z: i for i, z in enumerate(zones)}
    for (zone, sex), grp in parts.groupby(["zone", "sex"], sort=True):
        g = grp.sort_values("age_start")
        breaks = [int(a) for a in g["age_start"]]
        counts = g["value"].to_numpy(dtype=np.float64)
        out[zi[str(zone)], SEXES.index(str(sex))] = graduate(counts, breaks, parent=parent_shape)
    totals_only = rows[all_ages(rows)]
    for _, r in totals_only.iterrows():
        i, s = zi[str(r["zone"])], SEXES.index(str(r["sex"]))
        if out[i, s].sum() == 0 and float(r["value"]) > 0:
            out[i, s] = np.nan  # a total without a structure: caller must estimate one
    return xr.DataArray(
        out, dims=("zone", "sex", "age"), coords={"zone": zones, "sex": list(SEXES), "age": AGES}
    )


def germany_shape(population: pd.DataFrame, year: int) -> Array | None:
    """Germany's single-age population (both sexes) of the latest year ``<= year`` (else None).

    The finest partition of the year's rows (:func:`wandel.ages.finest_partition`: the sexes where
    published, else the total; overlapping groups counted once), summed over sex and graduated.
    """
    dg = population[(population["zone"] == "DG") & (population["year"].astype(int) <= year)]
    dg = dg[~all_ages(dg) & dg["value"].notna()]
    if dg.empty:
        return None
    y = int(dg["year"].max())
    part = finest_partition(dg[dg["year"] == y])
    if part.empty:
        return None
    g = part.groupby("age_start")["value"].sum().sort_index()
    shape: Array = graduate(g.to_numpy(dtype=np.float64), [int(a) for a in g.index])
    return shape


@dataclass(frozen=True)
class BasePopulation:
    """The base population in single ages ``(zone, sex, age)`` on 31 December of ``year``.

    ``estimated``: zones whose age structure was estimated from their Kreis; ``structure_year``:
    year of the (latest) Kreis structure used for them; ``later_structure``: zones whose structure
    came from a year after the base year (no earlier one existed), which a backtest must report.
    """

    population: xr.DataArray
    year: int
    estimated: tuple[str, ...] = ()
    structure_year: int | None = None
    later_structure: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def _kreis_base(population: pd.DataFrame, zones: list[str], base_year: int) -> BasePopulation:
    """Kreise: their published age groups of the latest year ``<= base`` (else the earliest)."""
    pub = population[~population["estimated"].astype(bool)]
    every = pub[pub["zone"].isin(zones) & ~all_ages(pub)]
    rows = upto(every, base_year)
    later = rows.empty
    if later:
        if every.empty:
            raise MissingDataError("@demography.error.no_structure", zone=zones[0])
        rows = every[every["year"] == every["year"].min()]
    year = int(rows["year"].max())
    pop = single_ages(rows[rows["year"] == year], germany_shape(population, year))
    have = set(pop["zone"].values.tolist())
    missing = [z for z in zones if z not in have]
    if missing:
        raise MissingDataError("@demography.error.no_structure_in", zone=missing[0], year=year)
    if later:
        note = i18n.note("demography.note.later_structure", year=year, base_year=base_year)
        return BasePopulation(pop.sel(zone=zones), year, (), year, tuple(zones), (note,))
    return BasePopulation(pop.sel(zone=zones), year)


def _kreis_single_ages(
    population: pd.DataFrame, kreise: Sequence[str], years: Sequence[int]
) -> pd.DataFrame:
    """The published structures of ``kreise`` in ``years``, graduated, as long single-age rows."""
    pub = population[~population["estimated"].astype(bool) & population["zone"].isin(kreise)]
    frames = []
    for y in sorted(set(years)):
        single = single_ages(pub[pub["year"] == y], germany_shape(population, y))
        f = single.to_dataframe(name="value").reset_index()
        frames.append(f.assign(year=y))
    out = pd.concat(frames, ignore_index=True).rename(columns={"age": "age_start"})
    out["age_end"] = pd.array(
        [None if a == OPEN_AGE else a + 1 for a in out["age_start"]], dtype="Int64"
    )
    return out


def _gemeinde_base(
    population: pd.DataFrame, zones: list[str], base_year: int, totals: pd.DataFrame
) -> BasePopulation:
    """Gemeinden: sex totals of the latest year ``<= base`` spread by their Kreis's structure."""
    tot = upto(totals[totals["zone"].isin(zones) & totals["sex"].isin(SEXES)], base_year)
    if tot.empty:
        raise MissingDataError(
            "@demography.error.no_population_until", zone=zones[0], year=base_year
        )
    year = int(tot["year"].max())
    tot = tot[tot["year"] == year]
    have = set(tot["zone"].astype(str).tolist())
    missing = [z for z in zones if z not in have]
    if missing:
        raise MissingDataError("@demography.error.no_population_in", zone=missing[0], year=year)
    pub = population[~population["estimated"].astype(bool)]
    kp = pub[(pub["zone"].str.len() == 5) & ~all_ages(pub)]
    wanted = pd.DataFrame({"kreis": sorted({z[:5] for z in zones}), "year": year})
    years = structure_years(wanted, kp.rename(columns={"zone": "kreis"}), until=base_year)
    lost = sorted(set(wanted["kreis"]) - set(years["kreis"]))
    if lost:
        raise MissingDataError("@demography.error.no_kreis_structure", kreis=lost[0])
    kreis_single = _kreis_single_ages(
        population, list(years["kreis"]), list(years["structure_year"])
    )
    est = estimate_gemeinde_structure(tot, kreis_single, until=base_year)
    index = pd.MultiIndex.from_product([zones, list(SEXES), AGES], names=["zone", "sex", "age"])
    vals = est.set_index(["zone", "sex", "age_start"])["value"].reindex(index, fill_value=0.0)
    pop = xr.DataArray(
        vals.to_numpy(dtype=np.float64).reshape(len(zones), 2, OPEN_AGE + 1),
        dims=("zone", "sex", "age"),
        coords={"zone": zones, "sex": list(SEXES), "age": AGES},
    )
    later_kreise = set(years.loc[years["later"], "kreis"])
    later = tuple(z for z in zones if z[:5] in later_kreise)
    sy = int(years["structure_year"].max())
    notes = tuple(
        i18n.note("demography.note.later_structure", year=int(y), base_year=base_year)
        for y in sorted(set(years.loc[years["later"], "structure_year"]))
    )
    return BasePopulation(pop, year, tuple(zones), sy, later, notes)


def base_population(
    population: pd.DataFrame,
    zones: Sequence[str],
    base_year: int,
    gemeinde_totals: pd.DataFrame | None = None,
) -> BasePopulation:
    """Base population of Kreise (5-digit) or Gemeinden (8-digit) in single ages.

    Kreise: the latest year ``<= base_year`` with the zone's published age groups (else the
    earliest, flagged ``later_structure``). Gemeinden: their sex totals of the latest year
    ``<= base_year`` (``gemeinde_totals`` rows zone, year, sex, value, e.g. harmonised; default
    the population table's published totals) spread by the Kreis structure chosen by
    :func:`wandel.regions.estimates.structure_years` with ``until = base_year``.
    """
    zones = [str(z) for z in zones]
    if all(len(z) == 5 for z in zones):
        return _kreis_base(population, zones, base_year)
    if not all(len(z) == 8 for z in zones):
        raise MissingDataError("@demography.error.mixed_zone_levels")
    tot = gemeinde_totals
    if tot is None:
        pub = population[~population["estimated"].astype(bool)]
        tot = pub[pub["zone"].isin(zones) & all_ages(pub) & pub["sex"].isin(SEXES)]
    return _gemeinde_base(population, zones, base_year, tot)

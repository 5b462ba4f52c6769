"""Fertility: the German age pattern scaled per Kreis by indirect standardisation, and the sex ratio
at birth.

The German age pattern ``asfr_DE(x)`` (table 12612-0008, measure ``asfr_per_1000``, latest year
``<= base``) is scaled per Kreis by ``f_z = O_z / E_z`` with ``O_z`` the observed births of the years
``<= base`` and ``E_z = n_years * sum_x asfr_DE(x) W_z(x)`` (``W_z`` the zone's women at the base
population), shrunk toward the Land's factor (:mod:`wandel.demography.rates.shrinkage`). Gemeinden
take their Kreis factor. Sex ratio at birth: boys per girl among Germany's births (12612-0001) of the
ten latest years ``<= base``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from wandel.demography.lifetable import OPEN_AGE
from wandel.demography.rates._common import AGES, Array, all_ages, kreis_events, upto
from wandel.demography.rates.shrinkage import ZoneFactors, kreis_factors, per_zone
from wandel.errors import MissingDataError
from wandel.tables import SEXES

__all__ = ["FertilityRates", "estimate_fertility", "estimate_srb", "german_asfr"]


def german_asfr(fertility: pd.DataFrame, base_year: int) -> tuple[int, Array]:
    """Germany's births per woman by age 0..100 (zeros outside 15..49) of the latest year ``<= base``.

    Returns ``(year, asfr)``; ``sum(asfr)`` is the TFR of that year.
    """
    f = fertility[
        (fertility["zone"] == "DG")
        & (fertility["measure"] == "asfr_per_1000")
        & (fertility["category"].fillna("") == "")
        & fertility["value"].notna()
    ]
    f = upto(f, base_year)
    if f.empty:
        raise MissingDataError(f"no German age-specific fertility at or before {base_year}")
    year = int(f["year"].max())
    g = f[f["year"] == year].groupby("age_start")["value"].mean()
    asfr = np.zeros(OPEN_AGE + 1)
    asfr[g.index.to_numpy(dtype=int)] = g.to_numpy(dtype=np.float64) / 1000.0
    return year, asfr


@dataclass(frozen=True)
class FertilityRates:
    """Births per woman by zone and age (``asfr``, dims ``zone, age``) and how they were found."""

    asfr: xr.DataArray
    schedule_year: int
    tfr_schedule: float
    factors: ZoneFactors
    years: tuple[int, ...]


def estimate_fertility(
    fertility: pd.DataFrame,
    births: pd.DataFrame,
    kreis_population: xr.DataArray,
    zones: Sequence[str],
    base_year: int,
) -> FertilityRates:
    """German schedule scaled by each Kreis's shrunken factor (Gemeinden: their Kreis's).

    ``kreis_population`` (dims ``zone, sex, age``) holds the Kreise whose women give the expected
    births; their parent for the shrinkage is the Land (AGS[:2]).
    """
    year, asfr_de = german_asfr(fertility, base_year)
    kreise = [str(z) for z in kreis_population["zone"].values]
    women = kreis_population.sel(sex="f").values
    expected = dict(zip(kreise, women @ asfr_de, strict=True))
    factors = kreis_factors(
        kreis_events(births, base_year), expected, kreise, {k: k[:2] for k in kreise}
    )
    f = per_zone(factors, zones)
    asfr = xr.DataArray(
        f[:, None] * asfr_de[None, :],
        dims=("zone", "age"),
        coords={"zone": list(zones), "age": AGES},
    )
    return FertilityRates(asfr, year, float(asfr_de.sum()), factors, (year, *factors.years))


def estimate_srb(
    births: pd.DataFrame, base_year: int, n_years: int = 10
) -> tuple[float, tuple[int, ...]]:
    """Boys per girl among Germany's births of the ``n_years`` latest years ``<= base``."""
    b = upto(births[(births["zone"] == "DG") & births["sex"].isin(SEXES)], base_year)
    b = b[all_ages(b) & b["value"].notna()]
    years = sorted(int(y) for y in b["year"].unique())[-n_years:]
    if not years:
        raise MissingDataError(f"no German births by sex at or before {base_year}")
    b = b[b["year"].isin(years)]
    boys = float(b.loc[b["sex"] == "m", "value"].sum())
    girls = float(b.loc[b["sex"] == "f", "value"].sum())
    return boys / girls, tuple(years)

"""Mortality: the German period life table scaled per Kreis by its shrunken death factor.

The German period life table of the latest period ending ``<= base`` (a period "2013/15" is dated
2015), ``m_z(x) = f_z m_DE(x)`` with ``f_z = D_z / sum_{s,x} m_DE(s, x) P_z(s, x)`` (per year of
deaths data), shrunk toward the Land's factor; survival ratios from
:func:`wandel.demography.lifetable.survival_ratios`. Gemeinden take their Kreis factor.

References: Preston, Heuveline & Guillot (2001), *Demography*, ch. 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from wandel.demography.lifetable import (
    A0_DESTATIS,
    OPEN_AGE,
    life_table_from_qx,
    mx_from_qx_ax,
    qx_from_mx_ax,
    survival_ratios,
)
from wandel.demography.rates._common import AGES, Array, kreis_events
from wandel.demography.rates.shrinkage import ZoneFactors, kreis_factors, per_zone
from wandel.errors import MissingDataError
from wandel.tables import SEXES

__all__ = [
    "MortalityRates",
    "estimate_mortality",
    "german_qx",
    "mx_scaled",
    "period_end_year",
    "survival_from_qx",
]


def period_end_year(period: str) -> int:
    """Last year of a life-table period: ``"2013/15" -> 2015``, ``"1998/00" -> 2000``.

    >>> period_end_year("2013/15"), period_end_year("1998/00"), period_end_year("2022")
    (2015, 2000, 2022)
    """
    head, _, tail = str(period).replace("-", "/").partition("/")
    start = int(head)
    if not tail:
        return start
    if len(tail) == 4:
        return int(tail)
    end = start - start % 100 + int(tail)
    return end + 100 if end < start else end


def german_qx(life_tables: pd.DataFrame, base_year: int) -> tuple[str, Array]:
    """Germany's one-year ``q(x)``, ages 0..100, sexes (m, f) of the latest complete period ending
    ``<= base`` (a table with every age 0..100 for both sexes)."""
    lt = life_tables[(life_tables["zone"] == "DG") & life_tables["qx"].notna()]
    complete = lt.groupby("period")["qx"].transform("size") == 2 * (OPEN_AGE + 1)
    lt = lt[complete]  # the early tables stop at age 89
    ends = lt["period"].map(period_end_year)
    lt = lt[ends <= base_year]
    if lt.empty:
        raise MissingDataError(f"no German life table ending at or before {base_year}")
    ends = lt["period"].map(period_end_year)
    period = str(lt.loc[ends == ends.max(), "period"].iloc[0])
    q = np.zeros((2, OPEN_AGE + 1))
    for s, sex in enumerate(SEXES):
        r = lt[(lt["period"] == period) & (lt["sex"] == sex)].sort_values("age")
        q[s, r["age"].to_numpy(dtype=int)] = r["qx"].to_numpy(dtype=np.float64)
    return period, q


def _ax() -> Array:
    a = np.full(OPEN_AGE + 1, 0.5)
    a[0] = A0_DESTATIS
    return a


def mx_scaled(qx: Array, factor: npt.ArrayLike) -> Array:
    """``q(x)`` after multiplying the death rates ``m(x)`` by ``factor`` (broadcast on leading axes).

    ``m = q / (1 - (1 - a) q)``, ``m' = factor * m``, ``q' = m' / (1 + (1 - a) m')`` (capped below 1).
    """
    a = _ax()
    m = mx_from_qx_ax(np.minimum(qx, 0.999999), a)
    out: Array = np.minimum(qx_from_mx_ax(np.asarray(factor)[..., None] * m, a), 0.999999)
    return out


@dataclass(frozen=True)
class MortalityRates:
    """Survival ratios ``sx`` (dims ``zone, sex, age``), ``birth_survival`` (``zone, sex``), ``qx``."""

    sx: xr.DataArray
    birth_survival: xr.DataArray
    qx: xr.DataArray
    period: str
    factors: ZoneFactors
    years: tuple[int, ...]


def survival_from_qx(qx: Array, zones: Sequence[str]) -> tuple[xr.DataArray, xr.DataArray]:
    """Survival ratios and birth survival of ``qx`` (``(zone, sex, age)``) as labelled arrays."""
    s = survival_ratios(life_table_from_qx(qx))
    coords = {"zone": list(zones), "sex": list(SEXES)}
    sx = xr.DataArray(s.sx, dims=("zone", "sex", "age"), coords={**coords, "age": AGES})
    return sx, xr.DataArray(s.birth, dims=("zone", "sex"), coords=coords)


def estimate_mortality(
    life_tables: pd.DataFrame,
    deaths: pd.DataFrame,
    kreis_population: xr.DataArray,
    zones: Sequence[str],
    base_year: int,
) -> MortalityRates:
    """German life table scaled by each Kreis's shrunken death factor (Gemeinden: their Kreis's)."""
    period, q_de = german_qx(life_tables, base_year)
    m_de = mx_from_qx_ax(np.minimum(q_de, 0.999999), _ax())
    kreise = [str(z) for z in kreis_population["zone"].values]
    pop = kreis_population.sel(sex=list(SEXES)).values
    expected = dict(zip(kreise, (pop * m_de[None]).sum(axis=(1, 2)), strict=True))
    factors = kreis_factors(
        kreis_events(deaths, base_year), expected, kreise, {k: k[:2] for k in kreise}
    )
    f = per_zone(factors, zones)
    q = mx_scaled(np.broadcast_to(q_de, (len(zones), 2, OPEN_AGE + 1)), f[:, None])
    sx, bs = survival_from_qx(q, zones)
    qa = xr.DataArray(q, dims=("zone", "sex", "age"), coords=sx.coords)
    return MortalityRates(sx, bs, qa, period, factors, (period_end_year(period), *factors.years))

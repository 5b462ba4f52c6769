"""What every rate estimator shares: the age axis, the census dates, the Rogers-Castro standard
schedule, and the selection of rows dated on or before a base year."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.demography.lifetable import OPEN_AGE
from wandel.tables import SEXES

__all__ = [
    "AGES",
    "CENSUS_DATES",
    "RC_STANDARD",
    "Array",
    "all_ages",
    "crosses_census",
    "kreis_events",
    "rogers_castro",
    "upto",
]

Array = npt.NDArray[np.float64]
AGES = np.arange(OPEN_AGE + 1)

RC_STANDARD: dict[str, float] = {
    "a1": 0.02,
    "alpha1": 0.10,
    "a2": 0.06,
    "alpha2": 0.10,
    "mu2": 20.0,
    "lambda2": 0.40,
    "c": 0.003,
}
"""Stylised standard Rogers-Castro parameters (childhood, labour-force peak at 23, constant).

Round values inside the ranges Rogers & Castro (1981, IIASA RR-81-30) report for their standard
schedules; a stylised profile, not a fit to German data."""


CENSUS_DATES: tuple[date, ...] = (date(2011, 5, 9), date(2022, 5, 15))
"""Reference dates of the German censuses that rebased the population totals (Zensus 2011 and
Zensus 2022). Totals of 31 December before and after such a date are on different bases."""


def crosses_census(y0: int, y1: int, census: Sequence[date] = CENSUS_DATES) -> bool:
    """Whether a census reference date lies between the totals of 31 Dec ``y0`` and 31 Dec ``y1``.

    >>> crosses_census(2009, 2013), crosses_census(2011, 2013), crosses_census(2010, 2011)
    (True, False, True)
    """
    lo, hi = date(min(y0, y1), 12, 31), date(max(y0, y1), 12, 31)
    return any(lo < c <= hi for c in census)


def upto(frame: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """The rows of ``frame`` dated on or before ``base_year`` (what an honest estimate may see)."""
    return frame[frame["year"].astype(int) <= base_year]


def all_ages(frame: pd.DataFrame) -> pd.Series:
    """True for the rows of all ages (``age_start`` 0, open end)."""
    return (frame["age_start"] == 0) & frame["age_end"].isna()


def rogers_castro(ages: npt.ArrayLike = AGES, params: Mapping[str, float] = RC_STANDARD) -> Array:
    """Rogers-Castro model schedule (7 parameters), normalised to sum 1 over ``ages``.

    ``M(x) = a1 exp(-alpha1 x) + a2 exp(-alpha2 (x - mu2) - exp(-lambda2 (x - mu2))) + c``

    >>> p = rogers_castro()
    >>> round(float(p.sum()), 12), int(np.argmax(p[15:])) + 15
    (1.0, 23)
    """
    x = np.asarray(ages, dtype=np.float64)
    p = params
    m = (
        p["a1"] * np.exp(-p["alpha1"] * x)
        + p["a2"] * np.exp(-p["alpha2"] * (x - p["mu2"]) - np.exp(-p["lambda2"] * (x - p["mu2"])))
        + p["c"]
    )
    out: Array = m / m.sum()
    return out


def kreis_events(frame: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Yearly all-ages event totals per 5-digit zone, years ``<= base``: zone, year, value."""
    e = upto(frame[frame["zone"].str.len() == 5], base_year)
    e = e[all_ages(e) & e["value"].notna()]
    tot = e[e["sex"] == "t"]
    by_sex = e[e["sex"].isin(SEXES)].groupby(["zone", "year"], as_index=False)["value"].sum()
    both = pd.concat([tot[["zone", "year", "value"]], by_sex]).drop_duplicates(["zone", "year"])
    return both.reset_index(drop=True)

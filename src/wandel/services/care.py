"""Pflege: age-sex Pflegequoten scaled to a Kreis's Pflegestatistik, optionally with a rates trend.

The catalogue's Pflegequoten (people needing care per person, by age group and sex; GBE-Bund 2021)
give the *shape* by age; the Pflegestatistik of the Kreis (table ``care``: people needing care by
sex and type of care, 31.12.) gives the *level*. For a Kreis ``k``, sex ``s``, type ``c`` and a
calibration year ``y``::

    expected(k, s, y) = sum_a rate(a, s) * P(k, a, s, y)
    factor(k, s, c)   = observed(k, s, c, y) / expected(k, s, y)

and the demand of a zone ``z`` of ``k`` is ``sum_a min(rate(a, s) * factor(k, s, c), 1) *
P(z, a, s, t)``. So the Kreis reproduces its Pflegestatistik in the calibration year, and the
projection changes it only through the population's age and sex (constant Pflegequoten, as the
Destatis Pflegevorausberechnung's status-quo variant). Types: ``all`` (Pflegebedürftige
insgesamt), ``home_care_service`` (ambulant), ``residential`` (vollstationär),
``care_allowance_only`` (Pflegegeld only); ``all`` is more than the three together (Pflegegrad 1
with other support, teilstationär).

A Kreis without figures (not imported, or suppressed) keeps the national rates (factor 1) and
splits them by the national shares of the types (catalogue ``type_share_*``).

The 2017 Pflegegrade reform widened the definition of need (+19 % 2015 to 2017, largely by
definition): rates and calibration years from before 2017 are never combined with later ones
(:class:`wandel.errors.IncompatibleRatesError`). The "rates trend" continues the change of each
Kreis's factor between its two latest Pflegestatistik years from 2017 on, linearly, until a year
the user sets (Destatis' second variant lets the rise of the rates go on, damped, until 2027), and
keeps it constant afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from wandel import i18n
from wandel.errors import IncompatibleRatesError

__all__ = [
    "CARE_MEASURES",
    "CARE_TYPES",
    "REFORM_YEAR",
    "CareCalibration",
    "calibrate_care",
    "calibration_years",
    "factor_path",
]

Array = npt.NDArray[np.float64]

REFORM_YEAR = 2017
"""First year of the Pflegegrade (PSG II, in force 1.1.2017): earlier figures are not comparable."""

CARE_TYPES: tuple[str, ...] = ("all", "home_care_service", "residential", "care_allowance_only")
"""The Pflegestatistik types (table ``care``, column ``care_type``) Wandel projects."""

CARE_MEASURES: dict[str, str] = {
    "all": "people_in_need",
    "home_care_service": "home_care",
    "residential": "residential",
    "care_allowance_only": "care_allowance",
}
"""Measure name of each care type in the service results."""


def same_side(a: int, b: int) -> bool:
    """True if years ``a`` and ``b`` lie on the same side of the 2017 reform.

    >>> same_side(2019, 2021), same_side(2015, 2019)
    (True, False)
    """
    return (a >= REFORM_YEAR) == (b >= REFORM_YEAR)


def calibration_years(
    care: pd.DataFrame, start_year: int, rate_year: int, trend: bool
) -> tuple[int, ...]:
    """The Pflegestatistik years to calibrate on: the latest ``<= start_year`` on the rates' side of
    the reform, and with ``trend`` the one before it as well.

    Raises
    ------
    IncompatibleRatesError
        The only years at hand lie across the reform from the rates, or a trend would span it.

    >>> c = pd.DataFrame({"year": [2015, 2017, 2019]})
    >>> calibration_years(c, 2019, 2021, False), calibration_years(c, 2019, 2021, True)
    ((2019,), (2017, 2019))
    """
    have = sorted({int(y) for y in care["year"]} if not care.empty else set())
    usable = [y for y in have if y <= start_year]
    if not usable:
        return ()
    latest = usable[-1]
    if not same_side(latest, rate_year):
        raise IncompatibleRatesError(
            "@services.error.reform", rate_year=rate_year, start=start_year, latest=latest
        )
    if not trend:
        return (latest,)
    if len(usable) < 2 or not same_side(usable[-2], latest):
        earlier = usable[-2] if len(usable) >= 2 else None
        if earlier is None:
            raise IncompatibleRatesError("@services.error.trend_years")
        raise IncompatibleRatesError("@services.error.trend_before_reform", year=earlier)
    return (usable[-2], latest)


@dataclass(frozen=True, eq=False)
class CareCalibration:
    """Factors per Kreis, calibration year, sex and care type; notes on the fallbacks used.

    ``factors`` has columns ``kreis, year, sex, care_type, observed, expected, factor, basis``
    (``basis``: ``kreis`` where the Kreis's Pflegestatistik was used, ``national`` where not).
    """

    factors: pd.DataFrame
    years: tuple[int, ...]
    notes: tuple[str, ...] = ()


def calibrate_care(
    care: pd.DataFrame,
    kreis_population: Mapping[int, xr.DataArray],
    rate_for: Callable[[str, int], Array],
    national_share: Callable[[str, str], Array],
    years: Sequence[int],
    kreise: Sequence[str],
) -> CareCalibration:
    """Factors of every Kreis in ``kreise`` for the calibration ``years``.

    Parameters
    ----------
    care
        The store's ``care`` table (zone, year, sex, care_type, value).
    kreis_population
        Year -> population of the Kreise (dims ``zone, sex, age``; single ages 0..100).
    rate_for
        ``(kreis, year) -> (2, 101)`` Pflegequoten by sex and single age.
    national_share
        ``(kreis, care_type) -> (2,)`` share of the type by sex (the fallback split).
    years, kreise
        Calibration years (:func:`calibration_years`) and the Kreise to calibrate.

    Examples
    --------
    A Kreis of 1,000 men and 1,000 women aged 80 at a rate of 0.2 and 0.3 expects 200 and 300;
    the Pflegestatistik counts 220 and 330, so the factor is 1.1 for both:

    >>> pop = xr.DataArray(np.zeros((1, 2, 101)), dims=("zone", "sex", "age"),
    ...                    coords={"zone": ["15087"], "sex": ["m", "f"], "age": np.arange(101)})
    >>> pop.loc[:, :, 80] = 1000.0
    >>> rates = np.zeros((2, 101)); rates[0, 80], rates[1, 80] = 0.2, 0.3
    >>> care = pd.DataFrame({"zone": "15087", "year": 2019, "sex": ["m", "f"],
    ...                      "care_type": "all", "value": [220.0, 330.0]})
    >>> cal = calibrate_care(care, {2019: pop}, lambda k, y: rates,
    ...                      lambda k, c: np.array([1.0, 1.0]), [2019], ["15087"])
    >>> cal.factors.query("care_type == 'all'")["factor"].round(6).tolist()
    [1.1, 1.1]
    """
    obs = care[care["care_type"].isin(CARE_TYPES) & care["sex"].isin(["m", "f"])]
    obs = obs.set_index(["zone", "year", "sex", "care_type"])["value"]
    rows: list[dict[str, object]] = []
    fallback: list[str] = []
    for y in years:
        pop = kreis_population[int(y)]
        for k in kreise:
            p = pop.sel(zone=k).transpose("sex", "age").values
            exp = (rate_for(k, int(y)) * p).sum(axis=1)
            for si, s in enumerate(("m", "f")):
                total = obs.get((k, int(y), s, "all"), np.nan)
                for c in CARE_TYPES:
                    o = obs.get((k, int(y), s, c), np.nan)
                    kreis_ok = bool(np.isfinite(o) and np.isfinite(total) and exp[si] > 0)
                    if kreis_ok:
                        f = float(o) / float(exp[si])
                    else:
                        f = 1.0 if c == "all" else float(national_share(k, c)[si])
                    rows.append(
                        {
                            "kreis": k,
                            "year": int(y),
                            "sex": s,
                            "care_type": c,
                            "observed": float(o) if np.isfinite(o) else np.nan,
                            "expected": float(exp[si]),
                            "factor": f,
                            "basis": "kreis" if kreis_ok else "national",
                        }
                    )
                    if not kreis_ok and c == "all":
                        fallback.append(f"{k} {y}")
    notes: tuple[str, ...] = ()
    if fallback:
        shown = ", ".join(sorted(set(fallback))[:8])
        notes = (i18n.note("services.note.care_fallback", where=shown),)
    return CareCalibration(pd.DataFrame(rows), tuple(int(y) for y in years), notes)


def factor_path(
    cal: CareCalibration,
    zones: Sequence[str],
    years: Sequence[int],
    trend_until: npt.ArrayLike | None = None,
) -> Array:
    """Factors ``[year, zone, sex, type]`` of every zone (by its Kreis) over the projected years.

    Without a trend: the factors of the latest calibration year. With ``trend_until`` (``[year,
    zone]``, the last year of the trend per zone): ``f(t) = f2 + (f2 - f1) / (y2 - y1) *
    (min(t, until) - y2)`` for ``t > y2``, at least 0, from the two calibration years ``y1 < y2``.

    >>> cal = CareCalibration(pd.DataFrame({"kreis": "15087", "year": [2017, 2019], "sex": "m",
    ...     "care_type": "all", "factor": [1.0, 1.1]}), (2017, 2019))
    >>> p = factor_path(cal, ["15087220"], [2019, 2020, 2021, 2022], np.full((4, 1), 2021))
    >>> p[:, 0, 0, 0].round(3).tolist()
    [1.1, 1.15, 1.2, 1.2]
    """
    f = cal.factors.pivot_table(
        index=["kreis", "sex", "care_type"], columns="year", values="factor"
    )
    ys = sorted(int(y) for y in f.columns)
    known = sorted({str(k) for k in f.index.get_level_values(0)})
    pos = {k: i for i, k in enumerate(known)}
    table = np.full((len(known) + 1, 2, len(CARE_TYPES), len(ys)), np.nan)
    sexes = {"m": 0, "f": 1}
    types = {c: i for i, c in enumerate(CARE_TYPES)}
    for (k, s, c), row in f.iterrows():
        table[pos[str(k)], sexes[str(s)], types[str(c)]] = row.to_numpy(dtype=np.float64)
    kidx = np.array([pos.get(z[:5], len(known)) for z in zones], dtype=np.intp)
    f2 = table[kidx, ..., -1]  # (Z, 2, C)
    out = np.broadcast_to(f2, (len(years), *f2.shape)).copy()
    if trend_until is not None and len(ys) >= 2:
        y1, y2 = ys[-2], ys[-1]
        f1 = table[kidx, ..., -2]
        t = np.asarray(years, dtype=np.float64)[:, None]
        until = np.asarray(trend_until, dtype=np.float64)
        step = (np.minimum(t, until) - y2).clip(min=0.0)  # (T, Z)
        out = np.maximum(f2 + (f2 - f1) / (y2 - y1) * step[:, :, None, None], 0.0)
    return np.asarray(out, dtype=np.float64)

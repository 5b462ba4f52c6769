"""Estimates Wandel makes where the offices publish nothing, always marked ``estimated=True``.

Gemeinde age structures: the GV-ISys gives each Gemeinde's population by sex but no ages. Wandel spreads
each sex total over the age groups of the Gemeinde's Kreis (its share of each age group within that sex)
in the nearest year for which the Kreis structure is known (ties go to the earlier year). The estimate
sums exactly to the published Gemeinde totals by sex:

.. math:: \\hat P_{g,s,a} = P_{g,s} \\cdot \\frac{P_{k(g),s,a}}{\\sum_{a'} P_{k(g),s,a'}}
"""

from __future__ import annotations

import pandas as pd

__all__ = ["estimate_gemeinde_structure"]


def _shares(kreis: pd.DataFrame) -> pd.DataFrame:
    parts = kreis[~((kreis["age_start"] == 0) & kreis["age_end"].isna())]
    parts = parts[parts["sex"].isin(["m", "f"]) & parts["value"].notna()]
    tot = parts.groupby(["zone", "year", "sex"])["value"].transform("sum")
    return parts.assign(share=parts["value"] / tot)[
        ["zone", "year", "sex", "age_start", "age_end", "share"]
    ]


def estimate_gemeinde_structure(
    gemeinde_totals: pd.DataFrame, kreis_structure: pd.DataFrame
) -> pd.DataFrame:
    """Estimate Gemeinde population by sex and age from Gemeinde totals and Kreis structures.

    Parameters
    ----------
    gemeinde_totals
        Canonical population rows of Gemeinden (8-digit zones) with sex ``m``/``f`` and all ages
        (``age_start=0``, ``age_end`` missing).
    kreis_structure
        Canonical population rows of Kreise (5-digit zones) by sex and age group, any years.

    Returns
    -------
    DataFrame
        Canonical population rows with ``estimated=True`` and ``flag="s"``; Gemeinden whose Kreis has
        no structure in any year are left out.

    Examples
    --------
    >>> g = pd.DataFrame({"zone": ["15087220"] * 2, "year": [2019] * 2, "sex": ["m", "f"],
    ...                   "age_start": [0, 0], "age_end": pd.array([None, None], dtype="Int64"),
    ...                   "value": [100.0, 120.0]})
    >>> k = pd.DataFrame({"zone": ["15087"] * 4, "year": [2020] * 4, "sex": ["m", "m", "f", "f"],
    ...                   "age_start": [0, 65, 0, 65],
    ...                   "age_end": pd.array([65, None, 65, None], dtype="Int64"),
    ...                   "value": [700.0, 300.0, 600.0, 400.0]})
    >>> estimate_gemeinde_structure(g, k)[["sex", "age_start", "value"]].to_dict("list")
    {'sex': ['f', 'f', 'm', 'm'], 'age_start': [0, 65, 0, 65], 'value': [72.0, 48.0, 70.0, 30.0]}
    """
    shares = _shares(kreis_structure[kreis_structure["zone"].str.len() == 5])
    tot = gemeinde_totals[
        (gemeinde_totals["age_start"] == 0)
        & gemeinde_totals["age_end"].isna()
        & gemeinde_totals["sex"].isin(["m", "f"])
        & gemeinde_totals["value"].notna()
    ].copy()
    tot["kreis"] = tot["zone"].str[:5]
    years = (
        shares[["zone", "year"]].drop_duplicates().rename(columns={"zone": "kreis", "year": "sy"})
    )
    cand = tot[["kreis", "year"]].drop_duplicates().merge(years, on="kreis")
    cand["dist"] = (cand["sy"] - cand["year"]).abs()
    cand = cand.sort_values(["kreis", "year", "dist", "sy"]).drop_duplicates(["kreis", "year"])
    tot = tot.merge(cand[["kreis", "year", "sy"]], on=["kreis", "year"])
    est = tot[["zone", "year", "sex", "value", "kreis", "sy"]].merge(
        shares.rename(columns={"zone": "kreis", "year": "sy"}), on=["kreis", "sy", "sex"]
    )
    est["value"] = est["value"] * est["share"]
    out = est[["zone", "year", "sex", "age_start", "age_end", "value"]].copy()
    out["status"] = None
    out["flag"] = "s"
    out["estimated"] = True
    out = out.sort_values(["zone", "year", "sex", "age_start"]).reset_index(drop=True)
    return out

"""The built-in indicator functions (registered by name for the catalogue).

Every function takes :class:`~wandel.compare.inputs.IndicatorInputs` (and the catalogue entry's
``params``) and returns ``zone, year, value, estimated`` (``base_year`` for changes). Definitions:

* **median age**: the age that halves the population, interpolated linearly inside its age group,
  ``L + (N/2 - C) / f * w`` (``L`` start, ``w`` width, ``f`` persons of the group, ``C`` persons below).
* **youth and old-age ratio** (Jugend- und Altenquotient, Destatis definition): persons under 20
  resp. 65 and older per 100 persons aged 20-64; their sum is the total dependency ratio.
* **shares** of the functional age groups (Wegweiser Kommune: 0-2, 3-5, 6-9, 10-15, 16-18, 19-24,
  25-44, 45-64, 65-79, 80+) and of 65+, as fractions of the population.
* **sex ratio 20-34**: men per 100 women aged 20-34.
* **natural balance**: ``(births - deaths) / population * 1000`` of one year (population of 31 Dec).
* **net migration** by age: ``(in - out) / persons of those ages * 1000`` over the zone's border, for
  all ages, the Bildungswanderer (18-24), career starters (25-29), families (under 18 and 30-49),
  50-64 and the retirement ages (65+); a Land's balance is the sum of its Kreise's (moves between its
  Kreise cancel).
* **TFR** by indirect standardisation: ``TFR_DE * B / sum_a W_a f_DE(a)`` with the zone's births
  ``B``, its women ``W_a`` and Germany's age-specific rates ``f_DE`` of the same year (an estimate:
  the zone's fertility is taken to have Germany's age pattern). Germany's own TFR is the published one.
* **e0** by indirect standardisation: the standardised mortality ratio ``SMR = D / sum P m_DE``
  (deaths of both sexes over the deaths Germany's period life table would give), then Germany's
  ``m(x)`` times ``SMR`` in a full life table per sex. Germany's own e0 is the published one.
* **population change**: ``((P_1 / P_0)^(1 / (y_1 - y_0)) - 1) * 100`` percent a year, Gemeinden on
  the territorial status of ``y_1``, ``y_0`` the earliest year within ten years with no census between.
* **projected change**: ``(P_T / P_base - 1) * 100`` from a projection run (``extra["projection"]``);
  Kreise and Länder without their own projection sum their Gemeinden where all are projected.

References: Destatis, Glossar "Jugendquotient/Altenquotient"; Bertelsmann Stiftung, Wegweiser
Kommune, functional age groups; Preston, Heuveline & Guillot (2001), *Demography*, ch. 2 and 3
(median of grouped data, life table) and the indirect standardisation of rates (ch. 1.9).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.compare.catalogue import indicator_function
from wandel.compare.inputs import OPEN_END, IndicatorInputs, age_sum, level_of_zone, pick_years
from wandel.demography.lifetable import life_table_from_qx
from wandel.demography.rates import (
    crosses_census,
    german_asfr,
    german_qx,
    mx_scaled,
    period_end_year,
)
from wandel.regions.harmonise import harmonise_population

__all__ = [
    "FUNCTIONAL_AGE_GROUPS",
    "dependency_ratio",
    "e0_years",
    "functional_age_groups",
    "group_rates",
    "median_age",
    "median_of_groups",
    "natural_balance",
    "net_migration_rate",
    "population",
    "population_change",
    "projected_change",
    "sex_ratio",
    "share_age",
    "tfr",
]

_OUT = ["zone", "year", "value", "estimated"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"zone": [], "year": [], "value": [], "estimated": []})


# ---------------------------------------------------------------------------------------------
# age structure


def median_of_groups(starts: np.ndarray, ends: np.ndarray, counts: np.ndarray) -> float:
    """Median age of grouped counts, linear inside the median group (an open group ends at 100).

    >>> round(median_of_groups(np.array([0, 20, 65]), np.array([20, 65, np.nan]),
    ...                        np.array([20.0, 70.0, 40.0])), 2)  # 20 + (65 - 20) / 70 * 45
    48.93
    """
    e = np.where(np.isnan(ends), np.maximum(float(OPEN_END), starts + 5.0), ends)
    cum = np.cumsum(counts)
    half = cum[-1] / 2.0
    i = int(np.searchsorted(cum, half))
    below = cum[i - 1] if i > 0 else 0.0
    return float(starts[i] + (half - below) / counts[i] * (e[i] - starts[i]))


@indicator_function("median_age")
def median_age(inputs: IndicatorInputs) -> pd.DataFrame:
    """Median age per zone (see :func:`median_of_groups`; the same formula, all zones at once)."""
    s = inputs.structure
    g = s.groupby(["zone", "year", "age_start"], as_index=False, dropna=False).agg(
        age_end=("age_end", "first"), value=("value", "sum"), estimated=("estimated", "any")
    )
    g = g[g.groupby("zone")["value"].transform("sum") > 0]  # nobody lives there: no median
    if g.empty:
        return _empty()
    g = g.sort_values(["zone", "age_start"]).reset_index(drop=True)
    cum = g.groupby("zone")["value"].cumsum()
    half = g.groupby("zone")["value"].transform("sum") / 2.0
    first = (cum >= half).groupby(g["zone"]).idxmax()  # the median group of each zone
    r = g.loc[first.to_numpy()]
    a = r["age_start"].to_numpy(dtype=float)
    e = _ends(r)
    e = np.where(np.isnan(e), np.maximum(float(OPEN_END), a + 5.0), e)
    below = cum.loc[first.to_numpy()].to_numpy() - r["value"].to_numpy()
    h = half.loc[first.to_numpy()].to_numpy()
    med = a + (h - below) / r["value"].to_numpy() * (e - a)
    est = g.groupby("zone")["estimated"].any().loc[r["zone"]].to_numpy()
    return pd.DataFrame({"zone": r["zone"].to_numpy(), "year": r["year"].to_numpy(),
                         "value": med, "estimated": est})  # fmt: skip


FUNCTIONAL_AGE_GROUPS: tuple[tuple[int, int | None], ...] = (
    (0, 3), (3, 6), (6, 10), (10, 16), (16, 19), (19, 25), (25, 45), (45, 65), (65, 80), (80, None),
)  # fmt: skip
"""The functional age groups of planners (Wegweiser Kommune): 0-2 (Krippe), 3-5 (Kita), 6-9
(Grundschule), 10-15 (Sek I), 16-18 (Sek II), 19-24 (training, study), 25-44 and 45-64 (working
age), 65-79 (young old), 80+ (very old), as half-open ``[start, end)``."""


def functional_age_groups(inputs: IndicatorInputs) -> pd.DataFrame:
    """Persons and shares of the :data:`FUNCTIONAL_AGE_GROUPS` per zone and sex (``m``, ``f`` or
    ``t``) in its reference year: ``zone, year, sex, age_start, age_end, persons, share,
    estimated``."""
    s = inputs.structure
    total = age_sum(s, 0, None, by=("zone", "sex"))[["zone", "sex", "value"]]
    parts = []
    for lo, hi in FUNCTIONAL_AGE_GROUPS:
        g = age_sum(s, lo, hi, by=("zone", "sex")).merge(
            total, on=["zone", "sex"], suffixes=("", "_t")
        )
        parts.append(
            pd.DataFrame(
                {
                    "zone": g["zone"],
                    "year": g["year"],
                    "sex": g["sex"],
                    "age_start": lo,
                    "age_end": pd.array([hi] * len(g), dtype="Int64"),
                    "persons": g["value"],
                    "share": g["value"] / g["value_t"].where(g["value_t"] > 0),
                    "estimated": g["estimated"],
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["zone", "sex", "age_start"]).reset_index(drop=True)


def _ratio(num: pd.DataFrame, den: pd.DataFrame, scale: float) -> pd.DataFrame:
    m = num.merge(den, on=["zone", "year"], suffixes=("_n", "_d"))
    m = m[m["value_d"] > 0]
    return pd.DataFrame(
        {
            "zone": m["zone"],
            "year": m["year"],
            "value": m["value_n"] / m["value_d"] * scale,
            "estimated": m["estimated_n"] | m["estimated_d"],
        }
    )


def _total(s: pd.DataFrame) -> pd.DataFrame:
    return age_sum(s, 0, None)


@indicator_function("share_age")
def share_age(inputs: IndicatorInputs, age_start: int, age_end: int | None) -> pd.DataFrame:
    """Share of the population aged ``[age_start, age_end)`` (a fraction in [0, 1])."""
    s = inputs.structure
    return _ratio(age_sum(s, age_start, age_end), _total(s), 1.0)


@indicator_function("dependency_ratio")
def dependency_ratio(inputs: IndicatorInputs, age_start: int, age_end: int | None) -> pd.DataFrame:
    """Persons aged ``[age_start, age_end)`` per 100 persons aged 20-64."""
    s = inputs.structure
    return _ratio(age_sum(s, age_start, age_end), age_sum(s, 20, 65), 100.0)


@indicator_function("sex_ratio")
def sex_ratio(inputs: IndicatorInputs, age_start: int, age_end: int) -> pd.DataFrame:
    """Men per 100 women aged ``[age_start, age_end)``."""
    s = inputs.structure_by_sex
    men = age_sum(s[s["sex"] == "m"], age_start, age_end)
    women = age_sum(s[s["sex"] == "f"], age_start, age_end)
    return _ratio(men, women, 100.0)


# ---------------------------------------------------------------------------------------------
# size and change


@indicator_function("population")
def population(inputs: IndicatorInputs) -> pd.DataFrame:
    """Population on 31 December of the reference year (published totals first)."""
    tot = inputs.totals
    years = pick_years(tot)
    return tot[tot["year"] == tot["zone"].map(years)][_OUT].reset_index(drop=True)


@indicator_function("density")
def density(inputs: IndicatorInputs) -> pd.DataFrame:
    """Inhabitants per km² (area of the Gemeindeverzeichnis nearest the population year)."""
    pop = population(inputs)
    gv = inputs.gv_records
    area = gv.loc[gv["area_km2"] > 0, ["zone", "year", "area_km2"]].astype({"year": int})
    m = pop.merge(area, on="zone", suffixes=("", "_gv"))
    m = m.assign(gap=(m["year"] - m["year_gv"]).abs()).sort_values(["zone", "gap", "year_gv"])
    m = m.drop_duplicates("zone")
    return pd.DataFrame(
        {
            "zone": m["zone"],
            "year": m["year"],
            "value": m["value"] / m["area_km2"],
            "estimated": m["estimated"],
        }
    )


def _harmonised_totals(inputs: IndicatorInputs, years: pd.Series) -> pd.DataFrame:
    tot = inputs.totals
    gem = inputs.gemeinde_totals  # dissolved Gemeinden too: they move into today's
    if gem.empty or inputs.zone_changes.empty:
        return tot
    target = int(years[[level_of_zone(z) == "gemeinde" for z in years.index]].mode().max())
    canon = pd.DataFrame(
        {
            "zone": gem["zone"],
            "year": gem["year"],
            "sex": "t",
            "age_start": 0,
            "age_end": pd.array([None] * len(gem), dtype="Int64"),
            "value": gem["value"],
        }
    )
    harm = harmonise_population(canon, inputs.zone_changes, target)
    harm = harm[harm["zone"].isin(set(inputs.zone_list["zone"]))]
    harm = harm.assign(estimated=False)[["zone", "year", "value", "estimated"]]
    return pd.concat([tot[tot["zone"].map(level_of_zone) != "gemeinde"], harm], ignore_index=True)


@indicator_function("population_change")
def population_change(
    inputs: IndicatorInputs, max_span: int = 10, min_span: int = 3
) -> pd.DataFrame:
    """Average yearly change in percent between two census-free totals (Gemeinden harmonised)."""
    years = pick_years(inputs.totals)
    tot = _harmonised_totals(inputs, years)
    tot = tot.groupby(["zone", "year"], as_index=False)["value"].sum()
    tot = tot.assign(y1=tot["zone"].map(years))
    end = tot[tot["year"] == tot["y1"]]
    span = tot["y1"] - tot["year"]
    cand = tot[(span >= min_span) & (span <= max_span)]
    clean = {
        (a, b): not crosses_census(int(a), int(b))
        for a, b in set(zip(cand["year"], cand["y1"], strict=True))
    }
    cand = cand[[clean[(a, b)] for a, b in zip(cand["year"], cand["y1"], strict=True)]]
    start = cand.sort_values(["zone", "year"]).drop_duplicates("zone")  # the earliest clean year
    m = end.merge(start, on="zone", suffixes=("", "_0"))
    m = m[m["value_0"] > 0]
    rate = ((m["value"] / m["value_0"]) ** (1.0 / (m["year"] - m["year_0"])) - 1.0) * 100.0
    split: set[str] = set()
    ch = inputs.zone_changes
    if not ch.empty:
        split = set(ch.loc[ch["weight"] < 1, "to_zone"].astype(str))
    return pd.DataFrame(
        {
            "zone": m["zone"],
            "year": m["year"].astype(int),
            "base_year": m["year_0"].astype(int),
            "value": rate,
            "estimated": m["zone"].isin(split),
        }
    )


@indicator_function("projected_change")
def projected_change(inputs: IndicatorInputs, target_year: int) -> pd.DataFrame:
    """Projected change in percent from the projection's base year to ``target_year``."""
    proj = inputs.table("projection")
    tot = proj.groupby(["zone", "year"], as_index=False)["value"].sum()
    tot = tot.assign(zone=tot["zone"].astype(str), year=tot["year"].astype(int))
    tot = _aggregate_up(inputs, tot)
    base = tot.groupby("zone")["year"].transform("min")
    start = tot[tot["year"] == base].set_index("zone")
    end = tot[tot["year"] == target_year].set_index("zone")
    zones = end.index.intersection(start.index)
    # a projection rests on estimates where its base age structure was estimated (or, for a sum,
    # that of one of its Gemeinden)
    pop = inputs.population
    est_pop = pop[pop["estimated"] & pop["year"].isin(set(start["year"]))]
    est_zones = set(est_pop["zone"].astype(str))
    prefixes = est_zones | {g[:5] for g in est_zones} | {g[:2] for g in est_zones}
    est = [z in prefixes for z in zones]
    return pd.DataFrame(
        {
            "zone": zones,
            "year": target_year,
            "base_year": start.loc[zones, "year"].to_numpy(),
            "value": (end.loc[zones, "value"] / start.loc[zones, "value"] - 1.0).to_numpy() * 100,
            "estimated": est,
        }
    )


# ---------------------------------------------------------------------------------------------
# events


def _event_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """All-ages yearly totals ``zone, year, value`` (sex ``t``, else ``m + f``)."""
    e = frame[(frame["age_start"] == 0) & frame["age_end"].isna() & frame["value"].notna()]
    e = e.assign(zone=e["zone"].astype(str), year=e["year"].astype(int))
    t = e.loc[e["sex"] == "t", ["zone", "year", "value"]]
    mf = e[e["sex"].isin(["m", "f"])].groupby(["zone", "year"], as_index=False)["value"].sum()
    return pd.concat([t, mf]).drop_duplicates(["zone", "year"]).reset_index(drop=True)


def _aggregate_up(inputs: IndicatorInputs, values: pd.DataFrame) -> pd.DataFrame:
    """Add Kreis and Land sums of ``zone, year, value`` where every member zone has a value.

    Members come from :attr:`IndicatorInputs.zone_list` (Gemeinden of a Kreis, Kreise of a Land);
    a zone with its own value keeps it.
    """
    zl = inputs.zone_list
    out = values
    for child, parent_len in (("gemeinde", 5), ("kreis", 2)):
        members = zl.loc[zl["level"] == child, "zone"]
        if members.empty:
            continue
        need = members.str[:parent_len].value_counts()
        have = out[out["zone"].isin(set(members))]
        if have.empty:
            continue
        have = have.assign(parent=have["zone"].str[:parent_len])
        g = have.groupby(["parent", "year"])
        agg = g["value"].sum().to_frame("value")
        agg["n"] = g["zone"].nunique()
        agg = agg.reset_index()
        agg = agg[agg["n"] == agg["parent"].map(need)]
        own = set(zip(out["zone"], out["year"], strict=True))
        agg = agg[[(p, y) not in own for p, y in zip(agg["parent"], agg["year"], strict=True)]]
        add = agg.rename(columns={"parent": "zone"})[["zone", "year", "value"]]
        out = pd.concat([out, add], ignore_index=True)
    return out


@indicator_function("natural_balance")
def natural_balance(inputs: IndicatorInputs) -> pd.DataFrame:
    """Births minus deaths per 1000 inhabitants (31 Dec) of the latest year with all three."""
    b = _aggregate_up(inputs, _event_totals(inputs.births))
    d = _aggregate_up(inputs, _event_totals(inputs.deaths))
    m = b.merge(d, on=["zone", "year"], suffixes=("_b", "_d")).merge(
        inputs.totals, on=["zone", "year"]
    )
    m = m[m["value"] > 0]
    years = pick_years(m)
    m = m[m["year"] == m["zone"].map(years)]
    return pd.DataFrame(
        {
            "zone": m["zone"],
            "year": m["year"],
            "value": (m["value_b"] - m["value_d"]) / m["value"] * 1000.0,
            "estimated": m["estimated"],
        }
    )


def _net_moves(inputs: IndicatorInputs, groups: list[list[int | None]]) -> pd.DataFrame:
    mig = inputs.migration
    mig = mig[(mig["partner"].fillna("") == "") & mig["value"].notna()]
    sign = np.where(mig["direction"] == "in", 1.0, -1.0)
    mig = mig.assign(net=mig["value"].to_numpy(float) * sign, zone=mig["zone"].astype(str))
    mig = mig[mig["sex"].isin(["m", "f", "t"])]
    if (mig["sex"] != "t").any():
        mig = mig[mig["sex"] != "t"]
    parts = []
    for lo, hi in groups:
        rows = mig.assign(estimated=False, value=mig["net"], year=mig["year"].astype(int))
        parts.append(age_sum(rows, int(lo or 0), hi, by=("zone", "year")))
    net = pd.concat(parts).groupby(["zone", "year"], as_index=False)["value"].sum()
    return _aggregate_up(inputs, net)


@indicator_function("net_migration_rate")
def net_migration_rate(inputs: IndicatorInputs, groups: list[list[int | None]]) -> pd.DataFrame:
    """Net moves of the ages ``groups`` (list of ``[start, end]``, end None = open) per 1000
    persons of those ages, in the year of the zone's age structure."""
    net = _net_moves(inputs, groups)
    s = inputs.structure
    den = pd.concat([age_sum(s, int(lo or 0), hi) for lo, hi in groups])
    den = den.groupby(["zone", "year"], as_index=False).agg(
        value=("value", "sum"), estimated=("estimated", "any")
    )
    m = net.merge(den, on=["zone", "year"], suffixes=("_n", ""))
    m = m[m["value"] > 0]
    return pd.DataFrame(
        {
            "zone": m["zone"],
            "year": m["year"],
            "value": m["value_n"] / m["value"] * 1000.0,
            "estimated": m["estimated"],
        }
    )


def group_rates(
    starts: np.ndarray, ends: np.ndarray, rate: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Mean of single-age ``rate`` (ages 0..len-1) over each group ``[start, end)``, weighted.

    An open group (``end`` NaN) runs to the last age. With ``weight = L(x)`` of a life table and
    ``rate = m(x)`` this is the group's death rate in the stationary population.

    >>> group_rates(np.array([0, 2]), np.array([2, np.nan]), np.array([1.0, 3.0, 5.0, 7.0]),
    ...             np.ones(4)).tolist()
    [2.0, 6.0]
    """
    n = len(rate)
    out = np.empty(len(starts))
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        hi = n if np.isnan(b) else min(int(b), n)
        lo = min(int(a), n - 1)
        w = weight[lo:hi]
        out[i] = float(np.sum(rate[lo:hi] * w) / np.sum(w)) if np.sum(w) > 0 else 0.0
    return out


def _ends(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    ends: npt.NDArray[np.float64] = (
        frame["age_end"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    )
    return ends


@indicator_function("tfr")
def tfr(inputs: IndicatorInputs) -> pd.DataFrame:
    """Total fertility rate: Germany's published, other zones by indirect standardisation."""
    rows = []
    f = inputs.fertility
    pub = f[(f["measure"] == "tfr") & (f["category"].fillna("") == "") & f["value"].notna()]
    for zone, grp in pub.groupby("zone"):
        latest = grp[grp["year"] == grp["year"].max()].sort_values("age_end")
        rows.append(
            (str(zone), int(latest["year"].iloc[-1]), float(latest["value"].iloc[-1]), False)
        )
    births = _aggregate_up(inputs, _event_totals(inputs.births)).set_index(["zone", "year"])
    women = inputs.structure_by_sex
    women = women[women["sex"] == "f"]
    done = {r[0] for r in rows}
    keys = pd.MultiIndex.from_frame(women[["zone", "year"]])
    women = women[keys.isin(births.index) & ~women["zone"].isin(done)]
    schedules = {}
    for year in sorted(women["year"].unique()):
        try:
            schedules[int(year)] = german_asfr(inputs.fertility, int(year))[1]
        except ValueError:
            continue
    for (zone, year), grp in women.groupby(["zone", "year"], sort=True):
        b = births.loc[[(zone, year)]]
        if int(year) not in schedules:
            continue
        asfr = schedules[int(year)]
        # persons spread evenly over a group's ages: expected births = persons x mean rate
        rate = group_rates(grp["age_start"].to_numpy(float), _ends(grp), asfr, np.ones(len(asfr)))
        expected = float(np.sum(grp["value"].to_numpy() * rate))
        if expected > 0:
            rows.append((zone, int(year), float(asfr.sum() * b["value"].iloc[0] / expected), True))
    return pd.DataFrame(rows, columns=_OUT) if rows else _empty()


@indicator_function("e0")
def e0_years(inputs: IndicatorInputs, sex: str) -> pd.DataFrame:
    """Life expectancy at birth of ``sex``: Germany's published, other zones via their SMR."""
    rows = []
    lt = inputs.life_tables
    sx = 0 if sex == "m" else 1
    dg = lt[(lt["zone"] == "DG") & (lt["sex"] == sex) & (lt["age"] == 0) & lt["ex"].notna()]
    if not dg.empty:
        ends = dg["period"].map(period_end_year)
        last = dg[ends == ends.max()].iloc[0]
        rows.append(("DG", int(ends.max()) - 1, float(last["ex"]), False))
    deaths = _aggregate_up(inputs, _event_totals(inputs.deaths)).set_index(["zone", "year"])
    pop = inputs.structure_by_sex
    keys = pd.MultiIndex.from_frame(pop[["zone", "year"]])
    pop = pop[keys.isin(deaths.index) & (pop["zone"] != "DG")]
    tables = {}
    for year in sorted(pop["year"].unique()):
        try:
            _period, q_de = german_qx(lt, int(year))
        except ValueError:
            continue
        tables[int(year)] = (q_de, life_table_from_qx(q_de))
    for (zone, year), grp in pop.groupby(["zone", "year"], sort=True):
        d = deaths.loc[[(zone, year)]]
        if int(year) not in tables:
            continue
        q_de, table = tables[int(year)]
        expected = 0.0
        for s, code in enumerate(("m", "f")):
            g = grp[grp["sex"] == code]
            m = group_rates(g["age_start"].to_numpy(float), _ends(g), table.mx[s], table.Lx[s])
            expected += float(np.sum(g["value"].to_numpy() * m))
        if expected <= 0:
            continue
        smr = float(d["value"].iloc[0]) / expected
        e0 = life_table_from_qx(mx_scaled(q_de, smr)).e0
        rows.append((zone, int(year), float(e0[sx]), True))
    return pd.DataFrame(rows, columns=_OUT) if rows else _empty()

"""Projection workflow: store -> rates -> scenario -> engine -> canonical long output.

The model steps are pure functions over :class:`StoreTables` (the canonical frames, loaded once by
:func:`load_tables`); only :func:`load_tables` and :func:`project_from_store` touch the store.

1. :func:`build_inputs`: base population and rates for Kreise or Gemeinden at a base year, using only
   data dated on or before it (see :mod:`wandel.demography.rates`).
2. :func:`scenario_rates`: a scenario variant applied to the rates, year by year
   (TFR reached linearly, e0 gain per year by scaling mortality, migration multipliers by age group,
   extra flows with named age-sex profiles).
3. :func:`run`: the engine, deterministic and, with a :class:`StochasticSpec`, with draws
   (sigmas per size class from :func:`calibrated_spec`), optionally controlled to Kreis totals.
4. :func:`to_long`: ``zone, year, sex, age_start, age_end, value`` (the deterministic result) plus
   ``q10, q50, q90`` with draws.

Extra-flow profiles (:data:`FLOW_PROFILES`) are stylised shapes, documented there.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from wandel.demography.engine import Control, Projection, ProjectionRates, StochasticSpec, project
from wandel.demography.engine import quantiles as engine_quantiles
from wandel.demography.engine.distributed import Mapper, builtin_map, project_draws
from wandel.demography.lifetable import OPEN_AGE, life_table_from_qx
from wandel.demography.rates import (
    AGES,
    BasePopulation,
    FertilityRates,
    MigrationRates,
    MissingDataError,
    MortalityRates,
    Persistence,
    base_population,
    estimate_fertility,
    estimate_migration,
    estimate_mortality,
    estimate_srb,
    kreis_net_rates,
    migration_persistence,
    mx_scaled,
    net_migration,
    rogers_castro,
    shrink_net_rates,
    survival_from_qx,
)
from wandel.demography.scenario import AgeFactor, Scenario

__all__ = [
    "FLOW_PROFILES",
    "SIZE_CLASSES",
    "ProjectionInputs",
    "ProjectionResult",
    "StoreTables",
    "build_inputs",
    "calibrated_spec",
    "flow_profile",
    "gemeinde_totals",
    "kreis_totals",
    "load_sigmas",
    "load_tables",
    "project_from_store",
    "run",
    "scenario_rates",
    "size_class",
    "to_long",
    "year_end_totals",
]

Array = npt.NDArray[np.float64]
SEXES = ("m", "f")
SIZE_CLASSES: tuple[str, ...] = ("<5k", "5-20k", "20-100k", ">100k")
"""Size classes of zones by base population (as in the backtests)."""


def size_class(population: float) -> str:
    """Size class of a zone: ``<5k``, ``5-20k``, ``20-100k`` or ``>100k``.

    >>> size_class(4999), size_class(5000), size_class(150_000)
    ('<5k', '5-20k', '>100k')
    """
    if population < 5_000:
        return "<5k"
    if population < 20_000:
        return "5-20k"
    if population < 100_000:
        return "20-100k"
    return ">100k"


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StoreTables:
    """The canonical tables a projection reads (all years; estimators filter by base year)."""

    population: pd.DataFrame
    fertility: pd.DataFrame
    births: pd.DataFrame
    deaths: pd.DataFrame
    life_tables: pd.DataFrame
    migration: pd.DataFrame
    gv_records: pd.DataFrame
    zone_changes: pd.DataFrame

    def until(self, year: int) -> StoreTables:
        """The same tables without any row dated after ``year`` (life tables by period end)."""
        from wandel.demography.rates import period_end_year

        def cut(f: pd.DataFrame) -> pd.DataFrame:
            return f[f["year"].astype(int) <= year]

        lt = self.life_tables
        return StoreTables(
            cut(self.population),
            cut(self.fertility),
            cut(self.births),
            cut(self.deaths),
            lt[lt["period"].map(period_end_year) <= year],
            cut(self.migration),
            cut(self.gv_records),
            self.zone_changes[self.zone_changes["to_year"] <= year],
        )


def load_tables(store: object) -> StoreTables:
    """Read the tables a projection needs from an open :class:`wandel.store.Store`."""
    from wandel.store import Store

    if not isinstance(store, Store):
        raise TypeError("store must be a wandel.store.Store")
    return StoreTables(
        store.population(),
        store.table("fertility"),
        store.table("births"),
        store.table("deaths"),
        store.table("life_tables"),
        store.table("migration"),
        store.table("gv_records"),
        store.zone_changes(),
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


def gemeinde_totals(tables: StoreTables, base_year: int) -> pd.DataFrame:
    """Published Gemeinde totals of years ``<= base``, harmonised to the latest status by sex.

    Rows zone, year, sex, value; the territorial status is that of the latest year ``<= base_year``
    with Gemeinde totals by sex (the Gemeindeverzeichnis years). Totals without a split (sex ``t``,
    e.g. a city's yearly series) are included for the years that have no split
    (:func:`year_end_totals`); projections take their base population from the split totals only.
    """
    from wandel.regions.harmonise import harmonise_population

    g = year_end_totals(tables.population, 8)
    g = g[g["year"].astype(int) <= base_year]
    split = g[g["sex"].isin(SEXES)]
    if split.empty:
        raise MissingDataError(f"no Gemeinde totals at or before {base_year}")
    target = int(split["year"].max())
    g = g[g["year"].astype(int) <= target]
    ch = tables.zone_changes
    ch = ch[ch["to_year"] <= target]
    h = harmonise_population(g, ch, target)
    return h[["zone", "year", "sex", "value"]].reset_index(drop=True)


def kreis_totals(tables: StoreTables, base_year: int) -> pd.DataFrame:
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


def _kreise(tables: StoreTables, base_year: int) -> list[str]:
    gv = tables.gv_records
    gv = gv[gv["level"] == "kreis"]
    years = sorted(int(y) for y in gv["year"].unique())
    if not years:
        raise MissingDataError("no Kreis records in the Gemeindeverzeichnis")
    y = max([y for y in years if y <= base_year] or [years[0]])
    return sorted(gv.loc[gv["year"] == y, "zone"].astype(str))


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProjectionInputs:
    """Base population and rates of one set of zones, estimated from data ``<= base_year``.

    ``start_year`` is the year of the base population (the latest ``<= base_year``); the engine
    projects from it. Gemeinden migrate at their Kreis's rate (``migration``) plus their own
    differential (``differential``: net movers per year at full strength), which fades with the
    estimated ``persistence`` (see :func:`wandel.demography.rates.migration_persistence`).
    """

    base: BasePopulation
    fertility: FertilityRates
    mortality: MortalityRates
    migration: MigrationRates
    srb: float
    srb_years: tuple[int, ...]
    base_year: int
    differential: Mapping[str, float] = field(default_factory=dict)
    persistence: Persistence | None = None

    @property
    def start_year(self) -> int:
        return self.base.year

    @property
    def zones(self) -> list[str]:
        return [str(z) for z in self.base.population["zone"].values]

    def differential_flows(self, until: int) -> xr.DataArray | None:
        """The fading migration differentials as flows (dims ``year, zone, sex, age``), or None.

        Year ``start + j`` carries ``differential * persistence.factor(j)`` movers, spread by the
        standard Rogers-Castro profile, half per sex; negative values remove people (the engine caps
        them by those present).
        """
        pers = self.persistence
        if pers is None or pers.rho <= 0.0 or not any(self.differential.values()):
            return None
        years = np.arange(self.start_year + 1, until + 1)
        fac = np.array([pers.factor(int(y - self.start_year)) for y in years])
        d = np.array([self.differential.get(z, 0.0) for z in self.zones])
        rc = rogers_castro()
        flows = fac[:, None, None, None] * d[None, :, None, None] * (rc / 2.0)[None, None, None, :]
        flows = np.broadcast_to(flows, (len(years), len(d), 2, OPEN_AGE + 1)).copy()
        return xr.DataArray(
            flows,
            dims=("year", "zone", "sex", "age"),
            coords={"year": years, "zone": self.zones, "sex": list(SEXES), "age": AGES},
        )

    def rates(self, until: int | None = None) -> ProjectionRates:
        """The engine's rates; ``until`` (the last projected year) is needed when Gemeinden carry a
        fading differential, which varies by year."""
        extra = None
        if self.persistence is not None and self.persistence.rho > 0.0 and self.differential:
            if until is None:
                raise MissingDataError(
                    "these Gemeinde inputs carry a migration differential that fades over time: "
                    "give rates(until=LAST_YEAR)"
                )
            extra = self.differential_flows(until)
        return ProjectionRates(
            sx=self.mortality.sx,
            birth_survival=self.mortality.birth_survival,
            asfr=self.fertility.asfr,
            out_rate=self.migration.out_rate,
            in_count=self.migration.in_count,
            srb=self.srb,
            extra=extra,
        )

    def notes(self) -> tuple[str, ...]:
        pers = () if self.persistence is None else (self.persistence.note,)
        return (*self.base.notes, *self.migration.notes, *pers)


def _natural_change(
    pop: xr.DataArray, fert: FertilityRates, mort: MortalityRates
) -> dict[str, float]:
    """Births minus deaths per year at the base population's rates (for net migration)."""
    births = (fert.asfr.values * pop.sel(sex="f").values).sum(axis=1)
    deaths = (mort.qx.values * pop.values).sum(axis=(1, 2))
    return dict(zip([str(z) for z in pop["zone"].values], births - deaths, strict=True))


def _benchmarked(diff: Mapping[str, float], pop: Mapping[str, float]) -> dict[str, float]:
    """Differentials (movers per year) shifted per Kreis so that they add up to zero.

    ``d'_g = d_g - P_g sum_h d_h / sum_h P_h`` over the Gemeinden ``h`` of the Kreis of ``g``.

    >>> _benchmarked({"15087001": 30.0, "15087002": -10.0}, {"15087001": 1000.0, "15087002": 3000.0})
    {'15087001': 25.0, '15087002': -25.0}
    """
    frame = pd.DataFrame({"d": pd.Series(diff), "p": pd.Series({z: pop[z] for z in diff})})
    k = frame.index.str[:5]
    mean = frame["d"].groupby(k).transform("sum") / frame["p"].groupby(k).transform("sum")
    out = frame["d"] - frame["p"] * mean
    return {str(z): float(v) for z, v in out.items()}


def build_inputs(
    tables: StoreTables,
    zones: Sequence[str],
    base_year: int,
    totals: pd.DataFrame | None = None,
) -> ProjectionInputs:
    """Base population and rates for Kreise or Gemeinden, using only data ``<= base_year``.

    ``totals`` (Gemeinden: rows zone, year, sex, value) replaces the published totals, e.g. with
    totals harmonised to a later territorial status for a backtest.
    """
    zones = [str(z) for z in zones]
    t = tables.until(base_year)
    kreise_all = _kreise(t, base_year)
    # the full population table: base_population itself uses structures <= base_year and falls
    # back to the earliest later one only where none exists (flagged in the result)
    kreis_base = base_population(tables.population, kreise_all, base_year)
    if all(len(z) == 5 for z in zones):
        later = tuple(z for z in zones if z in kreis_base.later_structure)
        base = BasePopulation(
            kreis_base.population.sel(zone=zones),
            kreis_base.year,
            (),
            kreis_base.structure_year,
            later,
            kreis_base.notes,
        )
        totals = kreis_totals(t, base_year)
    else:
        gt = gemeinde_totals(t, base_year) if totals is None else totals
        gt = gt[gt["year"].astype(int) <= base_year]
        base = base_population(tables.population, zones, base_year, gemeinde_totals=gt)
        totals = gt.groupby(["zone", "year"], as_index=False)["value"].sum()
    fert = estimate_fertility(t.fertility, t.births, kreis_base.population, zones, base_year)
    mort = estimate_mortality(t.life_tables, t.deaths, kreis_base.population, zones, base_year)
    srb, srb_years = estimate_srb(t.births, base_year)
    nat = _natural_change(base.population, fert, mort)
    net, span = net_migration(totals[totals["zone"].isin(zones)], nat, base_year)
    is_kreis = all(len(z) == 5 for z in zones)
    shrink_note: tuple[str, ...] = ()
    differential: dict[str, float] = {}
    persistence = None
    if not is_kreis and net:
        # the Kreis's trend for every Gemeinde, plus the Gemeinde's own differential, shrunk
        # toward 0 for small Gemeinden (empirical Bayes, weights reported) and fading with the
        # persistence estimated from earlier periods
        zpop = base.population.sum(("sex", "age"))
        pop_map = {str(z): float(v) for z, v in zip(zpop["zone"].values, zpop.values, strict=True)}
        sh = shrink_net_rates(net, pop_map, span)
        parent_part = {
            z: sh.parent_rate[z[:5]] * pop_map[z] if z[:5] in sh.parent_rate else v
            for z, v in sh.net_per_year.items()
        }
        raw = {z: sh.net_per_year[z] - parent_part[z] for z in parent_part}
        # benchmarked: the shrunk differentials of a Kreis add up to zero, so the Gemeinden
        # together keep their Kreis's trend (the weights differ, so shrinking alone would not)
        differential = _benchmarked(raw, pop_map)
        net = parent_part
        # persistence is a property of the region's migration regime: estimated over every
        # Gemeinde with totals, not only the ones projected
        persistence = migration_persistence(totals, base_year)
        ws = np.array([sh.weight[z] for z in sh.weight])
        shrink_note = (
            f"net migration: every Gemeinde at its Kreis's rate plus its own differential, shrunk "
            f"toward 0 (empirical Bayes: tau2={sh.tau2:.3g}, c={sh.c:.3g}; weight of the own "
            f"differential: median {np.median(ws):.2f}, range {ws.min():.2f}-{ws.max():.2f})",
        )
    mig_table = t.migration if is_kreis else None
    fallback: dict[str, float] | None = None
    fb_years: tuple[int, ...] = ()
    if not is_kreis and any(z not in net for z in zones):
        # no census-free pair of totals: the Kreis's net migration rate from its migration table
        kpop = kreis_base.population.sum(("sex", "age"))
        kpop_map = {str(k): float(v) for k, v in zip(kpop["zone"].values, kpop.values, strict=True)}
        k_rates, k_years = kreis_net_rates(t.migration, kpop_map, base_year)
        fallback = {z: k_rates[z[:5]] for z in zones if z[:5] in k_rates}
        fb_years = tuple(sorted({y for ys in k_years.values() for y in ys}))
    mig = estimate_migration(base.population, base_year, mig_table, net, span, fallback, fb_years)
    if shrink_note:
        mig = replace(mig, notes=(*mig.notes, *shrink_note))
    return ProjectionInputs(
        base, fert, mort, mig, srb, srb_years, base_year, differential, persistence
    )


# --------------------------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------------------------


def _band(lo: int, hi: int) -> Array:
    a = np.zeros(OPEN_AGE + 1)
    a[lo:hi] = 1.0
    out: Array = a / a.sum()
    return out


def _profiles() -> dict[str, Array]:
    rc = rogers_castro()
    children = _band(0, 18)
    asylum_m = 0.22 * children + 0.50 * _band(18, 30) + 0.18 * _band(30, 40) + 0.10 * _band(40, 65)
    asylum_f = 0.34 * children + 0.36 * _band(18, 30) + 0.18 * _band(30, 40) + 0.12 * _band(40, 65)
    fam = 0.45 * _band(0, 15) + 0.55 * _band(25, 45)
    return {
        "asylum_seekers": np.stack([0.65 * asylum_m, 0.35 * asylum_f]),
        "families": np.stack([fam, fam]) / 2,
        "young_adults": np.stack([_band(18, 30), _band(18, 30)]) / 2,
        "retirees": np.stack([_band(60, 80), _band(60, 80)]) / 2,
        "base_in_migration": np.stack([rc, rc]) / 2,
    }


FLOW_PROFILES: dict[str, Array] = _profiles()
"""Age-sex shares (sex m, f x ages 0..100, summing to 1) of the named extra-flow profiles.

Stylised, not fitted: ``asylum_seekers`` 65 % male; of the men 22 % children, 50 % aged 18-29,
18 % 30-39, 10 % 40-64; of the women 34 %, 36 %, 18 %, 12 % - shaped after the BAMF "Aktuelle
Zahlen" age and sex shares of first-time asylum applications 2015-2016 (about two thirds male,
about three quarters under 30), uniform within each band. ``families``: 45 % children 0-14, 55 %
adults 25-44; ``young_adults``: 18-29; ``retirees``: 60-79 (each half male);
``base_in_migration``: the standard Rogers-Castro profile (:data:`wandel.demography.rates.RC_STANDARD`)."""


def flow_profile(name: str) -> Array:
    """The ``(2, 101)`` age-sex shares of a named profile (see :data:`FLOW_PROFILES`)."""
    return FLOW_PROFILES[name]


def _age_multiplier(factors: Sequence[AgeFactor], level: float) -> Array:
    m = np.full(OPEN_AGE + 1, level)
    for f in factors:
        end = OPEN_AGE + 1 if f.age_end is None else min(f.age_end, OPEN_AGE + 1)
        m[f.age_start : end] *= f.factor
    return m


def _e0(q: Array) -> Array:
    return np.asarray(life_table_from_qx(q).e0, dtype=np.float64)


def mortality_factors(q: Array, e0_gain: Array) -> Array:
    """Factors ``k`` on the death rates so that ``e0(k m) = e0(m) + gain`` (bisection on log k).

    ``q`` has shape ``(..., 101)``; ``e0_gain`` broadcasts against ``q.shape[:-1]``. Forty halvings
    of ``log k`` in [-3, 3] give e0 to about 1e-9 years.
    """
    target = _e0(q) + np.asarray(e0_gain, dtype=np.float64)
    lo = np.full(target.shape, -3.0)
    hi = np.full(target.shape, 3.0)
    for _ in range(40):
        mid = (lo + hi) / 2
        e = _e0(mx_scaled(q, np.exp(mid)))
        too_low = e < target  # e0 falls as k rises: need smaller k
        hi = np.where(too_low, mid, hi)
        lo = np.where(too_low, lo, mid)
    k: Array = np.exp((lo + hi) / 2)
    return k


def scenario_rates(
    inputs: ProjectionInputs, scenario: Scenario | None, until: int
) -> tuple[ProjectionRates, tuple[str, ...]]:
    """The rates of ``inputs`` with a scenario variant applied for the years ``start+1 .. until``.

    Returns the rates (with a ``year`` dimension where the scenario varies them) and notes (e.g.
    extra flows for zones not projected).
    """
    base = inputs.rates(until)
    if scenario is None:
        return base, ()
    start = inputs.start_year
    years = np.arange(start + 1, until + 1)
    zones = inputs.zones
    notes: list[str] = []
    asfr = base.asfr
    fp = scenario.fertility
    if fp.tfr_target is not None:
        tfr0 = asfr.sum("age")
        ty = fp.target_year if fp.target_year is not None else until
        frac = np.clip((years - start) / max(ty - start, 1), 0.0, 1.0)
        fr = xr.DataArray(frac, dims=("year",), coords={"year": years})
        path = tfr0 + (fp.tfr_target - tfr0) * fr
        asfr = (asfr * (path / tfr0.where(tfr0 > 0, 1.0))).transpose("year", "zone", "age")
    sx, bs = base.sx, base.birth_survival
    gain = scenario.mortality.e0_gain_per_year
    if gain != 0.0:
        q = inputs.mortality.qx.values  # (Z, 2, A)
        q_de = q.mean(axis=0)  # factors found on the mean schedule, applied to every zone
        g = np.asarray(gain * (years - start), dtype=np.float64)
        k = mortality_factors(np.broadcast_to(q_de, (len(years), 2, OPEN_AGE + 1)), g[:, None])
        qy = mx_scaled(np.broadcast_to(q, (len(years), *q.shape)), k[:, None, :])
        sxs, bss = [], []
        for t in range(len(years)):
            s, b = survival_from_qx(qy[t], zones)
            sxs.append(s)
            bss.append(b)
        yc = xr.DataArray(years, dims=("year",))
        sx = xr.concat(sxs, dim=yc).assign_coords(year=years)
        bs = xr.concat(bss, dim=yc).assign_coords(year=years)
    mp = scenario.migration
    age = xr.DataArray(AGES, dims=("age",))
    in_mult = xr.DataArray(_age_multiplier(mp.in_multipliers, mp.level), coords={"age": age})
    out_mult = xr.DataArray(_age_multiplier(mp.out_multipliers, mp.level), coords={"age": age})
    out_rate = (base.out_rate * out_mult).clip(0.0, 1.0)
    in_count = base.in_count * in_mult
    extra = base.extra
    if scenario.extra_flows:
        e = np.zeros((len(years), len(zones), 2, OPEN_AGE + 1))
        for f in scenario.extra_flows:
            if f.zone not in zones:
                notes.append(f"extra flow for {f.zone} ignored: zone not projected")
                continue
            on = (years >= f.from_year) & (years <= f.to_year)
            e[on, zones.index(f.zone)] += f.per_year * flow_profile(f.profile)
        flows = xr.DataArray(
            e,
            dims=("year", "zone", "sex", "age"),
            coords={"year": years, "zone": zones, "sex": list(SEXES), "age": AGES},
        )
        extra = flows if base.extra is None else base.extra + flows
    rates = replace(
        base,
        sx=sx,
        birth_survival=bs,
        asfr=asfr,
        out_rate=out_rate,
        in_count=in_count,
        extra=extra,
    )
    return rates, tuple(notes)


# --------------------------------------------------------------------------------------------
# uncertainty
# --------------------------------------------------------------------------------------------


def _sigma_file() -> Path:
    return Path(str(resources.files("wandel") / "data" / "reference" / "uncertainty_sigmas.csv"))


def load_sigmas(path: Path | None = None) -> dict[str, dict[str, float]]:
    """Calibrated sigmas by size class and component from the reference CSV.

    Written by ``scripts/calibrate_uncertainty.py``; columns ``size_class, component, sigma, ...``.
    """
    p = path or _sigma_file()
    if not p.exists():
        raise MissingDataError(f"no calibrated sigmas at {p}: run scripts/calibrate_uncertainty.py")
    out: dict[str, dict[str, float]] = {}
    with p.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["size_class"], {})[row["component"]] = float(row["sigma"])
    return out


def calibrated_spec(
    size: str, draws: int, seed: int, sigmas: Mapping[str, Mapping[str, float]] | None = None
) -> StochasticSpec:
    """The :class:`StochasticSpec` of a size class from the calibrated sigmas.

    Fertility and mortality levels (and in-/out-migration levels, if given) follow random walks;
    ``net_migration`` is the sigma of the additive net-migration rate of every zone of the class
    and ``net_migration_ar`` its persistence ``phi`` (default 1: one rate per draw for the whole
    horizon), see :class:`wandel.demography.engine.StochasticSpec`.
    """
    s = (sigmas or load_sigmas())[size]
    return StochasticSpec(
        draws=draws,
        seed=seed,
        sigma_fertility=s.get("fertility", 0.0),
        sigma_mortality=s.get("mortality", 0.0),
        sigma_in_migration=s.get("in_migration", 0.0),
        sigma_out_migration=s.get("out_migration", 0.0),
        ar=1.0,
        sigma_net_migration=s.get("net_migration", 0.0),
        ar_net_migration=s.get("net_migration_ar", 1.0),
    )


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProjectionResult:
    """Deterministic projection plus, with draws, quantiles (dims ``quantile, year, zone, sex,
    age|age_start``) of the population; ``size_class`` of every zone; notes from the inputs."""

    deterministic: Projection
    quantiles: xr.DataArray | None
    start_year: int
    size_class: Mapping[str, str]
    notes: tuple[str, ...] = field(default=())


def run(
    inputs: ProjectionInputs,
    rates: ProjectionRates,
    until: int,
    *,
    draws: int = 0,
    seed: int = 0,
    sigmas: Mapping[str, Mapping[str, float]] | None = None,
    mapper: Mapper = builtin_map,
    chunk_size: int = 100,
    control: Control | None = None,
    age_breaks: Sequence[int] | None = None,
    on_chunk: Callable[[str], None] | None = None,
    notes: tuple[str, ...] = (),
) -> ProjectionResult:
    """Run the engine: deterministic, and with ``draws > 0`` the draws per size class.

    Each size class gets the sigmas calibrated for it on the backtests of the same level (Kreise or
    Gemeinden; key ``level:class`` in the sigma table, else the pooled ``class``); draws of all zones
    of one class share their levels (a draw is one possible future of the region). Quantiles 0.1, 0.5, 0.9 over draws.
    """
    pop = inputs.base.population
    start = inputs.start_year
    horizon = until - start
    if horizon < 1:
        raise MissingDataError(f"until ({until}) must lie after the base population year ({start})")
    det = project(pop, rates, base_year=start, horizon=horizon, control=control)
    totals = pop.sum(("sex", "age")).values
    classes = {z: size_class(float(t)) for z, t in zip(inputs.zones, totals, strict=True)}
    q = None
    if draws > 0:
        sig = sigmas or load_sigmas()
        level = "kreis" if all(len(z) == 5 for z in inputs.zones) else "gemeinde"
        parts = []
        for cls in SIZE_CLASSES:
            zs = [z for z in inputs.zones if classes[z] == cls]
            if not zs:
                continue
            if on_chunk is not None:
                on_chunk(cls)
            sub_rates = _select_rates(rates, zs)
            sub_control = None
            if control is not None:
                sub_control = Control(control.parent.sel(zone=zs), control.totals)
            res = project_draws(
                pop.sel(zone=zs),
                sub_rates,
                base_year=start,
                horizon=horizon,
                # sigmas fitted on this level's backtests where there are some, else pooled
                spec=calibrated_spec(
                    f"{level}:{cls}" if f"{level}:{cls}" in sig else cls, draws, seed, sig
                ),
                chunk_size=chunk_size,
                mapper=mapper,
                control=sub_control,
                age_breaks=age_breaks,
            )
            parts.append(engine_quantiles(res.population, (0.1, 0.5, 0.9)))
        q = xr.concat(parts, dim="zone").sel(zone=inputs.zones)
    return ProjectionResult(det, q, start, classes, (*inputs.notes(), *notes))


def _select_rates(rates: ProjectionRates, zones: Sequence[str]) -> ProjectionRates:
    def sel(da: xr.DataArray | None) -> xr.DataArray | None:
        return None if da is None else da.sel(zone=list(zones))

    return replace(
        rates,
        sx=rates.sx.sel(zone=list(zones)),
        birth_survival=rates.birth_survival.sel(zone=list(zones)),
        asfr=rates.asfr.sel(zone=list(zones)),
        out_rate=rates.out_rate.sel(zone=list(zones)),
        in_count=rates.in_count.sel(zone=list(zones)),
        extra=sel(rates.extra),
        od=None if rates.od is None else rates.od.sel(zone=list(zones), destination=list(zones)),
    )


def _group(da: xr.DataArray, breaks: Sequence[int]) -> xr.DataArray:
    b = np.asarray(breaks, dtype=np.int64)
    start = b[np.searchsorted(b, da["age"].values, side="right") - 1]
    return da.assign_coords(age_start=("age", start)).groupby("age_start").sum("age")


def to_long(result: ProjectionResult, age_breaks: Sequence[int] | None = None) -> pd.DataFrame:
    """Canonical long output: zone, year, sex, age_start, age_end, value[, q10, q50, q90].

    ``value`` is the deterministic projection; the quantiles come from the draws (grouped by
    ``age_breaks`` if the draws were run grouped; then ``value`` is grouped the same way).
    """
    pop = result.deterministic.population.isel(draw=0, drop=True)
    if "draw" in pop.dims:
        pop = pop.isel(draw=0)
    if result.quantiles is not None and "age_start" in result.quantiles.dims:
        age_breaks = [int(a) for a in result.quantiles["age_start"].values]
    if age_breaks is not None:
        pop = _group(pop, age_breaks)
    else:
        pop = pop.rename(age="age_start")
    frame = pop.to_dataframe(name="value").reset_index()
    starts = np.sort(frame["age_start"].unique())
    ends = dict(itertools.pairwise(starts))
    frame["age_end"] = pd.array([ends.get(a) for a in frame["age_start"]], dtype="Int64")
    if result.quantiles is not None:
        qd = result.quantiles
        if "age" in qd.dims:
            qd = qd.rename(age="age_start")
        qf = qd.to_dataframe(name="v").reset_index()
        qf = qf.pivot_table(
            index=["zone", "year", "sex", "age_start"], columns="quantile", values="v"
        ).reset_index()
        qf.columns = ["zone", "year", "sex", "age_start", "q10", "q50", "q90"]
        frame = frame.merge(qf, on=["zone", "year", "sex", "age_start"], how="left")
    cols = ["zone", "year", "sex", "age_start", "age_end", "value"]
    if result.quantiles is not None:
        cols += ["q10", "q50", "q90"]
    frame["zone"] = frame["zone"].astype(str)
    frame["year"] = frame["year"].astype("int64")
    frame["age_start"] = frame["age_start"].astype("int64")
    return frame[cols].sort_values(["zone", "year", "sex", "age_start"]).reset_index(drop=True)


def _zones_for(
    tables: StoreTables, zones: Sequence[str], level: str | None, base_year: int
) -> list[str]:
    if level is None or (level == "kreis" and all(len(z) == 5 for z in zones)):
        return [str(z) for z in zones]
    if level != "gemeinde":
        raise MissingDataError(f"unknown level {level!r}; expected kreis or gemeinde")
    gt = gemeinde_totals(tables.until(base_year), base_year)
    have = sorted(gt["zone"].astype(str).unique())
    out = [g for g in have if any(g.startswith(z) for z in zones)]
    if not out:
        raise MissingDataError(f"no Gemeinden of {', '.join(zones)} at or before {base_year}")
    return out


def kreis_control(
    tables: StoreTables, gem_result: ProjectionResult, base_year: int, until: int
) -> Control:
    """Control of Gemeinden to their Kreis's Wandel projection (deterministic, by sex and year)."""
    gem = [str(z) for z in gem_result.deterministic.population["zone"].values]
    kreise = sorted({z[:5] for z in gem})
    kin = build_inputs(tables, kreise, base_year)
    kres = run(kin, kin.rates(), until)
    kt = kres.deterministic.population.isel(draw=0, drop=True).sum("age")
    years = np.arange(gem_result.start_year + 1, until + 1)
    totals = kt.sel(year=years).rename(zone="parent").transpose("parent", "sex", "year")
    parent = xr.DataArray([z[:5] for z in gem], dims=("zone",), coords={"zone": gem})
    return Control(parent=parent, totals=totals)


def project_from_store(
    db: Path,
    zones: Sequence[str],
    base_year: int,
    until: int,
    *,
    level: str | None = None,
    scenario: Scenario | None = None,
    draws: int = 0,
    seed: int = 0,
    mapper: Mapper = builtin_map,
    control_to_kreis: bool = False,
    age_breaks: Sequence[int] | None = None,
    on_chunk: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, ProjectionResult]:
    """Load from the store at ``db``, build rates, apply ``scenario``, run, return the long table."""
    from wandel.store import Store

    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
    zs = _zones_for(tables, zones, level, base_year)
    inputs = build_inputs(tables, zs, base_year)
    rates, notes = scenario_rates(inputs, scenario, until)
    control = None
    if control_to_kreis and all(len(z) == 8 for z in zs):
        first = run(inputs, rates, until)
        control = kreis_control(tables, first, base_year, until)
    res = run(
        inputs,
        rates,
        until,
        draws=draws,
        seed=seed,
        mapper=mapper,
        control=control,
        age_breaks=age_breaks,
        on_chunk=on_chunk,
        notes=notes,
    )
    return to_long(res, age_breaks), res

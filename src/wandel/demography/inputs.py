"""All inputs of one projection, estimated from the canonical tables with data ``<= base_year``.

:func:`build_inputs` gathers, for Kreise or Gemeinden:

1. the base population in single ages (:func:`wandel.demography.rates.base_population`; Gemeinden
   on the territorial status of :func:`wandel.demography.data.status_year`);
2. fertility and mortality, scaled per Kreis with empirical-Bayes shrinkage (estimated over every
   Kreis of the Gemeindeverzeichnis year, the zones' own Kreise included);
3. the sex ratio at birth;
4. migration: Kreise from their migration table (gross) or their totals (net); Gemeinden at their
   Kreis's pooled net rate plus their own differential, shrunk toward 0 for small Gemeinden
   (:func:`wandel.demography.rates.shrink_net_rates`), benchmarked so that the differentials of a
   Kreis add up to zero (the Kreis rate, the shrinkage and the benchmark over every Gemeinde with
   totals, so a Gemeinde projected alone gets the numbers it gets with its Kreis), and fading with the persistence estimated from earlier periods over the
   Gemeinden with totals in the store (:func:`wandel.demography.rates.migration_persistence`);
   Gemeinden without a census-free pair of totals take their Kreis's net rate from its migration
   table.

A zone's inputs depend on its own data, its Kreis and Germany, and through the pooled estimates (the
fertility and mortality priors, the persistence of differentials) on the other zones in the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from wandel import i18n
from wandel.demography.data import ProjectionTables, gemeinde_totals, kreis_totals, kreise_at
from wandel.demography.engine import ProjectionRates
from wandel.demography.lifetable import OPEN_AGE
from wandel.demography.rates import (
    AGES,
    BasePopulation,
    FertilityRates,
    MigrationRates,
    MortalityRates,
    NetEvidence,
    Persistence,
    base_population,
    estimate_fertility,
    estimate_migration,
    estimate_mortality,
    estimate_srb,
    kreis_net_rates,
    migration_persistence,
    net_migration,
    recent_level_shift,
    rogers_castro,
    shrink_net_rates,
    stay_out_rates,
)
from wandel.errors import MissingDataError
from wandel.tables import SEXES

__all__ = ["ProjectionInputs", "build_inputs"]


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
        """The year of the base population (31 December), where the projection starts."""
        return self.base.year

    @property
    def zones(self) -> list[str]:
        """The zones projected, in the order of the arrays."""
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
        """What a reader of the results must know about these inputs (weak data, fallbacks)."""
        start: tuple[str, ...] = ()
        if self.start_year < self.base_year:
            start = (
                i18n.note(
                    "demography.note.start_before_base",
                    base_year=self.base_year,
                    start_year=self.start_year,
                    first=self.start_year + 1,
                ),
            )
        pers = () if self.persistence is None else (self.persistence.note,)
        return (*start, *self.base.notes, *self.migration.notes, *pers)


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


def _zone_totals(pop: xr.DataArray) -> dict[str, float]:
    tot = pop.sum(("sex", "age"))
    return {str(z): float(v) for z, v in zip(tot["zone"].values, tot.values, strict=True)}


@dataclass(frozen=True)
class _GemeindeMigration:
    """The Gemeinde part of migration: Kreis trend, own differential, its persistence, a note."""

    net: dict[str, float]
    differential: dict[str, float]
    persistence: Persistence
    note: str


def _gemeinde_migration(
    net: Mapping[str, float],
    span: Mapping[str, tuple[int, int]],
    pop_map: Mapping[str, float],
    totals: pd.DataFrame,
    base_year: int,
) -> _GemeindeMigration:
    """Every Gemeinde at its Kreis's trend plus its own differential, shrunk toward 0 for small
    Gemeinden (empirical Bayes, weights reported), benchmarked per Kreis and fading with the
    persistence estimated from earlier periods over every Gemeinde with totals.

    ``net``, ``span`` and ``pop_map`` hold every Gemeinde of the pool (:func:`_pool_evidence`),
    not only the ones projected: the Kreis's pooled rate, the shrinkage's variances and the
    benchmark are properties of the Kreis and the region, so a Gemeinde gets the same inputs
    whether it is projected alone or with its Kreis."""
    sh = shrink_net_rates(net, pop_map, span)
    parent_part = {
        z: sh.parent_rate[z[:5]] * pop_map[z] if z[:5] in sh.parent_rate else v
        for z, v in sh.net_per_year.items()
    }
    raw = {z: sh.net_per_year[z] - parent_part[z] for z in parent_part}
    # benchmarked: the shrunk differentials of a Kreis add up to zero, so the Gemeinden together
    # keep their Kreis's trend (the weights differ, so shrinking alone would not)
    differential = _benchmarked(raw, pop_map)
    # persistence is a property of the region's migration regime: estimated over every Gemeinde
    # with totals, not only the ones projected
    persistence = migration_persistence(totals, base_year)
    ws = np.array([sh.weight[z] for z in sh.weight])
    note = i18n.note(
        "demography.note.gemeinde_migration",
        tau2=float(sh.tau2),
        c=float(sh.c),
        median=float(np.median(ws)),
        low=float(ws.min()),
        high=float(ws.max()),
        zones=len(ws),
    )
    return _GemeindeMigration(parent_part, differential, persistence, note)


def _pool_evidence(
    tables: ProjectionTables,
    base: BasePopulation,
    kreis_base: BasePopulation,
    tot: pd.DataFrame,
    totals: pd.DataFrame | None,
    nat: Mapping[str, float],
    base_year: int,
) -> tuple[dict[str, float], dict[str, tuple[int, int]], dict[str, float]]:
    """Net migration per year, its span and the base population of every Gemeinde with totals
    (``tot``: the Gemeinden :func:`wandel.demography.model.select_zones` accepts), the projected
    ones (``base``, ``nat``) among them: the pool over which :func:`_gemeinde_migration` pools
    its Kreis rates and variances. The other Gemeinden's natural change is estimated as the
    projected ones' is (their base population at their Kreis's rates)."""
    have = {str(z) for z in base.population["zone"].values}
    others = sorted({str(z) for z in tot["zone"].unique()} - have)
    pop = _zone_totals(base.population)
    nat_all = dict(nat)
    if others:
        t = tables.until(base_year)
        gt = gemeinde_totals(t, base_year) if totals is None else totals
        gt = gt[gt["year"].astype(int) <= base_year]
        extra = base_population(tables.population, others, base_year, gemeinde_totals=gt)
        fert = estimate_fertility(t.fertility, t.births, kreis_base.population, others, base_year)
        mort = estimate_mortality(t.life_tables, t.deaths, kreis_base.population, others, base_year)
        nat_all |= _natural_change(extra.population, fert, mort)
        pop |= _zone_totals(extra.population)
    net, span = net_migration(tot[tot["zone"].isin(list(pop))], nat_all, base_year)
    return net, span, pop


def _kreis_fallback(
    tables: ProjectionTables, kreis_base: BasePopulation, zones: Sequence[str], base_year: int
) -> tuple[dict[str, float], tuple[int, ...]]:
    """Each Gemeinde's Kreis net migration rate from the Kreis migration table (and its years)."""
    kpop = _zone_totals(kreis_base.population)
    k_rates, k_years = kreis_net_rates(tables.migration, kpop, base_year)
    fallback = {z: k_rates[z[:5]] for z in zones if z[:5] in k_rates}
    return fallback, tuple(sorted({y for ys in k_years.values() for y in ys}))


def _with_structure(
    population: pd.DataFrame, kreise: Sequence[str], zones: Sequence[str], base_year: int
) -> list[str]:
    """The Kreise of the Gemeindeverzeichnis that have a published structure in the latest
    structure year ``<= base`` (a Kreis dissolved after the Gemeindeverzeichnis year, e.g. Göttingen
    and Osterode merged in 2016, has none), plus the Kreise of ``zones`` (whose absence is an error
    of :func:`base_population`)."""
    p = population[(population["zone"].str.len() == 5) & ~population["estimated"].astype(bool)]
    p = p[~((p["age_start"] == 0) & p["age_end"].isna()) & (p["year"].astype(int) <= base_year)]
    p = p[p["value"] > 0]
    if p.empty:
        return list(kreise)
    have = set(p.loc[p["year"] == p["year"].max(), "zone"].astype(str))
    own = {z[:5] for z in zones}
    return sorted({k for k in kreise if k in have} | own)


def _base(
    tables: ProjectionTables,
    zones: list[str],
    base_year: int,
    totals: pd.DataFrame | None,
) -> tuple[BasePopulation, BasePopulation, pd.DataFrame]:
    """The zones' base population, every Kreis's (for the rate factors) and the zones' totals
    (rows zone, year, value) from which net migration is taken."""
    t = tables.until(base_year)
    kreise_all = _with_structure(tables.population, kreise_at(t, base_year), zones, base_year)
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
        return base, kreis_base, kreis_totals(t, base_year)
    gt = gemeinde_totals(t, base_year) if totals is None else totals
    gt = gt[gt["year"].astype(int) <= base_year]
    base = base_population(tables.population, zones, base_year, gemeinde_totals=gt)
    return base, kreis_base, gt.groupby(["zone", "year"], as_index=False)["value"].sum()


def build_inputs(
    tables: ProjectionTables,
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
    base, kreis_base, tot = _base(tables, zones, base_year, totals)
    fert = estimate_fertility(t.fertility, t.births, kreis_base.population, zones, base_year)
    mort = estimate_mortality(t.life_tables, t.deaths, kreis_base.population, zones, base_year)
    srb, srb_years = estimate_srb(t.births, base_year)
    nat = _natural_change(base.population, fert, mort)
    net, span = net_migration(tot[tot["zone"].isin(zones)], nat, base_year)
    if all(len(z) == 5 for z in zones):
        # the level of the Land's latest year, the distribution of each Kreis's own span
        shift = recent_level_shift(tot, span, base_year, parent=lambda z: z[:2])
        pop = _zone_totals(base.population)
        net = {z: v + shift.per_head.get(z, 0.0) * pop[z] for z, v in net.items()}
        mig = estimate_migration(base.population, base_year, t.migration, NetEvidence(net, span))
        mig = replace(mig, notes=(*mig.notes, shift.note))
        mig = replace(
            mig, stay=stay_out_rates(mig.out_rate, t.migration, kreis_base.population, base_year)
        )
        return ProjectionInputs(base, fert, mort, mig, srb, srb_years, base_year)
    gm = None
    if net:
        pool_net, pool_span, pool_pop = _pool_evidence(
            tables, base, kreis_base, tot, totals, nat, base_year
        )
        gm = _gemeinde_migration(pool_net, pool_span, pool_pop, tot, base_year)
        gm = replace(
            gm,
            net={z: v for z, v in gm.net.items() if z in net},
            differential={z: v for z, v in gm.differential.items() if z in net},
        )
    evidence = NetEvidence(net, span) if gm is None else NetEvidence(gm.net, span)
    if any(z not in evidence.per_year for z in zones):
        # no census-free pair of totals: the Kreis's net migration rate from its migration table
        fallback, fb_years = _kreis_fallback(t, kreis_base, zones, base_year)
        evidence = replace(evidence, fallback_rate=fallback, fallback_years=fb_years)
    mig = estimate_migration(base.population, base_year, None, evidence)
    mig = replace(
        mig, stay=stay_out_rates(mig.out_rate, t.migration, kreis_base.population, base_year)
    )
    if gm is None:
        return ProjectionInputs(base, fert, mort, mig, srb, srb_years, base_year)
    mig = replace(mig, notes=(*mig.notes, gm.note))
    return ProjectionInputs(
        base, fert, mort, mig, srb, srb_years, base_year, gm.differential, gm.persistence
    )

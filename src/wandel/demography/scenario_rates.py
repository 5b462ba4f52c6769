"""A scenario variant applied to the rates of a projection, year by year.

* Fertility: the TFR moves linearly from the base level to ``tfr_target`` by ``target_year`` (the
  age pattern kept: ``asfr_t(x) = asfr_0(x) TFR_t / TFR_0``).
* Mortality: life expectancy at birth gains ``e0_gain_per_year`` per year; the death rates are scaled
  by the factor ``k_t`` with ``e0(k_t m) = e0(m) + gain t``, found on the mean schedule of the zones
  (:func:`mortality_factors`) and applied to every zone.
* Migration: multipliers by age group on out-migration rates (capped at 1) and in-migration counts.
  A zone without moves away of its own (migration known only as a positive net flow, or not at
  all) has out-rate 0, so a multiplier on it would do nothing; there the multipliers act on the
  moves away estimated from its Kreis's or Land's gross out-rates (:func:`stay_flows`).
* Extra flows: people per year added to a zone, spread by a named age-sex profile
  (:data:`FLOW_PROFILES`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import xarray as xr

from wandel import i18n
from wandel.demography.engine import ProjectionRates
from wandel.demography.inputs import ProjectionInputs
from wandel.demography.lifetable import OPEN_AGE, life_table_from_qx
from wandel.demography.rates import AGES, mx_scaled, rogers_castro, survival_from_qx
from wandel.demography.rates._common import Array
from wandel.demography.scenario import AgeFactor, ExtraFlow, FertilityPath, Scenario
from wandel.tables import SEXES

__all__ = [
    "FLOW_PROFILES",
    "flow_profile",
    "mortality_factors",
    "scenario_rates",
    "stay_flows",
]


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


def _fertility_path(
    asfr: xr.DataArray, fp: FertilityPath, years: npt.NDArray[np.int64], start: int, until: int
) -> xr.DataArray:
    """``asfr`` with its TFR moved linearly toward ``fp.tfr_target`` (by ``target_year``)."""
    if fp.tfr_target is None:
        return asfr
    tfr0 = asfr.sum("age")
    ty = fp.target_year if fp.target_year is not None else until
    frac = np.clip((years - start) / max(ty - start, 1), 0.0, 1.0)
    fr = xr.DataArray(frac, dims=("year",), coords={"year": years})
    path = tfr0 + (fp.tfr_target - tfr0) * fr
    return (asfr * (path / tfr0.where(tfr0 > 0, 1.0))).transpose("year", "zone", "age")


def _mortality_path(
    inputs: ProjectionInputs, gain: float, years: npt.NDArray[np.int64]
) -> tuple[xr.DataArray, xr.DataArray]:
    """Survival ratios and birth survival by year with ``gain`` years of e0 per year."""
    start = inputs.start_year
    q = inputs.mortality.qx.values  # (Z, 2, A)
    q_de = q.mean(axis=0)  # factors found on the mean schedule, applied to every zone
    g = np.asarray(gain * (years - start), dtype=np.float64)
    k = mortality_factors(np.broadcast_to(q_de, (len(years), 2, OPEN_AGE + 1)), g[:, None])
    qy = mx_scaled(np.broadcast_to(q, (len(years), *q.shape)), k[:, None, :])
    sxs, bss = [], []
    for t in range(len(years)):
        s, b = survival_from_qx(qy[t], inputs.zones)
        sxs.append(s)
        bss.append(b)
    yc = xr.DataArray(years, dims=("year",))
    return (
        xr.concat(sxs, dim=yc).assign_coords(year=years),
        xr.concat(bss, dim=yc).assign_coords(year=years),
    )


def _extra_flows(
    flows: Sequence[ExtraFlow], zones: Sequence[str], years: npt.NDArray[np.int64]
) -> tuple[xr.DataArray, tuple[str, ...]]:
    """The scenario's extra flows as an array ``(year, zone, sex, age)``, and notes."""
    e = np.zeros((len(years), len(zones), 2, OPEN_AGE + 1))
    notes = []
    for f in flows:
        if f.zone not in zones:
            notes.append(i18n.note("demography.note.extra_flow_ignored", zone=f.zone))
            continue
        on = (years >= f.from_year) & (years <= f.to_year)
        e[on, list(zones).index(f.zone)] += f.per_year * flow_profile(f.profile)
    da = xr.DataArray(
        e,
        dims=("year", "zone", "sex", "age"),
        coords={"year": years, "zone": list(zones), "sex": list(SEXES), "age": AGES},
    )
    return da, tuple(notes)


STAY_NOTE_ZONES = 10
"""How many zones a note of :func:`stay_flows` names (the rest are counted)."""


def _zone_list(zones: Sequence[str]) -> str:
    shown = ", ".join(zones[:STAY_NOTE_ZONES])
    return shown if len(zones) <= STAY_NOTE_ZONES else f"{shown} (+{len(zones) - STAY_NOTE_ZONES})"


def _stay_notes(
    source: Mapping[str, str],
    parent: Mapping[str, str],
    years: Mapping[str, tuple[int, ...]],
    acted: Sequence[str],
    base_year: int,
) -> tuple[str, ...]:
    notes = []
    for kind in ("kreis", "land"):
        zs = [z for z in acted if source[z] == kind]
        if zs:
            used = sorted({y for z in zs for y in years[z]})
            notes.append(
                i18n.note(
                    f"demography.note.stay_{kind}",
                    zones=_zone_list(zs),
                    parents=", ".join(sorted({parent[z] for z in zs})),
                    years=", ".join(map(str, used)),
                )
            )
    zs = [z for z in acted if source[z] == "none"]
    if zs:
        notes.append(
            i18n.note("demography.note.stay_none", zones=_zone_list(zs), base_year=base_year)
        )
    return tuple(notes)


def stay_flows(
    inputs: ProjectionInputs,
    in_mult: xr.DataArray,
    out_mult: xr.DataArray,
    years: npt.NDArray[np.int64],
) -> tuple[xr.DataArray | None, tuple[str, ...]]:
    """What migration multipliers change in zones with no moves away of their own, as a scenario
    flow (dims ``year, zone, sex, age``), and notes.

    A zone whose migration is known only as a net flow ``N`` has out-rate 0 where the net is
    positive, and ``N`` enters as in-migrants (:func:`wandel.demography.rates.estimate_migration`),
    so a multiplier on its out-rates changes nothing. For such a zone the moves away are estimated
    as ``O(z, s, x) = r_K(s, x) P_base(z, s, x)`` with ``r_K`` its Kreis's gross out-rates (else
    its Land's; :func:`wandel.demography.rates.stay_out_rates`, data ``<=`` the base year) and
    ``P_base`` the zone's base population; its moves in are then ``N + O`` (the net it has). With
    the multipliers ``m_in(x)`` on moves in and ``m_out(x)`` on moves away the net becomes
    ``m_in (N + O) - m_out O``; the rates already carry ``m_in N``, so the flow added every
    projected year is

    ``S(z, s, x) = (m_in(x) r_K(s, x) - min(m_out(x) r_K(s, x), 1)) P_base(z, s, x)``

    For fewer young people moving away (``m_in = 1``, ``m_out = f < 1`` at ages 18-24) that is
    ``(1 - f) r_K P_base`` people who stay; a common level on both (``m_in = m_out``) gives 0, as
    it scales the net alone; ``m_out > 1`` gives a negative flow (more people moving away, capped
    by those present). Zones with out-rates of their own are left to the multipliers on their own
    rates (no flow here), and without multipliers (no scenario, or all 1) nothing is added: the
    basis projection is not touched.

    Limits: ``S`` is a fixed number per year, from the base population's ages, not from the
    projected population of the year (a town whose young cohorts shrink keeps a little too many);
    the stochastic migration levels do not act on it. The engine has no negative out-movers
    (out-rates lie in [0, 1]) and the zone's basis counts nobody moving away, so those who stay
    cannot be booked as fewer out-movers: they enter as a positive scenario flow, combined with
    the zone's other scenario flows and migration differential into one flow per age and sex (a
    negative differential, booked as out-migration, is lowered first; the rest shows as
    in-migration). Net migration and the balancing equation are exact; the note says so. Where
    neither the Kreis nor the Land has migration rows ``<=`` the base year, the multipliers have
    no effect on such a zone beyond its net, and a note says so.
    """
    stay = inputs.migration.stay
    m_in = np.asarray(in_mult.values, dtype=np.float64)
    m_out = np.asarray(out_mult.values, dtype=np.float64)
    if stay is None or bool(np.all(m_in == m_out)):
        return None, ()
    zones = inputs.zones
    acted = [z for z in zones if stay.source.get(z, "own") != "own"]
    if not acted:
        return None, ()
    r = np.asarray(stay.out_rate.sel(zone=zones).transpose("zone", "sex", "age").values)
    pop = inputs.base.population.sel(zone=zones, sex=list(SEXES), age=AGES)
    p = np.asarray(pop.transpose("zone", "sex", "age").values, dtype=np.float64)
    kept = (m_in * r - np.clip(m_out * r, 0.0, 1.0)) * p  # (zone, sex, age)
    flows = np.broadcast_to(kept, (len(years), *kept.shape)).copy()
    da = xr.DataArray(
        flows,
        dims=("year", "zone", "sex", "age"),
        coords={"year": years, "zone": zones, "sex": list(SEXES), "age": AGES},
    )
    notes = _stay_notes(stay.source, stay.parent, stay.years, acted, inputs.base_year)
    return da, notes


def scenario_rates(
    inputs: ProjectionInputs, scenario: Scenario | None, until: int
) -> tuple[ProjectionRates, tuple[str, ...]]:
    """The rates of ``inputs`` with a scenario variant applied for the years ``start+1 .. until``.

    Returns the rates (with a ``year`` dimension where the scenario varies them) and notes (e.g.
    extra flows for zones not projected, where the moves away that migration multipliers act on
    were estimated from: :func:`stay_flows`).
    """
    base = inputs.rates(until)
    if scenario is None:
        return base, ()
    start = inputs.start_year
    years = np.arange(start + 1, until + 1)
    asfr = _fertility_path(base.asfr, scenario.fertility, years, start, until)
    sx, bs = base.sx, base.birth_survival
    if scenario.mortality.e0_gain_per_year != 0.0:
        sx, bs = _mortality_path(inputs, scenario.mortality.e0_gain_per_year, years)
    mp = scenario.migration
    age = xr.DataArray(AGES, dims=("age",))
    in_mult = xr.DataArray(_age_multiplier(mp.in_multipliers, mp.level), coords={"age": age})
    out_mult = xr.DataArray(_age_multiplier(mp.out_multipliers, mp.level), coords={"age": age})
    extra = base.extra
    notes: tuple[str, ...] = ()
    if scenario.extra_flows:
        flows, notes = _extra_flows(scenario.extra_flows, inputs.zones, years)
        extra = flows if base.extra is None else base.extra + flows
    stayers, stay_notes = stay_flows(inputs, in_mult, out_mult, years)
    if stayers is not None:
        extra = stayers if extra is None else extra + stayers
    notes = (*notes, *stay_notes)
    rates = replace(
        base,
        sx=sx,
        birth_survival=bs,
        asfr=asfr,
        out_rate=(base.out_rate * out_mult).clip(0.0, 1.0),
        in_count=base.in_count * in_mult,
        extra=extra,
    )
    return rates, notes

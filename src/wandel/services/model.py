"""Service plans: what each service computes from the population, prepared for a set of zones.

A :class:`ServicePlan` holds, for one service on one :class:`~wandel.services._grid.Grid`
(zones x years x age groups):

* *linear* measures, each a weight per ``[year, zone, sex, age group]`` (children, places, people
  needing care, households, labour force ...): ``m(t, z, d) = sum_{s,g} w(t, z, s, g) P(t, z, s, g, d)``;
* *post* measures computed from those and the population (school classes from single ages, fire
  brigade members, costs);
* constants per zone (capacity from facilities, dwellings, the crew required) and per parent
  region (occupied care places of a Kreis, GPs of a Mittelbereich);
* ratios (places per capacity, Versorgungsgrad, readiness, replacement ratio), computed per draw
  from their parts at every level, and thresholds (a school below its minimum, a Versorgungsgrad
  below 75 %).

A measure whose parameter no source gives and the user has not set is NaN for the zones and years
concerned and listed in :attr:`ServicePlan.missing`; :func:`plan_services` with ``strict=True``
refuses instead (:class:`wandel.errors.MissingParameterError`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from wandel import i18n
from wandel.errors import MissingParameterError, UnknownServiceError
from wandel.services._grid import Grid, age_groups
from wandel.services._school import school_classes
from wandel.services.care import CARE_MEASURES, CARE_TYPES, CareCalibration, factor_path
from wandel.services.catalogue import LAENDER, Catalogue, Entry
from wandel.services.rules import min_cohort

__all__ = [
    "Measure",
    "MissingParam",
    "Reach",
    "ServiceInputs",
    "ServicePlan",
    "Threshold",
    "plan_services",
    "required_breaks",
]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
How = Literal["sum", "zone", "ratio", "network"]
Weights = Callable[[IntArray], Array]
Post = Callable[[Mapping[str, Array], Array, IntArray], dict[str, Array]]
Scale = Callable[[IntArray], Array]


@dataclass(frozen=True)
class Measure:
    """One figure of a service.

    ``how``: ``sum`` adds up over zones (people, places, classes, costs); ``zone`` holds per zone
    only (the crew a zone requires); ``ratio`` is ``num / den`` computed per draw at every level
    where both parts exist; ``network`` is computed across zones at the end (crew that reaches a
    zone in time).
    """

    service: str
    name: str
    unit: str
    how: How = "sum"
    num: str | None = None
    den: str | None = None

    def parts(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """Keys ``(service, measure)`` of a ratio's numerator and denominator."""
        if self.num is None or self.den is None:
            raise ValueError(f"{self.service}.{self.name} is no ratio")
        return (self.service, self.num), (self.service, self.den)


@dataclass(frozen=True)
class Threshold:
    """A threshold on a measure: crossed where ``value op bound`` (``bound[year, zone]``)."""

    service: str
    measure: str
    name: str
    op: Literal["<", ">"]
    bound: Array


@dataclass(frozen=True)
class MissingParam:
    """A parameter no source gives for some zones and years: the measure is NaN there."""

    service: str
    measure: str
    parameter: str
    regions: tuple[str, ...]
    years: tuple[int, int]
    hint: str = ""

    def note(self) -> str:
        """What is missing and how to set it, as a note (:func:`wandel.i18n.note`)."""
        where = ", ".join("Deutschland" if r == "DG" else LAENDER.get(r, r) for r in self.regions)
        how = self.hint or i18n.note(
            "services.error.missing_how", service=self.service, parameter=self.parameter
        )
        return i18n.note(
            "services.error.missing_param",
            service=self.service,
            measure=self.measure,
            parameter=self.parameter,
            where=where,
            first=self.years[0],
            last=self.years[1],
            how=how,
        )

    def text(self, lang: str = "en") -> str:
        """What is missing and how to set it, in ``lang``."""
        return i18n.note_text(self.note(), lang)


class MissingParametersError(MissingParameterError):
    """Parameters no source gives and the user has not set (each named in the language asked)."""

    def __init__(self, missing: tuple[MissingParam, ...]) -> None:
        self.missing = missing
        super().__init__("@services.error.missing_params")

    def message(self, lang: str) -> str:
        from wandel.i18n import tr

        items = "; ".join(m.text(lang) for m in self.missing)
        return tr("services.error.missing_params", lang, items=items)


@dataclass(frozen=True, eq=False)
class ServiceInputs:
    """Data a service plan uses beyond the catalogue (all optional).

    ``capacity``: service -> zone -> capacity from facilities (places, pupils, GPs, members);
    ``care``: the Pflege calibration; ``care_places``: Kreis -> occupied places in Pflegeheimen
    (Pflegestatistik, vollstationär); ``gp_supply``: Mittelbereich -> GPs (full-time
    equivalents); ``fire_members``: zone -> active members in the base year; ``dwellings``: zone
    -> dwellings; ``reach``: the travel-time matrix ``[from zone, to zone]`` in minutes (NaN = not
    reached) between the grid's zones; ``trend``: Pflege with the rates trend.
    """

    capacity: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    care: CareCalibration | None = None
    care_places: Mapping[str, float] = field(default_factory=dict)
    gp_supply: Mapping[str, float] = field(default_factory=dict)
    fire_members: Mapping[str, float] = field(default_factory=dict)
    dwellings: Mapping[str, float] = field(default_factory=dict)
    reach: Array | None = None
    trend: bool = False


@dataclass(frozen=True, eq=False)
class ServicePlan:
    """One service prepared for a grid (see the module docstring)."""

    name: str
    kind: str
    measures: tuple[Measure, ...]
    linear: Mapping[str, Weights]
    post: Post | None
    constants: Mapping[str, Array]
    parent_constants: Mapping[str, Mapping[str, Mapping[str, Array]]]
    thresholds: tuple[Threshold, ...]
    entries: tuple[Entry, ...]
    missing: tuple[MissingParam, ...]
    network: Mapping[str, tuple[str, Reach]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    scaled: Mapping[str, tuple[str, Scale]] = field(default_factory=dict)
    """``measure -> (source, factor)``: the measure is ``factor(zones)[t, z]`` (``(T, Zc)``, >= 0
    or NaN) times the source measure, draw by draw; a source is a linear measure or an earlier
    scaled one. Computed before ``post`` (which sees them). Its quantiles over the draws are the
    factor times the source's order statistics, without a sort of their own (the product with a
    factor >= 0 keeps the order of the draws)."""

    def measure(self, name: str) -> Measure:
        for m in self.measures:
            if m.name == name:
                return m
        raise UnknownServiceError(
            "@services.error.unknown_measure", service=repr(self.name), measure=repr(name)
        )


# --------------------------------------------------------------------------------------------
# breaks
# --------------------------------------------------------------------------------------------


def _age_bounds(entries: Sequence[Entry]) -> set[int]:
    out: set[int] = set()
    for e in entries:
        for a0, a1, _m, _f in e.by_age or ():
            out.add(a0)
            if a1 is not None and a1 <= 100:
                out.add(a1)
    return out


def required_breaks(cat: Catalogue, names: Sequence[str], grid: Grid) -> tuple[int, ...]:
    """The age groups the population must come in for ``names`` on ``grid`` (first ages)."""
    out = {0}
    for name in names:
        spec = cat.service(name)
        if spec.ages is not None:
            a, b = spec.ages
            out |= {a, min(b, 100)}
            if spec.kind == "school":
                out |= set(range(a, min(b, 100) + 1))
        for pname, entries in spec.parameters.items():
            out |= _age_bounds(entries)
            if spec.kind == "labour" and pname in ("entrant_ages", "leaver_ages"):
                for e in entries:
                    out |= {int(v) for v in e.value} if isinstance(e.value, tuple) else set()
        if spec.kind == "fire":
            lo, _ = grid.scalar(cat, name, "min_age")
            hi, _ = grid.scalar(cat, name, "max_age")
            out |= {int(v) for v in np.unique(lo[np.isfinite(lo)])}
            out |= {int(v) + 1 for v in np.unique(hi[np.isfinite(hi)])}
    return tuple(sorted(a for a in out if a <= 100))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _missing(
    service: str, measure: str, parameter: str, values: Array, grid: Grid
) -> list[MissingParam]:
    bad = np.asarray(~np.isfinite(values))
    if values.ndim > 2:
        bad = np.asarray(bad.reshape(*values.shape[:2], -1).any(axis=2))
    if not bad.any():
        return []
    zones = np.asarray(grid.zones)
    regions = sorted({z[:2] for z in zones[bad.any(axis=0)]})
    years = np.asarray(grid.years)[bad.any(axis=1)]
    return [
        MissingParam(
            service, measure, parameter, tuple(regions), (int(years.min()), int(years.max()))
        )
    ]


def _band(grid: Grid, a: int, b: int) -> Array:
    groups = age_groups(grid.breaks)
    end = 101 if b >= 100 else b
    return np.array([1.0 if g0 >= a and g1 <= end else 0.0 for g0, g1 in groups])


def _w_scaled(scale: Array, mask: Array) -> Weights:
    """Weights ``scale[t, z] * mask[g]`` for both sexes."""

    def w(zi: IntArray) -> Array:
        s = scale[:, zi]
        return np.broadcast_to(
            s[:, :, None, None] * mask[None, None, None, :], (*s.shape, 2, len(mask))
        )

    return w


def _factor(scale: Array) -> Scale:
    """The factor ``scale[t, z]`` of a zone chunk (a scaled measure, see ServicePlan.scaled)."""

    def f(zi: IntArray) -> Array:
        out: Array = scale[:, zi]
        return out

    return f


def _capacity(grid: Grid, inputs: ServiceInputs, service: str) -> Array | None:
    cap = inputs.capacity.get(service)
    if not cap:
        return None
    v = np.array([float(cap.get(z, 0.0)) for z in grid.zones])
    return np.broadcast_to(v, grid.shape).copy()


def _costs(
    cat: Catalogue, grid: Grid, service: str, measures: Sequence[Measure]
) -> tuple[list[Measure], dict[str, Array], list[Entry]]:
    """Cost measures ``cost_<m>`` for every measure with a unit cost set, and their unit costs."""
    names = {m.name for m in measures}
    out: list[Measure] = []
    unit: dict[str, Array] = {}
    used: list[Entry] = []
    for m in sorted({e.measure for e in cat.entries(service, "unit_cost_eur") if e.measure}):
        if m not in names:
            raise UnknownServiceError(
                "@services.error.cost_measure",
                service=repr(service),
                measure=repr(m),
                known=sorted(names),
            )
        vals, ent = grid.scalar(cat, service, "unit_cost_eur", measure=m)
        out.append(Measure(service, f"cost_{m}", "eur_per_year"))
        unit[m] = vals
        used += ent
    return out, unit, used


def _with_costs(post: Post | None, unit: Mapping[str, Array]) -> Post | None:
    if not unit:
        return post

    def run(lin: Mapping[str, Array], pop: Array, zi: IntArray) -> dict[str, Array]:
        out = dict(post(lin, pop, zi)) if post is not None else {}
        have = {**lin, **out}
        for m, u in unit.items():
            if m in have:
                out[f"cost_{m}"] = have[m] * u[:, zi, None]
        return out

    return run


# --------------------------------------------------------------------------------------------
# kinds
# --------------------------------------------------------------------------------------------


@dataclass
class _Build:
    """A plan under construction."""

    name: str
    kind: str
    measures: list[Measure] = field(default_factory=list)
    linear: dict[str, Weights] = field(default_factory=dict)
    post: Post | None = None
    constants: dict[str, Array] = field(default_factory=dict)
    parent_constants: dict[str, dict[str, dict[str, Array]]] = field(default_factory=dict)
    thresholds: list[Threshold] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    missing: list[MissingParam] = field(default_factory=list)
    network: dict[str, tuple[str, Reach]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scaled: dict[str, tuple[str, Scale]] = field(default_factory=dict)

    def add(
        self, name: str, unit: str, how: How = "sum", num: str | None = None, den: str | None = None
    ) -> None:
        self.measures.append(Measure(self.name, name, unit, how, num, den))


def _quota(cat: Catalogue, grid: Grid, b: _Build, inputs: ServiceInputs) -> None:
    spec = cat.service(b.name)
    assert spec.ages is not None
    mask = _band(grid, *spec.ages)
    quota, used = grid.scalar(cat, b.name, "quota")
    b.entries += used
    b.missing += _missing(b.name, "places", "quota", quota, grid)
    b.add("children", "persons")
    b.add("places", "places")
    b.linear["children"] = _w_scaled(np.ones(grid.shape), mask)
    b.scaled["places"] = ("children", _factor(quota))
    _facility_capacity(grid, inputs, b, "places", "places")


def _facility_capacity(
    grid: Grid, inputs: ServiceInputs, b: _Build, demand: str, unit: str
) -> None:
    """Capacity from the facilities of the zone, utilisation ``demand / capacity`` and the
    threshold "over capacity" (utilisation above 1), where facilities of the service exist."""
    cap = _capacity(grid, inputs, b.name)
    if cap is None:
        return
    b.constants["capacity"] = cap
    b.add("capacity", unit)
    b.add("utilisation", "ratio", "ratio", demand, "capacity")
    b.thresholds.append(Threshold(b.name, "utilisation", "over_capacity", ">", np.ones(grid.shape)))


def _school(cat: Catalogue, grid: Grid, b: _Build, inputs: ServiceInputs) -> None:
    spec = cat.service(b.name)
    assert spec.ages is not None
    a, end = spec.ages
    groups = age_groups(grid.breaks)
    single = [grid.breaks.index(x) for x in range(a, end)]
    first, u1 = grid.scalar(cat, b.name, "min_first_class")
    further, u2 = grid.scalar(cat, b.name, "min_further_class")
    tracks, u3 = grid.scalar(cat, b.name, "min_tracks")
    tracks = np.where(np.isfinite(tracks), tracks, 1.0)  # no Zügigkeit rule: one class suffices
    maxc, u4 = grid.scalar(cat, b.name, "max_class")
    b.entries += u1 + u2 + u3 + u4
    cohort = min_cohort(first, further, tracks)
    b.missing += _missing(b.name, "grades_below_minimum", "min_first_class", first, grid)
    need_further = np.where(tracks > 1, further, 0.0)
    b.missing += _missing(b.name, "grades_below_minimum", "min_further_class", need_further, grid)
    b.missing += _missing(b.name, "classes", "max_class", maxc, grid)
    b.add("pupils", "persons")
    b.add("first_grade", "persons")
    b.add("classes", "classes")
    b.add("grades_below_minimum", "grades")
    b.linear["pupils"] = _w_scaled(np.ones(grid.shape), _band(grid, a, end))
    b.linear["first_grade"] = _w_scaled(np.ones(grid.shape), _band(grid, a, a + 1))
    if len(groups) and any(groups[g][1] - groups[g][0] != 1 for g in single):
        raise ValueError("school ages must come in single years")

    # pupils of each grade (single age), classes and grades below the minimum per draw in one
    # compiled pass (the composition of rules.pupils_whole, classes_needed and the cohort test)
    grade_groups = np.array(single, dtype=np.int64)

    def post(lin: Mapping[str, Array], pop: Array, zi: IntArray) -> dict[str, Array]:
        cls, below = school_classes(pop, grade_groups, maxc[:, zi], cohort[:, zi])
        return {"classes": cls, "grades_below_minimum": below}

    b.post = post
    # a school of the zone falls below its Land's minimum when its first grade has fewer pupils
    b.thresholds.append(Threshold(b.name, "first_grade", "below_minimum", "<", cohort - 0.5))
    _facility_capacity(grid, inputs, b, "pupils", "persons")


def _care(cat: Catalogue, grid: Grid, b: _Build, inputs: ServiceInputs) -> None:
    rates, used = grid.by_age(cat, b.name, "care_rate")  # (T, Z, 2, G)
    b.entries += used
    b.missing += _missing(b.name, "people_in_need", "care_rate", rates, grid)
    if inputs.care is not None:
        until = None
        if inputs.trend:
            until, ent = grid.scalar(cat, b.name, "trend_until")
            b.entries += ent
            if not np.isfinite(until).all():
                b.missing += _missing(b.name, "people_in_need", "trend_until", until, grid)
        fac = factor_path(inputs.care, grid.zones, grid.years, until)  # (T, Z, 2, C)
        b.notes += list(inputs.care.notes)
    else:
        fac = np.ones((*grid.shape, 2, len(CARE_TYPES)))
        for ci, c in enumerate(CARE_TYPES[1:], start=1):
            share, ent = grid.by_sex(cat, b.name, f"type_share_{c}")
            b.entries += ent
            fac[..., ci] = share
        b.notes.append(i18n.note("services.note.care_national"))
    for ci, c in enumerate(CARE_TYPES):
        m = CARE_MEASURES[c]
        b.add(m, "persons")

        def w(zi: IntArray, ci: int = ci) -> Array:
            return np.minimum(rates[:, zi] * fac[:, zi][:, :, :, ci, None], 1.0)

        b.linear[m] = w
    have = _supply(grid, inputs, b, "capacity_residential", "kreis", inputs.care_places)
    if have and _capacity(grid, inputs, b.name) is None:
        b.notes.append(i18n.note("services.note.care_capacity_occupied"))
    if have:
        b.add("capacity_residential", "places")
        b.add("utilisation_residential", "ratio", "ratio", "residential", "capacity_residential")
        b.thresholds.append(
            Threshold(b.name, "utilisation_residential", "over_capacity", ">", np.ones(grid.shape))
        )


def _supply(
    grid: Grid,
    inputs: ServiceInputs,
    b: _Build,
    name: str,
    level: str,
    per_parent: Mapping[str, float],
) -> bool:
    """Supply ``name`` from the zone's facilities, else per parent region of ``level`` (held
    constant over the years); False if neither is given."""
    cap = _capacity(grid, inputs, b.name)
    if cap is not None:
        b.constants[name] = cap
        return True
    if per_parent:
        years = len(grid.years)
        b.parent_constants[name] = {level: {k: np.full(years, v) for k, v in per_parent.items()}}
        return True
    return False


def _gp(cat: Catalogue, grid: Grid, b: _Build, inputs: ServiceInputs) -> None:
    vz, used = grid.scalar(cat, b.name, "inhabitants_per_gp")
    under, u2 = grid.scalar(cat, b.name, "under_supply")
    over, u3 = grid.scalar(cat, b.name, "over_supply")
    b.entries += used + u2 + u3
    b.missing += _missing(b.name, "gps_needed", "inhabitants_per_gp", vz, grid)
    allages = np.ones(len(age_groups(grid.breaks)))
    b.add("population", "persons")
    b.add("gps_needed", "gps")
    b.linear["population"] = _w_scaled(np.ones(grid.shape), allages)
    b.scaled["gps_needed"] = ("population", _factor(1.0 / vz))
    if _supply(grid, inputs, b, "gps", "mittelbereich", inputs.gp_supply):
        b.add("gps", "gps")
        b.add("versorgungsgrad", "ratio", "ratio", "gps", "gps_needed")
        b.thresholds.append(Threshold(b.name, "versorgungsgrad", "unterversorgung", "<", under))
        b.thresholds.append(Threshold(b.name, "versorgungsgrad", "ueberversorgung", ">", over))
    else:
        b.missing.append(
            MissingParam(
                b.name,
                "versorgungsgrad",
                "gps",
                ("DG",),
                (grid.years[0], grid.years[-1]),
                "@services.hint.gp_supply",
            )
        )


def _fire(cat: Catalogue, grid: Grid, b: _Build, inputs: ServiceInputs) -> None:
    lo, u1 = grid.scalar(cat, b.name, "min_age")
    hi, u2 = grid.scalar(cat, b.name, "max_age")
    crew, u3 = grid.scalar(cat, b.name, "crew")
    tmin, u4 = grid.scalar(cat, b.name, "time_min")
    share, u5 = grid.scalar(cat, b.name, "weekday_share")
    rate, u6 = grid.scalar(cat, b.name, "members_per_resident")
    b.entries += u1 + u2 + u3 + u4 + u5 + u6
    b.missing += _missing(b.name, "residents_active_age", "min_age", lo, grid)
    b.missing += _missing(b.name, "residents_active_age", "max_age", hi, grid)
    band = grid.band_weights(lo, hi + 1.0)  # (T, Z, G): ages min..max inclusive
    b.add("residents_active_age", "persons")

    def wband(zi: IntArray) -> Array:
        x = band[:, zi]
        return np.broadcast_to(x[:, :, None, :], (x.shape[0], x.shape[1], 2, x.shape[2]))

    b.linear["residents_active_age"] = wband
    cap = _capacity(grid, inputs, b.name)
    base: Array | None
    if cap is not None:
        base = cap[0]
    elif inputs.fire_members:
        base = np.array([inputs.fire_members.get(z, np.nan) for z in grid.zones])
        b.missing += [
            replace(m, hint="--fire-members (zone,members)")
            for m in _missing(b.name, "members", "members", np.broadcast_to(base, grid.shape), grid)
        ]
    elif np.isfinite(rate).any():
        base = None
        b.missing += _missing(b.name, "members", "members_per_resident", rate, grid)
    else:
        base = np.full(len(grid.zones), np.nan)
        b.missing.append(
            MissingParam(
                b.name,
                "members",
                "members",
                ("DG",),
                (grid.years[0], grid.years[-1]),
                "@services.hint.fire_members",
            )
        )
    b.missing += _missing(b.name, "day_available", "weekday_share", share, grid)
    b.add("members", "persons")
    b.add("day_available", "persons")

    if base is None:  # members per resident: both are the residents of active age scaled
        b.scaled["members"] = ("residents_active_age", _factor(rate))
        b.scaled["day_available"] = ("members", _factor(share))
    else:
        fixed = base

        def post(lin: Mapping[str, Array], pop: Array, zi: IntArray) -> dict[str, Array]:
            res = lin["residents_active_age"]
            with np.errstate(divide="ignore", invalid="ignore"):
                members = fixed[zi][None, :, None] * res / res[0:1]
            return {"members": members, "day_available": members * share[:, zi, None]}

        b.post = post
    b.missing += _missing(b.name, "readiness", "crew", crew, grid)
    b.missing += _missing(b.name, "readiness", "time_min", tmin, grid)
    b.constants["crew_required"] = crew
    b.add("crew_required", "persons", "zone")
    if inputs.reach is None:
        b.notes.append(i18n.note("services.note.fire_no_matrix"))
    b.network["crew_in_time"] = ("day_available", Reach(inputs.reach, tmin))
    b.add("crew_in_time", "persons", "network")
    b.add("readiness", "ratio", "ratio", "crew_in_time", "crew_required")
    b.thresholds.append(Threshold(b.name, "readiness", "not_ready", "<", np.ones(grid.shape)))


@dataclass(frozen=True, eq=False)
class Reach:
    """Which brigades reach a zone in time: travel minutes ``tt[from, to]`` (None: each zone only
    its own brigade) against the time ``tmin[year, to]`` of the zone's Land."""

    tt: Array | None
    tmin: Array

    def apply(self, src: Array) -> Array:
        """``out[t, j, d] = sum_i [tt(i, j) <= tmin(t, j)] src[t, i, d]``; NaN where ``tmin`` is
        missing or a brigade that counts has no figure."""
        from scipy import sparse

        out = np.full(src.shape, np.nan)
        finite_t = np.isfinite(self.tmin)
        if self.tt is None:
            out[finite_t] = src[finite_t]
            return out
        gaps: Array = np.asarray((~np.isfinite(src)).any(axis=2), dtype=np.float64)
        clean = np.nan_to_num(src)
        rows, inverse = np.unique(np.nan_to_num(self.tmin, nan=-1.0), axis=0, return_inverse=True)
        idx = np.asarray(inverse).ravel()
        tt = np.nan_to_num(self.tt, nan=np.inf)
        for k, row in enumerate(rows):
            r = sparse.csr_matrix((tt <= row[None, :]).astype(np.float64)).T.tocsr()
            for t in np.flatnonzero(idx == k):
                val = np.asarray(r @ clean[t], dtype=np.float64)
                val[np.asarray(r @ gaps[t]) > 0] = np.nan
                out[t] = val
        out[~finite_t] = np.nan
        return out


def _households(cat: Catalogue, grid: Grid, b: _Build, inputs: ServiceInputs) -> None:
    head, u1 = grid.by_age(cat, b.name, "headship_rate")
    size, u2 = grid.scalar(cat, b.name, "household_size")
    b.entries += u1 + u2
    allages = np.ones(len(age_groups(grid.breaks)))
    use_head = np.asarray(np.isfinite(head).all(axis=(2, 3)))  # zone-years with headship rates
    b.missing += _missing(
        b.name, "households", "household_size", np.where(use_head, 1.0, size), grid
    )
    b.add("households", "households")

    def w(zi: IntArray) -> Array:
        by_size = (1.0 / size[:, zi])[:, :, None, None] * allages[None, None, None, :]
        return np.where(use_head[:, zi, None, None], np.nan_to_num(head[:, zi]), by_size)

    b.linear["households"] = w
    if inputs.dwellings:
        d = np.array([inputs.dwellings.get(z, np.nan) for z in grid.zones])
        b.constants["dwellings"] = np.broadcast_to(d, grid.shape).copy()
        b.add("dwellings", "dwellings")
        b.add("vacancy", "dwellings")
        b.add("vacancy_rate", "ratio", "ratio", "vacancy", "dwellings")

        def post(lin: Mapping[str, Array], pop: Array, zi: IntArray) -> dict[str, Array]:
            return {"vacancy": d[zi][None, :, None] - lin["households"]}

        b.post = post


def _labour(cat: Catalogue, grid: Grid, b: _Build, inputs: ServiceInputs) -> None:
    part, u1 = grid.by_age(cat, b.name, "participation")
    ent, u2 = grid.span(cat, b.name, "entrant_ages")
    lea, u3 = grid.span(cat, b.name, "leaver_ages")
    b.entries += u1 + u2 + u3
    b.missing += _missing(b.name, "labour_force", "participation", part, grid)
    b.add("working_age", "persons")
    b.add("labour_force", "persons")
    b.add("entrants", "persons")
    b.add("leavers", "persons")
    b.add("replacement_ratio", "ratio", "ratio", "entrants", "leavers")
    b.linear["labour_force"] = lambda zi: part[:, zi]
    b.linear["working_age"] = lambda zi: (part[:, zi] > 0).astype(np.float64)
    went = grid.band_weights(ent[..., 0], ent[..., 1])
    wlea = grid.band_weights(lea[..., 0], lea[..., 1])
    b.linear["entrants"] = lambda zi: np.repeat(went[:, zi, None, :], 2, axis=2)
    b.linear["leavers"] = lambda zi: np.repeat(wlea[:, zi, None, :], 2, axis=2)


_BUILDERS: dict[str, Callable[[Catalogue, Grid, _Build, ServiceInputs], None]] = {
    "quota": _quota,
    "school": _school,
    "care": _care,
    "gp": _gp,
    "fire": _fire,
    "households": _households,
    "labour": _labour,
}


def plan_services(
    cat: Catalogue,
    names: Sequence[str],
    grid: Grid,
    inputs: ServiceInputs | None = None,
    *,
    strict: bool = False,
) -> tuple[ServicePlan, ...]:
    """Prepare ``names`` for ``grid``.

    ``strict``: a parameter that no source gives and the user has not set is a
    :class:`~wandel.errors.MissingParameterError` (use it when the user named the services);
    otherwise the measures concerned are NaN where the figure is missing and the plan lists them.
    """
    inp = inputs or ServiceInputs()
    plans = []
    for name in names:
        spec = cat.service(name)
        b = _Build(name, spec.kind)
        _BUILDERS[spec.kind](cat, grid, b, inp)
        cost_measures, unit, used = _costs(cat, grid, name, b.measures)
        b.measures += cost_measures
        b.entries += used
        post = _with_costs(b.post, unit)
        plans.append(
            ServicePlan(
                name=name,
                kind=spec.kind,
                measures=tuple(b.measures),
                linear=b.linear,
                post=post,
                constants=b.constants,
                parent_constants=b.parent_constants,
                thresholds=tuple(b.thresholds),
                entries=tuple(dict.fromkeys(b.entries)),
                missing=tuple(b.missing),
                network=b.network,
                notes=tuple(b.notes),
                scaled=b.scaled,
            )
        )
    if strict:
        missing = [m for p in plans for m in p.missing]
        if missing:
            raise MissingParametersError(tuple(missing))
    return tuple(plans)

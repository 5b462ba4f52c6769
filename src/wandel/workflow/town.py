"""One town at a time, for the web app: the store loaded once, then projections, services,
comparison and data notes of one zone on request.

:class:`TownWorkbench` holds what the store provides (tables, names, provenance) and caches the
projection inputs of each town it was asked about; every method calls one model function of the
layers below and returns frozen results. The scenario levers of the web page (:class:`Levers`) are
translated into a :class:`wandel.demography.scenario.Scenario` by :func:`levers_scenario`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.compare.networks import Network, nearest_zones, preset_networks
from wandel.demography.scenario import (
    AgeFactor,
    ExtraFlow,
    FertilityPath,
    MigrationPath,
    Scenario,
)
from wandel.errors import UnknownZoneError
from wandel.reports.model import EditionKind, Report
from wandel.reports.town_secret import town_counts, town_secret
from wandel.services.demand import Parents
from wandel.store import Store
from wandel.workflow.compare import CompareData, load, network_comparison
from wandel.workflow.projection import (
    ProjectionInputs,
    ProjectionResult,
    StoreTables,
    build_inputs,
    gemeinde_totals,
    load_tables,
    run,
    scenario_rates,
    year_end_totals,
)
from wandel.workflow.report import ReportSettings, build_profile, profile_parts
from wandel.workflow.services import (
    PreparedServices,
    ServicesRequest,
    ServicesRun,
    prepare_services,
    run_prepared,
)
from wandel.workflow.town_access import TownAccess, area_prefix, town_access

__all__ = [
    "UNTIL",
    "Levers",
    "TownProjection",
    "TownWorkbench",
    "levers_scenario",
]

UNTIL = 2040
"""Horizon of the town pages."""

MEMO_SIZE = 256
"""How many projection and services results a workbench keeps (the newest)."""

T = TypeVar("T")
_Array = npt.NDArray[np.float64]

YOUNG = (18, 25)
"""The ages of "young people staying" (the lever ``stay_young_pct`` lowers their out-migration)."""


@dataclass(frozen=True)
class Levers:
    """The scenario controls of the web page.

    ``refugees_per_year``: people settling each year from ``from_year`` to ``to_year`` (age-sex
    profile of asylum seekers); ``stay_young_pct``: per cent fewer 18- to 24-year-olds moving away;
    ``tfr``: children per woman reached linearly by ``UNTIL`` (``None``: the base level).
    """

    refugees_per_year: int = 0
    stay_young_pct: int = 0
    tfr: float | None = None
    from_year: int = 2020
    to_year: int = 2030

    @property
    def is_base(self) -> bool:
        return self.refugees_per_year == 0 and self.stay_young_pct == 0 and self.tfr is None


def levers_scenario(zone: str, levers: Levers) -> Scenario | None:
    """The scenario of ``levers`` for ``zone`` (``None`` for the base).

    >>> s = levers_scenario("15087220", Levers(refugees_per_year=40, stay_young_pct=20))
    >>> s.extra_flows[0].per_year, s.migration.out_multipliers[0].factor
    (40.0, 0.8)
    """
    if levers.is_base:
        return None
    flows: tuple[ExtraFlow, ...] = ()
    if levers.refugees_per_year:
        flows = (
            ExtraFlow(zone, float(levers.refugees_per_year), levers.from_year, levers.to_year),
        )
    out: tuple[AgeFactor, ...] = ()
    if levers.stay_young_pct:
        out = (AgeFactor(YOUNG[0], YOUNG[1], 1.0 - levers.stay_young_pct / 100.0),)
    return Scenario(
        name="web",
        fertility=FertilityPath(tfr_target=levers.tfr, target_year=UNTIL),
        migration=MigrationPath(out_multipliers=out),
        extra_flows=flows,
    )


@dataclass(frozen=True, eq=False)
class TownProjection:
    """One town's projection: ``result`` (single years of age, deterministic and with draws),
    the ``levers`` it was run with."""

    zone: str
    levers: Levers
    result: ProjectionResult
    draws: int

    @cached_property
    def _det(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str], _Array]:
        """The deterministic population of the zone, taken out of xarray once per projection:
        years, ages, sexes and the values ``[year, sex, age]``."""
        pop = self.result.deterministic.population.isel(draw=0).sel(zone=self.zone)
        pop = pop.transpose("year", ...)
        years = pop["year"].values.astype(np.int64)
        ages = pop["age"].values.astype(np.int64)
        sexes = [str(x) for x in pop["sex"].values]
        return years, ages, sexes, pop.transpose("year", "sex", "age").values

    @cached_property
    def _totals(self) -> pd.DataFrame:
        det = self.result.deterministic.population.isel(draw=0).sel(zone=self.zone)
        det = det.transpose("year", ...)
        years = det["year"].values.astype(int)
        cols = {"year": years, "value": det.values.reshape(len(years), -1).sum(axis=1)}
        q = self.result.quantiles
        if q is not None:  # summed over sex and age with numpy (xarray's sums cost more here)
            qz = q.sel(zone=self.zone).transpose("quantile", "year", ...)
            vals = qz.values.reshape(qz.shape[0], qz.shape[1], -1).sum(axis=2)
            levels = [float(v) for v in qz["quantile"].values]
            for name, level in (("q10", 0.1), ("q50", 0.5), ("q90", 0.9)):
                cols[name] = vals[levels.index(level)]
        return pd.DataFrame(cols)

    @cached_property
    def public_secret(self) -> frozenset[tuple[object, ...]]:
        """The cells every public output of this town keeps secret
        (:func:`wandel.reports.town_secret.town_secret` of the deterministic counts: the same
        decision for the town page, the scenario page's base and the Kommunalprofil, whose
        projection gives the same counts)."""
        return town_secret(town_counts(self.result, self.zone))

    def population(self, year: int) -> pd.DataFrame:
        """Persons by sex (``m``, ``f``) and single year of age in ``year`` (deterministic)."""
        years, ages, sexes, det = self._det
        hit = np.flatnonzero(years == year)
        if not len(hit):
            raise KeyError(year)
        at = det[int(hit[0])]  # [sex, age]
        cols = {x: at[sexes.index(x)].astype(float) for x in sorted(sexes)}
        return pd.DataFrame({"age": ages, **cols})

    def totals(self) -> pd.DataFrame:
        """Total population per year: ``year, value`` (deterministic) and ``q10, q50, q90``."""
        return self._totals.copy()

    def components(self) -> pd.DataFrame:
        """Births, deaths, moves in and out per year (deterministic, both sexes)."""
        d = self.result.deterministic
        parts = {
            "births": d.births,
            "deaths": d.deaths,
            "in_migration": d.in_migration,
            "out_migration": d.out_migration,
        }
        cols = {k: v.isel(draw=0).sel(zone=self.zone).sum("sex").values for k, v in parts.items()}
        years = d.births["year"].values.astype(int)
        out = pd.DataFrame({"year": years, **cols})
        out["natural"] = out["births"] - out["deaths"]
        out["net_migration"] = out["in_migration"] - out["out_migration"]
        return out


@dataclass
class TownWorkbench:
    """The store at ``db`` loaded once; projections, services and comparisons of one zone.

    Thread-safe for reading (a lock guards the caches); the store is opened read-only.
    """

    db: Path
    tables: StoreTables = field(init=False, repr=False)
    zones: pd.DataFrame = field(init=False, repr=False)
    provenance: pd.DataFrame = field(init=False, repr=False)
    base_year: int = field(init=False)
    projectable: frozenset[str] = field(init=False, repr=False)
    _latest: dict[str, tuple[str, str]] = field(init=False, repr=False)
    _inputs: dict[str, ProjectionInputs] = field(default_factory=dict, init=False, repr=False)
    _compare: CompareData | None = field(default=None, init=False, repr=False)
    _access: dict[str, TownAccess] = field(default_factory=dict, init=False, repr=False)
    _profiles: dict[tuple[str, str, str], Report] = field(
        default_factory=dict, init=False, repr=False
    )
    _prepared: dict[tuple[str, int], PreparedServices] = field(
        default_factory=dict, init=False, repr=False
    )
    _prepared_zone: dict[tuple[object, ...], PreparedServices] = field(
        default_factory=dict, init=False, repr=False
    )
    _memo: OrderedDict[tuple[object, ...], object] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        with Store.open(self.db, read_only=True) as store:
            self.tables = load_tables(store)
            self.zones = store.zones()
            self.provenance = store.provenance()
        z = self.zones.sort_values("valid_from", kind="stable")
        self._latest = {
            str(k): (str(n), str(lv))
            for k, n, lv in zip(z["zone"], z["name"], z["level"], strict=True)
        }  # zone -> (latest name, level); the last row of a zone wins
        gem = year_end_totals(self.tables.population, 8)
        self.base_year = int(gem.loc[gem["sex"].isin(["m", "f"]), "year"].max())
        gt = gemeinde_totals(self.tables, self.base_year)
        self.projectable = frozenset(gt["zone"].astype(str))

    # -- zones ---------------------------------------------------------------------------

    def check_zone(self, zone: str) -> str:
        """``zone`` if the store knows it, else :class:`UnknownZoneError` naming the nearest."""
        if zone not in self._latest:
            raise UnknownZoneError(zone, nearest_zones(zone, self.zones))
        return zone

    def name(self, zone: str) -> str:
        """The latest name of ``zone`` in the Gemeindeverzeichnis (the AGS if none)."""
        hit = self._latest.get(zone)
        return hit[0] if hit is not None else zone

    def level(self, zone: str) -> str:
        hit = self._latest.get(zone)
        return hit[1] if hit is not None else ""

    def search(self, text: str, limit: int = 25) -> pd.DataFrame:
        """Gemeinden, Kreise and Länder whose name contains ``text`` or whose AGS starts with it
        (case-insensitive), current ones first: ``zone, name, level``."""
        t = text.strip().casefold()
        z = self.zones.sort_values("valid_from").drop_duplicates("zone", keep="last")
        z = z[z["level"].isin(["gemeinde", "kreis", "land"])]
        hit = z["zone"].astype(str).str.startswith(t) | z["name"].str.casefold().str.contains(
            t, regex=False
        )
        out = z.loc[hit, ["zone", "name", "level"]].copy()
        out["zone"] = out["zone"].astype(str)
        out["projectable"] = out["zone"].isin(self.projectable)
        return out.sort_values(["projectable", "zone"], ascending=[False, True]).head(limit)

    def networks(self, text: str = "") -> list[Network]:
        """The shipped networks whose name or title contains ``text``."""
        t = text.strip().casefold()
        return [
            n
            for n in preset_networks().values()
            if not t or t in n.name.casefold() or t in n.title.casefold()
        ]

    # -- projection ----------------------------------------------------------------------

    def inputs(self, zone: str) -> ProjectionInputs:
        """Base population and rates of one Gemeinde (built once, then cached)."""
        with self._lock:
            if zone not in self._inputs:
                self._inputs[zone] = build_inputs(self.tables, [zone], self.base_year)
            return self._inputs[zone]

    def _remember(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        """``make()``, remembered under ``key`` (the newest :data:`MEMO_SIZE` results): the
        store is read-only and every model run is seeded, so the same key gives the same result."""
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]  # type: ignore[return-value]
        value = make()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return value

    def project(
        self, zone: str, levers: Levers = Levers(), draws: int = 100, seed: int = 2040
    ) -> TownProjection:
        """Project ``zone`` to :data:`UNTIL` with ``levers`` (and ``draws`` draws for the bands)."""

        def make() -> TownProjection:
            inputs = self.inputs(zone)
            rates, notes = scenario_rates(inputs, levers_scenario(zone, levers), UNTIL)
            res = run(inputs, rates, UNTIL, draws=draws, seed=seed, notes=notes)
            return TownProjection(zone, levers, res, draws)

        return self._remember(("projection", zone, levers, draws, seed), make)

    # -- services ------------------------------------------------------------------------

    def _service_data(self) -> dict[str, pd.DataFrame]:
        with Store.open(self.db, read_only=True) as store:
            data = {k: store.table(k) for k in ("care", "facilities", "boundaries")}
        data["zones"] = self.zones
        return data

    def prepared_services(self, zone: str, draws: int = 20) -> PreparedServices:
        """The scenario-free part of the services of ``zone`` (prepared once per zone)."""
        key = (zone, draws)
        with self._lock:
            hit = self._prepared.get(key)
        if hit is None:
            req = ServicesRequest((zone,), self.base_year, UNTIL, draws=draws)
            hit = prepare_services(self.tables, self._service_data(), self.provenance, req)
            with self._lock:
                self._prepared[key] = hit
        return hit

    def _zone_prepared(self, zone: str, draws: int) -> PreparedServices:
        """:meth:`prepared_services` of ``zone`` for its own figures only: no parent sums
        (Kreis, Land, selection) and no threshold crossings, which the scenario page does not
        show; the zone's figures are those of the full run (the parents are sums of zones, the
        thresholds read the figures)."""
        key = ("zone-only", zone, draws)
        with self._lock:
            hit = self._prepared_zone.get(key)
        if hit is None:
            full = self.prepared_services(zone, draws)
            hit = replace(
                full,
                parents=Parents({}),
                plans=tuple(replace(p, thresholds=()) for p in full.plans),
            )
            with self._lock:
                self._prepared_zone[key] = hit
        return hit

    def services(
        self, zone: str, levers: Levers = Levers(), draws: int = 20, *, zone_only: bool = False
    ) -> ServicesRun:
        """Service demand of ``zone`` for the base and, unless ``levers`` are the base, the
        scenario (``scenario`` column: ``basis``, ``szenario``); the same numbers as
        :func:`wandel.workflow.services.services_from_store` with both scenarios.

        ``zone_only``: only the rows of level ``zone`` (no parent sums, no thresholds or
        crossings), the same numbers as those rows of the full run, in about half the time (the
        scenario page recomputes them on every change of a control)."""
        if zone_only:
            prep = self._zone_prepared(zone, draws)
        else:
            prep = self.prepared_services(zone, draws)
        base = self._remember(
            ("services", zone, Levers(), draws, zone_only),
            lambda: run_prepared(prep, (("basis", None),)),
        )
        if levers.is_base:
            return base
        var = self._remember(
            ("services", zone, levers, draws, zone_only),
            lambda: run_prepared(prep, (("szenario", levers_scenario(zone, levers)),)),
        )
        return replace(
            base,
            figures=pd.concat([base.figures, var.figures], ignore_index=True),
            thresholds=pd.concat([base.thresholds, var.thresholds], ignore_index=True),
            crossings=pd.concat([base.crossings, var.crossings], ignore_index=True),
            notes=tuple(dict.fromkeys((*base.notes, *var.notes))),
            source_note=var.source_note,
        )

    # -- comparison ----------------------------------------------------------------------

    def compare(self) -> CompareData:
        """The indicators of every zone (computed on first use)."""
        with self._lock:
            if self._compare is None:
                self._compare = load(self.db)
            return self._compare

    def key_indicators(self, zone: str) -> pd.DataFrame:
        """``zone``'s indicators beside its Kreis, Land and Germany (one row per indicator)."""
        data = self.compare()
        data.check_zone(zone)
        net = Network(zone, self.name(zone), (zone,))
        table: pd.DataFrame = self._remember(
            ("indicators", zone), lambda: network_comparison(data, net).table
        )
        return table  # shared: read it, do not change it

    # -- accessibility -------------------------------------------------------------------

    def access(self, zone: str) -> TownAccess:
        """Hospital access of the Gemeinden of ``zone``'s Kreis (computed once per Kreis)."""
        prefix = area_prefix(zone)
        with self._lock:
            if prefix not in self._access:
                self._access[prefix] = town_access(self.db, zone)
            return self._access[prefix]

    # -- reports -------------------------------------------------------------------------

    def profile(self, zone: str, lang: str = "de", edition: EditionKind = "public") -> Report:
        """The Kommunalprofil of the Gemeinde ``zone`` (built once per zone, language and edition;
        the same store gives the same report). The public edition (small counts kept secret)
        unless ``edition="internal"`` is asked for: who may have which is the web's
        :meth:`wandel.web.reader.Reader.permit` to decide."""
        key = (zone, lang, edition)
        with self._lock:
            hit = self._profiles.get(key)
        if hit is None:
            settings = ReportSettings(until=UNTIL, lang=lang)
            parts = self._remember(
                ("profile_parts", zone, lang),
                lambda: profile_parts(self.db, zone, settings, compare=self.compare()),
            )
            hit = build_profile(self.db, zone, settings, edition=edition, parts=parts)
            with self._lock:
                self._profiles[key] = hit
        return hit

    def sources(self) -> pd.DataFrame:
        """The store's imports: file, table, title, producer, licence, rows, tables, date."""
        return self.provenance.copy()

    def facts(self) -> Mapping[str, object]:
        """Counts of rows per table of the store."""
        with Store.open(self.db, read_only=True) as store:
            return dict(store.counts())

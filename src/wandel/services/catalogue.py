"""The service catalogue: services, their parameters and every figure with region, year and source.

The catalogue is YAML (the shipped one is ``wandel/services/catalogue.yaml``). Each service has a
``kind`` (what it computes, see :data:`KINDS`), an age span where one applies, the facility kinds
that give its capacity, and ``parameters``: for each parameter a list of *entries*::

    quota:
      - {region: "15", value: 0.594, year: 2024, source: stala_lsa_kita_2024}
      - {region: "15001", value: 0.532, year: 2024, source: stala_lsa_kita_2024}

``region`` is ``DG`` (Germany), a Land (2 digits), a Kreis (5) or a Gemeinde (8); for a zone the
most specific entry whose region is a prefix of the zone's key wins. ``valid_from``/``valid_to``
(years, inclusive) date a rule (Sachsen-Anhalt's class minimums from 2027). An entry holds a
``value`` (a number, or ``[a, b]`` for an age span), ``by_sex: [men, women]`` or ``by_age``: rows
``[age_start, age_end or null, men, women]``. Every entry needs ``region``, ``year`` and ``source``;
in the shipped catalogue ``source`` is a key of its ``sources`` table, in a user's file any text that
names the source (e.g. "Bedarfsplan Kita 2024 des Landkreises").

A figure that no source gives is *not* in the catalogue: the service then needs a user parameter and
refuses without it (:class:`wandel.errors.MissingParameterError`), never an invented default.

Parsing reports mistakes with file, line and field (:class:`wandel.errors.ServiceCatalogueError`,
:class:`wandel.errors.RateRangeError`, :class:`wandel.errors.UnknownRuleError`).

>>> cat = shipped_catalogue()
>>> e = cat.entry_for("krippe", "quota", "15087220", 2030)
>>> e.value, e.year, cat.sources[e.source].publisher
(0.594, 2024, 'Statistisches Landesamt Sachsen-Anhalt')
>>> cat.entry_for("krippe", "quota", "15001000", 2030).value  # a Kreis figure beats the Land's
0.532
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Literal

import yaml

from wandel.errors import (
    RateRangeError,
    ServiceCatalogueError,
    UnknownRuleError,
    UnknownServiceError,
)

__all__ = [
    "KINDS",
    "LAENDER",
    "Catalogue",
    "Entry",
    "ParamSpec",
    "ServiceSpec",
    "Source",
    "overrides_from_pairs",
    "param_entry",
    "parse_catalogue",
    "parse_overrides",
    "shipped_catalogue",
]

Form = Literal["scalar", "span", "by_sex", "by_age"]
Range = Literal["rate", "count", "positive", "age", "year", "nonneg"]

LAENDER: dict[str, str] = {
    "01": "Schleswig-Holstein",
    "02": "Hamburg",
    "03": "Niedersachsen",
    "04": "Bremen",
    "05": "Nordrhein-Westfalen",
    "06": "Hessen",
    "07": "Rheinland-Pfalz",
    "08": "Baden-Württemberg",
    "09": "Bayern",
    "10": "Saarland",
    "11": "Berlin",
    "12": "Brandenburg",
    "13": "Mecklenburg-Vorpommern",
    "14": "Sachsen",
    "15": "Sachsen-Anhalt",
    "16": "Thüringen",
}
"""The Länder by key (a rule for any other two-digit region is refused)."""


@dataclass(frozen=True)
class ParamSpec:
    """What a parameter looks like: its form, its range and, for costs, whether it names a measure."""

    form: Form
    range: Range
    help: str
    per_measure: bool = False


_COST = ParamSpec(
    "scalar", "nonneg", "follow-up cost in EUR per unit of a measure and year", per_measure=True
)

KINDS: dict[str, dict[str, ParamSpec]] = {
    "quota": {
        "quota": ParamSpec("scalar", "rate", "places per child of the ages (Betreuungsquote)"),
    },
    "school": {
        "min_first_class": ParamSpec("scalar", "count", "pupils needed for the first class"),
        "min_further_class": ParamSpec("scalar", "count", "pupils for each further class"),
        "min_tracks": ParamSpec("scalar", "count", "minimum parallel classes (Zügigkeit)"),
        "max_class": ParamSpec("scalar", "positive", "most pupils in one class"),
    },
    "care": {
        "care_rate": ParamSpec("by_age", "rate", "people needing care per person (Pflegequote)"),
        "type_share_home_care_service": ParamSpec("by_sex", "rate", "share ambulant"),
        "type_share_residential": ParamSpec("by_sex", "rate", "share stationär"),
        "type_share_care_allowance_only": ParamSpec("by_sex", "rate", "share Pflegegeld only"),
        "trend_until": ParamSpec("scalar", "year", "last year the rates trend continues"),
    },
    "gp": {
        "inhabitants_per_gp": ParamSpec("scalar", "positive", "allgemeine Verhältniszahl"),
        "under_supply": ParamSpec("scalar", "positive", "Versorgungsgrad below: Unterversorgung"),
        "over_supply": ParamSpec("scalar", "positive", "Versorgungsgrad above: Überversorgung"),
    },
    "fire": {
        "min_age": ParamSpec("scalar", "age", "first age of active service"),
        "max_age": ParamSpec("scalar", "age", "last age of active service"),
        "crew": ParamSpec("scalar", "count", "crew that must arrive (e.g. Gruppe 1:8 = 9)"),
        "time_min": ParamSpec("scalar", "positive", "minutes within which the crew must arrive"),
        "weekday_share": ParamSpec("scalar", "rate", "share of members available on weekdays"),
        "members_per_resident": ParamSpec("scalar", "rate", "active members per resident"),
    },
    "households": {
        "household_size": ParamSpec("scalar", "positive", "persons per household"),
        "headship_rate": ParamSpec("by_age", "rate", "households per person (Vorstandsquote)"),
    },
    "labour": {
        "participation": ParamSpec("by_age", "rate", "Erwerbsquote"),
        "entrant_ages": ParamSpec("span", "age", "ages of entrants [start, end)"),
        "leaver_ages": ParamSpec("span", "age", "ages of leavers [start, end)"),
    },
}
"""The parameters each kind of service reads (every kind also takes ``unit_cost_eur``)."""


@dataclass(frozen=True)
class Source:
    """A source of the catalogue: title, publisher, year and address."""

    key: str
    title: str
    publisher: str
    year: int
    url: str


@dataclass(frozen=True)
class Entry:
    """One figure of a parameter for one region (and span of years).

    Exactly one of ``value`` (a number or an age span), ``by_sex`` (men, women) and ``by_age``
    (rows ``age_start, age_end or None, men, women``) is set. ``origin`` says where it was read
    (``file, line N``); ``measure`` names the measure a cost applies to.
    """

    region: str
    year: int
    source: str
    origin: str
    value: float | tuple[float, float] | None = None
    by_sex: tuple[float, float] | None = None
    by_age: tuple[tuple[int, int | None, float, float], ...] | None = None
    valid_from: int | None = None
    valid_to: int | None = None
    measure: str | None = None

    def applies(self, zone: str, year: int) -> bool:
        """True if the entry's region contains ``zone`` and the entry is valid in ``year``."""
        inside = self.region == "DG" or zone.startswith(self.region)
        lo = self.valid_from if self.valid_from is not None else -(10**9)
        hi = self.valid_to if self.valid_to is not None else 10**9
        return inside and lo <= year <= hi

    @property
    def specificity(self) -> int:
        return 0 if self.region == "DG" else len(self.region)


@dataclass(frozen=True)
class ServiceSpec:
    """A service: its kind, age span ``[a, b)``, facility kinds and parameters (entries)."""

    name: str
    kind: str
    ages: tuple[int, int] | None
    facility_kinds: tuple[str, ...]
    parameters: Mapping[str, tuple[Entry, ...]]


@dataclass(frozen=True)
class Catalogue:
    """Sources and services; :meth:`entry_for` resolves a parameter for a zone and year."""

    sources: Mapping[str, Source]
    services: Mapping[str, ServiceSpec]
    origin: str = ""
    notes: tuple[str, ...] = field(default=())

    def service(self, name: str) -> ServiceSpec:
        """The service ``name``; an unknown one is a :class:`UnknownServiceError`."""
        if name not in self.services:
            raise UnknownServiceError(
                "@services.error.unknown_service", name=repr(name), known=sorted(self.services)
            )
        return self.services[name]

    def entries(self, service: str, parameter: str) -> tuple[Entry, ...]:
        return self.service(service).parameters.get(parameter, ())

    def entry_for(
        self, service: str, parameter: str, zone: str, year: int, measure: str | None = None
    ) -> Entry | None:
        """The most specific entry of ``service.parameter`` valid for ``zone`` in ``year``, or None."""
        best: Entry | None = None
        for e in self.entries(service, parameter):
            if measure is not None and e.measure != measure:
                continue
            if e.applies(zone, year) and (best is None or e.specificity > best.specificity):
                best = e
        return best

    def source_text(self, key: str) -> str:
        """A readable citation of ``key`` (a catalogue source or a user's free text)."""
        s = self.sources.get(key)
        if s is None:
            return key
        return f"{s.publisher}: {s.title} ({s.year}), {s.url}"

    def with_entries(self, service: str, parameter: str, entries: Sequence[Entry]) -> Catalogue:
        """A catalogue where ``entries`` are added to ``service.parameter`` (same region and
        validity as an existing entry: the new one replaces it)."""
        spec = self.service(service)
        kind = KINDS[spec.kind]
        if parameter not in kind and parameter != "unit_cost_eur":
            raise UnknownServiceError(
                "@services.error.unknown_parameter",
                service=repr(service),
                kind=spec.kind,
                parameter=repr(parameter),
                known=sorted([*kind, "unit_cost_eur"]),
            )
        old = list(spec.parameters.get(parameter, ()))
        for e in entries:
            old = [o for o in old if _slot(o) != _slot(e)]
            old.append(e)
        params = {**spec.parameters, parameter: tuple(old)}
        services = {**self.services, service: replace(spec, parameters=params)}
        return replace(self, services=services)


def _slot(e: Entry) -> tuple[str, int | None, int | None, str | None]:
    return (e.region, e.valid_from, e.valid_to, e.measure)


# --------------------------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------------------------


class _Map(dict[str, Any]):
    line: int = 0


class _Seq(list[Any]):
    line: int = 0


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that remembers the line of every mapping and sequence (libyaml's parser
    where PyYAML has it: the same documents, several times faster)."""


def _map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    m = _Map({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    m.line = node.start_mark.line + 1
    return m


def _seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    s = _Seq(loader.construct_sequence(node, deep=True))
    s.line = node.start_mark.line + 1
    return s


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _seq)


def _load(text: str, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ServiceCatalogueError(
            file,
            line=None if mark is None else mark.line + 1,
            reason="not valid YAML",
            expected=str(getattr(exc, "problem", "") or exc),
        ) from None


def _line(node: object, default: int | None = None) -> int | None:
    return getattr(node, "line", default)


# --------------------------------------------------------------------------------------------
# entries
# --------------------------------------------------------------------------------------------

_ENTRY_FIELDS = {
    "region",
    "year",
    "source",
    "value",
    "by_sex",
    "by_age",
    "valid_from",
    "valid_to",
    "measure",
}


def _number(x: object, file: str, line: int | None, column: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ServiceCatalogueError(file, line=line, column=column, value=x, expected="a number")
    return float(x)


def _check_range(v: float, rng: Range, file: str, line: int | None, column: str) -> None:
    bad = {
        "rate": not 0.0 <= v <= 1.0,
        "count": v < 0 or v != int(v),
        "positive": v <= 0,
        "age": not 0 <= v <= 100 or v != int(v),
        "year": not 1900 <= v <= 2200 or v != int(v),
        "nonneg": v < 0,
    }[rng]
    if bad:
        expected = {
            "rate": "a rate or share in [0, 1]",
            "count": "a whole number >= 0",
            "positive": "a number > 0",
            "age": "an age 0..100",
            "year": "a year",
            "nonneg": "a number >= 0",
        }[rng]
        raise RateRangeError(file, line=line, column=column, value=v, expected=expected)


def _pair(
    v: object, rng: Range, file: str, line: int | None, column: str, expected: str
) -> tuple[float, float]:
    """Two numbers ``[a, b]`` in range ``rng``."""
    if not isinstance(v, list) or len(v) != 2:
        raise ServiceCatalogueError(file, line=line, column=column, value=v, expected=expected)
    a, b = (_number(x, file, line, column) for x in v)
    for x in (a, b):
        _check_range(x, rng, file, line, column)
    return a, b


def _region(x: object, file: str, line: int | None) -> str:
    r = str(x).strip() if x is not None else ""
    if r == "DG":
        return r
    if not r.isdigit() or len(r) not in (2, 5, 8):
        raise UnknownRuleError(
            file,
            line=line,
            column="region",
            value=x,
            expected="DG, a Land (2 digits), a Kreis (5) or a Gemeinde (8), as a quoted string",
        )
    if r[:2] not in LAENDER:
        raise UnknownRuleError(
            file, line=line, column="region", value=x, expected="a key of a German Land (01..16)"
        )
    return r


def _by_age(
    rows: object, spec: ParamSpec, file: str, line: int | None
) -> tuple[tuple[int, int | None, float, float], ...]:
    if not isinstance(rows, list) or not rows:
        raise ServiceCatalogueError(
            file, line=line, column="by_age", value=rows, expected="rows [age_start, age_end, m, f]"
        )
    out: list[tuple[int, int | None, float, float]] = []
    prev_end: int | None = None
    for i, row in enumerate(rows):
        ln = _line(row, line)
        if not isinstance(row, list) or len(row) != 4:
            raise ServiceCatalogueError(
                file,
                line=ln,
                column=f"by_age[{i}]",
                value=row,
                expected="[age_start, age_end (null = open), men, women]",
            )
        a0 = int(_number(row[0], file, ln, f"by_age[{i}].age_start"))
        a1 = None if row[1] is None else int(_number(row[1], file, ln, f"by_age[{i}].age_end"))
        if (a1 is not None and a1 <= a0) or (prev_end is not None and a0 < prev_end):
            raise ServiceCatalogueError(
                file,
                line=ln,
                column=f"by_age[{i}]",
                value=row,
                expected="age groups in increasing order without overlap",
            )
        if a0 > 100 or (a1 is not None and a1 > 101):
            raise RateRangeError(
                file, line=ln, column=f"by_age[{i}]", value=row, expected="ages 0..100"
            )
        m = _number(row[2], file, ln, f"by_age[{i}].men")
        f = _number(row[3], file, ln, f"by_age[{i}].women")
        for v, col in ((m, "men"), (f, "women")):
            _check_range(v, spec.range, file, ln, f"by_age[{i}].{col}")
        out.append((a0, a1, m, f))
        prev_end = a1 if a1 is not None else 10**6
    return tuple(out)


def _figure(
    raw: Mapping[str, Any], spec: ParamSpec, file: str, line: int | None
) -> tuple[
    float | tuple[float, float] | None,
    tuple[float, float] | None,
    tuple[tuple[int, int | None, float, float], ...] | None,
]:
    """The figure of an entry in its parameter's form: ``(value, by_sex, by_age)``, one set."""
    value: float | tuple[float, float] | None = None
    by_sex: tuple[float, float] | None = None
    by_age: tuple[tuple[int, int | None, float, float], ...] | None = None
    if spec.form == "scalar":
        value = _number(raw["value"], file, line, "value")
        _check_range(value, spec.range, file, line, "value")
    elif spec.form == "span":
        v = raw["value"]
        a, b = _pair(v, "age", file, line, "value", "[first age, end age)")
        if b <= a:
            raise ServiceCatalogueError(
                file, line=line, column="value", value=v, expected="an end age after the first"
            )
        value = (a, b)
    elif spec.form == "by_sex":
        by_sex = _pair(raw["by_sex"], spec.range, file, line, "by_sex", "[men, women]")
    else:
        by_age = _by_age(raw["by_age"], spec, file, line)
    return value, by_sex, by_age


def param_entry(
    raw: Mapping[str, Any],
    spec: ParamSpec,
    file: str,
    line: int | None,
    sources: Mapping[str, Source] | None,
) -> Entry:
    """One entry from its YAML mapping, checked against the parameter's form and range.

    ``sources`` given (the shipped or a user's whole catalogue): ``source`` must be one of its keys.
    None (overrides): ``source`` is free text naming the source, but it must be there.
    """
    unknown = sorted(set(raw) - _ENTRY_FIELDS - {"service", "parameter"})
    if unknown:
        raise ServiceCatalogueError(
            file,
            line=line,
            column=unknown[0],
            reason="unknown field",
            expected=", ".join(sorted(_ENTRY_FIELDS)),
        )
    for need in ("region", "year", "source"):
        if raw.get(need) in (None, ""):
            raise ServiceCatalogueError(
                file,
                line=line,
                column=need,
                reason=f"@services.error.needs_{need}",
                expected=f"@services.expected.{need}",
            )
    source = str(raw["source"]).strip()
    if sources is not None and source not in sources:
        raise ServiceCatalogueError(
            file,
            line=line,
            column="source",
            value=source,
            expected="@services.expected.source_key",
            fields={"keys": sorted(sources) or ["-"]},
        )
    region = _region(raw["region"], file, line)
    year = int(_number(raw["year"], file, line, "year"))
    _check_range(year, "year", file, line, "year")
    forms = [k for k in ("value", "by_sex", "by_age") if raw.get(k) is not None]
    if forms != [{"scalar": "value", "span": "value"}.get(spec.form, spec.form)]:
        want = {"scalar": "value", "span": "value", "by_sex": "by_sex", "by_age": "by_age"}
        raise ServiceCatalogueError(
            file,
            line=line,
            column=forms[0] if forms else want[spec.form],
            reason="@services.error.given_as",
            expected=f"@services.expected.form_{spec.form}",
            fields={"form": want[spec.form]},
        )
    value, by_sex, by_age = _figure(raw, spec, file, line)
    vf = raw.get("valid_from")
    vt = raw.get("valid_to")
    valid_from = None if vf is None else int(_number(vf, file, line, "valid_from"))
    valid_to = None if vt is None else int(_number(vt, file, line, "valid_to"))
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise ServiceCatalogueError(
            file,
            line=line,
            column="valid_to",
            value=vt,
            expected="@services.expected.year_from",
            fields={"year": valid_from},
        )
    measure = raw.get("measure")
    if spec.per_measure and not measure:
        raise ServiceCatalogueError(
            file,
            line=line,
            column="measure",
            reason="a cost applies to one measure",
            expected="measure: e.g. places, classes, residential",
        )
    return Entry(
        region=region,
        year=year,
        source=source,
        origin=f"{file}, line {line}" if line else file,
        value=value,
        by_sex=by_sex,
        by_age=by_age,
        valid_from=valid_from,
        valid_to=valid_to,
        measure=None if measure is None else str(measure),
    )


def _param_spec(kind: str, parameter: str, file: str, line: int | None, service: str) -> ParamSpec:
    if parameter == "unit_cost_eur":
        return _COST
    spec = KINDS[kind].get(parameter)
    if spec is None:
        raise ServiceCatalogueError(
            file,
            line=line,
            column=parameter,
            reason="@services.error.no_such_parameter",
            expected=", ".join(sorted([*KINDS[kind], "unit_cost_eur"])),
            fields={"service": repr(service), "kind": kind},
        )
    return spec


def _check_unique(entries: Sequence[Entry], file: str, line: int | None, what: str) -> None:
    """No two entries of one parameter for the same region whose years overlap."""
    for i, a in enumerate(entries):
        for b in entries[i + 1 :]:
            if a.region != b.region or a.measure != b.measure:
                continue
            a0, a1 = a.valid_from or -(10**9), a.valid_to or 10**9
            b0, b1 = b.valid_from or -(10**9), b.valid_to or 10**9
            if a0 <= b1 and b0 <= a1:
                raise ServiceCatalogueError(
                    file,
                    line=int(b.origin.rsplit("line ", 1)[-1]) if "line " in b.origin else line,
                    column=what,
                    value=b.region,
                    reason="two figures for the same region and years",
                    expected="one figure per region, or valid_from / valid_to that do not overlap",
                )


def _service(name: str, raw: object, file: str, sources: Mapping[str, Source]) -> ServiceSpec:
    line = _line(raw)
    if not isinstance(raw, dict):
        raise ServiceCatalogueError(file, line=line, column=name, expected="a mapping")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise UnknownServiceError(
            "@services.error.unknown_kind",
            file=file,
            line=line,
            name=repr(name),
            kind=repr(kind),
            known=sorted(KINDS),
        )
    ages = raw.get("ages")
    span: tuple[int, int] | None = None
    if ages is not None:
        if not isinstance(ages, list) or len(ages) != 2 or not ages[0] < ages[1] <= 101:
            raise ServiceCatalogueError(
                file, line=line, column="ages", value=ages, expected="[first age, end age)"
            )
        span = (int(ages[0]), int(ages[1]))
    elif kind in ("quota", "school"):
        raise ServiceCatalogueError(
            file,
            line=line,
            column="ages",
            reason="@services.error.needs_ages",
            fields={"kind": kind},
        )
    params_raw = raw.get("parameters") or {}
    params: dict[str, tuple[Entry, ...]] = {}
    for pname, rows in params_raw.items():
        pl = _line(rows, line)
        spec = _param_spec(str(kind), str(pname), file, pl, name)
        if not isinstance(rows, list):
            raise ServiceCatalogueError(file, line=pl, column=pname, expected="a list of figures")
        entries = []
        for row in rows:
            if not isinstance(row, dict):
                raise ServiceCatalogueError(
                    file, line=_line(row, pl), column=pname, value=row, expected="a mapping"
                )
            entries.append(param_entry(row, spec, file, _line(row, pl), sources))
        _check_unique(entries, file, pl, str(pname))
        params[str(pname)] = tuple(entries)
    kinds = raw.get("facility_kinds") or []
    return ServiceSpec(name, str(kind), span, tuple(str(k) for k in kinds), params)


def parse_catalogue(text: str, file: str = "<catalogue>") -> Catalogue:
    """A whole catalogue from YAML text (the shipped file or a user's own).

    Raises
    ------
    ServiceCatalogueError
        Malformed YAML, a figure without region, year or source, a source key not in ``sources``,
        a source without title, publisher, year or url, two figures for the same region and years.
    RateRangeError
        A rate outside [0, 1], a negative count.
    UnknownRuleError
        A region that is no Land, Kreis or Gemeinde key.
    UnknownServiceError
        A service of an unknown kind.
    """
    data = _load(text, file)
    if not isinstance(data, dict) or "services" not in data:
        raise ServiceCatalogueError(
            file,
            line=1,
            reason="not a service catalogue",
            expected="top-level keys sources, services",
        )
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, dict) or not raw_sources:
        raise ServiceCatalogueError(
            file,
            line=_line(raw_sources, 1),
            column="sources",
            reason="a catalogue without sources",
            expected="a sources table: key -> title, publisher, year, url",
        )
    sources: dict[str, Source] = {}
    for key, s in raw_sources.items():
        sl = _line(s, _line(raw_sources))
        if not isinstance(s, dict):
            raise ServiceCatalogueError(
                file, line=sl, column=key, expected="title, publisher, year, url"
            )
        for need in ("title", "publisher", "year", "url"):
            if not s.get(need):
                raise ServiceCatalogueError(
                    file,
                    line=sl,
                    column=f"{key}.{need}",
                    reason="@services.error.source_needs",
                    fields={"field": need},
                )
        sources[str(key)] = Source(
            str(key), str(s["title"]), str(s["publisher"]), int(s["year"]), str(s["url"])
        )
    raw_services = data["services"]
    if not isinstance(raw_services, dict) or not raw_services:
        raise ServiceCatalogueError(
            file, line=_line(raw_services, 1), column="services", expected="services"
        )
    services = {str(n): _service(str(n), s, file, sources) for n, s in raw_services.items()}
    return Catalogue(sources, services, file)


def shipped_catalogue() -> Catalogue:
    """The catalogue shipped with Wandel (``wandel/services/catalogue.yaml``)."""
    res = resources.files("wandel") / "services" / "catalogue.yaml"
    return parse_catalogue(res.read_text(encoding="utf-8"), "wandel/services/catalogue.yaml")


def parse_overrides(text: str, catalogue: Catalogue, file: str = "<overrides>") -> Catalogue:
    """``catalogue`` with a user's single figures added (YAML ``overrides:`` list).

    Each item names ``service`` and ``parameter`` and is an entry (``region``, ``year``,
    ``source`` as free text, the value, optionally ``valid_from``/``valid_to``; costs a
    ``measure``). A figure for the same region and years replaces the catalogue's::

        overrides:
          - {service: feuerwehr, parameter: weekday_share, region: "15087", value: 0.25,
             year: 2024, source: "Umfrage der Kreisbrandmeister 2024"}
    """
    data = _load(text, file)
    items = data.get("overrides") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ServiceCatalogueError(
            file, line=1, reason="not an overrides file", expected="a top-level list 'overrides:'"
        )
    cat = catalogue
    for item in items:
        line = _line(item)
        if not isinstance(item, dict):
            raise ServiceCatalogueError(file, line=line, value=item, expected="a mapping")
        for need in ("service", "parameter"):
            if not item.get(need):
                raise ServiceCatalogueError(file, line=line, column=need, reason="missing")
        name = str(item["service"])
        try:
            spec = cat.service(name)
        except UnknownServiceError as exc:
            raise UnknownServiceError(
                "@services.error.unknown_service_at",
                file=file,
                line=line,
                name=repr(name),
                known=sorted(cat.services),
            ) from exc
        pname = str(item["parameter"])
        pspec = _param_spec(spec.kind, pname, file, line, name)
        entry = param_entry(item, pspec, file, line, None)
        cat = cat.with_entries(name, pname, [entry])
    return cat


def overrides_from_pairs(
    pairs: Iterable[str], catalogue: Catalogue, year: int, source: str = "--param"
) -> Catalogue:
    """``catalogue`` with ``SERVICE.PARAMETER[.MEASURE][@REGION]=VALUE`` pairs (command line) added.

    The value is a number (or ``a-b`` for an age span); the region defaults to ``DG``; the figure's
    year is ``year`` and its source the command line. Costs name their measure:
    ``kita.unit_cost_eur.places@15=11000``.

    >>> c = overrides_from_pairs(["feuerwehr.weekday_share@15=0.3"], shipped_catalogue(), 2024)
    >>> c.entry_for("feuerwehr", "weekday_share", "15087220", 2030).value
    0.3
    """
    cat = catalogue
    for pair in pairs:
        head, sep, val = pair.partition("=")
        name, dot, rest = head.partition(".")
        pname, _, region = rest.partition("@")
        pname, _, measure = pname.partition(".")
        if not sep or not dot or not pname:
            raise ServiceCatalogueError(
                source,
                value=pair,
                expected="SERVICE.PARAMETER[@REGION]=VALUE, e.g. kita.quota@15=0.9",
            )
        spec = cat.service(name.strip())
        pspec = _param_spec(spec.kind, pname.strip(), source, None, name)
        raw: dict[str, Any] = {"region": region.strip() or "DG", "year": year, "source": source}
        if measure:
            raw["measure"] = measure.strip()
        try:
            if pspec.form == "span":
                a, b = val.split("-")
                raw["value"] = [float(a), float(b)]
            elif pspec.form == "scalar":
                raw["value"] = float(val)
            else:
                raise ServiceCatalogueError(
                    source,
                    value=pair,
                    expected="@services.expected.table_in_overrides",
                    fields={"parameter": pname},
                )
        except ValueError:
            raise ServiceCatalogueError(source, value=pair, expected="a number") from None
        cat = cat.with_entries(
            spec.name, pname.strip(), [param_entry(raw, pspec, source, None, None)]
        )
    return cat

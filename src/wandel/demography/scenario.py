"""Projection scenarios as a typed, documented YAML format.

A scenario file holds one or more named variants. Every field has a default, so an empty variant is
the status-quo projection. Example::

    name: Hettstedt 2040
    base_year: 2023
    horizon: 2040
    variants:
      basis: {}
      zuzug:
        description: 40 Geflüchtete pro Jahr bleiben in Hettstedt (2025-2030)
        extra_flows:
          - zone: "15087220"
            per_year: 40
            from_year: 2025
            to_year: 2030
            profile: asylum_seekers
      bleiben:
        description: 20 % weniger 18- bis 24-Jährige ziehen fort
        migration:
          out_multipliers: [{age_start: 18, age_end: 25, factor: 0.8}]
        fertility: {tfr_target: 1.5, target_year: 2035}
        mortality: {e0_gain_per_year: 0.15}

``base_year`` and ``horizon`` (the last projected year) are the defaults of a run with this file
(``wandel project --scenario FILE`` needs no ``--base-year`` or ``--until`` then); an option given
on the command line overrides the file's value, and the run says so in a note.

Fields (units in names): ``fertility.tfr_target`` (children per woman, reached linearly by
``target_year``; absent = keep the base level), ``mortality.e0_gain_per_year`` (years of life expectancy
gained per calendar year, both sexes), ``migration.in_multipliers`` / ``out_multipliers`` (factors on
the base in- and out-migration by age group; where a zone has no moves away of its own, the out
factors act on its Kreis's out-rates, see :func:`wandel.demography.scenario_rates.stay_flows`),
``extra_flows`` (people per year added to a zone,
distributed by a named age-sex profile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wandel.errors import InputFormatError, UnknownVariantError

__all__ = [
    "PROFILES",
    "AgeFactor",
    "ExtraFlow",
    "FertilityPath",
    "MigrationPath",
    "MortalityPath",
    "Scenario",
    "ScenarioFile",
    "load_scenarios",
    "parse_scenarios",
]

PROFILES = ("asylum_seekers", "families", "young_adults", "retirees", "base_in_migration")
"""Named age-sex profiles for extra flows (shapes are defined with the rates in the demography layer)."""


@dataclass(frozen=True)
class AgeFactor:
    """A multiplier on an age group ``[age_start, age_end)``; ``age_end=None`` is open."""

    age_start: int
    age_end: int | None
    factor: float


@dataclass(frozen=True)
class FertilityPath:
    tfr_target: float | None = None
    target_year: int | None = None


@dataclass(frozen=True)
class MortalityPath:
    e0_gain_per_year: float = 0.0


@dataclass(frozen=True)
class MigrationPath:
    level: float = 1.0
    in_multipliers: tuple[AgeFactor, ...] = ()
    out_multipliers: tuple[AgeFactor, ...] = ()


@dataclass(frozen=True)
class ExtraFlow:
    """``per_year`` people (negative: leaving) added to ``zone`` each year from ``from_year`` to ``to_year``."""

    zone: str
    per_year: float
    from_year: int
    to_year: int
    profile: str = "asylum_seekers"


@dataclass(frozen=True)
class Scenario:
    """One named variant."""

    name: str
    description: str = ""
    fertility: FertilityPath = field(default_factory=FertilityPath)
    mortality: MortalityPath = field(default_factory=MortalityPath)
    migration: MigrationPath = field(default_factory=MigrationPath)
    extra_flows: tuple[ExtraFlow, ...] = ()


@dataclass(frozen=True)
class ScenarioFile:
    """A parsed scenario file: its ``name``, the run defaults ``base_year`` and ``horizon`` (the
    last projected year; the options of a run override them), its variants, the ``file`` it came
    from and the ``lines`` of its top-level fields (for messages)."""

    name: str
    base_year: int | None
    horizon: int | None
    variants: tuple[Scenario, ...]
    file: str = "<scenario>"
    lines: dict[str, int] = field(default_factory=dict)

    def variant(self, name: str) -> Scenario:
        """The variant called ``name``; an :class:`~wandel.errors.UnknownVariantError` naming the
        file's variants if there is none."""
        for v in self.variants:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.variants)
        raise UnknownVariantError(
            "@demography.error.no_variant", file=self.file, name=repr(name), known=known
        )


class _Reader:
    def __init__(
        self, file: str, marks: dict[int, int], keylines: dict[int, dict[str, int]]
    ) -> None:
        self.file = file
        self.marks = marks
        self.keylines = keylines

    def fail(self, node: Any, path: str, value: object, expected: str) -> InputFormatError:
        """An error at ``path``; the line is the field's own line where known, else its mapping's."""
        key = path.rsplit(".", 1)[-1].split("[", 1)[0]
        line = self.keylines.get(id(node), {}).get(key, self.marks.get(id(node)))
        return InputFormatError(self.file, line=line, column=path, value=value, expected=expected)

    def mapping(self, node: Any, path: str, allowed: set[str]) -> dict[str, Any]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise self.fail(node, path, node, "a mapping of fields")
        unknown = sorted(set(node) - allowed)
        if unknown:
            raise self.fail(node, f"{path}.{unknown[0]}", unknown[0], f"one of {sorted(allowed)}")
        return node

    def number(self, parent: Any, node: Any, path: str, lo: float, hi: float) -> float:
        if isinstance(node, bool) or not isinstance(node, int | float):
            raise self.fail(parent, path, node, "a number")
        if not lo <= float(node) <= hi:
            raise self.fail(parent, path, node, f"a number from {lo} to {hi}")
        return float(node)

    def integer(self, parent: Any, node: Any, path: str, lo: int, hi: int) -> int:
        if isinstance(node, bool) or not isinstance(node, int) or not lo <= node <= hi:
            raise self.fail(parent, path, node, f"a whole number from {lo} to {hi}")
        return int(node)


def _age_factors(r: _Reader, node: Any, path: str) -> tuple[AgeFactor, ...]:
    if node is None:
        return ()
    if not isinstance(node, list):
        raise r.fail(node, path, node, "a list of {age_start, age_end, factor}")
    out = []
    for i, item in enumerate(node):
        p = f"{path}[{i}]"
        m = r.mapping(item, p, {"age_start", "age_end", "factor"})
        a = r.integer(item, m.get("age_start"), f"{p}.age_start", 0, 120)
        e = m.get("age_end")
        end = None if e is None else r.integer(item, e, f"{p}.age_end", a + 1, 121)
        out.append(AgeFactor(a, end, r.number(item, m.get("factor"), f"{p}.factor", 0.0, 10.0)))
    return tuple(out)


def _variant(r: _Reader, name: str, node: Any) -> Scenario:
    p = f"variants.{name}"
    m = r.mapping(node, p, {"description", "fertility", "mortality", "migration", "extra_flows"})
    fert = r.mapping(m.get("fertility"), f"{p}.fertility", {"tfr_target", "target_year"})
    mort = r.mapping(m.get("mortality"), f"{p}.mortality", {"e0_gain_per_year"})
    mig = r.mapping(
        m.get("migration"), f"{p}.migration", {"level", "in_multipliers", "out_multipliers"}
    )
    fnode = m.get("fertility")
    tfr = fert.get("tfr_target")
    ty = fert.get("target_year")
    flows = []
    raw_flows = m.get("extra_flows") or []
    if not isinstance(raw_flows, list):
        raise r.fail(node, f"{p}.extra_flows", raw_flows, "a list of flows")
    for i, f in enumerate(raw_flows):
        fp = f"{p}.extra_flows[{i}]"
        fm = r.mapping(f, fp, {"zone", "per_year", "from_year", "to_year", "profile"})
        zone = fm.get("zone")
        if not isinstance(zone, str) or not zone.isdigit() or len(zone) not in (2, 5, 8):
            raise r.fail(
                f, f"{fp}.zone", zone, 'an AGS in quotes with leading zeros, e.g. "15087220"'
            )
        y0 = r.integer(f, fm.get("from_year"), f"{fp}.from_year", 1900, 2200)
        y1 = r.integer(f, fm.get("to_year", y0), f"{fp}.to_year", y0, 2200)
        prof = fm.get("profile", "asylum_seekers")
        if prof not in PROFILES:
            raise r.fail(f, f"{fp}.profile", prof, f"one of {list(PROFILES)}")
        per_year = r.number(f, fm.get("per_year"), f"{fp}.per_year", -1e6, 1e6)
        flows.append(ExtraFlow(zone, per_year, y0, y1, str(prof)))
    mnode = m.get("migration")
    return Scenario(
        name=name,
        description=str(m.get("description", "")),
        fertility=FertilityPath(
            None if tfr is None else r.number(fnode, tfr, f"{p}.fertility.tfr_target", 0.3, 5.0),
            None if ty is None else r.integer(fnode, ty, f"{p}.fertility.target_year", 1900, 2200),
        ),
        mortality=MortalityPath(
            r.number(
                m.get("mortality"),
                mort.get("e0_gain_per_year", 0.0),
                f"{p}.mortality.e0_gain_per_year",
                -1.0,
                1.0,
            )
        ),
        migration=MigrationPath(
            r.number(mnode, mig.get("level", 1.0), f"{p}.migration.level", 0.0, 10.0),
            _age_factors(r, mig.get("in_multipliers"), f"{p}.migration.in_multipliers"),
            _age_factors(r, mig.get("out_multipliers"), f"{p}.migration.out_multipliers"),
        ),
        extra_flows=tuple(flows),
    )


class _MarkLoader(yaml.SafeLoader):
    pass


def parse_scenarios(text: str, file: str = "<scenario>") -> ScenarioFile:
    """Parse scenario YAML; any mistake raises :class:`InputFormatError` with the line and field."""
    marks: dict[int, int] = {}
    keylines: dict[int, dict[str, int]] = {}

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        value = loader.construct_mapping(node, deep=True)
        marks[id(value)] = node.start_mark.line + 1
        keylines[id(value)] = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
        return value

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> list[Any]:
        value = loader.construct_sequence(node, deep=True)
        marks[id(value)] = node.start_mark.line + 1
        return value

    class loader_cls(_MarkLoader):  # a fresh class per call: constructors close over ``marks``
        pass

    loader_cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    loader_cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    try:
        doc = yaml.load(text, Loader=loader_cls)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputFormatError(
            file,
            line=None if mark is None else mark.line + 1,
            reason=f"not valid YAML ({getattr(exc, 'problem', exc)})",
            expected="a YAML scenario file",
        ) from None
    r = _Reader(file, marks, keylines)
    top = r.mapping(doc, "(top)", {"name", "base_year", "horizon", "variants"})
    base = top.get("base_year")
    horizon = top.get("horizon")
    by = None if base is None else r.integer(doc, base, "base_year", 1950, 2200)
    hz = None if horizon is None else r.integer(doc, horizon, "horizon", (by or 1950) + 1, 2300)
    variants_node = top.get("variants") or {"basis": {}}
    if not isinstance(variants_node, dict) or not variants_node:
        raise r.fail(doc, "variants", variants_node, "a mapping of variant names to variants")
    variants = tuple(_variant(r, str(k), v) for k, v in variants_node.items())
    lines = {k: v for k, v in keylines.get(id(doc), {}).items() if k in ("base_year", "horizon")}
    return ScenarioFile(str(top.get("name", Path(file).stem)), by, hz, variants, file, lines)


def load_scenarios(path: str | Path) -> ScenarioFile:
    """Read a scenario file (UTF-8)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            str(p), reason=f"not UTF-8 ({exc.reason})", expected="UTF-8 YAML"
        ) from None
    return parse_scenarios(text, str(p))

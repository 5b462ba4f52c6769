"""Scenario YAML: typed, defaults for everything, clear errors with line and field."""

from __future__ import annotations

import pytest

from wandel.demography.scenario import parse_scenarios
from wandel.errors import InputFormatError

GOOD = """
name: Hettstedt 2040
base_year: 2023
horizon: 2040
variants:
  basis: {}
  zuzug:
    description: 40 Geflüchtete pro Jahr
    extra_flows:
      - zone: "15087220"
        per_year: 40
        from_year: 2025
        to_year: 2030
  bleiben:
    migration:
      out_multipliers: [{age_start: 18, age_end: 25, factor: 0.8}]
    fertility: {tfr_target: 1.5, target_year: 2035}
    mortality: {e0_gain_per_year: 0.15}
"""


def test_good_file() -> None:
    sf = parse_scenarios(GOOD)
    assert (sf.base_year, sf.horizon) == (2023, 2040)
    assert [v.name for v in sf.variants] == ["basis", "zuzug", "bleiben"]
    basis = sf.variant("basis")
    assert basis.migration.level == 1.0
    assert basis.fertility.tfr_target is None
    flow = sf.variant("zuzug").extra_flows[0]
    assert (flow.zone, flow.per_year, flow.from_year, flow.to_year) == (
        "15087220",
        40.0,
        2025,
        2030,
    )
    assert flow.profile == "asylum_seekers"
    b = sf.variant("bleiben")
    assert b.migration.out_multipliers[0].factor == 0.8
    assert b.migration.out_multipliers[0].age_end == 25
    assert b.fertility.tfr_target == 1.5
    assert b.mortality.e0_gain_per_year == 0.15


@pytest.mark.parametrize(
    ("bad", "line", "column"),
    [
        (
            GOOD.replace('zone: "15087220"', "zone: 15087220"),
            10,
            "variants.zuzug.extra_flows[0].zone",
        ),
        (
            GOOD.replace("factor: 0.8", "factor: viel"),
            16,
            "variants.bleiben.migration.out_multipliers[0].factor",
        ),
        (
            GOOD.replace("tfr_target: 1.5", "tfr_target: 15"),
            17,
            "variants.bleiben.fertility.tfr_target",
        ),
        (GOOD.replace("horizon: 2040", "horizon: 2000"), 4, "horizon"),
        (GOOD.replace("mortality:", "mortalität:"), 18, "variants.bleiben.mortalität"),
        (
            GOOD.replace("to_year: 2030", "to_year: 2020"),
            13,
            "variants.zuzug.extra_flows[0].to_year",
        ),
    ],
)
def test_bad_fields_name_line_and_field(bad: str, line: int, column: str) -> None:
    with pytest.raises(InputFormatError) as info:
        parse_scenarios(bad, "s.yaml")
    assert info.value.column == column
    assert info.value.line == line
    assert "s.yaml" in str(info.value)


def test_not_yaml() -> None:
    with pytest.raises(InputFormatError) as info:
        parse_scenarios("variants: [unclosed", "s.yaml")
    assert info.value.line == 1

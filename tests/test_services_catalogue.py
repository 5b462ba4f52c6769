"""The service catalogue: every shipped figure sourced, bad catalogues and overrides refused with
file, line and field."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from wandel.errors import (
    RateRangeError,
    ServiceCatalogueError,
    UnknownRuleError,
    UnknownServiceError,
)
from wandel.services import (
    KINDS,
    overrides_from_pairs,
    parse_catalogue,
    parse_overrides,
    shipped_catalogue,
)

SHIPPED = (resources.files("wandel") / "services" / "catalogue.yaml").read_text(encoding="utf-8")

MINI = """\
sources:
  s1: {title: "T", publisher: "P", year: 2024, url: "https://example.org"}
services:
  kita:
    kind: quota
    ages: [3, 6]
    parameters:
      quota:
        - {region: "15", value: 0.9, year: 2024, source: s1}
"""


def test_every_shipped_figure_has_region_year_and_a_source_with_url() -> None:
    cat = shipped_catalogue()
    assert set(cat.services) == {
        "krippe",
        "kita",
        "grundschule",
        "sekundarstufe1",
        "pflege",
        "hausaerzte",
        "feuerwehr",
        "haushalte",
        "erwerbspersonen",
    }
    n = 0
    for spec in cat.services.values():
        assert spec.kind in KINDS
        for entries in spec.parameters.values():
            for e in entries:
                n += 1
                assert e.region, e
                assert e.year, e
                assert e.source in cat.sources, e
                assert cat.sources[e.source].url.startswith("http")
    assert n >= 40


def test_published_figures_as_read_in_the_sources() -> None:
    cat = shipped_catalogue()
    get = cat.entry_for
    assert get("krippe", "quota", "15091000", 2030).value == 0.637  # Wittenberg 2024
    assert get("kita", "quota", "16073077", 2030).value == 0.951  # Thüringen 2023
    assert get("grundschule", "max_class", "14625020", 2030).value == 28  # § 4a (2) SächsSchulG
    assert get("grundschule", "min_first_class", "15002000", 2026).value == 15
    assert get("grundschule", "min_first_class", "15002000", 2027).value == 25  # Halle from 2027
    assert get("hausaerzte", "inhabitants_per_gp", "14625020", 2024).value == 1616
    assert get("hausaerzte", "inhabitants_per_gp", "14625020", 2025).value == 1633
    assert get("feuerwehr", "crew", "15087220", 2030).value == 9  # Gruppe 1:8 in Sachsen-Anhalt
    assert (
        get("feuerwehr", "crew", "14625020", 2030) is None
    )  # not found for Sachsen: user parameter
    assert get("feuerwehr", "max_age", "16073077", 2024).value == 60
    assert get("feuerwehr", "max_age", "16073077", 2025) is None  # new ThürBKG: age rule not read
    rates = get("pflege", "care_rate", "15087220", 2030).by_age
    assert rates[-1] == (90, None, 0.696, 0.864)  # GBE-Bund 2021, 90+


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        (("value: 0.9", "value: 1.2"), RateRangeError, "value"),
        (("value: 0.9", "value: -0.1"), RateRangeError, "value"),
        ((", source: s1}", "}"), ServiceCatalogueError, "source"),
        ((", year: 2024, source: s1}", ", source: s1}"), ServiceCatalogueError, "year"),
        (("source: s1}", "source: nowhere}"), ServiceCatalogueError, "source"),
        (('region: "15"', 'region: "17"'), UnknownRuleError, "region"),
        (('region: "15"', "region: 01001"), UnknownRuleError, "region"),  # unquoted: not a key
        (("quota:", "quotas:"), ServiceCatalogueError, "quotas"),
        (("value: 0.9", "value: 0.9, colour: red"), ServiceCatalogueError, "colour"),
    ],
)
def test_bad_catalogue_named_with_file_line_and_field(
    change: tuple[str, str], error: type, field: str
) -> None:
    text = MINI.replace(*change)
    with pytest.raises(error) as info:
        parse_catalogue(text, "mine.yaml")
    msg = str(info.value)
    assert msg.startswith("mine.yaml, line ")
    assert f"column {field}" in msg
    assert msg.startswith("mine.yaml, line 9,")  # the figure's line (its list's, for a parameter)


def test_a_catalogue_without_sources_is_refused() -> None:
    text = (
        MINI.split("services:")[0].replace("  s1:", "  #").replace("sources:", "sources: {}")
        + "services:"
        + MINI.split("services:")[1]
    )
    with pytest.raises(ServiceCatalogueError, match="without sources"):
        parse_catalogue(text, "mine.yaml")
    with pytest.raises(ServiceCatalogueError, match="without sources"):
        parse_catalogue("services:\n  kita: {kind: quota, ages: [3, 6]}\n", "mine.yaml")


def test_unknown_kind_and_overlapping_dated_rules() -> None:
    with pytest.raises(UnknownServiceError, match="kind"):
        parse_catalogue(MINI.replace("kind: quota", "kind: magic"), "mine.yaml")
    twice = MINI + '        - {region: "15", value: 0.8, year: 2023, source: s1}\n'
    with pytest.raises(ServiceCatalogueError, match="same region and years") as info:
        parse_catalogue(twice, "mine.yaml")
    assert "line 10" in str(info.value)
    dated = twice.replace(
        "year: 2023, source: s1}", "year: 2023, source: s1, valid_from: 2027}"
    ).replace(
        "value: 0.9, year: 2024, source: s1}", "value: 0.9, year: 2024, source: s1, valid_to: 2026}"
    )
    cat = parse_catalogue(dated, "mine.yaml")
    assert cat.entry_for("kita", "quota", "15087220", 2026).value == 0.9
    assert cat.entry_for("kita", "quota", "15087220", 2027).value == 0.8


def test_the_shipped_catalogue_is_a_valid_user_catalogue() -> None:
    assert (
        parse_catalogue(SHIPPED, "copy.yaml").services.keys() == shipped_catalogue().services.keys()
    )


def test_overrides_by_land_kreis_and_gemeinde() -> None:
    text = """\
overrides:
  - {service: kita, parameter: quota, region: "15087", value: 0.97, year: 2024, source: "Bedarfsplan MSH 2024"}
  - {service: kita, parameter: quota, region: "15087220", value: 0.99, year: 2024, source: "Stadt Hettstedt"}
  - {service: kita, parameter: quota, region: "15", value: 0.91, year: 2025, source: "StaLa 2025"}
"""
    cat = parse_overrides(text, shipped_catalogue(), "ov.yaml")
    assert cat.entry_for("kita", "quota", "15087220", 2030).value == 0.99
    assert cat.entry_for("kita", "quota", "15087130", 2030).value == 0.97
    assert cat.entry_for("kita", "quota", "15002000", 2030).value == 0.91  # replaced the Land's
    assert cat.entry_for("kita", "quota", "15088010", 2030).value == 0.911  # Saalekreis stays


@pytest.mark.parametrize(
    ("item", "error", "match"),
    [
        (
            '{service: kino, parameter: quota, region: "15", value: 0.9, year: 2024, source: x}',
            UnknownServiceError,
            "ov.yaml, line 2: unknown service 'kino'",
        ),
        (
            '{service: kita, parameter: quote, region: "15", value: 0.9, year: 2024, source: x}',
            ServiceCatalogueError,
            "line 2, column quote",
        ),
        (
            '{service: kita, parameter: quota, region: "15", value: 9, year: 2024, source: x}',
            RateRangeError,
            "line 2, column value",
        ),
        (
            '{service: kita, parameter: quota, region: "15", value: 0.9, year: 2024}',
            ServiceCatalogueError,
            "line 2, column source",
        ),
        (
            '{service: kita, parameter: quota, region: "99", value: 0.9, year: 2024, source: x}',
            UnknownRuleError,
            "line 2, column region",
        ),
    ],
)
def test_bad_overrides(item: str, error: type, match: str) -> None:
    with pytest.raises(error, match=re.escape(match)):
        parse_overrides(f"overrides:\n  - {item}\n", shipped_catalogue(), "ov.yaml")


def test_command_line_pairs() -> None:
    cat = overrides_from_pairs(
        ["feuerwehr.max_age@14=65", "kita.unit_cost_eur.places=9000"], shipped_catalogue(), 2024
    )
    assert cat.entry_for("feuerwehr", "max_age", "14625020", 2030).value == 65
    assert cat.entry_for("kita", "unit_cost_eur", "15087220", 2030, measure="places").value == 9000
    for bad, error in (
        ("feuerwehr.weekday_share=1.5", RateRangeError),
        ("feuerwehr.weekday_share", ServiceCatalogueError),
        ("kino.quota=0.5", UnknownServiceError),
        ("kita.quota=viel", ServiceCatalogueError),
    ):
        with pytest.raises(error):
            overrides_from_pairs([bad], shipped_catalogue(), 2024)

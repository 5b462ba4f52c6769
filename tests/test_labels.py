"""Labels of official tables: ages, sexes, dates, periods and AGS codes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wandel.errors import LabelError
from wandel.sources._labels import (
    AgeGroup,
    is_age_unknown,
    is_total,
    normalise_ags,
    parse_age_code,
    parse_age_label,
    parse_period_label,
    parse_sex_label,
    parse_year_label,
)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("unter 3 Jahre", 0, 3),
        ("3 bis unter 6 Jahre", 3, 6),
        ("75 Jahre und mehr", 75, None),
        ("unter 1 Jahr", 0, 1),
        ("1 Jahr", 1, 2),
        ("2 Jahre", 2, 3),
        ("0 Jahre", 0, 1),
        ("90 Jahre und mehr", 90, None),
        ("1-Jährige", 1, 2),
        ("84-Jährige", 84, 85),
        ("85 Jahre und mehr", 85, None),
        ("100 Jahre und älter", 100, None),
        ("under 15 years", 0, 15),
        ("15 years", 15, 16),
        ("15 to under 45 years", 15, 45),
        ("45 years and over", 45, None),
        ("50 years and over", 50, None),
        ("  1 bis unter 2 Jahre ", 1, 2),
        ("Insgesamt", 0, None),
        ("Total", 0, None),
    ],
)
def test_age_labels(label: str, start: int, end: int | None) -> None:
    assert parse_age_label(label) == AgeGroup(start, end)


@pytest.mark.parametrize("label", ["männlich", "Flensburg", "Jahre", "31.12.2015", "", "abc Jahre"])
def test_non_age_labels(label: str) -> None:
    assert parse_age_label(label) is None


def test_impossible_age_group_is_an_error() -> None:
    with pytest.raises(LabelError):
        parse_age_label("6 bis unter 3 Jahre")


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [("ALT000B03", 0, 3), ("ALT003B06", 3, 6), ("ALT075UM", 75, None), ("", 0, None)],
)
def test_age_codes(code: str, start: int, end: int | None) -> None:
    assert parse_age_code(code) == AgeGroup(start, end)


def test_age_unknown_and_totals() -> None:
    assert is_age_unknown("age unknown")
    assert is_age_unknown("Alter unbekannt")
    assert is_total("Insgesamt")
    assert is_total("Total")
    assert not is_total("männlich")


@pytest.mark.parametrize(
    ("label", "sex"),
    [
        ("männlich", "m"),
        ("weiblich", "f"),
        ("Insgesamt", "t"),
        ("Male", "m"),
        ("female", "f"),
        ("Total", "t"),
        ("GESW", "f"),
        ("divers", None),
    ],
)
def test_sex_labels(label: str, sex: str | None) -> None:
    assert parse_sex_label(label) == sex


@pytest.mark.parametrize(
    ("label", "year"),
    [("31.12.2015", 2015), ("2023", 2023), ("2019-12-31", 2019), ("männlich", None), ("15", None)],
)
def test_year_labels(label: str, year: int | None) -> None:
    assert parse_year_label(label) == year


@pytest.mark.parametrize("label", ["31.13.2015", "32.12.2015", "30.06.2015", "2019-02-30"])
def test_bad_dates_are_errors(label: str) -> None:
    with pytest.raises(LabelError) as info:
        parse_year_label(label)
    assert info.value.value == label


def test_periods() -> None:
    p = parse_period_label("2022/24")
    assert p is not None
    assert (p.first, p.last, p.label) == (2022, 2024, "2022/24")
    p = parse_period_label("1999/01")
    assert p is not None
    assert p.last == 2001
    assert parse_period_label("2022") is None


@pytest.mark.parametrize(
    ("code", "ags"),
    [
        ("DG", "DG"),
        ("01", "01"),
        ("16", "16"),
        ("031", "031"),
        ("15087", "15087"),
        ("15087220", "15087220"),
        ("150875010", "150875010"),
        ("150870220220", "15087220"),
    ],
)
def test_ags(code: str, ags: str) -> None:
    assert normalise_ags(code) == ags


@pytest.mark.parametrize("code", ["1001", "1", "1508722", "17", "00", "15O87", "", "123456"])
def test_bad_ags(code: str) -> None:
    with pytest.raises(LabelError) as info:
        normalise_ags(code)
    assert "AGS" in info.value.expected


@given(st.integers(0, 110), st.integers(1, 20))
def test_age_range_round_trip(a: int, width: int) -> None:
    assert parse_age_label(f"{a} bis unter {a + width} Jahre") == AgeGroup(a, a + width)
    assert parse_age_label(f"{a} to under {a + width} years") == AgeGroup(a, a + width)


@given(st.text(max_size=30))
def test_any_text_returns_or_raises_label_error(text: str) -> None:
    for fn in (parse_age_label, parse_year_label, parse_period_label, normalise_ags):
        with contextlib.suppress(LabelError):
            fn(text)
    parse_sex_label(text)
    parse_age_code(text)


def test_the_17_group_table_agrees_with_codes_labels_and_graduation_breaks() -> None:
    from wandel.demography.graduation import BREAKS_17
    from wandel.sources._labels import AGE_GROUPS_17, parse_age_code, parse_age_label

    starts = []
    for code, label in AGE_GROUPS_17:
        by_code, by_label = parse_age_code(code), parse_age_label(label)
        assert by_code is not None
        assert by_label is not None
        assert (by_code.start, by_code.end) == (by_label.start, by_label.end)
        starts.append(by_code.start)
    assert tuple(starts) == BREAKS_17

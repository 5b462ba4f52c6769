"""Numbers and GENESIS symbols: typed states, never numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wandel.sources._cells import parse_cell, parse_cells


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1234", ",", 1234.0),
        ("1.234", ",", 1234.0),
        ("1.234.567,25", ",", 1234567.25),
        ("1 234", ",", 1234.0),
        ("0,00338118", ",", 0.00338118),
        ("-12,5", ",", -12.5),
        ("1,234.5", ".", 1234.5),
        ("1.729", ".", 1.729),
        ("(12)", ",", 12.0),
    ],
)
def test_numbers(text: str, decimal: str, expected: float) -> None:
    parsed = parse_cell(text, decimal)
    assert parsed is not None
    assert parsed[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("-", "nothing"),
        (".", "unknown"),
        ("x", "not_meaningful"),
        ("/", "unreliable"),
        ("...", "later"),
        ("", "empty"),
    ],
)
def test_symbols_are_states_not_numbers(text: str, status: str) -> None:
    parsed = parse_cell(text)
    assert parsed is not None
    assert math.isnan(parsed[0])
    assert parsed[1] == status


@pytest.mark.parametrize(
    "text", ["1,234.5", "1 ,", "1,,0", "12a", "1.23", "1.2345", "--", "(12", "abc"]
)
def test_malformed_numbers_are_refused(text: str) -> None:
    assert parse_cell(text, ",") is None


def test_vectorised_matches_scalar() -> None:
    cells = ["1", "1.234", "-", ".", "(5)", "7 p", ". p", "1,5", "bad", None, "x", "..."]
    out = parse_cells(cells, ",")
    assert out.bad.tolist() == [False] * 8 + [True] + [False] * 3
    assert out.value[1] == 1234.0
    assert out.value[7] == 1.5
    assert out.flag[5] == "p"
    assert out.status[6] == "unknown"
    assert out.flag[6] == "p"
    assert out.status[4] == "limited"
    assert np.isnan(out.value[2])


def test_separate_flag_column() -> None:
    out = parse_cells(["578191", "538510", ""], ".", flags=["e", "p", "."])
    assert out.flag.tolist() == ["e", "p", None]
    assert out.status[2] == "unknown"
    bad = parse_cells(["1"], ".", flags=["z"])
    assert bad.bad[0]


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_german_thousands_round_trip(n: int) -> None:
    text = f"{n:,}".replace(",", ".")
    parsed = parse_cell(text, ",")
    assert parsed is not None
    assert parsed[0] == n


@given(st.text(max_size=12))
def test_any_text_never_crashes(text: str) -> None:
    scalar = parse_cell(text, ",")
    vec = parse_cells([text], ",")
    assert (scalar is None) == bool(vec.bad[0])

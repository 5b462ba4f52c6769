"""Shared CLI pieces: list options split the same way everywhere."""

from __future__ import annotations

import pytest

from wandel.cli._common import split_values


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["14,15"], ["14", "15"]),
        (["14 15"], ["14", "15"]),
        (["14", "15"], ["14", "15"]),
        (["14, 15", "15\t16"], ["14", "15", "16"]),
        (["A,B", "B", "A"], ["A", "B"]),
        ([",, ", ""], []),
        ([], []),
        (None, []),
        (["15087220,14"], ["15087220", "14"]),
    ],
)
def test_split_values(given: list[str] | None, expected: list[str]) -> None:
    assert split_values(given) == expected


def test_split_values_keeps_first_seen_order() -> None:
    assert split_values(["c b", "a,c", "b"]) == ["c", "b", "a"]

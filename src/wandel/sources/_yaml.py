"""YAML files of users (registers, networks): the data and the node tree, for line numbers.

A YAML syntax error is refused as an :class:`~wandel.errors.InputFormatError` with its line.
"""

from __future__ import annotations

from typing import Any

import yaml

from wandel.errors import InputFormatError

__all__ = ["load_yaml"]


def load_yaml(text: str, file: str, expected: str) -> tuple[Any, yaml.Node | None]:
    """``(data, root node)`` of a YAML text; nodes carry ``start_mark.line`` (0-based).

    >>> data, root = load_yaml("a:\\n  - 1\\n", "x.yaml", "a mapping")
    >>> data, root.value[0][1].value[0].start_mark.line + 1
    ({'a': [1]}, 2)
    >>> load_yaml("a: [", "x.yaml", "a mapping")
    Traceback (most recent call last):
    ...
    wandel.errors.InputFormatError: x.yaml, line 2: not valid YAML (expected ',' or ']', but got '<stream end>'); expected a mapping
    """
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputFormatError(
            file,
            line=None if mark is None else mark.line + 1,
            reason="@sources.error.not_yaml",
            expected=expected,
            fields={"detail": str(getattr(exc, "problem", exc))},
        ) from None

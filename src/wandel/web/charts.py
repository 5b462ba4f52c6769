"""The charts of the pages as SVG text, drawn from the view dictionaries.

The pages show every chart's numbers in a table beside it; the SVG drawings come from
``wandel.reports.svg`` (title, description, real text labels) once that module is on main. Until
then :func:`page_charts` returns no drawings and the pages show the tables alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["page_charts"]


def page_charts(page: str, view: Mapping[str, Any]) -> dict[str, str]:
    """SVG drawings of ``page`` (keys ``pyramid``, ``fan``) from its view dictionary."""
    return {}

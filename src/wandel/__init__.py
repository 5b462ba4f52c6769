"""Wandel: shape demographic change in German towns and networks of towns.

From official statistics to understanding to decisions: readers for the official formats, an embedded
DuckDB store, territorial harmonisation, projections, public services, accessibility and joint planning.
"""

from importlib.metadata import PackageNotFoundError, version

from wandel.errors import WandelError

try:
    __version__ = version("wandel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["WandelError", "__version__"]

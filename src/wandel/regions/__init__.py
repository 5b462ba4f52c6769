"""Regions: AGS/ARS keys, the hierarchy of one GV year, territorial changes and harmonisation."""

from __future__ import annotations

from wandel.errors import InvalidKeyError
from wandel.regions.ags import (
    ags_from_ars,
    ars_from_ags,
    check_key,
    kreis_of,
    land_of,
    level_of,
    parent_chain,
    parent_of,
)
from wandel.regions.changes import derive_changes
from wandel.regions.harmonise import harmonise_population
from wandel.regions.hierarchy import Hierarchy, hierarchy_from_gv

__all__ = [
    "Hierarchy",
    "InvalidKeyError",
    "ags_from_ars",
    "ars_from_ags",
    "check_key",
    "derive_changes",
    "harmonise_population",
    "hierarchy_from_gv",
    "kreis_of",
    "land_of",
    "level_of",
    "parent_chain",
    "parent_of",
]

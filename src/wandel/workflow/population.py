"""Population queries as users and checks read them (``wandel population``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from wandel.ages import finest_partition, totals
from wandel.errors import UnknownChoiceError
from wandel.store import Store

__all__ = ["population_table"]

_LEN = {"land": 2, "kreis": 5, "gemeinde": 8}


def population_table(
    db: Path | str,
    zones: Sequence[str],
    years: Sequence[int] | None = None,
    level: str | None = None,
    total: bool = False,
    territory: int | None = None,
) -> pd.DataFrame:
    """The canonical long table for ``zones`` (or, with ``level``, the zones of that level within them).

    ``territory`` converts Gemeinde series to that year's boundaries (:mod:`wandel.regions`);
    ``total`` sums over sex and age.
    """
    with Store.open(db, read_only=True) as store:
        if level is not None:
            if level not in _LEN:
                raise UnknownChoiceError("--level", level, tuple(_LEN))
            frame = store.population(years=years, level=level)
            frame = frame[frame["zone"].str.startswith(tuple(zones))]
        else:
            frame = store.population(zones=list(zones) if territory is None else None, years=years)
        if territory is not None:
            from wandel.regions.harmonise import harmonise_population

            changes = store.zone_changes()
            frame = harmonise_population(frame, changes, territory)
            if level is None:
                frame = frame[frame["zone"].isin(list(zones))]
    frame = finest_partition(frame)
    if total:
        frame = totals(frame)
        frame["sex"] = "t"
        frame["age_start"] = 0
        frame["age_end"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    return frame.reset_index(drop=True)

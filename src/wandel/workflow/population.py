"""Population queries as users and checks read them (``wandel population``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from wandel.ages import finest_partition, totals
from wandel.errors import MissingDataError, UnknownChoiceError, UnknownZoneError
from wandel.store import Store

__all__ = ["population_table"]

_LEN = {"land": 2, "kreis": 5, "gemeinde": 8}


def _check_request(
    store: Store, zones: Sequence[str], years: Sequence[int] | None, *, prefixes: bool, source: str
) -> None:
    """Refuse a zone the store does not know (naming the nearest keys) and a year it has no
    population for (naming the years it has): an empty answer would hide the typing mistake.
    With ``prefixes`` (``--level``) a zone is a prefix: ``15087`` stands for its Gemeinden."""
    from wandel.compare.networks import nearest_zones

    known = store.zones()[["zone", "name"]].drop_duplicates("zone")
    counted = (
        store.con.execute("SELECT DISTINCT zone, year FROM population").fetchdf()
        if store.has_table("population")
        else pd.DataFrame({"zone": [], "year": []})
    )
    keys = set(known["zone"].astype(str)) | set(counted["zone"].astype(str))
    for zone in zones:
        hit = any(k.startswith(zone) for k in keys) if prefixes else zone in keys
        if not hit:
            extra = sorted(set(counted["zone"].astype(str)) - set(known["zone"].astype(str)))
            pool = pd.concat([known, pd.DataFrame({"zone": extra, "name": extra})])
            raise UnknownZoneError(zone, nearest_zones(zone, pool), source)
    have = sorted(int(y) for y in pd.unique(counted["year"]))
    for year in years or ():
        if int(year) not in have:
            raise MissingDataError(
                "@error.no_population_year", source=source, year=year, years=_spans(have)
            )


def _spans(years: Sequence[int]) -> str:
    """Years as spans: ``[2011, 2012, 2013, 2019]`` -> ``"2011-2013, 2019"``.

    >>> _spans([2011, 2012, 2013, 2019])
    '2011-2013, 2019'
    """
    parts: list[str] = []
    for y in years:
        if parts and parts[-1].split("-")[-1] == str(y - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{y}"
        else:
            parts.append(str(y))
    return ", ".join(parts) or "-"


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
        if level is not None and level not in _LEN:
            raise UnknownChoiceError("--level", level, tuple(_LEN))
        _check_request(store, zones, years, prefixes=level is not None, source=str(db))
        if level is not None:
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

"""The hierarchy Land > (Regierungsbezirk) > Kreis > Gemeindeverband > Gemeinde of one GV year."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from wandel.errors import InvalidKeyError

__all__ = ["Hierarchy", "hierarchy_from_gv"]


@dataclass(frozen=True)
class Hierarchy:
    """Zones of one GV year: ``table`` has ``zone, level, name, parent`` (one row per zone)."""

    year: int
    table: pd.DataFrame

    def _row(self, key: str) -> pd.Series:
        hit = self.table[self.table["zone"] == key]
        if hit.empty:
            raise InvalidKeyError("@regions.key.not_in_gv", key=repr(key), year=self.year)
        return hit.iloc[0]

    def name(self, key: str) -> str:
        """The official name of ``key``."""
        return str(self._row(key)["name"])

    def ancestors(self, key: str) -> tuple[str, ...]:
        """Keys from the Land down to ``key`` (inclusive), following the recorded parents."""
        chain = [key]
        parent = self._row(key)["parent"]
        while isinstance(parent, str) and parent:
            chain.append(parent)
            parent = self._row(parent)["parent"]
        return tuple(reversed(chain))

    def children(self, key: str) -> list[str]:
        """Keys whose recorded parent is ``key``."""
        return sorted(self.table.loc[self.table["parent"] == key, "zone"].tolist())

    def gemeinden_of(self, key: str) -> list[str]:
        """All Gemeinden within ``key`` (a Land, Regierungsbezirk, Kreis or Gemeindeverband)."""
        self._row(key)
        gem = self.table[self.table["level"] == "gemeinde"]
        if len(key) == 9:
            return sorted(gem.loc[gem["parent"] == key, "zone"].tolist())
        return sorted(gem.loc[gem["zone"].str.startswith(key), "zone"].tolist())


def hierarchy_from_gv(gv: pd.DataFrame, year: int) -> Hierarchy:
    """The hierarchy of GV year ``year`` from canonical ``gv_records`` (regions of BW left out:
    they are not part of the key chain).
    """
    g = gv[(gv["year"] == year) & (gv["level"] != "region")]
    if g.empty:
        raise ValueError(f"no gv_records for {year}")
    table = g[["zone", "level", "name", "parent"]].astype(object).reset_index(drop=True)
    table["parent"] = table["parent"].where(table["parent"].notna(), None)
    return Hierarchy(year=int(year), table=table)

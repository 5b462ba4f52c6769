"""After every import: the data Wandel derives from what is in the store, for any store.

:func:`derive_after_import` runs after each ``wandel import`` (and ``wandel demo``, which takes the
same path): it

1. derives the territorial changes between all Gemeindeverzeichnis years in the store
   (:func:`wandel.regions.changes.derive_changes`, placing dissolved Gemeinden by the VG250 polygons
   where the store has them) and records them, replacing the earlier ones;
2. estimates Gemeinde age structures from their Kreis's (:func:`wandel.regions.estimates.
   estimate_gemeinde_structure`) and stores them marked ``estimated`` (flag ``s``), with a
   provenance record of their own.

Both are recomputed from the whole store, so the result does not depend on the order of the imports.
Estimates that are already in the store unchanged are left as they are; when the set of estimated
rows changes (e.g. a new Kreis structure year), the earlier estimates are removed first, so no
stale estimate overlaps a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from wandel.regions.changes import Derivation, derive
from wandel.regions.estimates import estimate_gemeinde_structure
from wandel.sources.base import ImportBatch, SourceMeta
from wandel.store import ImportReport, Store

__all__ = ["DerivedReport", "add_structure_estimates", "derive_after_import", "derive_zone_changes"]

_KEY = ["zone", "year", "sex", "age_start", "age_end"]


@dataclass(frozen=True)
class DerivedReport:
    """What :func:`derive_after_import` derived: the number of territorial-change rows, and the
    import of the structure estimates (``skipped`` when they were already in the store)."""

    changes: int
    estimates: ImportReport
    uncovered: tuple[tuple[int, int, str], ...] = ()
    """``(from_year, to_year, AGS)``: Gemeinden a partial later Gemeindeverzeichnis leaves out
    (:class:`wandel.regions.changes.Derivation`); their series end there."""


def derive_zone_changes(store: Store) -> Derivation:
    """Derive the territorial changes between the GV years in the store and record them.

    The Gemeinde polygons in the store (VG250), where present, place each dissolved Gemeinde by the
    polygon that contains its centre; keys, names, areas and Verband membership decide the rest.
    """
    import geopandas as gpd
    import shapely

    gv = store.table("gv_records")
    b = store.table("boundaries", "level = 'gemeinde'")
    polygons = None
    if not b.empty:  # place dissolved Gemeinden by the polygon containing their centre
        polygons = gpd.GeoDataFrame(
            {"zone": b["zone"].to_numpy()},
            geometry=shapely.from_wkb([bytes(g) for g in b["geometry"]]),
            crs=str(b["crs"].iloc[0]),
        )
    derived = derive(gv, polygons)
    store.replace_zone_changes(derived.changes)
    return derived


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two population frames hold the same keys with the same values."""
    if len(a) != len(b):
        return False
    m = a[[*_KEY, "value"]].merge(b[[*_KEY, "value"]], on=_KEY, how="inner")
    return len(m) == len(a) and bool((m["value_x"] == m["value_y"]).all())


def _same_keys(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if len(a) != len(b):
        return False
    return len(a[_KEY].merge(b[_KEY], on=_KEY, how="inner")) == len(a)


def add_structure_estimates(store: Store) -> ImportReport:
    """Estimate Gemeinde age structures from their Kreis and store them marked as estimates."""
    pop = store.population()
    gem = pop[(pop["zone"].str.len() == 8) & ~pop["estimated"]]
    kreis = pop[(pop["zone"].str.len() == 5) & ~pop["estimated"]]
    current = pop[pop["estimated"]]
    if gem.empty or kreis.empty:
        est = pop.iloc[:0]
    else:
        est = estimate_gemeinde_structure(gem, kreis)
    payload = int(pd.util.hash_pandas_object(est, index=False).sum()) & ((1 << 256) - 1)
    meta = SourceMeta(
        file="wandel-estimate:gemeinde-altersstruktur",
        sha256=f"{payload:064x}",
        kind="wandel-estimate",
        title="Gemeinde-Altersstruktur geschätzt (Kreisstruktur × Gemeindesumme)",
        producer="Wandel (eigene Berechnung)",
        licence="Grundlage: Statistische Ämter des Bundes und der Länder, dl-de/by-2-0; "
        "eigene Berechnung (Schätzung)",
    )
    if est.empty and current.empty:  # nothing to estimate from (yet), nothing estimated before
        return ImportReport(meta.file, meta.kind, meta.sha256, 0, 0, {}, (), True)
    if _same_rows(current, est):
        return ImportReport(meta.file, meta.kind, meta.sha256, len(est), 0, {}, (), True)
    with store.transaction():  # the old estimates go only if the new ones are written
        if not current.empty and not _same_keys(current, est):
            # estimates on other keys would overlap the new ones: derived rows, removed and rebuilt
            store.con.execute("DELETE FROM population WHERE estimated")
        if store.has_sha256(meta.sha256):
            # the same estimate was written before and later replaced: a new record of this state
            n = store.provenance()["import_id"].max()
            meta = SourceMeta(
                **{**meta.__dict__, "sha256": f"{(payload + int(n)) % (1 << 256):064x}"}
            )
        return store.import_batch(ImportBatch(meta, {"population": est}, len(est)))


def derive_after_import(store: Store) -> DerivedReport:
    """Territorial changes and Gemeinde structure estimates from the whole store (module doc),
    in one transaction (joining the import's when called inside :meth:`Store.transaction`)."""
    with store.transaction():
        derived = derive_zone_changes(store)
        estimates = add_structure_estimates(store)
        return DerivedReport(len(derived.changes), estimates, derived.uncovered)

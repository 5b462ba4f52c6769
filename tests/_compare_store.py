"""One demo store per test process for the comparison tests (built on first use): the bundled
extract, the territorial changes, the estimated Gemeinde age structures and the seed register of
measures; and the indicators of every zone computed from it once."""

from __future__ import annotations

from pathlib import Path

import pytest

from wandel.store import Store
from wandel.workflow.compare import CompareData, import_measures, load
from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store

_CACHE: dict[str, object] = {}

SEED_REGISTER = Path(__file__).resolve().parents[1] / "src/wandel/data/compare/measures_seed.yaml"


def compare_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the demo store with estimates and the seed register (do not write to it)."""
    if "db" not in _CACHE:
        db = tmp_path_factory.mktemp("compare_store") / "demo.duckdb"
        with Store.open(db) as store:
            load_demo_store(store)
            derive_zone_changes(store)
            add_structure_estimates(store)
        import_measures(db, SEED_REGISTER)
        _CACHE["db"] = db
    path = _CACHE["db"]
    assert isinstance(path, Path)
    return path


def compare_data(tmp_path_factory: pytest.TempPathFactory) -> CompareData:
    """The indicators of every zone of :func:`compare_db` (computed once per process)."""
    if "data" not in _CACHE:
        _CACHE["data"] = load(compare_db(tmp_path_factory))
    data = _CACHE["data"]
    assert isinstance(data, CompareData)
    return data

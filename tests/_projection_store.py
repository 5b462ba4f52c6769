"""One demo store per test process for the projection tests (built on first use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wandel.store import Store
from wandel.workflow.demo import derive_zone_changes, load_demo_store
from wandel.workflow.projection import StoreTables, load_tables

_CACHE: dict[str, Path] = {}


def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a demo store (bundled extract + zone changes), built once per process."""
    if "db" not in _CACHE:
        db = tmp_path_factory.mktemp("projection_store") / "demo.duckdb"
        with Store.open(db) as store:
            load_demo_store(store)
            derive_zone_changes(store)
        _CACHE["db"] = db
    return _CACHE["db"]


def demo_tables(tmp_path_factory: pytest.TempPathFactory) -> StoreTables:
    with Store.open(demo_db(tmp_path_factory), read_only=True) as store:
        return load_tables(store)

"""Backtest workflow: load the tables from the store and run the backtests of
:mod:`wandel.demography.backtest` on them (the model never opens the store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from wandel.demography.backtest import BacktestResult, run_backtests
from wandel.store import Store
from wandel.workflow.projection import load_tables

__all__ = ["backtest_store"]


def backtest_store(
    db: Path,
    levels: Sequence[str] = ("kreis", "gemeinde"),
    draws: int = 200,
    seed: int = 0,
    sigmas: Mapping[str, Mapping[str, float]] | None = None,
) -> BacktestResult:
    """The backtests (:func:`wandel.demography.backtest.run_backtests`) on the store at ``db``."""
    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
    return run_backtests(tables, levels=levels, draws=draws, seed=seed, sigmas=sigmas)

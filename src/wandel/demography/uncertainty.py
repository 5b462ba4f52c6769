"""Uncertainty: size classes of zones and the sigmas calibrated on past errors.

Each zone's draws use the :class:`~wandel.demography.engine.StochasticSpec` of its size class
(:func:`size_class` of its base population). The sigmas are calibrated on the backtests
(``scripts/calibrate_uncertainty.py``, which documents the method) and shipped as a reference CSV
(``wandel/data/reference/uncertainty_sigmas.csv``): fertility and mortality levels follow random
walks with the sigmas of Germany's past yearly changes; migration errors are an additive
net-migration rate per zone and draw whose sigma per size class (and level) is fitted to the
backtest errors.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from wandel.demography.engine import StochasticSpec
from wandel.errors import MissingDataError

__all__ = ["SIZE_CLASSES", "calibrated_spec", "load_sigmas", "size_class"]

SIZE_CLASSES: tuple[str, ...] = ("<5k", "5-20k", "20-100k", ">100k")
"""Size classes of zones by base population (as in the backtests)."""


def size_class(population: float) -> str:
    """Size class of a zone: ``<5k``, ``5-20k``, ``20-100k`` or ``>100k``.

    >>> size_class(4999), size_class(5000), size_class(150_000)
    ('<5k', '5-20k', '>100k')
    """
    if population < 5_000:
        return "<5k"
    if population < 20_000:
        return "5-20k"
    if population < 100_000:
        return "20-100k"
    return ">100k"


def _sigma_file() -> Path:
    return Path(str(resources.files("wandel") / "data" / "reference" / "uncertainty_sigmas.csv"))


def load_sigmas(path: Path | None = None) -> dict[str, dict[str, float]]:
    """Calibrated sigmas by size class and component from the reference CSV.

    Written by ``scripts/calibrate_uncertainty.py``; columns ``size_class, component, sigma, ...``.
    """
    p = path or _sigma_file()
    if not p.exists():
        raise MissingDataError(f"no calibrated sigmas at {p}: run scripts/calibrate_uncertainty.py")
    out: dict[str, dict[str, float]] = {}
    with p.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["size_class"], {})[row["component"]] = float(row["sigma"])
    return out


def calibrated_spec(
    size: str, draws: int, seed: int, sigmas: Mapping[str, Mapping[str, float]] | None = None
) -> StochasticSpec:
    """The :class:`StochasticSpec` of a size class from the calibrated sigmas.

    Fertility and mortality levels (and in-/out-migration levels, if given) follow random walks;
    ``net_migration`` is the sigma of the additive net-migration rate of every zone of the class
    and ``net_migration_ar`` its persistence ``phi`` (default 1: one rate per draw for the whole
    horizon), see :class:`wandel.demography.engine.StochasticSpec`.
    """
    s = (sigmas or load_sigmas())[size]
    return StochasticSpec(
        draws=draws,
        seed=seed,
        sigma_fertility=s.get("fertility", 0.0),
        sigma_mortality=s.get("mortality", 0.0),
        sigma_in_migration=s.get("in_migration", 0.0),
        sigma_out_migration=s.get("out_migration", 0.0),
        ar=1.0,
        sigma_net_migration=s.get("net_migration", 0.0),
        ar_net_migration=s.get("net_migration_ar", 1.0),
    )

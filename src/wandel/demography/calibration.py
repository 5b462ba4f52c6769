"""Calibration of the error model on rolling-origin backtests, by level, size class and horizon.

The draws (:func:`wandel.demography.uncertainty.calibrated_spec`) carry the migration error as an
additive net-migration rate per zone and year, a stationary AR(1) with standard deviation ``sigma``
and persistence ``phi`` (:class:`wandel.demography.engine.StochasticSpec`). The log error of a
zone's population after ``h`` years is then about the sum of ``h`` such rates, with standard
deviation

``s(h) = sigma sqrt(V(h, phi))``, ``V(h, phi) = h + 2 sum_{k=1}^{h-1} (h - k) phi^k``

(``phi = 1``: ``sigma h``, one rate for the whole horizon; ``phi = 0``: ``sigma sqrt(h)``).

1. :func:`measured_sd`: for every level, base year, horizon and size class, the standard deviation
   a centred normal would need to cover 80 % of the deterministic projections' log errors,
   ``s = q80(|log(P / O)|) / 1.2816``.
2. :func:`fit_error_model`: per level and size class, ``(sigma, phi)`` by weighted least squares
   of ``s(h)`` on the measured values (weights: zones), ``phi`` on a grid of 0.05 over every
   origin, then ``sigma`` (closed form) on the latest origin alone; a class with fewer than
   :data:`MIN_ZONES` zones per horizon takes its level's fit over all classes.
3. :func:`holdout_split`: for a check on years the calibration did not see, the errors are split
   by origin at a cutoff year ``C``: the calibration sees only errors observed at or before ``C``,
   the evaluation only projections from base years ``>= C`` (observed after ``C``).

Nothing here looks at the years it is evaluated on: the hold-out sigmas are fitted on the
calibration part alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from wandel.demography.uncertainty import SIZE_CLASSES

__all__ = [
    "LEVELS",
    "MIN_ZONES",
    "PHI_GRID",
    "Z80",
    "ar_variance",
    "fit_error_model",
    "holdout_split",
    "measured_sd",
    "sigma_table",
]

Z80 = 1.2815515655446004
"""The standard normal's 90th percentile (a central 80 % interval is ``+- Z80`` sd)."""

LEVELS: tuple[str, ...] = ("kreis", "gemeinde")
"""The levels calibrated (a single city's yearly series, ``gemeinde-reihe``, is a check only)."""

MIN_ZONES = 20
"""Fewest zones per horizon for a size class to get a fit of its own."""

PHI_GRID: tuple[float, ...] = tuple(np.round(np.arange(0.0, 1.0001, 0.05), 2))
"""The persistences tried."""


def ar_variance(h: int | np.ndarray, phi: float) -> np.ndarray:
    """``V(h, phi)``: the variance of the sum of ``h`` unit-variance AR(1) terms.

    >>> ar_variance(np.array([1, 2, 3]), 1.0).tolist(), ar_variance(np.array([1, 4]), 0.0).tolist()
    ([1.0, 4.0, 9.0], [1.0, 4.0])
    >>> round(float(ar_variance(np.array([2]), 0.5)[0]), 6)
    3.0
    """
    hs = np.atleast_1d(np.asarray(h, dtype=np.int64))
    out = np.empty(len(hs))
    for i, n in enumerate(hs):
        k = np.arange(1, n)
        out[i] = n + 2.0 * float(((n - k) * phi**k).sum())
    return out


def measured_sd(errors: pd.DataFrame) -> pd.DataFrame:
    """``s = q80(|log error|) / Z80`` of Wandel's deterministic projections, per level, base year,
    horizon and size class (and ``all`` classes of a level); rows with ``n`` zones."""
    e = errors[(errors["method"] == "wandel") & errors["level"].isin(LEVELS)]
    rows = []
    for (lvl, base, h), g in e.groupby(["level", "base_year", "horizon"]):
        for cls, sub in [("all", g), *g.groupby("size_class")]:
            s = float(np.quantile(np.abs(sub["log_error"]), 0.8)) / Z80
            rows.append(
                {
                    "level": lvl,
                    "base_year": int(base),
                    "horizon": int(h),
                    "size_class": str(cls),
                    "s": s,
                    "n": len(sub),
                }
            )
    return pd.DataFrame(rows)


def _fit(sd: pd.DataFrame, grid: tuple[float, ...] = PHI_GRID) -> tuple[float, float, float]:
    """``(sigma, phi, sse)`` of ``s(h) = sigma sqrt(V(h, phi))`` by weighted least squares."""
    h = sd["horizon"].to_numpy(dtype=np.int64)
    y = sd["s"].to_numpy(dtype=np.float64)
    w = sd["n"].to_numpy(dtype=np.float64)
    best = (0.0, 1.0, np.inf)
    for phi in grid:
        x = np.sqrt(ar_variance(h, float(phi)))
        sigma = float((w * x * y).sum() / (w * x * x).sum())
        sse = float((w * (y - sigma * x) ** 2).sum())
        if sse < best[2] - 1e-15:
            best = (sigma, float(phi), sse)
    return best


def _fit_latest(sd: pd.DataFrame) -> tuple[float, float, float]:
    """``(sigma, phi, sse)``: ``phi`` from every origin, ``sigma`` from the latest origin alone."""
    _s, phi, _sse = _fit(sd)
    latest = sd[sd["base_year"] == sd["base_year"].max()]
    sigma, _p, sse = _fit(latest, (phi,))
    return sigma, phi, sse


def fit_error_model(sd: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{"level:class": {"sigma", "phi", "sse", "n", "own"}}`` for every level and size class.

    The growth with the horizon (``phi``) is fitted over every origin, the level (``sigma``, for
    that ``phi``) on the latest origin alone: errors depend on the migration regime of their period
    and on the inputs an origin had (e.g. the Kreise's latest yearly interval from 2016 on, the
    persistence of Gemeinde differentials from 2017 on), and the latest origin is the one most like
    the next. ``sse`` is that of the latest origin's fit. ``own`` is 1 where the class had enough
    zones (:data:`MIN_ZONES` at every horizon) for a fit of its own, else 0 (the fit over the
    level's zones of all classes).
    """
    out: dict[str, dict[str, float]] = {}
    for lvl, g in sd.groupby("level"):
        pooled = g[g["size_class"] == "all"]
        if pooled.empty:
            continue
        ps, pp, psse = _fit_latest(pooled)
        for cls in SIZE_CLASSES:
            sub = g[g["size_class"] == cls]
            own = not sub.empty and int(sub["n"].min()) >= MIN_ZONES
            s, p, sse = _fit_latest(sub) if own else (ps, pp, psse)
            n = int(sub["n"].sum()) if not sub.empty else 0
            out[f"{lvl}:{cls}"] = {
                "sigma": s,
                "phi": p,
                "sse": sse,
                "n": float(n),
                "own": 1.0 if own else 0.0,
            }
    return out


def sigma_table(
    fits: Mapping[str, Mapping[str, float]], fertility: float, mortality: float
) -> dict[str, dict[str, float]]:
    """The sigmas of :func:`wandel.demography.uncertainty.load_sigmas` from the fits.

    Keys ``level:class`` and, for zones of a level not fitted, the plain classes (the Gemeinde fit:
    most zones are Gemeinden).
    """
    out: dict[str, dict[str, float]] = {}
    for key, f in fits.items():
        out[key] = {
            "fertility": fertility,
            "mortality": mortality,
            "in_migration": 0.0,
            "out_migration": 0.0,
            "net_migration": float(f["sigma"]),
            "net_migration_ar": float(f["phi"]),
        }
    for cls in SIZE_CLASSES:
        src = out.get(f"gemeinde:{cls}") or out.get(f"kreis:{cls}")
        if src is not None:
            out[cls] = dict(src)
    return out


def holdout_split(errors: pd.DataFrame, cutoff: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(calibration, evaluation)``: errors observed ``<= cutoff``, and those from bases ``>=
    cutoff`` (all observed after it): no year of the evaluation is seen by the calibration.

    >>> e = pd.DataFrame({"base_year": [2015, 2015, 2017], "year": [2016, 2019, 2019]})
    >>> c, v = holdout_split(e, 2017)
    >>> c["year"].tolist(), v["base_year"].tolist()
    ([2016], [2017])
    """
    calib = errors[errors["year"].astype(int) <= cutoff]
    evaluation = errors[errors["base_year"].astype(int) >= cutoff]
    return calib.reset_index(drop=True), evaluation.reset_index(drop=True)

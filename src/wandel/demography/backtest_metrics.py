"""Error metrics and the tables of the backtests (:mod:`wandel.demography.backtest`).

``APE = 100 |P - O| / O``; MAPE (mean), MedAPE (median), MAPE-R (Tayman & Swanson 1999: the APEs
Box-Cox transformed with the lambda in (0, 1] that makes them most symmetric, averaged and
transformed back, ``(lambda mean + 1)^(1/lambda)`` after ``(APE^lambda - 1) / lambda``), the shares
within 5 % and 10 %; the coverage of Wandel's central 50 %, 80 % and 95 % intervals (the share of
zones whose observed total lies within ``q25..q75``, ``q10..q90``, ``q025..q975`` of the draws of the
total).

Tables:

* :func:`summarise`: by level, base year, horizon, method and size class (plus ``all``);
* :func:`by_horizon`: the rolling origins pooled, by level, horizon, method and group (``all``, the
  size classes, the Kreis types), with the number of origins;
* :func:`winners`: for every row of such a table, the best baseline, Wandel's MAPE beside it and
  which of all methods wins;
* :func:`coverage_table`: nominal 50/80/95 % against observed, by level, horizon and size class.

References: Tayman & Swanson (1999), Population Research and Policy Review 18; Smith, Tayman &
Swanson (2013), *A Practitioner's Guide to State and Local Population Projections*, ch. 13.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.demography.uncertainty import SIZE_CLASSES

__all__ = [
    "INTERVALS",
    "age_share_mae",
    "ape",
    "by_horizon",
    "coverage",
    "coverage_table",
    "error_metrics",
    "mape_r",
    "summarise",
    "winners",
]

Array = npt.NDArray[np.float64]

INTERVALS: dict[int, tuple[str, str]] = {
    50: ("q25", "q75"),
    80: ("q10", "q90"),
    95: ("q025", "q975"),
}
"""Nominal coverage (percent) of each central interval and its bounds (columns of the errors)."""

QUANTILE_LEVELS: tuple[float, ...] = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
"""The quantiles of the draws the backtests keep (the bounds of :data:`INTERVALS`)."""


def ape(projected: npt.ArrayLike, observed: npt.ArrayLike) -> Array:
    """Absolute percentage errors ``100 |P - O| / O``.

    >>> ape([110.0, 95.0], [100.0, 100.0]).tolist()
    [10.0, 5.0]
    """
    p = np.asarray(projected, dtype=np.float64)
    o = np.asarray(observed, dtype=np.float64)
    out: Array = 100.0 * np.abs(p - o) / o
    return out


def _skew(x: Array) -> float:
    s = float(x.std())
    return 0.0 if s == 0 else float(np.mean((x - x.mean()) ** 3) / s**3)


def mape_r(apes: npt.ArrayLike) -> float:
    """Rescaled MAPE (Tayman & Swanson 1999): Box-Cox symmetrised mean of the APEs.

    ``lambda`` in 0.01..1 (step 0.01) minimising the absolute skewness of
    ``(APE^lambda - 1) / lambda``; MAPE-R ``= (lambda mean + 1)^(1/lambda)``. Zeros are raised to
    1e-6. Symmetric APEs give lambda 1 and MAPE-R = MAPE.

    >>> round(mape_r([1.0, 2.0, 3.0]), 6)
    2.0
    """
    a = np.maximum(np.asarray(apes, dtype=np.float64), 1e-6)
    if len(a) < 3:
        return float(a.mean())
    best, lam_best = np.inf, 1.0
    for lam in np.round(np.arange(1.0, 0.0, -0.01), 2):
        k = abs(_skew((a**lam - 1) / lam))
        if k < best - 1e-12:
            best, lam_best = k, float(lam)
    m = float(np.mean((a**lam_best - 1) / lam_best))
    return float((lam_best * m + 1) ** (1 / lam_best))


def error_metrics(projected: npt.ArrayLike, observed: npt.ArrayLike) -> dict[str, float]:
    """n, MAPE, MedAPE, MAPE-R, share within 5 % and 10 % (percent) of one set of projections.

    >>> m = error_metrics([104.0, 92.0, 100.0], [100.0, 100.0, 100.0])
    >>> m["mape"], m["medape"], round(m["within5"], 2), m["within10"]
    (4.0, 4.0, 66.67, 100.0)
    """
    a = ape(projected, observed)
    return {
        "n": float(len(a)),
        "mape": float(a.mean()),
        "medape": float(np.median(a)),
        "mape_r": mape_r(a),
        "within5": float(100.0 * np.mean(a <= 5.0)),
        "within10": float(100.0 * np.mean(a <= 10.0)),
    }


def age_share_mae(projected: Array, observed: Array) -> float:
    """Mean absolute error (percentage points) of age-group shares; last axis the groups.

    >>> round(age_share_mae(np.array([[50.0, 50.0]]), np.array([[40.0, 60.0]])), 9)
    10.0
    """
    sp = projected / projected.sum(axis=-1, keepdims=True)
    so = observed / observed.sum(axis=-1, keepdims=True)
    return float(100.0 * np.mean(np.abs(sp - so)))


def coverage(errors: pd.DataFrame, nominal: int) -> float:
    """Observed coverage (percent) of the central ``nominal`` % interval; NaN without bounds.

    >>> e = pd.DataFrame({"observed": [10.0, 12.0, 20.0], "q10": [9.0, 9.0, 9.0],
    ...                   "q90": [11.0, 13.0, 13.0]})
    >>> round(coverage(e, 80), 2)
    66.67
    """
    lo, hi = INTERVALS[nominal]
    if lo not in errors or errors[lo].isna().all():
        return float("nan")
    sub = errors[errors[lo].notna()]
    inside = (sub["observed"] >= sub[lo]) & (sub["observed"] <= sub[hi])
    return float(100.0 * inside.mean())


def _metric_rows(
    g: pd.DataFrame, groups: Sequence[tuple[str, pd.Series]]
) -> list[dict[str, float | str]]:
    rows = []
    for name, mask in groups:
        sub = g[mask.reindex(g.index, fill_value=False)]
        if sub.empty:
            continue
        m: dict[str, float | str] = {
            "group": name,
            **error_metrics(sub["projected"], sub["observed"]),
        }
        for nominal in INTERVALS:
            m[f"coverage{nominal}"] = coverage(sub, nominal)
        rows.append(m)
    return rows


def _size_groups(g: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    every = pd.Series(True, index=g.index)
    return [("all", every)] + [(c, g["size_class"] == c) for c in SIZE_CLASSES]


def summarise(errors: pd.DataFrame) -> pd.DataFrame:
    """Metrics by level, base year, horizon, method and size class (plus ``all``), with coverage."""
    rows = []
    keys = ["level", "base_year", "horizon", "method"]
    for key, g in errors.groupby(keys, sort=True):
        for m in _metric_rows(g, _size_groups(g)):
            cls = m.pop("group")
            rows.append({**dict(zip(keys, key, strict=True)), "size_class": cls, **m})
    return pd.DataFrame(rows)


COMMON_SHARE = 0.9
"""Pooled, a baseline is compared where it has at least this share of Wandel's projections."""

_KEY = ["zone", "base_year", "year"]


def _common_rows(g: pd.DataFrame) -> pd.DataFrame:
    """The rows of the methods compared in one pooled cell, all on the same projections.

    A baseline with fewer than :data:`COMMON_SHARE` of Wandel's projections (e.g. Hamilton-Perry,
    which needs two structures and so misses the first origin) is left out; the others (Wandel
    included) keep only the projections every one of them has (e.g. without the one Kreis that a
    boundary change left with a single total).
    """
    keys = {m: pd.MultiIndex.from_frame(sub[_KEY]) for m, sub in g.groupby("method")}
    if "wandel" not in keys:
        return g.iloc[0:0]
    n_w = len(keys["wandel"])
    kept = [m for m, k in keys.items() if len(k) >= COMMON_SHARE * n_w]
    common = keys["wandel"]
    for m in kept:
        common = common.intersection(keys[m])
    g = g[g["method"].isin(kept)]
    return g[pd.MultiIndex.from_frame(g[_KEY]).isin(common)]


def by_horizon(errors: pd.DataFrame) -> pd.DataFrame:
    """The rolling origins pooled: metrics by level, horizon, method and group.

    Groups: ``all``, the size classes and, where the errors have them, the Kreis types
    (``kreis_type``); ``origins`` counts the base years pooled. In each cell every method is
    measured on the same projections (:func:`_common_rows`).
    """
    rows = []
    for (level, h), lh in errors.groupby(["level", "horizon"], sort=True):
        groups = _size_groups(lh)
        if "kreis_type" in lh and lh["kreis_type"].notna().any():
            types = sorted(lh["kreis_type"].dropna().unique())
            groups += [(str(t), lh["kreis_type"] == t) for t in types]
        for name, mask in groups:
            cell = _common_rows(lh[mask.reindex(lh.index, fill_value=False)])
            for method, g in cell.groupby("method", sort=True):
                for m in _metric_rows(g, [("all", pd.Series(True, index=g.index))]):
                    m.pop("group")
                    rows.append(
                        {
                            "level": level,
                            "horizon": h,
                            "method": method,
                            "group": name,
                            "origins": g["base_year"].nunique(),
                            **m,
                        }
                    )
    return pd.DataFrame(rows)


def winners(table: pd.DataFrame, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Which method wins where: per row of keys (default all but the method and metric columns),
    Wandel's MAPE, the best baseline and its MAPE, and the winner of all methods (lowest MAPE;
    ties to Wandel only when exactly equal).

    >>> t = pd.DataFrame({"horizon": [1, 1, 1], "method": ["wandel", "constant", "linear"],
    ...                   "mape": [0.5, 0.7, 0.4]})
    >>> winners(t, ["horizon"])[["best_baseline", "winner"]].values.tolist()
    [['linear', 'linear']]
    """
    if keys is None:
        keys = [c for c in ("level", "base_year", "horizon", "group", "size_class") if c in table]
    rows = []
    for key, g in table.groupby(list(keys), sort=True):
        k = key if isinstance(key, tuple) else (key,)
        m = g.set_index("method")["mape"]
        if "wandel" not in m:
            continue
        base = m.drop("wandel").dropna()
        if base.empty:
            continue
        best = str(base.idxmin())
        rows.append(
            {
                **dict(zip(keys, k, strict=True)),
                "wandel": float(m["wandel"]),
                "best_baseline": best,
                "best_baseline_mape": float(base[best]),
                "winner": "wandel" if m["wandel"] <= base[best] else best,
            }
        )
    return pd.DataFrame(rows)


def coverage_table(errors: pd.DataFrame) -> pd.DataFrame:
    """Nominal against observed coverage of Wandel's intervals, by level, horizon and size class.

    Rows level, horizon, size_class (``all`` and the classes), n, origins, and the observed
    coverage of each nominal interval (``obs50``, ``obs80``, ``obs95``, percent).
    """
    e = errors[(errors["method"] == "wandel") & errors["q10"].notna()]
    rows = []
    for (level, h), g in e.groupby(["level", "horizon"], sort=True):
        for name, mask in _size_groups(g):
            sub = g[mask]
            if sub.empty:
                continue
            row: dict[str, object] = {
                "level": level,
                "horizon": h,
                "size_class": name,
                "n": len(sub),
                "origins": sub["base_year"].nunique(),
            }
            for nominal in INTERVALS:
                row[f"obs{nominal}"] = coverage(sub, nominal)
            rows.append(row)
    return pd.DataFrame(rows)

"""Peers: the municipalities most similar to a town on standardised indicators, explained.

The features are the catalogue's peer indicators (``peer: linear`` or ``log10``) that almost every
zone of the level has. Each is transformed (``log10`` for size and density), then standardised over
all zones of the level, ``z = (t(x) - mean) / sd``. Similarity is the Euclidean distance between
z-vectors, ``d(i, j) = sqrt(sum_f (z_if - z_jf)^2)``; a zone is never its own peer, ties go to the
smaller AGS. :func:`nearest_neighbours` finds the exact k nearest of every zone at once with a k-d
tree (Friedman, Bentley & Finkel 1977, via :class:`scipy.spatial.cKDTree`) and a check that no tie
at the k-th distance was cut off.

The explanation of a pair lists the indicators on which the two are closest (smallest ``|dz|``) and
those where they differ most, with the share of the squared distance each contributes.

Where the Gemeinde age structures are estimates (spread from the Kreis), Gemeinden of one Kreis look
alike on the age indicators by construction; :attr:`FeatureMatrix.estimated_share` says how much of
the matrix rests on estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from wandel.compare.catalogue import IndicatorTable
from wandel.errors import NotComparableError, UnknownZoneError

__all__ = [
    "FeatureMatrix",
    "NotComparableError",
    "PeerResult",
    "explain_pair",
    "feature_matrix",
    "nearest_neighbours",
    "peers",
]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_COVERAGE = 0.9
"""A peer feature is used when at least this share of the level's zones has it."""


@dataclass(frozen=True)
class FeatureMatrix:
    """Standardised features of the zones of one level.

    ``raw`` holds the indicator values, ``z`` the standardised transformed values (rows = ``zones``,
    columns = ``features``); ``mean``/``sd`` are those of the transformed values. ``dropped`` lists
    zones left out for a missing feature.
    """

    level: str
    zones: tuple[str, ...]
    features: tuple[str, ...]
    transforms: tuple[str, ...]
    raw: Array
    z: Array
    mean: Array
    sd: Array
    estimated: npt.NDArray[np.bool_]
    dropped: tuple[str, ...] = ()

    @property
    def estimated_share(self) -> float:
        """Share of the matrix's cells that rest on estimates."""
        return float(self.estimated.mean()) if self.estimated.size else 0.0

    def position(self, zone: str) -> int:
        """Row of ``zone``; a zone outside the matrix is refused with the reason."""
        try:
            return self.zones.index(zone)
        except ValueError:
            if zone in self.dropped:
                raise NotComparableError(
                    f"{zone}: lacks one of the peer indicators ({', '.join(self.features)})"
                ) from None
            raise UnknownZoneError(
                zone, reason="@compare.error.no_peer_values", level=self.level
            ) from None


def feature_matrix(
    table: IndicatorTable, level: str = "gemeinde", features: Sequence[str] | None = None
) -> FeatureMatrix:
    """Build the standardised feature matrix of ``level`` from an indicator table."""
    cat = table.catalogue
    v = table.values[table.values["level"] == level]
    n_zones = v["zone"].nunique()
    if n_zones < 3:
        raise NotComparableError("@compare.error.too_few_zones", n=n_zones, level=level)
    if features is None:
        cover = v.groupby("indicator")["zone"].nunique() / n_zones
        features = [k for k, ind in cat.items() if ind.peer and cover.get(k, 0.0) >= MIN_COVERAGE]
    feats = list(features)
    w = v[v["indicator"].isin(feats)].pivot(index="zone", columns="indicator", values="value")
    est = v[v["indicator"].isin(feats)].pivot(index="zone", columns="indicator", values="estimated")
    w = w.reindex(columns=feats)
    complete = w.notna().all(axis=1)
    dropped = tuple(sorted(w.index[~complete]))
    w = w[complete]
    raw = w.to_numpy(dtype=np.float64)
    transforms = tuple(cat[f].peer or "linear" for f in feats)
    t = raw.copy()
    for j, tr_ in enumerate(transforms):
        if tr_ == "log10":
            t[:, j] = np.log10(np.maximum(raw[:, j], 1e-9))
    mean = t.mean(axis=0)
    sd = t.std(axis=0)
    keep = sd > 0
    if not keep.any():
        raise NotComparableError("@compare.error.constant")
    feats = [f for f, k in zip(feats, keep, strict=True) if k]
    z = (t[:, keep] - mean[keep]) / sd[keep]
    e = est.reindex(index=w.index, columns=feats).fillna(False).to_numpy(dtype=bool)
    return FeatureMatrix(
        level,
        tuple(str(x) for x in w.index),
        tuple(feats),
        tuple(tr_ for tr_, k in zip(transforms, keep, strict=True) if k),
        raw[:, keep],
        z,
        mean[keep],
        sd[keep],
        e,
        dropped,
    )


def _tied_row(tree: cKDTree, x: Array, i: int, k: int, radius: float) -> tuple[IntArray, Array]:
    """Row ``i`` exactly: every point within ``radius`` (the k-th distance), ties by index."""
    cand = np.array(tree.query_ball_point(x[i], radius * (1 + 1e-12) + 1e-300), dtype=np.int64)
    cand = cand[cand != i]
    d = np.sqrt(np.einsum("ij,ij->i", x[cand] - x[i], x[cand] - x[i]))
    order = np.lexsort((cand, d))[:k]
    return cand[order], d[order]


def nearest_neighbours(
    x: Array, k: int, *, margin: int = 2, workers: int = 1
) -> tuple[IntArray, Array]:
    """Exact ``k`` nearest neighbours of every row of ``x`` among the other rows.

    A k-d tree (:class:`scipy.spatial.cKDTree`) returns ``k + 1 + margin`` candidates per row
    (the row itself among them); they are ordered by distance, ties by index, and the row dropped.
    Where the last candidate is as far as the k-th neighbour, a tie may reach beyond the list: such
    rows (and rows whose own point was crowded out by duplicates) are redone from every point within
    the k-th distance. ``workers`` threads query the tree (``-1``: all cores).

    Returns ``(index, distance)``, both ``(n, k)``, sorted by distance, ties by index; a row is never
    its own neighbour.

    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    >>> idx, dist = nearest_neighbours(x, 2)
    >>> idx.tolist(), np.round(dist, 3).tolist()
    ([[1, 2], [0, 2], [0, 1], [2, 1]], [[1.0, 2.0], [1.0, 2.236], [2.0, 2.236], [3.162, 3.606]])
    """
    n = len(x)
    if not 0 < k < n:
        raise NotComparableError("@compare.error.k_peers", k=k, n=n)
    x = np.ascontiguousarray(x, dtype=np.float64)
    tree = cKDTree(x, leafsize=32)
    kk = min(k + 1 + margin, n)
    dist, idx = tree.query(x, k=kk, workers=workers)
    idx = idx.astype(np.int64)
    order = np.lexsort((idx, dist), axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    dist = np.take_along_axis(dist, order, axis=1)
    own = idx == np.arange(n)[:, None]
    has_own = own.any(axis=1)
    # drop the row itself (or, where duplicates crowded it out, the last candidate)
    drop = np.where(has_own, np.argmax(own, axis=1), kk - 1)
    keep = np.ones_like(own)
    keep[np.arange(n), drop] = False
    idx = idx[keep].reshape(n, kk - 1)[:, :k]
    last = dist[np.arange(n), kk - 1]
    dist = dist[keep].reshape(n, kk - 1)[:, :k]
    unsure = np.flatnonzero(~has_own | ((last <= dist[:, -1]) & (kk < n)))
    for r in unsure:
        idx[r], dist[r] = _tied_row(tree, x, int(r), k, float(dist[r, -1]))
    return idx, dist


def explain_pair(matrix: FeatureMatrix, i: int, j: int) -> pd.DataFrame:
    """Per feature: both raw values, ``|dz|`` and the share of the squared distance, closest first."""
    dz = np.abs(matrix.z[i] - matrix.z[j])
    total = float(np.sum(dz**2))
    frame = pd.DataFrame(
        {
            "indicator": matrix.features,
            "value": matrix.raw[i],
            "peer_value": matrix.raw[j],
            "abs_dz": dz,
            "share_of_distance": dz**2 / total if total > 0 else 0.0,
        }
    )
    return frame.sort_values(["abs_dz", "indicator"]).reset_index(drop=True)


@dataclass(frozen=True)
class PeerResult:
    """The ``k`` peers of one zone, closest first.

    ``table`` columns: ``rank, peer, distance, similar_1..3`` (the indicators on which the two are
    closest), ``differs_1`` and ``differs_share`` (the indicator that adds most to the distance and
    its share of the squared distance), ``estimated_share`` (of the pair's feature cells).
    """

    zone: str
    features: tuple[str, ...]
    table: pd.DataFrame


def peers(matrix: FeatureMatrix, zone: str, k: int = 5) -> PeerResult:
    """The ``k`` zones most similar to ``zone`` (never ``zone`` itself), explained."""
    i = matrix.position(zone)
    if not 0 < k < len(matrix.zones):
        raise NotComparableError("@compare.error.k_peers", k=k, n=len(matrix.zones))
    d2 = np.einsum("ij,ij->i", matrix.z - matrix.z[i], matrix.z - matrix.z[i])
    d2[i] = np.inf
    order = np.lexsort((np.array(matrix.zones), d2))[:k]
    rows = []
    for rank, j in enumerate(order, 1):
        ex = explain_pair(matrix, i, int(j))
        worst = ex.iloc[-1]
        sim = [*ex["indicator"].head(3), None, None, None][:3]
        est = float(np.mean(matrix.estimated[[i, int(j)]]))
        rows.append(
            (
                rank,
                matrix.zones[j],
                float(np.sqrt(d2[j])),
                *sim,
                worst["indicator"],
                float(worst["share_of_distance"]),
                est,
            )
        )
    cols = ["rank", "peer", "distance", "similar_1", "similar_2", "similar_3", "differs_1"]
    cols += ["differs_share", "estimated_share"]
    return PeerResult(zone, matrix.features, pd.DataFrame(rows, columns=cols))

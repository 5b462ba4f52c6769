"""Peers: the municipalities most similar to a town on standardised indicators, explained.

The features are the catalogue's peer indicators (``peer: linear`` or ``log10``) that almost every
zone of the level has. Each is transformed (``log10`` for size and density), then standardised over
all zones of the level, ``z = (t(x) - mean) / sd``. Similarity is the Euclidean distance between
z-vectors, ``d(i, j) = sqrt(sum_f (z_if - z_jf)^2)``; a zone is never its own peer, ties go to the
smaller AGS. :func:`nearest_neighbours` finds the exact k nearest for every zone at once: blocked
distances through one matrix product, ``|x|^2 + |y|^2 - 2 x.y``, a candidate set with a margin, the
candidates' distances recomputed exactly from differences, and a full exact row wherever rounding
could have hidden a neighbour.

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

from wandel.compare.catalogue import IndicatorTable
from wandel.errors import UnknownZoneError, WandelError

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


class NotComparableError(WandelError, ValueError):
    """Too few zones or features to compare (e.g. the town lacks a value of every feature)."""


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
            raise UnknownZoneError(zone, (), f"no {self.level} with peer indicators") from None


def feature_matrix(
    table: IndicatorTable, level: str = "gemeinde", features: Sequence[str] | None = None
) -> FeatureMatrix:
    """Build the standardised feature matrix of ``level`` from an indicator table."""
    cat = table.catalogue
    v = table.values[table.values["level"] == level]
    n_zones = v["zone"].nunique()
    if n_zones < 3:
        raise NotComparableError(f"only {n_zones} zones of level {level}: nothing to compare")
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
        raise NotComparableError("every peer indicator is constant across the zones")
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


def _row_exact(x: Array, i: int, k: int) -> tuple[IntArray, Array]:
    d2 = np.einsum("ij,ij->i", x - x[i], x - x[i])
    d2[i] = np.inf
    order = np.lexsort((np.arange(len(x)), d2))[:k]
    return order.astype(np.int64), d2[order]


def nearest_neighbours(
    x: Array, k: int, *, block: int = 1024, margin: int = 8
) -> tuple[IntArray, Array]:
    """Exact ``k`` nearest neighbours of every row of ``x`` among the other rows.

    Returns ``(index, distance)``, both ``(n, k)``, sorted by distance, ties by index; a row is never
    its own neighbour.

    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    >>> idx, dist = nearest_neighbours(x, 2)
    >>> idx.tolist(), np.round(dist, 3).tolist()
    ([[1, 2], [0, 2], [0, 1], [2, 1]], [[1.0, 2.0], [1.0, 2.236], [2.0, 2.236], [3.162, 3.606]])
    """
    n = len(x)
    if not 0 < k < n:
        raise NotComparableError(f"k={k} peers need more than k zones (have {n})")
    x = np.ascontiguousarray(x, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    kk = min(k + margin, n - 1)
    tol = 1e-9 * max(1.0, float(sq.max()))
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k))
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = np.arange(start, stop)
        d2 = sq[rows, None] + sq[None, :] - 2.0 * (x[rows] @ x.T)
        d2[rows - start, rows] = np.inf
        if kk < n - 1:
            part = np.argpartition(d2, kk, axis=1)
            cand = part[:, :kk]
            boundary = d2[np.arange(len(rows))[:, None], part[:, kk : kk + 1]][:, 0]
        else:
            cand = np.argsort(d2, axis=1)[:, :kk]
            boundary = np.full(len(rows), np.inf)
        diff = x[rows, None, :] - x[cand]
        exact = np.einsum("bkd,bkd->bk", diff, diff)
        exact[cand == rows[:, None]] = np.inf
        order = np.lexsort((cand, exact), axis=1)[:, :k]
        sel_i = np.take_along_axis(cand, order, axis=1)
        sel_d = np.take_along_axis(exact, order, axis=1)
        # a neighbour outside the candidates is impossible where the boundary clears the k-th
        unsure = np.flatnonzero(boundary <= sel_d[:, -1] + tol)
        for r in unsure:
            sel_i[r], sel_d[r] = _row_exact(x, int(rows[r]), k)
        out_i[rows] = sel_i
        out_d[rows] = sel_d
    return out_i, np.sqrt(np.maximum(out_d, 0.0))


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
        raise NotComparableError(f"k={k} peers need more than k zones (have {len(matrix.zones)})")
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

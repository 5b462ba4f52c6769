"""A typology of municipalities by k-means on the standardised peer features, with a stability check.

Clustering: Lloyd's k-means (:func:`scipy.cluster.vq.kmeans2`) from k-means++ starts drawn with a
seeded generator, ``n_init`` starts, the one with the smallest within-cluster sum of squares kept.
Types are numbered by size (largest first), so the same data and seed give the same numbers.

Choosing k: for every k in ``k_range`` the mean silhouette width (on a seeded sample of at most
``SILHOUETTE_SAMPLE`` zones; Rousseeuw 1987) and the bootstrap stability: ``boots`` resamples with
replacement are clustered again, every zone is assigned to the nearest resampled centre, and the
adjusted Rand index (Hubert & Arabie 1985) against the full-data types is taken (Hennig 2007 style
stability). The chosen k has the largest silhouette among the ks whose mean ARI is at least
:data:`STABLE_ARI`; if none is that stable, the most stable k. The table of every k's figures is
part of the result, so the choice can be checked.

Profiles: per type its size, the mean of every feature (raw and in z), and a readable name from the
two features that set it apart most (``|mean z| >= 0.5``), worded by the catalogue (``high``/``low``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.cluster.vq import ClusterError, kmeans2

from wandel.compare.catalogue import load_catalogue
from wandel.compare.peers import FeatureMatrix, NotComparableError

__all__ = [
    "SILHOUETTE_SAMPLE",
    "STABLE_ARI",
    "Typology",
    "adjusted_rand_index",
    "kmeans",
    "silhouette",
    "typology",
]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

STABLE_ARI = 0.8
"""Mean bootstrap ARI from which a k counts as stable."""
SILHOUETTE_SAMPLE = 2000
"""At most this many zones enter the silhouette (it costs n^2)."""


def _assign(z: Array, centres: Array) -> tuple[IntArray, float]:
    d2 = (
        np.einsum("ij,ij->i", z, z)[:, None]
        + np.einsum("ij,ij->i", centres, centres)[None, :]
        - 2.0 * z @ centres.T
    )
    labels = np.argmin(d2, axis=1).astype(np.int64)
    inertia = float(np.sum(np.maximum(d2[np.arange(len(z)), labels], 0.0)))
    return labels, inertia


def _plus_plus(z: Array, k: int, rng: np.random.Generator) -> Array:
    centres = [z[int(rng.integers(len(z)))]]
    d2 = np.sum((z - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(len(z), 1.0 / len(z))
        c = z[int(rng.choice(len(z), p=p))]
        centres.append(c)
        d2 = np.minimum(d2, np.sum((z - c) ** 2, axis=1))
    return np.array(centres)


def kmeans(z: Array, k: int, seed: int, n_init: int = 10) -> tuple[IntArray, Array, float]:
    """Labels ``0..k-1`` (numbered by size, largest first), centres and inertia of the best start.

    >>> z = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0], [5.1, 5.0]])
    >>> labels, centres, inertia = kmeans(z, 2, seed=1)
    >>> labels.tolist(), round(inertia, 4)
    ([0, 0, 0, 1, 1], 0.0183)
    """
    if not 1 < k < len(z):
        raise NotComparableError("@compare.error.k_types", k=k, n=len(z))
    rng = np.random.default_rng(seed)
    best: tuple[IntArray, Array, float] | None = None
    for _ in range(n_init):
        start = _plus_plus(z, k, rng)
        try:
            centres, _lab = kmeans2(z, start, iter=100, minit="matrix", missing="raise")
        except ClusterError:
            continue
        labels, inertia = _assign(z, centres)
        if best is None or inertia < best[2] - 1e-12:
            best = (labels, centres, inertia)
    if best is None:
        raise NotComparableError("@compare.error.kmeans_empty", k=k)
    labels, centres, inertia = best
    sizes = np.bincount(labels, minlength=k)
    order = np.lexsort((centres[:, 0], -sizes))  # largest type first
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[labels], centres[order], inertia


def adjusted_rand_index(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Adjusted Rand index of two labellings (1 = identical partitions, about 0 = chance).

    ``ARI = (sum_ij C(n_ij,2) - E) / (0.5 (sum_i C(a_i,2) + sum_j C(b_j,2)) - E)`` with
    ``E = sum_i C(a_i,2) sum_j C(b_j,2) / C(n,2)`` (Hubert & Arabie 1985).

    >>> adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0]), adjusted_rand_index([0, 0, 1, 2], [0, 0, 1, 1])
    (1.0, 0.5714285714285715)
    """
    x = np.asarray(a)
    y = np.asarray(b)
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    table = np.zeros((xi.max() + 1, yi.max() + 1))
    np.add.at(table, (xi, yi), 1.0)

    def c2(v: Array) -> float:
        return float(np.sum(v * (v - 1.0) / 2.0))

    n = len(x)
    index = c2(table.ravel())
    rows, cols = c2(table.sum(axis=1)), c2(table.sum(axis=0))
    expected = rows * cols / (n * (n - 1) / 2.0)
    top = 0.5 * (rows + cols) - expected
    return 1.0 if top == 0 else float((index - expected) / top)


def silhouette(z: Array, labels: IntArray, seed: int, sample: int = SILHOUETTE_SAMPLE) -> float:
    """Mean silhouette width ``(b - a) / max(a, b)`` over a seeded sample of at most ``sample``."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(z), size=min(sample, len(z)), replace=False))
    zs, ls = z[idx], labels[idx]
    sq = np.einsum("ij,ij->i", zs, zs)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * zs @ zs.T, 0.0))
    ks = np.unique(ls)
    if len(ks) < 2:
        return 0.0
    mean_to = np.stack([d[:, ls == c].sum(axis=1) for c in ks], axis=1)
    size = np.array([(ls == c).sum() for c in ks], dtype=float)
    own = np.searchsorted(ks, ls)
    n_own = size[own] - 1.0
    a = np.where(n_own > 0, mean_to[np.arange(len(ls)), own] / np.maximum(n_own, 1.0), 0.0)
    other = mean_to / size[None, :]
    other[np.arange(len(ls)), own] = np.inf
    b = other.min(axis=1)
    s = np.where(n_own > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def _stability(z: Array, k: int, labels: IntArray, seed: int, boots: int) -> Array:
    rng = np.random.default_rng(seed)
    out = []
    for b in range(boots):
        idx = rng.integers(0, len(z), size=len(z))
        sample = z[idx]
        if len(np.unique(sample, axis=0)) <= k:
            continue
        try:
            _l, centres, _i = kmeans(sample, k, seed=seed + 1000 + b, n_init=3)
        except NotComparableError:
            continue
        relabel, _inertia = _assign(z, centres)
        out.append(adjusted_rand_index(labels, relabel))
    return np.array(out)


@dataclass(frozen=True)
class Typology:
    """Types of the zones of a feature matrix.

    ``types``: zone -> type (1..k). ``profiles``: per type and feature ``n, mean, mean_z``.
    ``names``: per type the features that set it apart, as ``(feature, "high"|"low")``.
    ``selection``: per k tried ``silhouette, ari_mean, ari_min, inertia``; ``rule`` says how k was
    chosen; ``stability`` is the chosen k's bootstrap ARIs.
    """

    k: int
    features: tuple[str, ...]
    types: pd.Series
    profiles: pd.DataFrame
    names: dict[int, tuple[tuple[str, str], ...]]
    selection: pd.DataFrame
    rule: str
    stability: Array
    seed: int

    def label(self, t: int, lang: str | None = None) -> str:
        """Readable name of type ``t``, e.g. ``Typ 2: älter, schrumpfend``."""
        from wandel.i18n import tr

        cat = load_catalogue()
        words = [cat[f].text(side, lang) for f, side in self.names[t]]
        body = ", ".join(words) if words else tr("compare.type.average", lang)
        return tr("compare.type.label", lang, n=t, words=body)


def _profiles(
    matrix: FeatureMatrix, labels: IntArray, k: int
) -> tuple[pd.DataFrame, dict[int, tuple[tuple[str, str], ...]]]:
    rows = []
    names: dict[int, tuple[tuple[str, str], ...]] = {}
    for t in range(k):
        m = labels == t
        mz = matrix.z[m].mean(axis=0)
        mr = matrix.raw[m].mean(axis=0)
        for f, feat in enumerate(matrix.features):
            rows.append((t + 1, int(m.sum()), feat, float(mr[f]), float(mz[f])))
        top = [int(i) for i in np.argsort(-np.abs(mz), kind="stable")[:2] if abs(mz[i]) >= 0.5]
        names[t + 1] = tuple((matrix.features[i], "high" if mz[i] > 0 else "low") for i in top)
    cols = ["type", "n", "indicator", "mean", "mean_z"]
    return pd.DataFrame(rows, columns=cols), names


def typology(
    matrix: FeatureMatrix,
    k: int | None = None,
    *,
    k_range: tuple[int, int] = (3, 8),
    seed: int = 20261123,
    boots: int = 20,
    n_init: int = 10,
) -> Typology:
    """Cluster the zones of ``matrix`` into types (``k`` given, or chosen from ``k_range``)."""
    z = matrix.z
    ks = [k] if k is not None else list(range(k_range[0], k_range[1] + 1))
    ks = [c for c in ks if 1 < c < len(z)]
    if not ks:
        raise NotComparableError("@compare.error.too_few_typology", n=len(z))
    fits: dict[int, tuple[IntArray, Array]] = {}
    rows = []
    for c in ks:
        labels, _centres, inertia = kmeans(z, c, seed=seed + c, n_init=n_init)
        ari = _stability(z, c, labels, seed + 100 * c, boots)
        sil = silhouette(z, labels, seed)
        fits[c] = (labels, ari)
        rows.append(
            (
                c,
                sil,
                float(ari.mean()) if ari.size else np.nan,
                float(ari.min()) if ari.size else np.nan,
                inertia,
            )
        )
    sel = pd.DataFrame(rows, columns=["k", "silhouette", "ari_mean", "ari_min", "inertia"])
    if k is not None:
        chosen, rule = k, "given"
    else:
        stable = sel[sel["ari_mean"] >= STABLE_ARI]
        if not stable.empty:
            chosen = int(
                stable.sort_values(["silhouette", "k"], ascending=[False, True])["k"].iloc[0]
            )
            rule = f"max silhouette among k with mean bootstrap ARI >= {STABLE_ARI}"
        else:
            chosen = int(sel.sort_values(["ari_mean", "k"], ascending=[False, True])["k"].iloc[0])
            rule = f"no k reached mean bootstrap ARI {STABLE_ARI}: the most stable k"
    labels, stab = fits[chosen]
    profiles, names = _profiles(matrix, labels, chosen)
    types = pd.Series(labels + 1, index=list(matrix.zones), name="type", dtype="int64")
    return Typology(chosen, matrix.features, types, profiles, names, sel, rule, stab, seed)

"""Peers and typology: exact neighbours against a naive oracle and scikit-learn, never oneself,
symmetric distances, determinism; ARI and silhouette against scikit-learn; the demo typology."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors

from _compare_store import compare_data
from wandel.compare.peers import explain_pair, feature_matrix, nearest_neighbours, peers
from wandel.compare.typology import adjusted_rand_index, kmeans, silhouette, typology


def _naive(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.empty((len(x), k), dtype=int)
    dist = np.empty((len(x), k))
    for i in range(len(x)):
        d = np.sqrt(((x - x[i]) ** 2).sum(axis=1))
        d[i] = np.inf
        order = sorted(range(len(x)), key=lambda j: (d[j], j))[:k]
        idx[i], dist[i] = order, d[order]
    return idx, dist


@pytest.mark.parametrize(
    ("n", "d", "k", "margin"), [(200, 5, 5, 4), (57, 3, 10, 0), (30, 8, 29, 2)]
)
def test_nearest_neighbours_equal_a_naive_oracle(n: int, d: int, k: int, margin: int) -> None:
    x = np.random.default_rng(n).normal(size=(n, d))
    idx, dist = nearest_neighbours(x, k, margin=margin)
    ni, nd = _naive(x, k)
    assert np.array_equal(idx, ni)
    assert np.allclose(dist, nd, rtol=1e-12, atol=1e-12)
    assert not (idx == np.arange(n)[:, None]).any()


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=6))
def test_ties_and_duplicates_go_to_the_smaller_index(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(25, 2)).astype(float)  # many duplicates and equal distances
    idx, dist = nearest_neighbours(x, k, margin=1, workers=2)
    ni, nd = _naive(x, k)
    assert np.array_equal(idx, ni)
    assert np.allclose(dist, nd)


def test_same_neighbours_as_scikit_learn() -> None:
    x = np.random.default_rng(3).normal(size=(1500, 8))
    idx, dist = nearest_neighbours(x, 10)
    s_dist, s_idx = NearestNeighbors(n_neighbors=10).fit(x).kneighbors()
    assert np.array_equal(idx, s_idx)
    assert np.allclose(dist, s_dist, rtol=1e-10)


def test_peers_on_the_demo_store(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = compare_data(tmp_path_factory)
    m = feature_matrix(data.table, "gemeinde")
    assert len(m.zones) > 1200
    assert len(m.features) >= 6
    assert np.allclose(m.z.mean(axis=0), 0)
    assert np.allclose(m.z.std(axis=0), 1)
    res = peers(m, "15087220", 5)
    t = res.table
    assert "15087220" not in set(t["peer"])
    assert t["distance"].is_monotonic_increasing
    assert t["rank"].tolist() == [1, 2, 3, 4, 5]
    # the distance is symmetric: Hettstedt is at the same distance from each peer as it from him
    for _, r in t.iterrows():
        back = peers(m, r["peer"], len(m.zones) - 1).table.set_index("peer")
        assert back.loc["15087220", "distance"] == pytest.approx(r["distance"], rel=1e-12)
    # explained: the contributions add up to the squared distance
    ex = explain_pair(m, m.position("15087220"), m.position(t["peer"].iloc[0]))
    assert ex["share_of_distance"].sum() == pytest.approx(1.0)
    assert ex["indicator"].iloc[0] == t["similar_1"].iloc[0]
    # every zone's first peer is its nearest neighbour of the bulk search
    idx, dist = nearest_neighbours(m.z, 5)
    i = m.position("15087220")
    assert [m.zones[j] for j in idx[i]] == t["peer"].tolist()
    assert np.allclose(dist[i], t["distance"])
    # deterministic
    assert peers(m, "15087220", 5).table.equals(t)


def test_adjusted_rand_index_against_scikit_learn() -> None:
    rng = np.random.default_rng(11)
    for _ in range(25):
        a = rng.integers(0, 5, size=300)
        b = np.where(rng.random(300) < 0.7, a, rng.integers(0, 4, size=300))
        assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    perm = np.array([3, 0, 4, 1, 2])
    assert adjusted_rand_index(a, perm[a]) == pytest.approx(1.0)


def test_silhouette_against_scikit_learn() -> None:
    rng = np.random.default_rng(2)
    z = np.vstack([rng.normal(loc=c, size=(60, 3)) for c in (0.0, 3.0, 6.0)])
    labels, _c, _i = kmeans(z, 3, seed=4)
    assert silhouette(z, labels, seed=0) == pytest.approx(silhouette_score(z, labels), abs=1e-10)


def test_kmeans_finds_separated_groups_deterministically() -> None:
    rng = np.random.default_rng(8)
    truth = np.repeat([0, 1, 2], [50, 30, 20])
    z = np.vstack(
        [rng.normal(loc=c, scale=0.3, size=(n, 2)) for c, n in ((0, 50), (4, 30), (8, 20))]
    )
    labels, _centres, inertia = kmeans(z, 3, seed=1)
    assert adjusted_rand_index(labels, truth) == pytest.approx(1.0)
    assert np.bincount(labels).tolist() == [50, 30, 20]  # numbered by size
    again = kmeans(z, 3, seed=1)
    assert np.array_equal(again[0], labels)
    assert again[2] == inertia


def test_typology_of_the_demo_gemeinden(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = compare_data(tmp_path_factory)
    m = feature_matrix(data.table, "gemeinde")
    typ = typology(m, k_range=(3, 5), boots=6, n_init=4)
    assert 3 <= typ.k <= 5
    assert typ.selection["k"].tolist() == [3, 4, 5]
    assert typ.selection["silhouette"].between(-1, 1).all()
    assert len(typ.stability) == 6
    assert (typ.stability <= 1).all()
    sizes = typ.types.value_counts().sort_index()
    assert sizes.is_monotonic_decreasing
    assert sizes.sum() == len(m.zones)
    prof = typ.profiles
    assert set(prof["type"]) == set(range(1, typ.k + 1))
    # type means in z, weighted by size, are the overall mean (0)
    n = prof.drop_duplicates("type").set_index("type")["n"]
    for feat, grp in prof.groupby("indicator"):
        assert float((grp.set_index("type")["mean_z"] * n).sum()) == pytest.approx(0.0, abs=1e-8), (
            feat
        )
    assert typ.label(1, "de").startswith("Typ 1: ")
    again = typology(m, k_range=(3, 5), boots=6, n_init=4)
    assert again.types.equals(typ.types)
    assert again.k == typ.k

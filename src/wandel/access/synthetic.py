"""A reproducible, road-like synthetic network for benchmarks and tests.

:func:`grid_network` lays a jittered ``n_side × n_side`` grid of nodes about 100 m apart around a
centre point, links 4-neighbours in both directions, removes a share of links (dead ends, blocks),
makes a share one-way, adds diagonal shortcuts, and gives every 10th row and column arterial speed.
Weights are haversine lengths over the class speed times a random congestion factor in [1, 1.2).
The same arguments and seed give identical arrays.
"""

from __future__ import annotations

import numpy as np

from wandel.access._geo import haversine_m
from wandel.access.network import RoadNetwork, network_from_edges

__all__ = ["grid_network"]


def grid_network(
    n_side: int,
    *,
    seed: int = 0,
    spacing_m: float = 100.0,
    lon0: float = 11.0,
    lat0: float = 51.0,
    drop_share: float = 0.08,
    oneway_share: float = 0.05,
    diagonal_share: float = 0.05,
    local_kph: float = 30.0,
    arterial_kph: float = 60.0,
) -> RoadNetwork:
    """A perturbed grid road network with about ``n_side²`` nodes (largest strong component).

    >>> net = grid_network(20, seed=1)
    >>> 300 < net.n_nodes <= 400 and net.n_edges > 2 * net.n_nodes
    True
    """
    rng = np.random.default_rng(seed)
    n = n_side * n_side
    r, c = np.divmod(np.arange(n, dtype=np.int64), n_side)
    deg_lat = spacing_m / 111_195.0
    deg_lon = deg_lat / np.cos(np.radians(lat0))
    jitter = rng.uniform(-0.25, 0.25, size=(2, n))
    lon = lon0 + (c - n_side / 2 + jitter[0]) * deg_lon
    lat = lat0 + (r - n_side / 2 + jitter[1]) * deg_lat

    idx = np.arange(n, dtype=np.int64).reshape(n_side, n_side)
    horiz = np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()])
    vert = np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()])
    diag = np.column_stack([idx[:-1, :-1].ravel(), idx[1:, 1:].ravel()])
    diag = diag[rng.random(len(diag)) < diagonal_share]
    pairs = np.concatenate([horiz, vert, diag])
    arterial = np.concatenate(
        [
            (r[horiz[:, 0]] % 10) == 0,
            (c[vert[:, 0]] % 10) == 0,
            np.zeros(len(diag), dtype=bool),
        ]
    )
    keep = (rng.random(len(pairs)) >= drop_share) | arterial
    pairs, arterial = pairs[keep], arterial[keep]
    oneway = rng.random(len(pairs)) < oneway_share
    flip = rng.random(len(pairs)) < 0.5
    a = np.where(flip, pairs[:, 1], pairs[:, 0])
    b = np.where(flip, pairs[:, 0], pairs[:, 1])
    length = haversine_m(lon[a], lat[a], lon[b], lat[b])
    mps = np.where(arterial, arterial_kph, local_kph) / 3.6
    tail = np.concatenate([a, b[~oneway]])
    head = np.concatenate([b, a[~oneway]])
    ln = np.concatenate([length, length[~oneway]])
    speed = np.concatenate([mps, mps[~oneway]])
    weight = ln / speed * rng.uniform(1.0, 1.2, size=len(ln))
    return network_from_edges(
        tail, head, weight, lon, lat, length_m=ln, mode="car", source=f"grid({n_side}, seed={seed})"
    )

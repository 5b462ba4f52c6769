"""Scale check: a state-sized OSM extract (millions of nodes, ~half a million highway ways).

No Geofabrik extract of a whole state ships with the project, so this bench writes a synthetic one in
the real PBF format (pyosmium writer): an n x n grid of nodes (lon/lat around Sachsen-Anhalt), highway
ways of 10 nodes along every row and column (mixed classes, some one-way), and as many untagged extra
nodes (building outlines in a real extract) as grid nodes. It then loads it with
:func:`wandel.access.load_network` (no cache) in a child process and prints wall time and peak memory.
Sachsen-Anhalt's Geofabrik extract has roughly 15 million nodes and 0.6 million highway ways.

Usage: ``python bench/osm_scale_bench.py [--n 1600]``
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import osmium

CLASSES = ("residential", "unclassified", "tertiary", "secondary", "primary", "track")


def write_extract(path: Path, n: int) -> tuple[int, int]:
    writer = osmium.SimpleWriter(str(path))
    rng = random.Random(7)  # road classes and one-way flags, reproducibly scattered
    nid = 0
    try:
        for i in range(n):
            for j in range(n):
                nid += 1
                writer.add_node(
                    osmium.osm.mutable.Node(id=nid, location=(11.0 + j * 0.0006, 51.5 + i * 0.0004))
                )
        extra = nid
        for k in range(n * n):  # untagged nodes, never part of a road
            writer.add_node(
                osmium.osm.mutable.Node(
                    id=extra + k + 1, location=(11.0003 + (k % n) * 0.0006, 51.5002)
                )
            )
        wid = 0
        for i in range(n):
            for j0 in range(0, n - 1, 9):
                for horizontal in (True, False):
                    ids = [
                        (i * n + j + 1) if horizontal else (j * n + i + 1)
                        for j in range(j0, min(j0 + 10, n))
                    ]
                    if len(ids) < 2:
                        continue
                    wid += 1
                    tags = {"highway": rng.choice(CLASSES)}
                    if rng.random() < 0.08:
                        tags["oneway"] = "yes"
                    writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=ids, tags=tags))
    finally:
        writer.close()
    return 2 * n * n, wid


CHILD = """
import resource, sys, time
from wandel.access import load_network
t = time.perf_counter()
net = load_network(sys.argv[1], "car", cache_dir=None)
print(f"{time.perf_counter() - t:.2f} {len(net.node_lon)} {len(net.indices)} "
      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1600)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.osm.pbf"
        t = time.perf_counter()
        nodes, ways = write_extract(path, args.n)
        print(
            f"wrote {nodes:,} nodes, {ways:,} highway ways ({path.stat().st_size / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - t:.1f} s"
        )
        res = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
        )
        secs, n_nodes, n_edges, rss = res.stdout.split()
        print(
            f"load_network(car): {secs} s, {int(n_nodes):,} network nodes, {int(n_edges):,} edges, "
            f"peak RSS {rss} MiB"
        )
    print(
        f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()

"""Benchmark: reading the GV-ISys "Auszug GV" workbooks of ../shared/data.

For every xlsx Gemeindeverzeichnis there (2009, 2013, 2017: about 16,000-17,000 records each) it
times, alternately in one process and ``--runs`` times each:

(a) Wandel: ``wandel.sources.gv_isys.read`` - python-calamine, the sheet found by its content, every
    record checked (keys, numbers, male + female = total, coordinates), ``gv_records`` and
    ``population`` built;
(b) the peer: ``pandas.read_excel(path, sheet_name=<the GV sheet>, header=None,
    engine="openpyxl")`` - the sheet's cells only, no checks, no tables.

It prints median and range of the wall seconds, the load average before and after, and the ratio
peer / Wandel per file and over all files (goal: Wandel at least 5x faster); beside it the median
CPU seconds of the process (``time.process_time``), which a machine shared with other jobs disturbs
less than the wall clock.

Run: ``.venv/bin/python bench/gv_bench.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import pandas as pd

from wandel.sources import gv_isys

ROOT = Path(__file__).resolve().parents[1]
GV = ROOT.parent / "shared" / "data" / "gemeindeverzeichnis"


def _wandel(path: Path) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    batch = gv_isys.read(path)
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    assert len(batch.tables["gv_records"]) > 10_000
    return secs, cpu


def _pandas(path: Path, sheet: int) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    frame = pd.read_excel(path, sheet_name=sheet, header=None, engine="openpyxl")
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    assert len(frame) > 10_000
    return secs, cpu


def _fmt(xs: list[float]) -> str:
    return f"median {statistics.median(xs):6.2f} s (range {min(xs):.2f}-{max(xs):.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    files = sorted(GV.glob("*.xlsx"))
    if not files:
        print(f"no GV-ISys xlsx in {GV}")
        return 1
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tot_w: list[float] = []
    tot_p: list[float] = []
    cpu_w: list[float] = []
    cpu_p: list[float] = []
    for f in files:
        sheet = 1  # the peer is told the sheet; Wandel finds it by its content
        w: list[tuple[float, float]] = []
        p: list[tuple[float, float]] = []
        for _ in range(args.runs):
            w.append(_wandel(f))
            p.append(_pandas(f, sheet))
        ww, pw = [x[0] for x in w], [x[0] for x in p]
        tot_w.append(statistics.median(ww))
        tot_p.append(statistics.median(pw))
        cpu_w.append(statistics.median(x[1] for x in w))
        cpu_p.append(statistics.median(x[1] for x in p))
        ratio = statistics.median(pw) / statistics.median(ww)
        print(
            f"{f.name}: wandel {_fmt(ww)} | pandas+openpyxl {_fmt(pw)} | ratio {ratio:5.1f}x "
            f"| CPU {cpu_w[-1]:.2f} s vs {cpu_p[-1]:.2f} s, {cpu_p[-1] / cpu_w[-1]:.1f}x"
        )
    print(
        f"all files (sum of medians): wandel {sum(tot_w):.2f} s, pandas+openpyxl "
        f"{sum(tot_p):.2f} s, ratio {sum(tot_p) / sum(tot_w):.1f}x (goal >= 5x); "
        f"CPU {sum(cpu_w):.2f} s vs {sum(cpu_p):.2f} s, {sum(cpu_p) / sum(cpu_w):.1f}x"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: importing a Regionaldatenbank flat file for every German Gemeinde.

Generates (in a temporary folder) a GENESIS flat-file CSV in the current layout, table 12411-02-03-5
style: every Gemeinde of the real 31.12.2019 Gemeindeverzeichnis (AuszugGV4QAktuell_2019.csv, about
11,000) x 2 sexes x 17 age groups x 10 years, about 3.7 million rows, UTF-8 with BOM, rows shuffled in
blocks. Then it times, each in a fresh child process (so peak memory is that step's own):

(a) Wandel: ``Store.open(tmp) ... store.import_file(path)`` into a fresh DuckDB store (all
    validation, parsing, total checks and the transactional write);
(a') the Wandel reader alone (``wandel.sources.ffcsv.read``);
(b) the peer: ``pandas.read_csv`` plus the reshape a user would write to get the same canonical long
    table (zone, year, sex, age_start, age_end, value) with parsed ages.

and prints wall and CPU seconds, peak resident memory (``ru_maxrss`` of the child) and the ratios. Targets:
Wandel <= 15 s and <= 2 GB.

Run: ``.venv/bin/python bench/import_bench.py [--years N]``
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from wandel.sources._labels import AGE_GROUPS_17

ROOT = Path(__file__).resolve().parents[1]
GV = ROOT.parent / "shared" / "data" / "gemeindeverzeichnis" / "AuszugGV4QAktuell_2019.csv"

AGES = list(AGE_GROUPS_17)
HEADER = (
    "statistics_code;statistics_label;time_code;time_label;time;"
    "1_variable_code;1_variable_label;1_variable_attribute_code;1_variable_attribute_label;"
    "2_variable_code;2_variable_label;2_variable_attribute_code;2_variable_attribute_label;"
    "3_variable_code;3_variable_label;3_variable_attribute_code;3_variable_attribute_label;"
    "value;value_unit;value_variable_code;value_variable_label;value_q"
)


def gemeinden(path: Path = GV) -> list[tuple[str, str]]:
    """(AGS, name) of every Gemeinde (Satzart 60): AGS = Land + RB + Kreis + Gemeinde."""
    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["satzart"] == "60":
                ags = row["land"] + row["rb"] + row["kreis"] + row["gemeinde"]
                out.append((ags, row["gemeindename"].replace(";", ",")))
    return out


def generate(path: Path, years: int = 10, seed: int = 1) -> int:
    """Write the flat file; return its number of data rows."""
    rng = random.Random(seed)
    towns = gemeinden()
    n = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write(HEADER + "\r\n")
        for y in range(2010, 2010 + years):
            block: list[str] = []
            for ags, name in towns:
                for sc, sl in (("GESM", "männlich"), ("GESW", "weiblich")):
                    for ac, al in AGES:
                        block.append(
                            f"12411;Fortschreibung des Bevölkerungsstandes;STAG;Stichtag;{y}-12-31;"
                            f"GEMEIN;Gemeinden;{ags};{name};GES;Geschlecht;{sc};{sl};"
                            f"ALTX20;Altersgruppen (unter 3 bis 75 u. m.);{ac};{al};"
                            f"{rng.randint(0, 4000)};Anzahl;BEVSTD;Bevölkerungsstand;e\r\n"
                        )
            rng.shuffle(block)
            fh.writelines(block)
            n += len(block)
    return n


def _cpu() -> float:
    """CPU seconds (user + system) of this process: comparable when the machine is shared."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _wandel_store(path: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from wandel.store import Store

    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as d, Store.open(Path(d) / "bench.duckdb") as store:
        report = store.import_file(path, kind="auto")
        rows = report.rows_imported
    out.put(
        (time.perf_counter() - t, _cpu(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rows)
    )


def _wandel_reader(path: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from wandel.sources import ffcsv

    t = time.perf_counter()
    batch = ffcsv.read(path)
    rows = len(batch.tables["population"])
    out.put(
        (time.perf_counter() - t, _cpu(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rows)
    )


def _pandas(path: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    import pandas as pd

    t = time.perf_counter()
    df = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig")
    df = df[(df["2_variable_attribute_code"].notna()) & (df["3_variable_attribute_code"].notna())]
    ages = df["3_variable_attribute_label"].str.extract(
        r"^(?:unter (?P<u>\d+)|(?P<a>\d+) bis unter (?P<b>\d+)|(?P<o>\d+) Jahre und mehr)"
    )
    start = ages["a"].fillna(ages["o"]).fillna("0").astype(int)
    end = ages["b"].fillna(ages["u"]).astype(float)
    long = pd.DataFrame(
        {
            "zone": df["1_variable_attribute_code"],
            "year": df["time"].str[:4].astype(int),
            "sex": df["2_variable_attribute_code"].map({"GESM": "m", "GESW": "f"}),
            "age_start": start,
            "age_end": end,
            "value": pd.to_numeric(df["value"], errors="coerce"),
        }
    ).sort_values(["zone", "year", "sex", "age_start"])
    rows = len(long)
    out.put(
        (time.perf_counter() - t, _cpu(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rows)
    )


def _run(target: object, path: Path) -> tuple[float, float, float, int]:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    p = ctx.Process(target=target, args=(str(path), q))
    p.start()
    res = q.get()
    p.join()
    secs, cpu, rss_kb, rows = res
    return secs, cpu, rss_kb / 1024.0, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=10)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "12411-02-03-5_de_flat.csv"
        t = time.perf_counter()
        n = generate(path, args.years)
        size = path.stat().st_size / 2**20
        print(
            f"generated {n:,} rows ({size:,.0f} MiB) in {time.perf_counter() - t:.1f} s: {path.name}"
        )
        results = {}
        try:
            import wandel.store  # noqa: F401

            results["wandel import (Store)"] = _run(_wandel_store, path)
        except ImportError:
            print("wandel.store not available: timing the reader alone")
        results["wandel reader only"] = _run(_wandel_reader, path)
        results["pandas read_csv + reshape"] = _run(_pandas, path)
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'step':28s} {'wall s':>8s} {'CPU s':>8s} {'peak MiB':>9s} {'rows':>11s}")
        for name, (secs, cpu, mib, rows) in results.items():
            print(f"{name:28s} {secs:8.2f} {cpu:8.2f} {mib:9.0f} {rows:11,d}")
        peer = results["pandas read_csv + reshape"]
        for name in ("wandel import (Store)", "wandel reader only"):
            if name in results:
                w = results[name]
                print(
                    f"ratio {name} / pandas: wall {w[0] / peer[0]:.2f}x, "
                    f"CPU {w[1] / peer[1]:.2f}x, memory {w[2] / peer[2]:.2f}x"
                )
        w = results.get("wandel import (Store)", results["wandel reader only"])
        ok = w[0] <= 15 and w[2] <= 2048
        print(f"target (<= 15 s, <= 2 GB): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark of the web app (not a test). Run: .venv/bin/python bench/web_bench.py

A real ``wandel serve`` process on a free loopback port, on the demo store (built into a temporary
folder unless ``--db`` is given), measured over HTTP from this process:

1. **Slider change**: what htmx sends when a scenario control changes (``GET
   /kommune/<AGS>/szenarien?zuzug=N`` with ``HX-Request: true``): the town's projection and its
   service demand recomputed with a lever value not asked before (no cached result), the page
   with the fragment returned. Sequential requests, p50/p95 per run. Goal: p95 <= 200 ms.
2. **Town page at 20 concurrent users**: ``GET /kommune/<AGS>`` by 20 users in a closed loop (each
   sends its next request when the last one is answered) for ``--seconds``; p50/p95 per run.
   Goal: p95 <= 200 ms. The peer beside it: a static file of the same server (``/static/
   wandel.css``) under the same load, the floor of the HTTP stack; the ratio is printed. The load
   tool is ``wrk`` (Debian's package) where installed, with a Lua script for the exact p95, else
   an asyncio client (httpx) in this process.

Median and range of the per-run figures over ``--runs`` runs (default 5), and the load average
before and after (the machine may be shared: a loaded 2-core machine makes every figure worse).
Options: --runs, --seconds, --slider N (requests per run), --zone, --db, --tool {auto,wrk,python}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SERVE = "import sys; from wandel.cli import main; sys.argv[0] = 'wandel'; main()"
GOAL_MS = 200.0
WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("WANDEL %d %.3f %.3f %d %d\\n", summary.requests,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    summary.duration))
end
"""


def build_store(folder: Path) -> Path:
    from wandel.store import Store
    from wandel.workflow.compare import import_measures
    from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store

    db = folder / "demo.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    import_measures(db, ROOT / "src/wandel/data/compare/measures_seed.yaml")
    return db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    db: Path,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    code: str = SERVE,
    log: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """A ``wandel serve`` process on a free loopback port (``args``: more options, ``env``: more
    variables, ``code``: another way to start it, ``log``: a file for its stderr), once it answers
    ``/``; and its address."""
    port = _free_port()
    full = {
        **os.environ,
        **(env or {}),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--db", str(db), "--port", str(port), *args],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=None if log is None else open(log, "wb"),  # noqa: SIM115 (the child keeps it)
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"wandel serve exited with {proc.returncode}")
        try:
            if httpx.get(url + "/", timeout=10).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("wandel serve did not answer within 10 minutes")


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation (numpy's default)."""
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def slider_run(url: str, zone: str, values: Sequence[int]) -> list[float]:
    """Latencies (ms) of one slider change per value (each a lever value not asked before)."""
    out = []
    with httpx.Client(base_url=url, timeout=120, headers={"HX-Request": "true"}) as c:
        for v in values:
            t = time.perf_counter()
            r = c.get(f"/kommune/{zone}/szenarien", params={"zuzug": v, "bleiben": 0})
            out.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200 or 'id="ergebnis"' not in r.text:
                raise SystemExit(f"slider request failed: {r.status_code}")
    return out


async def _users(url: str, path: str, users: int, seconds: float) -> tuple[list[float], int]:
    lat: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as c:

        async def user() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                t = time.perf_counter()
                r = await c.get(path)
                lat.append((time.perf_counter() - t) * 1000)
                errors += r.status_code != 200

        await asyncio.gather(*(user() for _ in range(users)))
    return lat, errors


def load_python(url: str, path: str, users: int, seconds: float) -> tuple[float, float, int, int]:
    """p50, p95 (ms), requests and errors of ``users`` closed-loop users (asyncio client)."""
    lat, errors = asyncio.run(_users(url, path, users, seconds))
    return pct(lat, 0.5), pct(lat, 0.95), len(lat), errors


def load_wrk(url: str, path: str, users: int, seconds: float) -> tuple[float, float, int, int]:
    """The same with wrk (2 threads, ``users`` connections), p95 from its Lua ``done`` hook."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
    try:
        res = subprocess.run(
            [
                *("wrk", "-t2", f"-c{users}", f"-d{seconds:g}s", "--timeout", "120s"),
                *("-s", f.name, url + path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(f.name)
    line = next(x for x in res.stdout.splitlines() if x.startswith("WANDEL "))
    n, p50, p95, errors, _dur = line.split()[1:]
    return float(p50), float(p95), int(n), int(errors)


def _summary(label: str, runs: Sequence[tuple[float, float]], goal: float | None) -> float:
    p50 = [r[0] for r in runs]
    p95 = [r[1] for r in runs]
    med95 = statistics.median(p95)
    verdict = (
        "" if goal is None else f"  (goal <= {goal:.0f} ms: {'met' if med95 <= goal else 'MISSED'})"
    )
    print(
        f"{label}: p50 median {statistics.median(p50):.1f} ms (range {min(p50):.1f}-{max(p50):.1f}), "
        f"p95 median {med95:.1f} ms (range {min(p95):.1f}-{max(p95):.1f}){verdict}"
    )
    return med95


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--slider", type=int, default=20, help="slider changes per run")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--zone", default="15087220")
    ap.add_argument("--db", type=Path)
    ap.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    args = ap.parse_args()
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    load = load_wrk if tool == "wrk" else load_python
    print(f"load average before: {os.getloadavg()}  (cores: {os.cpu_count()})")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or build_store(Path(tmp))
        proc, url = start_server(db)
        try:
            with httpx.Client(base_url=url, timeout=600) as c:  # warm the caches of the town
                for p in (f"/kommune/{args.zone}", f"/kommune/{args.zone}/szenarien?zuzug=1"):
                    assert c.get(p).status_code == 200
            slider, town, static = [], [], []
            for run in range(args.runs):
                # lever values not asked before (the warm-up asked for 1; the control allows 0-500)
                values = [2 + (run * args.slider + i) % 499 for i in range(args.slider)]
                lat = slider_run(url, args.zone, values)
                slider.append((pct(lat, 0.5), pct(lat, 0.95)))
                p50, p95, n, err = load(url, f"/kommune/{args.zone}", args.users, args.seconds)
                town.append((p50, p95))
                s50, s95, sn, serr = load(url, "/static/wandel.css", args.users, args.seconds)
                static.append((s50, s95))
                print(
                    f"run {run + 1}: slider p50 {slider[-1][0]:.1f} / p95 {slider[-1][1]:.1f} ms; "
                    f"town page {n} requests ({err} errors) p50 {p50:.1f} / p95 {p95:.1f} ms; "
                    f"static {sn} ({serr} errors) p50 {s50:.1f} / p95 {s95:.1f} ms"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print(f"load tool: {tool}; {args.users} users, {args.seconds:g} s per run; {args.runs} runs")
    _summary(f"slider change ({args.slider} new lever values per run)", slider, GOAL_MS)
    town95 = _summary(f"town page, {args.users} concurrent users", town, GOAL_MS)
    static95 = _summary(f"peer: static file, {args.users} concurrent users", static, None)
    print(f"town page p95 / static file p95 = {town95 / max(static95, 1e-9):.1f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Load benchmark of the web app (not a test). Run: .venv/bin/python bench/load_bench.py

``--users`` (default 50) concurrent users on loopback against a real ``wandel serve`` on the demo
store, for ``--seconds`` (default 300) per configuration, each in a closed loop (its next request
when the last one is answered), each with its own cookies:

* every 5th user is a logged-in planner (zone Kreis Mansfeld-Südharz) who saves scenarios
  (``POST /api/kommune/<AGS>/entwuerfe`` with the session's CSRF token), lists the drafts and views
  pages;
* the others are the public: town pages, scenario pages (a few lever values), the data page,
  the saved scenarios, and exports (``/kommune/<AGS>/vorausberechnung.csv``).

Configurations (``--state``): ``duckdb`` (the embedded default, one worker), ``postgresql`` (the
state in PostgreSQL, ``--workers`` processes, default 2), or ``both``. The PostgreSQL server is
``--pg-url``, else a throwaway cluster started like the tests' (tests/_postgres.py: Debian's
binaries). ``--duckdb-workers N`` adds DuckDB state with N workers, started past the CLI's refusal
(the measurement behind that refusal).

Printed per configuration: requests, errors (goal 0: a status other than the expected one, or no
answer), p50/p95 latency overall and per kind, peak RSS of the server processes (sum over the
supervisor and its workers, sampled every 0.5 s), their CPU seconds, and the load average before,
during (max) and after. The server start and the HTTP client are web_bench's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from web_bench import ROOT, build_store, pct, start_server

PASSWORD = "last-test-passwort-2026"
KREIS = "15087"
ZONES = ("15087220", "15087010")
LEVERS = (0, 10, 20, 50, 100)
# DuckDB state with several workers: wandel serve refuses it, so it is started through the server
# module directly (what the refusal protects against is measured this way)
UNSAFE = (
    "import sys; from pathlib import Path; from wandel.web.server import serve; a = sys.argv;"
    " serve(Path(a[a.index('--db') + 1]), port=int(a[a.index('--port') + 1]),"
    " workers=int(a[a.index('--workers') + 1]))"
)


@dataclass
class Result:
    lat: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)  # the first few errors, for the report


def _check(res: Result, kind: str, t: float, status: int | None, want: int, why: str) -> None:
    res.lat[kind].append((time.perf_counter() - t) * 1000)
    if status != want:
        res.errors[kind] += 1
        if len(res.samples) < 5:
            res.samples.append(f"{kind}: {status} {why[:160]}")


async def _login(c: httpx.AsyncClient, name: str) -> str:
    token = (await c.get("/api/anmelden")).json()["csrf"]
    r = await c.post(
        "/api/anmelden", json={"name": name, "password": PASSWORD}, headers={"X-CSRF-Token": token}
    )
    if r.status_code != 200:
        raise SystemExit(f"login of {name} failed: {r.status_code} {r.text[:200]}")
    return str(r.json()["csrf"])


async def _run(url: str, users: int, seconds: float, planners: list[str]) -> Result:
    res = Result()
    clients = [httpx.AsyncClient(base_url=url, timeout=120) for _ in range(users)]
    csrf: dict[int, str] = {}
    try:
        for i in range(0, users, 5):  # one login at a time (Argon2id takes 64 MiB each)
            csrf[i] = await _login(clients[i], planners[(i // 5) % len(planners)])
        end = time.perf_counter() + seconds

        async def user(i: int) -> None:
            rnd = random.Random(20261207 + i)
            c = clients[i]
            n = 0
            while time.perf_counter() < end:
                zone = rnd.choice(ZONES)
                roll = rnd.random()
                t = time.perf_counter()
                try:
                    if i in csrf and roll < 0.4:
                        n += 1
                        r = await c.post(
                            f"/api/kommune/{zone}/entwuerfe",
                            json={"titel": f"Last {i}-{n}", "zuzug": str(rnd.choice(LEVERS))},
                            headers={"X-CSRF-Token": csrf[i]},
                        )
                        _check(res, "save", t, r.status_code, 201, r.text)
                    elif i in csrf and roll < 0.6:
                        r = await c.get(f"/api/kommune/{zone}/entwuerfe")
                        _check(res, "drafts", t, r.status_code, 200, r.text)
                    elif i not in csrf and roll < 0.3:
                        r = await c.get(f"/kommune/{zone}/vorausberechnung.csv")
                        _check(res, "export", t, r.status_code, 200, r.text)
                    else:
                        path = rnd.choice(
                            [
                                f"/kommune/{zone}",
                                f"/kommune/{zone}/szenarien?zuzug={rnd.choice(LEVERS)}",
                                "/daten",
                                f"/kommune/{zone}/entwuerfe",
                            ]
                        )
                        r = await c.get(path)
                        _check(res, "page", t, r.status_code, 200, r.text)
                except httpx.HTTPError as exc:
                    _check(res, "no answer", t, None, 0, repr(exc))

        await asyncio.gather(*(user(i) for i in range(users)))
    finally:
        for c in clients:
            await c.aclose()
    return res


@contextmanager
def _watch(pid: int) -> Iterator[dict[str, float]]:
    """Peak RSS (MiB, summed over the process and its children), peak load, and CPU seconds."""
    out = {"rss": 0.0, "load": 0.0, "cpu": 0.0, "procs": 0.0}
    stop = threading.Event()

    def procs() -> list[psutil.Process]:
        try:
            p = psutil.Process(pid)
            return [p, *p.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def sample() -> None:
        while not stop.is_set():
            total = 0
            ps = procs()
            for p in ps:
                with suppress(psutil.NoSuchProcess):
                    total += p.memory_info().rss
            out["rss"] = max(out["rss"], total / 2**20)
            out["procs"] = max(out["procs"], len(ps))
            out["load"] = max(out["load"], os.getloadavg()[0])
            stop.wait(0.5)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        yield out
    finally:
        stop.set()
        th.join()
        cpu = 0.0
        for p in procs():
            try:
                t = p.cpu_times()
                cpu += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        out["cpu"] = cpu


def _add_planners(where: Any, n: int) -> list[str]:
    from wandel.workflow.users import UserAdmin, open_state

    st = open_state(where)
    admin = UserAdmin(st, actor="bench")
    names = [f"planer{i}" for i in range(n)]
    for name in names:
        if st.user(name) is None:
            admin.add(name, "planner", [KREIS], PASSWORD)
    st.close()
    return names


def _report(label: str, res: Result, seconds: float, w: dict[str, float], before: float) -> int:
    every = [x for v in res.lat.values() for x in v]
    errors = sum(res.errors.values())
    print(
        f"{label}: {len(every)} requests in {seconds:g} s ({len(every) / seconds:.1f}/s), "
        f"{errors} errors (goal 0); p50 {pct(every, 0.5):.0f} ms, p95 {pct(every, 0.95):.0f} ms"
    )
    for kind in sorted(res.lat):
        v = res.lat[kind]
        print(
            f"    {kind:9s} {len(v):6d} requests, {res.errors[kind]:4d} errors, "
            f"p50 {pct(v, 0.5):7.0f} ms, p95 {pct(v, 0.95):7.0f} ms"
        )
    for s in res.samples:
        print(f"    error: {s}")
    print(
        f"    server: peak RSS {w['rss']:.0f} MiB over {w['procs']:.0f} processes, "
        f"{w['cpu']:.0f} CPU s; load average before {before:.2f}, max {w['load']:.2f}, "
        f"after {os.getloadavg()[0]:.2f}"
    )
    return errors


def _one(
    label: str,
    db: Path,
    args: list[str],
    env: dict[str, str],
    code: str | None,
    planners: list[str],
    a: argparse.Namespace,
) -> int:
    before = os.getloadavg()[0]
    log = db.with_name(f"server-{abs(hash(label))}.log")
    proc, url = start_server(db, args, env, **({"code": code} if code else {}), log=log)
    try:
        with httpx.Client(base_url=url, timeout=600) as c:  # warm the caches (every worker's)
            for _ in range(4):
                for z in ZONES:
                    for p in (f"/kommune/{z}", f"/kommune/{z}/vorausberechnung.csv"):
                        c.get(p)
                    for v in LEVERS:
                        c.get(f"/kommune/{z}/szenarien", params={"zuzug": v})
        with _watch(proc.pid) as w:
            res = asyncio.run(_run(url, a.users, a.seconds, planners))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    errors = _report(label, res, a.seconds, w, before)
    logged = [x for x in log.read_text(errors="replace").splitlines() if '"level": "error"' in x]
    for line in logged[:3]:  # what the server logged for its errors: path, class, last line
        try:
            e = json.loads(line)
            last = str(e.get("trace", "")).strip().splitlines()[-1:] or [""]
            print(f"    server log: {e.get('path')} {e.get('error')}: {last[0][:300]}")
        except ValueError:
            print(f"    server log: {line[:300]}")
    return errors


@contextmanager
def _postgres(url: str | None) -> Iterator[Any]:
    from wandel.settings import DatabaseUrl

    if url:
        yield DatabaseUrl(url)
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from _postgres import start  # type: ignore[import-not-found]

    def missing(what: str, where: str) -> None:
        raise SystemExit(f"{what} is missing: {where} (or give --pg-url)")

    gen = start(missing)
    pg = next(gen)
    try:
        yield pg.database()
    finally:
        for _ in gen:
            pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2, help="workers with the PostgreSQL state")
    ap.add_argument("--state", choices=("duckdb", "postgresql", "both"), default="both")
    ap.add_argument("--duckdb-workers", type=int, default=0)
    ap.add_argument("--pg-url")
    ap.add_argument("--db", type=Path)
    a = ap.parse_args()
    print(f"load average before: {os.getloadavg()}  (cores: {os.cpu_count()})")
    errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        db = a.db or build_store(Path(tmp))
        n = max(1, a.users // 5)
        runs: list[tuple[str, Any, list[str], str | None]] = []
        if a.state in ("duckdb", "both"):
            runs.append(("DuckDB state, 1 worker", Path(tmp) / "state.duckdb", [], None))
        if a.duckdb_workers > 1:
            runs.append(
                (
                    f"DuckDB state, {a.duckdb_workers} workers (past the refusal)",
                    Path(tmp) / "state-w.duckdb",
                    ["--workers", str(a.duckdb_workers)],
                    UNSAFE,
                )
            )
        for label, where, args, code in runs:
            planners = _add_planners(where, n)
            env = {"WANDEL_STATE": str(where)}
            errors += _one(label, db, args, env, code, planners, a)
        if a.state in ("postgresql", "both"):
            with _postgres(a.pg_url) as url:
                planners = _add_planners(url, n)
                label = f"PostgreSQL state, {a.workers} workers"
                args = ["--workers", str(a.workers)]
                errors += _one(label, db, args, {"WANDEL_STATE": url.url}, None, planners, a)
    print(f"{a.users} users, {a.seconds:g} s per configuration; errors in all: {errors}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""One disclosure decision per town across its public outputs: the web's town page (pyramid of
every year in five-year groups by sex) and the public Kommunalprofil (ten-year groups by sex, the
functional age groups) together give no count from 1 to 3 away.

The oracle is naive and independent of :mod:`wandel.reports.town_secret`: per year, one unknown
per sex and single year of age (>= 0), an equality for every cell the public sees in *any* of the
outputs, at its true value (the strongest reader: she knows the shown cells exactly), and for
every group of any output or any piece between them whose true value is from 1 to 3, the largest
value it can take (scipy's linprog) must reach the protection of 4.5.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from test_web_disclosure import SMALL, _login, _scaled_app
from wandel.reports.disclosure import PROTECTION, SECRET, is_small
from wandel.reports.edition import public_figures
from wandel.reports.profile import AGE_GROUPS, milestones
from wandel.reports.town_secret import PYRAMID_BANDS, WEB_PYRAMID_BREAKS, town_counts, town_secret
from wandel.workflow.report import ReportSettings, profile_parts
from wandel.workflow.town import UNTIL

N_AGES = 101


@pytest.fixture(scope="module")
def micro_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Ahlsdorf of about 10 inhabitants (as in test_web_disclosure)."""
    return _scaled_app(tmp_path_factory, 150)


def _span(lo: int, limits: tuple[int, ...]) -> tuple[int, int]:
    i = limits.index(lo)
    return lo, (limits[i + 1] if i + 1 < len(limits) else N_AGES)


def _largest(shown: list[tuple[np.ndarray, float]], target: np.ndarray) -> float:
    from scipy.optimize import linprog

    a = np.array([row for row, _ in shown])
    b = np.array([v for _, v in shown])
    res = linprog(-target, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
    assert res.status in (0, 3), res.message
    return math.inf if res.status == 3 else float(-res.fun)


def _row(sex: str | None, lo: int, hi: int) -> np.ndarray:
    row = np.zeros(2 * N_AGES)
    for s, off in (("m", 0), ("f", N_AGES)):
        if sex in (None, s):
            row[off + lo : off + hi] = 1.0
    return row


def test_the_town_page_and_the_profile_together_give_no_small_count_away(
    micro_app: Any,
) -> None:
    reader = micro_app.state.reader
    wb = reader.workbench
    zone = SMALL
    public, planner = TestClient(micro_app), _login(micro_app)
    proj = wb.project(zone)
    base = proj.result.start_year
    # the profile's projection gives the web's counts to the last digit: one decision for both
    parts = profile_parts(wb.db, zone, ReportSettings(until=UNTIL), compare=wb.compare())
    t = parts.town
    assert t.counts is not None
    assert t.counts.digest() == town_counts(proj.result, zone).digest()
    assert town_secret(t.counts) == proj.public_secret
    pf = public_figures(t)
    checked = hidden = 0
    for year in range(base, UNTIL + 1):
        truth = proj.population(year)  # single ages, m and f
        x = np.concatenate([truth["m"].to_numpy(), truth["f"].to_numpy()])
        shown: list[tuple[np.ndarray, float]] = []
        groups: list[np.ndarray] = []
        # the web page of this year (and, on every page, the base year)
        page = public.get(f"/api/kommune/{zone}?jahr={max(year, base + 1)}").json()
        full = planner.get(f"/api/kommune/{zone}?jahr={max(year, base + 1)}").json()
        side = "base" if year == base else "year"
        for g, f in zip(page["pyramid"][side], full["pyramid"][side], strict=True):
            lo, hi = _span(int(g["age_start"]), WEB_PYRAMID_BREAKS)
            for sex, col in (("m", "men"), ("f", "women")):
                row = _row(sex, lo, hi)
                groups.append(row)
                if g[col] == SECRET:
                    hidden += 1
                else:
                    assert g[col] == f[col]  # the public sees the planner's number
                    shown.append((row, float(row @ x)))
        total = next(r for r in page["fan"] if r["year"] == year)["value"]
        if total != SECRET:
            shown.append((_row(None, 0, N_AGES), float(x.sum())))
        # the public Kommunalprofil: ten-year groups by sex, functional groups in its years
        if year in (base, UNTIL):
            pyr = pf.pyramid[pf.pyramid["year"] == year]
            for sex, lo, v in zip(pyr["sex"], pyr["age"], pyr["value"], strict=True):
                row = _row(str(sex), *_span(int(lo), PYRAMID_BANDS))
                groups.append(row)
                if not math.isnan(v):
                    shown.append((row, float(row @ x)))
        if year in milestones(base, UNTIL):
            g = pf.groups[pf.groups["year"] == year]
            for lo, hi, _ in AGE_GROUPS:
                row = _row(None, lo, N_AGES if hi is None else hi)
                groups.append(row)
                v = g.loc[g["age_start"] == lo, "value"].iloc[0]
                if not math.isnan(v):
                    shown.append((row, float(row @ x)))
        # the pieces between all the groups of the year
        limits = sorted({int(np.flatnonzero(r[:N_AGES] + r[N_AGES:])[0]) for r in groups})
        for lo, hi in zip(limits, [*limits[1:], N_AGES], strict=True):
            for sex in ("m", "f"):
                groups.append(_row(sex, lo, hi))
        for row in groups:
            if is_small(float(row @ x)):
                assert not any(np.array_equal(row, s) for s, _ in shown), (year, row @ x)
                assert _largest(shown, row) >= PROTECTION - 1e-6, (year, float(row @ x))
                checked += 1
    assert checked > 20  # the tiny town does have small cells to protect
    assert hidden > 0

"""Disclosure control: no public page or export shows a count from 1 to 3, no secret cell can be
worked out from the cells shown beside it (checked by linear programming, an oracle independent of
the rank test of the suppression), and a logged-in planner sees the full numbers.

The pages are those of Ahlsdorf (15087010, about 1,500 inhabitants: small cells in its pyramid,
its components of change and its services) and Hettstedt (15087220) on the demo store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from _compare_store import compare_db
from wandel.reports.disclosure import SECRET, is_small, suppress, suppress_greedy
from wandel.store.state import DuckState
from wandel.web import Reader, create_app
from wandel.workflow import drafts
from wandel.workflow.town import Levers, TownWorkbench
from wandel.workflow.users import UserAdmin

SMALL, BIG = "15087010", "15087220"
PASSWORD = "ein-langes-passwort"

# -- the suppression itself ----------------------------------------------------------------------


def _interval(
    cells: dict[Any, float],
    relations: list[dict[Any, float]],
    secret: set[Any],
    key: Any,
    free: frozenset[Any] = frozenset(),
    slack: float | list[float] = 1e-6,
) -> tuple[float, float]:
    """The smallest and largest whole number the secret ``key`` can be, agreeing with every shown
    cell and every relation, counts being >= 0 and balances (``free``) of any sign: what a reader
    can work out (integer programming, where the suppression uses linear programming)."""
    order = sorted(secret, key=repr)
    touched = [i for i, r in enumerate(relations) if any(k in r for k in order)]
    rows = [relations[i] for i in touched]
    a = np.array([[r.get(k, 0.0) for k in order] for r in rows], dtype=float)
    b = np.array([-sum(c * cells[k] for k, c in r.items() if k not in secret) for r in rows])
    tol = np.broadcast_to(np.asarray(slack, dtype=float), (len(relations),))[touched]
    lower = np.array([-1e6 if k in free else 0.0 for k in order])
    bounds = Bounds(lower, np.full(len(order), 1e6))
    c = np.zeros(len(order))
    c[order.index(key)] = 1.0
    ends = []
    for sign in (1.0, -1.0):
        res = milp(
            sign * c,
            constraints=[LinearConstraint(a, b - tol, b + tol)] if rows else [],
            integrality=np.ones(len(order)),
            bounds=bounds,
        )
        assert res.status == 0, res.message
        ends.append(sign * float(res.fun))
    return ends[0], ends[1]


def _safe(lo: float, hi: float, signed: bool = False) -> bool:
    return hi - lo >= 1 and (hi >= 4 or (signed and lo <= -4))


def test_one_small_cell_gets_a_partner() -> None:
    cells = {"a": 2.0, "b": 40.0, "c": 55.0, "total": 97.0}
    rel = [{"a": 1.0, "b": 1.0, "c": 1.0, "total": -1.0}]
    assert suppress(cells, rel) == {"a", "b"}
    assert suppress(cells, rel, keep=["b"]) == {"a", "c"}
    assert suppress({"a": 2.0, "b": 3.0}, []) == {"a", "b"}  # no relation: primary only
    assert suppress({"a": 20.0, "b": 30.0, "t": 50.0}, [{"a": 1, "b": 1, "t": -1}]) == set()


def test_two_small_cells_that_add_up_to_a_small_count_get_a_third() -> None:
    cells = {"a": 1.0, "b": 1.0, "c": 30.0, "d": 50.0, "total": 82.0}
    rel = [{"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "total": -1.0}]
    secret = suppress(cells, rel)
    assert secret == {"a", "b", "c"}  # a + b = 2 would be known from the total


def test_components_chain_through_the_balances() -> None:
    """births 2: hiding deaths beside them is enough (the natural balance shown, births and
    deaths can both be any size); the greedy rule hid the natural balance too."""
    cells = {"b": 2.0, "d": 20.0, "n": -18.0, "i": 40.0, "o": 30.0, "m": 10.0, "chg": -8.0}
    rels = [{"b": 1, "d": -1, "n": -1}, {"i": 1, "o": -1, "m": -1}, {"n": 1, "m": 1, "chg": -1}]
    secret = suppress(cells, rels, keep=["chg"], free=["n", "m", "chg"])
    assert secret == {"b", "d"}
    greedy = suppress_greedy(cells, rels, keep=["chg"], free=["n", "m", "chg"])
    assert greedy == {"b", "d", "n"}
    assert "chg" not in secret
    signed = frozenset({"n", "m", "chg"})
    for k in (k for k in secret if is_small(cells[k])):
        lo, hi = _interval(cells, [dict(r) for r in rels], secret, k, signed)
        assert _safe(lo, hi, k in signed), (k, lo, hi)


@given(
    st.lists(
        st.lists(st.integers(0, 30), min_size=2, max_size=5),
        min_size=1,
        max_size=4,
    )
)
def test_no_secret_cell_of_a_two_way_table_can_be_worked_out(rows: list[list[int]]) -> None:
    """Tables with row and column totals (like a pyramid by age and sex with its totals): every
    secret cell still has a range of possible values, and no small cell is shown."""
    width = min(len(r) for r in rows)
    grid = [r[:width] for r in rows]
    cells: dict[Any, float] = {}
    rels: list[dict[Any, float]] = []
    for i, r in enumerate(grid):
        for j, v in enumerate(r):
            cells[(i, j)] = float(v)
        cells[(i, "t")] = float(sum(r))
        rels.append({**{(i, j): 1.0 for j in range(width)}, (i, "t"): -1.0})
    for j in range(width):
        cells[("t", j)] = float(sum(r[j] for r in grid))
        rels.append({**{(i, j): 1.0 for i in range(len(grid))}, ("t", j): -1.0})
    secret = suppress(cells, rels)
    assert not any(is_small(v) for k, v in cells.items() if k not in secret)
    for k in (k for k in secret if is_small(cells[k])):
        lo, hi = _interval(cells, rels, secret, k)
        assert _safe(lo, hi), (k, lo, hi, secret)


def _lp_range(
    cells: dict[Any, float],
    relations: list[dict[Any, float]],
    secret: set[Any],
    key: Any,
    free: frozenset[Any] = frozenset(),
) -> tuple[float, float]:
    """The naive oracle: the smallest and largest real value of ``key`` (scipy's linprog, one
    variable per hidden cell, every relation as an equality)."""
    from scipy.optimize import linprog

    order = sorted(secret, key=repr)
    rows = [r for r in relations if any(k in r for k in order)]
    a = np.array([[r.get(k, 0.0) for k in order] for r in rows], dtype=float)
    b = np.array([-sum(c * cells[k] for k, c in r.items() if k not in secret) for r in rows])
    bounds = [(None, None) if k in free else (0, None) for k in order]
    c = np.zeros(len(order))
    c[order.index(key)] = 1.0
    ends = []
    for sign in (1.0, -1.0):
        res = linprog(sign * c, A_eq=a, b_eq=b, bounds=bounds, method="highs")
        ends.append(-sign * np.inf if res.status == 3 else sign * float(res.fun))
    return ends[0], ends[1]


def _table(grid: list[list[int]]) -> tuple[dict[Any, float], list[dict[Any, float]]]:
    cells: dict[Any, float] = {}
    rels: list[dict[Any, float]] = []
    width = len(grid[0])
    for i, r in enumerate(grid):
        for j, v in enumerate(r):
            cells[(i, j)] = float(v)
        cells[(i, "t")] = float(sum(r))
        rels.append({**{(i, j): 1.0 for j in range(width)}, (i, "t"): -1.0})
    for j in range(width):
        cells[("t", j)] = float(sum(r[j] for r in grid))
        rels.append({**{(i, j): 1.0 for i in range(len(grid))}, ("t", j): -1.0})
    cells[("t", "t")] = float(sum(map(sum, grid)))
    rels.append({**{("t", j): 1.0 for j in range(width)}, ("t", "t"): -1.0})
    return cells, rels


def test_a_tiny_town_table_hides_fewer_cells_than_the_greedy_rule() -> None:
    """A tiny town's four age groups by sex with their totals (a 3 and a 1 in one age group):
    the greedy rule hid 12 cells (every cell of both sexes), the smallest protecting set 6 (the
    two small ones, a neighbouring age group and the two groups' totals), and every hidden cell
    keeps a range (LP oracle)."""
    grid = [[12, 3, 9, 40], [25, 1, 12, 6]]
    cells, rels = _table(grid)
    greedy = suppress_greedy(cells, rels)
    best = suppress(cells, rels)
    assert len(greedy) == 12
    assert best == {("t", 1), ("t", 2), (0, 1), (0, 2), (1, 1), (1, 2)}
    assert sum(cells[k] for k in best) < sum(cells[k] for k in greedy)
    for k in best:
        lo, hi = _lp_range(cells, rels, best, k)
        assert hi - lo >= 1, (k, lo, hi)
        if is_small(cells[k]):
            assert hi >= 4.5, (k, lo, hi)


@given(st.lists(st.lists(st.integers(0, 12), min_size=4, max_size=4), min_size=2, max_size=3))
def test_the_smallest_set_is_never_larger_than_the_greedy_one(rows: list[list[int]]) -> None:
    """Over random small tables: the exact set hides no more value than the greedy one, and
    every hidden cell keeps a range (no hidden cell can be recomputed, LP oracle)."""
    cells, rels = _table(rows)
    best, greedy = suppress(cells, rels), suppress_greedy(cells, rels)

    def value(s: set[Any]) -> float:
        return sum(abs(cells[k]) + 1 for k in s)

    assert value(best) <= value(greedy) + 1e-9
    assert not any(is_small(v) for k, v in cells.items() if k not in best)
    protectable = _lp_range(cells, rels, set(cells), (0, 0))  # every cell hidden
    for k in best:
        lo, hi = _lp_range(cells, rels, best, k)
        if is_small(cells[k]) and protectable[1] >= 4.5:
            assert hi >= 4.5 - 1e-6, (k, lo, hi, best)
            assert hi - lo >= 1, (k, lo, hi, best)


# -- the public pages --------------------------------------------------------------------------

NOT_COUNTS = {"schwellen", "quellen", "gespeichert", "kennzahlen", "nachbarn"}
"""Tables of shares, probabilities, ranks, distances, levers and row counts of imports."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = compare_db(tmp_path_factory)
    state = DuckState(":memory:")
    UserAdmin(state).add("planerin", "planner", [SMALL, BIG], PASSWORD)
    for z in (SMALL, BIG):
        saved = drafts.save_draft(state, "cli", z, "Zuzug", Levers(20, 10))
        drafts.publish(state, "cli", saved)
    return create_app(db, Reader(TownWorkbench(db), state, cache=64))


def _pages(zone: str, id: int) -> list[str]:
    return [
        f"/kommune/{zone}",
        f"/kommune/{zone}?jahr=2040",
        f"/kommune/{zone}/szenarien?zuzug=30&bleiben=20",
        f"/kommune/{zone}/daseinsvorsorge",
        f"/kommune/{zone}/netzwerk",
        f"/kommune/{zone}/entwuerfe/{id}",
        f"/kommune/{zone}/vorausberechnung.csv",
    ]


def _number(text: str) -> float | None:
    t = text.strip().replace(".", "").replace(",", ".").replace("*", "").replace("%", "")
    try:
        return float(t)
    except ValueError:
        return None


def _html_counts(page: str) -> tuple[list[float], int]:
    """The numbers of the count tables of a page, and how many cells show the secret sign."""
    numbers, secret = [], 0
    for attrs, table in re.findall(r"<table([^>]*)>(.*?)</table>", page, flags=re.S):
        ident = re.search(r'id="([^"]+)"', attrs)
        if ident and ident.group(1) in NOT_COUNTS:
            continue
        for cell in re.findall(r'<td class="kern-table__cell num"[^>]*>(.*?)</td>', table, re.S):
            for part in cell.split("–"):
                if part.strip() == SECRET:
                    secret += 1
                elif (n := _number(part)) is not None:
                    numbers.append(n)
    return numbers, secret


def _csv_counts(text: str) -> tuple[list[float], int]:
    numbers, secret = [], 0
    for line in text.split("\r\n")[1:]:
        if not line or line.startswith('"#'):
            continue
        for part in line.split(",")[1:]:
            if part == SECRET:
                secret += 1
            elif part:
                numbers.append(float(part))
    return numbers, secret


def _json_counts(view: Any, key: str = "") -> Iterator[Any]:
    """Every value under a count key of a view dictionary (men, women, births, value, q10, ...)."""
    counts = {"men", "women", "births", "deaths", "natural", "in_migration", "out_migration"}
    counts |= {"net_migration", "value", "q10", "q50", "q90"}
    if isinstance(view, dict):
        for k, v in view.items():
            if k in ("indicators", "peers", "thresholds", "levers", "saved", "items"):
                continue
            yield from _json_counts(v, k)
    elif isinstance(view, list):
        for v in view:
            yield from _json_counts(v, key)
    elif key in counts:
        yield view


def _ids(app: Any) -> dict[str, int]:
    st = app.state.reader.state
    return {z: next(s.id for s in st.scenarios(z) if s.published) for z in (SMALL, BIG)}


@pytest.mark.parametrize("zone", [SMALL, BIG])
def test_no_public_page_or_export_shows_a_count_from_1_to_3(app: Any, zone: str) -> None:
    public = TestClient(app)
    hidden = 0
    for path in _pages(zone, _ids(app)[zone]):
        r = public.get(path)
        assert r.status_code == 200, path
        count = _csv_counts if path.endswith(".csv") else _html_counts
        numbers, secret = count(r.text)
        assert numbers or path.endswith("netzwerk"), path
        assert [n for n in numbers if is_small(n)] == [], path
        hidden += secret
        if not path.endswith(".csv"):
            api = public.get("/api" + path)
            values = list(_json_counts(api.json()))
            assert [v for v in values if isinstance(v, int | float) and is_small(v)] == [], path
    if zone == SMALL:
        assert hidden > 0  # Ahlsdorf has small cells: the check above has met some


def test_a_planner_sees_the_full_numbers(app: Any) -> None:
    planner = _login(app)
    public = TestClient(app)
    for path in (f"/api/kommune/{SMALL}", f"/api/kommune/{SMALL}/daseinsvorsorge"):
        full = list(_json_counts(planner.get(path).json()))
        shown = list(_json_counts(public.get(path).json()))
        assert len(full) == len(shown)
        assert SECRET not in full
        assert any(isinstance(v, float | int) and is_small(v) for v in full)
        secret = [f for f, s in zip(full, shown, strict=True) if s == SECRET]
        assert secret
        assert all(s == f for f, s in zip(full, shown, strict=True) if s != SECRET)
    _check_relations(
        planner.get(f"/api/kommune/{SMALL}").json(), public.get(f"/api/kommune/{SMALL}").json()
    )
    scen = f"/api/kommune/{SMALL}/szenarien?zuzug=30&bleiben=20"
    _check_scenario_pyramids(planner.get(scen).json(), public.get(scen).json())


def _check_scenario_pyramids(full: dict[str, Any], shown: dict[str, Any]) -> int:
    """The pyramids of the Szenarien page (base and scenario in the last year, each adding up
    to its fan's total): no hidden cell can be recomputed, a small one can reach 4 (integer
    programming)."""
    last = max(full["pyramid"]["years"])
    hidden_any = 0
    for which in ("basis", "szenario"):
        total = next(r["value"] for r in full["fan"][which] if r["year"] == last)
        cells: dict[Any, float] = {("total",): float(total)}
        rel: dict[Any, float] = {("total",): -1.0}
        hidden = set()
        for i, (g, h) in enumerate(
            zip(full["pyramid"][which], shown["pyramid"][which], strict=True)
        ):
            for sex in ("men", "women"):
                cells[(i, sex)] = float(g[sex])
                rel[(i, sex)] = 1.0
                if h[sex] == SECRET:
                    hidden.add((i, sex))
        residual = [abs(sum(c * cells[k] for k, c in rel.items())) + 1e-6]
        for k in hidden:
            lo, hi = _interval(cells, [rel], hidden, k, frozenset(), residual)
            assert hi - lo >= 1, (which, k, lo, hi)
            if is_small(cells[k]):
                assert _safe(lo, hi), (which, k, lo, hi)
        assert not [k for k in cells if k not in hidden and is_small(cells[k])]
        hidden_any += len(hidden)
    return hidden_any


def _check_relations(full: dict[str, Any], shown: dict[str, Any]) -> None:
    """Every small secret cell of the pyramids and the components of change keeps a range of
    possible values reaching 4 or more, given the shown cells, the totals and the relations
    between them, each known as closely as it truly holds (integer programming)."""
    checked = 0
    systems = []
    totals = {f["year"]: f["value"] for f in full["fan"]}
    for year, which in zip(full["pyramid"]["years"], ("base", "year"), strict=True):
        cells = {("total",): float(totals[year])}
        rel = {("total",): -1.0}
        for i, (g, _h) in enumerate(
            zip(full["pyramid"][which], shown["pyramid"][which], strict=True)
        ):
            for sex in ("men", "women"):
                cells[(i, sex)] = float(g[sex])
                rel[(i, sex)] = 1.0
        hidden = {
            k for k in cells if k != ("total",) and shown["pyramid"][which][k[0]][k[1]] == SECRET
        }
        systems.append((cells, [rel], hidden, frozenset()))
    for f, h in zip(full["components"], shown["components"], strict=True):
        y = f["year"]
        cells = {k: float(f[k]) for k in f if k != "year"}
        rels = [
            {"births": 1.0, "deaths": -1.0, "natural": -1.0},
            {"in_migration": 1.0, "out_migration": -1.0, "net_migration": -1.0},
        ]
        if y - 1 in totals:
            cells["change"] = float(totals[y] - totals[y - 1])
            rels.append({"natural": 1.0, "net_migration": 1.0, "change": -1.0})
        hidden = {k for k in cells if k != "change" and h[k] == SECRET}
        systems.append((cells, rels, hidden, frozenset({"natural", "net_migration", "change"})))
    for cells, rels, hidden, free in systems:
        residual = [abs(sum(c * cells[k] for k, c in r.items())) + 1e-6 for r in rels]
        for k in hidden:
            # no hidden cell (small or complementary) can be recomputed: it keeps a range
            lo, hi = _interval(cells, rels, hidden, k, free, residual)
            assert hi - lo >= 1, (k, lo, hi)
            if is_small(cells[k]):
                assert _safe(lo, hi, k in free), (k, lo, hi)
                checked += 1
    assert checked > 0


# -- labels of secret values -------------------------------------------------------------------

TINY_FACTOR = 50
"""Ahlsdorf divided by this: about 30 inhabitants, of whom about 3 are aged 80 and over."""


@pytest.fixture(scope="module")
def tiny_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _scaled_app(tmp_path_factory, TINY_FACTOR)


@pytest.fixture(scope="module")
def micro_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Ahlsdorf of about 10 inhabitants: its age groups on the Erreichbarkeit page (0-17, 18-64,
    65-74, 75+) hold 1 to 3 persons."""
    return _scaled_app(tmp_path_factory, 150)


def _scaled_app(tmp_path_factory: pytest.TempPathFactory, factor: int) -> Any:
    import shutil

    import duckdb

    db = tmp_path_factory.mktemp("tiny_web") / "tiny.duckdb"
    shutil.copy(compare_db(tmp_path_factory), db)
    con = duckdb.connect(str(db))
    con.execute(f"UPDATE population SET value = value / {factor} WHERE zone = '{SMALL}'")
    con.execute(
        f"UPDATE gv_records SET pop_total = round(pop_total / {factor}), "
        f"pop_m = round(pop_m / {factor}), pop_f = round(pop_f / {factor}) "
        f"WHERE zone = '{SMALL}'"
    )
    con.close()
    state = DuckState(":memory:")
    UserAdmin(state).add("planerin", "planner", [SMALL], PASSWORD)
    return create_app(db, Reader(TownWorkbench(db), state, cache=64))


def test_a_secret_indicator_loses_its_label_on_the_public_pages(tiny_app: Any) -> None:
    """Netzwerk and Kommune of a town of about 30: the share of 80+ stands for 1 to 3 people.
    The planner sees it (value, strength or weakness, sentence); the public sees neither its
    value on the town page nor its assessment, sentence or place in the Netzwerk profile, nor
    those of the age shares and ratios beside it, nor measures listed for it as a weakness."""
    from wandel.reports.edition import secret_indicators

    planner = _login(tiny_app)
    public = TestClient(tiny_app)
    full = {i["key"]: i for i in planner.get(f"/api/kommune/{SMALL}").json()["indicators"]}
    pop = float(full["population"]["value"])
    assert pop < 60
    share80 = float(full["share_80plus"]["value"]) / 100
    assert is_small(share80 * pop)  # the fixture has a small count behind a share
    shown = {i["key"]: i for i in public.get(f"/api/kommune/{SMALL}").json()["indicators"]}
    for key in ("share_65plus", "share_80plus", "old_age_ratio", "youth_ratio"):
        assert shown[key]["value"] == SECRET, key
        assert full[key]["value"] != SECRET
    assert shown["median_age"]["value"] == full["median_age"]["value"]

    inside = planner.get(f"/api/kommune/{SMALL}/netzwerk").json()
    outside = public.get(f"/api/kommune/{SMALL}/netzwerk").json()
    keys = [f["indicator"] for f in inside["profile"]]
    assert "share_80plus" in keys
    assert secret_indicators(["share_80plus"], [share80], pop).tolist() == [True]
    names = {f["indicator"] for f in outside["profile"]}
    for key in ("share_65plus", "share_80plus", "old_age_ratio", "youth_ratio"):
        assert key not in names, key
    assert names  # the other facts are still shown
    page = public.get(f"/kommune/{SMALL}/netzwerk").text
    for f in inside["profile"]:
        if f["indicator"] in ("share_80plus", "share_65plus"):
            assert f["sentence"] not in page
    weak = {m["weakness"] for m in outside["measures"]}
    assert not weak & {"share_65plus", "share_80plus", "old_age_ratio", "youth_ratio"}


def test_no_hidden_cell_of_a_tiny_towns_pages_can_be_recomputed(tiny_app: Any) -> None:
    """The oracle over the public pages of a town of about 30 (most cells small): every hidden
    cell of the pyramids and components (Kommune) and of the scenario pyramids keeps a range."""
    planner = TestClient(tiny_app)
    token = planner.get("/api/anmelden").json()["csrf"]
    planner.post(
        "/api/anmelden",
        json={"name": "planerin", "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    public = TestClient(tiny_app)
    path = f"/api/kommune/{SMALL}"
    _check_relations(planner.get(path).json(), public.get(path).json())
    scen = f"{path}/szenarien?zuzug=30&bleiben=20"
    assert _check_scenario_pyramids(planner.get(scen).json(), public.get(scen).json()) > 0


def test_the_greedy_fallback_after_the_round_limit_still_protects() -> None:
    """The cut loop given no round (or one) does not settle on the tiny town's table: the greedy
    rule takes over, its set is the greedy one and protects every small cell (LP oracle); with
    the default limit the exact set comes back."""
    grid = [[12, 3, 9, 40], [25, 1, 12, 6]]
    cells, rels = _table(grid)
    greedy = suppress_greedy(cells, rels)
    exact = suppress(cells, rels)
    assert len(exact) == 6
    for rounds in (0, 1):
        fallback = suppress(cells, rels, rounds=rounds)
        assert fallback == greedy, rounds
        assert fallback != exact
        assert not any(is_small(v) for k, v in cells.items() if k not in fallback)
        for k in fallback:
            lo, hi = _lp_range(cells, rels, fallback, k)
            assert hi - lo >= 1, (rounds, k, lo, hi)
            if is_small(cells[k]):
                assert hi >= 4.5, (rounds, k, lo, hi)
    # enough rounds to settle: the exact set (the loop needs more than one round here)
    assert suppress(cells, rels, rounds=50) == exact


def _login(app: Any) -> TestClient:
    planner = TestClient(app)
    token = planner.get("/api/anmelden").json()["csrf"]
    r = planner.post(
        "/api/anmelden",
        json={"name": "planerin", "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200
    return planner


def _access_system(
    full: dict[str, Any], shown: dict[str, Any]
) -> tuple[dict[Any, float], list[dict[Any, float]], set[Any]]:
    """The cells a reader of the Erreichbarkeit page knows relations between (persons per
    Gemeinde and group, the populations of the coverage table, the persons within and beyond
    each threshold: a share times the population, each Gemeinde's total) with the true values
    of the planner's view, and the cells the public view hides."""
    groups = full["age_groups"]
    rows = {r["zone"]: r for r in full["gemeinden"]}
    seen = {r["zone"]: r for r in shown["gemeinden"]}
    cov = {c["age_group"]: c for c in full["coverage"]}
    cov_seen = {c["age_group"]: c for c in shown["coverage"]}
    cells: dict[Any, float] = {}
    rels: list[dict[Any, float]] = []
    hidden: set[Any] = set()
    zones = sorted(z for z, r in rows.items() if all(r["people"][g] is not None for g in groups))
    for z in zones:
        for g in groups:
            cells[("p", z, g)] = float(rows[z]["people"][g])
            if seen[z]["people"][g] == SECRET:
                hidden.add(("p", z, g))
        cells[("gem", z)] = sum(cells[("p", z, g)] for g in groups)
        rels.append({("gem", z): -1.0} | {("p", z, g): 1.0 for g in groups})
    for g in [*groups, "total"]:
        members = groups if g == "total" else [g]
        # the population of the group as the sum of its shown Gemeinden (within rounding the
        # one the table shows): a reader granted it exactly
        cells[("pop", g)] = sum(cells[("p", z, h)] for z in zones for h in members)
        assert abs(cells[("pop", g)] - float(cov[g]["population"])) <= len(zones)
        rels.append({("pop", g): -1.0} | {("p", z, h): 1.0 for z in zones for h in members})
        if cov_seen[g]["population"] == SECRET:
            hidden.add(("pop", g))
        for t in full["thresholds"]:
            inside = [z for z in zones if rows[z]["travel_time_min"] <= float(t)]
            cells[("in", g, t)] = sum(cells[("p", z, h)] for z in inside for h in members)
            cells[("out", g, t)] = cells[("pop", g)] - cells[("in", g, t)]
            rels.append({("in", g, t): -1.0} | {("p", z, h): 1.0 for z in inside for h in members})
            rels.append({("in", g, t): 1.0, ("out", g, t): 1.0, ("pop", g): -1.0})
            if cov_seen[g]["shares"][t] == SECRET:
                hidden |= {("in", g, t), ("out", g, t)}
    return cells, rels, hidden


def test_the_public_erreichbarkeit_keeps_small_counts_secret(micro_app: Any) -> None:
    """The Erreichbarkeit of a town of about 10 in its Kreis: the planner sees persons aged 75+
    (and the other groups) of 1 to 3; the public page and its JSON twin show none, neither as a
    count nor through a share of the coverage table, and no hidden cell can be worked out from
    the shown ones, the shares and the totals (integer programming)."""
    planner, public = _login(micro_app), TestClient(micro_app)
    path = f"/api/kommune/{SMALL}/erreichbarkeit"
    full, shown = planner.get(path).json(), public.get(path).json()
    cells, rels, hidden = _access_system(full, shown)
    small = [k for k, v in cells.items() if k[0] == "p" and is_small(v)]
    assert small  # the fixture has small counts (the test can fail)
    assert all(v != SECRET for r in full["gemeinden"] for v in r["people"].values())
    assert set(small) <= hidden
    bad = [(k, cells[k]) for k in cells if k not in hidden and is_small(cells[k]) and k[0] != "gem"]
    assert bad == [], (bad, shown["coverage"], full["coverage"])
    residual = [abs(sum(c * cells[k] for k, c in r.items())) + 1e-6 for r in rels]
    for k in sorted(hidden, key=repr):
        lo, hi = _interval(cells, rels, hidden, k, frozenset(), residual)
        assert hi - lo >= 1, (k, lo, hi)
        if is_small(cells[k]):
            assert _safe(lo, hi), (k, lo, hi)
    # the page: no small count in its tables, the secret sign instead; sorted by persons, the
    # secret rows stand where missing ones would
    page = public.get(f"/kommune/{SMALL}/erreichbarkeit?sort=people&order=asc").text
    numbers, secret = _html_counts_of(page, ("abdeckung",))
    times_left_out = _html_counts_of(page, ("fahrzeiten",), skip_cols=(0,))
    numbers, secret = numbers + times_left_out[0], secret + times_left_out[1]
    assert secret > 0
    assert [n for n in numbers if is_small(n)] == []
    rows = public.get(path, params={"sort": "people", "order": "asc"}).json()["gemeinden"]
    flags = [r["people"]["75+"] == SECRET for r in rows]
    assert flags == sorted(flags)


def _html_counts_of(
    page: str, ids: tuple[str, ...], skip_cols: tuple[int, ...] = ()
) -> tuple[list[float], int]:
    """The numbers of the tables ``ids`` of a page (their ``num`` cells, leaving out the
    ``skip_cols``-th of each row, counted from 0 among the ``num`` cells), per cent values as
    the counts of the population they stand for are checked elsewhere; and the secret signs."""
    numbers, secret = [], 0
    for attrs, table in re.findall(r"<table([^>]*)>(.*?)</table>", page, flags=re.S):
        ident = re.search(r'id="([^"]+)"', attrs)
        if not ident or ident.group(1) not in ids:
            continue
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
            cols = re.findall(r'<td class="kern-table__cell num"[^>]*>(.*?)</td>', row, re.S)
            for i, cell in enumerate(cols):
                if cell.strip() == SECRET:
                    secret += 1
                elif i not in skip_cols and "%" not in cell and (n := _number(cell)) is not None:
                    numbers.append(n)
    return numbers, secret


REPORT_COUNT_TABLES = ("pyramide-", "altersgruppen-", "bewegung-")
"""The Kommunalprofil's tables of counts of persons (the per cent cells left out)."""


def _report_counts(page: str) -> tuple[list[float], int]:
    numbers, secret = [], 0
    for attrs, table in re.findall(r"<table([^>]*)>(.*?)</table>", page, flags=re.S):
        ident = re.search(r'id="([^"]+)"', attrs)
        if not ident or not ident.group(1).startswith(REPORT_COUNT_TABLES):
            continue
        for cell in re.findall(r'<td class="num"[^>]*>([^<]*)</td>', table):
            if cell.strip() == SECRET:
                secret += 1
            elif not cell.endswith("%"):
                for part in cell.split("–"):
                    if (n := _number(part.replace("\u2212", "-"))) is not None:
                        numbers.append(n)
    return numbers, secret


def _public_get_paths(app: Any, zone: str, id: int) -> list[str]:
    """Every GET route of the app (from ``app.routes``, so a new one cannot be missed), its path
    parameters filled (``ags``: the town, ``id``: its published scenario)."""
    from fastapi.routing import APIRoute

    out = []
    for route in app.routes:
        if isinstance(route, APIRoute) and "GET" in (route.methods or set()):
            out.append(route.path.replace("{ags}", zone).replace("{id}", str(id)))
    return sorted(out)


KNOWN_PUBLIC = {
    "/",
    "/api/suche",
    "/daten",
    "/api/daten",
    "/kommune/{z}",
    "/api/kommune/{z}",
    "/kommune/{z}/vorausberechnung.csv",
    "/kommune/{z}/szenarien",
    "/api/kommune/{z}/szenarien",
    "/kommune/{z}/daseinsvorsorge",
    "/api/kommune/{z}/daseinsvorsorge",
    "/kommune/{z}/netzwerk",
    "/api/kommune/{z}/netzwerk",
    "/kommune/{z}/erreichbarkeit",
    "/api/kommune/{z}/erreichbarkeit",
    "/kommune/{z}/kommunalprofil",
    "/kommune/{z}/kommunalprofil.pdf",
    "/kommune/{z}/entwuerfe/{id}",
    "/api/kommune/{z}/entwuerfe/{id}",
}
"""The GET routes an anonymous reader is known to reach (the derived list must hold them)."""


@pytest.mark.parametrize("zone", [SMALL])
def test_every_public_get_route_shows_no_count_from_1_to_3(micro_app: Any, zone: str) -> None:
    """Over every GET route of the app the public reaches (derived from the routes): no count
    from 1 to 3 in the count tables of a page, its JSON counts, the CSV or the Kommunalprofil's
    tables; a town of about 10, so the pages do have small cells to hide."""
    import io

    import pypdf

    st = micro_app.state.reader.state
    saved = drafts.save_draft(st, "cli", zone, "Zuzug", Levers(20, 10))
    drafts.publish(st, "cli", saved)
    id = next(s.id for s in st.scenarios(zone) if s.published)
    paths = _public_get_paths(micro_app, zone, id)
    known = {p.replace("{z}", zone).replace("{id}", str(id)) for p in KNOWN_PUBLIC}
    assert known <= set(paths), known - set(paths)
    public = TestClient(micro_app)
    reached, hidden = set(), 0
    for path in [*paths, f"/kommune/{zone}?jahr=2040", f"/api/kommune/{zone}?jahr=2040"]:
        r = public.get(path)
        if r.status_code in (401, 403) or path.startswith(("/anmelden", "/api/anmelden")):
            continue  # not for the public (the role matrix checks these)
        assert r.status_code == 200, (path, r.status_code)
        reached.add(path.split("?")[0])
        kind = r.headers["content-type"]
        if path.endswith(".pdf"):
            text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
            assert "öffentliche Ausgabe" in text
            continue
        if "json" in kind:
            values = list(_json_counts(r.json()))
            values += [
                v for row in r.json().get("gemeinden", []) for v in row.get("people", {}).values()
            ]
            assert [v for v in values if isinstance(v, int | float) and is_small(v)] == [], path
            continue
        if path.endswith(".csv"):
            numbers, secret = _csv_counts(r.text)
        elif path.endswith("kommunalprofil"):
            numbers, secret = _report_counts(r.text)
            assert numbers, path  # the report's count tables were read
            assert secret, path
        elif path.endswith("erreichbarkeit"):  # the travel times left out
            numbers, secret = _html_counts_of(r.text, ("abdeckung",))
            times = _html_counts_of(r.text, ("fahrzeiten",), skip_cols=(0,))
            numbers, secret = numbers + times[0], secret + times[1]
        else:
            numbers, secret = _html_counts(r.text)
        assert [n for n in numbers if is_small(n)] == [], path
        hidden += secret
    assert known <= reached, known - reached
    assert hidden > 0

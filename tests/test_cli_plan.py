"""CLI round trips for ``wandel plan``: exhaustive enumeration as the oracle, bad input -> exit 2."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wandel.cli import app

runner = CliRunner(env={"WANDEL_LANG": "en"})  # the assertions read English messages

# 5 demand points x 4 candidates, costs in minutes
COST = np.array(
    [
        [1.0, 4.0, 6.0, 9.0],
        [3.0, 1.0, 5.0, 7.0],
        [7.0, 2.0, 1.0, 4.0],
        [2.0, 6.0, 3.0, 1.0],
        [8.0, 5.0, 2.0, 3.0],
    ]
)
DEMAND = np.array([10.0, 5.0, 8.0, 2.0, 6.0])
D_IDS = ["d1", "d2", "d3", "d4", "d5"]
C_IDS = ["A", "B", "C", "D"]


def _write(tmp: Path, cost: np.ndarray = COST, demand: np.ndarray = DEMAND) -> tuple[Path, Path]:
    m = tmp / "m.csv"
    lines = ["origin,destination,cost"]
    for i, d in enumerate(D_IDS):
        for j, c in enumerate(C_IDS):
            lines.append(f"{d},{c},{cost[i, j]:g}")
    m.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dm = tmp / "d.csv"
    dm.write_text(
        "id,demand,town\n"
        + "".join(
            f"{d},{w:g},{'X' if k < 2 else 'Y'}\n"
            for k, (d, w) in enumerate(zip(D_IDS, demand, strict=True))
        ),
        encoding="utf-8",
    )
    return m, dm


def _pmedian_by_enumeration(p: int, cols: list[int] | None = None) -> tuple[float, tuple[int, ...]]:
    cols = list(range(len(C_IDS))) if cols is None else cols
    best = (np.inf, ())
    for sites in itertools.combinations(cols, p):
        obj = float((DEMAND * COST[:, list(sites)].min(axis=1)).sum())
        if obj < best[0]:
            best = (obj, sites)
    return best


@pytest.mark.parametrize("solver", ["highs", "heuristic"])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_pmedian_equals_enumeration(tmp_path: Path, p: int, solver: str) -> None:
    m, d = _write(tmp_path)
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        ["plan", "pmedian", "--matrix", str(m), "--demand", str(d), "--p", str(p),
         "--solver", solver, "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    obj, sites = _pmedian_by_enumeration(p)
    s = pd.read_csv(out)
    assert list(s.columns) == ["demand_id", "facility_id", "cost"]
    assert s["demand_id"].tolist() == D_IDS  # one row per demand point
    assert set(s["facility_id"]) == {C_IDS[j] for j in sites}
    w = pd.Series(DEMAND, index=D_IDS)
    assert float((s.set_index("demand_id")["cost"] * w).sum()) == pytest.approx(obj)
    assert f"{obj:.6g}" in res.stdout  # objective on standard output
    assert "Optimality gap" in res.stdout


def test_pmedian_by_hand_and_fixed_site(tmp_path: Path) -> None:
    # p = 2 by hand: {A, C} costs 10*1 + 5*3 + 8*1 + 2*2 + 6*2 = 49, the best pair
    assert _pmedian_by_enumeration(2) == (49.0, (0, 2))
    m, d = _write(tmp_path)
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        ["plan", "pmedian", "--matrix", str(m), "--demand", str(d), "--p", "2",
         "--fixed", "D", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    s = pd.read_csv(out)
    assert "D" in set(s["facility_id"])
    options = [(float((DEMAND * COST[:, [j, 3]].min(axis=1)).sum()), j) for j in range(3)]
    obj, j = min(options)
    assert set(s["facility_id"]) == {C_IDS[j], "D"}
    w = pd.Series(DEMAND, index=D_IDS)
    assert float((s.set_index("demand_id")["cost"] * w).sum()) == pytest.approx(obj)


def test_mclp_and_lscp_equal_enumeration(tmp_path: Path) -> None:
    m, d = _write(tmp_path)
    t = 2.0
    cover = t >= COST
    best_cov = max(
        float(DEMAND[cover[:, list(s)].any(axis=1)].sum())
        for s in itertools.combinations(range(4), 2)
    )
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        ["plan", "mclp", "--matrix", str(m), "--demand", str(d), "--p", "2",
         "--threshold", str(t), "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    s = pd.read_csv(out).set_index("demand_id")
    covered = float(DEMAND[(s.loc[D_IDS, "cost"] <= t).to_numpy()].sum())
    assert covered == pytest.approx(best_cov)
    k_min = next(
        k
        for k in range(1, 5)
        if any(cover[:, list(c)].any(axis=1).all() for c in itertools.combinations(range(4), k))
    )
    res = runner.invoke(
        app,
        ["plan", "lscp", "--matrix", str(m), "--demand", str(d), "--threshold", str(t),
         "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    s = pd.read_csv(out)
    assert s["facility_id"].nunique() == k_min
    assert (s["cost"] <= t).all()


def test_cooperation_equals_enumeration(tmp_path: Path) -> None:
    m, d = _write(tmp_path)
    c = tmp_path / "c.csv"
    c.write_text("id,town\nA,X\nB,X\nC,Y\nD,Y\n", encoding="utf-8")
    out = tmp_path / "co.csv"
    res = runner.invoke(
        app,
        ["plan", "cooperate", "--matrix", str(m), "--demand", str(d), "--candidates", str(c),
         "--p", "1", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out).set_index("plan")
    # alone: X = {d1, d2} with A or B; Y = {d3, d4, d5} with C or D
    x = min(float((DEMAND[:2] * COST[:2, j]).sum()) for j in (0, 1))
    y = min(float((DEMAND[2:] * COST[2:, j]).sum()) for j in (2, 3))
    joint, _ = _pmedian_by_enumeration(2)
    assert t.loc["alone", "travel_cost"] == pytest.approx(x + y)
    assert t.loc["joint", "travel_cost"] == pytest.approx(joint)
    assert t.loc["difference", "travel_cost"] == pytest.approx(joint - x - y)
    assert t.loc["difference", "travel_cost"] <= 0
    assert "Cooperation gain" in res.stdout


def test_cooperation_with_ags_town_mapping(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text(
        "origin,destination,cost\n16073077,h1,1\n16073077,h2,9\n14625020,h1,8\n14625020,h2,2\n",
        encoding="utf-8",
    )
    d = tmp_path / "d.csv"
    d.write_text("id,demand\n16073077,3\n14625020,4\n", encoding="utf-8")
    c = tmp_path / "c.csv"
    c.write_text("id,zone\nh1,16073077\nh2,14625020\n", encoding="utf-8")
    towns = tmp_path / "t.csv"
    towns.write_text("zone,town\n16073,Saalfeld-Rudolstadt\n14625,Bautzen\n", encoding="utf-8")
    out = tmp_path / "co.csv"
    res = runner.invoke(
        app,
        ["plan", "cooperate", "--matrix", str(m), "--demand", str(d), "--candidates", str(c),
         "--towns", str(towns), "--p", "1", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out).set_index("plan")
    assert t.loc["alone", "travel_cost"] == pytest.approx(3 * 1 + 4 * 2)
    assert t.loc["difference", "facilities"] == 0


BAD_MATRICES = [
    ("missing", "origin,destination,cost\nd1,A,1\nd1,B,2\nd2,A,3\n", "d2,B", None),
    ("negative", "origin,destination,cost\nd1,A,1\nd1,B,-2\nd2,A,3\nd2,B,1\n", "line 3", "cost"),
    ("nan", "origin,destination,cost\nd1,A,1\nd1,B,2\nd2,A,nan\nd2,B,1\n", "line 4", "cost"),
    ("text", "origin,destination,cost\nd1,A,1\nd1,B,2\nd2,A,3\nd2,B,far\n", "line 5", "cost"),
    ("empty", "origin,destination,cost\nd1,A,1\nd1,B,\nd2,A,3\nd2,B,1\n", "line 3", "cost"),
    ("duplicate", "origin,destination,cost\nd1,A,1\nd1,B,2\nd1,A,3\nd2,A,3\nd2,B,1\n",
     "line 4", "duplicate"),
    ("no cost column", "origin,destination,minutes\nd1,A,1\n", "cost", "missing column"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "where", "what"), BAD_MATRICES)
def test_bad_matrix_exit_2_no_file(
    tmp_path: Path, name: str, text: str, where: str, what: str | None
) -> None:
    m = tmp_path / "m.csv"
    m.write_text(text, encoding="utf-8")
    d = tmp_path / "d.csv"
    d.write_text("id,demand\nd1,1\nd2,1\n", encoding="utf-8")
    out = tmp_path / "out" / "s.csv"
    res = runner.invoke(
        app,
        ["plan", "pmedian", "--matrix", str(m), "--demand", str(d), "--p", "1", "--out", str(out)],
    )
    assert res.exit_code == 2, name
    msg = " ".join(res.stderr.split())
    assert where in msg
    assert str(m.name) in msg
    if what:
        assert what in msg
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_missing_pairs_unreachable_when_asked(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("origin,destination,cost\nd1,A,1\nd1,B,2\nd2,A,3\n", encoding="utf-8")
    d = tmp_path / "d.csv"
    d.write_text("id,demand\nd1,1\nd2,1\n", encoding="utf-8")
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        ["plan", "pmedian", "--matrix", str(m), "--demand", str(d), "--p", "1",
         "--missing", "unreachable", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    s = pd.read_csv(out)
    assert set(s["facility_id"]) == {"A"}  # B cannot reach d2
    assert s["cost"].tolist() == [1.0, 3.0]


def test_infeasible_and_bad_demand_exit_2_no_file(tmp_path: Path) -> None:
    m, d = _write(tmp_path)
    out = tmp_path / "s.csv"
    base = ["--matrix", str(m), "--demand", str(d), "--out", str(out)]
    # coverage asked: every point within 0.5 minutes -> nobody is; p smaller than the fixed sites
    for args, text in (
        (["plan", "lscp", *base, "--threshold", "0.5"], "cannot be reached"),
        (["plan", "pmedian", *base, "--p", "1", "--fixed", "A", "--fixed", "B"], "fixed"),
        (["plan", "pmedian", *base, "--p", "9"], "p must be"),
        (["plan", "mclp", *base, "--p", "2"], "threshold"),
        (["plan", "pmedian", *base, "--p", "2", "--solver", "magic"], "solver"),
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, args
        assert text in res.stderr
        assert not out.exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("id,demand\nd1,1\nd2,2\nd3,1\nd4,1\nd5,1\nzz,1\n", encoding="utf-8")
    res = runner.invoke(
        app, ["plan", "pmedian", "--matrix", str(m), "--demand", str(bad), "--p", "1",
              "--out", str(out)]
    )  # fmt: skip
    assert res.exit_code == 2
    assert "line 7" in res.stderr
    assert "zz" in res.stderr
    assert not out.exists()


def test_capacity_splits_demand(tmp_path: Path) -> None:
    m, d = _write(tmp_path)
    cap = tmp_path / "cap.csv"
    cap.write_text("id,capacity\nA,12\nB,100\nC,100\nD,100\n", encoding="utf-8")
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        ["plan", "pmedian", "--matrix", str(m), "--demand", str(d), "--p", "2",
         "--capacity", str(cap), "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    s = pd.read_csv(out)
    share = s["share"] if "share" in s.columns else pd.Series(1.0, index=s.index)
    load = (s.assign(w=s["demand_id"].map(dict(zip(D_IDS, DEMAND, strict=True))) * share)
            .groupby("facility_id")["w"].sum())  # fmt: skip
    assert load.get("A", 0.0) <= 12 + 1e-6
    total = s.assign(share=share).groupby("demand_id")["share"].sum()
    np.testing.assert_allclose(total.to_numpy(), 1.0)


def test_demand_from_a_projection_year_and_age_group(tmp_path: Path) -> None:
    """Demand = people 75+ in 2035 from a `wandel project` CSV; the optimum worked out by hand.

    Zones a, b, c have 75+ populations (m + f, groups 75-80 and 80+) of 10+5+3+2 = 20,
    30+10+6+4 = 50 and 5+2+2+1 = 10 in 2035 (the 2030 rows and the 0-75 rows must be ignored).
    Costs to sites S, T: a 1/9, b 8/2, c 4/4. p = 1: S costs 20*1 + 50*8 + 10*4 = 460,
    T costs 20*9 + 50*2 + 10*4 = 320, so T is chosen with objective 320.
    """
    rows = ["zone,year,sex,age_start,age_end,value,q10,q50,q90"]
    people = {"15087001": (10, 5, 3, 2), "15087002": (30, 10, 6, 4), "15087003": (5, 2, 2, 1)}
    for zone, (m75, m80, f75, f80) in people.items():
        for year, k in ((2030, 7), (2035, 1)):
            rows += [
                f"{zone},{year},m,0,75,{1000 * k},0,0,0",
                f"{zone},{year},m,75,80,{m75 * k},0,0,0",
                f"{zone},{year},m,80,,{m80 * k},0,0,0",
                f"{zone},{year},f,0,75,{1000 * k},0,0,0",
                f"{zone},{year},f,75,80,{f75 * k},0,0,0",
                f"{zone},{year},f,80,,{f80 * k},0,0,0",
            ]
    proj = tmp_path / "p.csv"
    proj.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cost = {"15087001": (1, 9), "15087002": (8, 2), "15087003": (4, 4)}
    matrix = tmp_path / "m.csv"
    matrix.write_text(
        "origin,destination,cost\n"
        + "".join(f"{z},S,{c[0]}\n{z},T,{c[1]}\n" for z, c in cost.items()),
        encoding="utf-8",
    )
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        [
            "plan",
            "pmedian",
            "--matrix",
            str(matrix),
            "--projection",
            str(proj),
            "--year",
            "2035",
            "--ages",
            "75+",
            "--p",
            "1",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    plan = pd.read_csv(out, dtype={"demand_id": str})
    assert set(plan["facility_id"]) == {"T"}
    assert (
        plan.set_index("demand_id")["cost"]
        * pd.Series({"15087001": 20, "15087002": 50, "15087003": 10})
    ).sum() == 320
    # both --demand and --projection, or --projection without --year: a clear error, exit 2
    bad = runner.invoke(
        app,
        [
            "plan",
            "pmedian",
            "--matrix",
            str(matrix),
            "--projection",
            str(proj),
            "--p",
            "1",
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert bad.exit_code == 2
    assert not (tmp_path / "x.csv").exists()

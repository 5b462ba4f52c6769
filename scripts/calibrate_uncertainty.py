"""Calibrate the StochasticSpec sigmas from measured errors; writes the reference CSV.

Method (documented in the CSV's ``method`` column, one row per size class and component):

* fertility: standard deviation of the yearly changes of log TFR, Germany, 1991-2015
  (12612-0009 in the store; only years up to the latest backtest base year, 2015).
* mortality: standard deviation of the changes of the log mortality level between successive
  non-overlapping German period life tables ending 2003, 2006, ..., 2015 (the
  complete tables with ages 0..100 start with 2000/02), divided by sqrt(3) (a
  three-year step of a random walk). Level: mean of m(x) over ages and sexes weighted by Germany's
  2015 population.
* in- and out-migration (one sigma for both, per size class): from the backtests
  (:func:`wandel.backtest.run_backtests`). For every case, horizon and size class the target
  half-width of the 80 % interval is the 80th percentile of |log(projected / observed)| of the
  deterministic Wandel projections; a run with the fertility and mortality sigmas above and a
  migration sigma of 0.05 gives the simulated half-width, the median over zones of
  (log q90 - log q10) / 2. The half-width grows about linearly with the migration sigma, so
  sigma = 0.05 * median over cases and horizons of target / simulated. Zones whose simulated
  half-width does not grow by at least 10 % over a run without migration uncertainty (no migration
  estimated, e.g. Gemeinden at base 2009) are left out.

Usage: ``python scripts/calibrate_uncertainty.py DB.duckdb [OUT.csv]`` (default the packaged CSV).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from wandel.backtest import run_backtests
from wandel.rates import period_end_year
from wandel.store import Store
from wandel.workflow.projection import SIZE_CLASSES, load_tables

SIGMA0 = 0.05
LAST_YEAR = 2015
DRAWS = 100


def fertility_sigma(fertility: pd.DataFrame) -> tuple[float, int]:
    t = fertility[(fertility["zone"] == "DG") & (fertility["measure"] == "tfr")]
    t = t[(t["year"] >= 1991) & (t["year"] <= LAST_YEAR)].groupby("year")["value"].mean()
    d = np.diff(np.log(t.sort_index().to_numpy(dtype=float)))
    return float(np.std(d, ddof=1)), len(d)


def mortality_sigma(life_tables: pd.DataFrame, population: pd.DataFrame) -> tuple[float, int]:
    lt = life_tables[life_tables["zone"] == "DG"].copy()
    lt["end"] = lt["period"].map(period_end_year)
    ends = list(range(2003, LAST_YEAR + 1, 3))  # complete tables (0..100) start 2000/02
    dg = population[(population["zone"] == "DG") & (population["year"] == LAST_YEAR)]
    w = dg.groupby("age_start")["value"].sum().reindex(range(101)).ffill().to_numpy(dtype=float)
    levels = []
    for e in ends:
        rows = lt[lt["end"] == e]
        q = rows.pivot_table(index="sex", columns="age", values="qx").to_numpy(dtype=float)
        m = -np.log1p(-np.minimum(q, 0.999))
        levels.append(float((m * w).sum() / (w.sum() * 2)))
    d = np.diff(np.log(levels))
    return float(np.std(d, ddof=1) / np.sqrt(3)), len(d)


def main(db: Path, out: Path) -> None:
    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
    sf, nf = fertility_sigma(tables.fertility)
    sm, nm = mortality_sigma(tables.life_tables, tables.population)
    trial = {
        c: {"fertility": sf, "mortality": sm, "in_migration": SIGMA0, "out_migration": SIGMA0}
        for c in SIZE_CLASSES
    }
    res = run_backtests(tables, draws=DRAWS, seed=12345, sigmas=trial)
    no_mig = {c: {**v, "in_migration": 0.0, "out_migration": 0.0} for c, v in trial.items()}
    res0 = run_backtests(tables, draws=DRAWS, seed=12345, sigmas=no_mig)
    e = res.errors[res.errors["method"] == "wandel"].copy()
    e0 = res0.errors[res0.errors["method"] == "wandel"]
    e["half_sim"] = (np.log(e["q90"]) - np.log(e["q10"])) / 2
    half0 = ((np.log(e0["q90"]) - np.log(e0["q10"])) / 2).to_numpy()
    # zones whose projection does not respond to the migration level (no migration could be
    # estimated, e.g. Gemeinden at base 2009 with a single total) cannot inform its sigma
    e = e[e["half_sim"].to_numpy() > 1.1 * half0]
    rows = []
    for cls in SIZE_CLASSES:
        sub = e[e["size_class"] == cls]
        ratios = []
        for _, g in sub.groupby(["level", "base_year", "horizon"]):
            target = float(np.quantile(np.abs(g["log_error"]), 0.8))
            sim = float(np.median(g["half_sim"]))
            if sim > 0:
                ratios.append(target / sim)
        sig = SIGMA0 * float(np.median(ratios))
        n = len(sub)
        mig = (
            f"backtest: sigma0 {SIGMA0} x median over {len(ratios)} case-horizons of "
            "q80|log error| / simulated 80% half-width"
        )
        rows += [
            (cls, "fertility", sf, nf, "sd of yearly diff log TFR, DG 1991-2015"),
            (
                cls,
                "mortality",
                sm,
                nm,
                "sd of diff log mortality level, DG tables 2003-2015, /sqrt(3)",
            ),
            (cls, "in_migration", sig, n, mig),
            (cls, "out_migration", sig, n, mig),
        ]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["size_class", "component", "sigma", "n_obs", "method"])
        for cls, comp, sig, n, method in rows:
            wr.writerow([cls, comp, f"{sig:.5f}", n, method])
    print(f"wrote {out}")
    for r in rows:
        print(r[:4])


if __name__ == "__main__":
    default = (
        Path(__file__).resolve().parent.parent / "src/wandel/data/reference/uncertainty_sigmas.csv"
    )
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else default)

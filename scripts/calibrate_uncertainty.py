"""Calibrate the error model on rolling-origin backtests; writes the reference CSVs.

Method (each row of the CSV says how it was made in its ``method`` column):

* fertility: standard deviation of the yearly changes of log TFR, Germany, 1991-2015
  (12612-0009 in the store; only years up to the first backtest base year, 2015).
* mortality: standard deviation of the changes of the log mortality level between successive
  non-overlapping German period life tables ending 2003, 2006, ..., 2015, divided by sqrt(3) (a
  three-year step of a random walk). Level: mean of m(x) over ages and sexes weighted by Germany's
  2015 population.
* in- and out-migration levels: 0 (a common multiplicative level on gross flows moves a zone only in
  the direction of its own net flow); the migration error is the additive net-migration rate.
* net migration, per level (Kreise, Gemeinden) and size class: ``(sigma, phi)`` of the AR(1) rate
  fitted to the horizons of the deterministic backtests (:mod:`wandel.demography.calibration`:
  ``s(h) = q80|log error| / 1.2816`` against ``sigma sqrt(V(h, phi))``; ``phi`` over every origin,
  ``sigma`` on the latest origin, the one most like the next). The shipped CSV calibrates both
  levels on the bundled demo region (Sachsen, Sachsen-Anhalt, Thüringen: ``--kreis-db`` and
  ``--gemeinde-db`` a demo store). Kreise elsewhere err less (every German Kreis, ``--kreis-db`` a
  store with the Kreis tables of ``../shared/data``, gives sigmas about a third smaller), so a user
  outside the region recalibrates on a store of the own region.

Hold-out check (written to ``uncertainty_holdout.csv``): the same fit on the errors observed up to
:data:`CUTOFF` only (Kreise: origins 2015 and 2016, horizons 1-2; Gemeinden: origins 2009 and 2013,
horizons 4-8), then draws from the origins ``>= CUTOFF`` (Kreise 2017: 2019, 2020; Gemeinden 2017:
2019) with those sigmas, and the observed coverage of their 50/80/95 % intervals: years the
calibration did not see.

Usage::

    wandel import --db kreise.duckdb ../shared/data/gemeindeverzeichnis/*.xlsx \
        ../shared/data/gemeindeverzeichnis/AuszugGV4QAktuell_2019.csv \
        ../shared/data/statistik/12411-*.csv ../shared/data/statistik/12612-000[189].csv \
        ../shared/data/statistik/12621-0001_*.csv ../shared/data/statistik/12612-0008_*.csv \
        ../shared/data/regionaldatenbank/*.csv
    wandel demo --db demo.duckdb   # or any store with the demo extract
    python scripts/calibrate_uncertainty.py --kreis-db demo.duckdb --gemeinde-db demo.duckdb
    python scripts/calibrate_uncertainty.py --kreis-db kreise.duckdb --gemeinde-db demo.duckdb \
        --out /tmp/sigmas_germany.csv --holdout-out /tmp/holdout_germany.csv   # every Kreis
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pandas as pd

from wandel.demography.backtest import coverage_table, run_backtests
from wandel.demography.calibration import (
    LEVELS,
    fit_error_model,
    holdout_split,
    measured_sd,
    sigma_table,
)
from wandel.demography.rates import period_end_year
from wandel.store import Store
from wandel.workflow.projection import StoreTables, load_tables

LAST_YEAR = 2015
CUTOFF = 2017
"""The hold-out cutoff: calibration on errors observed up to it, evaluation from origins at it."""
DRAWS = 200
SEED = 2024
REFERENCE = Path(__file__).resolve().parent.parent / "src/wandel/data/reference"


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


def _tables(db: Path) -> StoreTables:
    with Store.open(db, read_only=True) as store:
        return load_tables(store)


def _errors(stores: dict[str, StoreTables], **kw: object) -> pd.DataFrame:
    """Backtest errors of each level on its store (deterministic unless ``draws`` is given)."""
    parts = [
        run_backtests(t, levels=(lvl,), **kw).errors  # type: ignore[arg-type]
        for lvl, t in stores.items()
    ]
    return pd.concat(parts, ignore_index=True)


def _rows(
    fits: dict[str, dict[str, float]],
    sf: tuple[float, int],
    sm: tuple[float, int],
    sd: pd.DataFrame,
    what: str,
) -> list[tuple[str, str, float, int, str]]:
    rows = []
    for key, f in fits.items():
        lvl, cls = key.split(":")
        sub = sd[(sd["level"] == lvl) & (sd["size_class"] == (cls if f["own"] else "all"))]
        hs = ",".join(str(h) for h in sorted(sub["horizon"].unique()))
        src = "own class" if f["own"] else f"all {lvl} classes (too few zones)"
        latest = int(sub["base_year"].max()) if not sub.empty else 0
        mig = (
            f"{what}: s(h) = sigma sqrt(V(h, phi)) fitted to q80|log error|/1.2816, phi by WLS "
            f"over {len(sub)} origin-horizons (h {hs}), sigma on the latest origin ({latest}); {src}"
        )
        rows += [
            (key, "fertility", sf[0], sf[1], "sd of yearly diff log TFR, DG 1991-2015"),
            (
                key,
                "mortality",
                sm[0],
                sm[1],
                "sd of diff log mortality level, DG 2003-2015, /sqrt(3)",
            ),
            (key, "in_migration", 0.0, 0, "0: level noise replaced by additive net migration"),
            (key, "out_migration", 0.0, 0, "0: level noise replaced by additive net migration"),
            (key, "net_migration", f["sigma"], int(f["n"]), mig),
            (
                key,
                "net_migration_ar",
                f["phi"],
                int(f["n"]),
                f"persistence phi of the rate ({what})",
            ),
        ]
    for cls in ("<5k", "5-20k", "20-100k", ">100k"):
        src = f"gemeinde:{cls}" if f"gemeinde:{cls}" in fits else f"kreis:{cls}"
        rows += [
            (cls, c, v, n, f"as {src} (zones of no calibrated level)")
            for k, c, v, n, _m in rows
            if k == src
        ]
    for _, r in sd.sort_values(["level", "size_class", "base_year", "horizon"]).iterrows():
        key = f"{r['level']}:{r['size_class']}"
        comp = f"measured:{r['base_year']}/h{r['horizon']}"
        rows.append((key, comp, float(r["s"]), int(r["n"]), "q80|log error|/1.2816"))
    return rows


def _write(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(header)
        for r in rows:
            wr.writerow([f"{v:.5f}" if isinstance(v, float) else v for v in r])
    print(f"wrote {path}")


def main(kreis_db: Path, gemeinde_db: Path, out: Path, holdout_out: Path, draws: int) -> None:
    stores = {"kreis": _tables(kreis_db), "gemeinde": _tables(gemeinde_db)}
    t = stores["gemeinde"]
    sf = fertility_sigma(t.fertility)
    sm = mortality_sigma(t.life_tables, t.population)
    det = _errors(stores, draws=0)
    sd = measured_sd(det)
    fits = fit_error_model(sd)
    _write(
        out,
        ["size_class", "component", "sigma", "n_obs", "method"],
        list(_rows(fits, sf, sm, sd, "every origin")),
    )
    pd.set_option("display.width", 200)
    print(pd.DataFrame(fits).T.to_string())
    # hold-out: fitted on the errors observed up to CUTOFF, evaluated from the origins >= CUTOFF
    calib, _ = holdout_split(det, CUTOFF)
    fits_h = fit_error_model(measured_sd(calib))
    print("hold-out fit:\n" + pd.DataFrame(fits_h).T.to_string())
    sig = sigma_table(fits_h, sf[0], sm[0])
    ev = _errors(stores, draws=draws, seed=SEED, sigmas=sig, min_base=CUTOFF)
    _, ev = holdout_split(ev, CUTOFF)
    cov = coverage_table(ev[ev["level"].isin(LEVELS)])
    cov.insert(0, "calibrated_on", f"errors observed <= {CUTOFF}")
    cov.insert(1, "evaluated_on", f"origins >= {CUTOFF}")
    print(cov.round(1).to_string())
    with holdout_out.open("w", encoding="utf-8", newline="") as fh:
        cov.round(2).to_csv(fh, index=False)
    print(f"wrote {holdout_out}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kreis-db", type=Path, required=True)
    ap.add_argument("--gemeinde-db", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=REFERENCE / "uncertainty_sigmas.csv")
    ap.add_argument("--holdout-out", type=Path, default=REFERENCE / "uncertainty_holdout.csv")
    ap.add_argument("--draws", type=int, default=DRAWS)
    a = ap.parse_args()
    main(a.kreis_db, a.gemeinde_db, a.out, a.holdout_out, a.draws)

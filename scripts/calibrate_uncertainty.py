"""Calibrate the StochasticSpec sigmas from measured errors; writes the reference CSV.

Method (documented in the CSV's ``method`` column, one row per size class and component):

* fertility: standard deviation of the yearly changes of log TFR, Germany, 1991-2015
  (12612-0009 in the store; only years up to the latest backtest base year, 2015).
* mortality: standard deviation of the changes of the log mortality level between successive
  non-overlapping German period life tables ending 2003, 2006, ..., 2015 (the
  complete tables with ages 0..100 start with 2000/02), divided by sqrt(3) (a
  three-year step of a random walk). Level: mean of m(x) over ages and sexes weighted by Germany's
  2015 population.
* in- and out-migration LEVELS: 0. A common multiplicative level on gross flows moves a zone only
  in the direction of its own net flow (a zone with net out-migration can never end above its
  no-migration path) and, with the size needed to match the errors, gave absurdly skewed bands
  (Hettstedt 2040: 9,300 deterministic, 80 % band 5,000-9,900) and 7-36 % coverage. The
  migration error is carried by the additive net-migration noise instead.
* net migration (per size class): from the backtest errors of the DETERMINISTIC Wandel
  projections (:func:`wandel.demography.backtest.run_backtests` with ``draws = 0``). For every case (level,
  base year), horizon ``h`` and size class: ``s_h = q80(|log(projected / observed)|) / 1.2816``
  (the sd of a normal whose central 80 % interval covers 80 % of the errors). Two growth laws are
  fitted by weighted least squares across the case-horizons (weights: number of zones),
  ``s_h = sigma h`` (a persistent net-migration rate error, AR coefficient 1) and
  ``s_h = sigma sqrt(h)`` (independent yearly errors, AR coefficient 0); the law with the smaller
  weighted residual sum of squares over all size classes is used for every class. The measured
  ``s_h`` are written to the CSV as rows ``measured:LEVEL/BASE/hH``.

Usage: ``python scripts/calibrate_uncertainty.py DB.duckdb [OUT.csv] [--check]``; ``--check``
also prints the in-sample coverage of the 80 % intervals and an out-of-sample check (sigmas
fitted on the Gemeinde base 2009 and Kreis cases only, coverage measured on Gemeinde base 2013,
and the other way round).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from wandel.demography.backtest import GEMEINDE_BASES, run_backtests
from wandel.demography.rates import period_end_year
from wandel.store import Store
from wandel.workflow.projection import SIZE_CLASSES, StoreTables, load_tables

LAST_YEAR = 2015
Z80 = 1.2815515655446004  # standard normal 90th percentile
DRAWS = 200


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


def measured_sd(errors: pd.DataFrame) -> pd.DataFrame:
    """``s_h = q80(|log error|) / 1.2816`` per level, base year, horizon and size class."""
    # a single city's yearly series (level gemeinde-reihe) is a check, not a calibration sample
    e = errors[(errors["method"] == "wandel") & errors["level"].isin(["kreis", "gemeinde"])]
    rows = []
    for (lvl, base, h, cls), g in e.groupby(["level", "base_year", "horizon", "size_class"]):
        s = float(np.quantile(np.abs(g["log_error"]), 0.8)) / Z80
        rows.append(
            {"level": lvl, "base_year": base, "horizon": h, "size_class": cls, "s": s, "n": len(g)}
        )
    return pd.DataFrame(rows)


def fit(sd: pd.DataFrame) -> tuple[dict[str, float], float, dict[str, float]]:
    """Per size class sigma of the better growth law; returns sigmas, phi and both laws' SSE."""
    sse: dict[str, float] = {}
    sig: dict[str, dict[str, float]] = {}
    for law, f in (("linear", lambda h: h), ("sqrt", np.sqrt)):
        total = 0.0
        sig[law] = {}
        for cls, g in sd.groupby("size_class"):
            x = f(g["horizon"].to_numpy(dtype=float))
            y = g["s"].to_numpy(dtype=float)
            w = g["n"].to_numpy(dtype=float)
            s = float((w * x * y).sum() / (w * x * x).sum())
            sig[law][str(cls)] = s
            total += float((w * (y - s * x) ** 2).sum())
        sse[law] = total
    law = min(sse, key=lambda k: sse[k])
    return sig[law], (1.0 if law == "linear" else 0.0), sse


def sigma_table(
    sf: float, sm: float, fits: dict[str, tuple[dict[str, float], float, dict[str, float]]]
) -> dict[str, dict[str, float]]:
    """Sigmas keyed by size class (pooled fit) and by ``level:size class`` (per-level fits)."""
    out = {}
    for prefix, (net, phi, _sse) in fits.items():
        for cls in SIZE_CLASSES:
            if prefix and cls not in net:
                continue
            out[f"{prefix}:{cls}" if prefix else cls] = {
                "fertility": sf,
                "mortality": sm,
                "in_migration": 0.0,
                "out_migration": 0.0,
                "net_migration": net.get(cls, max(net.values())),
                "net_migration_ar": phi,
            }
    return out


def fits_by_level(sd: pd.DataFrame) -> dict[str, tuple[dict[str, float], float, dict[str, float]]]:
    """The pooled fit (key ``""``) and one per level: Kreise and Gemeinden err differently."""
    out = {"": fit(sd)}
    for lvl, g in sd.groupby("level"):
        out[str(lvl)] = fit(g)
    return out


def coverage(tables: StoreTables, sigmas: dict[str, dict[str, float]]) -> pd.DataFrame:
    res = run_backtests(tables, draws=DRAWS, seed=2024, sigmas=sigmas)
    m = res.metrics[res.metrics["method"] == "wandel"]
    return m.pivot_table(
        index=["level", "base_year", "horizon"], columns="size_class", values="coverage80"
    )


def main(db: Path, out: Path, check: bool) -> None:
    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
    sf, nf = fertility_sigma(tables.fertility)
    sm, nm = mortality_sigma(tables.life_tables, tables.population)
    det = run_backtests(tables, draws=0)
    sd = measured_sd(det.errors)
    fits = fits_by_level(sd)
    rows = []
    for prefix, (net, phi, sse) in fits.items():
        law = "sigma*h (phi 1)" if phi == 1.0 else "sigma*sqrt(h) (phi 0)"
        for cls in SIZE_CLASSES:
            if prefix and cls not in net:
                continue
            key = f"{prefix}:{cls}" if prefix else cls
            sub = sd[(sd["size_class"] == cls) & ((sd["level"] == prefix) if prefix else True)]
            n = int(sub["n"].sum())
            mig = (
                f"backtest{' ' + prefix if prefix else ' (all levels)'}: WLS fit of "
                f"q80|log error|/1.2816 of deterministic projections over {len(sub)} "
                f"case-horizons; law {law}; SSE linear {sse['linear']:.3g}, sqrt {sse['sqrt']:.3g}"
            )
            rows += [
                (key, "fertility", sf, nf, "sd of yearly diff log TFR, DG 1991-2015"),
                (
                    key,
                    "mortality",
                    sm,
                    nm,
                    "sd of diff log mortality level, DG tables 2003-2015, /sqrt(3)",
                ),
                (key, "in_migration", 0.0, 0, "0: level noise replaced by additive net migration"),
                (key, "out_migration", 0.0, 0, "0: level noise replaced by additive net migration"),
                (key, "net_migration", net.get(cls, max(net.values())), n, mig),
                (key, "net_migration_ar", phi, len(sd), f"persistence of the net rate: {law}"),
            ]
            if not prefix:
                for _, r in sub.sort_values(["level", "base_year", "horizon"]).iterrows():
                    mkey = f"measured:{r['level']}/{r['base_year']}/h{r['horizon']}"
                    rows.append((cls, mkey, float(r["s"]), int(r["n"]), "q80|log error|/1.2816"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["size_class", "component", "sigma", "n_obs", "method"])
        for cls, comp, sig, n, method in rows:
            wr.writerow([cls, comp, f"{sig:.5f}", n, method])
    print(f"wrote {out}")
    print(sd.to_string())
    for prefix, (net, phi, sse) in fits.items():
        print(prefix or "all", "SSE", sse, "phi", phi, "sigma", net)
    if not check:
        return
    pd.set_option("display.width", 200)
    print("in-sample coverage (%) of the 80 % intervals")
    print(coverage(tables, sigma_table(sf, sm, fits)).round(1).to_string())
    for test in GEMEINDE_BASES:
        keep = (sd["level"] == "kreis") | (sd["base_year"] != test)
        fits_t = fits_by_level(sd[keep])
        cov = coverage(tables, sigma_table(sf, sm, fits_t))
        print(f"out-of-sample: fitted without Gemeinde base {test} -> {fits_t['gemeinde'][:2]}")
        print(cov.loc[("gemeinde", test)].round(1).to_string())


if __name__ == "__main__":
    default = (
        Path(__file__).resolve().parent.parent / "src/wandel/data/reference/uncertainty_sigmas.csv"
    )
    args = [a for a in sys.argv[1:] if a != "--check"]
    main(Path(args[0]), Path(args[1]) if len(args) > 1 else default, "--check" in sys.argv)

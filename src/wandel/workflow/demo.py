"""The main job on the bundled demo region (``make demo`` / ``wandel demo``).

1. Build the store from the bundled extract (Sachsen, Sachsen-Anhalt, Thüringen): one import per
   official source, with its provenance and licence note.
2. Derive the territorial changes between the Gemeindeverzeichnis years and estimate Gemeinde age
   structures from Kreis structures (marked as estimates): the same step as after every
   ``wandel import`` (:func:`wandel.workflow.imports.derive_after_import`).
3. Summarise the region: zones per level and year, population by Land and year, and the seed towns'
   series raw and harmonised to the latest territorial status. Writes CSV files and says where.
4. Project every Gemeinde of the region to 2040 with uncertainty (:data:`DEMO_DRAWS` draws, sigmas
   calibrated on the backtests) and write a summary CSV (age groups, with q10/q50/q90) plus a
   population pyramid and a fan chart (PNG) for each seed town.
5. The services of the nine seed towns (Kita, schools, Pflege, GPs, households, labour force, ...)
   to 2040 with bands (:func:`wandel.workflow.services.run_services_demo`): ``dienste_seed_*``.
6. Fire-brigade day readiness of every Gemeinde of Mansfeld-Südharz (Hettstedt, Eisleben,
   Sangerhausen), the Kreis whose Land's crew and time the catalogue sources, with travel times of
   ``wandel access matrix`` and the figures no source gives set in the demo configuration
   ``data/demo/feuerwehr_annahmen.yaml`` (:func:`wandel.workflow.demo_fire.run_fire_demo`):
   ``feuerwehr_*`` and ``dienste_feuerwehr_15087_*``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from wandel.ages import totals
from wandel.i18n import current_lang, tr
from wandel.sources.base import ImportBatch, SourceMeta
from wandel.store import ImportReport, Store
from wandel.workflow.compare import run_compare_demo
from wandel.workflow.demo_access import run_access_demo
from wandel.workflow.demo_fire import fire_demo_config, run_fire_demo
from wandel.workflow.imports import (
    add_structure_estimates,
    derive_after_import,
    derive_zone_changes,
)
from wandel.workflow.services import latest_split_year, run_services_demo

__all__ = [
    "DEMO_DRAWS",
    "SEED_TOWNS",
    "DemoResult",
    "add_structure_estimates",
    "compare_demo",
    "demo_data_dir",
    "derive_zone_changes",
    "load_demo_store",
    "project_demo",
    "run_demo",
]

DEMO_DRAWS = 100
"""Draws of the demo projection (about 1,300 Gemeinden to 2040; keeps ``make demo`` short)."""
DEMO_BREAKS = (0, 6, 18, 25, 45, 65, 80)

SEED_TOWNS: dict[str, str] = {
    "15087220": "Hettstedt",
    "15087130": "Lutherstadt Eisleben",
    "15087370": "Sangerhausen",
    "14625020": "Bautzen",
    "14626110": "Görlitz",
    "14625240": "Hoyerswerda",
    "16073077": "Saalfeld/Saale",
    "16073076": "Rudolstadt",
    "16073005": "Bad Blankenburg",
}
"""The seed towns of the demo region (AGS as of 31.12.2019)."""


def demo_data_dir() -> Path:
    """The folder of the bundled demo extract inside the installed package."""
    return Path(str(resources.files("wandel") / "data" / "demo"))


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs."""

    db: Path
    files: tuple[Path, ...]


def load_demo_store(store: Store, data_dir: Path | None = None) -> list[ImportReport]:
    """Import every source of the bundled extract into ``store`` (skips sources already there)."""
    folder = data_dir or demo_data_dir()
    manifest = json.loads((folder / "sources.json").read_text(encoding="utf-8"))
    reports = []
    with Progress(transient=True) as progress:
        task = progress.add_task("Demo-Daten laden", total=len(manifest))
        for m in manifest:
            tables = {name: pd.read_parquet(folder / f) for name, f in m["tables"].items()}
            meta = SourceMeta(
                file=m["file"],
                sha256=m["sha256"],
                kind=m["kind"],
                table_code=m["table_code"],
                title=m["title"],
                producer=m["producer"],
                licence=m["licence"] + " (Auszug: eigene Berechnung, Wandel-Demo)",
            )
            reports.append(store.import_batch(ImportBatch(meta, tables, int(m["rows_read"]))))
            progress.advance(task)
    return reports


def _summaries(store: Store, out_dir: Path) -> tuple[list[Path], pd.DataFrame]:
    from wandel.regions.harmonise import harmonise_population

    files = []
    zones = store.con.execute(
        "SELECT year, substr(zone, 1, 2) AS land, level, count(*) AS n FROM gv_records "
        "GROUP BY ALL ORDER BY year, land, level"
    ).fetchdf()
    p = out_dir / "zonen_je_jahr.csv"
    zones.to_csv(p, index=False)
    files.append(p)

    pop = store.population()
    published = totals(pop[pop["zone"].str.fullmatch(r"\d{2}")])[["zone", "year", "value"]]
    gv_lander = store.con.execute(
        "SELECT zone, year, pop_total AS value FROM gv_records WHERE level = 'land' ORDER BY ALL"
    ).fetchdf()
    lander = (
        pd.concat([gv_lander.assign(quelle="GV-ISys"), published.assign(quelle="Fortschreibung")])
        .sort_values(["zone", "year", "quelle"])
        .rename(columns={"zone": "land", "value": "einwohner"})
    )
    p = out_dir / "bevoelkerung_laender.csv"
    lander.to_csv(p, index=False)
    files.append(p)

    gem = pop[pop["zone"].str.len() == 8]
    changes = store.zone_changes()
    target = int(gem["year"].max())
    raw = totals(gem[gem["zone"].isin(list(SEED_TOWNS))])
    harm = totals(harmonise_population(gem, changes, target))
    harm = harm[harm["zone"].isin(list(SEED_TOWNS))]
    seed = raw[["zone", "year", "value"]].merge(
        harm[["zone", "year", "value"]],
        on=["zone", "year"],
        how="outer",
        suffixes=("_raw", "_harm"),
    )
    seed.insert(1, "name", seed["zone"].map(SEED_TOWNS))
    seed = seed.rename(
        columns={
            "value_raw": "einwohner_gebietsstand_jahr",
            "value_harm": f"einwohner_gebietsstand_{target}",
        }
    )
    p = out_dir / "seed_towns_harmonisiert.csv"
    seed.to_csv(p, index=False)
    files.append(p)
    return files, seed


def project_demo(db: Path, out_dir: Path, until: int = 2040) -> list[Path]:
    """Project every Gemeinde of the demo region to ``until`` with draws; summary CSV and charts."""
    from wandel.reports.charts import fan_chart, pyramid, save
    from wandel.workflow.projection import (
        build_inputs,
        gemeinde_totals,
        load_tables,
        run,
        to_long,
        year_end_totals,
    )

    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
        official = store.table("official_projection")
    # the latest Gemeindeverzeichnis year (totals by sex); a city's later yearly totals are
    # observations to compare with, not a base for every Gemeinde
    gem = year_end_totals(tables.population, 8)
    base_year = int(gem.loc[gem["sex"].isin(["m", "f"]), "year"].max())
    zones = sorted(gemeinde_totals(tables, base_year)["zone"].astype(str).unique())
    inputs = build_inputs(tables, zones, base_year)
    rates = inputs.rates(until)
    grouped = run(inputs, rates, until, draws=DEMO_DRAWS, seed=2040, age_breaks=DEMO_BREAKS)
    summary = to_long(grouped)
    summary.insert(1, "geschaetzte_altersstruktur", summary["zone"].isin(inputs.base.estimated))
    files = []
    p = out_dir / "vorausberechnung_gemeinden_2040.csv"
    summary.to_csv(p, index=False, float_format="%.1f")
    files.append(p)
    seed = [z for z in SEED_TOWNS if z in zones]
    single = to_long(run(inputs, rates, until))
    single = single[single["zone"].isin(seed)]
    tot = (
        summary[summary["zone"].isin(seed)]
        .groupby(["zone", "year"], as_index=False)[["value", "q10", "q50", "q90"]]
        .sum()
    )  # sums of the sex and age-group quantiles: the draws move all groups together
    for z in seed:
        name = SEED_TOWNS[z]
        slug = z
        fig = pyramid(
            single,
            z,
            (inputs.start_year, until),
            f"{name}: Bevölkerung {inputs.start_year} und {until} (Altersstruktur geschätzt)",
        )
        files.append(save(fig, out_dir / f"pyramide_{slug}.png"))
        fig = fan_chart(tot[tot["zone"] == z], f"{name}: Einwohner bis {until}")
        files.append(save(fig, out_dir / f"faecher_{slug}.png"))
    files += compare_demo(summary, official, gem, inputs.start_year, out_dir)
    return files


def compare_demo(
    summary: pd.DataFrame,
    official: pd.DataFrame,
    observed: pd.DataFrame,
    start_year: int,
    out_dir: Path,
) -> list[Path]:
    """For every projected Gemeinde with its own projection in the store (e.g. Dresden's):
    Wandel beside it by age group and year, Wandel's totals beside the totals observed after the
    base year, and a fan chart with both (CSV + PNG per zone)."""
    from wandel.demography.comparison import compare_projections, observed_check
    from wandel.reports.charts import fan_chart, save

    own = official[official["zone"].astype(str).str.len() == 8]
    files: list[Path] = []
    for (zone, variant), rows in own.groupby(["zone", "variant"], sort=True):
        z = str(zone)
        w = summary[summary["zone"] == z]
        if w.empty:
            continue
        cmp = compare_projections(w, rows, DEMO_BREAKS)
        p = out_dir / f"vergleich_{z}_eigene_prognose.csv"
        cmp.insert(0, "variante", variant)
        cmp.insert(0, "zone", z)
        cmp.to_csv(p, index=False, float_format="%.1f")
        files.append(p)
        tot = w.groupby("year", as_index=False)[["value", "q10", "q50", "q90"]].sum()
        obs = observed[(observed["zone"] == z)].groupby("year", as_index=False)["value"].sum()
        chk = observed_check(tot, obs, start_year)
        if not chk.empty:
            p = out_dir / f"vergleich_{z}_beobachtet.csv"
            chk.insert(0, "zone", z)
            chk.to_csv(p, index=False, float_format="%.2f")
            files.append(p)
        other = rows.groupby("year", as_index=False)["value"].sum()
        fig = fan_chart(
            tot,
            f"{z}: Wandel und die eigene Prognose ({variant})",
            others=[(f"eigene Prognose der Stadt ({variant})", other)],
            observed=obs[obs["year"] >= start_year],
        )
        files.append(save(fig, out_dir / f"vergleich_{z}.png"))
    return files


def _num(n: float) -> str:
    """A whole number with the thousands separator of the language: ``13.885`` / ``13,885``."""
    text = f"{n:,.0f}"
    return text.replace(",", ".") if current_lang() == "de" else text


def run_demo(db: Path, out_dir: Path, console: Console | None = None) -> DemoResult:
    """Build the demo store at ``db`` and write the main job's outputs into ``out_dir``."""
    con = console or Console()
    out_dir.mkdir(parents=True, exist_ok=True)
    with Store.open(db) as store:
        with store.transaction():  # the demo's files and what is derived from them: all or nothing
            reports = load_demo_store(store)
            derived = derive_after_import(store)
        new = sum(r.rows_imported for r in reports)
        con.print(tr("demo.store", db=db, sources=len(reports), rows=_num(new)), highlight=False)
        con.print(tr("demo.changes", n=derived.changes), highlight=False)
        con.print(tr("demo.estimates", rows=_num(derived.estimates.rows_imported)), highlight=False)
        files, seed = _summaries(store, out_dir)
    table = Table(title=tr("demo.seed_title"))
    for col in seed.columns:
        table.add_column(str(col))
    for _, row in seed.iterrows():
        table.add_row(
            *[("" if pd.isna(v) else _num(v) if isinstance(v, float) else str(v)) for v in row]
        )
    con.print(table)
    con.print(tr("demo.projecting", draws=DEMO_DRAWS), highlight=False)
    files += project_demo(db, out_dir)
    con.print(tr("demo.services"), highlight=False)
    files += run_services_demo(db, out_dir, tuple(SEED_TOWNS), DEMO_DRAWS)
    con.print(tr("demo.fire", config=fire_demo_config()), highlight=False)
    files += run_fire_demo(db, out_dir, DEMO_DRAWS, latest_split_year(db))
    con.print(tr("demo.access"), highlight=False)
    with Store.open(db) as store:
        files += run_access_demo(store, out_dir, console=con)
    con.print(tr("demo.compare"), highlight=False)
    files += run_compare_demo(db, out_dir, out_dir / "vorausberechnung_gemeinden_2040.csv", con)
    con.print(tr("demo.results"), highlight=False)
    for f in files:
        con.print(f"  {f}")
    return DemoResult(db=db, files=tuple(files))

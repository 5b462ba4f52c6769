"""CLI commands ``wandel indicators``, ``wandel compare ...``, ``wandel profile`` and
``wandel measures ...`` (registered by :func:`register`).

They parse options, call :mod:`wandel.workflow.compare` and print; every user mistake (an unknown
AGS, indicator or network, a bad measures file, an unknown output format) ends with one line on
stderr and exit code 2, and neither the store nor an output file is touched.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.table import Table

from wandel.cli._common import (
    DbOption,
    err,
    out,
    resolve_db,
    run_cli,
    spinner,
    split_values,
    ui_lang,
)
from wandel.errors import UnknownChoiceError
from wandel.i18n import tr

if TYPE_CHECKING:
    from wandel.workflow.compare import CompareData

__all__ = ["compare_app", "measures_app", "register"]

LEVELS = ("gemeinde", "kreis", "land", "bund")

compare_app = typer.Typer(help="@cli.compare.help", no_args_is_help=True)
measures_app = typer.Typer(help="@cli.measures.help", no_args_is_help=True)

OutOption = Annotated[Path | None, typer.Option("--out", help="@cli.compare.out")]
DialectOption = Annotated[str, typer.Option("--dialect", help="@cli.compare.dialect")]
ProjectionOption = Annotated[
    Path | None, typer.Option("--projection", help="@cli.compare.projection")
]
IndicatorOption = Annotated[
    list[str] | None, typer.Option("--indicator", help="@cli.compare.indicator")
]


def _loaded(
    db: Path | None, projection: Path | None = None, keys: Sequence[str] | None = None
) -> CompareData:
    from wandel.workflow.compare import load

    with spinner("cli.compare.loading"):
        return load(resolve_db(db), projection, keys or None)


def _peer_keys() -> list[str]:
    """The catalogue's peer features: all that peers and the typology need to compute."""
    from wandel.compare.catalogue import load_catalogue

    return [k for k, ind in load_catalogue().items() if ind.peer]


def _table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[object]], justify: str = "left"
) -> None:
    """Print a Rich table of ``rows`` (cells shown with ``str``) on stdout."""
    t = Table(title=title)
    for col in columns:
        t.add_column(col, overflow="fold", justify=justify)  # type: ignore[arg-type]
    for row in rows:
        t.add_row(*(str(c) for c in row))
    out.print(t)


def _write(frame: pd.DataFrame, path: Path, note: str, dialect: str, db: Path | None) -> None:
    from wandel.workflow.compare import write_table

    for p in write_table(frame, path, note, dialect=dialect, db=resolve_db(db)):
        err.print(f"{tr('cli.compare.written')}: {p}", highlight=False)


def indicators(
    zones: Annotated[
        list[str] | None, typer.Option("--zones", help="@cli.indicators.zones")
    ] = None,
    level: Annotated[str | None, typer.Option("--level", help="@cli.indicators.level")] = None,
    indicator: IndicatorOption = None,
    projection: ProjectionOption = None,
    out_file: OutOption = None,
    dialect: DialectOption = "de",
    list_: Annotated[bool, typer.Option("--list", help="@cli.indicators.list")] = False,
    age_groups: Annotated[
        bool, typer.Option("--age-groups", help="@cli.indicators.age_groups")
    ] = False,
    db: DbOption = None,
) -> None:
    """Indicators of every Gemeinde, Kreis and Land (long table: CSV to stdout or ``--out``)."""
    from wandel.compare.catalogue import resolve_keys
    from wandel.workflow.compare import catalogue_frame, describe_indicators

    lang = ui_lang()

    def run() -> None:
        if list_:
            cols = ("indicator", "name", "unit", "direction", "source")
            cat = catalogue_frame(lang)
            _table(
                tr("cli.indicators.catalogue", lang), cols, cat[list(cols)].itertuples(index=False)
            )
            return
        if age_groups:
            from wandel.workflow.compare import age_groups_table

            frame, note = age_groups_table(resolve_db(db))
            wanted = split_values(zones)
            if wanted:
                frame = frame[frame["zone"].isin(wanted) | frame["zone"].str[:5].isin(wanted)]
            if level:
                frame = frame[frame["level"] == level]
            if out_file is None:
                frame.to_csv(sys.stdout, index=False, float_format="%.10g")
            else:
                _write(frame, out_file, note, dialect, db)
            return
        if level and level not in LEVELS:
            raise UnknownChoiceError("--level", level, LEVELS)
        keys = resolve_keys(split_values(indicator)) if indicator else None
        data = _loaded(db, projection, keys)
        wanted = split_values(zones)
        for z in wanted:
            data.check_zone(z)
        frame = describe_indicators(data, lang)
        if wanted:
            frame = frame[frame["zone"].isin(wanted) | frame["zone"].str[:5].isin(wanted)]
        if level:
            frame = frame[frame["level"] == level]
        for key, why in data.table.unavailable:
            if keys is None or key in keys:
                err.print(f"[yellow]{tr('cli.indicators.unavailable', lang, key=key, why=why)}[/]")
        if out_file is None:
            frame.to_csv(sys.stdout, index=False, float_format="%.10g")
        else:
            _write(frame, out_file, data.note, dialect, db)

    run_cli(run)


@compare_app.command("network", help="@cli.compare.network.help")
def compare_network(
    network: Annotated[str, typer.Argument(help="@cli.compare.network.arg")],
    indicator: IndicatorOption = None,
    projection: ProjectionOption = None,
    out_file: OutOption = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="@cli.compare.chart")] = None,
    dialect: DialectOption = "de",
    db: DbOption = None,
) -> None:
    """A network's members side by side with Kreis, Land, Germany and the network's mean."""
    from wandel.compare.catalogue import resolve_keys
    from wandel.compare.networks import side_by_side
    from wandel.workflow.compare import network_from_spec, write_network_chart

    lang = ui_lang()

    def run() -> None:
        keys = resolve_keys(split_values(indicator)) if indicator else None
        data = _loaded(db, projection, keys)
        net = network_from_spec(network, data)
        cmp = side_by_side(data.table, net, keys)
        if chart is not None:
            write_network_chart(data, cmp, chart, keys, lang)
            err.print(f"{tr('cli.compare.written')}: {chart}", highlight=False)
        if out_file is None:
            cmp.table.to_csv(sys.stdout, index=False, float_format="%.10g")
        else:
            _write(cmp.table, out_file, data.note, dialect, db)

    run_cli(run)


@compare_app.command("peers", help="@cli.compare.peers.help")
def compare_peers(
    zone: Annotated[str, typer.Option("--zone", help="@cli.compare.zone")],
    k: Annotated[int, typer.Option("--k", help="@cli.compare.peers.k")] = 5,
    indicator: IndicatorOption = None,
    out_file: OutOption = None,
    dialect: DialectOption = "de",
    db: DbOption = None,
) -> None:
    """The k most similar municipalities of a town, with the indicators that make them similar."""
    from wandel.compare.catalogue import load_catalogue, resolve_keys
    from wandel.workflow.compare import peers_of

    lang = ui_lang()

    def run() -> None:
        feats = resolve_keys(split_values(indicator)) if indicator else None
        data = _loaded(db, keys=feats or _peer_keys())
        res, matrix = peers_of(data, zone, k, feats)
        table = res.table.assign(peer_name=res.table["peer"].map(data.name))
        if out_file is not None:
            _write(table.assign(zone=zone), out_file, data.note, dialect, db)
            return
        cat = load_catalogue()
        rows = [
            (r["rank"], r["peer"], r["peer_name"], f"{r['distance']:.2f}",
             ", ".join(cat[s].text("name", lang) for s in r[["similar_1", "similar_2"]] if s))
            for _, r in table.iterrows()
        ]  # fmt: skip
        cols = ("#", "AGS", tr("cli.compare.name", lang), "d", tr("cli.compare.similar", lang))
        _table(tr("cli.compare.peers.title", lang, town=data.name(zone), zone=zone), cols, rows)
        if matrix.estimated_share > 0:
            out.print(
                tr("cli.compare.peers.estimated", lang, share=f"{matrix.estimated_share:.0%}")
            )

    run_cli(run)


@compare_app.command("typology", help="@cli.compare.typology.help")
def compare_typology(
    level: Annotated[str, typer.Option("--level", help="@cli.indicators.level")] = "gemeinde",
    k: Annotated[int | None, typer.Option("--k", help="@cli.compare.typology.k")] = None,
    seed: Annotated[int, typer.Option("--seed", help="@cli.compare.seed")] = 20261123,
    out_file: OutOption = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="@cli.compare.map")] = None,
    dialect: DialectOption = "de",
    db: DbOption = None,
) -> None:
    """Types of municipalities by k-means, k chosen by silhouette and bootstrap stability."""
    from wandel.workflow.compare import typology_of

    lang = ui_lang()

    def run() -> None:
        data = _loaded(db, keys=_peer_keys())
        with spinner("cli.compare.typology.busy"):
            typ, _matrix = typology_of(data, level, k, seed)
        types = pd.DataFrame({"zone": typ.types.index, "type": typ.types.to_numpy()})
        types["type_name"] = types["type"].map(lambda t: typ.label(int(t), lang))
        types["name"] = types["zone"].map(data.name)
        rows = [
            (int(r["k"]), f"{r['silhouette']:.3f}", f"{r['ari_mean']:.2f}", f"{r['ari_min']:.2f}")
            for _, r in typ.selection.iterrows()
        ]
        cols = ("k", "silhouette", "ari_mean", "ari_min")
        _table(tr("cli.compare.typology.title", lang, k=typ.k), cols, rows, justify="right")
        out.print(tr("cli.compare.typology.rule", lang, rule=typ.rule))
        for n in range(1, typ.k + 1):
            out.print(f"  {typ.label(n, lang)}: {int((typ.types == n).sum())}")
        if map_file is not None:
            from wandel.workflow.compare import write_typology_map

            write_typology_map(data, typ, map_file, level=level, lang=lang)
            err.print(f"{tr('cli.compare.written')}: {map_file}", highlight=False)
        if out_file is not None:
            _write(types, out_file, data.note, dialect, db)

    run_cli(run)


def profile_cmd(
    zone: Annotated[str, typer.Option("--zone", help="@cli.compare.zone")],
    network: Annotated[str | None, typer.Option("--network", help="@cli.profile.network")] = None,
    projection: ProjectionOption = None,
    out_file: OutOption = None,
    dialect: DialectOption = "de",
    db: DbOption = None,
) -> None:
    """Strengths and weaknesses of a town in sentences (and as a table with ``--out``)."""
    from wandel.workflow.compare import network_from_spec, profile_of

    lang = ui_lang()

    def run() -> None:
        data = _loaded(db, projection)
        net = network_from_spec(network, data) if network else None
        prof = profile_of(data, zone, net, lang)
        out.print(f"[bold]{tr('cli.profile.title', lang, town=prof.name, zone=zone)}[/]")
        for i, s in enumerate(prof.sentences, 1):
            out.print(f"{i:2d}. {s}", highlight=False, soft_wrap=True)
        if out_file is not None:
            _write(prof.facts.assign(zone=zone), out_file, data.note, dialect, db)

    run_cli(run)


@measures_app.command("import", help="@cli.measures.import.help")
def measures_import(
    files: Annotated[list[Path], typer.Argument(help="@cli.measures.import.files")],
    db: DbOption = None,
) -> None:
    """Import measures registers (YAML or CSV); each file all or nothing, towns checked first."""
    from wandel.workflow.compare import import_measures

    lang = ui_lang()

    def run() -> None:
        for f in files:
            rep = import_measures(resolve_db(db), f)
            done = tr("cli.import.already", lang) if rep.skipped else str(rep.rows_imported)
            out.print(f"{f.name}: {done}", highlight=False)

    run_cli(run, then="store_unchanged")


@measures_app.command("list", help="@cli.measures.list.help")
def measures_list(
    zone: Annotated[list[str] | None, typer.Option("--zone", help="@cli.measures.zone")] = None,
    field: Annotated[list[str] | None, typer.Option("--field", help="@cli.measures.field")] = None,
    out_file: OutOption = None,
    dialect: DialectOption = "de",
    db: DbOption = None,
) -> None:
    """The measures register, filtered by town and field."""
    from wandel.workflow.compare import measures_table

    lang = ui_lang()

    def run() -> None:
        m, note = measures_table(resolve_db(db), split_values(zone), split_values(field), lang)
        if out_file is not None:
            _write(m, out_file, note, dialect, db)
            return
        rows = [
            (
                r["measure_id"],
                r["zone"],
                tr(f"compare.field.{r['field']}", lang),
                r["year"],
                r["title"],
            )
            for _, r in m.iterrows()
        ]
        cols = ("measure_id", "zone", "field", "year", "title")
        _table(tr("cli.measures.list.title", lang, n=len(m)), cols, rows)

    run_cli(run)


@measures_app.command("suggest", help="@cli.measures.suggest.help")
def measures_suggest(
    zone: Annotated[str, typer.Option("--zone", help="@cli.compare.zone")],
    out_file: OutOption = None,
    dialect: DialectOption = "de",
    db: DbOption = None,
) -> None:
    """For a town's weaknesses, the measures of towns with a similar profile."""
    from wandel.compare.catalogue import load_catalogue
    from wandel.workflow.compare import measures_for

    lang = ui_lang()

    def run() -> None:
        data = _loaded(db)
        sugg = measures_for(data, zone, lang)
        if out_file is not None:
            _write(sugg.assign(for_zone=zone), out_file, data.note, dialect, db)
            return
        if sugg.empty:
            out.print(tr("cli.measures.suggest.none", lang, town=data.name(zone)))
            return
        cat = load_catalogue()
        rows = [
            (cat[r["weakness"]].text("name", lang), tr(f"compare.field.{r['field']}", lang),
             r["town"], "" if pd.isna(r["distance"]) else f"{r['distance']:.2f}", r["title"],
             r["year"])
            for _, r in sugg.iterrows()
        ]  # fmt: skip
        cols = (tr("compare.assessment.weakness", lang), "field", "town", "d", "title", "year")
        _table(tr("cli.measures.suggest.title", lang, town=data.name(zone)), cols, rows)

    run_cli(run)


def register(app: typer.Typer) -> None:
    """Add ``indicators``, ``compare``, ``profile`` and ``measures`` to the Wandel CLI."""
    app.command("indicators", help="@cli.indicators.help")(indicators)
    app.command("profile", help="@cli.profile.help")(profile_cmd)
    app.add_typer(compare_app, name="compare")
    app.add_typer(measures_app, name="measures")

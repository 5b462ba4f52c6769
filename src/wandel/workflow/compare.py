"""Comparison workflow: load from the store, call :mod:`wandel.compare`, write tables and charts.

Used by ``wandel indicators``, ``wandel compare``, ``wandel profile``, ``wandel measures`` and the
demo. :func:`load` reads the store once (indicators of every zone, the known zones, the measures
register and the source note); the other functions take that value.

Outputs are written by their suffix: ``.csv`` (``dialect`` ``de`` or ``rfc``, source note beside it),
``.xlsx`` (sheet ``Quellen``) or ``.gpkg`` (joined to the store's VG250 polygons); every file is
written atomically, so a refused call leaves no half-written file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console

from wandel.compare._format import short_name
from wandel.compare.catalogue import IndicatorTable, compute_indicators, load_catalogue
from wandel.compare.inputs import IndicatorInputs
from wandel.compare.measures import suggest_measures
from wandel.compare.networks import (
    Network,
    NetworkComparison,
    check_members,
    nearest_zones,
    parse_networks,
    pick_network,
    preset_networks,
    side_by_side,
)
from wandel.compare.peers import FeatureMatrix, PeerResult, feature_matrix, peers
from wandel.compare.profile import Profile, profile
from wandel.compare.typology import Typology, typology
from wandel.errors import (
    ExportError,
    InputFormatError,
    MissingColumnError,
    OutputPathError,
    UnknownChoiceError,
    UnknownZoneError,
)
from wandel.i18n import tr
from wandel.store import ImportReport, Store

__all__ = [
    "DEMO_CHART_KEYS",
    "CompareData",
    "age_groups_table",
    "describe_indicators",
    "import_measures",
    "load",
    "load_inputs",
    "measures_table",
    "network_from_spec",
    "read_projection",
    "run_compare_demo",
    "source_note",
    "write_network_chart",
    "write_table",
    "write_typology_map",
]

_INPUT_TABLES = ("population", "births", "deaths", "migration", "fertility", "life_tables")
SEED_REGISTER = "measures_seed.yaml"
"""The seed register of the practice exchange shipped in ``wandel/data/compare/``."""


def read_projection(path: Path) -> pd.DataFrame:
    """A projection output (``wandel project --out``, the demo's CSV; CSV or Parquet) as
    ``zone, year, value`` rows (by sex and age where the file has them)."""
    p = Path(path)
    if p.suffix.lower() == ".parquet":
        frame = pd.read_parquet(p)
    elif p.suffix.lower() == ".csv":
        frame = pd.read_csv(p, dtype={"zone": str})
    else:
        raise InputFormatError(str(p), value=p.suffix, expected="a projection as .csv or .parquet")
    for col in ("zone", "year", "value"):
        if col not in frame.columns:
            raise MissingColumnError(
                str(p), line=1, column=col, expected="the columns zone, year, value of a projection"
            )
    frame = frame.assign(zone=frame["zone"].astype(str))
    bad = ~frame["zone"].str.fullmatch(r"\d{2}|\d{5}|\d{8}")
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputFormatError(
            str(p), line=i + 2, column="zone", value=frame["zone"].iloc[i], expected="an AGS"
        )
    return frame


def load_inputs(store: Store, projection: pd.DataFrame | None = None) -> IndicatorInputs:
    """Everything the indicators need from the store (and a projection run, if given)."""
    kw = {name: store.table(name) for name in _INPUT_TABLES}
    extra = {} if projection is None else {"projection": projection}
    return IndicatorInputs(
        **kw,
        gv_records=store.table("gv_records"),
        zone_changes=store.zone_changes(),
        zones=store.zones(),
        extra=extra,
    )


def source_note(store: Store, lang: str | None = None) -> str:
    """Sources and licences of the store's imports, one line each, under a heading."""
    prov = store.provenance()
    lines = [tr("compare.note.head", lang)]
    if not prov.empty:
        seen = set()
        for _, r in prov.iterrows():
            line = f"{r['table_code'] or r['kind']}: {r['licence'] or ''}".strip()
            if line not in seen:
                seen.add(line)
                lines.append("- " + line)
    lines.append(tr("compare.note.own", lang))
    return "\n".join(lines)


@dataclass(frozen=True)
class CompareData:
    """What the comparison commands read from the store, loaded once."""

    table: IndicatorTable
    zones: pd.DataFrame
    measures: pd.DataFrame
    note: str
    db: Path

    def check_zone(self, zone: str) -> str:
        """``zone`` if the store knows it, else :class:`UnknownZoneError` naming the nearest."""
        if zone not in set(self.zones["zone"]):
            raise UnknownZoneError(zone, nearest_zones(zone, self.zones))
        return zone

    def name(self, zone: str) -> str:
        hit = self.zones.loc[self.zones["zone"] == zone, "name"]
        return short_name(str(hit.iloc[0])) if not hit.empty else zone


def load(
    db: Path, projection: Path | None = None, keys: Sequence[str] | None = None
) -> CompareData:
    """Indicators of every Gemeinde, Kreis and Land of the store at ``db`` (read-only)."""
    proj = read_projection(projection) if projection is not None else None
    with Store.open(db, read_only=True) as store:
        inputs = load_inputs(store, proj)
        measures = store.table("measures")
        note = source_note(store)
    table = compute_indicators(inputs, keys)
    zones = inputs.zone_list[["zone", "name", "level"]]
    return CompareData(table, zones, measures, note, Path(db))


def network_from_spec(spec: str, data: CompareData) -> Network:
    """A network from a preset name, a YAML file, or a comma list of AGS; members checked."""
    p = Path(spec)
    if spec.endswith((".yaml", ".yml")):
        if not p.is_file():
            raise FileNotFoundError(f"{spec}: no such network file")
        nets = parse_networks(p.read_text(encoding="utf-8"), str(p), p.stem)
        net = next(iter(nets.values())) if len(nets) == 1 else pick_network(p.stem, nets)
    elif spec and all(s.strip().isdigit() for s in spec.split(",")):
        members = tuple(s.strip() for s in spec.split(","))
        net = Network("netz", ", ".join(members), members)
    else:
        net = pick_network(spec, preset_networks())
    check_members(net, data.zones)
    return net


def network_comparison(
    data: CompareData, network: Network, keys: Sequence[str] | None = None
) -> NetworkComparison:
    """Members of ``network`` side by side with Kreis, Land, Germany and the network mean."""
    return side_by_side(data.table, network, keys)


def peers_of(
    data: CompareData, zone: str, k: int = 5, features: Sequence[str] | None = None
) -> tuple[PeerResult, FeatureMatrix]:
    """The ``k`` most similar zones of ``zone``'s level."""
    data.check_zone(zone)
    level = str(data.zones.loc[data.zones["zone"] == zone, "level"].iloc[0])
    matrix = feature_matrix(data.table, level, features)
    return peers(matrix, zone, k), matrix


def typology_of(
    data: CompareData, level: str = "gemeinde", k: int | None = None, seed: int = 20261123
) -> tuple[Typology, FeatureMatrix]:
    """Types of the zones of ``level``."""
    matrix = feature_matrix(data.table, level)
    return typology(matrix, k, seed=seed), matrix


def profile_of(
    data: CompareData, zone: str, network: Network | None = None, lang: str | None = None
) -> Profile:
    """The strengths-weaknesses profile of ``zone``."""
    data.check_zone(zone)
    return profile(data.table, zone, network=network, lang=lang)


def measures_for(data: CompareData, zone: str, lang: str | None = None) -> pd.DataFrame:
    """Measures of towns with a similar profile for ``zone``'s weaknesses."""
    prof = profile_of(data, zone, lang=lang)
    level = str(data.zones.loc[data.zones["zone"] == zone, "level"].iloc[0])
    try:
        matrix: FeatureMatrix | None = feature_matrix(data.table, level)
    except ValueError:
        matrix = None
    out = suggest_measures(prof, data.table, data.measures, matrix)
    out.insert(5, "town", out["zone"].map(data.name))
    return out


def import_measures(db: Path, path: Path) -> ImportReport:
    """Read a measures register completely, check every town against the store, then import it."""
    from wandel.sources.registry import read

    batch = read(path, "measures")
    frame = batch.tables["measures"]
    with Store.open(db) as store:
        known = store.zones()[["zone", "name"]]
        have = set(known["zone"].astype(str))
        for z in frame["zone"]:
            if z not in have:
                raise UnknownZoneError(str(z), nearest_zones(str(z), known), str(path))
        return store.import_batch(batch)


def measures_table(
    db: Path, zones: Sequence[str] = (), fields: Sequence[str] = (), lang: str | None = None
) -> tuple[pd.DataFrame, str]:
    """The measures register of the store, of ``zones`` and ``fields`` (all when empty), and the
    source note.

    Raises
    ------
    UnknownChoiceError
        A field that is not one of :data:`wandel.sources.measures.FIELDS`.
    """
    from wandel.sources.measures import FIELDS

    for f in fields:
        if f not in FIELDS:
            raise UnknownChoiceError("--field", f, FIELDS)
    with Store.open(db, read_only=True) as store:
        m = store.table("measures")
        note = source_note(store, lang)
    if zones:
        m = m[m["zone"].isin(zones)]
    if fields:
        m = m[m["field"].isin(fields)]
    return m.reset_index(drop=True), note


def describe_indicators(data: CompareData, lang: str | None = None) -> pd.DataFrame:
    """The long indicator table with the indicator's name, unit and source in words."""
    cat = data.table.catalogue
    v = data.table.values.copy()
    v.insert(4, "indicator_name", v["indicator"].map(lambda k: cat[k].text("name", lang)))
    v["unit_text"] = v["indicator"].map(lambda k: cat[k].unit_text(lang))
    v["source"] = v["indicator"].map(lambda k: cat[k].text("source", lang))
    return v


def age_groups_table(db: Path) -> tuple[pd.DataFrame, str]:
    """Persons by functional age group of every zone (and the source note)."""
    from wandel.compare.indicators import functional_age_groups

    with Store.open(db, read_only=True) as store:
        inputs = load_inputs(store)
        note = source_note(store)
    frame = functional_age_groups(inputs)
    names = inputs.zone_list.set_index("zone")
    frame.insert(1, "name", frame["zone"].map(names["name"]))
    frame.insert(2, "level", frame["zone"].map(names["level"]))
    return frame, note


def catalogue_frame(lang: str | None = None) -> pd.DataFrame:
    """The indicator catalogue as a table (key, name, unit, direction, group, definition, source)."""
    rows = []
    for key, ind in load_catalogue().items():
        rows.append(
            {
                "indicator": key,
                "name": ind.text("name", lang),
                "unit": ind.unit_text(lang),
                "direction": ind.direction,
                "group": ind.group,
                "peer": ind.peer or "",
                "definition": ind.text("definition", lang),
                "source": ind.text("source", lang),
            }
        )
    return pd.DataFrame(rows)


def _geometry(db: Path, frame: pd.DataFrame) -> object:
    from wandel.workflow.points import boundaries_frame

    with Store.open(db, read_only=True) as store:
        polys = boundaries_frame(store, level="gemeinde")
        if "zone" in frame.columns and frame["zone"].astype(str).str.len().eq(5).any():
            kreise = boundaries_frame(store, level="kreis")
            polys = pd.concat([polys, kreise], ignore_index=True)
    merged = polys.merge(frame, on="zone", how="inner")
    if merged.empty:
        raise ExportError("@compare.error.no_polygons")
    return merged


def write_table(
    frame: pd.DataFrame,
    path: Path,
    note: str,
    *,
    dialect: str = "de",
    db: Path | None = None,
    sheet: str = "Daten",
) -> list[Path]:
    """Write ``frame`` by the suffix of ``path`` (.csv, .xlsx, .gpkg) with its source note."""
    from wandel.reports.exports import write_csv, write_gpkg, write_xlsx

    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        if dialect not in ("de", "rfc"):
            raise ExportError("@error.export.dialect", dialect=repr(dialect))
        return list(write_csv(frame, path, dialect=dialect, source_note=note))  # type: ignore[arg-type]
    if suffix == ".xlsx":
        return [write_xlsx({sheet: frame}, path, source_note=note)]
    if suffix == ".gpkg":
        if db is None:
            raise ExportError("@compare.error.gpkg_boundaries")
        return [write_gpkg(_geometry(db, frame), path, layer=sheet, source_note=note)]
    raise OutputPathError("--out", str(path), (".csv", ".xlsx", ".gpkg"))


DEMO_CHART_KEYS = (
    "median_age", "old_age_ratio", "share_80plus", "projected_change_2040",
    "natural_balance", "net_migration_18_24", "net_migration_family", "tfr",
)  # fmt: skip
"""The indicators of the demo's small multiples (``population_change`` where no projection)."""


def write_network_chart(
    data: CompareData,
    cmp: NetworkComparison,
    path: Path,
    keys: Sequence[str] | None = None,
    lang: str | None = None,
) -> Path:
    """Draw a network's small multiples (``keys``, else :data:`DEMO_CHART_KEYS`); written atomically.

    Without a projection in ``data``, ``projected_change_2040`` of the default keys becomes the
    observed ``population_change``.
    """
    from wandel.reports.charts import save
    from wandel.reports.compare_charts import network_small_multiples
    from wandel.reports.exports import atomic_write

    if keys is None:
        have = set(data.table.values["indicator"])
        keys = [k if k in have else "population_change" for k in DEMO_CHART_KEYS]
    with atomic_write(Path(path)) as tmp:
        save(network_small_multiples(cmp, list(keys), data.note, lang), tmp)
    return Path(path)


def _demo_networks(data: CompareData, out_dir: Path) -> list[Path]:
    """Per seed network a side-by-side CSV and small multiples; profiles and peers of its towns."""
    files: list[Path] = []
    profiles, peer_rows = [], []
    for name, net in preset_networks().items():
        check_members(net, data.zones)
        cmp = network_comparison(data, net)
        files += write_table(cmp.table, out_dir / f"netzwerk_{name}.csv", data.note)
        files.append(write_network_chart(data, cmp, out_dir / f"netzwerk_{name}.png"))
        for zone in net.members:
            prof = profile_of(data, zone, net)
            profiles.append(prof.facts.assign(zone=zone, town=prof.name, network=name))
            res, _m = peers_of(data, zone, 5)
            peer_rows.append(
                res.table.assign(zone=zone, peer_name=res.table["peer"].map(data.name))
            )
    facts = pd.concat(profiles, ignore_index=True)
    files += write_table(facts, out_dir / "profile_seed_staedte.csv", data.note)
    text = []
    for zone, grp in facts.groupby("zone", sort=False):
        text += [
            f"## {grp['town'].iloc[0]} ({zone})\n",
            *(f"- {s}" for s in grp["sentence"].head(8)),
            "",
        ]
    p = out_dir / "profile_seed_staedte.md"
    p.write_text("\n".join(text) + "\n" + data.note + "\n", encoding="utf-8")
    files.append(p)
    files += write_table(pd.concat(peer_rows), out_dir / "peers_seed_staedte.csv", data.note)
    return files


def _demo_typology(data: CompareData, out_dir: Path) -> tuple[Typology, list[Path]]:
    """The typology of the Gemeinden: types, the choice of k, profiles, and the map."""
    typ, _matrix = typology_of(data)
    types = pd.DataFrame({"zone": typ.types.index, "type": typ.types.to_numpy()})
    types["type_name"] = types["type"].map(typ.label)
    types["name"] = types["zone"].map(data.name)
    files = write_table(types, out_dir / "typologie_gemeinden.csv", data.note)
    files += write_table(typ.selection, out_dir / "typologie_wahl_k.csv", data.note)
    files += write_table(typ.profiles, out_dir / "typologie_profile.csv", data.note)
    files.append(write_typology_map(data, typ, out_dir / "typologie_karte.png"))
    return typ, files


def write_typology_map(
    data: CompareData,
    typ: Typology,
    path: Path,
    *,
    level: str = "gemeinde",
    lang: str | None = None,
) -> Path:
    """Draw the typology as a choropleth of the store's ``level`` polygons; written atomically."""
    from wandel.reports.charts import save
    from wandel.reports.compare_charts import typology_map
    from wandel.reports.exports import atomic_write
    from wandel.workflow.points import boundaries_frame

    with Store.open(data.db, read_only=True) as store:
        polys = boundaries_frame(store, level=level)
    with atomic_write(Path(path)) as tmp:
        save(typology_map(polys, typ, data.note, lang), tmp)
    return Path(path)


def run_compare_demo(
    db: Path, out_dir: Path, projection: Path | None = None, console: Console | None = None
) -> list[Path]:
    """The comparison part of the demo: import the seed register, compare the three seed networks
    (CSV + small multiples), profile and peers of the nine towns, typology map, measure suggestions."""
    from importlib import resources

    con = console or Console()
    seed = Path(str(resources.files("wandel") / "data" / "compare" / SEED_REGISTER))
    rep = import_measures(db, seed)
    con.print(tr("compare.demo.measures", None, n=rep.rows_imported or 0), highlight=False)
    data = load(db, projection)
    files: list[Path] = []
    files += write_table(describe_indicators(data), out_dir / "indikatoren.csv", data.note)
    groups, note = age_groups_table(db)
    files += write_table(groups, out_dir / "altersgruppen_funktional.csv", note)
    files += _demo_networks(data, out_dir)
    typ, more = _demo_typology(data, out_dir)
    files += more
    towns = [z for n in preset_networks().values() for z in n.members]
    sugg = pd.concat([measures_for(data, z).assign(for_zone=z) for z in towns])
    files += write_table(sugg, out_dir / "massnahmen_vorschlaege.csv", data.note)
    con.print(
        tr("compare.demo.done", None, k=typ.k, ari=f"{typ.stability.mean():.2f}"), highlight=False
    )
    return files

"""Kommunalprofil and Demografiebericht from the store: gather the figures, build the report model,
render it (HTML and PDF/UA) and keep every edition.

:func:`town_figures` loads what a profile needs for some towns (observed totals on the base year's
territory, one projection of their Kreise's Gemeinden with draws, a Kreis-level projection of
their Länder, the nearest hospital); :func:`build_profile` and :func:`build_network_report` make
the :class:`~wandel.reports.model.Report`; :func:`write_edition` renders it into a folder of its
own with a manifest and never overwrites an earlier edition.

Reproducible: the report's date is the store's latest import (provenance), the inputs' checksum
is made of the SHA-256 of every imported file; the same store, settings and seed give the same
bytes (HTML and PDF).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version as _version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from wandel.compare.networks import Network
from wandel.compare.profile import Profile
from wandel.errors import ReportError, UnknownZoneError, WandelError
from wandel.i18n import tr
from wandel.reports.model import EditionKind, Report, ReportMeta, Section, Source
from wandel.reports.profile import (
    AGE_GROUPS,
    AreaFigures,
    HospitalAccess,
    TownFigures,
    milestones,
    network_report,
    profile_report,
)
from wandel.reports.town_secret import town_counts
from wandel.store import Store

if TYPE_CHECKING:
    from wandel.workflow.compare import CompareData

__all__ = [
    "EXPORT_SUFFIXES",
    "Edition",
    "ProfileParts",
    "ReportSettings",
    "build_network_report",
    "build_profile",
    "display_name",
    "export_note",
    "export_report_figures",
    "inputs_checksum",
    "network_slug",
    "profile_parts",
    "projection_export",
    "town_figures",
    "write_edition",
    "zones_export",
]

BREAKS: tuple[int, ...] = tuple(lo for lo, _, _ in AGE_GROUPS)


@dataclass(frozen=True)
class ReportSettings:
    """Projection settings of a report: last year, draws, seed; ``base_year=None`` takes the
    latest Gemeindeverzeichnis year with totals by sex."""

    until: int = 2040
    draws: int = 100
    seed: int = 2040
    base_year: int | None = None
    lang: str = "de"


def inputs_checksum(provenance: pd.DataFrame) -> str:
    """SHA-256 over the sorted SHA-256 of every imported file (and its kind): the same files give
    the same checksum, however often and in whatever order the store was built.

    >>> p = pd.DataFrame({"sha256": ["b" * 64, "a" * 64], "kind": ["vg250", "gv-isys"]})
    >>> inputs_checksum(p) == inputs_checksum(p.iloc[::-1])
    True
    """
    items = sorted(
        f"{k}:{s}" for s, k in zip(provenance["sha256"], provenance["kind"], strict=True)
    )
    return hashlib.sha256("\n".join(items).encode()).hexdigest()


def _created(provenance: pd.DataFrame) -> dt.datetime:
    stamp = pd.Timestamp(provenance["imported_at"].max())
    out: dt.datetime = stamp.to_pydatetime().replace(microsecond=0)
    return out


def _base_year(tables: Any) -> int:
    from wandel.workflow.projection import year_end_totals

    gem = year_end_totals(tables.population, 8)
    return int(gem.loc[gem["sex"].isin(["m", "f"]), "year"].max())


def _observed(store: Store, zones: Sequence[str], base_year: int) -> pd.DataFrame:
    """Observed totals ``zone, year, value`` of Gemeinden on the base year's territory."""
    from wandel.ages import totals
    from wandel.regions.harmonise import harmonise_population

    pop = store.population(level="gemeinde", include_estimated=False)
    pop = pop[pop["year"] <= base_year]
    harm = totals(harmonise_population(pop, store.zone_changes(), base_year))
    return harm[harm["zone"].isin(list(zones))][["zone", "year", "value"]].reset_index(drop=True)


def _gv(store: Store, zones: Sequence[str]) -> pd.DataFrame:
    ph = ", ".join("?" * len(zones))
    return store.con.execute(
        f"SELECT zone, year, name, pop_total FROM gv_records WHERE zone IN ({ph}) ORDER BY zone, year",
        list(zones),
    ).fetchdf()


def _hospital(store: Store, zone: str) -> HospitalAccess | None:
    """Nearest hospital from the town's representative point (straight-line fallback)."""
    from wandel.access import nearest_facility_crowfly
    from wandel.access.routing import CROWFLY_DETOUR_FACTOR, CROWFLY_SPEED_KPH
    from wandel.workflow.points import boundaries_frame, destinations_from_store, zone_points

    try:
        points = zone_points(boundaries_frame(store, [zone]))
        hospitals = destinations_from_store(store, "hospital")
    except WandelError:
        return None
    points = points[points["zone"] == zone]
    if points.empty:
        return None
    res = nearest_facility_crowfly(points, hospitals, mode="car")
    row = res.table.iloc[0]
    if row["status"] != "ok":
        return None
    name = hospitals.set_index("id").loc[row["facility"], "name"]
    name = str(name.iloc[0] if isinstance(name, pd.Series) else name)
    year = int(store.table("facilities", "kind = 'hospital'")["year"].max())
    return HospitalAccess(
        name, float(row["travel_time_min"]), year, CROWFLY_DETOUR_FACTOR, CROWFLY_SPEED_KPH["car"]
    )


def _share65(pop: Any, zone: str, year: int) -> float:
    p = pop.sel(zone=zone, year=year).isel(draw=0).sum("sex")
    return float(p.sel(age=p["age"] >= 65).sum() / p.sum())


def _land_projection(db: Path, tables: Any, lands: Sequence[str], base: int, until: int) -> Any:
    from wandel.workflow.projection import build_inputs, run

    gv = tables.gv_records
    kreise = sorted(
        gv.loc[
            (gv["level"] == "kreis") & (gv["year"] == base) & gv["zone"].str[:2].isin(list(lands)),
            "zone",
        ]
        .astype(str)
        .unique()
    )
    inputs = build_inputs(tables, kreise, base)
    return run(inputs, inputs.rates(until), until).deterministic.population


def town_figures(
    db: Path,
    zones: Sequence[str],
    settings: ReportSettings,
    compare: CompareData | None = None,
) -> list[TownFigures]:
    """Gather the figures of every town in ``zones`` (AGS of Gemeinden) from the store at ``db``.

    ``compare`` holds the indicators of :func:`wandel.workflow.compare.load` (loaded here if not
    given); each town's strengths-weaknesses profile comes from it, and an AGS the store does not
    know is refused with the nearest known ones (:class:`~wandel.errors.UnknownZoneError`).
    """
    from wandel.workflow.compare import load
    from wandel.workflow.projection import load_tables, project_from_store

    zones = [str(z) for z in zones]
    if not zones:
        raise ReportError("@reports.error.no_towns")
    if bad := [z for z in zones if len(z) != 8 or not z.isdigit()]:
        raise ReportError("@reports.error.not_gemeinde", zones=", ".join(bad))
    data = compare if compare is not None else load(db)
    for z in zones:
        data.check_zone(z)
    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
        base = settings.base_year or _base_year(tables)
        known = set(tables.gv_records.loc[tables.gv_records["year"] == base, "zone"].astype(str))
        if missing := [z for z in zones if z not in known]:
            raise ReportError("@reports.error.not_in_gv", zones=", ".join(missing), year=base)
        observed = _observed(store, zones, base)
        kreise = sorted({z[:5] for z in zones})
        lands = sorted({z[:2] for z in zones})
        gv = _gv(store, [*zones, *kreise, *lands])
        hospitals = {z: _hospital(store, z) for z in zones}
    long, res = project_from_store(
        db,
        kreise,
        base,
        settings.until,
        level="gemeinde",
        draws=settings.draws,
        seed=settings.seed,
        age_breaks=BREAKS,
    )
    land_pop = _land_projection(db, tables, lands, base, settings.until)
    gem_pop = res.deterministic.population
    years = milestones(base, settings.until)
    est_rows = tables.population
    estimated = set(
        est_rows.loc[
            est_rows["estimated"].astype(bool) & (est_rows["year"] == base), "zone"
        ].astype(str)
    )
    profiles = _profiles(data, zones, settings.lang)
    out = []
    for z in zones:
        out.append(
            _one_town(
                z,
                base,
                settings,
                long,
                res,
                observed,
                gv,
                gem_pop,
                land_pop,
                years,
                z in estimated,
                hospitals[z],
                profiles[z],
            )
        )
    return out


def _profiles(data: CompareData, zones: Sequence[str], lang: str) -> dict[str, Profile | None]:
    """The strengths-weaknesses profile of each town (:func:`wandel.workflow.compare.profile_of`:
    the same facts as ``wandel profile``), ``None`` where the indicators hold no value of it."""
    from wandel.workflow.compare import profile_of

    out: dict[str, Profile | None] = {}
    for z in zones:
        try:
            out[z] = profile_of(data, z, lang=lang)
        except UnknownZoneError:
            out[z] = None
    return out


def _area(
    zone: str,
    name: str,
    gv: pd.DataFrame,
    base: int,
    pop: Any,
    years: Sequence[int],
    series: pd.Series | None = None,
) -> AreaFigures:
    """Figures of one area; ``series`` (year -> total) replaces the Gemeindeverzeichnis totals
    (a Gemeinde's series on the base year's territory)."""
    rows = gv[gv["zone"] == zone].set_index("year")["pop_total"] if series is None else series
    past = [y for y in rows.index if base - 10 <= y < base]
    py = int(min(past)) if past else None
    tot = pop.isel(draw=0).sum(("sex", "age"))
    zones = [str(v) for v in pop["zone"].values]
    members = [v for v in zones if v.startswith(zone)]
    total = tot.sel(zone=members).sum("zone")
    projected = {int(y): float(total.sel(year=y)) for y in years[1:]}
    by_age = pop.sel(zone=members).isel(draw=0).sum(("sex", "zone"))
    share = {
        int(y): float(by_age.sel(year=y, age=by_age["age"] >= 65).sum() / by_age.sel(year=y).sum())
        for y in (years[0], years[-1])
    }
    return AreaFigures(
        zone,
        name,
        py,
        float(rows[py]) if py else None,
        float(total.sel(year=base)),
        projected,
        share,
    )


_KIND_SUFFIXES = frozenset(
    {"Stadt", "Gemeinde", "Markt", "Flecken", "Kreisstadt", "Große Kreisstadt"}
)


def display_name(gv_name: str) -> str:
    """A Gemeinde's name as people say it, from its Gemeindeverzeichnis form.

    >>> display_name("Hettstedt, Stadt"), display_name("Eisleben, Lutherstadt")
    ('Hettstedt', 'Lutherstadt Eisleben')
    """
    name, _, suffix = (p.strip() for p in gv_name.partition(","))
    return name if not suffix or suffix in _KIND_SUFFIXES else f"{suffix} {name}"


def _one_town(
    z: str,
    base: int,
    settings: ReportSettings,
    long: pd.DataFrame,
    res: Any,
    observed: pd.DataFrame,
    gv: pd.DataFrame,
    gem_pop: Any,
    land_pop: Any,
    years: Sequence[int],
    estimated: bool,
    hospital: HospitalAccess | None,
    profile: Profile | None = None,
) -> TownFigures:
    names = gv.drop_duplicates("zone", keep="last").set_index("zone")["name"].astype(str)
    name = display_name(names[z])
    g = long[long["zone"] == z]
    cols = ["value", "q10", "q90"] if settings.draws else ["value"]
    groups = g.groupby(["age_start", "year"], as_index=False)[cols].sum()
    if not settings.draws:
        groups["q10"] = groups["value"]
        groups["q90"] = groups["value"]
    ends = dict(zip(BREAKS, [*BREAKS[1:], None], strict=True))
    groups.insert(1, "age_end", groups["age_start"].map(ends))
    p = gem_pop.sel(zone=z, year=[base, settings.until]).isel(draw=0)
    pyramid = p.to_dataframe(name="value").reset_index()[["year", "sex", "age", "value"]]
    d = res.deterministic

    def comp(da: Any) -> np.ndarray[Any, Any]:
        return np.asarray(da.sel(zone=z).isel(draw=0).sum("sex").values, dtype=float)

    comps = pd.DataFrame(
        {
            "year": d.births["year"].values.astype(int),
            "births": comp(d.births),
            "deaths": comp(d.deaths),
            "net_migration": comp(d.in_migration) - comp(d.out_migration) + comp(d.adjustment),
        }
    )
    gv_name = names.to_dict()
    kreis, land = z[:5], z[:2]
    obs = observed[observed["zone"] == z][["year", "value"]]
    areas = (
        _area(z, name, gv, base, gem_pop, years, obs.set_index("year")["value"]),
        _area(kreis, gv_name.get(kreis, kreis), gv, base, gem_pop, years),
        _area(land, gv_name.get(land, land), gv, base, land_pop, years),
    )
    return TownFigures(
        zone=z,
        name=name,
        base_year=base,
        until=settings.until,
        draws=settings.draws,
        observed=obs.reset_index(drop=True),
        groups=groups,
        pyramid=pyramid,
        components=comps,
        areas=areas,
        estimated_structure=estimated,
        hospital=hospital,
        notes=tuple(res.notes),
        profile=profile,
        counts=town_counts(res, z),
    )


# -- sources, meta ---------------------------------------------------------------------------------


def _first(prov: pd.DataFrame, kinds: Sequence[str], col: str) -> str:
    rows = prov[prov["kind"].isin(list(kinds))]
    return str(rows[col].dropna().iloc[0]) if not rows.empty else ""


def _plain_licence(text: str) -> str:
    return text.split(" (Auszug")[0]


def report_sources(
    prov: pd.DataFrame, towns: Sequence[TownFigures], lang: str
) -> tuple[tuple[Source, ...], tuple[str, ...]]:
    """The sources a report cites (from the store's provenance) and its licence notes."""
    base = towns[0].base_year
    genesis = ("genesis-classic", "rdb-tidy")
    out = [
        Source(
            "gv",
            tr("reports.source.gv", lang),
            _first(prov, ["gv-isys"], "producer"),
            _plain_licence(_first(prov, ["gv-isys"], "licence")),
            base,
        ),
        Source(
            "genesis",
            tr("reports.source.genesis", lang),
            _first(prov, genesis, "producer"),
            _plain_licence(_first(prov, genesis, "licence")),
            base,
        ),
    ]
    if any(t.estimated_structure for t in towns):
        out.append(
            Source(
                "estimate",
                tr("reports.source.estimate", lang),
                _first(prov, ["wandel-estimate"], "producer"),
                _plain_licence(_first(prov, ["wandel-estimate"], "licence")),
                base,
            )
        )
    out.append(
        Source(
            "projection",
            tr("reports.source.projection", lang),
            tr("reports.producer.projection", lang),
            "EUPL-1.2",
            base,
        )
    )
    licences = [tr("reports.licence.dl_de", lang)]
    hosp = [t.hospital for t in towns if t.hospital]
    if hosp:
        out.append(
            Source(
                "hospitals",
                tr("reports.source.hospitals", lang),
                _first(prov, ["facilities"], "producer"),
                _plain_licence(_first(prov, ["facilities"], "licence")),
                hosp[0].year,
            )
        )
        bkg_year = base
        out.append(
            Source(
                "vg250",
                tr("reports.source.vg250", lang),
                _first(prov, ["vg250"], "producer"),
                "dl-de/by-2-0",
                None,
            )
        )
        licences += [
            tr("reports.licence.bkg", lang, year=bkg_year),
            tr("reports.licence.gba", lang),
        ]
    licences += [tr("reports.licence.no_osm", lang), tr("reports.licence.own", lang)]
    return tuple(out), tuple(licences)


def _meta(
    db: Path, zones: Sequence[str], towns: Sequence[TownFigures], s: ReportSettings
) -> tuple[ReportMeta, pd.DataFrame]:
    with Store.open(db, read_only=True) as store:
        prov = store.provenance()
    meta = ReportMeta(
        inputs_checksum=inputs_checksum(prov),
        created=_created(prov),
        version=_version("wandel"),
        base_year=towns[0].base_year,
        until=s.until,
        draws=s.draws,
        seed=s.seed,
        zones=tuple(zones),
    )
    return meta, prov


@dataclass(frozen=True)
class ProfileParts:
    """What a Kommunalprofil is made of before an edition is chosen: the town's figures, the
    report's meta data, sources and licences (:func:`profile_parts`). Both editions of one town
    are built from the same parts (:func:`build_profile`)."""

    town: TownFigures
    meta: ReportMeta
    sources: tuple[Source, ...]
    licences: tuple[str, ...]


def profile_parts(
    db: Path,
    zone: str,
    settings: ReportSettings = ReportSettings(),
    compare: CompareData | None = None,
) -> ProfileParts:
    """The figures, meta data, sources and licences of the Kommunalprofil of ``zone``
    (``compare``: the indicators of :func:`wandel.workflow.compare.load`, loaded if not given)."""
    towns = town_figures(db, [zone], settings, compare=compare)
    meta, prov = _meta(db, [zone], towns, settings)
    sources, licences = report_sources(prov, towns, settings.lang)
    return ProfileParts(towns[0], meta, sources, licences)


def build_profile(
    db: Path,
    zone: str,
    settings: ReportSettings = ReportSettings(),
    extra_sections: Sequence[Section] = (),
    edition: EditionKind = "internal",
    parts: ProfileParts | None = None,
) -> Report:
    """The Kommunalprofil of the Gemeinde ``zone`` from the store at ``db``; ``edition="public"``
    keeps counts from 1 to 3 secret (:mod:`wandel.reports.edition`). ``parts``: made before by
    :func:`profile_parts` with the same ``db``, ``zone`` and ``settings`` (the other edition of
    the same figures); made here if not given."""
    p = parts if parts is not None else profile_parts(db, zone, settings)
    return profile_report(
        p.town,
        p.meta,
        p.sources,
        p.licences,
        lang=settings.lang,
        extra_sections=extra_sections,
        edition=edition,
    )


def build_network_report(
    db: Path,
    network: str | Network,
    settings: ReportSettings = ReportSettings(),
    extra_sections: Sequence[Section] = (),
    edition: EditionKind = "internal",
) -> Report:
    """The Demografiebericht of ``network``: a :class:`~wandel.compare.networks.Network`, or what
    ``wandel compare network`` takes (a preset name such as ``mansfeld-suedharz``, a YAML file, a
    comma list of AGS; :func:`wandel.workflow.compare.network_from_spec`)."""
    from wandel.compare.networks import check_members
    from wandel.workflow.compare import load, network_from_spec

    data = load(db)
    if isinstance(network, Network):
        check_members(network, data.zones)
        net = network
    else:
        net = network_from_spec(network, data)
    towns = town_figures(db, net.members, settings, data)
    meta, prov = _meta(db, net.members, towns, settings)
    sources, licences = report_sources(prov, towns, settings.lang)
    return network_report(
        net.title,
        towns,
        meta,
        sources,
        licences,
        lang=settings.lang,
        extra_sections=extra_sections,
        edition=edition,
    )


def network_slug(network: str | Network) -> str:
    """A folder name for a network's editions: its preset or file name, else its members.

    >>> network_slug("mansfeld-suedharz"), network_slug("netz/saale.yaml"), network_slug("1,2")
    ('mansfeld-suedharz', 'saale', '1-2')
    """
    if isinstance(network, Network):
        text = network.name
    elif network.endswith((".yaml", ".yml")):
        text = Path(network).stem
    else:
        text = network
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "netzwerk"


# -- editions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edition:
    """An edition folder: its path, the files in it, and whether it was written now (``False``:
    the same edition existed already, byte for byte)."""

    folder: Path
    files: tuple[Path, ...]
    new: bool


def _edition_key(report: Report) -> str:
    m = report.meta
    text = json.dumps(
        [
            report.kind,
            report.lang,
            m.inputs_checksum,
            m.version,
            m.base_year,
            m.until,
            m.draws,
            m.seed,
            list(m.zones),
            *([report.edition] if report.edition != "internal" else []),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def write_edition(report: Report, out_dir: Path, stem: str) -> Edition:
    """Render ``report`` (HTML, PDF/UA) into ``out_dir/<date>_<key>/`` with ``manifest.json``.

    The folder name holds the report's date and a key of its inputs and settings. An existing
    folder is never overwritten: if it holds the same bytes, nothing is written (``new=False``);
    if it holds different bytes, :class:`ReportError`.
    """
    from wandel.reports.exports import atomic_write
    from wandel.reports.render import render_html, render_pdf

    key = _edition_key(report)
    folder = Path(out_dir) / f"{report.meta.created:%Y-%m-%d}_{key}"
    files = {f"{stem}.html": render_html(report).encode("utf-8"), f"{stem}.pdf": render_pdf(report)}
    manifest = {
        "kind": report.kind,
        "edition": report.edition,
        "title": report.title,
        "lang": report.lang,
        "zones": list(report.meta.zones),
        "created": report.meta.created.isoformat(),
        "inputs_sha256": report.meta.inputs_checksum,
        "wandel_version": report.meta.version,
        "base_year": report.meta.base_year,
        "until": report.meta.until,
        "draws": report.meta.draws,
        "seed": report.meta.seed,
        "files": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(files.items())},
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )
    paths = tuple(folder / n for n in files)
    if folder.exists():
        same = all(p.is_file() and p.read_bytes() == files[p.name] for p in paths)
        if not same:
            raise ReportError("@reports.error.edition_differs", folder=str(folder))
        return Edition(folder, paths, new=False)
    tmp = folder.with_name(f".{folder.name}.partial")
    tmp.mkdir(parents=True, exist_ok=True)
    for n, b in files.items():
        with atomic_write(tmp / n) as t:
            t.write_bytes(b)
    tmp.rename(folder)
    return Edition(folder, paths, new=True)


# -- exports ---------------------------------------------------------------------------------------


def export_note(db: Path, settings: ReportSettings) -> str:
    """The source note of an export from the store at ``db``: the imported sources with their
    licences, the projection settings, the inputs' checksum."""
    with Store.open(db, read_only=True) as store:
        prov = store.provenance()
    lang = settings.lang
    lines = [tr("reports.export.note_head", lang)]
    for (producer, licence), _ in prov.groupby(["producer", "licence"], sort=True, dropna=False):
        lines.append(f"- {producer}: {_plain_licence(str(licence))}")
    lines.append(
        tr(
            "reports.export.note_projection",
            lang,
            until=settings.until,
            draws=settings.draws,
            seed=settings.seed,
            checksum=inputs_checksum(prov)[:12],
            version=_version("wandel"),
        )
    )
    return "\n".join(lines)


def projection_export(db: Path, zones: Sequence[str], settings: ReportSettings) -> pd.DataFrame:
    """The projection of the Gemeinden in ``zones`` (Kreise or Gemeinden) by the report's age
    groups: ``zone, name, year, age_start, age_end, value, q10, q90`` (summed over sex)."""
    from wandel.workflow.projection import load_tables, project_from_store

    with Store.open(db, read_only=True) as store:
        tables = load_tables(store)
    base = settings.base_year or _base_year(tables)
    kreise = sorted({str(z)[:5] for z in zones})
    long, _ = project_from_store(
        db, kreise, base, settings.until, level="gemeinde", draws=settings.draws,
        seed=settings.seed, age_breaks=BREAKS,
    )  # fmt: skip
    long = long[long["zone"].map(lambda z: any(z.startswith(str(p)) for p in zones))]
    if long.empty:
        raise ReportError("@reports.error.no_gemeinden", zones=", ".join(map(str, zones)))
    cols = ["value", "q10", "q90"] if settings.draws else ["value"]
    out = long.groupby(["zone", "year", "age_start"], as_index=False)[cols].sum().round(1)
    ends = dict(zip(BREAKS, [*BREAKS[1:], None], strict=True))
    out.insert(3, "age_end", pd.array([ends[int(a)] for a in out["age_start"]], dtype="Int64"))
    gv = tables.gv_records
    names = gv[gv["year"] == base].set_index("zone")["name"].astype(str)
    out.insert(1, "name", out["zone"].map(names))
    return out.sort_values(["zone", "year", "age_start"]).reset_index(drop=True)


def zones_export(
    db: Path, zones: Sequence[str], settings: ReportSettings, edition: EditionKind = "internal"
) -> Any:
    """The Gemeinden in ``zones`` as a GeoDataFrame (boundaries from the store) with name,
    population in the base year, the projection for ``until`` and its 80 % band.

    ``edition="public"``: a total kept secret by the rule of the public report
    (:func:`wandel.reports.edition.public_export`) is null, with ``<column>_geheim`` true beside
    it, and so is the change in per cent computed from it (a change reveals its ends)."""
    from wandel.workflow.points import boundaries_frame

    frame = projection_export(db, zones, settings)
    stats = [c for c in ("value", "q10", "q90") if c in frame.columns]
    tot = frame.groupby(["zone", "name", "year"], as_index=False)[stats].sum()
    if edition == "public":
        from wandel.reports.edition import public_export

        _, secret = public_export(frame)
        for s in stats:
            hidden = [
                ("total", str(z), int(y), s) in secret
                for z, y in zip(tot["zone"], tot["year"], strict=True)
            ]
            tot[s] = tot[s].astype(float).mask(np.array(hidden, dtype=bool))
    base_year = int(tot["year"].min())
    base = tot[tot["year"] == base_year].set_index("zone")
    end = tot[tot["year"] == settings.until].set_index("zone")
    with Store.open(db, read_only=True) as store:
        gdf = boundaries_frame(store, list(zones))
    gdf = gdf[gdf["zone"].isin(base.index)].reset_index(drop=True)
    gdf["name"] = gdf["zone"].map(base["name"])
    counts = [f"einwohner_{base_year}", f"einwohner_{settings.until}"]
    gdf[counts[0]] = gdf["zone"].map(base["value"])
    gdf[counts[1]] = gdf["zone"].map(end["value"])
    if "q10" in end.columns:
        gdf[f"einwohner_{settings.until}_q10"] = gdf["zone"].map(end["q10"])
        gdf[f"einwohner_{settings.until}_q90"] = gdf["zone"].map(end["q90"])
        counts += [f"einwohner_{settings.until}_q10", f"einwohner_{settings.until}_q90"]
    # NaN where either end is secret: a change is never computed from a secret count
    gdf["veraenderung_prozent"] = (gdf[counts[1]] / gdf[counts[0]] - 1) * 100
    if edition == "public":
        for c in [*counts, "veraenderung_prozent"]:
            gdf[f"{c}_geheim"] = gdf[c].isna()
    return gdf


EXPORT_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx", ".gpkg")


def export_report_figures(
    db: Path,
    zones: Sequence[str],
    out: Path,
    dialect: str,
    settings: ReportSettings,
    edition: str = "internal",
) -> tuple[Path, ...]:
    """Write the figures behind the reports for ``zones`` (Kreise or Gemeinden) to ``out``: the
    projection by age group as CSV (``dialect`` ``de`` or ``rfc``, with the sidecar source note)
    or XLSX (sheet ``Vorausberechnung`` and ``Quellen``), or the Gemeinden with their boundaries
    as a GeoPackage (layer ``gemeinden`` and table ``quellen``). Returns the paths written.

    ``edition="public"`` keeps counts from 1 to 3 secret as the public report does
    (:func:`wandel.reports.edition.public_export`): the GENESIS sign ``.`` in CSV and XLSX, null
    with a flag column in the GeoPackage; the source note says so.

    Raises
    ------
    OutputPathError
        ``out`` ends in none of :data:`EXPORT_SUFFIXES`.
    UnknownChoiceError
        ``dialect`` is neither ``de`` nor ``rfc``, or ``edition`` neither ``internal`` nor
        ``public``.
    """
    from wandel.errors import UnknownChoiceError
    from wandel.reports.disclosure import SECRET
    from wandel.reports.edition import EXPORT_STATS, public_export
    from wandel.reports.exports import write_csv, write_gpkg, write_xlsx
    from wandel.reports.model import EDITIONS
    from wandel.workflow.outputs import check_suffix

    suffix = check_suffix("--out", Path(out), EXPORT_SUFFIXES)
    if dialect not in ("de", "rfc"):
        raise UnknownChoiceError("--dialect", dialect, ("de", "rfc"))
    kind = next((e for e in EDITIONS if e == edition), None)
    if kind is None:
        raise UnknownChoiceError("--edition", edition, EDITIONS)
    if not zones:
        raise ReportError("@reports.error.no_towns")
    note = export_note(db, settings)
    if kind == "public":
        note += "\n" + tr("reports.export.note_public", settings.lang)
    if suffix == ".gpkg":
        frame = zones_export(db, zones, settings, edition=kind)
        return (write_gpkg(frame, out, layer="gemeinden", source_note=note),)
    table = projection_export(db, zones, settings)
    if kind == "public":
        shown, _ = public_export(table)
        for s in (s for s in EXPORT_STATS if s in shown.columns):
            hidden = shown[s].isna() & table[s].notna()
            shown[s] = shown[s].astype(object).where(~hidden, SECRET)
        table = shown
    if suffix == ".csv":
        return write_csv(table, out, dialect=dialect, source_note=note)  # type: ignore[arg-type]
    return (write_xlsx({"Vorausberechnung": table}, out, source_note=note),)

"""Mapping a parsed classic table to canonical tables, by its table code.

Totals (``Insgesamt``) that are redundant with their parts are verified (parts must add up to the
total within rounding where all parts are figures) and dropped; a total without parts is kept as
sex ``"t"`` or age 0-open. Keys must be unique; counts must not be negative.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wandel.errors import (
    DuplicateKeyError,
    InconsistentTotalError,
    InputFormatError,
    MissingColumnError,
)
from wandel.sources._labels import CENSUS_DATES, census_date_in
from wandel.sources.base import LICENCE_DLDE, ImportBatch, SourceMeta
from wandel.sources.genesis_classic.blocks import err as _err
from wandel.tables import TABLES, conform

__all__ = ["NAME", "ClassicTable", "map_table"]

NAME = "genesis-classic"


@dataclass(frozen=True)
class ClassicTable:
    """The parsed layout of one classic table before any mapping to canonical tables.

    ``cube`` holds one row per value cell: its physical ``line`` and 1-based ``column``, the raw
    ``text``, the parsed ``value``/``status``/``flag`` and one column per variable found (``zone``,
    ``year``, ``period``, ``sex``, ``age_start``/``age_end``/``age_total``, ``lt``, ``order``,
    ``text0``...). ``decimal`` is the file's decimal convention.
    """

    file: str
    code: str
    title: tuple[str, ...]
    decimal: str
    cube: pd.DataFrame
    rejected: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    unresolved: InputFormatError | None = None
    """Why a text variable that may name regions matched none (shown if a zone is needed)."""


# --------------------------------------------------------------------------------------------------
# totals, keys and numbers


def _decimals(text: pd.Series, decimal: str) -> pd.Series:
    frac = text.astype(str).str.extract("\\" + decimal + r"(\d+)", expand=False)
    return frac.str.len().fillna(0).astype(int)


def _part_sums(parts: pd.DataFrame, group: list[str], decimal: str) -> pd.DataFrame:
    """Sum, count, completeness and most decimals of the parts of each total's group."""
    pv = parts["value"].where(parts["status"] != "nothing", 0.0)
    agg = pd.DataFrame(
        {"v": pv.fillna(0.0), "ok": pv.notna(), "n": 1, "d": _decimals(parts["text"], decimal)}
    )
    for g in group:
        agg[g] = parts[g].astype(object).where(parts[g].notna(), "<NA>")
    return agg.groupby(group, sort=False, dropna=False).agg(
        v=("v", "sum"), ok=("ok", "all"), n=("n", "sum"), d=("d", "max")
    )


def _drop_totals(
    frame: pd.DataFrame,
    dim: str | tuple[str, ...],
    keys: list[str],
    decimal: str,
    file: str,
    slack_rel: float = 0.0,
) -> tuple[pd.DataFrame, int]:
    """Verify and drop the total rows of dimension ``dim`` (``sex`` or ``age``).

    A total is checked against the sum of its parts where every part is a figure (``-`` counts
    as zero): ``|sum - total| <= 0.5 * 10**-d * (n + 1)`` for values with ``d`` decimals, plus
    ``slack_rel * total`` for parts that the total may legitimately exceed (births of
    indeterminate sex). A total is dropped when parts exist, and kept when it is the only figure.
    """
    dims = (dim,) if isinstance(dim, str) else dim
    tot_cols = [f"{d}_total" for d in dims]
    if any(c not in frame for c in tot_cols):
        return frame, 0
    flags = frame[tot_cols].to_numpy(dtype=bool)
    is_tot = flags.all(axis=1)
    in_parts = ~flags.any(axis=1)  # a grand total's parts are total in none of its dimensions
    parts, totals = frame[in_parts], frame[is_tot]
    if not is_tot.any() or parts.empty:
        return frame, 0
    dim_keys = {k for d in dims for k in _DIM_KEYS[d]}
    group = [k for k in keys if k not in dim_keys]
    tkey = pd.DataFrame(
        {g: totals[g].astype(object).where(totals[g].notna(), "<NA>") for g in group}
    )
    idx = pd.MultiIndex.from_frame(tkey) if len(group) > 1 else pd.Index(tkey[group[0]])
    matched = _part_sums(parts, group, decimal).reindex(idx)
    has_parts = matched["n"].notna().to_numpy()
    tv = totals["value"].where(totals["status"] != "nothing", 0.0).to_numpy(dtype=float)
    s = matched["v"].to_numpy(dtype=float)
    d = np.maximum(
        matched["d"].fillna(0).to_numpy(dtype=float),
        _decimals(totals["text"], decimal).to_numpy(dtype=float),
    )
    tol = 0.5 * 10.0 ** (-d) * (matched["n"].fillna(0).to_numpy(dtype=float) + 1)
    tol = np.where(d == 0, 0.5, tol)
    diff = tv - s
    ok = matched["ok"].fillna(False).to_numpy(dtype=bool) & ~np.isnan(tv)
    fits = (np.abs(diff) <= tol) | ((diff > 0) & (diff <= slack_rel * tv))
    bad = has_parts & ok & ~fits
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        row = totals.iloc[b]
        raise InconsistentTotalError(
            file,
            line=int(row["line"]),
            column=int(row["column"]),
            value=str(row["text"]),
            expected="@sources.expected.sum_of_parts",
            reason="@sources.error.total_contradicts",
            fields={"sum": f"{s[b]:g}", "dim": "@sources.dim." + "_".join(dims)},
        )
    keep_total = ~has_parts  # a total is kept only where no part exists
    out = pd.concat([parts, frame[~is_tot & ~in_parts], totals[keep_total]])
    return out, int((~keep_total).sum())


_DIM_KEYS = {"sex": ("sex",), "age": ("age_start", "age_end")}


def _check_keys(frame: pd.DataFrame, keys: list[str], file: str) -> None:
    dup = frame.duplicated(subset=keys, keep="first")
    if dup.any():
        row = frame[dup].iloc[0]
        shown = {k: (None if pd.isna(row[k]) else row[k]) for k in keys}
        raise DuplicateKeyError(
            file,
            line=int(row["line"]),
            column=int(row["column"]),
            value=str(shown),
            expected="each key once in the table",
            reason="duplicate key",
        )


def _check_counts(frame: pd.DataFrame, file: str) -> None:
    neg = frame["value"].to_numpy(dtype=float) < 0
    if neg.any():
        row = frame[neg].iloc[0]
        raise _err(
            file,
            int(row["line"]),
            int(row["column"]),
            str(row["text"]),
            "a count of zero or more",
            "negative count",
        )


def _need(
    frame: pd.DataFrame,
    names: Sequence[str],
    file: str,
    what: str,
    unresolved: InputFormatError | None = None,
) -> None:
    for name in names:
        if name == "zone" and name not in frame and unresolved is not None:
            raise unresolved
        if name not in frame:
            raise MissingColumnError(
                file,
                expected="@sources.expected.variable_for",
                reason="@sources.error.no_variable",
                fields={"name": name, "what": what},
            )


def _fill(frame: pd.DataFrame, defaults: dict[str, object]) -> pd.DataFrame:
    out = frame.copy()
    for name, val in defaults.items():
        if name not in out:
            out[name] = val
    if "sex_total" not in out:
        out["sex_total"] = False
    if "age_total" not in out:
        out["age_total"] = False
    return out


# --------------------------------------------------------------------------------------------------
# mapping by table code


def _canonical(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Conform ``frame`` to table ``name``, leaving out the reader's working columns."""
    return conform(name, frame[[c for c in TABLES[name].names if c in frame.columns]])


@dataclass(frozen=True)
class _Mapped:
    tables: dict[str, pd.DataFrame]
    rejected: tuple[tuple[str, int], ...]


def _stock_like(
    t: ClassicTable,
    table: str,
    keys: list[str],
    extra: dict[str, object],
    slack_sex: float = 0.0,
    counts: bool = True,
    when: str = "year",
) -> _Mapped:
    f = _fill(t.cube, {"sex": "t", "age_start": 0, "age_end": None, **extra})
    _need(f, ["zone", when], t.file, table, t.unresolved)
    if counts:
        _check_counts(f, t.file)
    _check_keys(f, keys, t.file)  # before the totals: a repeated row would break its total
    f, n_sex = _drop_totals(f, "sex", keys, t.decimal, t.file, slack_sex)
    f, n_age = _drop_totals(f, "age", keys, t.decimal, t.file)
    f, n_both = _drop_totals(f, ("sex", "age"), keys, t.decimal, t.file, slack_sex)
    n_age += n_both
    _check_keys(f, keys, t.file)
    rej = [
        (r, n)
        for r, n in (
            ("sex total verified and dropped", n_sex),
            ("age total verified and dropped", n_age),
        )
        if n
    ]
    return _Mapped({table: _canonical(table, f)}, tuple(rej))


def _population(t: ClassicTable) -> _Mapped:
    return _stock_like(t, "population", ["zone", "year", "sex", "age_start", "age_end"], {})


def _census(t: ClassicTable) -> _Mapped:
    """Census counts (Zensus 2011, 2022; Regionaldatenbank 12111-*, Zensus database 1000A-*) on
    the census reference date: from a date variable, the title, or a census year (2011, 2022)."""
    f = t.cube
    if "reference_date" not in f:
        named = census_date_in(" ".join(t.title))
        if named is not None:
            f = f.assign(reference_date=named)
        elif "year" in f and f["year"].isin(list(CENSUS_DATES)).all():
            f = f.assign(reference_date=f["year"].map(CENSUS_DATES))
    if "reference_date" not in f:
        raise MissingColumnError(
            t.file,
            expected="@sources.expected.census_date",
            reason="@sources.error.no_census_date",
        )
    t2 = ClassicTable(t.file, t.code, t.title, t.decimal, f, t.rejected, t.unresolved)
    keys = ["zone", "reference_date", "sex", "age_start", "age_end"]
    return _stock_like(t2, "census_population", keys, {}, when="reference_date")


def _projection(t: ClassicTable) -> _Mapped:
    f = t.cube.copy()
    texts = [c for c in f.columns if c.startswith("text") and c != "text"]
    if not texts:
        raise MissingColumnError(
            t.file, expected="a projection variant label column", reason="no variant found"
        )
    code = f[texts[0]].astype(str)
    short = (
        f[texts[1]].astype(str).str.extract(r"\(([^()]+)\)\s*$", expand=False)
        if len(texts) > 1
        else None
    )
    f["variant"] = code if short is None else code.where(short.isna(), code + " (" + short + ")")
    f = f.drop(columns=texts)
    t2 = ClassicTable(t.file, t.code, t.title, t.decimal, f, t.rejected)
    m = _stock_like(
        t2, "official_projection", ["zone", "year", "variant", "sex", "age_start", "age_end"], {}
    )
    out = m.tables["official_projection"].copy()
    out["value"] = np.round(out["value"].to_numpy(dtype=float) * 1000.0, 3)  # 1000 -> persons
    return _Mapped({"official_projection": out}, m.rejected)


def _births(t: ClassicTable) -> _Mapped:
    # the total of live births includes births of indeterminate sex (2016-2017): allow 0.01 %
    return _stock_like(
        t, "births", ["zone", "year", "sex", "age_start", "age_end"], {}, slack_sex=1e-4
    )


def _fertility(measure: str) -> Callable[[ClassicTable], _Mapped]:
    def mapper(t: ClassicTable) -> _Mapped:
        f = _fill(t.cube, {"age_start": 0, "age_end": None, "order": ""})
        f["measure"] = measure
        f["category"] = f["order"].fillna("")
        _need(f, ["zone", "year"], t.file, "fertility", t.unresolved)
        keys = ["zone", "year", "measure", "category", "age_start", "age_end"]
        if measure == "births":
            _check_counts(f, t.file)
        _check_keys(f, keys, t.file)
        f, n_age = _drop_totals(f, "age", keys, t.decimal, t.file)
        rej = (("age total verified and dropped", n_age),) if n_age else ()
        return _Mapped({"fertility": _canonical("fertility", f)}, rej)

    return mapper


def _life_tables(t: ClassicTable) -> _Mapped:
    f = _fill(t.cube, {"zone": "DG"})
    _need(f, ["period", "sex", "age_start", "lt"], t.file, "a life table")
    if f["sex_total"].any() or f["age_total"].any():
        row = f[f["sex_total"] | f["age_total"]].iloc[0]
        raise _err(
            t.file,
            int(row["line"]),
            int(row["column"]),
            "Insgesamt",
            "a life table by sex and single age",
        )
    f["age"] = f["age_start"].astype("int64")
    keys = ["zone", "period", "sex", "age", "lt"]
    _check_keys(f, keys, t.file)
    wide = f.pivot(index=["zone", "period", "sex", "age"], columns="lt", values="value")
    wide = wide.reset_index()
    wide["open"] = wide["age"] == wide.groupby(["zone", "period", "sex"])["age"].transform("max")
    for m in ("qx", "px", "lx", "dx", "nLx", "Tx", "ex"):
        if m not in wide:
            wide[m] = np.nan
    qx = wide["qx"].to_numpy(dtype=float)
    bad = (qx < 0) | (qx > 1)
    if bad.any():
        r = wide[bad].iloc[0]
        src = f[(f["period"] == r["period"]) & (f["sex"] == r["sex"]) & (f["age"] == r["age"])]
        raise _err(
            t.file,
            int(src["line"].iloc[0]),
            None,
            float(r["qx"]),
            "a probability of dying q(x) between 0 and 1",
        )
    return _Mapped({"life_tables": _canonical("life_tables", wide)}, ())


_CARE_TYPES = (
    (re.compile(r"^Pflegebedürftige$"), "all"),
    (re.compile(r"eingeschränkter Alltagskompetenz$"), "limited_competence"),
    (re.compile(r"^ambulante Pflege"), "home_care_service"),
    (re.compile(r"Dauerpflege"), "residential_long_term"),
    (re.compile(r"Kurzzeitpflege"), "residential_short_term"),
    (re.compile(r"Pflegeheime.*vollstationär$"), "residential"),
    (re.compile(r"^Pflegegeldempfänger"), "care_allowance_only"),
    (re.compile(r"teilstationäre Pflege"), "day_night_care"),
    (re.compile(r"o\.\s*Pflegest"), "no_care_level_limited_competence"),
)


def _care_type(label: str) -> str:
    return next((c for p, c in _CARE_TYPES if p.search(label)), label)


def _care(t: ClassicTable) -> _Mapped:
    f = t.cube.copy()
    texts = [c for c in f.columns if c.startswith("text") and c != "text"]
    if not texts:
        raise MissingColumnError(
            t.file, expected="care types in the column header", reason="no care type found"
        )
    f["care_type"] = f[texts[0]].astype(str).map(_care_type)
    f = f.drop(columns=texts)
    t2 = ClassicTable(t.file, t.code, t.title, t.decimal, f, t.rejected)
    m = _stock_like(t2, "care", ["zone", "year", "sex", "care_type"], {})
    return m


def _mapper(code: str) -> Callable[[ClassicTable], _Mapped] | None:
    if code.startswith("12411-"):
        return _population
    if code.startswith(("12111-", "1000A-")):
        return _census
    if code == "12421-0002":
        return _projection
    if code == "12612-0001":
        return _births
    fert = {
        "12612-0008": "asfr_per_1000",
        "12612-0009": "tfr",
        "12612-0011": "nrr",
        "12612-0005": "births",
        "12612-0014": "mean_age",
    }
    if code in fert:
        return _fertility(fert[code])
    if code.startswith("12621-0001"):
        return _life_tables
    if code.startswith("22411-02-03-4"):
        return _care
    return None


def map_table(t: ClassicTable) -> ImportBatch:
    """Map a parsed table to canonical tables by its table code."""
    mapper = _mapper(t.code)
    if mapper is None:
        raise _err(
            t.file,
            1,
            1,
            t.code,
            "a supported table: 12411-*, 12111-*, 1000A-*, 12421-0002, 12612-0001/-0005/-0008/-0009/-0011/"
            "-0014, 12621-0001, 22411-02-03-4",
            "unsupported table",
        )
    mapped = mapper(t)
    meta = SourceMeta(
        file=t.file,
        sha256="",
        kind=NAME,
        table_code=t.code,
        title=" ".join(t.title[:2]),
        producer="Statistisches Bundesamt (Destatis) / Statistische Ämter des Bundes und der Länder",
        licence=LICENCE_DLDE,
    )
    return ImportBatch(
        meta=meta,
        tables=mapped.tables,
        rows_read=len(t.cube),
        rejected=t.rejected + mapped.rejected,
    )

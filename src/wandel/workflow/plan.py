"""Planning workflow: read cost matrices, demand and candidates from CSV, solve, write assignments.

A thin layer over :mod:`wandel.planning` for the CLI (``wandel plan ...``) and the demo. Files are the
spreadsheet layouts of the issue:

* cost matrix, long: ``origin,destination,cost`` (one row per pair; ``inf`` marks an unreachable
  pair). Origins are the demand points, destinations the candidate sites;
* demand: ``id,demand`` (optional ``town``), one row per origin of the matrix;
* candidates (cooperation, capacities): ``id`` with ``town`` or ``zone`` (AGS), or ``id,capacity``;
* towns (cooperation): ``zone,town``; an id belongs to the town of the longest ``zone`` that is a
  prefix of it, so ``16073,Saalfeld-Rudolstadt`` labels every Gemeinde ``16073xxx``.

Every problem in a file is raised as :class:`~wandel.errors.InputFormatError` (or a subclass) with
the file, line and column. Missing pairs in the matrix are an error naming the first one unless the
caller says ``missing="unreachable"`` (then they cost ``inf``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.errors import (
    DuplicateKeyError,
    InputFormatError,
    MissingColumnError,
    OptionError,
    UnknownChoiceError,
)
from wandel.planning import (
    GreedyInterchangeSolver,
    HighsSolver,
    LocationModel,
    PlanResult,
    Solver,
    lscp_from_cost_matrix,
    mclp_from_cost_matrix,
    p_median_from_cost_matrix,
    solve,
)
from wandel.planning.cooperation import (
    CooperationResult,
    Money,
    Plans,
    Sites,
    Towns,
    cooperation_gain,
)
from wandel.sources.rdb_tidy import CsvRecords, read_records
from wandel.workflow.access import PopulationSource, Steps, parse_age_groups, quiet
from wandel.workflow.outputs import CSV_SUFFIXES, check_suffix, write_csv

__all__ = [
    "MISSING_POLICIES",
    "MODELS",
    "SOLVERS",
    "CooperationRequest",
    "CooperationRun",
    "CostMatrix",
    "Demand",
    "DemandSpec",
    "MissingPolicy",
    "PlanInputs",
    "PlanRequest",
    "PlanRun",
    "assignment_frame",
    "build_model",
    "cooperate",
    "cooperation",
    "demand_from_population",
    "load_demand",
    "make_solver",
    "plan",
    "read_candidate_towns",
    "read_capacity",
    "read_cost_matrix",
    "read_demand",
    "read_town_mapping",
    "town_of",
]

MissingPolicy = Literal["error", "unreachable"]
ModelName = Literal["pmedian", "mclp", "lscp"]
MODELS: tuple[str, ...] = ("pmedian", "mclp", "lscp")
MISSING_POLICIES: tuple[str, ...] = ("error", "unreachable")
SOLVERS: tuple[str, ...] = ("highs", "heuristic")


@dataclass(frozen=True, eq=False)
class CostMatrix:
    """A dense cost matrix read from a long CSV: ``cost[i, j]`` from ``origins[i]`` to
    ``destinations[j]`` (ids in order of first appearance; ``inf`` = unreachable)."""

    origins: npt.NDArray[np.object_]
    destinations: npt.NDArray[np.object_]
    cost: npt.NDArray[np.float64]
    n_missing: int
    file: str


@dataclass(frozen=True, eq=False)
class Demand:
    """Demand per origin id in the matrix's row order, and the ``town`` labels if the file has them."""

    values: npt.NDArray[np.float64]
    town: npt.NDArray[np.object_] | None


def _column(rec: CsvRecords, name: str, expected: str) -> int:
    if name not in rec.header:
        raise MissingColumnError(
            rec.file, line=1, column=name, reason="missing column", expected=expected
        )
    return rec.header.index(name)


def _cells(rec: CsvRecords, idx: int) -> npt.NDArray[np.object_]:
    return np.array([r[idx].strip() for r in rec.rows], dtype=object)


def _numbers(rec: CsvRecords, idx: int, *, allow_inf: bool, what: str) -> npt.NDArray[np.float64]:
    """Parse a column as non-negative numbers; the first bad cell raises with its line."""
    raw = _cells(rec, idx)
    values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) | (values < 0) | (np.isinf(values) & (not allow_inf))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        reason = (
            "negative value"
            if values[k] < 0
            else ("missing value" if raw[k] == "" else f"not a valid {what}")
        )
        raise InputFormatError(
            rec.file,
            line=rec.lines[k],
            column=rec.header[idx],
            value=raw[k],
            reason=reason,
            expected=f"a non-negative number{' (inf = unreachable)' if allow_inf else ''}",
        )
    return np.asarray(values, dtype=np.float64)


def _first_duplicate(keys: pd.Index) -> int | None:
    dup = keys.duplicated()
    return int(np.flatnonzero(dup)[0]) if dup.any() else None


def read_cost_matrix(path: str | Path, *, missing: MissingPolicy = "error") -> CostMatrix:
    """Read a long cost matrix ``origin,destination,cost`` into a dense array.

    Parameters
    ----------
    path
        CSV file (``,`` or ``;``); the ``cost`` column accepts ``inf`` for unreachable pairs.
    missing
        ``"error"`` (default): a pair of a known origin and destination without a row is an error
        naming the first such pair; ``"unreachable"``: such pairs cost ``inf`` (as written by
        ``wandel access matrix`` with a cut-off, which leaves out unreached pairs).

    Raises
    ------
    MissingColumnError
        A column is missing.
    InputFormatError
        A cost is empty, not a number, NaN or negative (file, line, column and value); a pair is
        missing and ``missing="error"``.
    DuplicateKeyError
        A pair appears twice (the line of the second).
    """
    if missing not in MISSING_POLICIES:
        raise UnknownChoiceError("--missing", missing, MISSING_POLICIES)
    rec = read_records(path)
    expected = "origin,destination,cost"
    io_, id_, ic = (_column(rec, c, expected) for c in ("origin", "destination", "cost"))
    origin = _cells(rec, io_)
    dest = _cells(rec, id_)
    for arr, idx in ((origin, io_), (dest, id_)):
        empty = np.flatnonzero(arr == "")
        if len(empty):
            k = int(empty[0])
            raise InputFormatError(
                rec.file,
                line=rec.lines[k],
                column=rec.header[idx],
                value="",
                reason="empty id",
                expected="an id",
            )
    cost = _numbers(rec, ic, allow_inf=True, what="cost")
    dup = _first_duplicate(pd.MultiIndex.from_arrays([origin, dest]))
    if dup is not None:
        k = dup
        raise DuplicateKeyError(
            rec.file,
            line=rec.lines[k],
            column="origin,destination",
            value=f"{origin[k]},{dest[k]}",
            reason="duplicate pair",
            expected="each origin-destination pair once",
        )
    o_ids, oi = np.unique(origin, return_inverse=True)
    d_ids, di = np.unique(dest, return_inverse=True)
    # keep the order of first appearance
    o_first = np.full(len(o_ids), len(origin))
    np.minimum.at(o_first, oi, np.arange(len(origin)))
    d_first = np.full(len(d_ids), len(dest))
    np.minimum.at(d_first, di, np.arange(len(dest)))
    o_rank = np.argsort(np.argsort(o_first, kind="stable"), kind="stable")
    d_rank = np.argsort(np.argsort(d_first, kind="stable"), kind="stable")
    o_order = o_ids[np.argsort(o_first, kind="stable")]
    d_order = d_ids[np.argsort(d_first, kind="stable")]
    dense = np.full((len(o_ids), len(d_ids)), np.nan)
    dense[o_rank[oi], d_rank[di]] = cost
    gaps = np.isnan(dense)
    n_missing = int(gaps.sum())
    if n_missing and missing != "unreachable":
        i, j = np.argwhere(gaps)[0]
        raise InputFormatError(
            rec.file,
            column="origin,destination",
            value=f"{o_order[i]},{d_order[j]}",
            reason=f"{n_missing} origin-destination pair(s) missing; first",
            expected="a row for every origin x destination pair, or --missing unreachable "
            "to treat missing pairs as unreachable",
        )
    dense[gaps] = np.inf
    return CostMatrix(
        origins=np.asarray(o_order, dtype=object),
        destinations=np.asarray(d_order, dtype=object),
        cost=dense,
        n_missing=n_missing,
        file=rec.file,
    )


def read_demand(path: str | Path, origins: Sequence[Hashable] | npt.ArrayLike) -> Demand:
    """Read ``id,demand`` (optional ``town``) and order it like ``origins`` (the matrix's rows).

    Raises
    ------
    InputFormatError
        Bad numbers; an id not in the matrix (its line); an origin of the matrix without demand.
    DuplicateKeyError
        An id appears twice.
    """
    rec = read_records(path)
    ii = _column(rec, "id", "id,demand")
    iv = _column(rec, "demand", "id,demand")
    ids = _cells(rec, ii)
    values = _numbers(rec, iv, allow_inf=False, what="demand")
    k = _first_duplicate(pd.Index(ids))
    if k is not None:
        raise DuplicateKeyError(
            rec.file,
            line=rec.lines[k],
            column="id",
            value=ids[k],
            reason="duplicate id",
            expected="each id once",
        )
    order = pd.Index(np.asarray(origins, dtype=object).astype(str))
    pos = order.get_indexer(pd.Index(ids))
    unknown = np.flatnonzero(pos < 0)
    if len(unknown):
        k = int(unknown[0])
        raise InputFormatError(
            rec.file,
            line=rec.lines[k],
            column="id",
            value=ids[k],
            reason="id not an origin of the cost matrix",
            expected="the ids of the matrix's origin column",
        )
    lacking = np.setdiff1d(np.arange(len(order)), pos)
    if len(lacking):
        raise InputFormatError(
            rec.file,
            column="id",
            value=str(order[int(lacking[0])]),
            reason=f"{len(lacking)} origin(s) of the cost matrix have no demand; first",
            expected="one row per origin of the matrix",
        )
    out = np.empty(len(order))
    out[pos] = values
    town = None
    if "town" in rec.header:
        t = np.empty(len(order), dtype=object)
        t[pos] = _cells(rec, rec.header.index("town"))
        town = t
    return Demand(values=out, town=town)


def demand_from_population(
    by_zone: pd.DataFrame, origins: Sequence[Hashable] | npt.ArrayLike, source: str, year: int
) -> Demand:
    """Demand per origin: the people of a table by zone and age group (as
    :func:`wandel.workflow.access.population_by_age` gives it), summed over its groups.

    The matrix's origin ids must be the table's zones (AGS). A zone of the matrix that the table
    lacks is an error naming it; zones of the table outside the matrix are ignored.
    """
    per_zone = by_zone.sum(axis=1)
    per_zone.index = per_zone.index.astype(str)
    order = pd.Index(np.asarray(origins, dtype=object).astype(str))
    missing = order.difference(per_zone.index)
    if len(missing):
        raise InputFormatError(
            source,
            column="zone",
            value=str(missing[0]),
            reason="@error.origins_not_in_population",
            expected="@error.origins_as_zones",
            fields={"n": len(missing), "year": year},
        )
    return Demand(values=per_zone.reindex(order).to_numpy(dtype=np.float64), town=None)


@dataclass(frozen=True, eq=False)
class DemandSpec:
    """Where the demand per origin of the matrix comes from.

    Either a file ``id,demand`` (optional ``town``), or the people of the age groups ``ages``
    (``"75+"``, ``"6-9"``; both sexes) in ``year`` from ``population``: a projection CSV the user
    gives, a projection's long table in memory, or (the default) the population in the store.
    """

    file: Path | None = None
    year: int | None = None
    ages: str = "0+"
    population: PopulationSource = field(default_factory=PopulationSource)


def load_demand(spec: DemandSpec, origins: npt.NDArray[np.object_], db: Path) -> Demand:
    """The demand of ``spec`` in the order of ``origins`` (the matrix's rows).

    Raises
    ------
    OptionError
        A demand file together with ``year`` or a projection; a population without ``year``.
    """
    from_people = spec.population.projection_csv is not None or spec.population.table is not None
    if spec.file is not None:
        if from_people:
            raise OptionError("@error.either", first="--demand", second="--projection")
        return read_demand(spec.file, origins)
    if spec.year is None:
        raise OptionError("@error.demand_year")
    groups = parse_age_groups(spec.ages)
    zones = [str(z) for z in origins]
    by_zone = spec.population.by_age(db, zones, spec.year, groups)
    table = by_zone[[g.label for g in groups]]
    return demand_from_population(table, origins, spec.population.label(db), spec.year)


def read_capacity(
    path: str | Path, candidates: Sequence[Hashable] | npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Read ``id,capacity`` for the candidate sites (every candidate needs one; ``inf`` allowed)."""
    rec = read_records(path)
    ids = _cells(rec, _column(rec, "id", "id,capacity"))
    cap = _numbers(rec, _column(rec, "capacity", "id,capacity"), allow_inf=True, what="capacity")
    return _align(rec, ids, cap, candidates, "capacity")


def _align(
    rec: CsvRecords,
    ids: npt.NDArray[np.object_],
    values: npt.NDArray[Any],
    candidates: Sequence[Hashable] | npt.ArrayLike,
    what: str,
) -> npt.NDArray[Any]:
    k = _first_duplicate(pd.Index(ids))
    if k is not None:
        raise DuplicateKeyError(
            rec.file, line=rec.lines[k], column="id", value=ids[k], reason="duplicate id"
        )
    order = pd.Index(np.asarray(candidates, dtype=object).astype(str))
    pos = pd.Index(ids).get_indexer(order)
    if (pos < 0).any():
        missing = order[int(np.flatnonzero(pos < 0)[0])]
        raise InputFormatError(
            rec.file,
            column="id",
            value=str(missing),
            reason=f"candidate of the cost matrix without {what}",
            expected=f"one row per destination of the matrix with its {what}",
        )
    return np.asarray(values[pos])


def read_town_mapping(path: str | Path) -> dict[str, str]:
    """Read ``zone,town`` (AGS or AGS prefix -> town label)."""
    rec = read_records(path)
    zones = _cells(rec, _column(rec, "zone", "zone,town"))
    towns = _cells(rec, _column(rec, "town", "zone,town"))
    k = _first_duplicate(pd.Index(zones))
    if k is not None:
        raise DuplicateKeyError(
            rec.file, line=rec.lines[k], column="zone", value=zones[k], reason="duplicate zone"
        )
    return dict(zip(zones.tolist(), towns.tolist(), strict=True))


def town_of(ids: Sequence[str] | npt.ArrayLike, mapping: Mapping[str, str]) -> list[str | None]:
    """Town of each id: the town of the longest mapping key that is a prefix of the id.

    >>> town_of(["16073077", "14625020", "99"], {"16073": "SLF", "14625020": "Bautzen"})
    ['SLF', 'Bautzen', None]
    """
    keys = sorted(mapping, key=len, reverse=True)
    out: list[str | None] = []
    for i in np.asarray(ids, dtype=object).astype(str).tolist():
        out.append(next((mapping[k] for k in keys if i.startswith(k)), None))
    return out


def read_candidate_towns(
    path: str | Path,
    candidates: Sequence[Hashable] | npt.ArrayLike,
    mapping: Mapping[str, str] | None = None,
) -> npt.NDArray[np.object_]:
    """Town label of every candidate: ``id,town``, or ``id,zone`` mapped through ``mapping``."""
    rec = read_records(path)
    ids = _cells(rec, _column(rec, "id", "id,town (or id,zone with a town mapping)"))
    if "town" in rec.header:
        towns = _cells(rec, rec.header.index("town"))
    elif "zone" in rec.header and mapping is not None:
        zones = _cells(rec, rec.header.index("zone"))
        towns = np.asarray(town_of(zones, mapping), dtype=object)
    else:
        raise MissingColumnError(
            rec.file,
            line=1,
            column="town",
            reason="missing column",
            expected="id,town, or id,zone together with a town mapping (--towns)",
        )
    unlabelled = np.flatnonzero(pd.isna(towns) | (towns == ""))
    if len(unlabelled):
        k = int(unlabelled[0])
        raise InputFormatError(
            rec.file,
            line=rec.lines[k],
            column="town",
            value=ids[k],
            reason="candidate without a town",
            expected="a town label for every candidate",
        )
    return np.asarray(_align(rec, ids, towns, candidates, "town"), dtype=object)


def make_solver(name: str, time_limit_s: float | None = None) -> Solver:
    """``"highs"`` (exact, with the proven gap) or ``"heuristic"`` (greedy + interchange)."""
    if time_limit_s is not None and not time_limit_s > 0:
        raise OptionError("@error.positive", option="--time-limit-s", value=time_limit_s)
    if name == "highs":
        return HighsSolver(time_limit_s=time_limit_s)
    if name == "heuristic":
        return GreedyInterchangeSolver()
    raise UnknownChoiceError("--solver", name, SOLVERS)


def build_model(
    model: ModelName,
    matrix: CostMatrix,
    demand: npt.NDArray[np.float64],
    *,
    p: int | None = None,
    threshold: float | None = None,
    fixed: Sequence[str] = (),
    existing: Sequence[str] = (),
    capacity: npt.NDArray[np.float64] | None = None,
) -> LocationModel:
    """Build the location model of ``model`` (``pmedian``, ``mclp``, ``lscp``) from read inputs."""
    common: dict[str, Any] = {
        "demand_ids": matrix.origins,
        "candidate_ids": matrix.destinations,
        "fixed": list(fixed) or None,
        "existing": list(existing) or None,
        "capacity": capacity,
    }
    if model == "pmedian":
        if p is None:
            raise OptionError("@error.model_needs", model="p-median", options=["--p"])
        return p_median_from_cost_matrix(matrix.cost, demand, p, threshold=threshold, **common)
    if model == "mclp":
        if p is None or threshold is None:
            raise OptionError("@error.model_needs", model="MCLP", options=["--p", "--threshold"])
        return mclp_from_cost_matrix(matrix.cost, demand, p, threshold, **common)
    if model == "lscp":
        if threshold is None:
            raise OptionError("@error.model_needs", model="LSCP", options=["--threshold"])
        return lscp_from_cost_matrix(matrix.cost, threshold, demand, **common)
    raise UnknownChoiceError("--model", model, MODELS)


def assignment_frame(result: PlanResult) -> pd.DataFrame:
    """``demand_id,facility_id,cost`` (plus ``share`` where capacities split a demand point)."""
    a = result.assignment
    cols = ["demand_id", "facility_id", "cost"]
    if (a["share"] < 1).any():
        cols.append("share")
    return a[cols].reset_index(drop=True)


def cooperate(
    model: ModelName,
    matrix: CostMatrix,
    demand: Demand,
    candidate_town: npt.NDArray[np.object_],
    plans: Plans,
    *,
    demand_town: npt.NDArray[np.object_] | None = None,
    fixed: Sequence[str] = (),
    existing: Sequence[str] = (),
    money: Money | None = None,
    solver: Solver | None = None,
) -> CooperationResult:
    """Each town alone vs. joint planning on a read matrix (see
    :func:`wandel.planning.cooperation.cooperation_gain`; ``plans.model`` is replaced by
    ``model``). Demand towns come from ``demand_town`` or the demand file's ``town`` column."""
    towns = demand_town if demand_town is not None else demand.town
    if towns is None:
        raise OptionError("@error.towns_needed")
    missing = [str(i) for i, t in zip(matrix.origins, towns, strict=True) if t is None or t == ""]
    if missing:
        raise OptionError("@error.demand_without_town", n=len(missing), ids=missing[:5])
    if model not in MODELS:
        raise UnknownChoiceError("--model", model, MODELS)
    kind = {"pmedian": "p_median", "mclp": "mclp", "lscp": "lscp"}[model]
    return cooperation_gain(
        matrix.cost,
        demand.values,
        Towns(np.asarray(towns, dtype=object), candidate_town),
        replace(plans, model=kind),  # type: ignore[arg-type]
        sites=Sites(
            demand_ids=matrix.origins,
            candidate_ids=matrix.destinations,
            fixed=list(fixed) or None,
            existing=list(existing) or None,
        ),
        money=money,
        solver=solver,
    )


# ---------------------------------------------------------------------------------------------
# runs: read, solve, write
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInputs:
    """The inputs every plan reads: the cost matrix (with its policy for missing pairs), the
    demand, the solver (``highs`` or ``heuristic``, with a time limit for HiGHS)."""

    matrix: Path
    demand: DemandSpec = field(default_factory=DemandSpec)
    missing: MissingPolicy = "error"
    solver: str = "highs"
    time_limit_s: float | None = None


@dataclass(frozen=True)
class PlanRequest:
    """One location model: ``model`` (``pmedian``, ``mclp``, ``lscp``), ``p``, ``threshold``,
    sites that must stay (``fixed``) or may close (``existing``), capacities (a file
    ``id,capacity``)."""

    model: str
    p: int | None = None
    threshold: float | None = None
    fixed: tuple[str, ...] = ()
    existing: tuple[str, ...] = ()
    capacity: Path | None = None


@dataclass(frozen=True, eq=False)
class PlanRun:
    """The solved plan, the pairs the matrix lacked (counted as unreachable), the file written."""

    result: PlanResult
    n_missing: int
    out: Path


def _read(inputs: PlanInputs, db: Path) -> tuple[Solver, CostMatrix, Demand]:
    slv = make_solver(inputs.solver, inputs.time_limit_s)
    m = read_cost_matrix(inputs.matrix, missing=inputs.missing)
    return slv, m, load_demand(inputs.demand, m.origins, db)


def plan(
    inputs: PlanInputs, request: PlanRequest, db: Path, out: Path, *, steps: Steps = quiet
) -> PlanRun:
    """Read, solve and write the assignment ``demand_id,facility_id,cost`` (``share`` where
    capacities split a demand point) to ``out`` (CSV)."""
    check_suffix("--out", out, CSV_SUFFIXES)
    if request.model not in MODELS:
        raise UnknownChoiceError("--model", request.model, MODELS)
    slv, m, d = _read(inputs, db)
    cap = None if request.capacity is None else read_capacity(request.capacity, m.destinations)
    lm = build_model(
        request.model,  # type: ignore[arg-type]
        m,
        d.values,
        p=request.p,
        threshold=request.threshold,
        fixed=request.fixed,
        existing=request.existing,
        capacity=cap,
    )
    steps("step.solve")
    res = solve(lm, slv)
    write_csv(assignment_frame(res), out)
    return PlanRun(res, m.n_missing, out)


@dataclass(frozen=True)
class CooperationRequest:
    """Each town alone against all jointly: the model and its ``p`` per town (``joint_p`` for the
    joint plan, default the sum), the candidates' towns (``id,town``, or ``id,zone`` with a
    ``towns`` file ``zone,town``), fixed and existing sites, and the money per facility and per
    unit of weighted travel."""

    model: str
    candidates: Path
    towns: Path | None = None
    p: int | None = None
    joint_p: int | None = None
    threshold: float | None = None
    fixed: tuple[str, ...] = ()
    existing: tuple[str, ...] = ()
    money: Money = field(default_factory=Money)


@dataclass(frozen=True, eq=False)
class CooperationRun:
    """The comparison (:class:`~wandel.planning.cooperation.CooperationResult`), the pairs the
    matrix lacked, the file written (rows alone/joint/difference)."""

    result: CooperationResult
    n_missing: int
    out: Path


def cooperation(
    inputs: PlanInputs,
    request: CooperationRequest,
    db: Path,
    out: Path,
    *,
    steps: Steps = quiet,
) -> CooperationRun:
    """Read, plan each town alone and all jointly, write the comparison to ``out`` (CSV)."""
    check_suffix("--out", out, CSV_SUFFIXES)
    if request.model not in MODELS:
        raise UnknownChoiceError("--model", request.model, MODELS)
    slv, m, d = _read(inputs, db)
    mapping = None if request.towns is None else read_town_mapping(request.towns)
    c_town = read_candidate_towns(request.candidates, m.destinations, mapping)
    d_town = None
    if d.town is None and mapping is not None:
        d_town = np.asarray(town_of(m.origins, mapping), dtype=object)
    steps("step.cooperate")
    res = cooperate(
        request.model,  # type: ignore[arg-type]
        m,
        d,
        c_town,
        Plans(p=request.p, threshold=request.threshold, joint_p=request.joint_p),
        demand_town=d_town,
        fixed=request.fixed,
        existing=request.existing,
        money=request.money,
        solver=slv,
    )
    write_csv(res.table.reset_index(names="plan"), out)
    return CooperationRun(res, m.n_missing, out)

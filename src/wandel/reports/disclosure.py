"""Disclosure control of tables of counts, as the statistical offices do it: a count from 1 to 3
is kept secret (primary suppression) and so many other cells too (secondary suppression) that no
secret cell can be worked out from the totals and differences shown beside it.

A table is given as its cells (key -> value) and the linear relations that hold between them
(``{key: coefficient}`` whose weighted sum is zero: ``births - deaths - natural = 0``, or the cells
of a pyramid minus the total). :func:`suppress` returns the keys to keep secret:

* every cell whose value rounds to 1, 2 or 3 (:func:`is_small`: primary suppression);
* then the complementary cells (secondary suppression) that hide the least: of all the sets of
  cells not marked ``keep`` (totals shown elsewhere) that protect every secret small cell, the one
  of the smallest suppressed value (the sum of the hidden values, plus one per cell, so that of
  two sets of the same value the one of fewer cells wins). A secret small cell is protected when
  a reader who knows the shown cells and the relations (counts being >= 0, balances of any sign)
  can only tell that it lies in a range reaching :data:`PROTECTION` (a balance: or as far below
  zero): it is then neither pinned to one value nor known to be small.

The smallest set is found exactly, as the statistical offices' cell suppression does (Fischetti
and Salazar-González, "Models and algorithms for the 2-dimensional cell suppression problem in
statistical disclosure control", Math. Programming 84, 1999): an integer programme over one
binary per cell (hidden or shown) whose constraints are cuts from the reader's linear programme.
For a set of hidden cells, the reader's largest value of a secret cell is a linear programme
whose dual solution is feasible whatever cells are hidden, so it bounds her largest value for
*every* set by a linear function of the binaries; a set that leaves a cell exposed gets that cut,
and the integer programme (HiGHS through :func:`scipy.optimize.milp`) is solved again until its
smallest set protects every cell. Since the cuts only remove unprotecting sets, the last set is
the smallest protecting one. Tables that no relation links are solved one by one.

>>> cells = {"a": 2.0, "b": 40.0, "c": 55.0, "total": 97.0}
>>> sorted(suppress(cells, [{"a": 1, "b": 1, "c": 1, "total": -1}]))
['a', 'b']
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeVar

import highspy
import numpy as np
import scipy.sparse as sp

__all__ = ["PROTECTION", "ROUNDS", "SECRET", "is_small", "suppress", "suppress_greedy"]

SECRET = "."
"""The sign of a secret value in GENESIS tables ("Zahlenwert unbekannt oder geheim zu halten")."""

K = TypeVar("K", bound=Hashable)

ROUNDS = 200
"""How many times the integer programme of :func:`suppress` is solved (each time with the cuts
of the sets before) before the greedy rule (:func:`suppress_greedy`) takes over a table."""


def is_small(value: float | None) -> bool:
    """Whether ``value`` is a count from 1 to 3 once rounded (negative balances count too).

    >>> [is_small(v) for v in (0.4, 0.5, 3.4, 3.5, -2.0, None)]
    [False, True, True, False, True, False]
    """
    return value is not None and 0.5 <= abs(float(value)) < 3.5


PROTECTION = 4.5
"""A secret small count is safe when the cells shown allow it to be this large (or, for a
balance of any sign, this far below zero); since the true value is below 3.5, it is then also
not pinned to one value."""


def _extreme(
    a: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    col_lower: np.ndarray,
    column: int,
    maximize: bool,
) -> float:
    """The largest (or smallest) value of ``column`` with ``lower <= a x <= upper`` and the
    column bounds (HiGHS, a linear programme)."""
    with _SOLVER_LOCK:
        return _solve(_solver(), a, lower, upper, col_lower, column, maximize)


_SOLVER_LOCK = threading.Lock()
_SOLVER: list[Any] = []


def _solver() -> Any:
    """One HiGHS instance for the process (it prints its banner once, when made)."""
    if not _SOLVER:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        _SOLVER.append(h)
    return _SOLVER[0]


def _solve(
    h: Any,
    a: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    col_lower: np.ndarray,
    column: int,
    maximize: bool,
) -> float:
    h.clearModel()
    n_row, n_col = a.shape
    cost = np.zeros(n_col)
    cost[column] = 1.0
    csc = sp.csc_matrix(a)
    csc.sort_indices()
    sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h.passModel(
        n_col,
        n_row,
        int(csc.nnz),
        int(highspy.MatrixFormat.kColwise),
        int(sense),
        0.0,
        cost,
        col_lower,
        np.full(n_col, highspy.kHighsInf),
        lower,
        upper,
        csc.indptr.astype(np.int32),
        csc.indices.astype(np.int32),
        csc.data.astype(np.float64),
        np.zeros(n_col, dtype=np.int32),
    )
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return float(h.getInfo().objective_function_value)
    # unbounded (or, through rounding, no solution at all): nothing to work out
    return np.inf if maximize else -np.inf


def _unsafe(
    cells: Mapping[K, float | None], relations: list[dict[K, float]], secret: set[K], free: set[K]
) -> list[K]:
    """The small secret cells that the shown cells still give away: the largest value that
    agrees with the shown cells and the relations (counts >= 0, the ``free`` cells of any sign)
    is below :data:`PROTECTION` (and, for a balance, so is the distance below zero)."""
    order = sorted(secret, key=repr)
    rows = [r for r in relations if any(k in secret for k in r)]
    if not rows:
        return [k for k in order if is_small(cells[k])]
    a = np.array([[r.get(k, 0.0) for k in order] for r in rows], dtype=float)
    b = np.array(
        [-sum(c * float(cells[k] or 0.0) for k, c in r.items() if k not in secret) for r in rows]
    )
    # the cells are rounded, so a relation may hold only nearly: a reader is granted its true
    # residual (the narrowest she could know it)
    slack = np.array(
        [abs(sum(c * float(cells[k] or 0.0) for k, c in r.items())) + 1e-6 for r in rows]
    )
    col_lower = np.array([-highspy.kHighsInf if k in free else 0.0 for k in order])
    out = []
    for i, k in enumerate(order):
        if not is_small(cells[k]):
            continue
        if _extreme(a, b - slack, b + slack, col_lower, i, True) >= PROTECTION:
            continue
        if k in free and _extreme(a, b - slack, b + slack, col_lower, i, False) <= -PROTECTION:
            continue
        out.append(k)
    return out


def _blocks(
    keys: Iterable[K],
    relations: list[dict[K, float]],
    known: set[K] = frozenset(),  # type: ignore[assignment]
) -> list[tuple[set[K], list[dict[K, float]]]]:
    """The cells split into groups that no relation connects (each is protected on its own).

    A ``known`` cell (shown whatever it holds) is a constant to the reader: it links nothing, so
    two tables that meet only in known cells (the years of a town, linked by totals the fan
    chart shows) are protected one by one; each group then holds the known cells its relations
    name as well."""
    keys = list(keys)
    parent: dict[K, K] = {k: k for k in keys}

    def root(k: K) -> K:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    linked = []
    for r in relations:
        unknown = [k for k in r if k not in known]
        if not unknown:
            continue  # a relation among known cells tells nothing new
        linked.append((r, unknown[0]))
        for k in unknown[1:]:
            parent[root(k)] = root(unknown[0])
    groups: dict[K, tuple[set[K], list[dict[K, float]]]] = {}
    for k in keys:
        if k not in known:
            groups.setdefault(root(k), (set(), []))[0].add(k)
    for r, first in linked:
        block = groups[root(first)]
        block[0].update(k for k in r if k in known)
        block[1].append(r)
    return list(groups.values())


def _greedy_block(
    cells: Mapping[K, float | None],
    relations: list[dict[K, float]],
    secret: set[K],
    keep: set[K],
    free: set[K],
) -> set[K]:
    for _ in range(len(cells) + 1):
        unsafe = _unsafe(cells, relations, secret, free) if relations else []
        if not unsafe:
            return secret
        near = [r for r in relations if any(k in r for k in unsafe)]
        touched = [r for r in relations if any(k in r for k in secret)]
        for rels in (near, touched):
            candidates = {
                k for r in rels for k in r if k not in secret | keep and cells[k] is not None
            }
            if candidates:
                break
        if not candidates:
            return secret
        secret.add(min(candidates, key=lambda k: (abs(float(cells[k] or 0.0)), repr(k))))
    return secret


class _Reader:
    """The reader's linear programme over one table: how far a hidden cell can move from its
    true value, given the shown cells and the relations (each known to within its residual, the
    cells being rounded), counts staying >= 0 and balances of any sign.

    Its variables are the moves up and down of each cell, ``0 <= up_i <= y_i * BIG`` and
    ``0 <= down_i <= y_i * room_i`` (``room``: the value itself for a count, ``BIG`` for a
    balance; ``y_i = 1`` for a hidden cell, 0 for a shown one); the relations bound
    ``M (up - down)`` by the residuals. A finite ``BIG`` only makes the reader weaker than she is
    where no cell could reach it anyway, so the ranges found are never wider than hers."""

    def __init__(
        self,
        order: list[Any],
        values: np.ndarray,
        relations: list[dict[Any, float]],
        free: np.ndarray,
    ) -> None:
        n = len(order)
        index = {k: i for i, k in enumerate(order)}
        m = np.zeros((len(relations), n))
        for j, r in enumerate(relations):
            for k, c in r.items():
                m[j, index[k]] += c
        self.n = n
        self.slack = np.abs(m @ values) + 1e-6
        big = 10.0 * float(np.abs(values).sum()) + 1000.0
        self.up_room = np.full(n, big)
        self.down_room = np.where(free, big, np.maximum(values, 0.0))
        eye = sp.identity(n, format="csr")
        zero = sp.csr_matrix((n, n))
        ms = sp.csr_matrix(m)
        self.a = sp.vstack(
            [sp.hstack([ms, -ms]), sp.hstack([-ms, ms]), sp.hstack([eye, zero]),
             sp.hstack([zero, eye])]
        ).tocsc()  # fmt: skip
        self.n_rel = len(relations)
        self.h: Any = highspy.Highs()  # type: ignore[no-untyped-call]
        self.h.setOptionValue("output_flag", False)
        csc = self.a
        csc.sort_indices()
        n_row = csc.shape[0]
        self.h.passModel(
            2 * n,
            n_row,
            int(csc.nnz),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            np.zeros(2 * n),
            np.zeros(2 * n),
            np.full(2 * n, highspy.kHighsInf),
            np.full(n_row, -highspy.kHighsInf),
            self._rhs(np.zeros(n)),
            csc.indptr.astype(np.int32),
            csc.indices.astype(np.int32),
            csc.data.astype(np.float64),
            np.zeros(2 * n, dtype=np.int32),
        )

    def _rhs(self, y: np.ndarray) -> np.ndarray:
        return np.concatenate([self.slack, self.slack, y * self.up_room, y * self.down_room])

    def move(self, y: np.ndarray, cell: int, upward: bool) -> tuple[float, float, np.ndarray]:
        """How far cell ``cell`` can move up (or down) with the cells ``y`` hidden, and the cut:
        ``(move, const, coef)`` with ``move(y') <= const + coef @ y'`` for every ``y'``, equal
        at ``y`` (weak duality: the dual solution stays feasible for every ``y'``)."""
        n = self.n
        cost = np.zeros(2 * n)
        cost[cell], cost[n + cell] = (-1.0, 1.0) if upward else (1.0, -1.0)
        h = self.h
        h.changeColsCost(2 * n, np.arange(2 * n, dtype=np.int32), cost)
        n_row = self.a.shape[0]
        h.changeRowsBounds(
            n_row,
            np.arange(n_row, dtype=np.int32),
            np.full(n_row, -highspy.kHighsInf),
            self._rhs(y),
        )
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:  # pragma: no cover
            raise RuntimeError("the reader's linear programme has no optimum")
        best = -float(h.getInfo().objective_function_value)
        dual = -np.minimum(np.asarray(h.getSolution().row_dual, dtype=float), 0.0)
        k = self.n_rel
        const = float(dual[:k] @ self.slack + dual[k : 2 * k] @ self.slack)
        coef = dual[2 * k : 2 * k + n] * self.up_room + dual[2 * k + n :] * self.down_room
        return best, const, coef


def _optimal_block(
    cells: Mapping[K, float | None],
    relations: list[dict[K, float]],
    secret: set[K],
    keep: set[K],
    free: set[K],
    rounds: int = ROUNDS,
) -> set[K] | None:
    """The smallest protecting set of one linked table (see the module's description); ``None``
    where the cut loop does not settle within ``rounds`` integer programmes (then the caller
    falls back on the greedy rule)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    order = sorted(cells, key=repr)
    values = np.array([float(cells[k] or 0.0) for k in order])
    signed = np.array([k in free or values[i] < 0 for i, k in enumerate(order)])
    reader = _Reader(order, values, relations, signed)
    n = len(order)
    primary = np.array([k in secret for k in order])
    fixed = np.array([(k in keep or cells[k] is None) and k not in secret for k in order])
    need_up = PROTECTION - values
    need_down = PROTECTION + values
    # the cells no set can protect (every hideable cell hidden, still exposed) stay secret with
    # no claim on the others
    widest = np.where(fixed, 0.0, 1.0)
    targets: list[int] = []
    for cell in np.flatnonzero(primary).tolist():
        if not is_small(values[cell]):
            continue
        up = reader.move(widest, cell, True)[0] >= need_up[cell] - 1e-7
        down = signed[cell] and reader.move(widest, cell, False)[0] >= need_down[cell] - 1e-7
        if up or down:
            targets.append(cell)
    z_of = {i: n + j for j, i in enumerate(t for t in targets if signed[t])}
    n_var = n + len(z_of)
    weight = np.concatenate([np.abs(values) + 1.0, np.zeros(len(z_of))])
    lower = np.concatenate([primary.astype(float), np.zeros(len(z_of))])
    upper = np.concatenate([np.where(fixed, 0.0, 1.0), np.ones(len(z_of))])
    rows: list[np.ndarray] = []
    lows: list[float] = []
    y = primary.astype(float)
    for done in range(rounds + 1):
        exposed = False
        for i in targets:
            best, const, coef = reader.move(y, i, True)
            if best >= need_up[i] - 1e-7:
                continue
            if i in z_of:
                down, d_const, d_coef = reader.move(y, i, False)
                if down >= need_down[i] - 1e-7:
                    continue
                # z = 1: protected upwards; z = 0: downwards
                row = np.zeros(n_var)
                row[:n], row[z_of[i]] = coef, -need_up[i]
                rows.append(row)
                lows.append(-const)
                row = np.zeros(n_var)
                row[:n], row[z_of[i]] = d_coef, need_down[i]
                rows.append(row)
                lows.append(need_down[i] - d_const)
            else:
                row = np.zeros(n_var)
                row[:n] = coef
                rows.append(row)
                lows.append(need_up[i] - const)
            exposed = True
        if not exposed:
            return {k for k, hidden in zip(order, y, strict=True) if hidden > 0.5}
        if done == rounds:
            return None  # the cut loop has not settled: the greedy rule
        res = milp(
            weight,
            integrality=np.ones(n_var),
            bounds=Bounds(lower, upper),
            constraints=[LinearConstraint(np.array(rows), np.array(lows), np.inf)],
        )
        if res.x is None:  # pragma: no cover - the widest set protects every target
            return None
        y = np.round(res.x[:n])
    return None  # pragma: no cover - the last round returns above


def suppress_greedy(
    cells: Mapping[K, float | None],
    relations: Iterable[Mapping[K, float]] = (),
    keep: Iterable[K] = (),
    free: Iterable[K] = (),
) -> set[K]:
    """The earlier rule, kept to compare with (and to fall back on): while a secret small cell is
    exposed, hide the smallest shown cell of a relation through which it is exposed. Protects,
    but often hides far more than :func:`suppress`."""
    return _suppress(cells, relations, keep, free, optimal=False, rounds=0)


def suppress(
    cells: Mapping[K, float | None],
    relations: Iterable[Mapping[K, float]] = (),
    keep: Iterable[K] = (),
    free: Iterable[K] = (),
    rounds: int = ROUNDS,
    hidden: Iterable[K] = (),
) -> set[K]:
    """The keys of ``cells`` to keep secret (see the module's description); ``keep``: cells that
    stay shown whatever they hold (totals shown elsewhere on the page: known to every reader, so
    never secret, not even a small one; leave a total out of ``keep`` to have it kept secret when
    it is small); ``free``: cells that may be negative (balances); ``rounds``: the integer
    programmes solved for a table before the greedy rule takes it over (:data:`ROUNDS`);
    ``hidden``: cells never shown (the finest pieces that two tables of different age groups
    share, through which a difference of two shown cells could give away a small count): secret
    from the start and, if small, protected like any small shown cell.

    >>> cells = {"0-5": 10.0, "0-6": 12.0, "5": 1.0, "6-9": 1.0}
    >>> rel = [{"0-5": 1, "5": 1, "0-6": -1}]
    >>> sorted(suppress(cells, rel, hidden=["5"]))  # 0-6 minus 0-5 would give the 1-year-old
    ['0-5', '5', '6-9']
    """
    return _suppress(cells, relations, keep, free, optimal=True, rounds=rounds, hidden=hidden)


def _suppress(
    cells: Mapping[K, float | None],
    relations: Iterable[Mapping[K, float]],
    keep: Iterable[K],
    free: Iterable[K],
    optimal: bool,
    rounds: int,
    hidden: Iterable[K] = (),
) -> set[K]:
    rels = [dict(r) for r in relations if r and all(k in cells for k in r)]
    keep_set, signed, unseen = set(keep), set(free), set(hidden)
    known = {k for k in keep_set if cells.get(k) is not None} - unseen
    out: set[K] = set()
    for keys, block_rels in _blocks(cells, rels, known):
        block = {k: cells[k] for k in keys}
        # a kept cell is shown whatever it is: the reader knows it, there is nothing to protect
        secret = {k for k in keys if is_small(cells[k]) and k not in keep_set} | (keys & unseen)
        if not block_rels or not any(is_small(cells[k]) for k in secret):
            out |= secret  # nothing small to protect (or nothing to work it out from)
            continue
        best = (
            _optimal_block(block, block_rels, secret, keep_set, signed, rounds) if optimal else None
        )
        out |= (
            best if best is not None else _greedy_block(block, block_rels, secret, keep_set, signed)
        )
    return out

"""Disclosure control of tables of counts, as the statistical offices do it: a count from 1 to 3
is kept secret (primary suppression) and so many other cells too (secondary suppression) that no
secret cell can be worked out from the totals and differences shown beside it.

A table is given as its cells (key -> value) and the linear relations that hold between them
(``{key: coefficient}`` whose weighted sum is zero: ``births - deaths - natural = 0``, or the cells
of a pyramid minus the total). :func:`suppress` returns the keys to keep secret:

* every cell whose value rounds to 1, 2 or 3 (:func:`is_small`);
* then, while a reader could still work out that a secret small cell is small (the largest value
  that agrees with the shown cells and the relations, counts being >= 0, is below
  :data:`PROTECTION`, found by linear programming) or pin it to one value, one more cell of a
  relation through which it is exposed (else of any relation of a secret cell): the smallest shown
  one that is not marked ``keep`` (totals shown elsewhere).

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

__all__ = ["SECRET", "is_small", "suppress"]

SECRET = "."
"""The sign of a secret value in GENESIS tables ("Zahlenwert unbekannt oder geheim zu halten")."""

K = TypeVar("K", bound=Hashable)


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
    keys: Iterable[K], relations: list[dict[K, float]]
) -> list[tuple[set[K], list[dict[K, float]]]]:
    """The cells split into groups that no relation connects (each is protected on its own)."""
    parent: dict[K, K] = {k: k for k in keys}

    def root(k: K) -> K:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for r in relations:
        first, *rest = list(r)
        for k in rest:
            parent[root(k)] = root(first)
    groups: dict[K, tuple[set[K], list[dict[K, float]]]] = {}
    for k in parent:
        groups.setdefault(root(k), (set(), []))[0].add(k)
    for r in relations:
        groups[root(next(iter(r)))][1].append(r)
    return list(groups.values())


def _protect_block(
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


def suppress(
    cells: Mapping[K, float | None],
    relations: Iterable[Mapping[K, float]] = (),
    keep: Iterable[K] = (),
    free: Iterable[K] = (),
) -> set[K]:
    """The keys of ``cells`` to keep secret (see the module's description); ``keep``: cells that
    stay shown whatever happens (totals shown elsewhere on the page); ``free``: cells that may be
    negative (balances)."""
    rels = [dict(r) for r in relations if r and all(k in cells for k in r)]
    keep_set, signed = set(keep), set(free)
    out: set[K] = set()
    for keys, block_rels in _blocks(cells, rels):
        block = {k: cells[k] for k in keys}
        secret = {k for k in keys if is_small(cells[k])}
        if secret:
            out |= _protect_block(block, block_rels, secret, keep_set, signed)
    return out

"""Lagrangian bound and safe site fixing for the uncapacitated p-median.

Relaxing the assignment constraints :math:`\\sum_j x_{ij} = 1` of the classic formulation with
multipliers :math:`\\lambda_i` gives (Cornuéjols, Fisher & Nemhauser 1977; Beasley 1993)

.. math::

    L(\\lambda) = \\sum_i \\lambda_i + \\min_{|S| = p,\\ S \\supseteq F} \\sum_{j \\in S} \\rho_j,
    \\qquad \\rho_j = \\sum_i \\min(0,\\ w_i c_{ij} - \\lambda_i)

a lower bound on the optimum for every :math:`\\lambda`, raised by deflected subgradient steps
(Polyak step towards the upper bound, direction averaged with the previous one) from
:math:`\\lambda_i` = the weighted cost to the second nearest site. :math:`\\lambda_i` is kept at
most the ``k``-th smallest :math:`w_i c_{ij}`, so only the ``k`` nearest sites of each point enter
:math:`\\rho` (still a valid bound for any such :math:`\\lambda`).

With an upper bound :math:`U` from a feasible plan, a site whose forced opening lifts the bound above
:math:`U` (:math:`L + \\rho_j - \\max_{k \\in S} \\rho_k > U`) is closed in every optimal plan, and a
site whose forced closing does (:math:`L - \\rho_j + \\min_{k \\notin S} \\rho_k > U`) is open in
every optimal plan. The exact MIP then runs on the remaining sites only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wandel.planning._model import BoolArray, FloatArray

__all__ = ["LagrangianFix", "lagrangian_fix"]


@dataclass(frozen=True)
class LagrangianFix:
    """Best Lagrangian lower bound and the sites it fixes closed / open."""

    bound: float
    closed: BoolArray
    opened: BoolArray
    plan: BoolArray  # the sites of the best Lagrangian subproblem, a start for a heuristic


def _select(rho: FloatArray, p: int, fixed: BoolArray) -> BoolArray:
    sel = fixed.copy()
    free = np.flatnonzero(~fixed)
    k = p - int(fixed.sum())
    if k > 0:
        sel[free[np.argsort(rho[free], kind="stable")[:k]]] = True
    return sel


def lagrangian_fix(
    wc: FloatArray,
    p: int,
    fixed: BoolArray,
    upper: float,
    max_iter: int = 3000,
    k: int = 24,
) -> LagrangianFix:
    """Subgradient optimisation of :math:`L(\\lambda)` and the resulting site fixing.

    Parameters
    ----------
    wc
        ``(n, m)`` weighted costs :math:`w_i c_{ij}` (finite).
    p, fixed
        Number of sites and the mask of sites fixed open.
    upper
        Objective of a feasible plan.
    max_iter, k
        Iteration limit; number of nearest sites per point that may price into :math:`\\rho`.
    """
    n, m = wc.shape
    k = min(k, m)
    near = np.argpartition(wc, k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (n, 1))
    wck = np.take_along_axis(wc, near, axis=1)
    srt = np.sort(wck, axis=1)
    lam_max = srt[:, -1]
    lam = srt[:, min(1, k - 1)].copy()
    flat = near.ravel()
    best, best_lam = -np.inf, lam.copy()
    mu, stall = 1.0, 0
    direction = np.zeros(n)
    tol = 1e-9 * max(abs(upper), 1.0)
    for _ in range(max_iter):
        a = np.minimum(wck - lam[:, None], 0.0)
        rho = np.bincount(flat, weights=a.ravel(), minlength=m).astype(np.float64)
        sel = _select(rho, p, fixed)
        value = float(lam.sum() + rho[sel].sum())
        if value > best + tol:
            best, best_lam, stall = value, lam.copy(), 0
        else:
            stall += 1
            if stall >= 30:
                mu, stall = mu / 2, 0
        if best >= upper - tol or mu < 1e-5:
            break
        g = 1.0 - ((a < 0) & sel[near]).sum(axis=1)
        direction = g + 0.5 * direction
        norm = float(direction @ direction)
        if norm == 0:
            break
        lam = np.minimum(lam + mu * (upper - value) / norm * direction, lam_max)
    rho = np.bincount(
        flat, weights=np.minimum(wck - best_lam[:, None], 0.0).ravel(), minlength=m
    ).astype(np.float64)
    sel = _select(rho, p, fixed)
    free_sel, free_out = sel & ~fixed, ~sel & ~fixed
    closed = np.zeros(m, dtype=bool)
    opened = np.zeros(m, dtype=bool)
    if free_sel.any():
        closed = free_out & (best + rho - float(rho[free_sel].max()) > upper + tol)
    if free_out.any():
        opened = free_sel & (best - rho + float(rho[free_out].min()) > upper + tol)
    return LagrangianFix(bound=best, closed=closed, opened=opened, plan=sel)

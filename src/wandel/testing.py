"""Assertions that users' own checks can share (the way ``geopandas.testing`` ships its helpers).

Each raises ``AssertionError`` with a message that names the first offending cell. They check the
invariants every Wandel output must satisfy: the balancing equation of a projection, no negative
population, totals conserved by a harmonisation or graduation, and the life-table identities.

>>> import numpy as np
>>> from wandel.demography.lifetable import life_table_from_qx
>>> qx = np.r_[np.full(100, 0.01), 0.5]
>>> assert_life_table(life_table_from_qx(qx))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from wandel.demography.engine import Projection
from wandel.demography.lifetable import LifeTable

__all__ = [
    "assert_balancing",
    "assert_life_table",
    "assert_no_negative_population",
    "assert_totals_conserved",
]


def assert_balancing(projection: Projection, rtol: float = 1e-9) -> None:
    """``P(t+1) = P(t) + B - D + I - O (+ control adjustment)`` for every zone, sex, year and draw."""
    res = projection.balance_residual()
    scale = np.maximum(projection.population.sum("age").isel(year=slice(1, None)).values, 1.0)
    rel = np.abs(res.values) / scale
    if rel.size and float(rel.max()) > rtol:
        idx = np.unravel_index(int(np.argmax(rel)), rel.shape)
        where = {d: res[d].values[i] for d, i in zip(res.dims, idx, strict=True)}
        raise AssertionError(f"balancing equation off by {float(res.values[idx]):.6g} at {where}")


def assert_no_negative_population(projection: Projection) -> None:
    """No cell of the projected population is negative (or NaN)."""
    pop = projection.population.values
    bad = ~(pop >= 0)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), pop.shape)
        where = {
            d: projection.population[d].values[i]
            for d, i in zip(projection.population.dims, idx, strict=True)
        }
        raise AssertionError(f"population {pop[idx]!r} at {where}")


def assert_totals_conserved(
    before: pd.DataFrame,
    after: pd.DataFrame,
    by: Sequence[str] = ("year", "sex", "age_start", "age_end"),
    rtol: float = 1e-9,
) -> None:
    """The sums of ``value`` over zones agree for each ``by`` group (e.g. harmonisation to another
    territorial status, or graduation to single ages with ``by=("year", "sex")``)."""
    keys = list(by)
    b = before.groupby(keys, dropna=False)["value"].sum()
    a = after.groupby(keys, dropna=False)["value"].sum()
    both = pd.concat([b.rename("before"), a.rename("after")], axis=1).fillna(0.0)
    diff = (both["after"] - both["before"]).abs()
    tol = rtol * np.maximum(both["before"].abs(), 1.0)
    bad = diff > tol
    if bad.any():
        first = both[bad.to_numpy()]
        key, row = first.index[0], first.iloc[0]
        raise AssertionError(
            f"total at {dict(zip(keys, np.atleast_1d(key), strict=False))}: "
            f"{row['before']!r} before, {row['after']!r} after"
        )


def assert_life_table(lt: LifeTable, rtol: float = 1e-9) -> None:
    """``0 <= qx <= 1``, ``lx`` not increasing, ``dx = lx - lx+1``, ``Tx`` = reversed cumulative sum
    of ``Lx``, ``ex = Tx / lx``."""
    if not ((lt.qx >= 0) & (lt.qx <= 1)).all():
        raise AssertionError("qx outside [0, 1]")
    if (np.diff(lt.lx, axis=-1) > rtol * lt.radix).any():
        raise AssertionError("lx increases with age")
    lx_next = np.concatenate([lt.lx[..., 1:], np.zeros_like(lt.lx[..., :1])], axis=-1)
    np.testing.assert_allclose(lt.dx, lt.lx - lx_next, rtol=rtol, atol=rtol * lt.radix)
    tx = np.flip(np.cumsum(np.flip(lt.Lx, axis=-1), axis=-1), axis=-1)
    np.testing.assert_allclose(lt.Tx, tx, rtol=rtol, atol=rtol * lt.radix)
    ok = lt.lx > 0
    np.testing.assert_allclose(lt.ex[ok], (lt.Tx / np.where(ok, lt.lx, 1.0))[ok], rtol=rtol)

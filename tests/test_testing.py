"""The shipped assertions in ``wandel.testing`` pass on real outputs and fail on broken ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wandel.demography.engine import Projection, ProjectionRates, project
from wandel.demography.lifetable import life_table_from_qx
from wandel.testing import (
    assert_balancing,
    assert_life_table,
    assert_no_negative_population,
    assert_totals_conserved,
)

A = 101


def _projection() -> Projection:
    zones = ["15087220", "15087130"]
    rng = np.random.default_rng(5)
    pop = xr.DataArray(
        rng.uniform(50, 150, (2, 2, A)),
        dims=("zone", "sex", "age"),
        coords={"zone": zones, "sex": ["m", "f"], "age": np.arange(A)},
    )
    like = xr.zeros_like(pop)
    rates = ProjectionRates(
        sx=like + 0.985,
        birth_survival=xr.DataArray(
            np.full((2, 2), 0.996), dims=("zone", "sex"), coords={"zone": zones, "sex": ["m", "f"]}
        ),
        asfr=xr.DataArray(
            np.full((2, 35), 0.04),
            dims=("zone", "age"),
            coords={"zone": zones, "age": np.arange(15, 50)},
        ),
        out_rate=like + 0.02,
        in_count=like + 1.0,
    )
    return project(pop, rates, base_year=2019, horizon=5)


def test_projection_passes_and_broken_projection_fails() -> None:
    res = _projection()
    assert_balancing(res)
    assert_no_negative_population(res)
    broken = dataclasses.replace(res, births=res.births + 1.0)
    with pytest.raises(AssertionError, match="balancing equation"):
        assert_balancing(broken)
    neg = dataclasses.replace(res, population=res.population.where(res.population.age != 50, -1.0))
    with pytest.raises(AssertionError, match=r"-1\.0"):
        assert_no_negative_population(neg)


def test_life_table_checks() -> None:
    lt = life_table_from_qx(np.r_[np.full(100, 0.02), 0.6])
    assert_life_table(lt)
    with pytest.raises(AssertionError):
        assert_life_table(dataclasses.replace(lt, ex=lt.ex * 1.01))


def test_totals_conserved() -> None:
    before = pd.DataFrame(
        {"zone": ["1", "2", "3"], "year": [2009] * 3, "sex": ["t"] * 3, "age_start": [0] * 3,
         "age_end": [None] * 3, "value": [10.0, 20.0, 5.0]}
    )  # fmt: skip
    merged = before.assign(zone=["1", "1", "3"])  # 2 absorbed into 1: totals unchanged
    assert_totals_conserved(before, merged)
    with pytest.raises(AssertionError, match=r"35\.0"):
        assert_totals_conserved(before, merged.iloc[:2])

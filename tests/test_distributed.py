"""Draws in chunks: builtin map and a real dask.distributed LocalCluster give the unchunked numbers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from wandel.demography.engine import ProjectionRates, StochasticSpec, project
from wandel.demography.engine.distributed import builtin_map, chunk_draws, dask_map, project_draws

A = 101
NAMES = ("population", "births", "deaths", "in_migration", "out_migration", "levels")


def _problem() -> tuple[xr.DataArray, ProjectionRates, StochasticSpec]:
    rng = np.random.default_rng(0)
    zones = ["14625020", "14625240", "14625330"]
    coords = {"zone": zones, "sex": ["m", "f"], "age": np.arange(A)}
    d3 = ("zone", "sex", "age")
    pop = xr.DataArray(rng.uniform(0, 100, (3, 2, A)), dims=d3, coords=coords)
    asfr = np.zeros((3, A))
    asfr[:, 15:50] = 0.04
    rates = ProjectionRates(
        sx=xr.DataArray(rng.uniform(0.9, 1.0, (3, 2, A)), dims=d3, coords=coords),
        birth_survival=xr.DataArray(
            np.full((3, 2), 0.997), dims=("zone", "sex"), coords={"zone": zones, "sex": ["m", "f"]}
        ),
        asfr=xr.DataArray(asfr, dims=("zone", "age"), coords={"zone": zones, "age": np.arange(A)}),
        out_rate=xr.DataArray(rng.uniform(0, 0.1, (3, 2, A)), dims=d3, coords=coords),
        in_count=xr.DataArray(rng.uniform(0, 3, (3, 2, A)), dims=d3, coords=coords),
    )
    spec = StochasticSpec(
        draws=7,
        seed=99,
        sigma_fertility=0.1,
        sigma_mortality=0.2,
        sigma_in_migration=0.3,
        sigma_out_migration=0.2,
        ar=0.8,
    )
    return pop, rates, spec


def _equal(a: object, b: object) -> None:
    for name in NAMES:
        np.testing.assert_array_equal(getattr(a, name).values, getattr(b, name).values)


def test_chunks() -> None:
    assert chunk_draws(7, 3) == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError, match="chunk_size"):
        chunk_draws(3, 0)


def test_builtin_map_chunks_equal_unchunked() -> None:
    pop, rates, spec = _problem()
    full = project(pop, rates, base_year=2022, horizon=4, stochastic=spec)
    chunked = project_draws(
        pop, rates, base_year=2022, horizon=4, spec=spec, chunk_size=3, mapper=builtin_map
    )
    _equal(full, chunked)
    for name in NAMES:  # dims, coordinates and names too, as xr.concat would give them
        xr.testing.assert_identical(getattr(chunked, name), getattr(full, name))
    assert chunked.population["draw"].values.tolist() == list(range(7))
    # the draws differ from each other (the levels vary)
    assert not np.array_equal(full.population.isel(draw=0), full.population.isel(draw=1))


def test_dask_local_cluster_equals_in_process() -> None:
    import distributed  # a dependency (dask[distributed]): a missing one must fail, not skip

    pop, rates, spec = _problem()
    full = project(pop, rates, base_year=2022, horizon=4, stochastic=spec)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        res = project_draws(
            pop, rates, base_year=2022, horizon=4, spec=spec, chunk_size=2, mapper=dask_map(client)
        )
    _equal(full, res)
    for name in NAMES:
        xr.testing.assert_identical(getattr(res, name), getattr(full, name))


def test_dask_shared_memory_and_network_paths_give_the_same_bytes() -> None:
    """Workers on this machine leave their chunks in shared memory (the chunks arrive as mappings
    and no file is left behind); with ``shared_memory=False`` they travel over the network. Both
    give the in-process numbers bit for bit, dims, coordinates and names included."""
    import mmap
    from functools import partial
    from pathlib import Path

    import distributed

    from wandel.demography.engine.distributed import _run_chunk

    def leftovers() -> set[str]:
        return {p.name for p in Path("/dev/shm").glob("wandel-draws-*")}

    pop, rates, spec = _problem()
    full = project(pop, rates, base_year=2022, horizon=4, stochastic=spec)
    before = leftovers()
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        fn = partial(
            _run_chunk,
            population=pop,
            rates=rates,
            base_year=2022,
            horizon=4,
            spec=spec,
            control=None,
            threads=None,
            age_breaks=None,
        )
        chunks = chunk_draws(spec.draws, 3)
        mapped = list(dask_map(client)(fn, chunks))
        assert len(mapped) == len(chunks)
        for part, ids in zip(mapped, chunks, strict=True):
            base = part.population.values
            while isinstance(base, np.ndarray) and base.base is not None:
                base = base.base
            assert isinstance(base, mmap.mmap)  # the chunk came through shared memory
            local = project(pop, rates, base_year=2022, horizon=4, stochastic=spec, draw_ids=ids)
            for name in NAMES:
                xr.testing.assert_identical(getattr(part, name), getattr(local, name))
        assert leftovers() == before
        for shared in (True, False):
            res = project_draws(
                pop,
                rates,
                base_year=2022,
                horizon=4,
                spec=spec,
                chunk_size=2,
                mapper=dask_map(client, shared_memory=shared),
            )
            _equal(full, res)
            for name in NAMES:
                xr.testing.assert_identical(getattr(res, name), getattr(full, name))
    assert leftovers() == before

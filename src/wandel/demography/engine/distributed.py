"""Stochastic projections in chunks of draws, on any map: the builtin one or a Dask cluster's.

Each draw's random stream is derived from ``(seed, draw id)`` (see
:func:`wandel.demography.engine.draw_levels`) and the kernel computes every draw independently, so the
chunks joined along ``draw`` equal the unchunked run bit for bit, whatever the chunk size or the
machine that ran a chunk.

>>> import numpy as np, xarray as xr
>>> from wandel.demography.engine import ProjectionRates, StochasticSpec
>>> z = xr.DataArray(np.full((1, 2, 101), 10.0), dims=("zone", "sex", "age"),
...                  coords={"zone": ["1"], "sex": ["m", "f"], "age": np.arange(101)})
>>> rates = ProjectionRates(sx=z * 0 + 0.99, birth_survival=z.isel(age=0, drop=True) * 0 + 1,
...                         asfr=z.sel(sex="f", drop=True) * 0 + 0.01, out_rate=z * 0,
...                         in_count=z * 0)
>>> spec = StochasticSpec(draws=5, seed=1, sigma_fertility=0.1)
>>> res = project_draws(z, rates, base_year=2024, horizon=3, spec=spec, chunk_size=2)
>>> res.population.sizes["draw"]
5
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np
import xarray as xr

from wandel.demography.engine import Control, Projection, ProjectionRates, StochasticSpec, project

__all__ = ["Mapper", "builtin_map", "chunk_draws", "dask_map", "project_draws"]

Mapper = Callable[
    [Callable[[Sequence[int]], Projection], Sequence[Sequence[int]]], Iterable[Projection]
]
"""A map: applies a function to every chunk of draw ids and returns the results in order."""


def builtin_map(
    fn: Callable[[Sequence[int]], Projection], chunks: Sequence[Sequence[int]]
) -> list[Projection]:
    """Run the chunks one after another in this process."""
    return [fn(c) for c in chunks]


def _apply(fn: Callable[[Sequence[int]], Projection], chunk: Sequence[int]) -> Projection:
    """Run one chunk on a worker with as many compiled-kernel threads as the worker has threads.

    (Without this every worker process would start one kernel thread per CPU of the machine.)
    """
    import numba
    from distributed import get_worker

    k = max(1, min(int(get_worker().state.nthreads), numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    old = numba.get_num_threads()
    numba.set_num_threads(k)
    try:
        return fn(chunk)
    finally:
        numba.set_num_threads(old)


def dask_map(client: Any) -> Mapper:
    """A map that runs each chunk as a task on a ``dask.distributed.Client``, results in order.

    The function (with the inputs bound to it) is scattered to every worker once; the tasks
    carry only a reference to it and their chunk of draw ids. Results are fetched one at a time,
    in order, while the later chunks are still computing, and released once fetched.
    """

    def run(
        fn: Callable[[Sequence[int]], Projection], chunks: Sequence[Sequence[int]]
    ) -> Iterator[Projection]:
        chunks = list(chunks)
        if not chunks:
            return
        shared = client.scatter(fn, broadcast=True, hash=False)
        futures = client.map(_apply, [shared] * len(chunks), chunks, pure=False)
        try:
            for k, future in enumerate(futures):
                yield future.result()
                futures[k] = None
                future.release()
        finally:
            client.cancel([shared, *(f for f in futures if f is not None)])

    return run


def chunk_draws(n_draws: int, chunk_size: int) -> list[list[int]]:
    """Draw ids ``0..n_draws-1`` cut into consecutive chunks of at most ``chunk_size``.

    >>> chunk_draws(5, 2)
    [[0, 1], [2, 3], [4]]
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    return [list(range(a, min(a + chunk_size, n_draws))) for a in range(0, n_draws, chunk_size)]


def _run_chunk(
    draw_ids: Sequence[int],
    population: xr.DataArray,
    rates: ProjectionRates,
    base_year: int,
    horizon: int,
    spec: StochasticSpec,
    control: Control | None,
    threads: int | None,
    age_breaks: Sequence[int] | None,
    dtype: type[np.floating[Any]] = np.float64,
) -> Projection:
    return project(
        population,
        rates,
        base_year=base_year,
        horizon=horizon,
        stochastic=spec,
        draw_ids=draw_ids,
        control=control,
        threads=threads,
        age_breaks=age_breaks,
        dtype=dtype,
    )


def project_draws(
    population: xr.DataArray,
    rates: ProjectionRates,
    *,
    base_year: int,
    horizon: int,
    spec: StochasticSpec,
    chunk_size: int = 100,
    mapper: Mapper = builtin_map,
    control: Control | None = None,
    threads: int | None = None,
    age_breaks: Sequence[int] | None = None,
    dtype: type[np.floating[Any]] = np.float64,
) -> Projection:
    """Project all ``spec.draws`` draws in chunks of ``chunk_size`` through ``mapper``.

    The result equals ``project(..., stochastic=spec)`` bit for bit. With ``dask_map(client)`` each
    chunk is a task on the cluster; the inputs are scattered to the workers once per call.
    """
    fn = partial(
        _run_chunk,
        population=population,
        rates=rates,
        base_year=base_year,
        horizon=horizon,
        spec=spec,
        control=control,
        threads=threads,
        age_breaks=age_breaks,
        dtype=dtype,
    )
    return _assemble(mapper(fn, chunk_draws(spec.draws, chunk_size)), spec.draws)


_FIELDS = (
    "population",
    "births",
    "deaths",
    "in_migration",
    "out_migration",
    "adjustment",
    "levels",
)


def _assemble(parts: Iterable[Projection], n_draws: int) -> Projection:
    """Join chunks along ``draw`` as they come, into arrays allocated once (no concat copy).

    The same numbers, dims and coordinates as ``xr.concat(parts, dim="draw")``; each chunk can be
    freed as soon as it is copied, so at most the result and one chunk are held at a time.
    """
    out: dict[str, np.ndarray] = {}
    first: dict[str, xr.DataArray] = {}
    ids: list[Any] = []
    for part in parts:
        n = part.population.sizes["draw"]
        for name in _FIELDS:
            da = getattr(part, name)
            axis = da.dims.index("draw")
            if name not in out:
                shape = list(da.shape)
                shape[axis] = n_draws
                out[name] = np.empty(shape, dtype=da.dtype)
                first[name] = da
            index = [slice(None)] * da.ndim
            index[axis] = slice(len(ids), len(ids) + n)
            out[name][tuple(index)] = da.values
        ids.extend(part.population["draw"].values.tolist())
    if len(ids) != n_draws:
        raise ValueError(f"the chunks hold {len(ids)} draws, expected {n_draws}")
    return Projection(
        **{
            name: xr.DataArray(
                out[name],
                dims=da.dims,
                coords={d: ids if d == "draw" else da[d].values for d in da.dims},
                name=da.name,
            )
            for name, da in first.items()
        }
    )

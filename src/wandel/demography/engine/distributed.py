"""Stochastic projections in chunks of draws, on any map: the builtin one or a Dask cluster's.

Each draw's random stream is derived from ``(seed, draw id)`` (see
:func:`wandel.demography.engine.draw_levels`) and the kernel computes every draw independently, so the
chunks joined along ``draw`` equal the unchunked run bit for bit, whatever the chunk size or the
machine that ran a chunk.

On Dask the inputs go to every worker once; a worker on the client's own machine (a
``LocalCluster``) hands its chunk back through shared memory, as the results of many draws are
gigabytes that the loopback network would copy twice (see :func:`dask_map`).

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

import contextlib
import mmap
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
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


@dataclass(frozen=True)
class _Spot:
    """Where workers on the client's machine leave their results: a folder in memory (``/dev/shm``),
    a file prefix and a probe file whose random token proves a worker sees the client's folder."""

    folder: str
    prefix: str
    probe: str
    token: bytes

    @classmethod
    def create(cls) -> _Spot | None:
        folder = Path("/dev/shm")
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            return None
        token = secrets.token_bytes(16)
        fd, probe = tempfile.mkstemp(prefix="wandel-draws-", suffix=".probe", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(token)
        return cls(str(folder), probe.removesuffix(".probe"), probe, token)

    def here(self) -> bool:
        """Whether this process sees the client's folder (the same machine)."""
        try:
            return Path(self.probe).read_bytes() == self.token
        except OSError:
            return False

    def clean(self) -> None:
        """Remove the probe and every result file left (a chunk never fetched)."""
        for path in Path(self.folder).glob(Path(self.prefix).name + "*"):
            with contextlib.suppress(OSError):
                path.unlink()


@dataclass(frozen=True)
class _Field:
    """One array of a chunk's :class:`Projection` in a shared-memory file."""

    name: str
    dims: tuple[str, ...]
    coords: dict[str, tuple[tuple[str, ...], Any]]
    attrs: dict[Any, Any]
    da_name: Any
    dtype: str
    shape: tuple[int, ...]
    offset: int


@dataclass(frozen=True)
class _Shared:
    """A chunk's result left in a shared-memory file by a worker on the client's machine."""

    path: str
    size: int
    fields: tuple[_Field, ...]


def _to_shared(res: Projection, spot: _Spot, first_draw: int) -> _Shared | None:
    """Copy ``res`` into a new file of ``spot`` (None where the worker is on another machine or
    the folder has no room: the result then travels over the network as before)."""
    if not spot.here():
        return None
    fields: list[_Field] = []
    size = 0
    for name in _FIELDS:
        da = getattr(res, name)
        size = -(-size // 64) * 64  # each array on a cache line
        fields.append(
            _Field(
                name,
                tuple(str(d) for d in da.dims),
                {str(k): (tuple(str(d) for d in v.dims), v.values) for k, v in da.coords.items()},
                dict(da.attrs),
                da.name,
                da.dtype.str,
                tuple(da.shape),
                size,
            )
        )
        size += da.nbytes
    if size == 0:
        return None
    path = f"{spot.prefix}-{first_draw}-{secrets.token_hex(4)}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)  # no room is an error here, not a SIGBUS while copying
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)  # pages mapped at once
        with mmap.mmap(fd, size, flags=flags) as mm:
            for f in fields:
                dst: np.ndarray = np.ndarray(f.shape, np.dtype(f.dtype), buffer=mm, offset=f.offset)
                np.copyto(dst, getattr(res, f.name).values)
                del dst
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return None
    finally:
        os.close(fd)
    return _Shared(path, size, tuple(fields))


def _from_shared(chunk: _Shared) -> Projection:
    """The chunk's :class:`Projection` over a private mapping of its file; the file is removed at
    once (the memory goes when the last array over it does)."""
    fd = os.open(chunk.path, os.O_RDONLY)
    try:
        flags = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)
        mm = mmap.mmap(fd, chunk.size, flags=flags, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
        os.unlink(chunk.path)
    arrays = {
        f.name: xr.DataArray(
            np.ndarray(f.shape, np.dtype(f.dtype), buffer=mm, offset=f.offset),
            dims=f.dims,
            coords={k: (d, v) for k, (d, v) in f.coords.items()},
            name=f.da_name,
            attrs=f.attrs,
        )
        for f in chunk.fields
    }
    return Projection(**arrays)


def _apply(
    fn: Callable[[Sequence[int]], Projection], chunk: Sequence[int], spot: _Spot | None = None
) -> Projection | _Shared:
    """Run one chunk on a worker with as many compiled-kernel threads as the worker has threads.

    (Without this every worker process would start one kernel thread per CPU of the machine.)
    With ``spot``, a worker on the client's machine leaves the result in shared memory and
    returns only where it lies.
    """
    import numba
    from distributed import get_worker

    k = max(1, min(int(get_worker().state.nthreads), numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    old = numba.get_num_threads()
    numba.set_num_threads(k)
    try:
        res = fn(chunk)
    finally:
        numba.set_num_threads(old)
    if spot is not None and len(chunk):
        shared = _to_shared(res, spot, int(chunk[0]))
        if shared is not None:
            return shared
    return res


def dask_map(client: Any, *, shared_memory: bool = True) -> Mapper:
    """A map that runs each chunk as a task on a ``dask.distributed.Client``, results in order.

    The function (with the inputs bound to it) is scattered to every worker once; the tasks
    carry only a reference to it and their chunk of draw ids. Results are fetched one at a time,
    in order, while the later chunks are still computing, and released once fetched.

    A worker on the client's machine (a ``LocalCluster``; checked by a token file, not by host
    names) leaves its chunk in shared memory (``/dev/shm``) instead of sending it through the
    network stack: the results of 1,000 draws are gigabytes, which the loopback would copy twice
    and the client unpickle. Workers elsewhere, or with no room there, send it as before;
    ``shared_memory=False`` always does.
    """

    def run(
        fn: Callable[[Sequence[int]], Projection], chunks: Sequence[Sequence[int]]
    ) -> Iterator[Projection]:
        chunks = list(chunks)
        if not chunks:
            return
        spot = _Spot.create() if shared_memory else None
        shared = client.scatter(fn, broadcast=True, hash=False)
        futures = client.map(
            _apply, [shared] * len(chunks), chunks, [spot] * len(chunks), pure=False
        )
        try:
            for k, future in enumerate(futures):
                res = future.result()
                futures[k] = None
                future.release()
                yield _from_shared(res) if isinstance(res, _Shared) else res
        finally:
            client.cancel([shared, *(f for f in futures if f is not None)])
            if spot is not None:
                spot.clean()

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

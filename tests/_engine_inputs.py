"""Random engine inputs for the engine's tests (test_engine_kernel, test_engine_draws)."""

from __future__ import annotations

import numpy as np

from wandel.demography.engine import EngineInput

A = 101


def random_input(
    rng: np.random.Generator,
    n_z: int,
    n_t: int,
    *,
    extra: bool,
    fertile: tuple[int, int] = (15, 50),
    per_year: bool = True,
) -> EngineInput:
    """Random rates; ``per_year=False`` gives every rate as a broadcast view over the years."""
    pop = rng.uniform(0, 200, (n_z, 2, A)) * (rng.uniform(size=(n_z, 2, A)) > 0.2)
    ty = n_t if per_year else 1
    asfr = np.zeros((ty, n_z, A))
    asfr[..., fertile[0] : fertile[1]] = rng.uniform(0, 0.15, (ty, n_z, fertile[1] - fertile[0]))

    def years(x: np.ndarray) -> np.ndarray:
        return x if per_year else np.broadcast_to(x, (n_t, *x.shape[1:]))

    return EngineInput(
        population=pop,
        sx=years(rng.uniform(0.6, 1.0, (ty, n_z, 2, A))),
        birth_survival=years(rng.uniform(0.99, 1.0, (ty, n_z, 2))),
        asfr=years(asfr),
        out_rate=years(rng.uniform(0, 0.3, (ty, n_z, 2, A))),
        in_count=years(rng.uniform(0, 5, (ty, n_z, 2, A))),
        srb=float(rng.uniform(1.0, 1.1)),
        extra=years(rng.normal(0, 30, (ty, n_z, 2, A))) if extra else None,
    )

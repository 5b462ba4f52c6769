"""Bit-identity check for refactors of the projection engine (not a test).

Saves, or compares with a saved file, the results of the numpy kernel, the compiled kernels and
the loop oracle on random inputs that exercise every path (origin-destination migration, control,
scenario flows, all levels, net-migration noise, age groups, fertile spans at the age limits):

    PYTHONPATH=src .venv/bin/python scripts/engine_snapshot.py save /tmp/before.npz
    (change the code)
    PYTHONPATH=src .venv/bin/python scripts/engine_snapshot.py check /tmp/before.npz

``check`` prints the arrays that differ in any bit and exits 1 if there are some.
"""

from __future__ import annotations

import sys

import numpy as np

from wandel.demography.engine import (
    EngineInput,
    Levels,
    RawProjection,
    StochasticSpec,
    draw_levels,
    draw_net_migration,
    project_arrays,
)
from wandel.demography.engine import core as engine
from wandel.demography.engine.reference import project_reference

A = 101
NAMES = ("population", "births", "deaths", "in_migration", "out_migration", "adjustment")
CASES = [  # od, extra, control, levels, grouped, fertile ages
    (False, False, False, "none", False, (15, 50)),
    (True, False, False, "all", False, (15, 50)),
    (False, True, False, "all", True, (0, 3)),
    (True, True, True, "all", False, (98, 101)),
    (False, True, True, "fi", True, (15, 50)),
    (False, True, False, "fi", False, (0, 101)),
    (True, True, False, "net", False, (15, 50)),
    (False, False, True, "net", True, (15, 50)),
    (False, True, False, "none", True, (98, 101)),
    (False, True, False, "net", False, (0, 3)),
]


def _input(
    rng: np.random.Generator, n_z: int, n_t: int, od: bool, extra: bool, control: bool, fertile: tuple[int, int]
) -> EngineInput:  # fmt: skip
    od_m = None
    if od:
        od_m = rng.uniform(0, 1, (n_z, n_z))
        np.fill_diagonal(od_m, 0)
        od_m *= rng.uniform(0, 1, (n_z, 1)) / od_m.sum(axis=1, keepdims=True)
    asfr = np.zeros((n_t, n_z, A))
    asfr[..., fertile[0] : fertile[1]] = rng.uniform(0, 0.15, (n_t, n_z, fertile[1] - fertile[0]))
    return EngineInput(
        population=rng.uniform(0, 200, (n_z, 2, A)) * (rng.uniform(size=(n_z, 2, A)) > 0.2),
        sx=rng.uniform(0.6, 1.0, (n_t, n_z, 2, A)),
        birth_survival=rng.uniform(0.99, 1.0, (n_t, n_z, 2)),
        asfr=asfr,
        out_rate=rng.uniform(0, 0.3, (n_t, n_z, 2, A)),
        in_count=rng.uniform(0, 5, (n_t, n_z, 2, A)),
        srb=float(rng.uniform(1.0, 1.1)),
        extra=rng.normal(0, 30, (n_t, n_z, 2, A)) if extra else None,
        od=od_m,
        parent_index=(np.arange(n_z) % 2).astype(np.intp) if control else None,
        control_totals=rng.uniform(500, 20000, (n_t, 2, 2)) if control else None,
    )


def _levels(kind: str, seed: int, n_t: int, n_d: int, n_z: int) -> Levels | None:
    if kind == "none":
        return None
    big = 0.9 if kind != "fi" else 0.0
    spec = StochasticSpec(
        draws=n_d,
        seed=seed,
        sigma_fertility=0.2,
        sigma_mortality=big,
        sigma_in_migration=0.3,
        sigma_out_migration=big,
        sigma_net_migration=0.4 if kind == "net" else 0.0,
    )
    lv = draw_levels(spec, n_t, range(n_d))
    net = draw_net_migration(spec, n_t, range(n_d), [f"z{k}" for k in range(n_z)])
    return Levels(**{**lv.__dict__, "net_migration": net})


def snapshot() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}

    def put(key: str, raw: RawProjection) -> None:
        for n in NAMES:
            out[f"{key}/{n}"] = np.ascontiguousarray(getattr(raw, n))

    n_z, n_t, n_d = 5, 4, 3
    for i, (od, extra, control, kind, grouped, fertile) in enumerate(CASES):
        inp = _input(np.random.default_rng(100 + i), n_z, n_t, od, extra, control, fertile)
        lv = _levels(kind, i, n_t, n_d, n_z)
        nd = 1 if lv is None else n_d
        breaks = (0, 6, 18, 65, 80) if grouped else None
        engine._USE_KERNEL = False
        put(f"numpy{i}", project_arrays(inp, lv, n_draws=nd, age_breaks=breaks))
        engine._USE_KERNEL = True
        put(f"compiled{i}", project_arrays(inp, lv, n_draws=nd, age_breaks=breaks))
        put(f"oracle{i}", project_reference(inp, lv, n_draws=nd))
    return out


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "check"):
        print(__doc__)
        return 2
    out = snapshot()
    if sys.argv[1] == "save":
        np.savez(sys.argv[2], **out)
        print(f"saved {len(out)} arrays to {sys.argv[2]}")
        return 0
    old = np.load(sys.argv[2])
    bad = [k for k in old.files if k not in out or not np.array_equal(old[k], out[k])]
    print(f"compared {len(old.files)} arrays; differing in any bit: {bad or 'none'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

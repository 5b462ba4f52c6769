"""A slow, loop-based reference projection: the oracle for the vectorised engine.

Plain Python loops over years, draws, zones, sexes and ages, one number at a time, following the order
of events documented in :mod:`wandel.demography.engine` literally. Use it on small problems only.
"""

from __future__ import annotations

import numpy as np

from wandel.demography.engine import EngineInput, Levels, RawProjection

__all__ = ["project_reference"]

Cells = list[list[list[float]]]  # [zone][sex][age]


def _level(arr: np.ndarray | None, t: int, d: int) -> float:
    return 1.0 if arr is None else float(arr[t, d])


def project_reference(
    inp: EngineInput, levels: Levels | None = None, n_draws: int = 1
) -> RawProjection:
    """Project with loops; same inputs and result layout as :func:`engine.project_arrays`."""
    lv = levels or Levels()
    n_t, n_z, n_a = inp.horizon, inp.n_zones, inp.population.shape[-1]
    pop = np.zeros((n_t + 1, n_draws, n_z, 2, n_a))
    comps = np.zeros((5, n_t, n_draws, n_z, 2))
    for d in range(n_draws):
        for z in range(n_z):
            for s in range(2):
                for a in range(n_a):
                    pop[0, d, z, s, a] = float(inp.population[z, s, a])
    for t in range(n_t):
        for d in range(n_draws):
            new = [[[0.0] * n_a for _ in range(2)] for _ in range(n_z)]
            movers = [[[0.0] * n_a for _ in range(2)] for _ in range(n_z)]
            for z in range(n_z):
                _survival_and_births(inp, lv, pop, comps, new, t, d, z)
                _out_migration(inp, lv, comps, new, movers, t, d, z)
            for z in range(n_z):
                _in_migration(inp, lv, comps, new, movers, t, d, z)
            if lv.net_migration is not None:
                for z in range(n_z):
                    _net_migration(lv.net_migration, pop, comps, new, t, d, z)
            if inp.parent_index is not None and inp.control_totals is not None:
                _control(inp, comps, new, t, d)
            for z in range(n_z):
                for s in range(2):
                    for a in range(n_a):
                        pop[t + 1, d, z, s, a] = new[z][s][a]
    return RawProjection(pop, comps[0], comps[1], comps[2], comps[3], comps[4])


def _survival_and_births(
    inp: EngineInput,
    lv: Levels,
    pop: np.ndarray,
    comps: np.ndarray,
    new: Cells,
    t: int,
    d: int,
    z: int,
) -> None:
    """Steps 1-3 for zone ``z``: survival and ageing, births, deaths."""
    n_a = inp.population.shape[-1]
    last = n_a - 1
    m_lv = _level(lv.mortality, t, d)
    share = [inp.srb / (1.0 + inp.srb), 1.0 / (1.0 + inp.srb)]
    # 1. survival and ageing
    start = [0.0, 0.0]
    surv = [0.0, 0.0]
    for s in range(2):
        for a in range(n_a):
            p = float(pop[t, d, z, s, a])
            start[s] += p
            q = 1.0 - float(inp.sx[t, z, s, a])
            s_eff = 1.0 - min(q * m_lv, 1.0)
            dest = min(a + 1, last)
            new[z][s][dest] += p * s_eff
        for a in range(1, n_a):
            surv[s] += new[z][s][a]
    # 2. births from the mid-year exposure of women
    b_total = 0.0
    for a in range(n_a):
        rate = float(inp.asfr[t, z, a])
        if rate > 0:
            b_total += rate * (float(pop[t, d, z, 1, a]) + new[z][1][a]) / 2.0
    b_total *= _level(lv.fertility, t, d)
    for s in range(2):
        b = b_total * share[s]
        qb = 1.0 - float(inp.birth_survival[t, z, s])
        new[z][s][0] = b * (1.0 - min(qb * m_lv, 1.0))
        comps[0, t, d, z, s] = b
        # 3. deaths
        comps[1, t, d, z, s] = (start[s] + b) - (surv[s] + new[z][s][0])


def _out_migration(
    inp: EngineInput,
    lv: Levels,
    comps: np.ndarray,
    new: Cells,
    movers: Cells,
    t: int,
    d: int,
    z: int,
) -> None:
    """Step 4a for zone ``z``: out-migration, capped by the people present."""
    o_lv = _level(lv.out_migration, t, d)
    for s in range(2):
        for a in range(inp.population.shape[-1]):
            o = new[z][s][a] * float(inp.out_rate[t, z, s, a]) * o_lv
            o = min(o, new[z][s][a])
            new[z][s][a] -= o
            movers[z][s][a] = o
            comps[3, t, d, z, s] += o


def _in_migration(
    inp: EngineInput,
    lv: Levels,
    comps: np.ndarray,
    new: Cells,
    movers: Cells,
    t: int,
    d: int,
    z: int,
) -> None:
    """Steps 4b-4d for zone ``z``: negative flows, in-migration, positive flows, arrivals."""
    i_lv = _level(lv.in_migration, t, d)
    for s in range(2):
        for a in range(inp.population.shape[-1]):
            # 4c. negative scenario flows, capped by the people left
            x = 0.0 if inp.extra is None else float(inp.extra[t, z, s, a])
            if x < 0:
                gone = min(-x, new[z][s][a])
                new[z][s][a] -= gone
                comps[3, t, d, z, s] += gone
            # 4d. in-migration counts, positive scenario flows, internal arrivals
            came = float(inp.in_count[t, z, s, a]) * i_lv
            if x > 0:
                came += x
            if inp.od is not None:
                for origin in range(inp.n_zones):
                    came += movers[origin][s][a] * float(inp.od[origin, z])
            new[z][s][a] += came
            comps[2, t, d, z, s] += came


def _net_migration(
    eps: np.ndarray, pop: np.ndarray, comps: np.ndarray, new: Cells, t: int, d: int, z: int
) -> None:
    """Step 4e for zone ``z``: ``eps * P(t)``, spread like the zone's people, capped."""
    n_a = pop.shape[-1]
    start_total = 0.0
    have = [0.0, 0.0]
    for s in range(2):
        for a in range(n_a):
            start_total += float(pop[t, d, z, s, a])
            have[s] += new[z][s][a]
    total = have[0] + have[1]
    flow = float(eps[t, d, z]) * start_total
    g = max(flow / total, -1.0) if total > 0 else 0.0
    for s in range(2):
        for a in range(n_a):
            new[z][s][a] *= 1.0 + g
        move = have[s] * g
        if move > 0:
            comps[2, t, d, z, s] += move
        else:
            comps[3, t, d, z, s] -= move


def _control(inp: EngineInput, comps: np.ndarray, new: Cells, t: int, d: int) -> None:
    """Step 5: every zone of a parent scaled per sex to the parent's total."""
    assert inp.parent_index is not None
    assert inp.control_totals is not None
    n_z, n_a = inp.n_zones, inp.population.shape[-1]
    n_g = inp.control_totals.shape[1]
    for s in range(2):
        zone_sum = [sum(new[z][s]) for z in range(n_z)]
        for g in range(n_g):
            members = [z for z in range(n_z) if int(inp.parent_index[z]) == g]
            total = sum(zone_sum[z] for z in members)
            factor = float(inp.control_totals[t, g, s]) / total if total > 0 else 1.0
            for z in members:
                for a in range(n_a):
                    new[z][s][a] *= factor
                comps[4, t, d, z, s] = zone_sum[z] * factor - zone_sum[z]

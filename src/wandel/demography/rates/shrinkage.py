"""Small numbers: empirical-Bayes shrinkage of zone factors and of net-migration rates.

Event factors (fertility, mortality): Poisson-gamma empirical Bayes (Clayton & Kaldor 1987): with the
parent's factor ``m`` as prior mean and a prior variance ``tau2`` estimated by the method of moments
across all zones, ``f_z = (O_z + b m) / (E_z + b)``, ``b = m / tau2``; the weight of the zone's own
data is ``w_z = E_z / (E_z + b)``, so small zones (small ``E``) are pulled more toward their parent.

Net-migration rates: normal-normal empirical Bayes toward the parent's pooled rate
(:func:`shrink_net_rates`; Rao & Molina 2015, *Small Area Estimation*, ch. 6).

References: Clayton & Kaldor (1987), Biometrics 43.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from wandel.demography.rates._common import Array

__all__ = [
    "NetShrinkage",
    "ZoneFactors",
    "kreis_factors",
    "per_zone",
    "shrink_net_rates",
    "shrink_poisson_gamma",
]


@dataclass(frozen=True)
class ZoneFactors:
    """Indirectly standardised factors with empirical-Bayes shrinkage, one entry per zone.

    ``raw = observed / expected``; ``factor = weight * raw + (1 - weight) * prior``;
    ``prior_strength`` is ``b`` of the gamma prior (in expected events); ``years`` the event years.
    """

    zones: tuple[str, ...]
    observed: Array
    expected: Array
    raw: Array
    prior: Array
    weight: Array
    factor: Array
    prior_strength: float
    years: tuple[int, ...]

    def frame(self) -> pd.DataFrame:
        """The factors as a table (zone, observed, expected, raw, prior, weight, factor)."""
        return pd.DataFrame(
            {
                "zone": list(self.zones),
                "observed": self.observed,
                "expected": self.expected,
                "raw": self.raw,
                "prior": self.prior,
                "weight": self.weight,
                "factor": self.factor,
            }
        )


def shrink_poisson_gamma(
    observed: npt.ArrayLike, expected: npt.ArrayLike, prior: npt.ArrayLike
) -> tuple[Array, Array, float]:
    """Poisson-gamma empirical-Bayes factors: ``(factor, weight, b)``.

    ``O ~ Poisson(f E)``, ``f ~ Gamma(mean = prior, variance = tau2)``; ``tau2`` by the method of
    moments, ``tau2 = mean((O/E - prior)^2) - mean(prior / E)`` (floored at 1e-6), ``b = mean(prior)
    / tau2``; posterior mean ``(O + b prior) / (E + b) = w O/E + (1 - w) prior``, ``w = E / (E + b)``.

    >>> f, w, b = shrink_poisson_gamma([12.0, 1100.0], [10.0, 1000.0], [1.0, 1.0])
    >>> bool(w[0] < w[1]), bool(abs(f[0] - 1) < abs(1.2 - 1))
    (True, True)
    """
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    m = np.asarray(prior, dtype=np.float64)
    ok = e > 0
    if not ok.any():
        return m.copy(), np.zeros_like(m), float("inf")
    raw = o[ok] / e[ok]
    tau2 = max(float(np.mean((raw - m[ok]) ** 2) - np.mean(m[ok] / e[ok])), 1e-6)
    b = float(np.mean(m[ok])) / tau2
    w = np.where(ok, e / (e + b), 0.0)
    f = np.where(ok, (o + b * m) / np.where(ok, e + b, 1.0), m)
    return f, w, b


def _factors(
    zones: Sequence[str],
    observed: Array,
    expected: Array,
    parent_of: Mapping[str, str],
    years: tuple[int, ...],
) -> ZoneFactors:
    """Shrink zone factors toward their parent's factor (the parent's pooled O / E)."""
    parents = [parent_of.get(z, "DG") for z in zones]
    frame = pd.DataFrame({"parent": parents, "o": observed, "e": expected})
    pooled = frame.groupby("parent")[["o", "e"]].sum()
    pooled_f = (pooled["o"] / pooled["e"].where(pooled["e"] > 0)).fillna(1.0)
    prior = frame["parent"].map(pooled_f).to_numpy(dtype=np.float64)
    f, w, b = shrink_poisson_gamma(observed, expected, prior)
    raw = np.where(expected > 0, observed / np.where(expected > 0, expected, 1.0), np.nan)
    return ZoneFactors(tuple(zones), observed, expected, raw, prior, w, f, b, years)


def kreis_factors(
    events: pd.DataFrame,
    expected_per_year: Mapping[str, float],
    kreise: Sequence[str],
    parent_of: Mapping[str, str],
) -> ZoneFactors:
    """Factors ``O / E`` of ``kreise`` shrunk toward their parent's (``parent_of``): ``O`` the
    events of ``events`` (rows zone, year, value), ``E`` the expected events per year times the
    number of years with events."""
    obs = np.zeros(len(kreise))
    exp = np.zeros(len(kreise))
    for i, k in enumerate(kreise):
        ev = events[events["zone"] == k]
        obs[i] = float(ev["value"].sum())
        exp[i] = float(expected_per_year.get(k, 0.0)) * len(ev)
    years = tuple(sorted(int(y) for y in events["year"].unique()))
    return _factors(kreise, obs, exp, parent_of, years)


def per_zone(factors: ZoneFactors, zones: Sequence[str]) -> Array:
    """Factor of each zone, a Gemeinde taking its Kreis's (1 where unknown)."""
    fk = dict(zip(factors.zones, factors.factor, strict=True))
    return np.array([fk.get(z, fk.get(z[:5], 1.0)) for z in zones], dtype=np.float64)


@dataclass(frozen=True)
class NetShrinkage:
    """Empirical-Bayes shrinkage of zone net-migration rates toward their parent's pooled rate.

    ``weight`` per zone (1 = own rate kept, 0 = parent's rate), ``tau2`` the between-zone variance
    of the true yearly rates, ``c`` the sampling-noise constant (noise variance ``c / (P * T)``).
    """

    net_per_year: Mapping[str, float]
    weight: Mapping[str, float]
    parent_rate: Mapping[str, float]
    tau2: float
    c: float


def shrink_net_rates(
    net_per_year: Mapping[str, float],
    population: Mapping[str, float],
    years: Mapping[str, tuple[int, int]],
    parent_of: Callable[[str], str] = lambda z: z[:5],
) -> NetShrinkage:
    """Shrink yearly net-migration rates ``r = N / P`` of small zones toward their parent's rate.

    Normal-normal empirical Bayes: ``r_g = R_k + u_g + e_g`` with ``u_g ~ N(0, tau2)`` (true
    differences between zones) and sampling noise ``e_g ~ N(0, c / (P_g T_g))`` (a count over ``T_g``
    years among ``P_g`` people). ``R_k`` is the parent's pooled rate ``sum N / sum P``. ``tau2`` and
    ``c`` come from a non-negative least-squares fit of ``(r_g - R_k)^2 = tau2 + c / (P_g T_g)`` over
    all zones (method of moments). The posterior mean is ``R_k + w_g (r_g - R_k)`` with
    ``w_g = tau2 / (tau2 + c / (P_g T_g))``: large towns keep their own trend, small villages
    borrow it from their Kreis (Rao & Molina 2015, *Small Area Estimation*, ch. 6).

    >>> net = {"15087001": 6.0, "15087002": -150.0, "15087003": -150.0, "15087004": 40.0}
    >>> pop = {"15087001": 300.0, "15087002": 30000.0, "15087003": 10000.0, "15087004": 2000.0}
    >>> sh = shrink_net_rates(net, pop, dict.fromkeys(net, (2017, 2019)))
    >>> {z: round(w, 2) for z, w in sh.weight.items()}
    {'15087001': 0.28, '15087002': 0.97, '15087003': 0.93, '15087004': 0.72}
    >>> round(sh.net_per_year["15087001"], 1)  # the village of 300 keeps 28 % of its own trend
    0.4
    """
    from scipy.optimize import nnls

    zones = [z for z in net_per_year if population.get(z, 0.0) > 0]
    if len(zones) < 3:
        return NetShrinkage(dict(net_per_year), dict.fromkeys(net_per_year, 1.0), {}, 0.0, 0.0)
    pop = np.array([population[z] for z in zones])
    net = np.array([net_per_year[z] for z in zones])
    span = np.array([max(years[z][1] - years[z][0], 1) for z in zones], dtype=np.float64)
    parents = [parent_of(z) for z in zones]
    frame = pd.DataFrame({"parent": parents, "net": net, "pop": pop})
    pooled = frame.groupby("parent")[["net", "pop"]].sum()
    parent_rate = (pooled["net"] / pooled["pop"]).to_dict()
    big_r = np.array([parent_rate[p] for p in parents])
    r = net / pop
    x = 1.0 / (pop * span)
    (tau2, c), _ = nnls(np.column_stack([np.ones_like(x), x]), (r - big_r) ** 2)
    noise = c * x
    w = np.where(tau2 + noise > 0, tau2 / np.maximum(tau2 + noise, 1e-300), 1.0)
    shrunk = (big_r + w * (r - big_r)) * pop
    out = dict(net_per_year)
    out.update({z: float(v) for z, v in zip(zones, shrunk, strict=True)})
    weight = dict.fromkeys(net_per_year, 1.0)
    weight.update({z: float(v) for z, v in zip(zones, w, strict=True)})
    return NetShrinkage(
        out, weight, {str(k): float(v) for k, v in parent_rate.items()}, float(tau2), float(c)
    )

"""The cohort-component projection engine: zone × sex × age × draw, yearly steps, exact balancing.

:mod:`~wandel.demography.engine.core` holds the model (event order, components, controls,
stochastic levels), :mod:`~wandel.demography.engine._kernel` the compiled kernel of the fused
deterministic case, :mod:`~wandel.demography.engine._draws` the compiled kernel of many draws
(draws innermost), :mod:`~wandel.demography.engine.distributed` the draws on Dask and
:mod:`~wandel.demography.engine.reference` the loop-based oracle the tests compare against.
"""

from wandel.demography.engine.core import (
    LEVEL_COMPONENTS,
    SEXES,
    SRB_DEFAULT,
    Control,
    EngineInput,
    Levels,
    Projection,
    ProjectionRates,
    RawProjection,
    StochasticSpec,
    draw_levels,
    draw_net_migration,
    engine_input,
    project,
    project_arrays,
    quantiles,
)

__all__ = [
    "LEVEL_COMPONENTS",
    "SEXES",
    "SRB_DEFAULT",
    "Control",
    "EngineInput",
    "Levels",
    "Projection",
    "ProjectionRates",
    "RawProjection",
    "StochasticSpec",
    "draw_levels",
    "draw_net_migration",
    "engine_input",
    "project",
    "project_arrays",
    "quantiles",
]

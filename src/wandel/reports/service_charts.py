"""Fan charts of service demand: one figure per service, one panel per zone (matplotlib object API).

Each panel shows the deterministic projection (line), the median of the draws (dashed) and the
80 % and 95 % bands over the draws; the axis starts at 0 and the base year is marked. Texts come
from the ``services`` catalogue (German first); the source note sits under the panels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from wandel.i18n import tr

__all__ = ["service_fan_chart"]


def _number_format(top: float) -> Callable[[float, object], str]:
    """German tick labels: thousands with a dot above 20, else two decimals with a comma."""

    def fmt(v: float, _pos: object) -> str:
        return f"{v:,.0f}".replace(",", ".") if top > 20 else f"{v:.2f}".replace(".", ",")

    return fmt


def service_fan_chart(
    rows: pd.DataFrame, title: str, unit: str, names: Mapping[str, str], lang: str | None = None
) -> Figure:
    """Fan chart of one measure: ``rows`` with ``zone, year, value, q025, q10, q50, q90, q975``.

    One panel per zone (at most 12; pass fewer rows for more), titled with the zone's name.
    """
    zones = list(dict.fromkeys(rows["zone"].astype(str)))[:12]
    n = len(zones)
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * nrows + 0.9))
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    for ax, z in zip(axes, zones, strict=False):
        t = rows[rows["zone"].astype(str) == z].sort_values("year")
        x = t["year"].to_numpy()
        has_draws = bool(np.isfinite(t["q50"].to_numpy(dtype=float)).any())
        if has_draws:
            ax.fill_between(
                x,
                t["q025"],
                t["q975"],
                color="#4c72b0",
                alpha=0.18,
                label=tr("services.chart.band95", lang),
            )
            ax.fill_between(
                x,
                t["q10"],
                t["q90"],
                color="#4c72b0",
                alpha=0.35,
                label=tr("services.chart.band80", lang),
            )
            ax.plot(
                x, t["q50"], color="#4c72b0", lw=1, ls="--", label=tr("services.chart.median", lang)
            )
        ax.plot(x, t["value"], color="black", lw=1.4, label=tr("services.chart.value", lang))
        top = float(np.nanmax(t[["value", "q975"]].to_numpy(dtype=float))) if len(t) else 1.0
        top = top if np.isfinite(top) and top > 0 else 1.0
        ax.set_ylim(0, top * 1.12)
        ax.axvline(int(x.min()), color="grey", lw=0.8, ls=":")
        ax.set_title(f"{names.get(z, z)} ({z})", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_formatter(_number_format(top))
        ax.set_ylabel(unit, fontsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6, loc="lower left")
    fig.suptitle(title, fontsize=11)
    fig.text(0.01, 0.01, tr("services.chart.note", lang), fontsize=6)
    height = 3.0 * nrows + 0.9
    fig.supxlabel(tr("services.chart.year", lang), fontsize=8, y=0.35 / height + 0.02)
    fig.subplots_adjust(bottom=0.9 / height + 0.04, hspace=0.45, wspace=0.3)
    return fig

"""Charts of the comparison: small multiples of a network, a choropleth map of a typology.

Pure functions over the results of :mod:`wandel.compare` (matplotlib's object API, Agg canvas); the
texts come from the text catalogue in the language of the call, every figure carries its source
note. Colours: the Okabe-Ito palette (distinguishable with colour-vision deficiencies); the map pairs
each colour with the type's name in the legend, and the CSV of types is its table alternative.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from wandel.compare._format import format_number, short_name
from wandel.compare.catalogue import load_catalogue
from wandel.compare.networks import NetworkComparison
from wandel.compare.typology import Typology
from wandel.i18n import tr

__all__ = ["OKABE_ITO", "network_small_multiples", "typology_map"]

OKABE_ITO = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
    "#000000",
)
"""Okabe & Ito's colour-blind-safe palette (2008)."""


def _note_line(note: str) -> str:
    """The short source line of a figure (the full note sits beside the tables)."""
    return tr("compare.chart.source") if note else ""


def network_small_multiples(
    comparison: NetworkComparison,
    keys: Sequence[str],
    source_note: str,
    lang: str | None = None,
    ncols: int = 4,
) -> Figure:
    """One panel per indicator: a bar per member, ticks for its Kreis (▲) and Land (■) and a
    dashed line for the network's mean. Shares are shown in percent."""
    cat = load_catalogue()
    t = comparison.table
    keys = [k for k in keys if k in set(t["indicator"])]
    members = list(comparison.network.members)
    names = t.drop_duplicates("zone").set_index("zone")["name"].map(short_name)
    nrows = max(1, int(np.ceil(len(keys) / ncols)))
    fig = Figure(figsize=(3.2 * ncols, 2.9 * nrows + 1.2))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    x = np.arange(len(members))
    for n, key in enumerate(keys):
        ax = axes[n // ncols][n % ncols]
        ind = cat[key]
        scale = 100.0 if ind.unit == "share" else 1.0
        rows = t[t["indicator"] == key].set_index("zone").reindex(members)
        vals = rows["value"].to_numpy(dtype=float) * scale
        ax.bar(x, vals, color=[OKABE_ITO[i % 8] for i in range(len(members))], width=0.6)
        ax.scatter(
            x,
            rows["kreis_value"].to_numpy(float) * scale,
            marker="^",
            color="black",
            s=18,
            zorder=3,
        )
        ax.scatter(
            x,
            rows["land_value"].to_numpy(float) * scale,
            marker="s",
            color="dimgrey",
            s=14,
            zorder=3,
        )
        mean = (
            float(rows["network_mean"].dropna().iloc[0]) * scale
            if rows["network_mean"].notna().any()
            else np.nan
        )
        if np.isfinite(mean):
            ax.axhline(mean, color="black", linestyle="--", linewidth=0.8)
        flags = []
        if (rows["value_from"] == "kreis").any():
            flags.append(tr("compare.chart.kreis_value", lang))
        if rows["estimated"].fillna(False).astype(bool).any():
            flags.append(tr("compare.estimated", lang))
        title = textwrap.fill(ind.text("name", lang), 34)
        ax.set_title(title + ("\n(" + ", ".join(flags) + ")" if flags else ""), fontsize=7.5)
        unit = "%" if ind.unit == "share" else ind.unit_text(lang)
        ax.set_ylabel(unit, fontsize=7)
        ax.set_xticks(x, [names.get(m, m) for m in members], fontsize=6, rotation=20)
        ax.tick_params(axis="y", labelsize=6)
        ax.yaxis.set_major_formatter(
            lambda v, _p, d=ind.decimals: format_number(v, min(d, 1), lang)
        )
    for n in range(len(keys), nrows * ncols):
        axes[n // ncols][n % ncols].set_axis_off()
    fig.suptitle(comparison.network.title, fontsize=10)
    fig.text(0.01, 0.03, tr("compare.chart.legend", lang), fontsize=6.5)
    fig.text(0.01, 0.008, _note_line(source_note), fontsize=5)
    fig.subplots_adjust(hspace=0.9, wspace=0.35, bottom=0.17, top=0.86)
    return fig


def typology_map(
    boundaries: Any, typology: Typology, source_note: str, lang: str | None = None
) -> Figure:
    """Choropleth of the types over Gemeinde polygons (GeoDataFrame with ``zone``, ``geometry``)."""
    from matplotlib.patches import Patch

    gem = boundaries.assign(type=boundaries["zone"].map(typology.types))
    fig = Figure(figsize=(8, 9))
    ax = fig.add_axes((0.02, 0.22, 0.96, 0.72))
    handles = []
    missing = gem[gem["type"].isna()]
    if not missing.empty:
        missing.plot(ax=ax, color="#EEEEEE", linewidth=0.1, edgecolor="white")
        handles.append(Patch(facecolor="#EEEEEE", label=tr("compare.chart.no_type", lang)))
    for t in range(1, typology.k + 1):
        part = gem[gem["type"] == t]
        colour = OKABE_ITO[(t - 1) % len(OKABE_ITO)]
        if not part.empty:
            part.plot(ax=ax, color=colour, linewidth=0.1, edgecolor="white")
        n = int((typology.types == t).sum())
        handles.append(Patch(facecolor=colour, label=f"{typology.label(t, lang)} ({n})"))
    ax.set_axis_off()
    ax.set_title(tr("compare.chart.typology_title", lang, k=typology.k), fontsize=10)
    fig.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(0.03, 0.04), fontsize=7, frameon=False
    )
    fig.text(0.01, 0.01, _note_line(source_note), fontsize=5)
    return fig

"""Charts of projection results: population pyramid and fan chart (matplotlib's object API, no pyplot:
figures render with the Agg canvas, no GUI backend is touched).

Pure functions: they take canonical long frames (``zone, year, sex, age_start, age_end, value``
[, ``q10, q50, q90``]) and return matplotlib figures; :func:`save` writes one. Labels are German; every
figure carries the source note.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["OPEN_END", "SOURCE_NOTE", "age_blocks", "fan_chart", "pyramid", "save"]

SOURCE_NOTE = (
    "Datenbasis: Statistische Ämter des Bundes und der Länder, Destatis GV-ISys, dl-de/by-2-0; "
    "Vorausberechnung: Wandel (eigene Berechnung)"
)


OPEN_END = 101
"""Ages drawn for an open group (``age_end`` missing): up to 100, i.e. ``age_start .. 100``."""


def age_blocks(rows: pd.DataFrame) -> pd.DataFrame:
    """Age groups as blocks of persons per single year of age.

    Rows ``age_start, age_end`` (end exclusive, missing for the open group) and ``value``; returns
    ``lo, width, per_year`` with ``per_year = value / width``, the open group reaching to 100
    (width ``101 - age_start``, at least 1). A 5-year group of 500 people is a block of 100 per
    year, not a spike of 500 at its first age.

    >>> r = pd.DataFrame({"age_start": [74, 75, 90], "age_end": [75, 80, None],
    ...                   "value": [120.0, 500.0, 220.0]})
    >>> age_blocks(r)[["lo", "width", "per_year"]].values.tolist()
    [[74.0, 1.0, 120.0], [75.0, 5.0, 100.0], [90.0, 11.0, 20.0]]
    """
    lo = rows["age_start"].to_numpy(dtype=float)
    end = pd.to_numeric(rows["age_end"], errors="coerce").to_numpy(dtype=float)
    hi = np.where(np.isnan(end), np.maximum(OPEN_END, lo + 1), end)
    width = hi - lo
    return pd.DataFrame(
        {"lo": lo, "width": width, "per_year": rows["value"].to_numpy(dtype=float) / width}
    )


def _sex_blocks(f: pd.DataFrame, year: int, sex: str) -> pd.DataFrame:
    g = f[(f["year"] == year) & (f["sex"] == sex)].sort_values("age_start")
    return age_blocks(g)


def pyramid(frame: pd.DataFrame, zone: str, years: tuple[int, int], title: str) -> Figure:
    """Population pyramid of ``zone``: bars for ``years[0]``, outline for ``years[1]``.

    Each row is drawn over its whole age range at its average per single year of age
    (:func:`age_blocks`), so age groups (e.g. ``75-79``, ``90+``) and single years share one scale,
    "Personen je Altersjahr". The top bar is the open group 100+ (or the frame's open group).
    """
    f = frame[frame["zone"] == zone]
    fig = Figure(figsize=(7, 7))
    ax = fig.subplots()
    colors = {"m": "#4c72b0", "f": "#dd8452"}
    names = {"m": "Männer", "f": "Frauen"}
    for sex, sign in (("m", -1.0), ("f", 1.0)):
        b = _sex_blocks(f, years[0], sex)
        ax.barh(
            b["lo"],
            sign * b["per_year"],
            height=b["width"],
            align="edge",
            color=colors[sex],
            label=f"{names[sex]} {years[0]}",
        )
        o = _sex_blocks(f, years[1], sex)
        edges = np.r_[o["lo"].to_numpy(), o["lo"].iloc[-1] + o["width"].iloc[-1]]
        vals = sign * o["per_year"].to_numpy()
        ax.stairs(
            vals,
            edges,
            orientation="horizontal",
            baseline=None,
            color="black",
            lw=1,
            label=f"{years[1]} (Vorausberechnung)" if sex == "m" else None,
        )
    ax.axvline(0, color="black", lw=0.5)
    ax.set_xlabel("Personen je Altersjahr (Männer links, Frauen rechts)")
    ax.set_ylabel("Alter in Jahren (oberster Balken: 100 und älter)")
    ax.set_ylim(0, OPEN_END)
    lim = max(abs(v) for v in ax.get_xlim())
    ax.set_xlim(-lim, lim)  # symmetric: men and women on the same scale
    ax.set_title(title)
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{abs(x):,.0f}".replace(",", "."))
    ax.legend(loc="upper right", fontsize=8)
    fig.text(0.01, 0.01, SOURCE_NOTE, fontsize=6)
    return fig


def fan_chart(
    totals: pd.DataFrame,
    title: str,
    others: Sequence[tuple[str, pd.DataFrame]] = (),
    observed: pd.DataFrame | None = None,
) -> Figure:
    """Fan chart of total population: ``year, value, q10, q50, q90`` (one zone).

    The axis starts at 0 (a cut axis makes a decline of a third look like a collapse); the base
    year is marked; the band is labelled as what it is: 8 of 10 simulated futures lie inside it.
    ``others`` adds labelled lines (``year, value``; e.g. a city's own projection), ``observed``
    points (``year, value``) of what was counted later.
    """
    t = totals.sort_values("year")
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.fill_between(
        t["year"],
        t["q10"],
        t["q90"],
        color="#4c72b0",
        alpha=0.3,
        label="80-%-Intervall (8 von 10 simulierten Verläufen)",
    )
    ax.plot(t["year"], t["q50"], color="#4c72b0", lw=1, ls="--", label="Median der Simulationen")
    ax.plot(t["year"], t["value"], color="black", lw=1.5, label="Vorausberechnung (Basisvariante)")
    tops = [float(np.nanmax(t[["q90", "value"]].to_numpy(dtype=float)))]
    for (label, line), colour in zip(others, ("#dd8452", "#55a868", "#c44e52"), strict=False):
        line = line.sort_values("year")
        ax.plot(line["year"], line["value"], color=colour, lw=1.5, label=label)
        tops.append(float(line["value"].max()))
    if observed is not None and not observed.empty:
        ax.plot(
            observed["year"],
            observed["value"],
            "o",
            color="black",
            ms=3,
            label="beobachtet (amtliche Einwohnerzahl)",
        )
        tops.append(float(observed["value"].max()))
    base = int(t["year"].min())
    top = max(tops)
    ax.axvline(base, color="grey", lw=0.8, ls=":")
    ax.annotate(
        f"Basisjahr {base}",
        (base, top * 1.05),
        xytext=(3, 0),
        textcoords="offset points",
        fontsize=7,
        color="grey",
    )
    ax.set_ylim(0, top * 1.1)
    ax.set_xlabel("Jahr (Stand 31.12.)")
    ax.set_ylabel("Einwohner")
    ax.set_title(title)
    ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:,.0f}".replace(",", "."))
    ax.legend(fontsize=7, loc="lower left")
    fig.text(0.01, 0.01, SOURCE_NOTE, fontsize=6)
    fig.subplots_adjust(bottom=0.18)
    return fig


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` (format from the suffix, e.g. .png or .svg)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": "Wandel"} if path.suffix == ".png" else None)
    return path

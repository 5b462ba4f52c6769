"""Charts of projection results: population pyramid and fan chart (matplotlib's object API, no pyplot:
figures render with the Agg canvas, no GUI backend is touched).

Pure functions: they take canonical long frames (``zone, year, sex, age_start, age_end, value``
[, ``q10, q50, q90``]) and return matplotlib figures; :func:`save` writes one. Labels are German; every
figure carries the source note.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["SOURCE_NOTE", "fan_chart", "pyramid", "save"]

SOURCE_NOTE = (
    "Datenbasis: Statistische Ämter des Bundes und der Länder, Destatis GV-ISys, dl-de/by-2-0; "
    "Vorausberechnung: Wandel (eigene Berechnung)"
)


def pyramid(frame: pd.DataFrame, zone: str, years: tuple[int, int], title: str) -> Figure:
    """Population pyramid of ``zone`` by single age: bars for ``years[0]``, outline ``years[1]``."""
    f = frame[frame["zone"] == zone]
    fig = Figure(figsize=(7, 7))
    ax = fig.subplots()
    for year, style in ((years[0], "bar"), (years[1], "line")):
        g = f[f["year"] == year].pivot_table(index="age_start", columns="sex", values="value")
        ages = g.index.to_numpy()
        if style == "bar":
            ax.barh(ages, -g["m"], height=1.0, color="#4c72b0", label=f"Männer {year}")
            ax.barh(ages, g["f"], height=1.0, color="#dd8452", label=f"Frauen {year}")
        else:
            ax.step(
                -g["m"], ages, where="mid", color="black", lw=1, label=f"{year} (Vorausberechnung)"
            )
            ax.step(g["f"], ages, where="mid", color="black", lw=1)
    ax.set_xlabel("Personen je Altersjahr (Männer links, Frauen rechts)")
    ax.set_ylabel("Alter in Jahren")
    ax.set_title(title)
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{abs(x):,.0f}".replace(",", "."))
    ax.legend(loc="upper right", fontsize=8)
    fig.text(0.01, 0.01, SOURCE_NOTE, fontsize=6)
    return fig


def fan_chart(totals: pd.DataFrame, title: str) -> Figure:
    """Fan chart of total population: ``year, value, q10, q50, q90`` (one zone)."""
    t = totals.sort_values("year")
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.fill_between(
        t["year"], t["q10"], t["q90"], color="#4c72b0", alpha=0.3, label="80-%-Intervall"
    )
    ax.plot(t["year"], t["q50"], color="#4c72b0", lw=1, ls="--", label="Median")
    ax.plot(t["year"], t["value"], color="black", lw=1.5, label="Vorausberechnung")
    ax.set_xlabel("Jahr (31.12.)")
    ax.set_ylabel("Einwohner")
    ax.set_title(title)
    ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:,.0f}".replace(",", "."))
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, SOURCE_NOTE, fontsize=6)
    fig.subplots_adjust(bottom=0.18)
    return fig


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` (format from the suffix, e.g. .png or .svg)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": "Wandel"} if path.suffix == ".png" else None)
    return path

"""Compare the CSV and GeoJSON outputs of two runs (e.g. ``make demo`` before and after a change).

Usage: ``python scripts/compare_outputs.py OLD_DIR NEW_DIR [--rtol 1e-9]``

For every CSV file in ``OLD_DIR`` the file of the same name in ``NEW_DIR`` must have the same columns
and rows; numeric columns may differ by ``rtol`` (relative) or 1e-9 (absolute), text columns not at
all. Prints one line per file and exits 1 if any file differs or is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def compare_csv(old: Path, new: Path, rtol: float) -> str | None:
    """None if the two CSV files agree, else why not."""
    a = pd.read_csv(old, dtype=str, keep_default_na=False)
    b = pd.read_csv(new, dtype=str, keep_default_na=False)
    if list(a.columns) != list(b.columns):
        return f"columns differ: {list(a.columns)} vs {list(b.columns)}"
    if len(a) != len(b):
        return f"{len(a)} rows vs {len(b)}"
    worst = 0.0
    for col in a.columns:
        x = pd.to_numeric(a[col].str.replace(",", "."), errors="coerce")
        y = pd.to_numeric(b[col].str.replace(",", "."), errors="coerce")
        numeric = x.notna() & y.notna()
        text_diff = (~numeric) & (a[col] != b[col])
        if text_diff.any():
            i = int(np.flatnonzero(text_diff.to_numpy())[0])
            return f"column {col}, row {i + 2}: {a[col].iloc[i]!r} vs {b[col].iloc[i]!r}"
        xs, ys = x[numeric].to_numpy(float), y[numeric].to_numpy(float)
        if xs.size:
            close = np.isclose(xs, ys, rtol=rtol, atol=1e-9)
            if not close.all():
                i = int(np.flatnonzero(~close)[0])
                return f"column {col}: {xs[i]!r} vs {ys[i]!r} (and {int((~close).sum()) - 1} more)"
            rel = np.abs(xs - ys) / np.maximum(np.abs(xs), 1e-12)
            worst = max(worst, float(rel.max()))
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-9)
    args = ap.parse_args()
    bad = 0
    for old in sorted(args.old.glob("*.csv")):
        new = args.new / old.name
        why = "missing" if not new.exists() else compare_csv(old, new, args.rtol)
        print(f"{'OK  ' if why is None else 'DIFF'} {old.name}{'' if why is None else ': ' + why}")
        bad += why is not None
    print(f"{bad} file(s) differ" if bad else "all files agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

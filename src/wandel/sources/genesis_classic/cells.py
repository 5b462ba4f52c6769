"""The body of a classic table: section rows, value/flag column pairs, numbers, and the cube.

Value/flag column pairs (English exports, ``578191;e``) are found from the header and the data: a
column whose header cells are empty or repeat the column before, and whose cells are all quality
flags, is the flag column of the value column before it. Numbers follow the file's decimal
convention, decided from the language of the title, header and footer (German ``1.234,5``, English
``1,234.5``); GENESIS symbols are kept as a typed status (:mod:`wandel.sources._cells`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wandel.sources._cells import FLAGS, parse_cells
from wandel.sources.genesis_classic.blocks import Blocks, err

__all__ = ["Body", "ValueColumns", "body_of", "cube_cells", "decimal_of", "value_columns"]

_EN_WORDS = frozenset(
    {"germany", "number", "year", "years", "male", "female", "total", "created", "births", "rate"}
)
_DE_WORDS = frozenset(
    {
        "deutschland",
        "anzahl",
        "jahre",
        "männlich",
        "weiblich",
        "insgesamt",
        "stand",
        "bevölkerung",
        "statistisches",
        "stichtag",
        "geschlecht",
        "ziffer",
    }
)


def decimal_of(b: Blocks) -> str:
    """``"."`` for an English export, else ``","`` (counted from the words of title, header, footer)."""
    words: list[str] = []
    for c in [*b.title, *(c for row in b.header for c in row), *b.footer]:
        words.extend(re.findall(r"[a-zäöüß]+", c.lower()))
    en = sum(w in _EN_WORDS for w in words)
    de = sum(w in _DE_WORDS for w in words)
    return "." if en > de else ","


@dataclass(frozen=True)
class Body:
    """Body rows as a grid; ``section`` marks rows with one label and no values."""

    grid: np.ndarray
    line_no: np.ndarray
    section: np.ndarray

    @property
    def data(self) -> np.ndarray:
        out: np.ndarray = self.grid[~self.section]
        return out

    @property
    def data_lines(self) -> np.ndarray:
        out: np.ndarray = self.line_no[~self.section]
        return out


def body_of(b: Blocks) -> Body:
    """The body grid; a row without values that is no section row is an error."""
    grid = np.array(b.body, dtype=object)  # (n_body, ncols)
    line_no = np.arange(b.body_line, b.body_line + len(b.body))
    values_empty = (grid[:, b.k :] == "").all(axis=1)
    label_filled = (grid[:, : b.k] != "").sum(axis=1)
    section = values_empty & (label_filled == 1)
    bad_empty = values_empty & ~section
    if bad_empty.any():
        j = int(np.flatnonzero(bad_empty)[0])
        raise err(
            b.file,
            int(line_no[j]),
            b.k + 1,
            "",
            "a number or a GENESIS symbol",
            "row without values",
        )
    return Body(grid, line_no, section)


@dataclass(frozen=True)
class ValueColumns:
    """Indices of the value columns and, for each, its flag column (or ``None``)."""

    vcols: list[int]
    fcol: dict[int, int | None]


def value_columns(b: Blocks, body: Body) -> ValueColumns:
    """Tell value columns from flag columns (header empty or repeated, data only flags)."""
    data, lines = body.data, body.data_lines
    is_flag = np.zeros(b.ncols, dtype=bool)
    for j in range(b.k + 1, b.ncols):
        if is_flag[j - 1]:
            continue
        head_ok = all(row[j] == "" or row[j] == row[j - 1] for row in b.header)
        col = data[:, j]
        is_fl = np.array([c == "" or c in FLAGS for c in col.tolist()], dtype=bool)
        if head_ok and is_fl.all():
            is_flag[j] = True
        elif head_ok and all(row[j] == "" for row in b.header) and is_fl.mean() >= 0.5:
            r = int(np.flatnonzero(~is_fl)[0])  # a flag column with a stray cell
            raise err(
                b.file,
                int(lines[r]),
                j + 1,
                str(col[r]),
                "a quality flag (p, r, s, e) or nothing",
                "bad flag",
            )
    vcols = [j for j in range(b.k, b.ncols) if not is_flag[j]]
    fcol = {j: (j + 1 if j + 1 < b.ncols and is_flag[j + 1] else None) for j in vcols}
    return ValueColumns(vcols, fcol)


def _cell_error(
    file: str,
    lines: np.ndarray,
    vc: ValueColumns,
    cells: pd.Series,
    flags: pd.Series,
    b: int,
    decimal: str,
) -> Exception:
    mcols = len(vc.vcols)
    r, cc = divmod(b, mcols)
    example = "1.234,5" if decimal == "," else "1,234.5"
    lang = "German" if decimal == "," else "English"
    if str(cells.iloc[b]).strip() == "":
        exp = "a number or a GENESIS symbol (-, ., x, /, ...), not an empty cell"
    else:
        exp = f"a number in {lang} notation ({example}) or a GENESIS symbol (-, ., x, /, ...)"
        fl = flags.iloc[b]
        if (
            pd.notna(fl)
            and str(fl).strip() not in ("", *FLAGS)
            and parse_cells([str(cells.iloc[b])], decimal).bad.sum() == 0
        ):
            return err(
                file,
                int(lines[r]),
                vc.vcols[cc] + 2,
                str(fl),
                "a quality flag (p, r, s, e) or nothing",
            )
    return err(file, int(lines[r]), vc.vcols[cc] + 1, str(cells.iloc[b]), exp)


def cube_cells(
    file: str, data: np.ndarray, lines: np.ndarray, vc: ValueColumns, decimal: str
) -> dict[str, object]:
    """One entry per value cell (row-major): ``line``, ``column``, ``text``, ``value``, ``status``,
    ``flag``; an empty or unreadable cell is an error naming line and column."""
    n, mcols = len(data), len(vc.vcols)
    vgrid = data[:, vc.vcols]
    fgrid = np.array(
        [
            data[:, vc.fcol[j]] if vc.fcol[j] is not None else np.full(n, "", dtype=object)
            for j in vc.vcols
        ],
        dtype=object,
    ).T.reshape(n, mcols)
    cells = pd.Series(vgrid.reshape(-1), dtype="string")
    flags = pd.Series(fgrid.reshape(-1), dtype="string")
    parsed = parse_cells(cells, decimal, flags=flags)
    bad = parsed.bad | (parsed.status == "empty")
    if bad.any():
        raise _cell_error(file, lines, vc, cells, flags, int(np.flatnonzero(bad)[0]), decimal)
    return {
        "line": np.repeat(lines, mcols),
        "column": np.tile(np.array(vc.vcols) + 1, n),
        "text": vgrid.reshape(-1),
        "value": parsed.value,
        "status": parsed.status,
        "flag": parsed.flag,
    }

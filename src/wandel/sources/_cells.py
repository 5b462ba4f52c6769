"""Numbers and GENESIS symbols in table cells.

Official tables mix numbers with symbols that are *not* numbers (Zeichenerklärung of the statistical
offices). Wandel reads them into a typed state and never into a value:

==========  ==================  ===========================================================
symbol      status              meaning
==========  ==================  ===========================================================
``-``       ``nothing``         nothing there, exactly zero; or the region did not exist then
``.``       ``unknown``         unknown or kept secret
``x``       ``not_meaningful``  the cell cannot be filled meaningfully
``/``       ``unreliable``      no figure because it is not reliable enough
``...``     ``later``           figure not yet available
``(n)``     ``limited``         a figure of limited reliability; the value ``n`` is kept
==========  ==================  ===========================================================

Quality flags (``p`` provisional, ``r`` revised, ``s`` estimated, ``e`` final) are kept apart from the
value. Numbers follow one decimal convention per file: German (``1.234,5``; thousands ``.`` or a space)
or English (``1,234.5``). A number in the other convention is an error, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "FLAGS",
    "STATUS_OF_SYMBOL",
    "ParsedCells",
    "number_pattern",
    "parse_cell",
    "parse_cells",
]

STATUS_OF_SYMBOL: dict[str, str] = {
    "-": "nothing",
    ".": "unknown",
    "x": "not_meaningful",
    "X": "not_meaningful",
    "/": "unreliable",
    "...": "later",
    "…": "later",
}
"""Map of GENESIS symbols to the status Wandel stores."""

FLAGS = frozenset({"p", "r", "s", "e"})
"""Quality flags: provisional, revised, estimated (geschätzt), final (endgültig)."""

_SPACE = "[ \u00a0\u202f]"


def number_pattern(decimal: str) -> str:
    """Regular expression for one number in the given decimal convention (``","`` or ``"."``).

    Thousands separators must group exactly three digits.

    >>> bool(re.fullmatch(number_pattern(","), "1.234.567,89"))
    True
    >>> bool(re.fullmatch(number_pattern(","), "1,234.5"))
    False
    """
    if decimal == ",":
        thousands = rf"(?:\.|{_SPACE})"
        frac = r"(?:,\d+)?"
    elif decimal == ".":
        thousands = rf"(?:,|{_SPACE})"
        frac = r"(?:\.\d+)?"
    else:  # pragma: no cover - programming error
        raise ValueError(f"decimal must be ',' or '.', not {decimal!r}")
    # either plain digits or digits grouped by one consistent separator
    grouped = rf"\d{{1,3}}(?:{thousands}\d{{3}})+"
    return rf"[+-]?(?:{grouped}|\d+){frac}"


def _compile(decimal: str) -> re.Pattern[str]:
    return re.compile(
        r"^(?P<open>\()?\s*(?P<num>" + number_pattern(decimal) + r")\s*(?P<close>\))?"
        r"(?:\s*(?P<flag>[prse]))?$"
    )


_PATTERNS = {",": _compile(","), ".": _compile(".")}


@dataclass(frozen=True)
class ParsedCells:
    """Cells parsed column-wise.

    ``value`` is NaN wherever ``status`` names a symbol without a figure; ``bad`` marks cells that are
    neither a number nor a symbol (the caller turns the first one into an :class:`InputFormatError`).
    """

    value: npt.NDArray[np.float64]
    status: npt.NDArray[np.object_]
    flag: npt.NDArray[np.object_]
    bad: npt.NDArray[np.bool_]


def _to_float(num: str, decimal: str) -> float:
    cleaned = re.sub(_SPACE, "", num)
    if decimal == ",":
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    return float(cleaned)


def parse_cell(text: str | None, decimal: str = ",") -> tuple[float, str | None, str | None] | None:
    """Parse one cell into ``(value, status, flag)``; ``None`` if it is neither number nor symbol.

    An empty cell is ``(nan, "empty", None)``: the caller decides whether empty is allowed.

    >>> parse_cell("1.234,5")
    (1234.5, None, None)
    >>> parse_cell("-")
    (nan, 'nothing', None)
    >>> parse_cell("(12)")
    (12.0, 'limited', None)
    >>> parse_cell("1,234.5") is None
    True
    """
    if text is None:
        return (float("nan"), "empty", None)
    s = text.strip()
    if s == "":
        return (float("nan"), "empty", None)
    flag: str | None = None
    sym = s
    m_flag = re.fullmatch(r"(.*?)\s+([prse])", s)
    if m_flag and m_flag.group(1) in STATUS_OF_SYMBOL:
        sym, flag = m_flag.group(1), m_flag.group(2)
    if sym in STATUS_OF_SYMBOL:
        return (float("nan"), STATUS_OF_SYMBOL[sym], flag)
    m = _PATTERNS[decimal].match(s)
    if m is None or bool(m.group("open")) != bool(m.group("close")):
        return None
    value = _to_float(m.group("num"), decimal)
    status = "limited" if m.group("open") else None
    return (value, status, m.group("flag"))


def parse_cells(
    cells: pd.Series | npt.ArrayLike, decimal: str = ",", flags: pd.Series | None = None
) -> ParsedCells:
    """Vectorised :func:`parse_cell` over a column of strings (``None``/NaN means empty).

    ``flags`` is an optional parallel column of quality flags (as in English exports and flat files,
    where the flag sits in its own column); an unknown flag marks the cell bad.
    """
    s = (
        pd.Series(cells, dtype="string")
        if not isinstance(cells, pd.Series)
        else cells.astype("string")
    )
    s = s.str.strip()
    n = len(s)
    value = np.full(n, np.nan)
    status = np.full(n, None, dtype=object)
    flag = np.full(n, None, dtype=object)
    bad = np.zeros(n, dtype=bool)

    empty = (s.isna() | (s == "")).to_numpy(dtype=bool)
    status[empty] = "empty"
    # fast path: plain integers, the bulk of every statistical table
    plain = s.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool)
    if plain.any():
        value[plain] = s[plain].astype("float64").to_numpy()
    rest = ~(empty | plain)
    if rest.any():
        sub = s[rest]
        sym_status = sub.map(STATUS_OF_SYMBOL)
        is_sym = sym_status.notna().to_numpy(dtype=bool)
        idx_rest = np.flatnonzero(rest)
        status[idx_rest[is_sym]] = sym_status[is_sym].to_numpy(dtype=object)
        others = sub[~is_sym]
        if len(others):
            ext = others.str.extract(_PATTERNS[decimal])
            ok = ext["num"].notna() & (ext["open"].notna() == ext["close"].notna())
            idx_o = idx_rest[~is_sym]
            okn = ok.to_numpy(dtype=bool)
            nums = ext.loc[ok, "num"].astype(str)
            nums = nums.str.replace(_SPACE, "", regex=True)
            if decimal == ",":
                nums = nums.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            else:
                nums = nums.str.replace(",", "", regex=False)
            value[idx_o[okn]] = nums.astype("float64").to_numpy()
            lim = ext.loc[ok, "open"].notna().to_numpy(dtype=bool)
            status[idx_o[okn][lim]] = "limited"
            fl = ext.loc[ok, "flag"]
            has_fl = fl.notna().to_numpy(dtype=bool)
            flag[idx_o[okn][has_fl]] = fl[has_fl].to_numpy(dtype=object)
            # symbols followed by a flag, e.g. ". p"
            rem = idx_o[~okn]
            if len(rem):
                for i in rem:
                    parsed = parse_cell(str(s.iloc[i]), decimal)
                    if parsed is None:
                        bad[i] = True
                    else:
                        value[i], status[i], flag[i] = parsed
    if flags is not None:
        f = pd.Series(flags, dtype="string").str.strip()
        f_arr = f.to_numpy(dtype=object, na_value=None)
        for i in np.flatnonzero(pd.notna(f_arr) & (f.fillna("") != "").to_numpy(dtype=bool)):
            code = str(f_arr[i])
            if code in FLAGS:
                flag[i] = code
            elif code in STATUS_OF_SYMBOL:
                # the status may sit in the flag column (ffcsv "value_q"), with an empty value
                if status[i] in ("empty", None) and np.isnan(value[i]):
                    status[i] = STATUS_OF_SYMBOL[code]
            else:
                bad[i] = True
    return ParsedCells(value=value, status=status, flag=flag, bad=bad)

"""Numbers as people read them: German (``13.885``, ``12,5 %``) or English, and rounded for
Leichte Sprache (``ungefähr 14.000``, ``1 von 3``).

>>> fmt(13885.4, lang="de"), fmt(13885.4, lang="en"), fmt(0.125 * 100, 1, "de")
('13.885', '13,885', '12,5')
>>> fmt_signed(-1234, lang="de"), fmt_signed(3.25, 1, "de"), fmt_signed(0, lang="de")
('−1.234', '+3,2', '±0')
>>> fmt(float("nan")), fmt_signed(float("nan"))
('.', '.')
>>> round_easy(13885), round_easy(912), round_easy(47), round_easy(104_321)
(14000, 900, 50, 100000)
>>> one_in(0.318), one_in(0.52), one_in(0.09)
(3, 2, 11)
"""

from __future__ import annotations

import math

from wandel.reports.disclosure import SECRET

__all__ = ["fmt", "fmt_signed", "one_in", "round_easy"]

MINUS = "\u2212"
"""The typographic minus sign (U+2212), used for negative numbers in text."""


def fmt(value: float, digits: int = 0, lang: str = "de") -> str:
    """``value`` with thousands separators and ``digits`` decimals in the language's form.

    Rounding is half to even on the binary value (Python's ``format``); a negative number gets the
    typographic minus sign. A missing value (NaN: kept secret in the public edition, or unknown) is
    the GENESIS sign ``.`` (:data:`~wandel.reports.disclosure.SECRET`).
    """
    if math.isnan(value):
        return SECRET
    text = f"{abs(value):,.{digits}f}"
    if lang == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    negative = value < 0 and float(text.replace(".", "").replace(",", "")) != 0
    return (MINUS if negative else "") + text


def fmt_signed(value: float, digits: int = 0, lang: str = "de") -> str:
    """Like :func:`fmt` with an explicit sign: ``+12``, ``−3``, ``±0``."""
    text = fmt(value, digits, lang)
    if text == SECRET or text.startswith(MINUS):
        return text
    zero = float(text.replace(".", "").replace(",", "")) == 0
    return ("±" if zero else "+") + text


def round_easy(value: float) -> int:
    """Round to two significant digits (one below 100): the form Leichte Sprache asks for.

    ``13.885 -> 14.000``, ``912 -> 900`` (below 1000: one significant digit), ``47 -> 50``.
    """
    if value == 0 or not math.isfinite(value):
        return 0
    mag = math.floor(math.log10(abs(value)))
    sig = 2 if mag >= 3 else 1
    step = 10 ** (mag - sig + 1)
    return int(round(value / step) * step)


def one_in(share: float) -> int:
    """``n`` in "1 von n": the whole number nearest to ``1 / share`` (at least 1).

    A share of 0.318 is "1 von 3"; Leichte Sprache prefers this to "31,8 %".
    """
    if share <= 0 or not math.isfinite(share):
        raise ValueError(f"share must be positive, got {share}")
    return max(1, round(1 / share))

"""Numbers in the user's language: ``13.885`` and ``30,7 %`` in German, ``13,885`` and ``30.7 %`` in
English. Shares (unit ``share``) are shown in percent."""

from __future__ import annotations

import math

from wandel.compare.catalogue import Indicator
from wandel.i18n import current_lang

__all__ = ["format_number", "format_value", "short_name"]

_NO_UNIT_IN_TEXT = {"persons"}


def format_number(x: float, decimals: int, lang: str | None = None) -> str:
    """``x`` rounded to ``decimals`` with the language's separators; a minus sign, not a hyphen.

    >>> format_number(13885.0, 0, "de"), format_number(-7.25, 1, "de"), format_number(1234.5, 1, "en")
    ('13.885', '−7,2', '1,234.5')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    text = f"{abs(x):,.{decimals}f}"
    if (lang or current_lang()) == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    negative = round(x, decimals) < 0
    return ("−" if negative else "") + text


def format_value(x: float, ind: Indicator, lang: str | None = None, unit: bool = True) -> str:
    """A value of ``ind`` as shown to users: shares in percent, with the unit where it helps.

    >>> from wandel.compare.catalogue import load_catalogue
    >>> format_value(0.30707, load_catalogue()["share_65plus"], "de")
    '30,7 %'
    """
    shown = x * 100.0 if ind.unit == "share" else x
    text = format_number(shown, ind.decimals, lang)
    if unit and ind.unit not in _NO_UNIT_IN_TEXT:
        text += " " + ind.unit_text(lang)
    return text


def short_name(name: str) -> str:
    """A Gemeinde's name without the Gemeindeverzeichnis suffix: ``Hettstedt, Stadt`` -> ``Hettstedt``.

    >>> short_name("Hettstedt, Stadt"), short_name("Saalfeld/Saale, Stadt"), short_name("Görlitz")
    ('Hettstedt', 'Saalfeld/Saale', 'Görlitz')
    """
    return name.split(",")[0].strip()

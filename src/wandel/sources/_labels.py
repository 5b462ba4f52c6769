"""Labels of official tables: ages, sexes, dates and regions, parsed into canonical keys.

GENESIS tables and flat files name their categories in words (``3 bis unter 6 Jahre``, ``weiblich``,
``31.12.2015``) or codes (``ALT003B06``, ``GESW``, ``01001``). This module turns one label into its
canonical key and says plainly when a label is not understood. Functions return ``None`` for a label
that is not of their kind and raise :class:`~wandel.errors.LabelError` for a label that is of their kind but broken
(``31.13.2015``, ``1001`` as a Kreis code); readers turn a :class:`LabelError` into an
:class:`~wandel.errors.InputFormatError` with file, line and column.

Ages are half-open intervals ``[age_start, age_end)``; the open group has ``age_end = None``; "all
ages" (``Insgesamt``, ``Total``) is ``(0, None)``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from wandel.errors import LabelError

__all__ = [
    "AGE_GROUPS_17",
    "AGE_TOTAL",
    "CENSUS_DATES",
    "SEX_TOTAL",
    "AgeGroup",
    "Period",
    "census_date_in",
    "is_age_unknown",
    "is_total",
    "normalise_ags",
    "parse_age_code",
    "parse_age_label",
    "parse_census_date",
    "parse_period_label",
    "parse_sex_label",
    "parse_year_label",
]

AGE_GROUPS_17: tuple[tuple[str, str], ...] = (
    ("ALT000B03", "unter 3 Jahre"),
    ("ALT003B06", "3 bis unter 6 Jahre"),
    ("ALT006B10", "6 bis unter 10 Jahre"),
    ("ALT010B15", "10 bis unter 15 Jahre"),
    ("ALT015B18", "15 bis unter 18 Jahre"),
    ("ALT018B20", "18 bis unter 20 Jahre"),
    ("ALT020B25", "20 bis unter 25 Jahre"),
    ("ALT025B30", "25 bis unter 30 Jahre"),
    ("ALT030B35", "30 bis unter 35 Jahre"),
    ("ALT035B40", "35 bis unter 40 Jahre"),
    ("ALT040B45", "40 bis unter 45 Jahre"),
    ("ALT045B50", "45 bis unter 50 Jahre"),
    ("ALT050B55", "50 bis unter 55 Jahre"),
    ("ALT055B60", "55 bis unter 60 Jahre"),
    ("ALT060B65", "60 bis unter 65 Jahre"),
    ("ALT065B75", "65 bis unter 75 Jahre"),
    ("ALT075UM", "75 Jahre und mehr"),
)
"""The 17 age groups of the Regionaldatenbank (e.g. 12411-02-03-5): attribute code and label."""


@dataclass(frozen=True)
class AgeGroup:
    """An age group ``[start, end)``; ``end`` is ``None`` for the open group."""

    start: int
    end: int | None

    @property
    def is_all(self) -> bool:
        """True for "all ages" (0, open)."""
        return self.start == 0 and self.end is None


@dataclass(frozen=True)
class Period:
    """A period of years such as ``2022/24`` (life tables): first and last calendar year."""

    first: int
    last: int

    @property
    def label(self) -> str:
        """Canonical label ``YYYY/YY`` (``2022/24``)."""
        return f"{self.first}/{self.last % 100:02d}"


AGE_TOTAL = AgeGroup(0, None)
SEX_TOTAL = "t"

_TOTALS = frozenset({"insgesamt", "total", "zusammen", "gesamt", "alle altersgruppen", "all ages"})
_AGE_UNKNOWN = frozenset({"age unknown", "alter unbekannt", "unbekannt", "ohne angabe"})

_SEX = {
    "männlich": "m",
    "maennlich": "m",
    "male": "m",
    "männer": "m",
    "men": "m",
    "weiblich": "f",
    "female": "f",
    "frauen": "f",
    "women": "f",
    "insgesamt": "t",
    "total": "t",
    "zusammen": "t",
    "gesm": "m",
    "gesw": "f",
}

_Y = r"(?:jahre?n?|jährige?n?|years?|year-olds?)"
_AGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), kind)
    for p, kind in [
        (rf"(?:unter|under|below)\s+(\d{{1,3}})(?:-|\s+){_Y}", "under"),
        (rf"(\d{{1,3}})\s+(?:bis\s+unter|to\s+under)\s+(\d{{1,3}})\s+{_Y}", "range"),
        (rf"(\d{{1,3}})\s*-\s*(\d{{1,3}})\s+{_Y}", "closed"),
        (rf"(\d{{1,3}})\s+(?:bis|to)\s+(\d{{1,3}})\s+{_Y}", "closed"),
        (
            rf"(\d{{1,3}})(?:-|\s+){_Y}\s+(?:und|and)\s+(?:mehr|älter|aelter|over|older|more)",
            "open",
        ),
        (rf"(\d{{1,3}})\s+(?:und|and)\s+(?:mehr|älter|over|older)(?:\s+{_Y})?", "open"),
        (rf"(\d{{1,3}})\s*(?:-|\s+){_Y}", "single"),
    ]
)


def _clean(label: str) -> str:
    return re.sub(r"\s+", " ", label.replace("\u00a0", " ")).strip()


def is_total(label: str) -> bool:
    """True if ``label`` names a total (``Insgesamt``, ``Total``...).

    >>> is_total("  Insgesamt"), is_total("männlich")
    (True, False)
    """
    return _clean(label).lower() in _TOTALS


def is_age_unknown(label: str) -> bool:
    """True for the "age unknown" category (``Alter unbekannt``, ``age unknown``)."""
    return _clean(label).lower() in _AGE_UNKNOWN


@lru_cache(maxsize=4096)
def parse_age_label(label: str) -> AgeGroup | None:
    """Parse an age label into an :class:`AgeGroup`; ``None`` if it is not an age label.

    >>> parse_age_label("3 bis unter 6 Jahre")
    AgeGroup(start=3, end=6)
    >>> parse_age_label("75 Jahre und mehr")
    AgeGroup(start=75, end=None)
    >>> parse_age_label("10 bis 19 Jahre"), parse_age_label("10 to 19 years")
    (AgeGroup(start=10, end=20), AgeGroup(start=10, end=20))
    >>> parse_age_label("1-Jährige"), parse_age_label("unter 1 Jahr")
    (AgeGroup(start=1, end=2), AgeGroup(start=0, end=1))
    >>> parse_age_label("Insgesamt")
    AgeGroup(start=0, end=None)

    Raises
    ------
    LabelError
        For an age label whose bounds are impossible (``6 bis unter 3 Jahre``).
    """
    s = _clean(label)
    if s.lower() in _TOTALS:
        return AGE_TOTAL
    for pattern, kind in _AGE_PATTERNS:
        m = pattern.fullmatch(s)
        if m is None:
            continue
        a = int(m.group(1))
        if kind == "under":
            group = AgeGroup(0, a)
        elif kind == "range":
            group = AgeGroup(a, int(m.group(2)))
        elif kind == "closed":  # "15-19 Jahre", "10 bis 19 Jahre" (Zensus 2022): both ends included
            group = AgeGroup(a, int(m.group(2)) + 1)
        elif kind == "open":
            group = AgeGroup(a, None)
        else:
            group = AgeGroup(a, a + 1)
        if group.end is not None and group.end <= group.start:
            raise LabelError(label, "an age group whose upper bound lies above its lower bound")
        if group.start > 130 or (group.end is not None and group.end > 131):
            raise LabelError(label, "ages between 0 and 130")
        return group
    return None


_AGE_CODE = (
    (re.compile(r"ALT(\d{3})B(\d{2,3})"), "range"),
    (re.compile(r"ALT(\d{3})UM"), "open"),
    (re.compile(r"ALTU(\d{2,3})"), "under"),
    (re.compile(r"ALTVOLL(\d{3})|ALT(\d{3})"), "single"),
)


@lru_cache(maxsize=4096)
def parse_age_code(code: str) -> AgeGroup | None:
    """Parse a GENESIS age attribute code (``ALT000B03``, ``ALT075UM``); ``None`` if unknown.

    The empty code of a flat file's total is "all ages".

    >>> parse_age_code("ALT003B06"), parse_age_code("ALT075UM")
    (AgeGroup(start=3, end=6), AgeGroup(start=75, end=None))
    """
    s = code.strip().upper()
    if s == "":
        return AGE_TOTAL
    for pattern, kind in _AGE_CODE:
        m = pattern.fullmatch(s)
        if m is None:
            continue
        a = int(next(g for g in m.groups() if g is not None))
        if kind == "range":
            b = int(m.group(2))
            return AgeGroup(a, b) if b > a else None
        if kind == "open":
            return AgeGroup(a, None)
        if kind == "under":
            return AgeGroup(0, a)
        return AgeGroup(a, a + 1)
    return None


def parse_sex_label(label: str) -> str | None:
    """``"m"``, ``"f"`` or ``"t"`` (both) for a sex label or code; ``None`` if it is none.

    >>> parse_sex_label("weiblich"), parse_sex_label("Male"), parse_sex_label("Insgesamt")
    ('f', 'm', 't')
    """
    return _SEX.get(_clean(label).lower())


_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_YEAR = re.compile(r"(?:19|20|21)\d{2}")
_PERIOD = re.compile(r"((?:19|20)\d{2})\s*/\s*(\d{2}|\d{4})")


def _check_date(label: str, year: int, month: int, day: int) -> int:
    try:
        dt.date(year, month, day)
    except ValueError:
        raise LabelError(label, "a valid date DD.MM.YYYY (e.g. 31.12.2015)") from None
    if (month, day) != (12, 31):
        raise LabelError(label, "a reference date of 31 December (31.12.YYYY)")
    return year


CENSUS_DATES: dict[int, str] = {1987: "1987-05-25", 2011: "2011-05-09", 2022: "2022-05-15"}
"""The reference dates of the German censuses (Volkszählung 1987, Zensus 2011, Zensus 2022), ISO."""

_CENSUS_IN_TEXT = re.compile(
    r"(?<!\d)(25\.05\.1987|09\.05\.2011|15\.05\.2022|1987-05-25|2011-05-09|2022-05-15)(?!\d)"
)
_CENSUS_NAME = re.compile(r"\b(?:Zensus|Census|Volkszählung)\s*(1987|2011|2022)\b", re.IGNORECASE)


def parse_census_date(label: str) -> str | None:
    """The ISO reference date of a census date label (``09.05.2011``, ``2022-05-15``); ``None`` for
    any other label.

    >>> parse_census_date("09.05.2011"), parse_census_date("2022-05-15"), parse_census_date("2011")
    ('2011-05-09', '2022-05-15', None)
    """
    s = _clean(label)
    m = _DATE.fullmatch(s)
    if m:
        iso = f"{int(m.group(3)):04d}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    elif _ISO.fullmatch(s):
        iso = s
    else:
        return None
    return iso if iso in CENSUS_DATES.values() else None


def census_date_in(text: str) -> str | None:
    """The census reference date a title names: a census date (``Stichtag 09.05.2011``) or the
    census by name (``Zensus 2022``); ``None`` if it names none.

    >>> census_date_in("Bevölkerung - Stichtag 09.05.2011 - Gemeinden"), census_date_in("Zensus 2022")
    ('2011-05-09', '2022-05-15')
    """
    m = _CENSUS_IN_TEXT.search(text)
    if m:
        return parse_census_date(m.group(1))
    n = _CENSUS_NAME.search(text)
    return CENSUS_DATES[int(n.group(1))] if n else None


def parse_year_label(label: str) -> int | None:
    """The reference year of a date or year label; ``None`` if the label is neither.

    ``31.12.2015`` and ``2015-12-31`` give 2015; a plain year ``2015`` gives 2015. Stocks refer to
    31 December: another day is refused rather than silently shifted.

    >>> parse_year_label("31.12.2015"), parse_year_label("2023"), parse_year_label("männlich")
    (2015, 2023, None)

    Raises
    ------
    LabelError
        For an impossible date (``31.13.2015``) or a day other than 31 December.
    """
    s = _clean(label)
    m = _DATE.fullmatch(s)
    if m:
        return _check_date(label, int(m.group(3)), int(m.group(2)), int(m.group(1)))
    m = _ISO.fullmatch(s)
    if m:
        return _check_date(label, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if _YEAR.fullmatch(s):
        return int(s)
    return None


def parse_period_label(label: str) -> Period | None:
    """A period of years (``2022/24``, ``1991/93``, ``2022/2024``); ``None`` if it is none.

    >>> parse_period_label("2022/24")
    Period(first=2022, last=2024)
    >>> parse_period_label("1999/01").label
    '1999/01'
    """
    m = _PERIOD.fullmatch(_clean(label))
    if m is None:
        return None
    first = int(m.group(1))
    tail = m.group(2)
    if len(tail) == 4:
        last = int(tail)
    else:
        last = first - first % 100 + int(tail)
        if last < first:
            last += 100
    if not first < last <= first + 10:
        raise LabelError(label, "a period of years such as 2022/24")
    return Period(first, last)


_AGS_LEN = frozenset({2, 3, 5, 8, 9})


def normalise_ags(code: str) -> str:
    """Validate a region code and return it as the canonical AGS string.

    ``DG`` (Germany) stays; 2 digits is a Land (``01``..``16``), 3 a Regierungsbezirk, 5 a Kreis,
    8 a Gemeinde, 9 a Gemeindeverband; a 12-digit ARS becomes the 8-digit AGS
    (``ARS[:5] + ARS[9:]``). Codes are never padded: ``1001`` has lost its leading zero and is an
    error, because it could be ``01001`` or a truncated Gemeinde key.

    >>> normalise_ags("01001"), normalise_ags("DG"), normalise_ags("150870220220")
    ('01001', 'DG', '15087220')

    Raises
    ------
    LabelError
        If the code has a length no AGS has, or names no Land.
    """
    s = code.strip()
    if s.upper() in ("DG", "DE"):
        return "DG"
    if not s.isdigit() or not s.isascii():
        raise LabelError(code, "an AGS region code of digits (e.g. 15 or 15087) or DG")
    if len(s) == 12:
        s = s[:5] + s[9:]
    if len(s) not in _AGS_LEN:
        hint = " (a leading zero lost?)" if len(s) in (1, 4, 7) else ""
        raise LabelError(
            code,
            f"an AGS of 2, 3, 5, 8 or 9 digits with its leading zeros{hint}",
        )
    if not 1 <= int(s[:2]) <= 16:
        raise LabelError(code, "an AGS whose first two digits name a Land (01..16)")
    return s

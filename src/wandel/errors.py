"""The exceptions Wandel raises for a user's mistake: one hierarchy, in this one file.

One base class, :class:`WandelError`; each specific error also inherits the matching builtin so that
callers who catch ``ValueError`` or ``FileNotFoundError`` keep working. Errors about input files carry
where the problem is (file, line, column), the offending value and what was expected, and render all of
it in one readable message.

Languages
---------
``str(error)`` is English: the text for logs, tracebacks and tests. :meth:`WandelError.message`
renders the same message in a language of the user interface (``error.message("de")``; the CLI and
the web app show that one, :func:`wandel.i18n.error_text`). A message is

* a catalogue key with its fields, written ``"@key"`` (the same mark as the CLI's help keys):
  ``OptionError("@error.option.either", first="--demand", second="--projection")``; the text of the
  key (``wandel/data/i18n/errors.yaml``) is filled in the language asked, and a field that is itself
  a ``"@key"`` is translated too;
* the same as one string, ``keyed("demography.note.extra_flow_ignored", zone="01001")``: the key
  and its fields (JSON) for texts that travel as values until they are shown (the notes of the
  model, a reader's reason for rows left out); :func:`say` renders it like the pair;
* or free text in English, as most readers write their ``reason`` and ``expected``: a free text
  that is exactly the English text of a ``phrase.*`` key (``"missing column"``, ``"duplicate id"``)
  is shown in the user's language; any other free text is shown as written, in English, inside the
  translated frame (file, line, column, found, expected), so that a German reader still sees the
  where and the what in German.

>>> e = InputFormatError("a.csv", line=3, column="id", value="", reason="empty id")
>>> str(e)
"a.csv, line 3, column id: empty id: found ''"
>>> e.message("de")
"a.csv, Zeile 3, Spalte id: leere Kennung: gefunden ''"
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wandel import _catalogue

__all__ = [
    "KEY_MARK",
    "AccessDeniedError",
    "AgeGroupError",
    "AmbiguousRegionError",
    "CatalogueError",
    "DuplicateKeyError",
    "ExportError",
    "FacilityOutsideZonesError",
    "FetchError",
    "IncompatibleRatesError",
    "InconsistentTotalError",
    "IndicatorCatalogueError",
    "InfeasibleModelError",
    "InputFormatError",
    "InputLocation",
    "InvalidKeyError",
    "LabelError",
    "LoginError",
    "LoginRequiredError",
    "MissingColumnError",
    "MissingCredentialsError",
    "MissingDataError",
    "MissingParameterError",
    "ModelInputError",
    "NotComparableError",
    "OptionError",
    "OutputPathError",
    "RateRangeError",
    "RegionNameError",
    "ReportError",
    "ServiceBusyError",
    "ServiceCatalogueError",
    "ServiceLoginError",
    "SettingError",
    "SnapError",
    "SolverLimitError",
    "StoreError",
    "TableTooLargeError",
    "UnknownChoiceError",
    "UnknownFormatError",
    "UnknownIndicatorError",
    "UnknownNetworkError",
    "UnknownRegionError",
    "UnknownRuleError",
    "UnknownServiceError",
    "UnknownTableError",
    "UnknownVariantError",
    "UnknownZoneError",
    "UnsupportedModelError",
    "UserError",
    "WandelError",
]

KEY_MARK = "@"
"""A text that starts with this mark is a catalogue key (:mod:`wandel.i18n`)."""


def keyed(key: str, /, **fields: object) -> str:
    """The catalogue message ``key`` with its ``fields`` as one string, ``"@key {json}"``: a text
    that travels as a value (a note of the model, a reason for rows left out) and is put into words
    only when it is shown (:func:`say`, :func:`wandel.i18n.note_text`). Fields are numbers, strings
    (a string that is itself ``"@key"`` or ``keyed(...)`` is translated too) and sequences of them
    (joined with ``", "``); numpy scalars become Python numbers.

    >>> keyed("error.expected", expected="duplicate id")
    '@error.expected {"expected": "duplicate id"}'
    >>> say(keyed("error.expected", expected="duplicate id"), "de")
    'erwartet: doppelte Kennung'
    """
    if not fields:
        return KEY_MARK + key
    packed = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=_plain)
    return f"{KEY_MARK}{key} {packed}"


def _plain(value: object) -> object:
    """A JSON value for a numpy scalar (``.item()``) or a set (sorted)."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"a message field cannot be {type(value).__name__}: {value!r}")


def say(text: str, lang: str, fields: Mapping[str, object] | None = None) -> str:
    """One message part in ``lang``: a ``"@key"`` (or :func:`keyed` string) filled with ``fields``,
    a known English phrase translated, any other free text as written. Numbers with a format in the
    text (``{rho:.2f}``) get the decimal mark of the language.

    >>> say("@error.expected", "de", {"expected": "duplicate id"})
    'erwartet: doppelte Kennung'
    >>> say("something else", "de"), say("@someone wrote this", "de")
    ('something else', '@someone wrote this')
    """
    if text.startswith(KEY_MARK):
        key, _, packed = text[len(KEY_MARK) :].partition(" ")
        try:
            given = json.loads(packed) if packed else {}
        except ValueError:  # free text that happens to start with the mark: as written
            return text
        if not isinstance(given, dict):
            return text
        given.update(fields or {})
        filled = {k: _field(v, lang) for k, v in given.items()}
        return _catalogue.text(key, lang, **filled)
    return _catalogue.load().phrase(text, lang) or text


def _field(value: object, lang: str) -> object:
    if isinstance(value, str):
        return say(value, lang)
    if isinstance(value, Sequence):
        return ", ".join(str(_field(v, lang)) for v in value)
    return value


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (a long cell stays readable in one line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _restore(cls: type[WandelError], args: tuple[Any, ...], state: dict[str, Any]) -> WandelError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class WandelError(Exception):
    """Base class of every error Wandel raises on purpose.

    Parameters
    ----------
    message
        Free text (English), or a catalogue key written ``"@key"``.
    **fields
        The placeholders of the key's text.
    """

    def __init__(self, message: str = "", /, **fields: object) -> None:
        self.text = message
        self.fields: dict[str, object] = dict(fields)
        super().__init__(message)

    def message(self, lang: str) -> str:
        """The message in ``lang`` (``de`` or ``en``)."""
        return say(self.text, lang, self.fields)

    def __str__(self) -> str:
        return self.message("en")

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword fields survive pickling (errors raised in Dask workers come back whole)
        return (_restore, (type(self), self.args, dict(self.__dict__)))


# --------------------------------------------------------------------------------------------
# input files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputLocation:
    """Where in an input file a problem sits. Lines and columns count from 1; ``None`` if unknown."""

    file: str
    line: int | None = None
    column: str | int | None = None

    def message(self, lang: str) -> str:
        """``file, line 3, column id`` in ``lang``."""
        parts = [self.file]
        if self.line is not None:
            parts.append(_catalogue.text("error.at_line", lang, line=self.line))
        if self.column is not None:
            parts.append(_catalogue.text("error.at_column", lang, column=self.column))
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.message("en")


class InputFormatError(WandelError, ValueError):
    """An input file does not follow the layout it claims to follow.

    Parameters
    ----------
    file, line, column
        Where the problem is (``line`` 1-based; ``column`` a 1-based index or a column name).
    value
        The offending text as read, if there is one.
    expected
        What the reader expected at that place, in plain words (free text or ``"@key"``).
    reason
        What is wrong (free text or ``"@key"``).
    fields
        The placeholders of ``reason`` and ``expected`` when they are keys.
    """

    def __init__(
        self,
        file: str,
        *,
        line: int | None = None,
        column: str | int | None = None,
        value: object = None,
        expected: str = "",
        reason: str = "",
        fields: Mapping[str, object] | None = None,
    ) -> None:
        self.location = InputLocation(str(file), line, column)
        self.file = str(file)
        self.line = line
        self.column = column
        self.value = value
        self.expected = expected
        self.reason = reason
        super().__init__("", **(fields or {}))
        self.args = (str(self),)

    def message(self, lang: str) -> str:
        msg = self.location.message(lang)
        if self.reason:
            msg += ": " + say(self.reason, lang, self.fields)
        if self.value is not None:
            msg += ": " + _catalogue.text("error.found", lang, value=shown(self.value))
        if self.expected:
            expected = say(self.expected, lang, self.fields)
            msg += "; " + _catalogue.text("error.expected", lang, expected=expected)
        return msg


class MissingColumnError(InputFormatError):
    """A required column or header field is missing."""


class DuplicateKeyError(InputFormatError):
    """The same key (zone, year, sex, age...) appears twice in one file."""


class InconsistentTotalError(InputFormatError):
    """Published parts do not add up to the published total."""


class RegionNameError(InputFormatError):
    """A region given by name that the region register cannot resolve to one AGS.

    ``candidates`` lists ``(AGS, official name)`` pairs: the regions the name could mean
    (:class:`AmbiguousRegionError`) or the nearest names (:class:`UnknownRegionError`).
    """

    candidates: tuple[tuple[str, str], ...] = ()


class UnknownRegionError(RegionNameError):
    """A region name matches no region of the register in the table's year."""


class AmbiguousRegionError(RegionNameError):
    """A region name matches two or more regions of the register in the table's year."""


class UnknownFormatError(WandelError, ValueError):
    """No reader recognises the file (``--kind auto``), or the requested kind does not exist."""


class LabelError(WandelError, ValueError):
    """A label of a known kind that is malformed (``31.13.2015`` as a date, ``1001`` as a Kreis
    code); ``expected`` says what would have been valid. Readers turn it into an
    :class:`InputFormatError` with file, line and column (:mod:`wandel.sources._labels`)."""

    def __init__(self, value: str, expected: str) -> None:
        self.value = value
        super().__init__("@error.label", label=shown(value), expected=expected)
        self.expected = expected


class InvalidKeyError(WandelError, ValueError):
    """A key is not a valid AGS/ARS (wrong length, not digits, unknown Land)."""


# --------------------------------------------------------------------------------------------
# the store and what it holds
# --------------------------------------------------------------------------------------------


class StoreError(WandelError, RuntimeError):
    """The store cannot be opened or is not a Wandel store."""


class UnknownZoneError(WandelError, ValueError):
    """A key (AGS) that the store does not know, e.g. in a network or a measures file.

    ``nearest`` holds the known keys closest to it (with their names), best first, so that the
    message can say what was probably meant; ``where`` (and ``line``) say where the key was read;
    ``reason`` is the catalogue key of what is wrong (fields ``zone``, ``level`` and any others
    given); ``hint`` the key that introduces ``nearest`` (field ``nearest``, and the others).

    >>> e = UnknownZoneError("15087221", ("15087220 (Hettstedt)",), "net.yaml", line=4)
    >>> e.message("de")
    "net.yaml, Zeile 4: Gebiet '15087221' gibt es im Datenbestand nicht; am nächsten: 15087220 (Hettstedt)"
    """

    def __init__(
        self,
        zone: str,
        nearest: tuple[str, ...] = (),
        where: str = "",
        *,
        line: int | None = None,
        reason: str = "@compare.error.unknown_zone",
        level: str = "",
        hint: str = "compare.error.nearest",
        **fields: object,
    ) -> None:
        self.zone = zone
        self.nearest = nearest
        self.where = where
        self.line = line
        self.reason = reason
        self.hint = hint
        super().__init__(reason, zone=shown(zone), level=level, **fields)
        self.args = (str(self),)

    def message(self, lang: str) -> str:
        msg = InputLocation(self.where, self.line).message(lang) + ": " if self.where else ""
        msg += say(self.reason, lang, self.fields)
        if self.nearest:
            filled = {k: _field(v, lang) for k, v in self.fields.items()}
            msg += "; " + _catalogue.text(
                self.hint, lang, **filled, nearest=", ".join(self.nearest)
            )
        return msg


class UnknownIndicatorError(WandelError, ValueError):
    """An indicator key that the indicator catalogue does not hold."""


class UnknownNetworkError(WandelError, ValueError):
    """A network name that is neither a shipped preset nor in the user's network file."""


class NotComparableError(WandelError, ValueError):
    """Too few zones or features to compare (e.g. the town lacks a value of every feature)."""


class IndicatorCatalogueError(WandelError, ValueError):
    """The indicator catalogue is malformed (a developer's mistake, found by the tests)."""


class ServiceCatalogueError(InputFormatError):
    """A service catalogue (or a file of overrides) is malformed: a rate without a source, year or
    region, an unknown field, two rules for the same region and years (:mod:`wandel.services`)."""


class RateRangeError(ServiceCatalogueError):
    """A rate or share lies outside ``[0, 1]`` (or a count or size is negative)."""


class UnknownServiceError(WandelError, ValueError):
    """A service (or a parameter or measure of one) that the catalogue does not know."""


class UnknownRuleError(ServiceCatalogueError):
    """A rule for a region that is no Land, Kreis or Gemeinde key (or no key of the demo area)."""


class MissingParameterError(WandelError, ValueError):
    """A service needs a parameter that no source gives and the user has not set.

    The message names the service, the parameter, the region and how to set it; Wandel never fills
    such a gap with an invented default.
    """


class FacilityOutsideZonesError(WandelError, ValueError):
    """A facility used for a service's capacity lies in no zone of the store's boundaries."""


class IncompatibleRatesError(WandelError, ValueError):
    """Rates or data that must not be combined, e.g. Pflege figures from before and after the 2017
    Pflegegrade reform (the definition of need changed; the jump is not a trend)."""


class ExportError(WandelError, ValueError):
    """An export cannot be written as asked: no source note, a bad sheet or layer name, a frame
    without geometry for a GeoPackage, an unknown CSV dialect."""


class MissingDataError(WandelError, ValueError):
    """The store (or a table given) lacks data the request needs: no population at or before the
    base year, no facilities of a kind, no boundaries for the zones asked."""


# --------------------------------------------------------------------------------------------
# what the user asked for: options, settings, outputs
# --------------------------------------------------------------------------------------------


class OptionError(WandelError, ValueError):
    """An option of a command (or an argument of a workflow) cannot be used as given: a value out
    of range, options that exclude or need each other."""


class UnknownChoiceError(OptionError):
    """A value that is not one of the choices an option offers (``--level foo``)."""

    def __init__(self, option: str, value: object, choices: Sequence[str]) -> None:
        super().__init__(
            "@error.unknown_choice", option=option, value=shown(value), choices=list(choices)
        )
        self.option = option
        self.value = value
        self.choices = tuple(choices)


class AgeGroupError(OptionError):
    """Asked age groups do not fit the data's age groups: one cuts through a published group, or
    breaks that do not start at 0 and increase (:func:`wandel.ages.sum_age_groups`)."""


class UnknownVariantError(OptionError):
    """A scenario file has no variant of the name asked."""


class SettingError(WandelError, ValueError):
    """A setting from the environment (``WANDEL_DRAWS=abc``) has a value that cannot be used."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        super().__init__("@error.setting", variable=variable, value=shown(value), expected=expected)
        self.variable = variable
        self.value = value
        self.expected = expected


class OutputPathError(WandelError, ValueError):
    """An output file the command cannot write: an extension it does not know."""

    def __init__(self, option: str, path: str, suffixes: Sequence[str]) -> None:
        super().__init__(
            "@error.output_suffix", option=option, path=shown(path), suffixes=list(suffixes)
        )
        self.path = path
        self.suffixes = tuple(suffixes)


class SnapError(WandelError, ValueError):
    """Points lie too far from the road network to be linked to it (outside the extract?)."""


# --------------------------------------------------------------------------------------------
# the GENESIS web service (wandel fetch)
# --------------------------------------------------------------------------------------------


class MissingCredentialsError(WandelError, LookupError):
    """No user name or password for a database of the GENESIS web service, neither in the
    environment nor in the system keyring."""


class FetchError(WandelError, RuntimeError):
    """The GENESIS web service refused a request; the message carries the service's own words
    (its status code and text) and what to do about it."""


class AccessDeniedError(WandelError, PermissionError):
    """The caller may not do this (her role or zones do not allow it); the web app answers 403."""


class LoginRequiredError(AccessDeniedError):
    """Only a logged-in user may do this; the web app answers 401."""


class LoginError(WandelError, PermissionError):
    """A login refused: wrong name or password (one message for both), a disabled user, or too
    many failed attempts (``locked`` set: the web app answers 429)."""

    def __init__(self, message: str = "", /, *, locked: bool = False, **fields: object) -> None:
        super().__init__(message, **fields)
        self.locked = locked


class UserError(WandelError, ValueError):
    """A user that cannot be managed so: unknown or existing name, unknown role, bad zones, a
    password too short."""


class ServiceLoginError(FetchError, PermissionError):
    """The service does not accept the user name and password (or token)."""


class UnknownTableError(FetchError, LookupError):
    """The service knows no table of that code (or none matching the selection)."""


class TableTooLargeError(FetchError, ValueError):
    """The table is too large for a direct download (status 98): select fewer years or regions."""


class ServiceBusyError(FetchError, ConnectionError):
    """The service stayed busy or unreachable through every retry."""


# --------------------------------------------------------------------------------------------
# location models (wandel.planning)
# --------------------------------------------------------------------------------------------


class InfeasibleModelError(WandelError, ValueError):
    """The location model has no feasible solution.

    Raised with what is asked and where it fails: the demand points that no candidate reaches within
    the threshold, ``p`` smaller than the fixed sites or than the minimum cover, total capacity below
    total demand.
    """


class ModelInputError(WandelError, ValueError):
    """The inputs of a location model (cost matrix, demand, ids, capacities, p) are malformed.

    Missing (NaN) or negative costs, a shape that does not match the ids, duplicate ids, negative
    demand or capacity. The message names the first offending demand and candidate ids.
    """


class UnsupportedModelError(WandelError, ValueError):
    """The chosen solver cannot solve this kind of model (e.g. capacities with the heuristic)."""


class SolverLimitError(WandelError, RuntimeError):
    """The solver hit its time limit before it found any feasible solution."""


# --------------------------------------------------------------------------------------------
# the text catalogues themselves
# --------------------------------------------------------------------------------------------


class CatalogueError(WandelError, ValueError):
    """A text catalogue is malformed: a key without both languages, or a key in two files."""


class ReportError(WandelError, ValueError):
    """A report cannot be made: an unknown zone, no population for it, or an edition folder that
    already holds a different report."""

"""The exceptions Wandel raises for a user's mistake.

One base class, :class:`WandelError`; each specific error also inherits the matching builtin so that
callers who catch ``ValueError`` or ``FileNotFoundError`` keep working. Errors about input files carry
where the problem is (file, line, column), the offending value and what was expected, and render all of
it in one readable message.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AgeGroupError",
    "DuplicateKeyError",
    "InconsistentTotalError",
    "InputFormatError",
    "InputLocation",
    "MissingColumnError",
    "MissingDataError",
    "StoreError",
    "UnknownFormatError",
    "UnknownVariantError",
    "UnknownZoneError",
    "WandelError",
]


class WandelError(Exception):
    """Base class of every error Wandel raises on purpose."""


@dataclass(frozen=True)
class InputLocation:
    """Where in an input file a problem sits. Lines and columns count from 1; ``None`` if unknown."""

    file: str
    line: int | None = None
    column: str | int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


class InputFormatError(WandelError, ValueError):
    """An input file does not follow the layout it claims to follow.

    Parameters
    ----------
    file, line, column
        Where the problem is (``line`` 1-based; ``column`` a 1-based index or a column name).
    value
        The offending text as read, if there is one.
    expected
        What the reader expected at that place, in plain words.
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
    ) -> None:
        self.location = InputLocation(str(file), line, column)
        self.file = str(file)
        self.line = line
        self.column = column
        self.value = value
        self.expected = expected
        self.reason = reason
        super().__init__(self._render())

    def _render(self) -> str:
        msg = str(self.location)
        if self.reason:
            msg += f": {self.reason}"
        if self.value is not None:
            shown = (
                repr(self.value) if len(repr(self.value)) <= 80 else repr(self.value)[:77] + "..."
            )
            msg += f": found {shown}"
        if self.expected:
            msg += f"; expected {self.expected}"
        return msg


class MissingColumnError(InputFormatError):
    """A required column or header field is missing."""


class DuplicateKeyError(InputFormatError):
    """The same key (zone, year, sex, age...) appears twice in one file."""


class InconsistentTotalError(InputFormatError):
    """Published parts do not add up to the published total."""


class UnknownFormatError(WandelError, ValueError):
    """No reader recognises the file (``--kind auto``), or the requested kind does not exist."""


class StoreError(WandelError, RuntimeError):
    """The store cannot be opened or is not a Wandel store."""


class MissingDataError(WandelError, ValueError):
    """The store lacks data a projection needs (e.g. no population at or before the base year)."""


class AgeGroupError(WandelError, ValueError):
    """Asked age groups do not fit the data's age groups (one cuts through a published group)."""


class UnknownZoneError(WandelError, ValueError):
    """A zone asked for does not exist, or not at the level and territorial status asked."""


class UnknownVariantError(WandelError, KeyError):
    """A scenario file has no variant of the name asked."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""

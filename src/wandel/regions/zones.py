"""Which zones a request means: AGS codes expanded to a level, checked against one territorial status.

A request names zones by AGS (``15`` a Land, ``15087`` a Kreis, ``15087220`` a Gemeinde) and a level
(``kreis`` or ``gemeinde``). :func:`resolve_level` decides the level (given, or that of the codes: a
Gemeinde key means Gemeinden, a Kreis or Land key Kreise); :func:`expand_zones` turns every code into
the zones of that level inside it that are valid at the territorial status asked (for a projection:
the status of its base population), in the order the codes were given, each zone once.

Whatever does not fit is a :class:`~wandel.errors.UnknownZoneError` that says what was asked, what
exists instead and what to do: a key that never existed names the nearest keys known (same length,
longest common prefix, then numerically closest) with their names; a name instead of a key names the
zones of the nearest names; a key that existed in other years says in which, and where its territory
lies at the status asked (following the recorded territorial changes).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from wandel.errors import OptionError, UnknownChoiceError, UnknownZoneError
from wandel.regions.changes import name_base

__all__ = ["LEVELS", "ZoneRegister", "expand_zones", "resolve_level"]

LEVELS: dict[str, int] = {"kreis": 5, "gemeinde": 8}
"""The levels a projection runs at, with the length of their keys."""

_WHAT = {2: "land", 5: "kreis", 8: "gemeinde"}
_SUGGESTIONS = 3


@dataclass(frozen=True, eq=False)
class ZoneRegister:
    """What is known about zones, for checking codes and suggesting others.

    ``records``: Gemeindeverzeichnis rows (``zone, year, level, name``, any years) and
    ``changes``: the territorial changes between them (columns of
    :data:`wandel.tables.CHANGE_COLUMNS`).
    """

    records: pd.DataFrame
    changes: pd.DataFrame

    def name(self, zone: str) -> str:
        """The latest recorded name of ``zone`` ('' if unknown)."""
        r = self.records[self.records["zone"] == zone]
        return "" if r.empty else str(r.sort_values("year")["name"].iloc[-1])

    def years(self, zone: str) -> list[int]:
        """The Gemeindeverzeichnis years that list ``zone``."""
        r = self.records[self.records["zone"] == zone]
        return sorted({int(y) for y in r["year"]})

    def label(self, zone: str) -> str:
        """``zone`` with its name, e.g. ``15087220 (Hettstedt, Stadt)``."""
        n = self.name(zone)
        return f"{zone} ({n})" if n else zone

    def known_keys(self, length: int) -> list[str]:
        """Every key of ``length`` digits the register lists (any year)."""
        z = self.records["zone"].astype(str)
        return sorted(set(z[z.str.len() == length]))


def resolve_level(codes: Sequence[str], level: str | None) -> str:
    """The level of a request: ``level`` if given (``kreis`` or ``gemeinde``), else the codes'.

    >>> resolve_level(["15087220"], None), resolve_level(["15"], None), resolve_level(["15"], "gemeinde")
    ('gemeinde', 'kreis', 'gemeinde')
    """
    if level is not None:
        lv = level.strip().lower()
        if lv not in LEVELS:
            raise UnknownChoiceError("--level", level, tuple(LEVELS))
        return lv
    lengths = {len(c) for c in codes}
    if lengths == {8}:
        return "gemeinde"
    if 8 in lengths:
        gem = next(c for c in codes if len(c) == 8)
        other = next(c for c in codes if len(c) != 8)
        raise OptionError("@zones.mixed_levels", gemeinde=gem, other=other)
    return "kreis"


def _nearest_keys(code: str, register: ZoneRegister, valid: Sequence[str]) -> list[str]:
    """Known keys of the code's length, by longest common prefix, then numerically closest."""
    keys = sorted(set(register.known_keys(len(code))) | {v for v in valid if len(v) == len(code)})

    def prefix(k: str) -> int:
        n = 0
        while n < len(code) and k[n] == code[n]:
            n += 1
        return n

    ranked = sorted(keys, key=lambda k: (-prefix(k), abs(int(k) - int(code)), k))
    return [k for k in ranked if k != code][:_SUGGESTIONS]


def _nearest_names(text: str, register: ZoneRegister) -> list[str]:
    """Zones whose names are closest to ``text`` (latest name of each zone)."""
    rec = register.records[register.records["zone"].astype(str).str.len().isin(list(_WHAT))]
    rec = rec.sort_values("year").drop_duplicates("zone", keep="last")
    bases = {str(z): name_base(str(n)) for z, n in zip(rec["zone"], rec["name"], strict=True)}
    want = name_base(text)
    close = difflib.get_close_matches(want, list(set(bases.values())), n=_SUGGESTIONS, cutoff=0.6)
    hits = [z for b in close for z, zb in sorted(bases.items()) if zb == b]
    starts = sorted(z for z, b in bases.items() if want and b.startswith(want))
    return list(dict.fromkeys([*starts, *hits]))[:_SUGGESTIONS]


def _labels(keys: Sequence[str], register: ZoneRegister) -> tuple[str, ...]:
    return tuple(register.label(k) for k in keys)


def _successors(zone: str, since: int, status: int, changes: pd.DataFrame) -> list[str]:
    """Where the territory of ``zone`` (a zone of year ``since``) lies at the status ``status``."""
    cur = {zone}
    steps = changes[["from_year", "to_year"]].drop_duplicates().sort_values(["from_year"])
    for a, b in zip(steps["from_year"], steps["to_year"], strict=True):
        a, b = int(a), int(b)
        if since <= a and b <= status:
            step = changes[(changes["from_year"] == a) & (changes["to_year"] == b)]
            nxt: set[str] = set()
            for z in cur:
                to = step.loc[step["from_zone"] == z, "to_zone"].astype(str).tolist()
                nxt.update(to or [z])
            cur = nxt
    return sorted(cur)


def _what(code: str) -> str:
    return f"@zones.level.{_WHAT.get(len(code), 'zone')}"


def _not_valid(
    code: str, level: str, status: int, register: ZoneRegister, valid: Sequence[str]
) -> UnknownZoneError:
    """Why ``code`` is no zone of ``level`` at ``status``, and what there is instead."""
    what = _what(code)
    years = register.years(code)
    if not years:
        near = _labels(_nearest_keys(code, register, valid), register)
        return UnknownZoneError(code, near, reason="@zones.never", code=code, what=what)
    label = register.label(code)
    if status in years:
        return UnknownZoneError(
            code, reason="@zones.no_data_at_status", label=label, what=what, status=status
        )
    before = [y for y in years if y < status]
    succ = [] if not before else _successors(code, max(before), status, register.changes)
    return UnknownZoneError(
        code,
        _labels([s for s in succ if s != code], register),
        reason="@zones.not_at_status",
        hint="zones.now_part_of",
        label=label,
        what=what,
        status=status,
        years=", ".join(map(str, years)),
    )


def _key_problem(code: str, register: ZoneRegister) -> UnknownZoneError | None:
    """Why ``code`` cannot be a key at all (a name, a wrong length), or None."""
    if not code.isdigit() or not code.isascii():
        names = _labels(_nearest_names(code, register), register)
        return UnknownZoneError(
            code, names, reason="@zones.not_a_key", hint="zones.by_name", code=code
        )
    if len(code) not in _WHAT:
        # a key read as a number loses its leading zero (Schleswig-Holstein 01 .. Saarland 10)
        zero = len(code) + 1 in _WHAT and bool(register.years("0" + code))
        reason = "@zones.bad_length_zero" if zero else "@zones.bad_length"
        return UnknownZoneError(code, reason=reason, code=code, digits=len(code), fixed="0" + code)
    return None


def expand_zones(
    codes: Sequence[str],
    level: str,
    valid: Sequence[str],
    status: int,
    register: ZoneRegister,
) -> list[str]:
    """The zones of ``level`` inside ``codes`` among ``valid`` (the zones of the status ``status``).

    A Land or Kreis code expands to every valid zone of ``level`` inside it (sorted by key); a code
    of the level's length must itself be valid. Order: as the codes were given, each zone once.

    >>> reg = ZoneRegister(pd.DataFrame({"zone": ["15087220", "15087370"], "year": 2019,
    ...     "level": "gemeinde", "name": ["Hettstedt, Stadt", "Sangerhausen, Stadt"]}),
    ...     pd.DataFrame(columns=["from_zone", "to_zone", "from_year", "to_year"]))
    >>> expand_zones(["15087"], "gemeinde", ["15087220", "15087370", "16073077"], 2019, reg)
    ['15087220', '15087370']
    """
    want = LEVELS[level]
    valid_set = set(valid)
    out: list[str] = []
    for code in codes:
        problem = _key_problem(code, register)
        if problem is not None:
            raise problem
        if len(code) > want:
            raise UnknownZoneError(
                code,
                reason="@zones.finer_than_level",
                level=level,
                label=register.label(code),
                kreis=code[:5],
            )
        inside = sorted(v for v in valid_set if v.startswith(code))
        if len(code) == want and code not in valid_set:
            inside = []
        if not inside:
            raise _none_inside(code, level, status, register, valid)
        out.extend(inside)
    return list(dict.fromkeys(out))


def _none_inside(
    code: str, level: str, status: int, register: ZoneRegister, valid: Sequence[str]
) -> UnknownZoneError:
    if len(code) == LEVELS[level] or not register.years(code):
        return _not_valid(code, level, status, register, valid)
    return UnknownZoneError(
        code,
        reason="@zones.none_inside",
        label=register.label(code),
        levels=f"@zones.levels.{level}",
        status=status,
    )

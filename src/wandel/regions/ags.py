"""Official keys of German regions: AGS (Amtlicher Gemeindeschlüssel) and ARS (Regionalschlüssel).

=====================  ======  ==================================================
level                  digits  structure
=====================  ======  ==================================================
Land                   2       Land
Regierungsbezirk       3       Land + RB
Kreis                  5       Land + RB + Kreis
Gemeinde (AGS)         8       Kreis (5) + Gemeinde (3)
Gemeindeverband        9       Kreis (5) + Verband (4)
Gemeinde (ARS)         12      Kreis (5) + Verband (4) + Gemeinde (3)
=====================  ======  ==================================================

So ``AGS = ARS[:5] + ARS[9:]`` and ``ARS = AGS[:5] + Verband + AGS[5:]``. Keys are strings of
digits; a key that lost its leading zero (``1001000`` for Flensburg ``01001000``) is refused with a
message that says so, never padded silently. The parent chain is Land > Kreis > Gemeindeverband >
Gemeinde (the Gemeindeverband only where the key, an ARS or a Verband key, names it).
"""

from __future__ import annotations

from typing import Literal

from wandel.errors import InvalidKeyError

__all__ = [
    "LEVEL_OF_LENGTH",
    "Level",
    "ags_from_ars",
    "ars_from_ags",
    "check_key",
    "kreis_of",
    "land_of",
    "level_of",
    "parent_chain",
    "parent_of",
]

Level = Literal["land", "regbez", "kreis", "gemeinde", "gemeindeverband", "ars"]

LEVEL_OF_LENGTH: dict[int, Level] = {
    2: "land",
    3: "regbez",
    5: "kreis",
    8: "gemeinde",
    9: "gemeindeverband",
    12: "ars",
}
"""Key length -> level."""

_LAENDER = frozenset(f"{i:02d}" for i in range(1, 17))


def check_key(key: object, expected: Level | None = None) -> str:
    """Return ``key`` as a validated string; raise :class:`InvalidKeyError` with the reason.

    >>> check_key("15087220")
    '15087220'
    >>> check_key("1001000", "gemeinde")
    Traceback (most recent call last):
    ...
    wandel.regions.ags.InvalidKeyError: '1001000' has 7 digits; a gemeinde key has 8: the leading zero was lost? (did you mean '01001000'?)
    """
    if not isinstance(key, str):
        raise InvalidKeyError("@regions.key.not_text", key=repr(key), kind=type(key).__name__)
    if not key.isdigit() or not key.isascii():
        raise InvalidKeyError("@regions.key.not_digits", key=repr(key))
    want = {v: k for k, v in LEVEL_OF_LENGTH.items()}
    if expected is not None and len(key) != want[expected]:
        fields = {"key": repr(key), "digits": len(key), "level": expected, "needed": want[expected]}
        if len(key) == want[expected] - 1:
            raise InvalidKeyError("@regions.key.level_length_zero", fixed=repr("0" + key), **fields)
        raise InvalidKeyError("@regions.key.level_length", **fields)
    if len(key) not in LEVEL_OF_LENGTH:
        if len(key) + 1 in LEVEL_OF_LENGTH:
            raise InvalidKeyError(
                "@regions.key.length_zero",
                key=repr(key),
                digits=len(key),
                level=LEVEL_OF_LENGTH[len(key) + 1],
            )
        raise InvalidKeyError("@regions.key.length", key=repr(key), digits=len(key))
    if key[:2] not in _LAENDER:
        raise InvalidKeyError("@regions.key.no_land", key=repr(key), land=repr(key[:2]))
    return key


def level_of(key: str) -> Level:
    """Level of a key from its length.

    >>> level_of("15087"), level_of("150870220"), level_of("150870220220")
    ('kreis', 'gemeindeverband', 'ars')
    """
    return LEVEL_OF_LENGTH[len(check_key(key))]


def ags_from_ars(ars: str) -> str:
    """Gemeinde AGS from a 12-digit ARS: ``ARS[:5] + ARS[9:]``.

    >>> ags_from_ars("150870220220")
    '15087220'
    """
    check_key(ars, "ars")
    return ars[:5] + ars[9:]


def ars_from_ags(ags: str, verband: str) -> str:
    """12-digit ARS from an 8-digit AGS and the 4-digit Verband part (or a 9-digit Verband key).

    >>> ars_from_ags("15087220", "0220")
    '150870220220'
    """
    check_key(ags, "gemeinde")
    if len(verband) == 9:
        check_key(verband, "gemeindeverband")
        if verband[:5] != ags[:5]:
            raise InvalidKeyError("@regions.key.verband_kreis", verband=verband, ags=ags)
        verband = verband[5:]
    if not (len(verband) == 4 and verband.isdigit()):
        raise InvalidKeyError("@regions.key.verband_part", verband=repr(verband))
    return ags[:5] + verband + ags[5:]


def land_of(key: str) -> str:
    """The Land of any key.

    >>> land_of("15087220")
    '15'
    """
    return check_key(key)[:2]


def kreis_of(key: str) -> str:
    """The Kreis (5 digits) of a Kreis, Gemeindeverband, Gemeinde or ARS key.

    >>> kreis_of("15087220")
    '15087'
    """
    k = check_key(key)
    if len(k) < 5:
        raise InvalidKeyError("@regions.key.no_kreis", key=repr(key), level=LEVEL_OF_LENGTH[len(k)])
    return k[:5]


def parent_chain(key: str) -> tuple[str, ...]:
    """Keys from the Land down to ``key`` itself: Land > Kreis > Gemeindeverband > Gemeinde.

    An 8-digit AGS does not name its Gemeindeverband; pass the 12-digit ARS to get it.

    >>> parent_chain("150870220220")
    ('15', '15087', '150870220', '15087220')
    >>> parent_chain("15087220")
    ('15', '15087', '15087220')
    """
    k = check_key(key)
    n = len(k)
    if n == 2:
        return (k,)
    if n == 3:
        return (k[:2], k)
    if n in (5, 8, 9):
        return (k[:2], k[:5], k) if n > 5 else (k[:2], k)
    return (k[:2], k[:5], k[:9], ags_from_ars(k))


def parent_of(key: str) -> str | None:
    """The next key up the chain (``None`` for a Land).

    >>> parent_of("150870220220"), parent_of("15087220"), parent_of("15")
    ('150870220', '15087', None)
    """
    chain = parent_chain(key)
    return chain[-2] if len(chain) > 1 else None

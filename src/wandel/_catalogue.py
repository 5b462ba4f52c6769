"""The text catalogues as data: loaded once, looked up by key and language.

This is the lowest floor of the user-interface texts: it imports nothing of Wandel, so that
:mod:`wandel.errors` and :mod:`wandel.settings` can name their texts by key. The public interface is
:mod:`wandel.i18n` (the language of the call, strict checks of the files); here a lookup never
raises for a catalogue that is malformed (the problems are collected in :attr:`Catalogue.problems`,
which :func:`wandel.i18n.catalogue` turns into an error and the tests check).

A catalogue is a YAML file ``wandel/data/i18n/<part>.yaml`` mapping each key to ``{de: ..., en:
...}``; placeholders use :meth:`str.format` syntax.

>>> text("store_unchanged", "en")
'The store is unchanged.'
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["LANGS", "Catalogue", "load", "text"]

LANGS: tuple[str, ...] = ("de", "en")
"""The languages of the user interface; the first is the default."""

PHRASE_PREFIX = "phrase."
"""Keys under this prefix are the common free-text phrases of error messages (``reason`` and
``expected`` of :class:`~wandel.errors.InputFormatError`): a message that uses the English text of
such a key verbatim is shown in the user's language (:meth:`Catalogue.phrase`)."""


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Every key of every catalogue file, merged.

    Attributes
    ----------
    texts
        Key -> language -> text.
    files
        Key -> the file it comes from.
    problems
        Malformed entries (a key in two files, a key without a text for every language); empty for
        a good set of files.
    """

    texts: Mapping[str, Mapping[str, str]]
    files: Mapping[str, str]
    problems: tuple[str, ...]

    def phrase(self, english: str, lang: str) -> str | None:
        """The text in ``lang`` of the phrase whose English text is ``english``, or ``None``."""
        key = _english_phrases(self).get(english)
        return None if key is None else self.texts[key].get(lang)


def _entries(name: str, data: Any) -> tuple[dict[str, dict[str, str]], list[str]]:
    texts: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    if not isinstance(data, dict):
        return texts, [f"{name}: not a mapping of keys to texts"]
    for key, value in data.items():
        langs = value if isinstance(value, dict) else {}
        if any(not isinstance(langs.get(lang), str) or not langs[lang] for lang in LANGS):
            problems.append(f"{name}: key {key!r} needs a text for {' and '.join(LANGS)}")
        texts[str(key)] = {k: str(v) for k, v in langs.items() if isinstance(v, str)}
    return texts, problems


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (the same texts, several times faster)."""


@cache
def load() -> Catalogue:
    """Read every ``*.yaml`` of ``wandel/data/i18n`` (once per process)."""
    merged: dict[str, dict[str, str]] = {}
    files: dict[str, str] = {}
    problems: list[str] = []
    folder = resources.files("wandel") / "data" / "i18n"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        doc = yaml.load(entry.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
        texts, bad = _entries(entry.name, doc or {})
        problems += bad
        for key, langs in texts.items():
            if key in merged:
                problems.append(f"text key {key!r} in both {files[key]} and {entry.name}")
                continue
            merged[key] = langs
            files[key] = entry.name
    return Catalogue(merged, files, tuple(problems))


@cache
def _english_phrases(catalogue: Catalogue) -> dict[str, str]:
    return {
        langs["en"]: key
        for key, langs in catalogue.texts.items()
        if key.startswith(PHRASE_PREFIX) and "en" in langs
    }


def text(key: str, lang: str, /, **fields: object) -> str:
    """The text of ``key`` in ``lang`` (another language if that one is missing), filled in.

    Raises
    ------
    KeyError
        No catalogue has ``key`` (a programming error: keys are literals in the code).
    """
    langs = load().texts[key]
    template = langs.get(lang) or langs.get(LANGS[0]) or next(iter(langs.values()), key)
    return _Formatter(lang).format(template, **fields) if fields else template


_SWAP_MARKS = str.maketrans({",": ".", ".": ","})


class _Formatter(string.Formatter):
    """``str.format`` with the number marks of ``lang``: a number with a format spec in the text
    (``{rho:.2f}``, ``{n:,}``) is written ``0,45`` and ``13.885`` in German.

    >>> text("error.at_line", "de", line=3)
    'Zeile 3'
    >>> _Formatter("de").format("{a:.2f} {b:,} {c}", a=0.456, b=13885, c=1.5)
    '0,46 13.885 1.5'
    """

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> Any:
        text = format(value, format_spec)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if format_spec and number and self.lang == "de":
            return text.translate(_SWAP_MARKS)
        return text

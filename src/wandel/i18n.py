"""User-interface texts, German first, English complete (``WANDEL_LANG=en``).

The texts live in catalogues, one YAML file per part of Wandel under ``wandel/data/i18n/`` (``core``,
``cli``, ``services``, ``compare``, ``web``, ...): each key maps to ``{de: ..., en: ...}`` and lives in
exactly one file. :func:`tr` looks a key up in the language of the call (the ``lang`` setting, read
when the text is needed, never at import) and fills ``str.format`` placeholders.

>>> tr("store_unchanged", "en")
'The store is unchanged.'
>>> tr("store_unchanged", "de")
'Der Datenbestand ist unverändert.'
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from wandel.errors import WandelError

__all__ = ["LANGS", "catalogue", "current_lang", "tr"]

LANGS: tuple[str, ...] = ("de", "en")
"""The languages of the user interface; the first is the default."""


class CatalogueError(WandelError, ValueError):
    """A text catalogue is malformed: a key without both languages, or a key in two files."""


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every key of every catalogue file, merged (loaded once per process)."""
    merged: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    folder = resources.files("wandel") / "data" / "i18n"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data: Any = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        for key, texts in data.items():
            if key in merged:
                raise CatalogueError(f"text key {key!r} in both {where[key]} and {entry.name}")
            if not isinstance(texts, dict) or any(
                not isinstance(texts.get(lang), str) for lang in LANGS
            ):
                raise CatalogueError(f"{entry.name}: key {key!r} needs a text for de and en")
            merged[str(key)] = {lang: str(texts[lang]) for lang in LANGS}
            where[key] = entry.name
    return merged


def current_lang() -> str:
    """The language of this call: the ``lang`` setting if it is one of :data:`LANGS`, else German."""
    from wandel.settings import get_settings

    lang = get_settings().lang
    return lang if lang in LANGS else LANGS[0]


def tr(key: str, lang: str | None = None, /, **fields: object) -> str:
    """The text for ``key`` in ``lang`` (default: :func:`current_lang`), placeholders filled."""
    text = catalogue()[key][lang if lang in LANGS else current_lang()]
    return text.format(**fields) if fields else text

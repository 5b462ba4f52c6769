"""User-interface texts, German first, English complete (``WANDEL_LANG=en``).

The texts live in catalogues, one YAML file per part of Wandel under ``wandel/data/i18n/`` (``core``,
``cli``, ``errors``, ``services``, ``compare``, ``web``, ...): each key maps to ``{de: ..., en: ...}``
and lives in exactly one file. :func:`tr` looks a key up in the language of the call (the ``lang``
setting, resolved when the text is needed, never at import) and fills ``str.format`` placeholders;
:func:`error_text` renders an error in that language (:meth:`wandel.errors.WandelError.message`).

The notes the model attaches to its results (weak data, fallbacks, what was estimated how) are
values until they are shown: :func:`note` packs a key and its fields into one string
(``"@key {json}"``), which results carry, compare and deduplicate like any text; the command line,
the source notes of the exports and the web put it into words with :func:`note_text` in the
language of the call (numbers with the decimal mark of the language). German first, English
complete, like every other text.

>>> n = note("demography.note.extra_flow_ignored", zone="01001")
>>> note_text(n, "de")
'Zusätzliche Wanderung für 01001 nicht berücksichtigt: das Gebiet wird nicht vorausberechnet'

>>> tr("store_unchanged", "en")
'The store is unchanged.'
>>> tr("store_unchanged", "de")
'Der Datenbestand ist unverändert.'
"""

from __future__ import annotations

from collections.abc import Mapping

from wandel import _catalogue
from wandel.errors import CatalogueError, SettingError, WandelError, keyed, say

__all__ = ["LANGS", "catalogue", "current_lang", "error_text", "note", "note_text", "tr"]

LANGS: tuple[str, ...] = _catalogue.LANGS
"""The languages of the user interface; the first is the default."""


def catalogue() -> Mapping[str, Mapping[str, str]]:
    """Every key of every catalogue file, merged (loaded once per process).

    Raises
    ------
    CatalogueError
        A key in two files, or a key without a text for every language.
    """
    loaded = _catalogue.load()
    if loaded.problems:
        raise CatalogueError(loaded.problems[0])
    return loaded.texts


def current_lang() -> str:
    """The language of this call: the ``lang`` setting (``--lang``, ``WANDEL_LANG``); German where
    the setting itself cannot be read (the error about it must still be shown)."""
    from wandel.settings import get_settings

    try:
        return get_settings().lang
    except SettingError:
        return LANGS[0]


def tr(key: str, lang: str | None = None, /, **fields: object) -> str:
    """The text for ``key`` in ``lang`` (default: :func:`current_lang`), placeholders filled.

    An unknown ``lang`` falls back to the language of the call.

    Raises
    ------
    KeyError
        No catalogue has ``key``.
    """
    texts = catalogue()[key]
    text = texts[lang if lang in LANGS else current_lang()]
    return text.format(**fields) if fields else text


def error_text(error: BaseException, lang: str | None = None) -> str:
    """The message of ``error`` in ``lang`` (default: :func:`current_lang`).

    >>> from wandel.errors import UnknownChoiceError
    >>> error_text(UnknownChoiceError("--level", "foo", ["land", "kreis"]), "de")
    "--level 'foo' gibt es nicht; möglich sind: land, kreis"
    """
    chosen = lang if lang in LANGS else current_lang()
    if isinstance(error, WandelError):
        return error.message(chosen)
    return str(error)


def note(key: str, /, **fields: object) -> str:
    """A note of the model: the catalogue ``key`` and its ``fields`` as one string, put into words
    when shown (:func:`note_text`). Floats need a format in the text (``{rho:.3f}``) to get the
    decimal mark of the language.

    Raises
    ------
    KeyError
        No catalogue has ``key`` (checked here, so that a wrong key fails where the note is made).
    """
    catalogue()[key]
    return keyed(key, **fields)


def note_text(text: str, lang: str | None = None) -> str:
    """A note in ``lang`` (default: :func:`current_lang`): a :func:`note` put into words; a free
    text (an English phrase of the catalogue, or a note not yet converted) as written.

    >>> note_text(note("demography.note.persistence_few_zones"), "en")
    'too few Gemeinden to estimate the persistence of migration differentials: persistence 0'
    """
    return say(text, lang if lang in LANGS else current_lang())

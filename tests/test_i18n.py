"""The text catalogues and the translation of the command line's help."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.i18n import LANGS, catalogue, tr


def test_every_key_has_every_language() -> None:
    cat = catalogue()
    assert len(cat) > 10
    assert all(set(texts) == set(LANGS) and all(texts.values()) for texts in cat.values())


def test_placeholders_are_filled_and_unknown_language_falls_back() -> None:
    assert tr("store_unchanged", "fr") in {tr("store_unchanged", lang) for lang in LANGS}
    with pytest.raises(KeyError):
        tr("no.such.key", "de")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("de", "Ordner für Ergebnisse"), ("en", "Folder for the results")],
)
def test_help_keys_are_translated_in_the_language_of_the_call(
    monkeypatch: pytest.MonkeyPatch, lang: str, expected: str
) -> None:
    monkeypatch.setenv("WANDEL_LANG", lang)
    res = CliRunner().invoke(app, ["demo", "--help"], terminal_width=200)
    assert res.exit_code == 0
    assert expected in res.output
    assert "@cli." not in res.output

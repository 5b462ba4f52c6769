"""The text catalogues and the translation of the command line's help."""

from __future__ import annotations

import re

import pytest
import typer.main
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


# German left in an English text: umlauts and ß, and words that English never uses. Official
# German names are kept on purpose (DESIGN.md: AGS, Gemeinde, Kreis, Land/Länder, Kita, ...).
GERMAN = re.compile(
    r"[äöüÄÖÜß]|\b(?:und|oder|der|die|das|den|dem|des|nicht|für|mit|eine|einer|eines|ist|sind|"
    r"werden|wird|bei|nach|aus|auf|zum|zur|keine|kein|noch|auch|über|unter|bis|vom|wie|als|"
    r"sich|Datei|Jahr|Jahre|Einwohner|Gebiet|Zeile|Spalte|Fehler|erwartet|gefunden|Ordner|"
    r"Ergebnis|Hinweis|möglich|Anzahl|Wert)\b"
)
KEPT = re.compile(r"Länder|Thüringen|Görlitz|Baden-Württemberg|Überversorgung|Zügigkeit")


def _german(text: str) -> list[str]:
    return GERMAN.findall(KEPT.sub("", text))


def _command_paths() -> list[tuple[str, ...]]:
    def walk(cmd: object, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        subs = getattr(cmd, "commands", None) or {}
        return [path] + [p for n, s in subs.items() for p in walk(s, (*path, n))]

    return walk(typer.main.get_command(app), ())


def test_the_heuristic_finds_german() -> None:
    assert _german("Datei nicht gefunden") == ["Datei", "nicht", "gefunden"]
    assert _german("Größe") == ["ö", "ß"]
    assert _german("the Länder and their Gemeinden") == []


def test_every_english_text_of_the_catalogue_is_english() -> None:
    found = {k: _german(t["en"]) for k, t in catalogue().items() if _german(t["en"])}
    assert found == {}


def test_every_help_is_english_under_wandel_lang_en(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDEL_LANG", "en")
    paths = _command_paths()
    assert len(paths) >= 25  # the app, its groups and every command
    found = []
    for path in paths:
        res = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
        assert res.exit_code == 0, (path, res.output)
        assert "Usage:" in res.output
        assert "@cli." not in res.output
        assert "@setting." not in res.output
        found += [
            f"{' '.join(path)}: {line.strip()}" for line in res.output.splitlines() if _german(line)
        ]
    assert found == []


def test_every_help_is_german_by_default_click_words_included(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WANDEL_LANG", "de")
    english = re.compile(r"Usage:|\[required\]|\[default:|\[OPTIONS\]|COMMAND \[ARGS\]|Show this")
    found = []
    for path in _command_paths():
        res = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
        assert res.exit_code == 0, (path, res.output)
        assert "Aufruf:" in res.output
        found += [f"{' '.join(path)}: {m}" for m in english.findall(res.output)]
    assert found == []
    # the words follow the call: English right after German in the same process
    monkeypatch.setenv("WANDEL_LANG", "en")
    res = CliRunner().invoke(app, ["project", "--help"], terminal_width=200)
    assert "Usage: wandel project [OPTIONS]" in res.output
    assert "[required]" in res.output


USAGE_MISTAKES = [
    (["project", "--foo"], "Unbekannte Option --foo", "No such option: --foo"),
    (
        ["project", "--zones", "15", "--out", "x.csv", "--draws", "abc"],
        "Ungültiger Wert für '--draws': eine ganze Zahl wird erwartet",
        "Invalid value for '--draws': Input should be a valid integer",
    ),
    (
        ["project", "--zones", "15", "--out", "x.csv", "--draws", "-3"],
        "Ungültiger Wert für '--draws': der Wert muss mindestens 0 sein",
        "Invalid value for '--draws': Input should be greater than or equal to 0",
    ),
    (["projekt"], "Unbekannter Befehl 'projekt'. Meinten Sie 'project'?", "No such command"),
    (["project", "--zones"], "Die Option '--zones' braucht einen Wert.", "requires an argument"),
    (["population"], "Die Option '--zones' fehlt.", "Missing option '--zones'."),
    (["report", "town"], "Das Argument 'zone' fehlt.", "Missing argument 'zone'."),
]


@pytest.mark.parametrize(("args", "german", "english"), USAGE_MISTAKES)
def test_usage_mistakes_in_the_language_of_the_call(
    monkeypatch: pytest.MonkeyPatch, args: list[str], german: str, english: str
) -> None:
    for lang, expected in (("de", german), ("en", english)):
        monkeypatch.setenv("WANDEL_LANG", lang)
        res = CliRunner().invoke(app, args, terminal_width=400)
        assert res.exit_code == 2, res.output
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, res.stderr
        assert expected in lines[0], (lang, lines[0])
        if lang == "en":
            assert _german(lines[0]) == [], lines[0]


def test_every_fixed_rejection_reason_of_the_readers_is_translated() -> None:
    """The reasons the readers give for rows they leave out (``rejected``: the import summary's
    last column) are shown in German: each fixed English text is a phrase or an ``@key``."""
    import ast
    from pathlib import Path

    import wandel.sources
    from wandel.errors import say

    reasons: dict[str, str] = {}
    for path in Path(wandel.sources.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            named = isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "rejected" for t in node.targets
            )
            appended = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "append"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "rejected"
            )
            if not (named or appended):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Tuple) and len(sub.elts) == 2:
                    first = sub.elts[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        reasons[first.value] = path.name
    assert len(reasons) >= 5  # the walk finds the readers' reasons
    untranslated = {r: f for r, f in reasons.items() if say(r, "de") == r}
    assert untranslated == {}

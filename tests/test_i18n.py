"""The text catalogues and the translation of the command line's help."""

from __future__ import annotations

import re
from collections.abc import Mapping

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


def test_no_rejection_reason_of_the_readers_is_an_f_string() -> None:
    """A reason with a value in it is ``keyed("sources.rejected...", field=...)``, never an
    f-string: an f-string is English free text that no catalogue can translate."""
    import ast
    from pathlib import Path

    import wandel.sources

    found: list[str] = []
    for path in Path(wandel.sources.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "rejected" for t in node.targets
            ):
                loose = [s for s in _loose(node.value) if isinstance(s, ast.JoinedStr)]
                found += [f"{path.name}:{s.lineno}" for s in loose]
    assert found == []


# --------------------------------------------------------------------------------------------
# the notes of the model
# --------------------------------------------------------------------------------------------

NOTE_PARTS = ("demography", "services", "regions", "workflow")
"""The parts of Wandel whose results carry notes (shown under "Hinweis"/"Note")."""

NOT_CONVERTED: dict[str, str] = {}
"""Files whose notes are still free text, with the reason; the list may only shrink."""

NOT_NOTES = {
    "regions/changes.py": "the note column of the zone-change table is stored data, not a message",
}
"""Files with a ``note`` that is no message to a user."""

_NOTE_NAMES = {"note", "notes"}
_MAKERS = {"note", "keyed"}


def _named_note(node: object) -> bool:
    import ast

    if isinstance(node, ast.Name):
        return node.id in _NOTE_NAMES or node.id.endswith("_notes")
    if isinstance(node, ast.Attribute):
        return node.attr in _NOTE_NAMES
    return False


def _loose(expr: object) -> list[object]:
    """The parts of a note expression that are free text: an f-string, or a plain string that is
    neither blank nor a ``"@key"``, anywhere but inside a call of ``note``/``keyed``."""
    import ast

    if isinstance(expr, ast.JoinedStr):
        return [expr]
    if isinstance(expr, ast.Constant):
        text = expr.value.strip() if isinstance(expr.value, str) else ""
        return [expr] if text and not text.startswith("@") else []
    if isinstance(expr, ast.Call):
        name = expr.func.attr if isinstance(expr.func, ast.Attribute) else None
        name = expr.func.id if isinstance(expr.func, ast.Name) else name
        if name in _MAKERS:
            return []
        return [p for a in expr.args for p in _loose(a)] if name in {"tuple", "list"} else []
    children: list[object]
    if isinstance(expr, ast.Tuple | ast.List | ast.Set):
        children = list(expr.elts)
    elif isinstance(expr, ast.Starred):
        children = [expr.value]
    elif isinstance(expr, ast.IfExp):
        children = [expr.body, expr.orelse]
    elif isinstance(expr, ast.BinOp):
        children = [expr.left, expr.right]
    elif isinstance(expr, ast.GeneratorExp | ast.ListComp):
        children = [expr.elt]
    else:
        children = []
    return [p for c in children for p in _loose(c)]


def _note_fields(trees: Mapping[str, object]) -> dict[str, int]:
    """Class name -> the position of its ``note``/``notes`` field (dataclasses of these parts)."""
    import ast

    fields: dict[str, int] = {}
    for tree in trees.values():
        for cls in ast.walk(tree):  # type: ignore[arg-type]
            if not isinstance(cls, ast.ClassDef):
                continue
            names = [
                s.target.id
                for s in cls.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            ]
            for i, n in enumerate(names):
                if n in _NOTE_NAMES:
                    fields[cls.name] = i
    return fields


def _free_text_notes(rel: str, tree: object, fields: dict[str, int]) -> list[str]:
    """``file:line`` of every note made from free text in ``tree``."""
    import ast

    values: list[object] = []
    for node in ast.walk(tree):  # type: ignore[arg-type]
        if (isinstance(node, ast.Assign) and any(_named_note(t) for t in node.targets)) or (
            isinstance(node, ast.AnnAssign | ast.AugAssign) and _named_note(node.target)
        ):
            values.append(node.value)
        elif isinstance(node, ast.Call):
            f = node.func
            adding = isinstance(f, ast.Attribute) and f.attr in {"append", "extend", "insert"}
            if adding and isinstance(f, ast.Attribute) and _named_note(f.value):
                values += node.args
            values += [k.value for k in node.keywords if k.arg in _NOTE_NAMES]
            cls = f.id if isinstance(f, ast.Name) else None
            if cls in fields and len(node.args) > fields[cls]:
                values.append(node.args[fields[cls]])
        elif isinstance(node, ast.FunctionDef) and "notes" in node.name:
            values += [r.value for r in ast.walk(node) if isinstance(r, ast.Return)]
    return [f"{rel}:{p.lineno}" for v in values for p in _loose(v)]  # type: ignore[attr-defined]


def test_the_notes_of_the_model_are_catalogue_keys() -> None:
    """Every note the model attaches to a result is ``i18n.note("key", ...)`` (German first,
    English complete), never an f-string or English free text; the walk finds the notes made
    positionally too (``Persistence(..., note)``) and fails on a new f-string note."""
    import ast
    from pathlib import Path

    import wandel

    root = Path(wandel.__file__).parent
    trees = {
        p.relative_to(root).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
        for part in NOTE_PARTS
        for p in sorted((root / part).rglob("*.py"))
    }
    fields = _note_fields(trees)
    assert {"Persistence", "LevelShift", "BasePopulation"} <= set(fields)  # the walk sees them
    found = {
        rel: _free_text_notes(rel, tree, fields)
        for rel, tree in trees.items()
        if rel not in NOT_NOTES
    }
    found = {rel: hits for rel, hits in found.items() if hits}
    assert set(found) <= set(NOT_CONVERTED), found
    # the check itself: a free-text note in one of these forms is found
    probe = ast.parse(
        'notes.append(f"x {y}")\nb.notes.append("plain English")\nnote = "a" + f"{b}"\n'
        'P(1, 2, f"{z} left")\nR(notes=(f"{q}",))\nok = note("k", n=f"{n}")'
    )
    lines = {int(hit.split(":")[1]) for hit in _free_text_notes("probe", probe, {"P": 2})}
    assert lines == {1, 2, 3, 4, 5}  # line 6 is a note made by key


@pytest.mark.parametrize("prefix", ["demography.note.", "services.note.", "workflow.note."])
def test_every_note_text_is_german_in_german_and_english_in_english(prefix: str) -> None:
    texts = {k: t for k, t in catalogue().items() if k.startswith(prefix)}
    assert len(texts) >= 2
    assert {k: _german(t["en"]) for k, t in texts.items() if _german(t["en"])} == {}
    sentences = {k: t for k, t in texts.items() if len(t["de"].split()) > 4}
    assert {k: _english(t["de"]) for k, t in sentences.items() if _english(t["de"])} == {}
    assert all(_german(t["de"]) for t in sentences.values()), sentences


# English left in a German text: words German never uses (official English words excepted).
ENGLISH = re.compile(
    r"\b(?:the|of|and|from|with|no|not|used|uses|per|over|ignored|zone|zones|year|years|each|"
    r"its|available|migration|structure|level|shift|head|median|range|weight|rate|own|"
    r"persistence|census|capacity|people|places|brigade|matrix|travel|time)\b"
)


def _english(text: str) -> list[str]:
    return ENGLISH.findall(re.sub(r"\{[^}]*\}", "", text))  # placeholders are no words


def test_the_english_heuristic_finds_english() -> None:
    assert _english("extra flow for 15087130 ignored: zone not projected") == [
        "ignored",
        "zone",
        "not",
    ]
    assert _english("Beständigkeit der Wanderungsunterschiede: rho = 0,274 je 2 Jahre") == []

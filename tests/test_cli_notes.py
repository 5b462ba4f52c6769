"""The notes of the model in the language asked: ``wandel project``, ``wandel backtest`` and
``wandel services`` print them under "Hinweis" (German) or "Note" (English), the services source
note lists them under "Hinweise:"/"Notes:", and a note says the same numbers in both languages
(German with the decimal comma)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from _projection_store import demo_db
from test_i18n import _english, _german
from wandel.cli import app
from wandel.i18n import note, note_text
from wandel.store import Store
from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store

PENDING: tuple[str, ...] = ()
"""The English beginnings of the two notes of ``demography/inputs.py`` not converted yet
(``NOT_CONVERTED`` in test_i18n.py): shown as written in both languages until they are keys. The
list may only shrink."""

HEAD = {"de": "Hinweis: ", "en": "Note: "}


def _run(lang: str, args: list[str]) -> str:
    """stderr of ``wandel args`` in ``lang`` (wide, so that no note is folded)."""
    runner = CliRunner(env={"WANDEL_LANG": lang, "COLUMNS": "1000"})
    res = runner.invoke(app, args, terminal_width=1000)
    assert res.exit_code == 0, res.output
    return res.stderr


def _notes(stderr: str, lang: str) -> list[str]:
    """The converted notes printed in ``lang`` (the pending free texts left out)."""
    head = HEAD[lang]
    found = [ln[len(head) :] for ln in stderr.splitlines() if ln.startswith(head)]
    other = HEAD["en" if lang == "de" else "de"]
    assert not any(ln.startswith(other) for ln in stderr.splitlines()), stderr
    return [n for n in found if not n.startswith(PENDING)]


def _numbers(text: str) -> list[str]:
    """The numbers of a note, decimal comma read as a point."""
    return [m.replace(",", ".") for m in re.findall(r"\d+(?:[.,]\d+)?", text)]


def _check_both(de: list[str], en: list[str]) -> None:
    """Every note in its language, the same notes with the same numbers in both."""
    assert de, "no converted note printed"
    assert len(de) == len(en), (de, en)
    for d, e in zip(de, en, strict=True):
        assert _english(d) == [], d
        assert _german(d) != [], d  # German words, not only names and numbers
        assert _german(e) == [], e
        assert _numbers(d) == _numbers(e), (d, e)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_db(tmp_path_factory)


def test_project_notes_in_the_language_asked(db: Path, tmp_path: Path) -> None:
    """A scenario with an extra flow for a zone not projected: the note names the zone; the
    persistence of migration differentials comes with its rho (0,xxx / 0.xxx)."""
    sc = tmp_path / "sc.yaml"
    sc.write_text(
        "name: t\nvariants:\n  zuzug:\n    extra_flows:\n      - {zone: '15087130', per_year: 40,"
        " from_year: 2020, to_year: 2030, profile: asylum_seekers}\n",
        encoding="utf-8",
    )
    args = ["project", "--db", str(db), "--zones", "15087220", "--base-year", "2019"]
    args += ["--until", "2025", "--draws", "0", "--scenario", str(sc)]
    de = _notes(_run("de", [*args, "--out", str(tmp_path / "de.csv")]), "de")
    en = _notes(_run("en", [*args, "--out", str(tmp_path / "en.csv")]), "en")
    _check_both(de, en)
    assert "Zusätzliche Wanderung für 15087130 nicht berücksichtigt" in " ".join(de)
    assert "extra flow for 15087130 ignored: zone not projected" in en
    rho_de = [n for n in de if re.search(r"rho = 0,\d{3} je 2 Jahre", n)]
    rho_en = [n for n in en if re.search(r"rho=0\.\d{3} per 2 years", n)]
    assert len(rho_de) == len(rho_en) == 1, (de, en)


def test_backtest_notes_in_the_language_asked(db: Path) -> None:
    """The backtest's notes per origin: the method counts, Hamilton-Perry not available, the
    level shift with its median (four decimals, German with a comma)."""
    args = ["backtest", "--db", str(db), "--level", "kreis", "--draws", "0"]
    de, en = _notes(_run("de", args), "de"), _notes(_run("en", args), "en")
    _check_both(de, en)
    assert "Kreise, Basisjahr 2015: Wanderung nach Verfahren: Nettowanderung in 50 Gebieten" in de
    assert "Kreise, base year 2015: migration by method: net migration in 50 zones" in en
    assert any(n.startswith("Kreise, Basisjahr 2015: Hamilton-Perry nicht möglich") for n in de)
    shift_de = [n for n in de if re.search(r"im Median [+-]\d,\d{4} \(50 Gebiete\)", n)]
    shift_en = [n for n in en if re.search(r"median [+-]\d\.\d{4} \(50 zones\)", n)]
    assert shift_de
    assert len(shift_de) == len(shift_en)


@pytest.fixture(scope="module")
def services_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("notes_services") / "demo.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    return db


def test_services_notes_and_source_note_in_the_language_asked(
    services_db: Path, tmp_path: Path
) -> None:
    """Pflege without a capacity table says what its capacity is, on the console and in the
    source note; the whole source note is in the language asked (no threshold crossing: the
    files are still written)."""
    args = ["services", "--db", str(services_db), "--zones", "15087220", "--base-year", "2019"]
    args += ["--until", "2025", "--draws", "12", "--seed", "3", "--services", "pflege,kita"]
    printed: dict[str, list[str]] = {}
    listed: dict[str, list[str]] = {}
    for lang, head in (("de", "Hinweise:"), ("en", "Notes:")):
        out = tmp_path / lang
        printed[lang] = _notes(_run(lang, [*args, "--out", str(out)]), lang)
        text = (out / "dienste.quellen.txt").read_text(encoding="utf-8")
        lines = text.splitlines()
        assert head in lines, text
        section = lines[lines.index(head) + 1 :]
        notes = [ln[2:] for ln in section[: section.index("")]]
        listed[lang] = [n for n in notes if not n.startswith(PENDING)]
        fixed = "\n".join([*lines[:2], lines[-1]])  # title, run, licence
        assert (_german(fixed) != []) == (lang == "de"), fixed
    _check_both(printed["de"], printed["en"])
    _check_both(listed["de"], listed["en"])
    assert listed["de"] == printed["de"]
    assert any(n.startswith("Pflege: Kapazität = Pflegebedürftige") for n in printed["de"])
    assert any(n.startswith("Pflege: capacity = people in full-time") for n in printed["en"])


def test_a_note_is_a_key_with_its_fields_until_shown() -> None:
    """One string (carried, compared and deduplicated like a text), numpy numbers accepted, a
    nested key translated, numbers in the language's form; an unknown key fails where made."""
    n = note("demography.note.level_shift", median=np.float64(-0.00371), n=np.int64(50))
    assert n == note("demography.note.level_shift", n=50, median=-0.00371)
    assert "im Median -0,0037 (50 Gebiete)" in note_text(n, "de")
    assert "median -0.0037 (50 zones)" in note_text(n, "en")
    methods = [note("demography.note.method_count", method="@demography.note.method.gross", n=3)]
    m = note("demography.note.backtest_methods", level="@demography.note.level.kreis",
             base_year=2011, methods=methods)  # fmt: skip
    assert (
        note_text(m, "de")
        == "Kreise, Basisjahr 2011: Wanderung nach Verfahren: Zu- und Fortzüge in 3 Gebieten"
    )
    assert (
        note_text(m, "en") == "Kreise, base year 2011: migration by method: gross flows in 3 zones"
    )
    assert note_text("a free text", "de") == "a free text"  # not converted: as written
    with pytest.raises(KeyError):
        note("demography.note.no_such_note")

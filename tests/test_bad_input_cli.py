"""The bad-input corpus of the readers of this round, through ``wandel import``: each broken file
ends with one clear line on stderr (file, row, field, what was expected), exit code 2, and the store
exactly as it was (its checksum unchanged).

Every case is made from a good fixture by one defect (the fixtures themselves import: see
``test_fixtures_import``): a wrong sheet, merged header cells over columns that need labels of
their own, a missing region column, names that match nothing or two regions, a year outside the
region register, an error page (HTML, or the web service's JSON status) instead of data, and
truncated downloads.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.store import Store

runner = CliRunner(env={"WANDEL_LANG": "en"})
FIX = Path(__file__).resolve().parent / "fixtures"
GENESIS_CSV = FIX / "genesis" / "12411-0018_small_de.csv"
GENESIS_XLSX = FIX / "genesis" / "12411-0018_small_de.xlsx"
GV100AD = FIX / "gv100ad" / "GV100AD_31122019.txt"
GV_XLSX = FIX / "gv" / "mini_gv_2022.xlsx"
GV_XLS = FIX / "gv" / "mini_gv_2008.xls"

NAMES = """GENESIS-Tabelle: 12411-0018
Bevölkerung: Kreise, Stichtag, Geschlecht, Altersgruppen;;;;
Bevölkerungsstand (Anzahl);;;;
;;männlich;weiblich;Insgesamt
;;Insgesamt;Insgesamt;Insgesamt
31.12.2019;  Sachsen-Anhalt;1.078.000;1.116.782;2.194.782
31.12.2019;      {name};66.004;68.150;134.154
__________
© Statistisches Bundesamt (Destatis), 2021
"""


@dataclass(frozen=True)
class Case:
    """One broken file: how to make it, the options, and what the one line must say."""

    make: Callable[[Path], Path]
    words: tuple[str, ...]
    options: tuple[str, ...] = ()


def _names(name: str, date: str = "31.12.2019") -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / "regionen.csv"
        text = NAMES.format(name=name).replace("31.12.2019", date)
        p.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
        return p

    return make


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / name
        p.write_bytes(data)
        return p

    return make


def _cut(src: Path, name: str, fraction: float) -> Callable[[Path], Path]:
    data = src.read_bytes()
    return _bytes(name, data[: int(len(data) * fraction)])


def _gv100ad_edit(edit: Callable[[list[str]], list[str]]) -> Callable[[Path], Path]:
    lines = GV100AD.read_text(encoding="utf-8").splitlines()
    return _bytes("gv100.txt", ("\r\n".join(edit(lines)) + "\r\n").encode("utf-8"))


def _xlsx(rows: list[list[object]], merges: tuple[str, ...] = (), name: str = "t.xlsx"):  # type: ignore[no-untyped-def]
    def make(d: Path) -> Path:
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "Tabelle"
        for r in rows:
            ws.append(r)
        for m in merges:
            ws.merge_cells(m)
        p = d / name
        wb.save(p)
        return p

    return make


def _genesis_rows() -> list[list[object]]:
    wb = openpyxl.load_workbook(GENESIS_XLSX)
    ws = wb.active
    assert ws is not None
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _merged_age_header() -> Callable[[Path], Path]:
    rows = _genesis_rows()
    rows[5][4] = None  # "3 bis unter 6 Jahre" lost under a merged "unter 3 Jahre" (D6:E6)
    return _xlsx(rows, ("D5:F5", "G5:I5", "D6:E6"), "merged.xlsx")


def _no_region_column() -> Callable[[Path], Path]:
    lines = GENESIS_CSV.read_bytes().decode("cp1252").split("\r\n")
    out = [
        ";".join(ln.split(";")[:1] + ln.split(";")[3:]) if ";" in ln and i >= 4 else ln
        for i, ln in enumerate(lines)
    ]
    return _bytes("ohne_region.csv", "\r\n".join(out).encode("cp1252"))


def _zip_of(name: str, inner: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(inner, data)
    return buf.getvalue()


HTML = (
    b"<!DOCTYPE html>\n<html lang='de'><head><title>GENESIS-Online: Fehler 503</title></head>"
    b"<body><h1>Der Dienst ist vor\xc3\xbcbergehend nicht erreichbar</h1></body></html>\n"
)
STATUS = (
    b'{"Ident": {"Service": "data", "Method": "tablefile"}, "Status": {"Code": 104, '
    b'"Content": "Es gibt keine Objekte zum angegebenen Selektionskriterium", "Type": "Fehler"}}'
)

CASES: dict[str, Case] = {
    # wrong sheet: the workbook holds no sheet of the layout asked for
    "gv-isys wrong sheet": Case(
        _xlsx([["Inhalt"], ["Gemeinden in Deutschland"]], name="gv.xlsx"),
        ("gv.xlsx", "no sheet has a GV-ISys header", "Tabelle"),
        ("--kind", "gv-isys"),
    ),
    "genesis xlsx wrong sheet": Case(
        _xlsx([["Inhalt"], ["12411-0018"]], name="genesis.xlsx"),
        ("genesis.xlsx", "no sheet holds a GENESIS table", "A1"),
        ("--kind", "genesis-classic"),
    ),
    # merged header cells that swallow a label: two value columns with the same key
    "genesis xlsx merged age header": Case(
        _merged_age_header(), ("merged.xlsx", "line 7", "duplicate")
    ),
    "genesis csv without region column": Case(
        _no_region_column(), ("ohne_region.csv", "no zone found", "expected a zone variable")
    ),
    "name matching nothing": Case(
        _names("Atlantis, Landkreis"),
        ("regionen.csv, line 7, column 2", "no region of 2019 bears this name", "'Atlantis"),
    ),
    "name matching two regions": Case(
        _names("Ansbach"),
        ("regionen.csv, line 7", "ambiguous region name", "09561 Ansbach, 09571 Ansbach"),
    ),
    "year outside the register": Case(
        _names("Mansfeld-Südharz, Landkreis", "31.12.2005"),
        ("regionen.csv, line 7", "year 2005 lies before the region register"),
    ),
    "html error page": Case(
        _bytes("12411-0018.csv", HTML),
        ("12411-0018.csv", "a web page (HTML: GENESIS-Online: Fehler 503)", "error page"),
    ),
    "html error page forced": Case(
        _bytes("12411-0018.csv", HTML),
        ("12411-0018.csv", "a web page"),
        ("--kind", "genesis-classic"),
    ),
    "web service status": Case(
        _bytes("12411-0018.json", STATUS),
        ("12411-0018.json", "status 104", "keine Objekte"),
    ),
    "truncated genesis csv": Case(
        _cut(GENESIS_CSV, "abgebrochen.csv", 0.6),
        ("abgebrochen.csv", "truncated"),
    ),
    "truncated genesis xlsx": Case(
        _cut(GENESIS_XLSX, "abgebrochen.xlsx", 0.5),
        ("abgebrochen.xlsx",),
        ("--kind", "genesis-classic"),
    ),
    "truncated gv-isys xlsx": Case(
        _cut(GV_XLSX, "gv_abgebrochen.xlsx", 0.5),
        ("gv_abgebrochen.xlsx",),
        ("--kind", "gv-isys"),
    ),
    "truncated gv-isys xls": Case(
        _cut(GV_XLS, "gv_abgebrochen.xls", 0.5),
        ("gv_abgebrochen.xls",),
        ("--kind", "gv-isys"),
    ),
    "truncated gv100ad": Case(
        _gv100ad_edit(lambda ls: [*ls[:-1], ls[-1][:50]]),
        ("gv100.txt, line 13", "not a GV100AD record", "at least 72 characters"),
        ("--kind", "gv100ad"),
    ),
    "gv100ad year other than its gebietsstand": Case(
        _bytes("gv100.txt", GV100AD.read_bytes()),
        ("gv100.txt, line 1", "--year 2019"),
        ("--year", "2018"),
    ),
    "gv100ad gebietsstand not year end": Case(
        _gv100ad_edit(lambda ls: [ln.replace("20191231", "20190630", 1) for ln in ls]),
        ("gv100.txt, line 1", "Gebietsstand is not 31 December", "year-end"),
    ),
    "zipped html page": Case(
        _bytes("tabelle.zip", _zip_of("tabelle.zip", "12411-0018_flat.csv", HTML)),
        ("tabelle.zip",),
    ),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("bad") / "s.duckdb"
    res = runner.invoke(app, ["import", str(GV100AD), "--year", "2019", "--db", str(db)])
    assert res.exit_code == 0, res.output
    return db


def test_fixtures_import(tmp_path: Path) -> None:
    """The good files the cases are made from import (so each case fails by its one defect)."""
    db = tmp_path / "s.duckdb"
    files = [GENESIS_CSV, GENESIS_XLSX, GV100AD, GV_XLSX]
    res = runner.invoke(app, ["import", *map(str, files), "--db", str(db)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app, ["import", str(_names("Mansfeld-Südharz, Landkreis")(tmp_path)), "--db", str(db)]
    )
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_one_line_exit_2_store_unchanged(name: str, store: Path, tmp_path: Path) -> None:
    case = CASES[name]
    path = case.make(tmp_path)
    with Store.open(store, read_only=True) as s:
        before = s.checksum()
    res = runner.invoke(app, ["import", str(path), *case.options, "--db", str(store)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].endswith("The store is unchanged."), lines[0]
    for w in case.words:
        assert w in lines[0], (w, lines[0])
    with Store.open(store, read_only=True) as s:
        assert s.checksum() == before


def test_the_line_is_german_by_default(store: Path, tmp_path: Path) -> None:
    path = _names("Atlantis, Landkreis")(tmp_path)
    res = CliRunner().invoke(app, ["import", str(path), "--db", str(store)])
    assert res.exit_code == 2
    assert "Zeile 7" in res.stderr
    assert "keine Region des Jahres 2019" in res.stderr

"""The region register: official names resolved to AGS by year, designators, ambiguity and unknown
names with their candidates, years outside the register; classic tables with regions by name only,
read directly and through ``wandel import`` (with the store's own Gemeindeverzeichnis)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.errors import AmbiguousRegionError, UnknownRegionError
from wandel.sources import genesis_classic
from wandel.sources.register import RegionPlace, Register, core_name, parse_region_name
from wandel.store import Store

runner = CliRunner(env={"WANDEL_LANG": "en"})
GV100AD = Path(__file__).resolve().parent / "fixtures" / "gv100ad" / "GV100AD_31122019.txt"


def _resolve(reg: Register, labels: list[str], year: int) -> list[str]:
    where = RegionPlace("t.csv", list(range(7, 7 + len(labels))), [2] * len(labels))
    return [str(z) for z in reg.resolve(labels, [(year,)] * len(labels), where)]


@pytest.mark.parametrize(
    ("label", "zone"),
    [
        ("Sachsen-Anhalt", "15"),
        ("Baden-Württemberg, Land", "08"),
        ("  Thüringen", "16"),
        ("Mansfeld-Südharz, Landkreis", "15087"),
        ("Landkreis Mansfeld-Südharz", "15087"),
        ("Halle (Saale), kreisfreie Stadt", "15002"),
        ("Ansbach, kreisfreie Stadt", "09561"),
        ("Landkreis Ansbach", "09571"),
        ("Heilbronn, Stadtkreis", "08121"),
        ("Region Hannover", "03241"),
        ("Reg.-Bez. Düsseldorf", "051"),
        ("MANSFELD-SUEDHARZ", "15087"),  # case and umlauts folded
        ("Deutschland", "DG"),
    ],
)
def test_shipped_names_resolve(label: str, zone: str) -> None:
    assert _resolve(Register.shipped(), [label], 2019) == [zone]


def test_designators_are_parsed() -> None:
    q = parse_region_name("Baden-Württemberg, Land")
    assert (q.core, q.level, q.kreisfrei) == ("baden-wuerttemberg", "land", None)
    assert parse_region_name("Stadtkreis Heilbronn").kreisfrei is True
    assert core_name("früher: Direktionsbezirk Chemnitz") == "chemnitz"


def test_two_regions_of_one_name_name_both() -> None:
    # Ansbach is a kreisfreie Stadt (09561) and a Landkreis (09571) of the same name in 2019
    with pytest.raises(AmbiguousRegionError) as info:
        _resolve(Register.shipped(), ["Ansbach", "Sachsen-Anhalt"], 2019)
    e = info.value
    assert {z for z, _ in e.candidates} == {"09561", "09571"}
    assert (e.file, e.line, e.column, e.value) == ("t.csv", 7, 2, "Ansbach")
    assert "09561 Ansbach, 09571 Ansbach" in str(e)
    assert "2 regions of 2019" in str(e)
    assert "09561" in e.message("de")
    assert "Regionen des Jahres 2019" in e.message("de")


def test_unknown_name_names_the_nearest() -> None:
    with pytest.raises(UnknownRegionError) as info:
        _resolve(Register.shipped(), ["Sachsen-Anhalt", "Mansfeld-Sudharz, Landkreis"], 2019)
    e = info.value
    assert e.line == 8
    assert ("15087", "Mansfeld-Südharz") in e.candidates
    assert "nearest: 15087 Mansfeld-Südharz" in str(e)


def test_year_before_the_register_is_said_so() -> None:
    with pytest.raises(UnknownRegionError) as info:
        _resolve(Register.shipped(), ["Mansfeld-Südharz, Landkreis"], 2005)
    assert "year 2005 lies before the region register (Kreise and Gemeinden from 2009)" in str(
        info.value
    )
    # Länder are the same since 1990: a Land resolves in any such year
    assert _resolve(Register.shipped(), ["Sachsen-Anhalt, Land"], 2005) == ["15"]


def _hand(rows: list[tuple[int, str, str, str, bool]]) -> Register:
    return Register(pd.DataFrame(rows, columns=["year", "zone", "level", "name", "kreisfrei"]))


def test_a_reform_between_two_register_years_makes_a_name_ambiguous() -> None:
    # a hand-made register: "Altkreis" is 99001 in 2009 and the merged 99005 in 2013
    reg = _hand(
        [
            (2009, "99", "land", "Testland", False),
            (2009, "99001", "kreis", "Altkreis", False),
            (2013, "99", "land", "Testland", False),
            (2013, "99005", "kreis", "Altkreis", False),
        ]
    )
    assert _resolve(reg, ["Altkreis"], 2009) == ["99001"]
    assert _resolve(reg, ["Altkreis"], 2014) == ["99005"]
    with pytest.raises(AmbiguousRegionError, match="different regions in 2009 and 2013"):
        _resolve(reg, ["Altkreis"], 2011)


def test_name_known_in_other_years_says_when() -> None:
    reg = _hand(
        [
            (2009, "99", "land", "Testland", False),
            (2009, "99001", "kreis", "Altkreis", False),
            (2013, "99", "land", "Testland", False),
            (2013, "99005", "kreis", "Neukreis", False),
        ]
    )
    with pytest.raises(UnknownRegionError, match="known as 99001 2009"):
        _resolve(reg, ["Altkreis"], 2015)


def test_kreisfreie_stadt_follows_the_column() -> None:
    # "Erfurt, Stadt" is the Kreis 16051 and the Gemeinde 16051000: a column of Gemeinden takes
    # the Gemeinde, a column of Kreise the Kreis
    gv = pd.DataFrame(
        {
            "year": 2019,
            "zone": ["16", "16051", "16051000", "16053", "16053000", "16055000"],
            "level": ["land", "kreis", "gemeinde", "kreis", "gemeinde", "gemeinde"],
            "name": [
                "Thüringen",
                "Erfurt, Stadt",
                "Erfurt, Stadt",
                "Jena, Stadt",
                "Jena, Stadt",
                "Weimar, Stadt",
            ],
        }
    )
    reg = Register.from_gv_records(gv)
    assert _resolve(reg, ["Erfurt, Stadt", "Weimar, Stadt"], 2019) == ["16051000", "16055000"]
    assert _resolve(reg, ["Erfurt, Stadt", "Jena, Stadt"], 2019) == ["16051", "16053"]


NAMES_TABLE = """GENESIS-Tabelle: 12411-0018
Bevölkerung: Kreise, Stichtag, Geschlecht, Altersgruppen;;;;
Fortschreibung des Bevölkerungsstandes;;;;
Bevölkerungsstand (Anzahl);;;;
;;männlich;weiblich;Insgesamt
;;Insgesamt;Insgesamt;Insgesamt
31.12.2019;  Sachsen-Anhalt;1.078.000;1.116.782;2.194.782
31.12.2019;      Mansfeld-Südharz, Landkreis;66.004;68.150;134.154
31.12.2019;      Halle (Saale), kreisfreie Stadt;116.000;122.762;238.762
31.12.2019;  Baden-Württemberg, Land;5.513.000;5.587.394;11.100.394
__________
© Statistisches Bundesamt (Destatis), 2021
"""


def _names_file(tmp_path: Path, text: str = NAMES_TABLE, name: str = "names.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    return p


def test_classic_table_with_regions_by_name_only(tmp_path: Path) -> None:
    pop = genesis_classic.read(_names_file(tmp_path)).tables["population"]
    tot = pop.groupby("zone")["value"].sum()
    assert tot.to_dict() == {
        "08": 11_100_394,
        "15": 2_194_782,
        "15002": 238_762,
        "15087": 134_154,
    }


def test_import_resolves_gemeinde_names_with_the_stores_gemeindeverzeichnis(
    tmp_path: Path,
) -> None:
    """Gemeinden are not in the shipped register: a table of Gemeinde names resolves once the
    store (or the same import) holds the Gemeindeverzeichnis of that year."""
    gem = NAMES_TABLE.replace(
        "  Sachsen-Anhalt;1.078.000;1.116.782;2.194.782", "Hettstedt, Stadt;6.766;7.119;13.885"
    )
    gem = gem.replace(
        "      Mansfeld-Südharz, Landkreis;66.004;68.150;134.154",
        "Sangerhausen, Stadt;12.714;13.249;25.963",
    )
    gem = "\n".join(ln for ln in gem.split("\n") if "Halle" not in ln and "Baden" not in ln)
    table = _names_file(tmp_path, gem, "gemeinden.csv")
    db = tmp_path / "s.duckdb"
    res = runner.invoke(app, ["import", str(table), "--db", str(db)])
    assert res.exit_code == 2
    assert "gemeinden.csv, line 7" in res.stderr
    assert "Hettstedt, Stadt" in res.stderr
    assert not db.exists()  # nothing written: the store was never created
    res = runner.invoke(app, ["import", str(GV100AD), str(table), "--db", str(db)])
    assert res.exit_code == 0, res.output
    with Store.open(db, read_only=True) as s:
        pop = s.table("population", "year = 2019 AND zone IN ('15087220', '15087370')")
    assert pop.groupby("zone")["value"].sum().to_dict() == {"15087220": 13_885, "15087370": 25_963}


def test_a_partial_gemeindeverzeichnis_hides_nothing_of_the_shipped_register() -> None:
    # a store holding only Thüringen's 2019 records: Bavaria's Kreise of 2019 still resolve, and
    # the store's own Gemeinden are added
    gv = pd.DataFrame(
        {
            "year": 2019,
            "zone": ["16", "16051", "16051000", "16070004"],
            "level": ["land", "kreis", "gemeinde", "gemeinde"],
            "name": ["Thüringen", "Erfurt, Stadt", "Erfurt, Stadt", "Arnstadt, Stadt"],
        }
    )
    reg = Register.from_gv_records(gv).over(Register.shipped())
    assert _resolve(reg, ["Landkreis Ansbach", "Mansfeld-Südharz"], 2019) == ["09571", "15087"]
    assert _resolve(reg, ["Arnstadt, Stadt"], 2019) == ["16070004"]
    assert len(reg.frame) == len(Register.shipped().frame) + 2  # the two Gemeinden

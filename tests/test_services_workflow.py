"""wandel services on the demo store: Pflege against the Pflegestatistik and the Destatis
Pflegevorausberechnung, facilities, user tables, the CLI and its files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wandel.cli import app
from wandel.errors import FacilityOutsideZonesError, IncompatibleRatesError, MissingParameterError
from wandel.services import shipped_catalogue
from wandel.services.care import calibration_years
from wandel.store import Store
from wandel.workflow.demo import add_structure_estimates, derive_zone_changes, load_demo_store
from wandel.workflow.services import ServicesRequest, facility_capacity, services_from_store

runner = CliRunner()
PFLEGE = "statistik/22411-02-03-4_pflegebeduerftige_kreise_2015-2019.csv"
TYPES = {  # column of the GENESIS table -> Wandel measure
    4: "people_in_need",
    6: "home_care",
    7: "residential",
    10: "care_allowance",
}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("services") / "demo.duckdb"
    with Store.open(db) as store:
        load_demo_store(store)
        derive_zone_changes(store)
        add_structure_estimates(store)
    return db


@pytest.fixture(scope="module")
def laender(demo_db: Path) -> pd.DataFrame:
    """Pflege for every Gemeinde of Sachsen, Sachsen-Anhalt and Thüringen, deterministic, to 2035."""
    req = ServicesRequest(
        zones=("14", "15", "16"), base_year=2019, until=2035, services=("pflege",)
    )
    return services_from_store(demo_db, req).figures


def _published(shared: Path, kreis: str, year: int) -> dict[str, float]:
    """Both sexes of the Kreis's Pflegestatistik row, read from the real GENESIS file."""
    out = {}
    for line in (shared / PFLEGE).read_text(encoding="latin-1").splitlines():
        f = line.split(";")
        if len(f) > 10 and f[0] == f"31.12.{year}" and f[1] == kreis and f[3] == "Insgesamt":
            out = {m: float(f[c]) for c, m in TYPES.items()}
    assert out, kreis
    return out


@pytest.mark.parametrize("kreis", ["15087", "14625", "16073"])
def test_pflege_of_a_kreis_reproduces_the_pflegestatistik_2019(
    laender: pd.DataFrame, shared_data: Path, kreis: str
) -> None:
    pub = _published(shared_data, kreis, 2019)
    k = laender[
        (laender["level"] == "kreis") & (laender["zone"] == kreis) & (laender["year"] == 2019)
    ]
    got = k.set_index("measure")["value"]
    for m, v in pub.items():
        assert got[m] == pytest.approx(v, abs=0.5), m  # within rounding of whole people
    # and its Gemeinden add up to it
    g = laender[
        (laender["level"] == "zone")
        & laender["zone"].str.startswith(kreis)
        & (laender["year"] == 2019)
    ]
    assert g[g["measure"] == "people_in_need"]["value"].sum() == pytest.approx(
        pub["people_in_need"], abs=0.5
    )


def test_pflege_direction_to_2035_matches_the_destatis_pflegevorausberechnung(
    laender: pd.DataFrame,
) -> None:
    """Destatis Pflegevorausberechnung 2023 (constant Pflegequoten, base 2021): Thüringen from
    166,000 to 178,000 in 2035 (+7 %), Sachsen-Anhalt +7 % and Sachsen +11 % to 2055 (dpa report of
    the Destatis release, 30.3.2023, https://live.vodafone.de/regional/thueringen/...12000289; the
    Länder figures also in https://www.sonntagsblatt.de/artikel/epd/statistik-pflegebeduerftigkeit-wird-bayern-besonders-zunehmen);
    StaLa Sachsen-Anhalt: the share of people needing care rises from almost 10 % (2023) to 12 %
    (2040) (https://www.mz.de/panorama/statistikamt-mehr-pflegebedurftige-bis-2040-4205522).
    Wandel projects the population itself, from 2019, so only the direction is compared; the
    Destatis rise for Thüringen 2021-2035 is +7 %, Wandel's lies between 0 and +15 %."""
    land = laender[(laender["level"] == "land") & (laender["measure"] == "people_in_need")]
    v = land.pivot_table(index="zone", columns="year", values="value")
    assert (v[2035] > v[2021]).all(), v[[2021, 2035]]
    th = v.loc["16", 2035] / v.loc["16", 2021] - 1
    assert 0.0 < th < 0.15


def test_pflege_rates_trend_needs_its_end_year_and_continues_until_then(demo_db: Path) -> None:
    base = ServicesRequest(
        zones=("15087220",), base_year=2019, until=2032, services=("pflege",), trend=True
    )
    with pytest.raises(MissingParameterError, match="trend_until"):
        services_from_store(demo_db, base)
    with_end = ServicesRequest(**{**base.__dict__, "params": ("pflege.trend_until=2027",)})
    flat = ServicesRequest(**{**base.__dict__, "trend": False})
    t = services_from_store(demo_db, with_end).figures
    c = services_from_store(demo_db, flat).figures

    def sel(f):
        return f[(f["level"] == "zone") & (f["measure"] == "people_in_need")].set_index("year")[
            "value"
        ]

    ratio = sel(t) / sel(c)
    assert ratio[2019] == pytest.approx(1.0)
    assert ratio[2027] > ratio[2023] > 1.0  # the 2017-2019 rise of the rates goes on ...
    # ... and stops after 2027 (the ratio then moves only by the cap of each rate at 1 and the
    # changing age structure, well under 1 %)
    assert ratio[2032] == pytest.approx(ratio[2027], rel=0.01)
    assert abs(ratio[2032] - ratio[2027]) < 0.2 * (ratio[2027] - ratio[2022])


def test_no_mixing_across_the_2017_reform() -> None:
    care = pd.DataFrame({"year": [2015, 2017]})
    with pytest.raises(IncompatibleRatesError, match="2015 lies before the 2017"):
        calibration_years(care, 2018, 2021, trend=True)
    with pytest.raises(IncompatibleRatesError, match="before and after the 2017"):
        calibration_years(pd.DataFrame({"year": [2015]}), 2016, 2021, trend=False)
    assert calibration_years(care, 2018, 2021, trend=False) == (2017,)


def test_facilities_give_capacity_and_one_outside_every_zone_is_refused(demo_db: Path) -> None:
    with Store.open(demo_db, read_only=True) as store:
        bounds = store.table("boundaries")
    cat = shipped_catalogue()
    fac = pd.DataFrame(
        {
            "facility_id": ["k1", "k2", "k2"],
            "year": [2019, 2018, 2019],
            "kind": ["kita", "kita", "kita"],
            "name": ["Kita A", "Kita B", "Kita B"],
            "zone": [None, "15087220", "15087220"],
            "lon": [11.49, 11.50, 11.50],
            "lat": [51.65, 51.65, 51.65],
            "capacity": [120.0, 80.0, 90.0],
        }
    )
    cap = facility_capacity(fac, bounds, cat, ["kita", "krippe"], 2019)
    assert cap == {
        "kita": {"15087220": 210.0}
    }  # the 2019 record of Kita B; Kita A placed by its point
    far = fac.assign(zone=None, lon=[10.0, 10.0, 10.0], lat=[48.0, 48.0, 48.0])  # Bavaria
    with pytest.raises(FacilityOutsideZonesError, match=r"k1 .*lies in no Gemeinde"):
        facility_capacity(far, bounds, cat, ["kita"], 2019)


def _copy_with_facilities(demo_db: Path, tmp: Path, rows: str) -> Path:
    db = tmp / "with_facilities.duckdb"
    shutil.copy(demo_db, db)
    csv = tmp / "kitas.csv"
    csv.write_text("id,name,kind,capacity,lon,lat\n" + rows, encoding="utf-8")
    with Store.open(db) as store:
        store.import_file(csv, kind="facilities")
    return db


def test_cli_writes_every_format_with_sources(demo_db: Path, tmp_path: Path) -> None:
    db = _copy_with_facilities(demo_db, tmp_path, "k1,Kita Sonnenschein,kita,250,11.49,51.65\n")
    mb = tmp_path / "mb.csv"
    mb.write_text("zone,mittelbereich\n15087220,Hettstedt\n15087130,Hettstedt\n", encoding="utf-8")
    gps = tmp_path / "gps.csv"
    gps.write_text("mittelbereich;gps\nHettstedt;21,5\n", encoding="utf-8")
    out = tmp_path / "out"
    args = [
        "services",
        "--db",
        str(db),
        "--zones",
        "15087220,15087130",
        "--base-year",
        "2019",
        "--until",
        "2030",
        "--draws",
        "12",
        "--seed",
        "3",
        "--services",
        "kita",
        "--services",
        "hausaerzte,pflege",
        "--mittelbereiche",
        str(mb),
        "--gp-supply",
        str(gps),
        "--out",
        str(out),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    de = pd.read_csv(
        out / "dienste.csv", sep=";", decimal=",", dtype={"gebiet": str}, encoding="utf-8-sig"
    )
    rfc = pd.read_csv(out / "dienste_rfc4180.csv", dtype={"zone": str})
    assert len(de) == len(rfc)
    assert {
        "szenario",
        "gebiet",
        "name",
        "jahr",
        "wert",
        "q025",
        "q975",
    } <= set(de.columns)
    assert (out / "dienste_rfc4180.csv").read_bytes().count(b"\r\n") == len(rfc) + 1
    kita = rfc[(rfc["service"] == "kita") & (rfc["zone"] == "15087220")].set_index(
        ["measure", "year"]
    )
    assert kita.loc[("capacity", 2025), "value"] == 250
    assert kita.loc[("utilisation", 2019), "value"] == pytest.approx(
        kita.loc[("places", 2019), "value"] / 250, abs=1e-6
    )
    vg = rfc[
        (rfc["measure"] == "versorgungsgrad")
        & (rfc["level"] == "mittelbereich")
        & (rfc["year"] == 2019)
    ]
    need = rfc[
        (rfc["measure"] == "gps_needed") & (rfc["level"] == "mittelbereich") & (rfc["year"] == 2019)
    ]
    assert vg["value"].iloc[0] == pytest.approx(21.5 / need["value"].iloc[0])
    note = (out / "dienste.quellen.txt").read_text(encoding="utf-8")
    assert "stala_lsa_kita_2024" not in note
    assert "Statistisches Landesamt Sachsen-Anhalt" in note
    assert "dl-de/by-2-0" in note
    assert "kitas.csv" in note
    from openpyxl import load_workbook

    wb = load_workbook(out / "dienste.xlsx")
    assert wb.sheetnames == ["Kennzahlen", "Schwellen", "Schwellen_je_Jahr", "Quellen"]
    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(out / "dienste.gpkg")]
    assert set(layers) == {"dienste", "quellen"}
    g = pyogrio.read_dataframe(out / "dienste.gpkg", layer="dienste")
    assert sorted(g["zone"]) == ["15087130", "15087220"]
    assert "kita_places_2030_q50" in g.columns
    for svc in ("kita", "hausaerzte", "pflege"):
        assert (out / f"dienste_faecher_{svc}.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--services", "kino"], "unbekannter Dienst 'kino'"),
        (["--services", "feuerwehr"], "weekday_share"),
        (["--param", "kita.quota@15=1.4"], "erwartet: eine Quote oder ein Anteil in [0, 1]"),
        (["--param", "kita.quota@17=0.4"], "der Schlüssel eines deutschen Landes"),
    ],
)
def test_cli_bad_input_exit_2_nothing_written(
    demo_db: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "services",
            "--db",
            str(demo_db),
            "--zones",
            "15087220",
            "--base-year",
            "2019",
            "--until",
            "2025",
            "--out",
            str(out),
            *extra,
        ],
    )
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert not out.exists()


def test_cli_facility_outside_every_zone_exit_2(demo_db: Path, tmp_path: Path) -> None:
    db = _copy_with_facilities(demo_db, tmp_path, "k9,Kita in Bayern,kita,50,11.0,48.5\n")
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "services",
            "--db",
            str(db),
            "--zones",
            "15087220",
            "--base-year",
            "2019",
            "--until",
            "2025",
            "--services",
            "kita",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 2
    assert "k9" in res.output
    assert "liegt in keiner Gemeinde" in " ".join(res.output.split())
    assert not out.exists()


def test_scenarios_give_a_cost_path_each(demo_db: Path, tmp_path: Path) -> None:
    sc = tmp_path / "sc.yaml"
    sc.write_text(
        "name: Hettstedt\nvariants:\n  basis: {}\n  zuzug:\n    extra_flows:\n"
        "      - {zone: '15087220', per_year: 40, from_year: 2020, to_year: 2030, profile: asylum_seekers}\n",
        encoding="utf-8",
    )
    from wandel.demography.scenario import load_scenarios

    sf = load_scenarios(sc)
    req = ServicesRequest(
        zones=("15087220",),
        base_year=2019,
        until=2030,
        services=("kita",),
        params=("kita.unit_cost_eur.places@15=11000",),
        scenarios=tuple((v.name, v) for v in sf.variants),
    )
    f = services_from_store(demo_db, req).figures
    cost = f[(f["measure"] == "cost_places") & (f["level"] == "zone")].pivot_table(
        index="year", columns="scenario", values="value"
    )
    assert cost.loc[2019, "basis"] == pytest.approx(cost.loc[2019, "zuzug"])
    assert cost.loc[2030, "zuzug"] > cost.loc[2030, "basis"]
    places = f[
        (f["measure"] == "places") & (f["scenario"] == "basis") & (f["level"] == "zone")
    ].set_index("year")["value"]
    assert np.allclose(cost["basis"].to_numpy(), places.to_numpy() * 11000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "zone,members\n15087220,12\n15087220,14\n",
            "line 3, column zone: found '15087220'; expected each key once",
        ),
        (
            "zone,members\n15087220,-3\n",
            "line 2, column members: found '-3'; expected a number >= 0",
        ),
        ("zone,members\n15087220,viele\n", "line 2, column members"),
        ("zone,mitglieder\n15087220,12\n", "column members"),
    ],
)
def test_user_tables_are_checked_with_file_line_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    from wandel.errors import InputFormatError
    from wandel.workflow.services import read_table

    p = tmp_path / "members.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError, match=re.escape(message)):
        read_table(p, "zone", "members")


def test_travel_times_as_wandel_access_writes_them(tmp_path: Path) -> None:
    from wandel.errors import InputFormatError
    from wandel.workflow.services import read_travel_times

    p = tmp_path / "m.csv"
    p.write_text("origin;destination;travel_time_min\n15087220;15087130;10,5\n", encoding="utf-8")
    m = read_travel_times(p, ["15087220", "15087130"])
    assert m[0, 1] == 10.5
    assert m[0, 0] == 0.0
    assert np.isnan(m[1, 0])
    p.write_text("origin,destination,travel_time_min\n15087220,15087130,-1\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="line 2"):
        read_travel_times(p, ["15087220", "15087130"])


def test_exports_defuse_formula_like_text(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from wandel.reports.exports import write_csv, write_xlsx

    f = pd.DataFrame(
        {"mittelbereich": ['=HYPERLINK("http://x")', "Hettstedt"], "wert": [-1.5, 2.0]}
    )
    write_xlsx({"Kennzahlen": f}, tmp_path / "a.xlsx", source_note="Quelle: Test")
    ws = load_workbook(tmp_path / "a.xlsx")["Kennzahlen"]
    assert ws["A2"].value == '\'=HYPERLINK("http://x")'
    assert ws["A2"].data_type == "s"
    assert ws["B2"].value == -1.5  # numbers stay numbers, a minus sign is not defused
    csv_path, note = write_csv(f, tmp_path / "a.csv", dialect="de", source_note="Quelle: Test")
    assert (
        csv_path.read_text(encoding="utf-8-sig").splitlines()[1]
        == '"\'=HYPERLINK(""http://x"")";-1,5'
    )
    assert note.read_text(encoding="utf-8") == "Quelle: Test\n"

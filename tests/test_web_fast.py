"""The fast path of the scenario page gives the numbers of the library: the zone-only services run
(no parent sums, no thresholds) equals the zone rows of the full run and of
:func:`services_from_store`; the projection's numpy accessors equal the xarray reads they replace
and ``wandel project`` for the same town."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from _compare_store import compare_db
from wandel.cli.app import app as cli_app
from wandel.web import Caller, Reader
from wandel.web.views import scenario_view
from wandel.workflow.services import ServicesRequest, services_from_store
from wandel.workflow.town import UNTIL, Levers, TownProjection, TownWorkbench, levers_scenario

ZONE = "15087220"  # Hettstedt
LEVERS = (
    Levers(),
    Levers(refugees_per_year=37),
    Levers(refugees_per_year=5, stay_young_pct=30, tfr=1.9),
)


@pytest.fixture(scope="module")
def workbench(tmp_path_factory: pytest.TempPathFactory) -> TownWorkbench:
    return TownWorkbench(compare_db(tmp_path_factory))


def _zones(wb: TownWorkbench) -> list[str]:
    """Hettstedt and three other towns spread over the store (a fixed choice)."""
    others = sorted(wb.projectable - {ZONE})
    return [ZONE, *others[:: max(1, len(others) // 3)][:3]]


def _zone_rows(f: pd.DataFrame) -> pd.DataFrame:
    return f[f["level"] == "zone"].reset_index(drop=True)


@pytest.mark.parametrize("levers", LEVERS, ids=["base", "refugees", "all"])
def test_zone_only_services_equal_the_full_run(workbench: TownWorkbench, levers: Levers) -> None:
    for zone in _zones(workbench):
        fast = workbench.services(zone, levers, draws=20, zone_only=True)
        full = workbench.services(zone, levers, draws=20)
        assert set(fast.figures["level"]) == {"zone"}
        assert fast.thresholds.empty
        assert fast.crossings.empty
        # bit for bit: the parents are sums of zones, the thresholds only read the figures
        pd.testing.assert_frame_equal(_zone_rows(fast.figures), _zone_rows(full.figures))
        assert len(fast.figures) > 0


def test_zone_only_services_equal_the_library_call(workbench: TownWorkbench) -> None:
    lev = Levers(refugees_per_year=40, stay_young_pct=20)
    req = ServicesRequest(
        (ZONE,),
        workbench.base_year,
        UNTIL,
        draws=20,
        scenarios=(("basis", None), ("szenario", levers_scenario(ZONE, lev))),
    )
    lib = _zone_rows(services_from_store(workbench.db, req).figures)
    fast = _zone_rows(workbench.services(ZONE, lev, draws=20, zone_only=True).figures)
    keys = ["scenario", "service", "measure", "year"]
    lib = lib.sort_values(keys, kind="stable").reset_index(drop=True)
    fast = fast.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(fast[lib.columns], lib)


def _oracle_population(p: TownProjection, year: int) -> pd.DataFrame:
    """The xarray read the accessor replaced."""
    pop = p.result.deterministic.population.isel(draw=0).sel(zone=p.zone, year=year)
    pop = pop.transpose("age", "sex")
    sexes = sorted(str(x) for x in pop["sex"].values)
    cols = {x: pop.sel(sex=x).values.astype(float) for x in sexes}
    return pd.DataFrame({"age": pop["age"].values, **cols})


@pytest.mark.parametrize("levers", LEVERS, ids=["base", "refugees", "all"])
def test_projection_accessors_equal_xarray(workbench: TownWorkbench, levers: Levers) -> None:
    p = workbench.project(ZONE, levers, draws=20)
    for year in (workbench.base_year, 2030, UNTIL):
        got = p.population(year)
        want = _oracle_population(p, year)
        assert list(got.columns) == list(want.columns)
        for c in want.columns:
            np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy())
    t = p.totals()
    t["value"] = -1.0  # a caller's change does not reach the next reader
    assert (p.totals()["value"] > 0).all()
    with pytest.raises(KeyError):
        p.population(UNTIL + 1)


def test_scenario_view_equals_wandel_project(workbench: TownWorkbench, tmp_path: Path) -> None:
    """The base of the scenario page (20 draws, seed 2040) against ``wandel project``."""
    out = tmp_path / "p.csv"
    args = ["project", "--db", str(workbench.db), "--zones", ZONE, "--base-year"]
    args += [str(workbench.base_year), "--until", str(UNTIL), "--draws", "20", "--seed", "2040"]
    res = CliRunner().invoke(cli_app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    cli = pd.read_csv(out, dtype={"zone": str})
    cli = cli[cli["zone"] == ZONE].groupby("year")[["value", "q10", "q90"]].sum()
    view = scenario_view(Reader(workbench), Caller(), ZONE, Levers(refugees_per_year=11))
    for row in view["fan"]["basis"]:
        for col in ("value", "q10", "q90"):
            # the CSV holds six decimals per sex and age; the page whole persons
            assert row[col] == pytest.approx(cli.loc[row["year"], col], abs=0.51)
    lib = workbench.project(ZONE, Levers(refugees_per_year=11), draws=20).totals()
    for row, (_, want) in zip(view["fan"]["szenario"], lib.iterrows(), strict=True):
        assert row["value"] == round(want["value"])
        assert row["q90"] == round(want["q90"])


def test_town_page_charts_drawn_once_per_view(workbench: TownWorkbench) -> None:
    from wandel.web.charts import drawn_charts, page_charts
    from wandel.web.views import kommune_view

    reader = Reader(workbench, cache=8)
    v = kommune_view(reader, Caller(), ZONE, 2030)
    assert kommune_view(reader, Caller(), ZONE, 2030) is v  # the remembered view
    first = drawn_charts("kommune", v, "de")
    assert drawn_charts("kommune", v, "de") is first
    assert first == page_charts("kommune", v, "de")
    assert drawn_charts("kommune", v, "en") == page_charts("kommune", v, "en")
    other = dict(v)  # another object with the same data is drawn anew, to the same text
    assert drawn_charts("kommune", other, "de") is not first
    assert drawn_charts("kommune", other, "de") == first


def test_town_page_from_memory_is_the_computed_page(workbench: TownWorkbench) -> None:
    from fastapi.testclient import TestClient

    from wandel.web import create_app
    from wandel.web.app import KOMMUNE_READS

    reader = Reader(workbench, cache=32)
    with TestClient(create_app(workbench.db, reader)) as c:
        assert not reader.ready(Caller(), KOMMUNE_READS, ZONE)
        first = c.get(f"/kommune/{ZONE}")  # computed in a worker thread
        assert reader.ready(Caller(), KOMMUNE_READS, ZONE)
        again = c.get(f"/kommune/{ZONE}")  # from memory, on the event loop
        assert first.status_code == again.status_code == 200
        strip = re.compile(r'name="csrf"[^>]*>|csrf[^"]*"[^"]*"')
        assert strip.sub("", again.text) == strip.sub("", first.text)
        assert c.get("/kommune/15087221").status_code == 404  # unknown town, either way


@pytest.mark.parametrize("zone", ["15087370", "15087220"], ids=["Sangerhausen", "Hettstedt"])
def test_young_people_staying_raise_every_seed_town(workbench: TownWorkbench, zone: str) -> None:
    """The lever "young people staying" raises the 2040 population of the seed towns, whatever
    their migration is known from (own out-rates from a negative net, or their Kreis's)."""
    stay = workbench.inputs(zone).migration.stay
    assert stay is not None
    assert stay.source[zone] in ("own", "kreis")
    base = workbench.project(zone, Levers(), draws=10)
    lever = workbench.project(zone, Levers(stay_young_pct=20), draws=10)
    pop = {
        k: float(p.result.deterministic.population.sel(zone=zone, year=UNTIL).sum())
        for k, p in (("base", base), ("lever", lever))
    }
    assert pop["lever"] > pop["base"]

"""Networks (presets, files, unknown AGS), side-by-side tables, the strengths-weaknesses profile and
the measures suggested for a town's weaknesses."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from _compare_store import compare_data
from wandel.compare.catalogue import load_catalogue
from wandel.compare.networks import (
    Network,
    check_members,
    nearest_zones,
    parse_networks,
    pick_network,
    preset_networks,
    side_by_side,
)
from wandel.compare.profile import NEAR, profile
from wandel.errors import InputFormatError, UnknownNetworkError, UnknownZoneError
from wandel.workflow.compare import measures_for, network_from_spec

YEAR = re.compile(r"\b(19|20)\d\d\b")


def test_presets_are_the_three_seed_networks() -> None:
    nets = preset_networks()
    assert set(nets) == {"mansfeld-suedharz", "oberlausitz", "saalebogen"}
    assert nets["mansfeld-suedharz"].members == ("15087220", "15087130", "15087370")
    assert nets["oberlausitz"].members == ("14625020", "14626110", "14625240")
    assert nets["saalebogen"].members == ("16073077", "16073076", "16073005")
    with pytest.raises(UnknownNetworkError, match="oberlausitz"):
        pick_network("lausitz", nets)


def test_network_file_layouts_and_lines() -> None:
    text = "networks:\n  quer:\n    title: Quer\n    members:\n      - '15087220'\n      - '14626110'\n"
    net = parse_networks(text, "n.yaml")["quer"]
    assert net.members == ("15087220", "14626110")
    assert net.lines == (5, 6)
    with pytest.raises(InputFormatError, match=r"n.yaml, line 1.*an AGS in quotes"):
        parse_networks("- 15087220\n", "n.yaml")
    with pytest.raises(InputFormatError, match="not valid YAML"):
        parse_networks("networks: [\n", "n.yaml")


def test_unknown_member_names_the_nearest(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = compare_data(tmp_path_factory)
    net = parse_networks("- '15087220'\n- '15087221'\n", "netz.yaml", "netz")["netz"]
    with pytest.raises(UnknownZoneError) as info:
        check_members(net, data.zones)
    msg = str(info.value)
    assert "netz.yaml, line 2" in msg
    assert "'15087221'" in msg
    assert "15087220 (Hettstedt, Stadt)" in msg
    assert nearest_zones("1508722", data.zones, 1) == ("15087220 (Hettstedt, Stadt)",)


def test_side_by_side_across_land_borders(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = compare_data(tmp_path_factory)
    net = network_from_spec("15087220,14626110,16073077", data)  # three Länder
    cmp = side_by_side(data.table, net, ["median_age", "natural_balance"])
    t = cmp.table
    med = t[t["indicator"] == "median_age"].set_index("zone")
    assert med["land"].tolist() == ["15", "14", "16"]
    assert med["network_mean"].iloc[0] == pytest.approx(med["value"].mean())
    assert (med["value_from"] == "own").all()
    by = data.table.values.set_index(["zone", "indicator"])["value"]
    assert med.loc["14626110", "kreis_value"] == by[("14626", "median_age")]
    assert med.loc["16073077", "land_value"] == by[("16", "median_age")]
    nat = t[t["indicator"] == "natural_balance"].set_index("zone")
    assert (nat["value_from"] == "kreis").all()  # Gemeinden have no births: their Kreis stands in
    assert nat.loc["15087220", "value"] == by[("15087", "natural_balance")]


def test_profile_sentences_carry_number_comparison_and_year(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = compare_data(tmp_path_factory)
    net = preset_networks()["mansfeld-suedharz"]
    cat = load_catalogue()
    for lang in ("de", "en"):
        prof = profile(data.table, "15087220", network=net, lang=lang)
        f = prof.facts
        assert len(f) >= 15
        assert f["z"].abs().is_monotonic_decreasing
        for _, r in f.iterrows():
            s = r["sentence"]
            years = YEAR.findall(s)
            assert years, s
            numbers = re.findall(r"\d", YEAR.sub("", s))
            assert numbers, s  # a value besides the years
            assert (r["assessment"] == "neutral") == (
                cat[r["indicator"]].direction == "neutral" or abs(r["z"]) < NEAR
            )
            marker = "geschätzt" if lang == "de" else "estimated"
            assert (marker in s) == bool(r["estimated"]), s
        assert "population" not in set(f["indicator"])
        row = f.set_index("indicator").loc["median_age"]
        assert row["reference"] == "15"
        assert row["subject"] == "15087220"
        assert row["assessment"] == "weakness"  # Hettstedt is older than Sachsen-Anhalt
        assert row["network_mean"] == pytest.approx(
            np.mean([data.table.row(m, "median_age")["value"] for m in net.members])  # type: ignore[index]
        )
    de = profile(data.table, "15087220", lang="de").facts.set_index("indicator")
    assert (
        "In Hettstedt beträgt das Medianalter 54,5 Jahre (2019, geschätzt)"
        in de.loc["median_age", "sentence"]
    )
    # Kreis-level facts are said to be the Kreis's
    assert de.loc["net_migration_18_24", "sentence"].startswith("Im Kreis Mansfeld-Südharz")


def test_profile_of_a_land_compares_with_germany(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = compare_data(tmp_path_factory)
    f = profile(data.table, "16", lang="de").facts
    assert set(f["reference"]) == {"DG"}
    assert f["sentence"].str.contains("Deutschland").all()


def test_measures_for_weaknesses_come_from_other_similar_towns(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = compare_data(tmp_path_factory)
    sugg = measures_for(data, "15087370")  # Sangerhausen
    assert not sugg.empty
    assert "15087370" not in set(sugg["zone"])
    assert sugg["measure_id"].is_unique
    cat = load_catalogue()
    for _, r in sugg.iterrows():
        assert r["field"] in cat[r["weakness"]].fields
        assert r["zone"] in r["towns"].split(";")
    # within a weakness, the more similar towns first
    for _w, grp in sugg.groupby("weakness_rank"):
        assert grp["distance"].dropna().is_monotonic_increasing
    assert isinstance(sugg, pd.DataFrame)
    assert "source" in sugg.columns


def test_network_from_spec_refuses_unknown_names(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = compare_data(tmp_path_factory)
    with pytest.raises(UnknownNetworkError):
        network_from_spec("harz", data)
    with pytest.raises(FileNotFoundError):
        network_from_spec("kein_netz.yaml", data)
    assert isinstance(network_from_spec("saalebogen", data), Network)

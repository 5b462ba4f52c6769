"""Networks of towns: user-defined lists of AGS (across Land borders), presets, side-by-side tables.

A network file is YAML, either a plain list of AGS (the network takes the file's name) or a mapping
``networks`` of name -> ``{title, members, source}``; the three seed networks ship as presets
(``wandel/data/compare/networks.yaml``). Members must be Gemeinden, Kreise or Länder the store knows:
an unknown key is refused with the nearest known keys (:func:`nearest_zones`).

:func:`side_by_side` sets every member's indicators beside its Kreis, its Land, Germany and the
network's mean (the unweighted mean of the members that have the value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from wandel.compare.catalogue import IndicatorTable
from wandel.errors import InputFormatError, UnknownNetworkError, UnknownZoneError
from wandel.sources._yaml import load_yaml

__all__ = [
    "Network",
    "NetworkComparison",
    "check_members",
    "levenshtein",
    "nearest_zones",
    "parse_networks",
    "preset_networks",
    "side_by_side",
]


@dataclass(frozen=True)
class Network:
    """A network of towns: its name, title, members (AGS) and where it comes from.

    ``lines`` gives the line of each member in the file it was read from (for error messages).
    """

    name: str
    title: str
    members: tuple[str, ...]
    source: str = ""
    file: str = ""
    lines: tuple[int | None, ...] = ()


def _member_lines(node: yaml.Node | None, n: int) -> tuple[int | None, ...]:
    if isinstance(node, yaml.SequenceNode):
        return tuple(item.start_mark.line + 1 for item in node.value)
    return (None,) * n


def _members(raw: object, file: str, line: int | None) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise InputFormatError(file, line=line, value=raw, expected="a non-empty list of AGS")
    out = []
    for m in raw:
        if not isinstance(m, str) or not m.isdigit():
            raise InputFormatError(
                file, line=line, value=m, expected="an AGS in quotes, e.g. '15087220'"
            )
        out.append(m)
    return tuple(out)


def parse_networks(text: str, file: str, default_name: str = "netz") -> dict[str, Network]:
    """Networks of a YAML text (a list of AGS, or a mapping ``networks``).

    >>> nets = parse_networks("- '15087220'\\n- '16073077'\\n", "mein_netz.yaml", "mein_netz")
    >>> nets["mein_netz"].members, nets["mein_netz"].lines
    (('15087220', '16073077'), (1, 2))
    """
    data, root = load_yaml(text, file, "a list of AGS or a mapping 'networks'")
    if isinstance(data, list):
        members = _members(data, file, 1)
        return {
            default_name: Network(
                default_name, default_name, members, "", file, _member_lines(root, len(members))
            )
        }
    if not isinstance(data, dict) or not isinstance(data.get("networks"), dict):
        raise InputFormatError(
            file, line=1, reason="no networks", expected="a list of AGS or a mapping 'networks'"
        )
    nodes: dict[str, yaml.Node] = {}
    if isinstance(root, yaml.MappingNode):
        nets_node = next((v for k, v in root.value if k.value == "networks"), None)
        if isinstance(nets_node, yaml.MappingNode):
            nodes = {k.value: v for k, v in nets_node.value}
    out: dict[str, Network] = {}
    for name, entry in data["networks"].items():
        node = nodes.get(str(name))
        line = None if node is None else node.start_mark.line + 1
        if not isinstance(entry, dict):
            raise InputFormatError(
                file, line=line, value=entry, expected="title, members and source of a network"
            )
        members_node = None
        if isinstance(node, yaml.MappingNode):
            members_node = next((v for k, v in node.value if k.value == "members"), None)
        members = _members(entry.get("members"), file, line)
        out[str(name)] = Network(
            str(name),
            str(entry.get("title") or name),
            members,
            str(entry.get("source") or ""),
            file,
            _member_lines(members_node, len(members)),
        )
    return out


@cache
def preset_networks() -> Mapping[str, Network]:
    """The shipped networks (the three seed networks of the Städtenetzwerk Demografie)."""
    path = resources.files("wandel") / "data" / "compare" / "networks.yaml"
    return parse_networks(path.read_text(encoding="utf-8"), "networks.yaml")


def pick_network(name: str, networks: Mapping[str, Network]) -> Network:
    """The network called ``name``; an unknown name lists the known ones."""
    if name not in networks:
        raise UnknownNetworkError(
            "@compare.error.unknown_network", name=repr(name), known=", ".join(sorted(networks))
        )
    return networks[name]


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between two strings.

    >>> levenshtein("15087221", "15087220"), levenshtein("1508722", "15087220")
    (1, 1)
    """
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def nearest_zones(zone: str, known: pd.DataFrame, n: int = 3) -> tuple[str, ...]:
    """The ``n`` known keys closest to ``zone`` as ``"AGS (name)"``: fewest edits, then the same
    length, then the nearest number.

    >>> known = pd.DataFrame({"zone": ["15087220", "15087130", "16073077"],
    ...                       "name": ["Hettstedt", "Eisleben", "Saalfeld/Saale"]})
    >>> nearest_zones("15087221", known, 2)
    ('15087220 (Hettstedt)', '15087130 (Eisleben)')
    """
    keys = known["zone"].astype(str).to_numpy()
    names = dict(zip(keys, known["name"].astype(str), strict=True))
    target = int(zone) if zone.isdigit() else 0

    def rank(k: str) -> tuple[int, int, int]:
        num = int(k) if k.isdigit() else 0
        return levenshtein(zone, k), int(len(k) != len(zone)), abs(num - target)

    best = sorted(keys, key=rank)[:n]
    return tuple(f"{k} ({names[k]})" for k in best)


def check_members(network: Network, known: pd.DataFrame) -> None:
    """Refuse a network member the store does not know, naming the nearest known keys."""
    have = set(known["zone"].astype(str))
    for i, m in enumerate(network.members):
        if m not in have:
            line = network.lines[i] if i < len(network.lines) else None
            where = network.file or network.name
            raise UnknownZoneError(
                m, nearest_zones(m, known), where, line=line if network.file else None
            )


@dataclass(frozen=True)
class NetworkComparison:
    """A network's members side by side: one row per member and indicator.

    Columns: ``zone, name, indicator, year, value, value_from, estimated, kreis, kreis_value,
    land, land_value, germany_value, network_mean, network_n``, where ``network_mean`` is the mean
    over the ``network_n`` members that have the indicator; ``value_from`` is ``own``, or ``kreis``
    where a Gemeinde has no value of its own and its Kreis's stands in (e.g. migration by age).
    """

    network: Network
    table: pd.DataFrame


def side_by_side(
    table: IndicatorTable, network: Network, keys: Sequence[str] | None = None
) -> NetworkComparison:
    """Every member's indicators beside its Kreis, Land, Germany and the network's mean."""
    v = table.values
    if keys is not None:
        v = v[v["indicator"].isin(list(keys))]
    by = v.set_index(["zone", "indicator"])["value"]
    mem = v[v["zone"].isin(list(network.members))].assign(value_from="own")
    # a Gemeinde without its own value of an indicator (e.g. migration by age) shows its Kreis's
    gem = [m for m in network.members if len(m) == 8]
    kr = v[v["zone"].isin({m[:5] for m in gem})]
    fill = []
    for m in gem:
        own = set(mem.loc[mem["zone"] == m, "indicator"])
        rows = kr[(kr["zone"] == m[:5]) & ~kr["indicator"].isin(own)]
        names = v.loc[v["zone"] == m, "name"]
        fill.append(
            rows.assign(
                zone=m,
                name=names.iloc[0] if not names.empty else m,
                level="gemeinde",
                value_from="kreis",
            )
        )
    mem = pd.concat([mem, *fill], ignore_index=True)
    mem["kreis"] = mem["zone"].str[:5].where(mem["zone"].str.len() == 8)
    mem["land"] = mem["zone"].str[:2]

    def look(zones: pd.Series) -> npt.NDArray[np.float64]:
        idx = pd.MultiIndex.from_arrays([zones.fillna(""), mem["indicator"]])
        values: npt.NDArray[np.float64] = by.reindex(idx).to_numpy(dtype=float)
        return values

    mem["kreis_value"] = look(mem["kreis"])
    mem["land_value"] = look(mem["land"])
    mem["germany_value"] = look(pd.Series("DG", index=mem.index))
    g = mem.groupby("indicator")["value"]
    mem["network_mean"] = mem["indicator"].map(g.mean())
    mem["network_n"] = mem["indicator"].map(g.size())
    order = {k: i for i, k in enumerate(table.catalogue)}
    pos = {z: i for i, z in enumerate(network.members)}
    mem = mem.assign(_i=mem["indicator"].map(order), _z=mem["zone"].map(pos))
    cols = [
        "zone",
        "name",
        "indicator",
        "year",
        "value",
        "value_from",
        "estimated",
        "kreis",
        "kreis_value",
        "land",
        "land_value",
        "germany_value",
        "network_mean",
        "network_n",
    ]
    out = mem.sort_values(["_i", "_z"])[cols].reset_index(drop=True)
    return NetworkComparison(network, out)

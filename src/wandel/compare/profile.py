"""A town's strengths-weaknesses profile: the same facts as sentences and as a table.

For every indicator of the profile (catalogue ``profile: true``: not the population itself, whose
comparison with a Land says nothing, nor the functional age-group shares, which stay in the tables)
the town has (or, where only its Kreis has it, e.g. migration by age, the Kreis's
value, said so in the sentence) the value is compared with the next level up: a Gemeinde's and a
Kreis's with their Land, a Land's with Germany. How far it stands out is the standardised distance

.. math:: z = (x - x_{ref}) / s

with ``s`` the standard deviation of the indicator over all zones of the compared level in the table,
and the facts are ordered by ``|z|``. The direction of the indicator (catalogue) turns a distance
into a strength or a weakness; neutral indicators and ``|z| <`` :data:`NEAR` are neither. Every
sentence carries its value, its reference value and both years (and says when a value rests on an
estimate), built from the text catalogue (``compare.profile.*``), never from free text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wandel.compare._format import format_value, short_name
from wandel.compare.catalogue import Indicator, IndicatorTable
from wandel.compare.inputs import level_of_zone
from wandel.compare.networks import Network
from wandel.errors import UnknownZoneError
from wandel.i18n import current_lang, tr

__all__ = ["NEAR", "STRONG", "Profile", "profile"]

NEAR = 0.25
"""Below this ``|z|`` a value counts as about the reference's."""
STRONG = (0.75, 1.5)
"""From these ``|z|`` a difference is "clear" and "far"."""

COLUMNS = [
    "rank",
    "indicator",
    "subject",
    "subject_name",
    "value",
    "year",
    "base_year",
    "estimated",
    "reference",
    "reference_name",
    "reference_value",
    "reference_year",
    "kreis_value",
    "land_value",
    "germany_value",
    "network_mean",
    "sd",
    "z",
    "assessment",
    "sentence",
]


@dataclass(frozen=True)
class Profile:
    """Strengths and weaknesses of one zone: ``facts`` (:data:`COLUMNS`, ordered by ``|z|``) and
    the same facts as ``sentences``."""

    zone: str
    name: str
    lang: str
    facts: pd.DataFrame

    @property
    def sentences(self) -> tuple[str, ...]:
        return tuple(self.facts["sentence"])

    def strengths(self) -> pd.DataFrame:
        return self.facts[self.facts["assessment"] == "strength"]

    def weaknesses(self) -> pd.DataFrame:
        return self.facts[self.facts["assessment"] == "weakness"]


def _reference_of(zone: str) -> str | None:
    level = level_of_zone(zone)
    if level in ("gemeinde", "kreis"):
        return zone[:2]
    if level == "land":
        return "DG"
    return None


def _assessment(ind: Indicator, z: float) -> str:
    if ind.direction == "neutral" or not np.isfinite(z) or abs(z) < NEAR:
        return "neutral"
    better = z > 0 if ind.direction == "higher_better" else z < 0
    return "strength" if better else "weakness"


def _years(year: int, base_year: object, estimated: bool, lang: str) -> str:
    text = f"{base_year}–{year}" if base_year is not None and not pd.isna(base_year) else str(year)
    return text + (", " + tr("compare.estimated", lang) if estimated else "")


def _sentence(ind: Indicator, fact: dict[str, object], own: bool, lang: str) -> str:
    z = float(fact["z"])  # type: ignore[arg-type]
    where_key = "compare.profile.where" if own else "compare.profile.where_kreis"
    where = tr(where_key, lang, place=fact["subject_name"])
    fields = {
        "where": where,
        "label": ind.text("label", lang),
        "value": format_value(float(fact["value"]), ind, lang),  # type: ignore[arg-type]
        "years": _years(int(fact["year"]), fact["base_year"], bool(fact["estimated"]), lang),  # type: ignore[call-overload]
        "ref": fact["reference_name"],
        "ref_value": format_value(float(fact["reference_value"]), ind, lang),  # type: ignore[arg-type]
        "ref_year": int(fact["reference_year"]),  # type: ignore[call-overload]
    }
    if abs(z) < NEAR:
        return tr("compare.profile.near", lang, **fields)
    degree = "far" if abs(z) >= STRONG[1] else "clear" if abs(z) >= STRONG[0] else "slight"
    side = "above" if fact["value"] > fact["reference_value"] else "below"  # type: ignore[operator]
    verdict = fact["assessment"]
    tail = "" if verdict == "neutral" else tr(f"compare.profile.verdict.{verdict}", lang)
    return tr(
        f"compare.profile.{side}",
        lang,
        degree=tr(f"compare.profile.degree.{degree}", lang),
        verdict=tail,
        **fields,
    )


def profile(
    table: IndicatorTable,
    zone: str,
    *,
    network: Network | None = None,
    lang: str | None = None,
) -> Profile:
    """The strengths-weaknesses profile of ``zone`` (a Gemeinde, Kreis or Land of ``table``)."""
    language = lang or current_lang()
    v = table.values
    if zone not in set(v["zone"]):
        raise UnknownZoneError(zone, reason="@compare.error.no_values")
    by = v.set_index(["zone", "indicator"])
    names = v.drop_duplicates("zone").set_index("zone")["name"]
    sd = v.groupby(["level", "indicator"])["value"].std(ddof=0)
    kreis = zone[:5] if level_of_zone(zone) == "gemeinde" else None
    rows = []
    for key, ind in table.catalogue.items():
        if not ind.in_profile:
            continue
        subject = zone if (zone, key) in by.index else kreis
        if subject is None or (subject, key) not in by.index:
            continue
        ref = _reference_of(subject)
        if ref is None or (ref, key) not in by.index:
            continue
        s_row, r_row = by.loc[(subject, key)], by.loc[(ref, key)]
        spread = float(sd.get((level_of_zone(subject), key), np.nan))
        z = (s_row["value"] - r_row["value"]) / spread if spread > 0 else np.nan
        if not np.isfinite(z):
            continue

        def val(zz: str | None, key: str = key) -> float:
            return float(by.loc[(zz, key), "value"]) if zz and (zz, key) in by.index else np.nan

        net_mean = np.nan
        if network is not None:
            members = [val(m) for m in network.members]
            net_mean = float(np.nanmean(members)) if np.isfinite(members).any() else np.nan
        fact: dict[str, object] = {
            "indicator": key,
            "subject": subject,
            "subject_name": short_name(str(names.get(subject, subject))),
            "value": float(s_row["value"]),
            "year": int(s_row["year"]),
            "base_year": s_row["base_year"],
            "estimated": bool(s_row["estimated"]),
            "reference": ref,
            "reference_name": short_name(str(names.get(ref, ref))),
            "reference_value": float(r_row["value"]),
            "reference_year": int(r_row["year"]),
            "kreis_value": val(kreis),
            "land_value": val(zone[:2]) if zone != "DG" else np.nan,
            "germany_value": val("DG"),
            "network_mean": net_mean,
            "sd": spread,
            "z": float(z),
        }
        fact["assessment"] = _assessment(ind, float(z))
        fact["sentence"] = _sentence(ind, fact, subject == zone, language)
        rows.append(fact)
    facts = pd.DataFrame(rows)
    if facts.empty:
        facts = pd.DataFrame({c: [] for c in COLUMNS})
    else:
        facts = facts.assign(_abs=facts["z"].abs()).sort_values(
            ["_abs", "indicator"], ascending=[False, True]
        )
        facts.insert(0, "rank", np.arange(1, len(facts) + 1))
        facts = facts[COLUMNS].reset_index(drop=True)
    return Profile(zone, short_name(str(names.get(zone, zone))), language, facts)

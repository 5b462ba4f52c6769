"""Practice exchange: for a town's weaknesses, what towns with a similar profile tried.

A weakness (:meth:`Profile.weaknesses`) points, through the catalogue's ``fields`` of its indicator,
to fields of action of the measures register (table ``measures``). Every measure of another town in
such a field is a candidate; candidates are ordered by the weakness's rank (how far the town stands
out) and then by how similar the measure's town is to this town: the Euclidean distance of their
standardised peer features (:mod:`wandel.compare.peers`). A town outside the feature matrix (no
peer features) comes last, with no distance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wandel.compare.catalogue import IndicatorTable
from wandel.compare.peers import FeatureMatrix
from wandel.compare.profile import Profile

__all__ = ["SUGGEST_COLUMNS", "suggest_measures"]

SUGGEST_COLUMNS = [
    "weakness",
    "weakness_rank",
    "field",
    "measure_id",
    "zone",
    "towns",
    "weaknesses",
    "distance",
    "similar_rank",
    "title",
    "year",
    "year_end",
    "description",
    "outcome",
    "cost_eur",
    "cost_note",
    "contact_role",
    "source",
]


def _distances(matrix: FeatureMatrix | None, zone: str) -> tuple[dict[str, float], dict[str, int]]:
    if matrix is None or zone not in matrix.zones:
        return {}, {}
    i = matrix.zones.index(zone)
    d = np.sqrt(np.einsum("ij,ij->i", matrix.z - matrix.z[i], matrix.z - matrix.z[i]))
    order = np.lexsort((np.array(matrix.zones), d))
    ranks = {matrix.zones[j]: r for r, j in enumerate(order)}  # the town itself has rank 0
    return dict(zip(matrix.zones, d.tolist(), strict=True)), ranks


def suggest_measures(
    prof: Profile,
    table: IndicatorTable,
    measures: pd.DataFrame,
    matrix: FeatureMatrix | None = None,
    *,
    max_weaknesses: int = 5,
) -> pd.DataFrame:
    """Measures of other towns for the ``max_weaknesses`` strongest weaknesses of ``prof``.

    Returns :data:`SUGGEST_COLUMNS`, one row per measure: the strongest weakness it answers and,
    of the towns that tried it, the most similar (``zone``; all in ``towns``, all weaknesses it
    answers in ``weaknesses``); ``similar_rank`` is that town's rank among all zones by similarity
    to this town (1 = the most similar), ``distance`` their distance.
    """
    weak = prof.weaknesses().head(max_weaknesses)
    dist, ranks = _distances(matrix, prof.zone)
    others = measures[measures["zone"] != prof.zone]
    rows = []
    for w_rank, (_i, w) in enumerate(weak.iterrows(), 1):
        fields = table.catalogue[str(w["indicator"])].fields
        for field in fields:
            hits = others[others["field"] == field]
            for _j, m in hits.iterrows():
                z = str(m["zone"])
                rows.append(
                    {
                        "weakness": w["indicator"],
                        "weakness_rank": w_rank,
                        "field": field,
                        "measure_id": m["measure_id"],
                        "zone": z,
                        "distance": dist.get(z, np.nan),
                        "similar_rank": ranks.get(z),
                        **{c: m[c] for c in SUGGEST_COLUMNS[9:]},
                    }
                )
    if not rows:
        return pd.DataFrame({c: [] for c in SUGGEST_COLUMNS})
    out = pd.DataFrame(rows)
    out["similar_rank"] = out["similar_rank"].astype("Int64")
    out = out.sort_values(["weakness_rank", "distance", "zone", "measure_id"], na_position="last")
    # one row per measure: its strongest weakness and its most similar town, the rest listed
    also = out.groupby("measure_id", sort=False).agg(
        weaknesses=("weakness", lambda w: ";".join(dict.fromkeys(w))),
        towns=("zone", lambda z: ";".join(dict.fromkeys(z))),
    )
    out = out.drop_duplicates("measure_id").join(also, on="measure_id")
    return out[SUGGEST_COLUMNS].reset_index(drop=True)

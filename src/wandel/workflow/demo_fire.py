"""The fire-brigade part of the demo (``make demo``): :func:`run_fire_demo`.

Day readiness (Tagesalarmsicherheit) of the volunteer brigades of every Gemeinde of Mansfeld-Südharz
(:data:`FIRE_DEMO_KREIS`; Hettstedt, Eisleben and Sangerhausen among them), the one Kreis of the demo
whose Land's rule the catalogue sources: one Gruppe of 9 within 12 minutes (Sachsen-Anhalt). The
demo does what a user would:

1. one brigade per Gemeinde at the Gemeinde's representative point (``feuerwehr_standorte_*.csv``,
   ``id,lon,lat,name,kind``);
2. travel times between the brigades and the Gemeinden with ``wandel access matrix``
   (:func:`wandel.workflow.access.matrix`; no road network of the region is bundled, so the
   labelled straight-line fallback ``t = d_gc × 1.3 / 50 km/h``): ``feuerwehr_fahrzeiten_*.csv``;
3. ``wandel services --services feuerwehr --overrides feuerwehr_annahmen.yaml --travel-times ...``
   (:func:`wandel.workflow.services.services_to_files`): members of active age under the age band,
   the weekday share, and the crew that reaches each Gemeinde within the Land's time.

The figures no source gives (weekday share, age band, members per resident) are set in the demo
configuration ``wandel/data/demo/feuerwehr_annahmen.yaml``, each with a text saying it is the demo's
assumption; the texts appear in the files' source notes and the console names the file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["FIRE_DEMO_KREIS", "fire_demo_config", "run_fire_demo"]

FIRE_DEMO_KREIS = "15087"
"""Mansfeld-Südharz (Sachsen-Anhalt): the Kreis of the fire-brigade demo."""


def fire_demo_config() -> Path:
    """The demo configuration of the fire brigades (an overrides file, documented inside)."""
    return Path(str(resources.files("wandel") / "data" / "demo" / "feuerwehr_annahmen.yaml"))


def _stations(db: Path, kreis: str, path: Path) -> Path:
    """One brigade per Gemeinde of ``kreis`` at its representative point, as a facility CSV."""
    from wandel.store import Store
    from wandel.workflow.outputs import write_atomic
    from wandel.workflow.points import boundaries_frame, zone_points

    with Store.open(db, read_only=True) as store:
        pts = zone_points(boundaries_frame(store, (kreis,)))
    frame = pd.DataFrame(
        {
            "id": pts["zone"].astype(str),
            "lon": pts["lon"].round(6),
            "lat": pts["lat"].round(6),
            "name": "Freiwillige Feuerwehr " + pts["zone"].astype(str),
            "kind": "feuerwehr_standort",
        }
    )
    write_atomic(path, lambda p: frame.to_csv(p, index=False))
    return path


def run_fire_demo(
    db: Path,
    out_dir: Path,
    draws: int,
    base_year: int,
    until: int = 2040,
    kreis: str = FIRE_DEMO_KREIS,
) -> list[Path]:
    """Write the fire-brigade demo for ``kreis`` into ``out_dir``: stations, travel times and the
    service files ``dienste_feuerwehr_<kreis>_*``; returns the files written."""
    from wandel.workflow.access import FacilitySpec, NetworkSpec, OriginSpec, matrix
    from wandel.workflow.services import ServicesRequest, services_to_files

    out_dir.mkdir(parents=True, exist_ok=True)
    stations = _stations(db, kreis, out_dir / f"feuerwehr_standorte_{kreis}.csv")
    times = out_dir / f"feuerwehr_fahrzeiten_{kreis}.csv"
    matrix(OriginSpec(file=stations), FacilitySpec(file=stations), NetworkSpec(), db, times)
    req = ServicesRequest(
        zones=(kreis,),
        base_year=base_year,
        until=until,
        draws=draws,
        seed=2040,
        services=("feuerwehr",),
        overrides=fire_demo_config(),
        travel_times=times,
    )
    _run, files = services_to_files(db, req, out_dir, stem=f"dienste_feuerwehr_{kreis}")
    return [stations, times, *files]

"""Accessibility on the road network: OSM extracts to CSR graphs, snapping, travel-time queries.

Typical use::

    from wandel.access import load_network, snap_frame, nearest_facility

    net = load_network("region.osm.pbf", "car", cache_dir=cache)
    origins = snap_frame(net, origins_df, what="origins")
    facilities = snap_frame(net, facilities_df, what="facilities")
    result = nearest_facility(net, origins, facilities)   # result.table indexed by origin id

Travel times are door to door: the straight legs from each point to its network node are walked
(R5's 1.3 m/s unless ``access_speed_kph`` says otherwise) and added at both ends; points link within
R5's radius of 300 m, then up to 1.6 km (:mod:`wandel.access.snap`).

Without a network, :func:`nearest_facility_crowfly` gives the labelled straight-line fallback.
"""

from wandel.access.network import (
    DEFAULT_SPEEDS_KPH,
    MODES,
    RoadNetwork,
    build_network,
    load_network,
    network_from_edges,
    speed_table,
)
from wandel.access.osm import OsmWays, read_highways
from wandel.access.routing import (
    CROWFLY_DETOUR_FACTOR,
    CROWFLY_SPEED_KPH,
    CoverageResult,
    IsochroneResult,
    MatrixResult,
    NearestResult,
    coverage_by_age,
    isochrones,
    nearest_facility,
    nearest_facility_crowfly,
    nearest_node_times,
    travel_time_matrix,
    travel_time_matrix_crowfly,
    travel_times_between_nodes,
)
from wandel.access.snap import (
    DEFAULT_ACCESS_SPEED_KPH,
    DEFAULT_INITIAL_SNAP_M,
    DEFAULT_MAX_SNAP_M,
    SnapResult,
    check_access_speed,
    snap_frame,
    snap_points,
)

__all__ = [
    "CROWFLY_DETOUR_FACTOR",
    "CROWFLY_SPEED_KPH",
    "DEFAULT_ACCESS_SPEED_KPH",
    "DEFAULT_INITIAL_SNAP_M",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_SPEEDS_KPH",
    "MODES",
    "CoverageResult",
    "IsochroneResult",
    "MatrixResult",
    "NearestResult",
    "OsmWays",
    "RoadNetwork",
    "SnapResult",
    "build_network",
    "check_access_speed",
    "coverage_by_age",
    "isochrones",
    "load_network",
    "nearest_facility",
    "nearest_facility_crowfly",
    "nearest_node_times",
    "network_from_edges",
    "read_highways",
    "snap_frame",
    "snap_points",
    "speed_table",
    "travel_time_matrix",
    "travel_time_matrix_crowfly",
    "travel_times_between_nodes",
]

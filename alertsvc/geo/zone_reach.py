"""Which named zones an alert's area reaches, for residents who subscribed to a zone rather than a point.

A zone is reached when any part of it lies inside or on the boundary of any target area. Polygons are compared
exactly (shapely ``intersects``) piece by piece, so polygons across the antimeridian meet where they meet on the
globe (see :meth:`~alertsvc.geo.areas.PolygonArea.pieces`: any two pieces that touch, on the map or past it,
touch on the globe, and every point of the map is in some piece); a circle reaches a zone when its centre is in
the zone or any point of the zone's boundary, densified to about 50 m, is within the circle.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely

from alertsvc.geo.areas import Area, CircleArea, PolygonArea
from alertsvc.geo.targeting import TargetArea
from alertsvc.geo.zones import Zone, ZoneRegistry

DENSIFY_DEG = 0.0005


def _zone_reached_by_circle(zone: Zone, circle: CircleArea) -> bool:
    if TargetArea(zone.polygons).contains([circle.center.lat], [circle.center.lon]).any():
        return True
    target = TargetArea([circle])
    for polygon in zone.polygons:
        for piece in polygon.pieces():
            coords = np.asarray(shapely.segmentize(piece.exterior, DENSIFY_DEG).coords)
            lons = (coords[:, 0] + 180.0) % 360.0 - 180.0  # a piece may run past +-180; the circle's test is periodic
            if target.contains(coords[:, 1], lons).any():
                return True
    return False


def _zone_reached_by_polygon(zone: Zone, area: PolygonArea) -> bool:
    pieces = area.pieces()
    return any(mine.intersects(theirs) for polygon in zone.polygons for theirs in polygon.pieces() for mine in pieces)


def zones_reached(registry: ZoneRegistry, areas: Iterable[Area]) -> list[str]:
    """Names of the zones any of ``areas`` reaches."""
    areas = list(areas)
    reached = []
    for zone in registry:
        for area in areas:
            hit = (
                _zone_reached_by_circle(zone, area)
                if isinstance(area, CircleArea)
                else _zone_reached_by_polygon(zone, area)
            )
            if hit:
                reached.append(zone.name)
                break
    return reached

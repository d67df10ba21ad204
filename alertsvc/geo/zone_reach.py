"""Which named zones an alert's area reaches, for residents who subscribed to a zone rather than a point.

A zone is reached when any part of it lies inside or on the boundary of any target area. Polygons are compared
exactly (shapely ``intersects``); a circle reaches a zone when its centre is in the zone or any point of the
zone's boundary, densified to about 50 m, is within the circle.
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
    target = TargetArea([circle])
    for polygon in zone.polygons:
        shape = polygon.to_shapely()
        if shapely.intersects_xy(shape, circle.center.lon, circle.center.lat):
            return True
        boundary = shapely.segmentize(shape.exterior, DENSIFY_DEG)
        coords = np.asarray(boundary.coords)
        if target.contains(coords[:, 1], coords[:, 0]).any():
            return True
    return False


def _zone_reached_by_polygon(zone: Zone, area: PolygonArea) -> bool:
    shape = area.to_shapely()
    return any(shape.intersects(polygon.to_shapely()) for polygon in zone.polygons)


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

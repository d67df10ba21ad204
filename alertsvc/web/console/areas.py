"""The compose form's area fields, read into internal areas, and areas written out for the map.

Dispatchers paste coordinates from wherever they have them: CAP text (``lat,lon lat,lon ...``, one polygon a
line) or GeoJSON (``[lon, lat]``: a Polygon, MultiPolygon, Feature or FeatureCollection, or a bare ring). The
map's draw tool writes GeoJSON into the same textarea. Which one it is follows from the first character (``{``
or ``[`` is GeoJSON), never from guessing at numbers, and every pair goes through :mod:`alertsvc.geo.areas`, the
one place that knows which number is the latitude.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from alertsvc.geo.areas import (
    Area,
    AreaError,
    CircleArea,
    PolygonArea,
    circle_to_cap,
    parse_cap_circle,
    parse_cap_polygon,
    polygon_from_geojson_ring,
    polygon_to_cap,
    polygons_from_geojson_geometry,
)
from alertsvc.geo.zones import ZoneRegistry


@dataclass(slots=True)
class AreaInput:
    """What the dispatcher gave: pasted or drawn polygons, circles, and zone names."""

    polygon_text: str = ""
    circle_text: str = ""
    zones: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ParsedAreas:
    polygons: list[PolygonArea] = field(default_factory=list)
    circles: list[CircleArea] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """Form field → reason, for ``polygon``, ``circle`` and ``zones``."""

    def shapes(self, registry: ZoneRegistry) -> list[Area]:
        """Every area, zones resolved to their polygons (for the reach count)."""
        found: list[Area] = [*self.polygons, *self.circles]
        for name in self.zones:
            zone = registry.find(name)
            if zone is not None:
                found.extend(zone.polygons)
        return found

    def cap_polygons(self) -> list[str]:
        return [polygon_to_cap(polygon) for polygon in self.polygons]

    def cap_circles(self) -> list[str]:
        return [circle_to_cap(circle) for circle in self.circles]


def _geojson_polygons(data: Any) -> list[PolygonArea]:
    if isinstance(data, list):
        return [polygon_from_geojson_ring(data)]
    if not isinstance(data, dict):
        raise AreaError("GeoJSON must be an object or a ring of [lon, lat] positions")
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or not features:
            raise AreaError("the FeatureCollection has no features")
        return [polygon for feature in features for polygon in _geojson_polygons(feature)]
    if kind == "Feature":
        geometry = data.get("geometry")
        if not isinstance(geometry, dict):
            raise AreaError("the Feature has no geometry")
        return polygons_from_geojson_geometry(geometry)
    return polygons_from_geojson_geometry(data)


def parse_polygon_text(text: str) -> list[PolygonArea]:
    """Polygons from CAP text (one a line) or GeoJSON; raises :class:`AreaError` with the reason."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped[0] in "{[":
        try:
            data = json.loads(stripped)
        except ValueError:
            raise AreaError("this looks like GeoJSON but is not valid JSON") from None
        except RecursionError:
            raise AreaError("this GeoJSON is nested too deeply") from None
        try:
            return _geojson_polygons(data)
        except (TypeError, KeyError, IndexError):
            raise AreaError("GeoJSON positions must be [lon, lat] number pairs") from None
        except RecursionError:
            raise AreaError("this GeoJSON is nested too deeply") from None
    polygons = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if line.strip():
            try:
                polygons.append(parse_cap_polygon(line))
            except AreaError as exc:
                raise AreaError(f"line {number}: {exc}") from None
    return polygons


def parse_circle_text(text: str) -> list[CircleArea]:
    """Circles in CAP form, ``lat,lon radius_km``, one a line."""
    circles = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        if line.strip():
            try:
                circles.append(parse_cap_circle(line))
            except AreaError as exc:
                raise AreaError(f"line {number}: {exc}") from None
    return circles


def parse_areas(given: AreaInput, registry: ZoneRegistry) -> ParsedAreas:
    """Read every area field; each field's problem is reported against that field, never "repaired"."""
    parsed = ParsedAreas()
    try:
        parsed.polygons = parse_polygon_text(given.polygon_text)
    except AreaError as exc:
        parsed.errors["polygon"] = str(exc)
    try:
        parsed.circles = parse_circle_text(given.circle_text)
    except AreaError as exc:
        parsed.errors["circle"] = str(exc)
    unknown = [name for name in given.zones if registry.find(name) is None]
    if unknown:
        parsed.errors["zones"] = f"unknown zone '{unknown[0]}'"
    parsed.zones = [name for name in given.zones if registry.find(name) is not None]
    return parsed


def _ring(polygon: PolygonArea) -> list[list[float]]:
    return [[point.lon, point.lat] for point in polygon.points]


def polygon_feature(polygon: PolygonArea, **properties: Any) -> dict[str, Any]:
    geometry = {"type": "Polygon", "coordinates": [_ring(polygon)]}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def circle_feature(circle: CircleArea, **properties: Any) -> dict[str, Any]:
    """A circle for the map: GeoJSON has no circles, so a Point with ``radius_m`` that the page draws as one."""
    center = circle.center
    return {
        "type": "Feature",
        "properties": {**properties, "radius_m": circle.radius_km * 1000.0},
        "geometry": {"type": "Point", "coordinates": [center.lon, center.lat]},
    }


def areas_geojson(parsed: ParsedAreas, registry: ZoneRegistry) -> dict[str, Any]:
    """The target area as a FeatureCollection for Leaflet (drawn polygons, circles, and picked zones)."""
    features = [polygon_feature(polygon, kind="polygon") for polygon in parsed.polygons]
    features += [circle_feature(circle, kind="circle") for circle in parsed.circles]
    for name in parsed.zones:
        zone = registry.find(name)
        if zone is not None:
            features += [polygon_feature(polygon, kind="zone", name=zone.name) for polygon in zone.polygons]
    return {"type": "FeatureCollection", "features": features}


def zones_geojson(registry: ZoneRegistry) -> dict[str, Any]:
    """Every named zone, for the map's reference layer."""
    features = [polygon_feature(polygon, kind="zone", name=zone.name) for zone in registry for polygon in zone.polygons]
    return {"type": "FeatureCollection", "features": features}

"""Target areas in one internal form: the only place raw coordinate pairs are read or written.


CAP writes ``lat,lon`` pairs (``polygon`` as ``"lat,lon lat,lon ..."``, ``circle`` as ``"lat,lon radius_km"``);
GeoJSON writes ``[lon, lat]``. Both are converted here, once, into :class:`LatLon`, which names its fields so
that nothing downstream can swap them. Invalid shapes raise :class:`AreaError` with a reason a dispatcher can
act on; a shape is never "repaired" silently, because a repaired polygon is a polygon nobody drew.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import Polygon as ShapelyPolygon

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), used for every great-circle distance."""

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PAIR = re.compile(rf"^({_NUMBER}),({_NUMBER})$")


class AreaError(ValueError):
    """A polygon, circle or zone that cannot be used as a target; ``str()`` is the reason."""


@dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS 84 position. Named fields so latitude and longitude can never be confused."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and math.isfinite(self.lon)):
            raise AreaError("coordinates must be finite numbers")
        if not -90.0 <= self.lat <= 90.0:
            raise AreaError(f"latitude {self.lat} is outside -90..90")
        if not -180.0 <= self.lon <= 180.0:
            raise AreaError(f"longitude {self.lon} is outside -180..180")


@dataclass(frozen=True, slots=True)
class PolygonArea:
    """A closed ring of at least four points (the first repeated last), not self-intersecting."""

    points: tuple[LatLon, ...]

    def __post_init__(self) -> None:
        if len(self.points) < 4:
            raise AreaError(f"a polygon needs at least 4 points (first repeated last), got {len(self.points)}")
        if self.points[0] != self.points[-1]:
            raise AreaError("polygon is not closed: the first and last points differ")
        ring = self.to_shapely()
        if ring.convex_hull.area == 0.0:
            raise AreaError("polygon has no area (all points on one line)")
        if not shapely.is_valid(ring):
            raise AreaError(f"polygon is self-intersecting{_where(shapely.is_valid_reason(ring))}")

    def to_shapely(self) -> ShapelyPolygon:
        """The polygon in shapely's (x=lon, y=lat) order."""
        return ShapelyPolygon([(p.lon, p.lat) for p in self.points])

    def bbox(self) -> tuple[float, float, float, float]:
        """(min_lat, min_lon, max_lat, max_lon)."""
        lats = [p.lat for p in self.points]
        lons = [p.lon for p in self.points]
        return min(lats), min(lons), max(lats), max(lons)


@dataclass(frozen=True, slots=True)
class CircleArea:
    """A great-circle disc: every point within ``radius_km`` of ``center`` (boundary included)."""

    center: LatLon
    radius_km: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.radius_km) or self.radius_km < 0:
            raise AreaError(f"circle radius must be a finite number of km >= 0, got {self.radius_km}")

    def bbox(self) -> tuple[float, float, float, float]:
        """A (min_lat, min_lon, max_lat, max_lon) box that contains the whole circle (never smaller)."""
        dlat = math.degrees(self.radius_km / EARTH_RADIUS_KM)
        min_lat = max(-90.0, self.center.lat - dlat)
        max_lat = min(90.0, self.center.lat + dlat)
        widest = max(abs(min_lat), abs(max_lat))
        if widest >= 89.999 or dlat >= 90:
            return min_lat, -180.0, max_lat, 180.0
        dlon = math.degrees(self.radius_km / (EARTH_RADIUS_KM * math.cos(math.radians(widest))))
        dlon *= 1.0001  # a hair of slack so float rounding never trims a resident on the edge
        if dlon >= 180:
            return min_lat, -180.0, max_lat, 180.0
        return min_lat, max(-180.0, self.center.lon - dlon), max_lat, min(180.0, self.center.lon + dlon)


Area = PolygonArea | CircleArea


_REASON_POINT = re.compile(rf"\[({_NUMBER}) ({_NUMBER})\]")


def _where(reason: str) -> str:
    """GEOS reports a point as ``[x y]``, i.e. lon first; say it in CAP's lat,lon order."""
    match = _REASON_POINT.search(reason)
    return f" near {match.group(2)},{match.group(1)} (lat,lon)" if match else ""


def _parse_pair(token: str) -> LatLon:
    match = _PAIR.match(token)
    if not match:
        raise AreaError(f"'{token[:40]}' is not a 'lat,lon' pair")
    return LatLon(lat=float(match.group(1)), lon=float(match.group(2)))


def parse_cap_polygon(text: str) -> PolygonArea:
    """Read a CAP ``polygon`` value: whitespace-separated ``lat,lon`` pairs."""
    tokens = text.split()
    if not tokens:
        raise AreaError("polygon is empty")
    return PolygonArea(points=tuple(_parse_pair(token) for token in tokens))


def parse_cap_circle(text: str) -> CircleArea:
    """Read a CAP ``circle`` value: ``lat,lon radius_km``."""
    tokens = text.split()
    if len(tokens) != 2:
        raise AreaError("circle must be 'lat,lon radius' (radius in km)")
    center = _parse_pair(tokens[0])
    try:
        radius = float(tokens[1])
    except ValueError:
        raise AreaError(f"circle radius '{tokens[1][:40]}' is not a number") from None
    return CircleArea(center=center, radius_km=radius)


def _format_number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def polygon_to_cap(polygon: PolygonArea) -> str:
    """Write a polygon back in CAP's ``lat,lon lat,lon ...`` form."""
    return " ".join(f"{_format_number(p.lat)},{_format_number(p.lon)}" for p in polygon.points)


def circle_to_cap(circle: CircleArea) -> str:
    """Write a circle back in CAP's ``lat,lon radius`` form."""
    c = circle.center
    return f"{_format_number(c.lat)},{_format_number(c.lon)} {_format_number(circle.radius_km)}"


def polygon_from_geojson_ring(ring: Sequence[Sequence[float]]) -> PolygonArea:
    """Read a GeoJSON linear ring (``[[lon, lat], ...]``)."""
    pairs: list[tuple[float, float]] = []
    for position in ring:
        if (
            not isinstance(position, list | tuple)
            or len(position) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:2])
        ):
            raise AreaError("GeoJSON ring positions must be [lon, lat] number pairs")
        pairs.append((float(position[1]), float(position[0])))
    return PolygonArea(points=tuple(LatLon(lat=lat, lon=lon) for lat, lon in pairs))


def polygons_from_geojson_geometry(geometry: dict[str, Any]) -> list[PolygonArea]:
    """Outer rings of a GeoJSON Polygon or MultiPolygon (holes are not supported and are refused)."""
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon" and isinstance(coords, list):
        rings = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        rings = coords
    else:
        raise AreaError("geometry must be a GeoJSON Polygon or MultiPolygon")
    polygons = []
    if not rings:
        raise AreaError("geometry has no polygons")
    for polygon_rings in rings:
        if not isinstance(polygon_rings, list) or len(polygon_rings) != 1:
            raise AreaError("polygons with holes are not supported; give the outer ring only")
        polygons.append(polygon_from_geojson_ring(polygon_rings[0]))
    return polygons

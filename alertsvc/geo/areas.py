"""Target areas in one internal form: the only place raw coordinate pairs are read or written.

CAP writes ``lat,lon`` pairs (``polygon`` as ``"lat,lon lat,lon ..."``, ``circle`` as ``"lat,lon radius_km"``);
GeoJSON writes ``[lon, lat]``. Both are converted here, once, into :class:`LatLon`, which names its fields so
that nothing downstream can swap them. Invalid shapes raise :class:`AreaError` with a reason a dispatcher can
act on; a shape is never "repaired" silently, because a repaired polygon is a polygon nobody drew.

The 180th meridian (the antimeridian)
    Longitudes are written in -180..180, so a polygon over the Pacific's date line has an edge from, say,
    179 to -179. Read flat, that edge runs 358 degrees the long way round and the polygon covers the wrong
    side of the globe. The rule: **an edge whose two longitudes differ by more than 180 degrees crosses the
    antimeridian** (CAP polygons never legitimately span more than half the globe in one edge; a difference
    of exactly 180 is ambiguous and keeps the flat reading). Such a polygon is *unwrapped*: each vertex's
    longitude is moved by whole turns (360 degrees) so that every edge takes the short way, giving one ring in
    continuous longitudes (179..181 for the example), which is where it is checked to be simple. It is refused
    when it does not close that way (it goes round a pole: cut at the meridian it would need a cap over the
    pole that nobody drew) or spans more than a turn (it would overlap itself on the globe).

    Targeting uses :meth:`PolygonArea.pieces`: every copy of the unwrapped ring, shifted by whole turns, that
    reaches the map's -180..180; a copy's part beyond the map holds no position, so each piece only ever
    selects residents on its own side of the meridian. That is splitting the polygon at the meridian without
    cutting it: no vertex is added and none is moved other than by whole turns (a cut would put new vertices
    at rounded latitudes), so residents exactly on an edge stay on it. Nothing is repaired: the pieces are
    exactly the polygon the sender drew, as the globe has it. A shift by a turn is exact in floating point for
    every vertex within 52 degrees of the meridian (129.5 becomes -230.5: both in the binade 128..256, with the
    same spacing); a vertex farther out may be rounded by half the spacing of the result, 3e-14 to 6e-14
    degrees (a few nanometres). A polygon that merely touches the meridian gets the copy across it too, since
    -180 and 180 are one line. Circles need none of this: their test is periodic in longitude, and only their
    bounding box is split (:mod:`alertsvc.geo.targeting`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry.base import BaseGeometry

from alertsvc.errors import InvalidInput

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), used for every great-circle distance."""
MAX_POLYGON_POINTS = 10_000
"""The most points a submitted (CAP) polygon may have. A county boundary drawn finely has a few thousand; checking
one of ten thousand points takes about a tenth of a second, and every alert's polygons are checked again at each
fan-out and preview, so a larger one is refused (422 naming the polygon) rather than let one request cost seconds."""

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PAIR = re.compile(rf"^({_NUMBER}),({_NUMBER})$")


class AreaError(InvalidInput):
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


TURN_DEG = 360.0
"""Longitudes a whole turn apart name the same meridian."""

_HALF_TURN = 180.0


def _crosses(previous: float, current: float) -> int:
    """+1 when the written longitudes rise by more than 180 degrees along the edge ``previous`` -> ``current``
    (its short way runs west across the antimeridian), -1 when they fall by more than 180 (east across it), 0
    when the edge does not cross. Compared exactly near 180: a float difference could round 180 plus a hair
    down to 180."""
    step = current - previous
    if abs(abs(step) - _HALF_TURN) < 1e-9:
        exact = Fraction(current) - Fraction(previous)
        return 1 if exact > _HALF_TURN else -1 if exact < -_HALF_TURN else 0
    return 1 if step > _HALF_TURN else -1 if step < -_HALF_TURN else 0


def _turns_of(lons: Sequence[float]) -> list[int]:
    """For each vertex, the whole turns to add to its longitude so that every edge takes the short way."""
    turns = [0]
    for previous, current in itertools.pairwise(lons):
        turns.append(turns[-1] - _crosses(previous, current))
    return turns


def _shifted(lons: Sequence[float], turns: Sequence[int], extra: int = 0) -> list[float]:
    """Each longitude moved by its turns plus ``extra`` turns, in one addition (one rounding at most)."""
    return [lon + TURN_DEG * (turn + extra) if turn + extra else lon for lon, turn in zip(lons, turns, strict=True)]


@dataclass(frozen=True, slots=True)
class PolygonArea:
    """A closed ring of at least four points (the first repeated last), not self-intersecting on the globe.

    ``points`` are as written (longitudes in -180..180); a ring with an edge across the antimeridian is read
    the short way round (see the module docstring).
    """

    points: tuple[LatLon, ...]
    _turns: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.points) < 4:
            raise AreaError(f"a polygon needs at least 4 points (first repeated last), got {len(self.points)}")
        if self.points[0] != self.points[-1]:
            raise AreaError("polygon is not closed: the first and last points differ")
        turns = _turns_of([p.lon for p in self.points])
        if turns[-1]:
            raise AreaError(
                "polygon goes round a pole (its edges cross the 180th meridian more often one way than the other),"
                " so it cannot be targeted exactly: draw the area as polygons that do not encircle the pole"
            )
        object.__setattr__(self, "_turns", tuple(turns))
        lons = _shifted([p.lon for p in self.points], turns)
        if max(lons) - min(lons) > TURN_DEG:
            raise AreaError("polygon spans more than 360 degrees of longitude, so it overlaps itself on the globe")
        ring = self._ring()
        if ring.convex_hull.area == 0.0:
            raise AreaError("polygon has no area (all points on one line)")
        if not shapely.is_valid(ring):
            raise AreaError(f"polygon is self-intersecting{_where(shapely.is_valid_reason(ring))}")

    @property
    def crosses_antimeridian(self) -> bool:
        """Whether an edge crosses the 180th meridian (its longitudes differ by more than 180 degrees)."""
        return any(self._turns)

    def _ring(self, extra_turns: int = 0) -> ShapelyPolygon:
        """The unwrapped ring, moved by ``extra_turns`` whole turns, in shapely's (x=lon, y=lat) order."""
        lons = _shifted([p.lon for p in self.points], self._turns, extra_turns)
        return ShapelyPolygon([(lon, p.lat) for lon, p in zip(lons, self.points, strict=True)])

    def pieces(self) -> list[ShapelyPolygon]:
        """The polygon for exact point tests, in shapely's (x=lon, y=lat) order: every copy of the unwrapped
        ring, a whole number of turns apart, that reaches the map (-180..180, edges included). One piece, the
        polygon as written, unless it crosses or touches the antimeridian; then a piece for each side, each
        reaching only its own side of the map (its part beyond +-180 holds no position)."""
        _, low, _, high = self.bbox()
        return [
            self._ring(extra)
            for extra in range(-2, 3)
            if low + extra * TURN_DEG <= _HALF_TURN and high + extra * TURN_DEG >= -_HALF_TURN
        ]

    def to_shapely(self) -> BaseGeometry:
        """The area on the map, in shapely's (x=lon, y=lat) order: the polygon as written, or, for one across
        the antimeridian, a MultiPolygon of its parts on either side, cut at +-180.

        For drawing and for approximate uses (a point inside a zone); the cut points' latitudes are rounded to
        the nearest float. Exact point tests use :meth:`pieces`.
        """
        if not self.crosses_antimeridian:
            return self._ring()
        world = shapely.box(-_HALF_TURN, -90.0, _HALF_TURN, 90.0)
        parts = [part for piece in self.pieces() for part in _polygons(shapely.intersection(piece, world))]
        return MultiPolygon(parts)

    def bbox(self) -> tuple[float, float, float, float]:
        """(min_lat, min_lon, max_lat, max_lon) of the unwrapped ring: for a polygon across the antimeridian
        the longitudes run past +-180 (179..181 for ``10,179 10,-179 ...``); otherwise as written."""
        lats = [p.lat for p in self.points]
        lons = _shifted([p.lon for p in self.points], self._turns)
        return min(lats), min(lons), max(lats), max(lons)


def _polygons(geometry: BaseGeometry) -> list[ShapelyPolygon]:
    """The polygons with area in a clipping result (which may hold lines or points where a piece only touches)."""
    parts = getattr(geometry, "geoms", [geometry])
    return [part for part in parts if isinstance(part, ShapelyPolygon) and part.area > 0]


@dataclass(frozen=True, slots=True)
class CircleArea:
    """A great-circle disc: every point within ``radius_km`` of ``center`` (boundary included)."""

    center: LatLon
    radius_km: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.radius_km) or self.radius_km < 0:
            raise AreaError(f"circle radius must be a finite number of km >= 0, got {self.radius_km}")

    def bbox(self) -> tuple[float, float, float, float]:
        """A (min_lat, min_lon, max_lat, max_lon) box that contains the whole circle (never smaller).

        Near the antimeridian its longitudes run past +-180 (a circle at ``10,179.9`` reaching 180.35 also
        reaches -179.65); a circle round a pole, or wider than half the globe, gets every longitude, -180..180.
        """
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
        return min_lat, self.center.lon - dlon, max_lat, self.center.lon + dlon


Area = PolygonArea | CircleArea


_REASON_POINT = re.compile(rf"\[({_NUMBER}) ({_NUMBER})\]")


def _where(reason: str) -> str:
    """GEOS reports a point as ``[x y]``, i.e. lon first; say it in CAP's lat,lon order, and on the map (an
    unwrapped ring's longitude may run past +-180)."""
    match = _REASON_POINT.search(reason)
    if not match:
        return ""
    lon = match.group(1)
    if abs(float(lon)) > _HALF_TURN:
        lon = _format_number(float(lon) - math.copysign(TURN_DEG, float(lon)))
    return f" near {match.group(2)},{lon} (lat,lon)"


def _parse_pair(token: str) -> LatLon:
    match = _PAIR.match(token)
    if not match:
        raise AreaError(f"'{token[:40]}' is not a 'lat,lon' pair")
    return LatLon(lat=float(match.group(1)), lon=float(match.group(2)))


def parse_cap_polygon(text: str) -> PolygonArea:
    """Read a CAP ``polygon`` value: whitespace-separated ``lat,lon`` pairs, at most :data:`MAX_POLYGON_POINTS`."""
    tokens = text.split()
    if not tokens:
        raise AreaError("polygon is empty")
    if len(tokens) > MAX_POLYGON_POINTS:
        raise AreaError(f"polygon has {len(tokens)} points; at most {MAX_POLYGON_POINTS} are accepted")
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

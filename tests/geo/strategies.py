"""Hypothesis strategies for simple polygons, circles and the points that stress them.

Polygons are star-shaped around a centre (vertices at increasing angles, every gap under half a turn), so
they are simple by construction whether convex (equal radii) or concave (varied radii). Vertices are snapped
to a 2**-20 degree grid so that points at dyadic fractions along an edge are *exactly* on it in floating
point, and the "on the boundary" rule is tested for real rather than approximately.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from alertsvc.geo.areas import AreaError, CircleArea, LatLon, PolygonArea

from .oracles import EARTH_RADIUS_KM, LatLonPair, unwrapped_ring

GRID = 2.0**-20
EDGE_STEPS = 64  # points at k/64 along an edge of grid vertices are exactly representable


def _snap(value: float) -> float:
    return round(value / GRID) * GRID


def _star(draw: st.DrawFn, lat0: float, lon0: float, scale: float, convex: bool | None) -> list[LatLonPair]:
    """The closed ring of a star polygon around (lat0, lon0), vertices snapped to the grid."""
    n = draw(st.integers(3, 40))
    weights = draw(st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n))
    total = sum(weights)
    gaps = [w / total * 2 * math.pi for w in weights]
    assume(max(gaps) < 0.95 * math.pi)
    start = draw(st.floats(0, 2 * math.pi))
    is_convex = draw(st.booleans()) if convex is None else convex
    radii = [1.0] * n if is_convex else draw(st.lists(st.floats(0.15, 1.0), min_size=n, max_size=n))
    angle = start
    ring = []
    for gap, radius in zip(gaps, radii, strict=True):
        ring.append((_snap(lat0 + scale * radius * math.sin(angle)), _snap(lon0 + scale * radius * math.cos(angle))))
        angle += gap
    ring.append(ring[0])
    return ring


def _polygon(ring: list[LatLonPair]) -> PolygonArea:
    try:
        return PolygonArea(points=tuple(LatLon(lat=lat, lon=lon) for lat, lon in ring))
    except AreaError:
        assume(False)
        raise


@st.composite
def star_polygons(draw: st.DrawFn, convex: bool | None = None) -> PolygonArea:
    """A simple polygon of 3 to 40 vertices somewhere away from the poles and the antimeridian."""
    lat0 = draw(st.floats(-70, 70))
    lon0 = draw(st.floats(-170, 170))
    scale = draw(st.sampled_from([0.002, 0.02, 0.2, 2.0])) * draw(st.floats(0.5, 1.0))
    return _polygon(_star(draw, lat0, lon0, scale, convex))


def wrap(lon: float) -> float:
    """A longitude brought into -180..180 by a whole turn (exact for the grid's values and k/64 of an edge)."""
    if lon > 180:
        return lon - 360
    if lon < -180:
        return lon + 360
    return lon


@st.composite
def crossing_polygons(draw: st.DrawFn, convex: bool | None = None) -> PolygonArea:
    """A simple star polygon across the 180th meridian, its longitudes written in -180..180 as CAP has them.

    From a few metres to 120 degrees wide (so some vertices lie far from the meridian, where a shift by a turn
    is not always exact in floating point; on the grid it is). A vertex may sit exactly on the meridian, as 180
    or as -180.
    """
    scale = draw(st.sampled_from([0.002, 0.02, 0.2, 2.0, 20.0, 60.0])) * draw(st.floats(0.5, 1.0))
    lat0 = draw(st.floats(-(88 - scale), 88 - scale))
    lon0 = 180 + draw(st.floats(-0.8, 0.8)) * scale
    ring = _star(draw, lat0, lon0, scale, convex)
    written = [(lat, wrap(lon)) for lat, lon in ring]
    if draw(st.booleans()):  # the vertex nearest the meridian moved onto it, written as 180 or -180
        index = min(range(len(ring) - 1), key=lambda i: abs(ring[i][1] - 180))
        if abs(ring[index][1] - 180) <= 0.25 * scale:
            written[index] = (written[index][0], draw(st.sampled_from([180.0, -180.0])))
            written[-1] = written[0]
    assume(any(abs(b[1] - a[1]) > 180 for a, b in itertools.pairwise(written)))
    return _polygon(written)


def _one_step(value: float, direction: float) -> float:
    """The next float after ``value`` towards ``direction`` (one ulp), but at least 1e-15 degrees.

    From exactly 0 one ulp is a subnormal (5e-324); GEOS's double-double predicates underflow there and call
    such a point "on the boundary". That is 1e-308 degrees of geography, so it is not tested.
    """
    step = float(np.nextafter(value, math.copysign(math.inf, direction)))
    if abs(step - value) < 1e-15 and abs(value) < 1e-15:
        return value + math.copysign(1e-15, direction)
    return step


def ring_of(polygon: PolygonArea) -> list[LatLonPair]:
    return [(p.lat, p.lon) for p in polygon.points]


@st.composite
def probe_points(draw: st.DrawFn, polygon: PolygonArea) -> list[LatLonPair]:
    """Points of every awkward kind for ``polygon``: anywhere nearby, on vertices, exactly on edges,
    approximately on edges (float rounding), and one ulp away from vertices."""
    ring = ring_of(polygon)
    min_lat, min_lon, max_lat, max_lon = polygon.bbox()
    dlat, dlon = (max_lat - min_lat) * 0.2, (max_lon - min_lon) * 0.2
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    points: list[LatLonPair] = []
    count = draw(st.integers(5, 40))
    lats = rng.uniform(min_lat - dlat, max_lat + dlat, count)
    lons = rng.uniform(min_lon - dlon, max_lon + dlon, count)
    points += [(float(a), float(b)) for a, b in zip(lats, lons, strict=True)]
    edges = list(itertools.pairwise(ring))
    for _ in range(draw(st.integers(1, 10))):
        (alat, alon), (blat, blon) = edges[int(rng.integers(len(edges)))]
        k = int(rng.integers(EDGE_STEPS + 1))
        points.append((alat + (blat - alat) * k / EDGE_STEPS, alon + (blon - alon) * k / EDGE_STEPS))
        t = float(rng.uniform())
        points.append((alat + (blat - alat) * t, alon + (blon - alon) * t))
    for _ in range(draw(st.integers(1, 6))):
        vlat, vlon = ring[int(rng.integers(len(ring)))]
        points.append((vlat, vlon))
        direction = [-1.0, 1.0][int(rng.integers(2))]
        if rng.integers(2):
            points.append((_one_step(vlat, direction), vlon))
        else:
            points.append((vlat, _one_step(vlon, direction)))
    return points


def exact_edge_points(polygon: PolygonArea) -> list[LatLonPair]:
    """Every vertex plus points at k/8 along every edge: all exactly on the boundary."""
    ring = ring_of(polygon)
    points = []
    for (alat, alon), (blat, blon) in itertools.pairwise(ring):
        for k in range(8):
            points.append((alat + (blat - alat) * k / 8, alon + (blon - alon) * k / 8))
    return points


@st.composite
def circles(draw: st.DrawFn) -> CircleArea:
    """A circle from 10 m to 3000 km, anywhere but across the antimeridian (not supported by design).

    Circles around a pole are kept: they span every longitude and must still work.
    """
    lat = draw(st.floats(-89, 89))
    radius = 10 ** draw(st.floats(-2, 3.5))
    lon = draw(st.floats(-179, 179))
    angular = radius / EARTH_RADIUS_KM
    if abs(lat) + math.degrees(angular) < 90:
        half_width = math.degrees(math.asin(math.sin(angular) / math.cos(math.radians(lat))))
        assume(lon - half_width > -180 and lon + half_width < 180)
    return CircleArea(center=LatLon(lat=lat, lon=lon), radius_km=radius)


def unwrapped_floats(polygon: PolygonArea) -> list[LatLonPair]:
    """The oracle's unwrapped ring as floats (exact for grid vertices): where edge and box points are made."""
    ring = unwrapped_ring(ring_of(polygon))
    assert ring is not None
    return [(float(lat), float(lon)) for lat, lon in ring]


def _on_map(points: list[LatLonPair]) -> list[LatLonPair]:
    """Wrapped into -180..180; a point one ulp past a pole or past +-180 is no position, so it is left out."""
    wrapped = [(lat, wrap(lon)) for lat, lon in points]
    return [(lat, lon) for lat, lon in wrapped if -90 <= lat <= 90 and -180 <= lon <= 180]


@st.composite
def crossing_probe_points(draw: st.DrawFn, polygon: PolygonArea) -> list[LatLonPair]:
    """Points of every awkward kind for a polygon across the meridian, written in -180..180: anywhere around it,
    exactly and approximately on its edges, on and one ulp from its vertices, on the meridian itself (as 180
    and as -180), and on the wrong side of the globe (inside the box of the longitudes as written)."""
    ring = unwrapped_floats(polygon)
    lats, lons = [p[0] for p in ring], [p[1] for p in ring]
    min_lat, max_lat, min_lon, max_lon = min(lats), max(lats), min(lons), max(lons)
    dlat, dlon = (max_lat - min_lat) * 0.2, (max_lon - min_lon) * 0.2
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    count = draw(st.integers(5, 40))
    points: list[LatLonPair] = list(
        zip(
            rng.uniform(min_lat - dlat, max_lat + dlat, count).tolist(),
            rng.uniform(min_lon - dlon, max_lon + dlon, count).tolist(),
            strict=True,
        )
    )
    edges = list(itertools.pairwise(ring))
    for _ in range(draw(st.integers(1, 10))):
        (alat, alon), (blat, blon) = edges[int(rng.integers(len(edges)))]
        k = int(rng.integers(EDGE_STEPS + 1))
        points.append((alat + (blat - alat) * k / EDGE_STEPS, alon + (blon - alon) * k / EDGE_STEPS))
        t = float(rng.uniform())
        points.append((alat + (blat - alat) * t, alon + (blon - alon) * t))
    for lat in [*rng.uniform(min_lat - dlat, max_lat + dlat, 6).tolist(), *lats]:
        points += [(lat, 180.0), (lat, -180.0)]
    written = ring_of(polygon)
    for _ in range(draw(st.integers(1, 6))):
        vlat, vlon = written[int(rng.integers(len(written)))]
        points.append((vlat, vlon))
        direction = [-1.0, 1.0][int(rng.integers(2))]
        points.append((_one_step(vlat, direction), vlon) if rng.integers(2) else (vlat, _one_step(vlon, direction)))
    flat_min = min(lon for _, lon in written)
    flat_max = max(lon for _, lon in written)  # the flat reading spans these: the wrong side of the globe
    wrong_lats, wrong_lons = rng.uniform(min_lat, max_lat, 8).tolist(), rng.uniform(flat_min, flat_max, 8).tolist()
    points += list(zip(wrong_lats, wrong_lons, strict=True))
    return _on_map(points)


def crossing_edge_points(polygon: PolygonArea) -> list[LatLonPair]:
    """Every vertex plus points at k/8 along every edge (taken the short way), wrapped: all on the boundary."""
    points = []
    for (alat, alon), (blat, blon) in itertools.pairwise(unwrapped_floats(polygon)):
        for k in range(8):
            points.append((alat + (blat - alat) * k / 8, alon + (blon - alon) * k / 8))
    return _on_map(points)


@st.composite
def crossing_circles(draw: st.DrawFn) -> CircleArea:
    """A circle from 100 m to 2000 km whose disc reaches across the 180th meridian, centred on either side
    (or on it), possibly far enough north or south to take in a pole."""
    lat = draw(st.floats(-80, 80))
    radius = 10 ** draw(st.floats(-1, 3.3))
    angular = radius / EARTH_RADIUS_KM
    if abs(lat) + math.degrees(angular) < 90:
        half_width = math.degrees(math.asin(min(1.0, math.sin(angular) / math.cos(math.radians(lat)))))
    else:
        half_width = 180.0
    offset = draw(st.floats(0, 0.95)) * min(half_width, 179.0)
    lon = draw(st.sampled_from([180.0 - offset, -180.0 + offset]))
    return CircleArea(center=LatLon(lat=lat, lon=lon), radius_km=radius)


@st.composite
def polygons_round_a_pole(draw: st.DrawFn) -> list[LatLonPair]:
    """A CAP ring that goes once round a pole (every step under 180 degrees, all the same way)."""
    lat = draw(st.floats(-85, 85))
    n = draw(st.integers(3, 12))
    weights = draw(st.lists(st.floats(0.5, 1.0), min_size=n, max_size=n))
    steps = [w / sum(weights) * 360 for w in weights]
    assume(max(steps) < 179)
    lon = draw(st.floats(-180, 180))
    direction = draw(st.sampled_from([1, -1]))  # eastward or westward round the pole
    ring = []
    for step in steps:
        ring.append((_snap(lat + draw(st.floats(-1, 1))), wrap(_snap(lon))))
        lon += direction * step
    ring.append(ring[0])
    return ring

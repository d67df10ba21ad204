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

from .oracles import EARTH_RADIUS_KM, LatLonPair

GRID = 2.0**-20
EDGE_STEPS = 64  # points at k/64 along an edge of grid vertices are exactly representable


def _snap(value: float) -> float:
    return round(value / GRID) * GRID


@st.composite
def star_polygons(draw: st.DrawFn, convex: bool | None = None) -> PolygonArea:
    """A simple polygon of 3 to 40 vertices somewhere away from the poles and the antimeridian."""
    lat0 = draw(st.floats(-70, 70))
    lon0 = draw(st.floats(-170, 170))
    n = draw(st.integers(3, 40))
    weights = draw(st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n))
    total = sum(weights)
    gaps = [w / total * 2 * math.pi for w in weights]
    assume(max(gaps) < 0.95 * math.pi)
    start = draw(st.floats(0, 2 * math.pi))
    is_convex = draw(st.booleans()) if convex is None else convex
    radii = [1.0] * n if is_convex else draw(st.lists(st.floats(0.15, 1.0), min_size=n, max_size=n))
    scale = draw(st.sampled_from([0.002, 0.02, 0.2, 2.0])) * draw(st.floats(0.5, 1.0))
    angle = start
    points = []
    for gap, radius in zip(gaps, radii, strict=True):
        points.append(
            LatLon(
                lat=_snap(lat0 + scale * radius * math.sin(angle)),
                lon=_snap(lon0 + scale * radius * math.cos(angle)),
            )
        )
        angle += gap
    points.append(points[0])
    try:
        return PolygonArea(points=tuple(points))
    except AreaError:
        assume(False)
        raise


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

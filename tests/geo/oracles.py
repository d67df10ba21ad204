"""Reference answers written independently of alertsvc.geo and shapely: the tests' source of truth.

Deliberately plain: a ray-casting point-in-polygon test with explicit on-edge and on-vertex handling, exact
(Fraction) arithmetic whenever floating point could get a sign wrong, and a textbook haversine. Slow, but
easy to check by eye.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, written out again on purpose (not imported)

LatLonPair = tuple[float, float]


def orientation(a: LatLonPair, b: LatLonPair, p: LatLonPair) -> int:
    """Sign of the cross product (b - a) x (p - a) in the (x=lon, y=lat) plane: +1 left, -1 right, 0 on line.

    A float estimate is trusted only when it is far from zero; otherwise the sign is computed exactly.
    """
    (alat, alon), (blat, blon), (plat, plon) = a, b, p
    left = (blon - alon) * (plat - alat)
    right = (blat - alat) * (plon - alon)
    det = left - right
    if abs(det) > 1e-9 * (abs(left) + abs(right)):
        return 1 if det > 0 else -1
    exact = (Fraction(blon) - Fraction(alon)) * (Fraction(plat) - Fraction(alat)) - (
        Fraction(blat) - Fraction(alat)
    ) * (Fraction(plon) - Fraction(alon))
    return (exact > 0) - (exact < 0)


def on_segment(a: LatLonPair, b: LatLonPair, p: LatLonPair) -> bool:
    """Whether p lies on the closed segment a-b (exactly)."""
    if not (min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])):
        return False
    return orientation(a, b, p) == 0


def point_in_ring(point: LatLonPair, ring: Sequence[LatLonPair]) -> bool:
    """Inside or on the boundary of the closed ring ``[(lat, lon), ..., first]``.

    Casts a ray from the point towards increasing longitude and counts the edges it crosses. An edge counts
    when it straddles the point's latitude (one end strictly above, the other at or below: the usual rule
    that makes a vertex on the ray count once) and the crossing lies east of the point.
    """
    if tuple(point) in {tuple(v) for v in ring}:
        return True
    inside = False
    for a, b in itertools.pairwise(ring):
        if on_segment(a, b, point):
            return True
        if (a[0] > point[0]) != (b[0] > point[0]):
            side = orientation(a, b, point)
            # for an edge going north (b above a) the crossing is east of p when p is left of a->b
            crosses_east = side > 0 if b[0] > a[0] else side < 0
            if crosses_east:
                inside = not inside
    return inside


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean-radius sphere (atan2 form)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    a = min(1.0, max(0.0, a))
    return 2 * EARTH_RADIUS_KM * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def destination(lat: float, lon: float, bearing_deg: float, distance_km: float) -> LatLonPair:
    """The point reached from (lat, lon) along a great circle: used to put points on a circle's edge."""
    phi1, lam1 = math.radians(lat), math.radians(lon)
    theta = math.radians(bearing_deg)
    delta = distance_km / EARTH_RADIUS_KM
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lam2 = lam1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1), math.cos(delta) - math.sin(phi1) * sin_phi2
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540.0) % 360.0 - 180.0

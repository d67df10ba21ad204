"""Reference answers written independently of alertsvc.geo and shapely: the tests' source of truth.

Deliberately plain: a ray-casting point-in-polygon test with explicit on-edge and on-vertex handling, exact
(Fraction) arithmetic whenever floating point could get a sign wrong, and a textbook haversine. Slow, but
easy to check by eye. Polygons across the 180th meridian are unwrapped in exact arithmetic (never with the
production code's helpers), and the haversine needs nothing for them: it only sees the sine of half the
longitude difference, which is the same a whole turn apart.
"""

from __future__ import annotations

import functools
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


# --- The antimeridian -------------------------------------------------------------------------------------------
#
# The rule being checked: an edge whose two longitudes differ by more than 180 degrees does not run the long way
# round the globe but crosses the 180th meridian (CAP never draws one edge across more than half the globe).
# The oracle "unwraps" such a ring in exact arithmetic, moving longitudes by whole turns so that the edges are
# the short ones, and then asks whether any copy of the point, a whole number of turns away, is in that ring.

TURN = 360  # degrees


def crosses_antimeridian(ring: Sequence[LatLonPair]) -> bool:
    """Whether some edge of the ring jumps by more than 180 degrees of longitude (compared exactly)."""
    return any(abs(Fraction(b[1]) - Fraction(a[1])) > 180 for a, b in itertools.pairwise(ring))


ExactPair = tuple[Fraction, Fraction]


def unwrapped_ring(ring: Sequence[LatLonPair]) -> list[ExactPair] | None:
    """The ring with each edge's longitude step taken the short way (a step of more than 180 degrees becomes one
    of less than 180 the other way), exactly, from the first vertex as written; None when the result does not
    close (the ring goes round a pole) or spans more than a turn (it would overlap itself on the globe)."""
    lat0, lon0 = ring[0]
    out: list[ExactPair] = [(Fraction(lat0), Fraction(lon0))]
    for (_, a), (lat, b) in itertools.pairwise(ring):
        step = Fraction(b) - Fraction(a)
        if step > 180:
            step -= TURN
        elif step < -180:
            step += TURN
        out.append((Fraction(lat), out[-1][1] + step))
    lons = [lon for _, lon in out]
    if out[-1] != out[0] or max(lons) - min(lons) > TURN:
        return None
    return out


def _as_floats(values: Sequence[Fraction]) -> list[float] | None:
    """The values as floats when every one is exactly a float (then the float ray-casting is as exact, and much
    faster); None otherwise."""
    floats = [float(value) for value in values]
    return floats if all(f == v for f, v in zip(floats, values, strict=True)) else None


@functools.lru_cache(maxsize=64)
def _globe_ring(ring: tuple[LatLonPair, ...]) -> tuple[list[ExactPair], list[LatLonPair] | None]:
    unwrapped = unwrapped_ring(ring)
    assert unwrapped is not None, "the ring goes round a pole: no polygon on the globe to test against"
    lats = _as_floats([lat for lat, _ in unwrapped])
    lons = _as_floats([lon for _, lon in unwrapped])
    floats = list(zip(lats, lons, strict=True)) if lats is not None and lons is not None else None
    return unwrapped, floats


def point_in_polygon_on_globe(point: LatLonPair, ring: Sequence[LatLonPair]) -> bool:
    """Inside or on the boundary of the polygon drawn by ``ring`` on the globe, where longitudes a whole turn
    apart are the same meridian (so -180 and 180 are one line). The ring must unwrap (see above)."""
    unwrapped, floats = _globe_ring(tuple((float(lat), float(lon)) for lat, lon in ring))
    low = min(lon for _, lon in unwrapped)
    high = max(lon for _, lon in unwrapped)
    lat, lon = Fraction(point[0]), Fraction(point[1])
    for turns in range(-2, 3):
        shifted = lon + turns * TURN
        if not low <= shifted <= high:
            continue
        exact_point = _as_floats([lat, shifted])
        if floats is not None and exact_point is not None:
            inside = point_in_ring((exact_point[0], exact_point[1]), floats)
        else:
            inside = point_in_ring((lat, shifted), unwrapped)  # type: ignore[arg-type]
        if inside:
            return True
    return False

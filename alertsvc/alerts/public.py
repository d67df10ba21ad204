"""The public alerts in force, for the feeds that CAP aggregators and feed readers poll and for the zone pages.

An alert is public and in force when anyone may read it and it still applies: CAP ``status`` Actual, ``scope``
Public, ``msgType`` Alert or Update (a Cancel, Ack or Error is not a warning in force), lifecycle state
``dispatching`` or ``sent`` (a draft, one waiting for approval, rejected, cancelled or expired is not), and no
``expires`` in the past. Restricted and Private alerts are addressed to some people only and never appear here.
One unit of work per function (the convention in :mod:`alertsvc.runtime`); the answers are plain values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, or_, select

from alertsvc.alerts.states import AlertState
from alertsvc.cap import Alert as CapAlert
from alertsvc.cap import parse_cap_json
from alertsvc.clock import utcnow
from alertsvc.geo.areas import AreaError, CircleArea, PolygonArea, parse_cap_circle, parse_cap_polygon
from alertsvc.geo.zones import ZoneRegistry, resolve_geocodes
from alertsvc.store.models import Alert

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["FEED_LIMIT", "PublicAlert", "geometry_of", "public_alert", "public_alerts_in_force"]

IN_FORCE_STATES = (AlertState.DISPATCHING.value, AlertState.SENT.value)
WARNING_MSG_TYPES = ("Alert", "Update")
FEED_LIMIT = 500
"""At most this many alerts in one feed, newest first: a feed reader's document stays small."""


@dataclass(frozen=True, slots=True)
class PublicAlert:
    """One public alert in force: its id here, the CAP document, and the times a feed shows."""

    id: str
    cap: CapAlert
    sent_at: datetime
    updated_at: datetime
    expires_at: datetime | None


def _in_force(now: datetime) -> Select[Alert]:
    return select(Alert).where(
        Alert.state.in_(IN_FORCE_STATES),
        Alert.status == "Actual",
        Alert.msg_type.in_(WARNING_MSG_TYPES),
        or_(Alert.expires_at.is_(None), Alert.expires_at > now),
    )


def _public(row: Alert) -> PublicAlert | None:
    """The row as a :class:`PublicAlert`, or None when its scope is not Public."""
    if row.cap.get("scope") != "Public":
        return None
    return PublicAlert(
        id=row.id,
        cap=parse_cap_json(row.cap),
        sent_at=row.sent_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
    )


async def public_alerts_in_force(runtime: Runtime, limit: int = FEED_LIMIT) -> list[PublicAlert]:
    """The public Actual alerts in force now, newest sent first."""
    query = _in_force(utcnow()).order_by(Alert.sent_at.desc(), Alert.id.desc()).limit(limit)
    async with runtime.sessions() as session:
        rows = list(await session.scalars(query))
    return [alert for alert in map(_public, rows) if alert is not None]


async def public_alert(runtime: Runtime, alert_id: str) -> PublicAlert | None:
    """The alert when it is public and in force now; None otherwise (the feed's CAP link then answers 404)."""
    async with runtime.sessions() as session:
        row = await session.scalar(_in_force(utcnow()).where(Alert.id == alert_id))
    return _public(row) if row is not None else None


EARTH_RADIUS_KM = 6371.0088
CIRCLE_SIDES = 64
"""GeoJSON has no circle (RFC 7946): a CAP circle is drawn as a polygon of this many sides, inside the circle."""


def _ring(polygon: PolygonArea) -> list[list[float]]:
    return [[point.lon, point.lat] for point in polygon.points]


def _circle_ring(circle: CircleArea) -> list[list[float]]:
    """The circle as a closed ring of points on its great-circle boundary, ``[lon, lat]``, counter-clockwise."""
    lat1, lon1 = math.radians(circle.center.lat), math.radians(circle.center.lon)
    angular = circle.radius_km / EARTH_RADIUS_KM
    ring = []
    for step in range(CIRCLE_SIDES):
        bearing = -2 * math.pi * step / CIRCLE_SIDES
        lat2 = math.asin(
            math.sin(lat1) * math.cos(angular) + math.cos(lat1) * math.sin(angular) * math.cos(bearing)
        )
        lon2 = lon1 + math.atan2(
            math.sin(bearing) * math.sin(angular) * math.cos(lat1), math.cos(angular) - math.sin(lat1) * math.sin(lat2)
        )
        lon = (math.degrees(lon2) + 540.0) % 360.0 - 180.0
        ring.append([round(lon, 6), round(math.degrees(lat2), 6)])
    ring.append(ring[0])
    return ring


def geometry_of(cap: CapAlert, zones: ZoneRegistry) -> dict[str, Any] | None:
    """Every area of every info of ``cap`` as one GeoJSON geometry (``[lon, lat]``): a GeometryCollection of
    polygons (CAP polygons, circles drawn as polygons, named zones' polygons); None when no area can be drawn.
    An area that cannot be drawn any more (a zone removed since) is left out rather than failing the feed."""
    geometries: list[dict[str, Any]] = []
    for info in cap.info:
        for area in info.area:
            try:
                rings = [_ring(parse_cap_polygon(text)) for text in area.polygon]
                rings += [_circle_ring(parse_cap_circle(text)) for text in area.circle]
                geocodes = [(code.value_name, code.value) for code in area.geocode]
                rings += [_ring(polygon) for polygon in resolve_geocodes(zones, geocodes)]
            except AreaError:
                continue
            geometries.extend({"type": "Polygon", "coordinates": [ring]} for ring in rings)
    if not geometries:
        return None
    return {"type": "GeometryCollection", "geometries": geometries}

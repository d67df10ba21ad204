"""What the public page of a zone (``/z/{zone}``) shows: its public alerts in force, upcoming meetings and the
residents' priorities, gathered in one call so the page's router reads no table itself.

Everything here is public already (the alert feeds, the meetings' calendar, the priorities' API); nothing names a
resident. An alert is the zone's when one of its drawn areas (CAP polygons, circles, named zones) meets the zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shapely.geometry import shape

from alertsvc.alerts.public import geometry_of, public_alerts_in_force
from alertsvc.community.meetings import MeetingView, UnknownZone, upcoming_meetings
from alertsvc.community.priorities import PriorityView, zone_priorities
from alertsvc.geo.zones import Zone

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["UnknownZone", "ZoneAlert", "ZonePage", "zone_page"]


@dataclass(frozen=True, slots=True)
class ZoneAlert:
    headline: str
    event: str
    severity: str
    sent_at: datetime
    expires_at: datetime | None
    language: str


@dataclass(frozen=True, slots=True)
class ZonePage:
    zone: str
    alerts: list[ZoneAlert]
    meetings: list[MeetingView]
    priorities: list[PriorityView]


def _meets(zone: Zone, geometry: dict[str, object] | None) -> bool:
    if geometry is None:
        return False
    drawn = shape(geometry)
    return any(polygon.to_shapely().intersects(drawn) for polygon in zone.polygons)


async def zone_page(runtime: Runtime, name: str) -> ZonePage:
    """The zone's page contents; :class:`UnknownZone` for no zone by this name."""
    zone = runtime.zones.find(name)
    if zone is None:
        raise UnknownZone(name)
    alerts = []
    for alert in await public_alerts_in_force(runtime):
        if not _meets(zone, geometry_of(alert.cap, runtime.zones)):
            continue
        info = alert.cap.info[0] if alert.cap.info else None
        alerts.append(
            ZoneAlert(
                headline=(info.headline or info.event) if info is not None else alert.cap.identifier,
                event=info.event if info is not None else "",
                severity=str(info.severity) if info is not None else "",
                sent_at=alert.sent_at,
                expires_at=alert.expires_at,
                language=(info.language or "en") if info is not None else "en",
            )
        )
    return ZonePage(
        zone=zone.name,
        alerts=alerts,
        meetings=await upcoming_meetings(runtime, zone.name, limit=20),
        priorities=await zone_priorities(runtime, zone.name),
    )

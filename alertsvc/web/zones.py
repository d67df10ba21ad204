"""Public zone addresses: ``GET /z/{zone}/meetings.ics``, the zone's upcoming meetings as an iCalendar feed that
residents subscribe to in their own calendar. No personal data: meetings are public."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from alertsvc.community.meetings import UnknownZone, meetings_ics
from alertsvc.runtime import Runtime

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
ZoneName = Annotated[str, Path(max_length=100)]
CALENDAR = "text/calendar; charset=utf-8"


@router.get("/z/{zone}/meetings.ics")
async def zone_meetings_ics(request: Request, zone: ZoneName) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        body = await meetings_ics(runtime, zone, runtime.settings.public_url)
    except UnknownZone:
        return Response("no zone by this name\n", status_code=404, media_type="text/plain")
    return Response(body, media_type=CALENDAR, headers={"Cache-Control": "public, max-age=300"})

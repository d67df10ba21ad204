"""Public zone addresses: ``GET /z/{zone}``, the zone's page (its map, public warnings in force, upcoming meetings,
residents' priorities, how to take part), ``/z/{zone}/zone.geojson`` (the outline its map draws) and
``/z/{zone}/meetings.ics``, the upcoming meetings as an iCalendar feed that residents subscribe to in their own
calendar. No personal data: everything shown is public. The page is in English, French or Spanish (``?lang=``, then
``Accept-Language``) and works without JavaScript (the map is the only part that needs it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from alertsvc.community.meetings import UnknownZone, meetings_ics
from alertsvc.community.zone_page import zone_page
from alertsvc.i18n import N_
from alertsvc.resources import templates_dir
from alertsvc.runtime import Runtime
from alertsvc.web.console.areas import polygon_feature
from alertsvc.web.i18n import gettext_for, language_of
from alertsvc.web.pages import PageRoute
from alertsvc.web.tiles import basemap

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=PageRoute)
templates = Jinja2Templates(directory=str(templates_dir()))
ZoneName = Annotated[str, Path(max_length=100)]
CALENDAR = "text/calendar; charset=utf-8"
PAGE_CACHE = "public, max-age=60"
"""A minute, as the alert feeds: the page lists the warnings in force."""
NO_ZONE = N_("There is no neighbourhood by this name.")
NOT_FOUND = N_("Not found")


def _not_found(request: Request) -> HTMLResponse:
    lang = language_of(request)
    _ = gettext_for(lang)
    context = {"lang": lang, "title": _(NOT_FOUND), "text": _(NO_ZONE)}
    return templates.TemplateResponse(request, "pages/message.html", context, status_code=404)


@router.get("/z/{zone}", response_class=HTMLResponse)
async def zone_html(request: Request, zone: str) -> HTMLResponse:
    """The zone's page; any name that is no zone's (too long included) gets the 404 page, not a problem+json."""
    runtime: Runtime = request.app.state.runtime
    try:
        page = await zone_page(runtime, zone)
    except UnknownZone:
        return _not_found(request)
    lang = language_of(request)
    translate = gettext_for(lang)
    context = {
        "lang": lang, "_": translate, "ngettext": translate.ngettext, "page": page,
        "basemap": basemap(runtime.settings),
    }  # fmt: skip
    response = templates.TemplateResponse(request, "pages/zone.html", context)
    response.headers["Cache-Control"] = PAGE_CACHE
    response.headers["Vary"] = "Accept-Language"
    return response


@router.get("/z/{zone}/zone.geojson")
async def zone_geojson(request: Request, zone: ZoneName) -> Response:
    runtime: Runtime = request.app.state.runtime
    found = runtime.zones.find(zone)
    if found is None:
        return Response("no zone by this name\n", status_code=404, media_type="text/plain")
    features = [polygon_feature(polygon, name=found.name) for polygon in found.polygons]
    return JSONResponse(
        {"type": "FeatureCollection", "features": features},
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/z/{zone}/meetings.ics")
async def zone_meetings_ics(request: Request, zone: ZoneName) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        body = await meetings_ics(runtime, zone, runtime.settings.public_url)
    except UnknownZone:
        return Response("no zone by this name\n", status_code=404, media_type="text/plain")
    return Response(body, media_type=CALENDAR, headers={"Cache-Control": "public, max-age=300"})

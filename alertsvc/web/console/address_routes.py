"""The compose page's address and zone search: ``GET /console/addresses?q=12 riv`` → up to ten matches with where
they are: first the named zones whose name matches (up to :data:`~alertsvc.geo.zone_search.ZONE_RESULTS`, with their
bounding box, so the map fits the zone; :func:`alertsvc.geo.zone_search.search_zones`), then addresses.

JSON for ``static/console/address-search.js``, which lists the matches and centres the map on the one picked (and,
for a zone, offers to tick it as the target area).
Signed-in console users only (an operator's gazetteer is not a public geocoder), ``q`` from 1 to
:data:`~alertsvc.residents.addresses.MAX_QUERY_LENGTH` characters (422 otherwise), and rate limited per address so
a script cannot walk the gazetteer. The address search is :func:`alertsvc.residents.addresses.search_addresses`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from alertsvc.geo.zone_search import search_zones
from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import rate_limit
from alertsvc.residents.addresses import MAX_QUERY_LENGTH, RESULTS, search_addresses
from alertsvc.web.console.deps import CurrentUser
from alertsvc.web.console.route import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)

SEARCH_RATE = "120/minute"
"""Two searches a second, sustained, per client address: a typist with a pause between keys stays well under it."""


@router.get("/addresses", dependencies=[Depends(rate_limit("console-address-search", SEARCH_RATE))])
async def address_search(
    runtime: RuntimeDep,
    _user: CurrentUser,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_LENGTH)],
) -> Response:
    """``{"items": [...]}``: zones, then addresses, having each word of ``q`` as a word's start. An address is
    ``{"label", "lat", "lon"}``; a zone also has ``"zone"`` (its name, as the compose form's zone boxes have it) and
    ``"bounds"`` (``[[south, west], [north, east]]``, Leaflet's order), its ``lat``/``lon`` the box's middle."""
    zones = search_zones(runtime.zones, q)
    items: list[dict[str, object]] = []
    for zone in zones:
        lat, lon = zone.centre
        bounds = [[zone.south, zone.west], [zone.north, zone.east]]
        items.append({"label": zone.name, "lat": lat, "lon": lon, "zone": zone.name, "bounds": bounds})
    matches = await search_addresses(runtime, q)
    items.extend({"label": match.label, "lat": match.lat, "lon": match.lon} for match in matches)
    return JSONResponse({"items": items[:RESULTS]}, headers={"Cache-Control": "no-store"})

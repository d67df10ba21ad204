"""The compose page's address search: ``GET /console/addresses?q=12 riv`` → up to ten addresses with where they are.

JSON for ``static/console/address-search.js``, which lists the matches and centres the map on the one picked.
Signed-in console users only (an operator's gazetteer is not a public geocoder), ``q`` from 1 to
:data:`~alertsvc.residents.addresses.MAX_QUERY_LENGTH` characters (422 otherwise), and rate limited per address so
a script cannot walk the gazetteer. The search itself is :func:`alertsvc.residents.addresses.search_addresses`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import rate_limit
from alertsvc.residents.addresses import MAX_QUERY_LENGTH, search_addresses
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
    """``{"items": [{"label", "lat", "lon"}]}``: the addresses having each word of ``q`` as a word's start."""
    matches = await search_addresses(runtime, q)
    return JSONResponse(
        {"items": [{"label": match.label, "lat": match.lat, "lon": match.lon} for match in matches]},
        headers={"Cache-Control": "no-store"},
    )

"""The compose map's resident density: ``GET /console/density.geojson?bbox=west,south,east,north``.

GeoJSON for ``static/console/density.js``: one square ``Polygon`` per grid cell of the view with at least
``ALERTSVC_DENSITY_MIN_COUNT`` residents (``properties.residents``); cells with fewer are left out
(:mod:`alertsvc.alerts.density` says why and how the grid is chosen). The collection also says ``cell_deg``,
``min_count``, ``current`` (False while the counts are of the index before a change) and ``building`` (no counts
yet: ask again shortly). Signed-in console users only; a ``bbox`` that is not four finite numbers enclosing
something is a 422 naming ``bbox``. The work is bounded by the residents in the view and runs off the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from alertsvc.alerts.density import Cell, density, parse_view
from alertsvc.http.deps import RuntimeDep
from alertsvc.http.ratelimit import rate_limit
from alertsvc.web.console.deps import CurrentUser
from alertsvc.web.console.route import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)

DENSITY_RATE = "240/minute"
"""Four views a second, sustained, per client address: a dispatcher panning and zooming stays well under it."""


def _feature(cell: Cell) -> dict[str, object]:
    south, west, north, east = cell.south, cell.west, cell.south + cell.size, cell.west + cell.size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"residents": cell.residents},
    }


@router.get("/density.geojson", dependencies=[Depends(rate_limit("console-density", DENSITY_RATE))])
async def resident_density(
    runtime: RuntimeDep,
    _user: CurrentUser,
    bbox: Annotated[str, Query(min_length=7, max_length=200)],
) -> Response:
    """Residents per grid cell of the view, as a GeoJSON ``FeatureCollection``."""
    found = await density(runtime, parse_view(bbox))
    body = {
        "type": "FeatureCollection",
        "features": [_feature(cell) for cell in found.cells],
        "cell_deg": found.cell_deg,
        "min_count": found.min_count,
        "current": found.current,
        "building": found.building,
    }
    return JSONResponse(body, media_type="application/geo+json", headers={"Cache-Control": "no-store"})

"""``/api/v1/targeting/preview``: how many residents and contacts an area reaches, before sending.

Reading an area is CPU work (each polygon is parsed and checked by GEOS: about a tenth of a second for one of the
ten thousand points allowed, seconds for a body full of them), so it runs in a worker thread: a large area never
stalls ``/healthz`` or another client's request on the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel

from alertsvc.alerts import queries
from alertsvc.api.deps import require
from alertsvc.api.openapi import problems
from alertsvc.api.problems import Problem
from alertsvc.api.routing import ApiRoute
from alertsvc.cap import CapError, parse_cap_area
from alertsvc.geo.areas import Area, AreaError
from alertsvc.geo.zones import ZoneRegistry, resolve_geocodes
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope

router = APIRouter(prefix="/api/v1/targeting", tags=["targeting"], route_class=ApiRoute)
AREA_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Area"},
                "example": {
                    "areaDesc": "Old Mill",
                    "polygon": ["45.485,-73.585 45.485,-73.56 45.5,-73.56 45.5,-73.585 45.485,-73.585"],
                },
            }
        },
        "description": (
            "A CAP area in JSON form, as in an alert's `info[].area[]`. Beyond the schema, polygons must be closed "
            "and not cross themselves, coordinates in range, and geocodes name known zones (422 otherwise)."
        ),
    }
}


def _read_area(zones: ZoneRegistry, area: dict[str, Any]) -> list[Area]:
    """The area's shapes and its zones' polygons (CPU-bound: called in a worker thread)."""
    parsed = parse_cap_area(area)
    shapes: list[Area] = list(parsed.shapes())
    geocodes = [(code.value_name, code.value) for code in parsed.geocode]
    shapes.extend(resolve_geocodes(zones, geocodes))
    return shapes


class Preview(BaseModel):
    residents: int
    contacts: dict[str, int]


@router.post(
    "/preview",
    response_model=Preview,
    summary="Residents and contacts per channel inside an area",
    openapi_extra=AREA_BODY,
    responses=problems((422, "The area is not valid, or has no polygon, circle or known zone.")),
)
async def preview(
    runtime: RuntimeDep,
    _principal: Annotated[Principal, Depends(require(Scope.ALERTS_READ))],
    area: Annotated[
        dict[str, Any],
        Body(description="A CAP area in JSON form: areaDesc, polygon[], circle[], geocode[{valueName, value}]."),
    ],
) -> Preview:
    try:
        shapes = await asyncio.to_thread(_read_area, runtime.zones, area)
    except CapError as exc:
        errors = [{"loc": ["body", *e.loc], "msg": e.msg} for e in exc.errors]
        raise Problem(422, "the area is not valid", errors) from None
    except AreaError as exc:
        raise Problem(422, "the area is not valid", [{"loc": ["body", "geocode"], "msg": str(exc)}]) from None
    if not shapes:
        raise Problem(422, "the area has no polygon, circle or known zone", [{"loc": ["body"], "msg": "empty area"}])
    reach = await queries.reach(runtime, shapes)
    assert reach is not None  # there are shapes
    return Preview(residents=reach.residents, contacts=reach.contacts)

"""Residents' priorities in the API: a zone's public list, and staff's moderation (``community:write``).

``GET /api/v1/zones/{zone}/priorities`` needs no key: it says exactly what the public zone page ``/z/{zone}`` shows
(titles, support counts, status, response; never who proposed or supported), so a key would guard nothing. Staff
list every priority, hidden ones included, at ``GET /api/v1/priorities?zone=`` and change one with
``PATCH /api/v1/priorities/{id}``. Residents propose and support only through their signed manage link (the resident
pages), never here. Thin: the rules are in :mod:`alertsvc.community.priorities`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from alertsvc.api.deps import require
from alertsvc.api.openapi import problems
from alertsvc.api.problems import Problem
from alertsvc.api.routing import ApiRoute
from alertsvc.community.priorities import (
    PriorityNotFound,
    PriorityStatus,
    PriorityView,
    UnknownZone,
    moderate,
    zone_priorities,
)
from alertsvc.http.deps import RuntimeDep
from alertsvc.runtime import Runtime
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope

router = APIRouter(prefix="/api/v1", tags=["community"], route_class=ApiRoute)
Staff = Annotated[Principal, Depends(require(Scope.COMMUNITY_WRITE))]
ZoneName = Annotated[str, Path(min_length=1, max_length=100, description="A named zone, e.g. `Old Mill`.")]
PriorityId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class PriorityOut(BaseModel):
    id: int
    title: str
    supporters: int = Field(description="How many residents of the zone support it.")
    status: PriorityStatus
    response: str | None = Field(description="Staff's published response, if any.")


class PriorityList(BaseModel):
    items: list[PriorityOut]


class StaffPriorityOut(PriorityOut):
    zone: str
    hidden: bool = Field(description="Moderated away: not shown to the public, not open to support.")


class StaffPriorityList(BaseModel):
    items: list[StaffPriorityOut]


class PriorityChange(BaseModel):
    """Staff's change to a priority; each field optional (none: nothing changes, the priority is answered as it is)."""

    model_config = ConfigDict(extra="forbid", title="PriorityChange")

    status: PriorityStatus | None = None
    response: str | None = Field(None, max_length=5000, description="Published; an empty text withdraws it.")
    hidden: bool | None = None


class PriorityChanged(StaffPriorityOut):
    notices_planned: int = Field(
        description="Community messages planned for supporters who chose them (the response, once per status)."
    )


def _public(view: PriorityView) -> PriorityOut:
    return PriorityOut(
        id=view.id, title=view.title, supporters=view.supporters, status=PriorityStatus(view.status),
        response=view.response,
    )  # fmt: skip


def _staff(view: PriorityView) -> StaffPriorityOut:
    return StaffPriorityOut(**_public(view).model_dump(), zone=view.zone, hidden=view.hidden)


async def _of_zone(runtime: Runtime, zone: str, *, include_hidden: bool) -> list[PriorityView]:
    """The zone's priorities (with the hidden ones, for staff); no zone by this name: 404 naming it."""
    try:
        return await zone_priorities(runtime, zone, include_hidden=include_hidden)
    except UnknownZone:
        raise Problem(404, "no zone by this name") from None


@router.get(
    "/zones/{zone}/priorities",
    response_model=PriorityList,
    summary="A zone's residents' priorities with their support, status and response (public, no key)",
    responses=problems((404, "No zone by this name.")),
)
async def get_zone_priorities(runtime: RuntimeDep, zone: ZoneName) -> PriorityList:
    return PriorityList(items=[_public(view) for view in await _of_zone(runtime, zone, include_hidden=False)])


@router.get(
    "/priorities",
    response_model=StaffPriorityList,
    summary="Every priority of a zone, hidden ones included, for moderation",
    responses=problems((404, "No zone by this name.")),
)
async def get_priorities(
    runtime: RuntimeDep, principal: Staff, zone: Annotated[str, Query(min_length=1, max_length=100)]
) -> StaffPriorityList:
    return StaffPriorityList(items=[_staff(view) for view in await _of_zone(runtime, zone, include_hidden=True)])


@router.patch(
    "/priorities/{priority_id}",
    response_model=PriorityChanged,
    summary="Moderate a priority: hide it, set its status, publish a response (told to its supporters)",
    responses=problems((404, "No priority with that id.")),
)
async def patch_priority(
    runtime: RuntimeDep, principal: Staff, priority_id: PriorityId, body: PriorityChange
) -> PriorityChanged:
    try:
        view, planned = await moderate(
            runtime, priority_id, actor=principal.name, status=body.status, response=body.response,
            hidden=body.hidden,
        )  # fmt: skip
    except PriorityNotFound:
        raise Problem(404, "no priority with that id") from None
    return PriorityChanged(**_staff(view).model_dump(), notices_planned=planned)

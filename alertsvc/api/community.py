"""``/api/v1/meetings``: neighbourhood meetings that staff hold in a zone (scope ``community:write``).

Thin: the rules (a known zone, a time in the future, who is invited and when) live in
:mod:`alertsvc.community.meetings`; this maps them to HTTP and their refusals to problems naming the field.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alertsvc.api.deps import require
from alertsvc.api.openapi import problems
from alertsvc.api.problems import Problem
from alertsvc.api.routing import ApiRoute
from alertsvc.community.meetings import MeetingError, UnknownZone, create_meeting
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope

router = APIRouter(prefix="/api/v1/meetings", tags=["community"], route_class=ApiRoute)
Organiser = Annotated[Principal, Depends(require(Scope.COMMUNITY_WRITE))]


class MeetingIn(BaseModel):
    """A meeting to hold: where (a named zone), what, when (times with their offset) and where exactly."""

    model_config = ConfigDict(extra="forbid", title="MeetingIn")

    zone: str = Field(min_length=1, max_length=100, description="A named zone, e.g. `Old Mill`.")
    title: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime = Field(description="RFC 3339 with its offset; in the future.")
    ends_at: AwareDatetime = Field(description="After `starts_at`, at most two days later.")
    place: str = Field(min_length=1, max_length=300, description="Where: an address or a room.")
    description: str = Field("", max_length=5000)


class MeetingOut(BaseModel):
    id: int
    zone: str
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    description: str
    invitations_planned: int = Field(
        description="Invitations and reminders planned for residents of the zone who chose community messages."
    )


@router.post(
    "",
    status_code=201,
    response_model=MeetingOut,
    summary="Hold a meeting in a zone; its residents who chose community messages are invited",
    responses=problems((422, "The zone is unknown, or the times are not in the future, in order and short.")),
)
async def post_meeting(runtime: RuntimeDep, principal: Organiser, body: MeetingIn) -> MeetingOut:
    try:
        meeting, planned = await create_meeting(
            runtime,
            zone=body.zone,
            title=body.title,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            place=body.place,
            description=body.description,
            created_by=principal.name,
        )
    except UnknownZone:
        raise Problem(422, "no zone by this name", [{"loc": ["body", "zone"], "msg": "unknown zone"}]) from None
    except MeetingError as exc:
        raise Problem(422, str(exc), [{"loc": ["body", exc.field], "msg": str(exc)}]) from None
    shown = {name: value for name, value in asdict(meeting).items() if name != "uid"}  # the calendar's id stays inside
    return MeetingOut(**shown, invitations_planned=planned)

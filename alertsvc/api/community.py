"""``/api/v1/meetings``: neighbourhood meetings that staff hold in a zone (scope ``community:write``).

``POST /api/v1/meetings`` holds one; ``POST /api/v1/meetings/{id}/cancel`` calls it off (it stays listed, with its
``cancelled_at``: there is no ``DELETE``, as nothing is deleted); ``GET /api/v1/zones/{zone}/meetings`` needs no key,
as it says what the public zone page and its calendar feed say (cancelled meetings included, marked).
Thin: the rules (a known zone, a time in the future, who is invited and when) live in
:mod:`alertsvc.community.meetings`; this maps them to HTTP and their refusals to problems naming the field.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alertsvc.api.deps import require
from alertsvc.api.openapi import problems
from alertsvc.api.problems import Problem
from alertsvc.api.routing import ApiRoute
from alertsvc.community.meetings import (
    MeetingError,
    MeetingView,
    UnknownZone,
    cancel_meeting,
    create_meeting,
    upcoming_meetings,
)
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope

router = APIRouter(prefix="/api/v1", tags=["community"], route_class=ApiRoute)
Organiser = Annotated[Principal, Depends(require(Scope.COMMUNITY_WRITE))]
MeetingId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ZoneName = Annotated[str, Path(min_length=1, max_length=100, description="A named zone, e.g. `Old Mill`.")]


class MeetingIn(BaseModel):
    """A meeting to hold: where (a named zone), what, when (times with their offset) and where exactly."""

    model_config = ConfigDict(extra="forbid", title="MeetingIn")

    zone: str = Field(min_length=1, max_length=100, description="A named zone, e.g. `Old Mill`.")
    title: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime = Field(description="RFC 3339 with its offset; in the future.")
    ends_at: AwareDatetime = Field(description="After `starts_at`, at most two days later.")
    place: str = Field(min_length=1, max_length=300, description="Where: an address or a room.")
    description: str = Field("", max_length=5000)


class MeetingRecord(BaseModel):
    id: int
    zone: str
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    description: str
    cancelled_at: datetime | None = Field(
        None, description="When it was called off; a cancelled meeting stays listed (and in the calendar feed)."
    )


class MeetingList(BaseModel):
    items: list[MeetingRecord]


class MeetingOut(MeetingRecord):
    invitations_planned: int = Field(
        description="Invitations and reminders planned for residents of the zone who chose community messages."
    )


def _record(meeting: MeetingView) -> dict[str, object]:
    """The meeting's public fields: the calendar's UID and sequence stay inside."""
    return {name: value for name, value in asdict(meeting).items() if name not in {"uid", "sequence"}}


@router.post(
    "/meetings",
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
    return MeetingOut.model_validate({**_record(meeting), "invitations_planned": planned})


@router.post(
    "/meetings/{meeting_id}/cancel",
    response_model=MeetingRecord,
    summary="Call off a meeting that has not started; it stays listed as cancelled, its pending messages are not sent",
    responses=problems((404, "No meeting with that id."), (409, "The meeting has started.")),
)
async def post_meeting_cancel(runtime: RuntimeDep, principal: Organiser, meeting_id: MeetingId) -> MeetingRecord:
    """Cancelling a cancelled meeting answers it as it is (a retry is safe)."""
    return MeetingRecord.model_validate(_record(await cancel_meeting(runtime, meeting_id, actor=principal.name)))


@router.get(
    "/zones/{zone}/meetings",
    response_model=MeetingList,
    summary="A zone's meetings that have not ended, cancelled ones marked (public, no key)",
    responses=problems((404, "No zone by this name.")),
)
async def get_zone_meetings(runtime: RuntimeDep, zone: ZoneName) -> MeetingList:
    try:
        meetings = await upcoming_meetings(runtime, zone, limit=200)
    except UnknownZone:
        raise Problem(404, "no zone by this name") from None
    return MeetingList(items=[MeetingRecord.model_validate(_record(meeting)) for meeting in meetings])

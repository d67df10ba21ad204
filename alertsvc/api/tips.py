"""``/api/v1/tips``: anonymous tips for staff (scope ``tips:read``), replies relayed to the tipster and blocks
(scope ``tips:write``).

A tip is shown by its alias, zone, text, channel, time and thread, never by the tipster's number or address:
the domain (:mod:`alertsvc.community.tips`) has no field that holds them in the clear, so nothing here could leak
one. Thin: the domain's refusals (no such tip, a thread the tipster ended, a text too long) are answered by kind
(:mod:`alertsvc.api.problems`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from alertsvc.api.deps import require
from alertsvc.api.openapi import problems
from alertsvc.api.routing import ApiRoute
from alertsvc.community.tips import MAX_TEXT, TipMessageView, TipView, block_tipster, list_tips, queue_reply
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope

router = APIRouter(prefix="/api/v1/tips", tags=["community"], route_class=ApiRoute)
Reader = Annotated[Principal, Depends(require(Scope.TIPS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.TIPS_WRITE))]
TipId = Annotated[int, Path(ge=1, le=2**63 - 1)]

CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,19}$"
"""Where a page ends: the last tip's receipt time (microseconds since 1970, UTC) and its id. Every value of this
shape is a place in the list, so the pattern is the whole rule."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_ID = 2**63 - 1


class TipMessageOut(BaseModel):
    id: int
    direction: Literal["in", "out"] = Field(description="`in`: the tipster's answer; `out`: a staff reply.")
    text: str
    at: datetime
    state: Literal["received", "queued", "sent", "failed"] = Field(
        description="`received` for answers; a reply is `queued`, then `sent` or `failed`."
    )


class TipOut(BaseModel):
    id: int
    alias: str = Field(description='How staff name the tipster, e.g. "Tip 7F3K"; never their number or address.')
    zone: str | None
    text: str
    channel: Literal["sms", "web"]
    received_at: datetime
    messages: list[TipMessageOut] = Field(description="The thread after the tip, oldest first.")
    ended: bool = Field(description="The tipster sent STOP: nothing more is relayed.")
    can_reply: bool = Field(description="A reply can reach the tipster (a contact was given, not ended).")


class TipPage(BaseModel):
    items: list[TipOut]
    next_cursor: str | None


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="TipReplyIn")

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="Relayed to the tipster as it is.")


class BlockOut(BaseModel):
    alias: str
    blocked: Literal[True] = True
    newly: bool = Field(description="False when the tipster was blocked already.")


def _message(view: TipMessageView) -> TipMessageOut:
    return TipMessageOut.model_validate(
        {"id": view.id, "direction": view.direction, "text": view.text, "at": view.at, "state": view.state}
    )


def _tip(view: TipView) -> TipOut:
    return TipOut.model_validate(
        {
            "id": view.id, "alias": view.alias, "zone": view.zone, "text": view.text, "channel": view.channel,
            "received_at": view.received_at, "messages": [_message(m) for m in view.messages], "ended": view.ended,
            "can_reply": view.can_reply,
        }
    )  # fmt: skip


def _encode_cursor(view: TipView) -> str:
    return f"{(view.received_at - EPOCH) // timedelta(microseconds=1)}.{view.id}"


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    micros, _, tip_id = cursor.partition(".")
    return EPOCH + timedelta(microseconds=int(micros)), min(int(tip_id), MAX_ID)


@router.get(
    "",
    response_model=TipPage,
    summary="Anonymous tips, newest first, with their threads (never the tipster's contact)",
    responses=problems((422, "A parameter is not valid; `errors` names it.")),
)
async def get_tips(
    runtime: RuntimeDep,
    _principal: Reader,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="A `next_cursor` from the page before.")
    ] = None,
    zone: Annotated[str | None, Query(min_length=1, max_length=100, description="Only this zone's tips.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TipPage:
    before = _decode_cursor(cursor) if cursor else None
    views = await list_tips(runtime, zone=zone, before=before, limit=limit + 1)
    page, more = views[:limit], len(views) > limit
    return TipPage(items=[_tip(view) for view in page], next_cursor=_encode_cursor(page[-1]) if more else None)


@router.post(
    "/{tip_id}/replies",
    status_code=202,
    response_model=TipMessageOut,
    summary="Relay a reply to the tipster (by SMS or e-mail, as they wrote in)",
    responses=problems(
        (404, "No tip with that id."),
        (409, "The tipster ended the conversation (STOP), left no contact, or is blocked."),
        (422, "The text is empty or too long."),
    ),
)
async def post_reply(runtime: RuntimeDep, principal: Writer, tip_id: TipId, body: ReplyIn) -> TipMessageOut:
    return _message(await queue_reply(runtime, tip_id, body.text, principal.name))


@router.post(
    "/{tip_id}/block",
    response_model=BlockOut,
    summary="Block the tipster of this tip: their further tips and answers are dropped quietly",
    responses=problems((404, "No tip with that id."), (409, "The tip came without a contact: no one to block.")),
)
async def post_block(runtime: RuntimeDep, principal: Writer, tip_id: TipId) -> BlockOut:
    alias, newly = await block_tipster(runtime, tip_id, principal.name)
    return BlockOut(alias=alias, newly=newly)

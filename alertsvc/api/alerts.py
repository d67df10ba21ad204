"""``/api/v1/alerts``: submit CAP 1.2 (XML or JSON), read alerts back, approve, reject, cancel.

Thin on purpose: parsing is ``alertsvc.cap``; every action is a command of :mod:`alertsvc.alerts.commands` (the
same functions the console calls: validate, commit, then enqueue the fan-out) and every read a query of
:mod:`alertsvc.alerts.queries`. This module only maps HTTP to those calls; what they refuse (no such alert, a state
that forbids the action, a key that may not take it) comes from the application's error tree and is answered as a
problem by :mod:`alertsvc.api.problems`, the same way for every route.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from alertsvc.alerts import all_clear, commands, queries
from alertsvc.alerts.queries import Alert
from alertsvc.alerts.states import AlertState
from alertsvc.alerts.views import AlertOut, AlertPage, new_alert_out
from alertsvc.api.deps import require
from alertsvc.api.openapi import link, problems
from alertsvc.api.problems import Problem
from alertsvc.api.routing import ApiRoute
from alertsvc.cap import Alert as CapAlert
from alertsvc.cap import alert_to_xml, parse_cap_json, parse_cap_xml
from alertsvc.http.body import read_limited
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.tracking.states import Channel, DeliveryState

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], route_class=ApiRoute)

XML_TYPES = frozenset({"application/cap+xml", "application/xml", "text/xml"})
JSON_TYPES = frozenset({"application/json"})
CAP_XML = "application/cap+xml"

Writer = Annotated[Principal, Depends(require(Scope.ALERTS_WRITE))]
Sender = Annotated[Principal, Depends(require(Scope.ALERTS_SEND))]
Reader = Annotated[Principal, Depends(require(Scope.ALERTS_READ))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Repeat a submission safely: the same key returns the alert stored the first time.",
    ),
]

_CAP_XML_SCHEMA = {
    "type": "string",
    "contentMediaType": "application/cap+xml",
    "description": "A CAP 1.2 `<alert>` document (namespace urn:oasis:names:tc:emergency:cap:1.2).",
}
SUBMIT_EXAMPLE: dict[str, Any] = {
    "identifier": "example-exercise-0001",
    "sender": "safety@city.example",
    "sent": "2026-12-04T09:15:00-05:00",
    "status": "Exercise",
    "msgType": "Alert",
    "scope": "Public",
    "info": [
        {
            "language": "en-CA",
            "category": ["Safety"],
            "event": "Evacuation exercise",
            "urgency": "Expected",
            "severity": "Minor",
            "certainty": "Likely",
            "headline": "Exercise: evacuation drill in Old Mill",
            "instruction": "This is an exercise. No action is needed.",
            "area": [
                {
                    "areaDesc": "Old Mill",
                    "polygon": ["45.485,-73.585 45.485,-73.56 45.5,-73.56 45.5,-73.585 45.485,-73.585"],
                }
            ],
        }
    ],
}
"""An ``Exercise``: sent only to residents marked as test recipients."""
SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A CAP 1.2 alert as XML, or its JSON form (CAP element names as keys). Beyond what the schema says, the "
            "CAP rules that span fields are checked (e.g. `references` for an Update, polygons closed and not "
            "crossing themselves, `expires` after `sent`); each one broken is a 422 naming its path."
        ),
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CapAlert"}, "example": SUBMIT_EXAMPLE},
            **{media: {"schema": _CAP_XML_SCHEMA} for media in sorted(XML_TYPES)},
        },
    }
}
_LOCATION = {
    "Location": {
        "description": "The alert's address: `/api/v1/alerts/{id}`.",
        "required": True,
        "schema": {"type": "string"},
    }
}
NO_ALERT = (404, "No alert with that id.")
_BY_ID = "/api/v1/alerts/{alert_id}"
_THE_ALERT = "$response.body#/id"
ALERT_LINKS = {
    "GetAlert": link(_BY_ID, "get", alert_id=_THE_ALERT),
    "GetCap": link(f"{_BY_ID}/cap", "get", alert_id=_THE_ALERT),
    "GetAudit": link(f"{_BY_ID}/audit", "get", alert_id=_THE_ALERT),
    "ListDeliveries": link(f"{_BY_ID}/deliveries", "get", alert_id=_THE_ALERT),
    "GetResponses": link(f"{_BY_ID}/responses", "get", alert_id=_THE_ALERT),
    "Approve": link(f"{_BY_ID}/approve", "post", alert_id=_THE_ALERT),
    "Reject": link(f"{_BY_ID}/reject", "post", alert_id=_THE_ALERT),
    "Cancel": link(f"{_BY_ID}/cancel", "post", alert_id=_THE_ALERT),
}
"""Where an alert's answer leads (the event stream is left out: it runs until the alert is done)."""


def parse_submission(content_type: str, body: bytes) -> CapAlert:
    """Parse ``body`` by its media type; a body with no type is sniffed (XML starts with ``<``)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if not media:
        media = "application/xml" if body.lstrip()[:1] == b"<" else "application/json"
    if media in XML_TYPES:
        return parse_cap_xml(body)
    if media in JSON_TYPES:
        return parse_cap_json(body)
    raise Problem(
        415,
        f"unsupported media type '{media[:80]}': send application/cap+xml, application/xml or application/json",
    )


async def _present(runtime: RuntimeDep, alert: Alert) -> AlertOut:
    (out,) = await queries.alert_views(runtime, [alert])
    return out


@router.post(
    "",
    status_code=201,
    response_model=AlertOut,
    openapi_extra=SUBMIT_BODY,
    summary="Submit a CAP 1.2 alert",
    responses={
        200: {
            "description": "A repeat of an alert already stored; that alert is returned.",
            "model": AlertOut,
            "headers": _LOCATION,
            "links": ALERT_LINKS,
        },
        201: {"description": "The alert, stored.", "headers": _LOCATION, "links": ALERT_LINKS},
        **problems(
            (413, "The body is over the size limit (1 MiB by default)."),
            (415, "Neither CAP XML nor JSON."),
            (422, "Not a valid CAP 1.2 alert, or one naming an unknown zone; every problem is listed with its path."),
        ),
    },
)
async def submit_alert(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> AlertOut:
    """Validate and store an alert. With ``alerts:send`` a broadcast alert is sent at once; with
    ``alerts:write`` only, it waits for approval. Validation comes first, so an invalid document is refused
    even when it repeats a stored alert's identifiers."""
    body = await read_limited(request, runtime.settings.max_alert_bytes)
    # Parsing checks every polygon with GEOS (CPU work, up to a second for a large area): a worker thread, so the
    # event loop keeps serving other requests meanwhile.
    cap = await asyncio.to_thread(parse_submission, request.headers.get("content-type", ""), body)
    submission = await commands.submit(runtime, cap, principal, idempotency_key)
    if not submission.created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/alerts/{submission.alert.id}"
    if submission.created:  # nothing sent or answered yet: no counts to read
        return new_alert_out(submission.alert)
    return await _present(runtime, submission.alert)


CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""Where a page ends: the last alert's creation time (microseconds since 1970, UTC) and its id. Every value of
this shape is a place in the list, so the pattern in the document is the whole rule: no cursor that matches it is
refused (17 digits reach past the year 5000; an alert id is a UUID)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _encode_cursor(created_at: datetime, alert_id: str) -> str:
    return f"{(created_at - EPOCH) // timedelta(microseconds=1)}.{alert_id}"


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    micros, _, alert_id = cursor.partition(".")
    return EPOCH + timedelta(microseconds=int(micros)), alert_id


@router.get(
    "",
    response_model=AlertPage,
    summary="List alerts, newest first",
    responses=problems((422, "A parameter is not valid; `errors` names it.")),
)
async def list_alerts(
    runtime: RuntimeDep,
    _principal: Reader,
    state: Annotated[AlertState | None, Query()] = None,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="A `next_cursor` from the page before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AlertPage:
    before = _decode_cursor(cursor) if cursor else None
    rows = await queries.list_alerts(runtime, state.value if state else None, limit=limit + 1, before=before)
    page, more = rows[:limit], len(rows) > limit
    items = await queries.alert_views(runtime, page)
    next_cursor = _encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return AlertPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{alert_id}",
    response_model=AlertOut,
    summary="An alert, its state and delivery statistics",
    responses=problems(NO_ALERT),
)
async def get_alert(alert_id: str, runtime: RuntimeDep, _principal: Reader) -> AlertOut:
    return await _present(runtime, await queries.get_alert(runtime, alert_id))


@router.get(
    "/{alert_id}/cap",
    summary="The alert as CAP 1.2 XML",
    response_class=Response,
    responses={200: {"content": {CAP_XML: {"schema": _CAP_XML_SCHEMA}}}, **problems(NO_ALERT)},
)
async def get_alert_cap(alert_id: str, runtime: RuntimeDep, _principal: Reader) -> Response:
    alert = await queries.get_alert(runtime, alert_id)
    return Response(alert_to_xml(parse_cap_json(alert.cap)), media_type=CAP_XML)


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


@router.get(
    "/{alert_id}/audit",
    response_model=list[AuditEntry],
    summary="Who did what to this alert",
    responses=problems(NO_ALERT),
)
async def get_alert_audit(alert_id: str, runtime: RuntimeDep, _principal: Reader) -> list[AuditEntry]:
    events = await queries.alert_history(runtime, alert_id)
    return [AuditEntry(at=e.at, actor=e.actor, action=e.action, detail=e.detail) for e in events]


class Decision(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


NOT_PENDING = "The alert is not pending approval"


@router.post(
    "/{alert_id}/approve",
    response_model=AlertOut,
    summary="Approve a pending alert and send it",
    responses=problems(NO_ALERT, (409, f"{NOT_PENDING}, or this key submitted it (a second person approves).")),
)
async def approve_alert(alert_id: str, runtime: RuntimeDep, principal: Sender) -> AlertOut:
    alert = await commands.approve(runtime, alert_id, principal)
    return await _present(runtime, alert)


@router.post(
    "/{alert_id}/reject",
    response_model=AlertOut,
    summary="Reject a pending alert, with a reason",
    responses=problems(NO_ALERT, (409, f"{NOT_PENDING}, or the reason is blank.")),
)
async def reject_alert(alert_id: str, decision: Decision, runtime: RuntimeDep, principal: Sender) -> AlertOut:
    alert = await commands.reject(runtime, alert_id, principal, decision.reason)
    return await _present(runtime, alert)


_CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff"
_NO_CONTROL = rf"^[^{_CONTROL}]*$"
"""No control character CAP XML cannot carry (the Cancel is served as CAP XML too); the domain checks the rest."""
_NOT_BLANK = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"


class AllClearInfo(BaseModel):
    """The all-clear in one language of the alert: what residents who read that language receive."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(
        min_length=1,
        max_length=all_clear.LANGUAGE_MAX,
        pattern=r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$",
        description="One of the alert's languages: the same tag (`fr-CA`) or its primary language (`fr`).",
        examples=["fr-CA"],
    )
    headline: str = Field(
        min_length=1,
        max_length=all_clear.HEADLINE_MAX,
        pattern=_NOT_BLANK,
        description="Read first (it heads the SMS); not blank.",
        examples=["Fin d'alerte : fuite de gaz"],
    )
    description: str | None = Field(
        None,
        max_length=all_clear.DESCRIPTION_MAX,
        pattern=_NO_CONTROL,
        description="Left out: the default all-clear's; empty: none.",
    )
    instruction: str | None = Field(
        None,
        max_length=all_clear.INSTRUCTION_MAX,
        pattern=_NO_CONTROL,
        description="Left out: the default all-clear's; empty: none. Never the original's instruction.",
        examples=["L'alerte est terminée. Vous pouvez reprendre vos activités normales."],
    )


class CancelBody(BaseModel):
    """The all-clear a Cancel carries, per language; each language of the alert left out gets the default."""

    model_config = ConfigDict(extra="forbid")

    info: list[AllClearInfo] = Field(min_length=1, max_length=all_clear.MAX_LANGUAGES)


CANCEL_BODY_DOC = (
    "Optional: the all-clear residents read, per language of the alert. Without a body, or for a language left "
    'out, the Cancel carries the default all-clear in that language ("All clear: <event>", "The warning has '
    "ended. You can return to normal activity.\"); the original's description and instruction are never repeated. "
    "Beyond the schema, a language the alert has no message in, or one given twice, is a 422 naming its path."
)


CANCEL_EXAMPLES: dict[str, Any] = {
    "french": {
        "summary": "The French all-clear in the caller's words; the other languages get the default",
        "value": {
            "info": [
                {
                    "language": "fr-CA",
                    "headline": "Fin d'alerte : fuite de gaz maîtrisée",
                    "instruction": "Vous pouvez rentrer chez vous.",
                }
            ]
        },
    },
}


@router.post(
    "/{alert_id}/cancel",
    response_model=AlertOut,
    summary="Cancel an alert: a CAP Cancel with an all-clear goes to everyone who received it",
    responses={
        200: {"description": "The Cancel alert (or the withdrawn alert if nothing had been sent)."},
        **problems(
            NO_ALERT,
            (409, "The alert is a Cancel, stored only, or already cancelled, rejected or expired."),
            (
                422,
                "The all-clear is not valid (a language the alert has no message in or given twice, an empty "
                "headline, text too long), or the Cancel made from the alert is not valid CAP (e.g. the alert's "
                "info has expired); every problem is listed with its path.",
            ),
        ),
    },
)
async def cancel_alert(
    alert_id: str,
    runtime: RuntimeDep,
    principal: Writer,
    body: Annotated[CancelBody | None, Body(description=CANCEL_BODY_DOC, openapi_examples=CANCEL_EXAMPLES)] = None,
) -> AlertOut:
    given = [
        all_clear.AllClearInput(item.language, item.headline, item.description, item.instruction)
        for item in (body.info if body else [])
    ]
    submission = await commands.cancel(runtime, alert_id, principal, given)
    return await _present(runtime, submission.alert)


class DeliveryOut(BaseModel):
    resident_ref: str
    channel: str
    state: str
    language: str
    updated_at: datetime
    reason: str | None = None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


@router.get(
    "/{alert_id}/deliveries",
    response_model=DeliveryPage,
    summary="An alert's deliveries, page by page",
    responses=problems(NO_ALERT),
)
async def list_deliveries(
    alert_id: str,
    runtime: RuntimeDep,
    _principal: Reader,
    cursor: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]{1,18}$")] = None,
    state: Annotated[DeliveryState | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryPage:
    page = await queries.deliveries(
        runtime,
        alert_id,
        after=int(cursor) if cursor else None,
        state=state.value if state else None,
        channel=channel.value if channel else None,
        limit=limit,
    )
    items = [
        DeliveryOut(
            resident_ref=row.resident_ref,
            channel=row.channel,
            state=row.state,
            language=row.language,
            updated_at=row.updated_at,
            reason=row.reason,
        )
        for row in page.rows
    ]
    return DeliveryPage(items=items, next_cursor=str(page.next_after) if page.next_after is not None else None)


class ReplyOut(BaseModel):
    resident_ref: str | None
    body: str
    at: datetime


class ResponsesOut(BaseModel):
    help_requested: list[str] = Field(description="Refs of residents who asked for help.")
    unanswered: list[str] | None = Field(
        description="Refs of residents reached by a life-safety alert who have not answered (null otherwise)."
    )
    replies: list[ReplyOut]


@router.get(
    "/{alert_id}/responses",
    response_model=ResponsesOut,
    summary="Help requests, silence, and replies",
    responses=problems(NO_ALERT),
)
async def get_responses(alert_id: str, runtime: RuntimeDep, _principal: Reader) -> ResponsesOut:
    found = await queries.alert_responses(runtime, alert_id)
    return ResponsesOut(
        help_requested=found.help_requested,
        unanswered=found.unanswered,
        replies=[ReplyOut(resident_ref=r.resident_ref, body=r.body, at=r.at) for r in found.replies],
    )


@router.get(
    "/{alert_id}/events",
    summary="Live statistics as server-sent events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}, **problems(NO_ALERT)},
)
async def alert_events(alert_id: str, request: Request, runtime: RuntimeDep, _principal: Reader) -> StreamingResponse:
    """``counts`` events (per channel and state, answers, time-to-warn) whenever they change; ``done`` at the end.

    No request session is held open for the stream's life: each tick opens its own short one.
    """
    await queries.get_alert(runtime, alert_id)
    events = queries.progress_stream(runtime, alert_id, request.is_disconnected)
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-store"})

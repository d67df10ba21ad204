"""``/api/v1/sandbox/outbox``: what the sandbox providers were given (admin scope, sandbox mode only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from alertsvc.api.deps import require
from alertsvc.api.openapi import problems
from alertsvc.api.problems import Problem
from alertsvc.api.routing import ApiRoute
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.tracking.states import Channel

router = APIRouter(prefix="/api/v1/sandbox", tags=["sandbox"], route_class=ApiRoute)


class OutboxEntry(BaseModel):
    """One message as the sandbox provider was given it, and what it built of it as the real adapter would
    (``channels/sandbox.py``); the built fields of the other channels are null."""

    channel: str
    to: str
    subject: str | None = None
    body: str
    provider_id: str
    at: str
    headers: str | None = None
    """E-mail: the raw header block as the SMTP relay would receive it (CRLF line ends)."""
    encoding: str | None = None
    """SMS: ``gsm7`` or ``ucs2``, as the carrier sends the body."""
    segments: int | None = None
    """SMS: how many segments the carrier bills."""
    payload: dict[str, str] | None = None
    """Push: ``{"title", "body"}`` as given to the push service."""


class Outbox(BaseModel):
    items: list[OutboxEntry]


@router.get(
    "/outbox",
    response_model=Outbox,
    summary="Messages the sandbox providers were given, newest first",
    responses=problems((404, "The service is not in sandbox mode (ALERTSVC_SANDBOX=1).")),
)
async def outbox(
    runtime: RuntimeDep,
    _principal: Annotated[Principal, Depends(require(Scope.ADMIN))],
    channel: Annotated[Channel | None, Query()] = None,
    to: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Outbox:
    if not runtime.settings.sandbox:
        raise Problem(404, "the sandbox outbox exists only with ALERTSVC_SANDBOX=1")
    entries = await read_outbox(runtime.redis, channel.value if channel else None, to, limit)
    return Outbox(items=[OutboxEntry.model_validate(entry) for entry in entries])

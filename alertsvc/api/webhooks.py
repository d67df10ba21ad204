"""``/api/v1/webhooks``: register a URL to receive signed events (alert state changes, acknowledgements)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from alertsvc.api.deps import require
from alertsvc.api.openapi import problems
from alertsvc.api.routing import ApiRoute
from alertsvc.http.deps import RuntimeDep
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.webhooks import registry
from alertsvc.webhooks.events import EVENT_TYPES
from alertsvc.webhooks.registry import WebhookInfo

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], route_class=ApiRoute)
MAX_ID = 2**63 - 1
Reader = Annotated[Principal, Depends(require(Scope.ALERTS_READ))]


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000)
    events: list[str] = Field(default_factory=lambda: list(EVENT_TYPES), min_length=1)


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Verify X-Alertsvc-Signature with this; it is shown only once.")


def _out(hook: WebhookInfo) -> WebhookOut:
    return WebhookOut(
        id=hook.id, url=hook.url, events=list(hook.events), active=hook.active, created_at=hook.created_at
    )


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register a webhook for this API key",
    responses=problems(
        (422, "Not valid: an unknown event type, or a URL that is not http(s) or resolves to a non-public address.")
    ),
)
async def create_webhook(body: WebhookIn, runtime: RuntimeDep, principal: Reader) -> WebhookCreated:
    created = await registry.register(runtime, principal.name, body.url, body.events)  # refusals: api.problems
    return WebhookCreated(**_out(created.webhook).model_dump(), secret=created.secret)


@router.get("", response_model=list[WebhookOut], summary="This API key's webhooks")
async def list_webhooks(runtime: RuntimeDep, principal: Reader) -> list[WebhookOut]:
    return [_out(hook) for hook in await registry.list_for(runtime, principal.name)]


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Remove a webhook",
    responses=problems((404, "This API key has no webhook with that id.")),
)
async def delete_webhook(
    webhook_id: Annotated[int, Path(ge=1, le=MAX_ID)], runtime: RuntimeDep, principal: Reader
) -> Response:
    await registry.delete(runtime, principal.name, webhook_id)  # WebhookNotFound: 404, by api.problems
    return Response(status_code=204)

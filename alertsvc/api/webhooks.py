"""``/api/v1/webhooks``: register a URL to receive signed events (alert state changes, acknowledgements)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from alertsvc.api.deps import RuntimeDep, SessionDep, require
from alertsvc.api.problems import Problem
from alertsvc.security.audit import record
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.store.models import Webhook
from alertsvc.webhooks.events import EVENT_TYPES
from alertsvc.webhooks.targets import WebhookUrlError, check_url

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
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


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=hook.id, url=hook.url, events=hook.events.split(","), active=hook.active, created_at=hook.created_at
    )


@router.post("", status_code=201, response_model=WebhookCreated, summary="Register a webhook for this API key")
async def create_webhook(
    body: WebhookIn, runtime: RuntimeDep, session: SessionDep, principal: Reader
) -> WebhookCreated:
    unknown = sorted(set(body.events) - set(EVENT_TYPES))
    if unknown:
        raise Problem(422, "unknown event type", [{"loc": ["body", "events"], "msg": f"unknown: {', '.join(unknown)}"}])
    try:
        url = await check_url(body.url, runtime.settings.webhook_allow_private)
    except WebhookUrlError as exc:
        raise Problem(422, "the URL cannot be used", [{"loc": ["body", "url"], "msg": str(exc)}]) from None
    hook = Webhook(owner=principal.name, url=url, secret=secrets.token_urlsafe(32), events=",".join(body.events))
    session.add(hook)
    await session.flush()
    await record(session, principal.name, "webhook.create", "webhook", str(hook.id), {"events": hook.events})
    return WebhookCreated(**_out(hook).model_dump(), secret=hook.secret)


@router.get("", response_model=list[WebhookOut], summary="This API key's webhooks")
async def list_webhooks(session: SessionDep, principal: Reader) -> list[WebhookOut]:
    hooks = await session.scalars(select(Webhook).where(Webhook.owner == principal.name).order_by(Webhook.id))
    return [_out(hook) for hook in hooks]


@router.delete("/{webhook_id}", status_code=204, summary="Remove a webhook")
async def delete_webhook(
    webhook_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, principal: Reader
) -> Response:
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.owner != principal.name:
        raise Problem(404, "no webhook with that id")
    hook.active = False
    await record(session, principal.name, "webhook.delete", "webhook", str(hook.id), {})
    return Response(status_code=204)

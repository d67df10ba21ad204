"""Writing webhook events into the outbox table, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.store.models import Webhook, WebhookEvent

ALERT_STATE = "alert.state"
ACKNOWLEDGEMENT = "acknowledgement"
EVENT_TYPES = (ALERT_STATE, ACKNOWLEDGEMENT)


async def emit(session: AsyncSession, event_type: str, data: dict[str, Any]) -> int:
    """Queue ``event_type`` for every active webhook that subscribed to it; returns how many."""
    hooks = await session.scalars(select(Webhook).where(Webhook.active.is_(True)))
    now = utcnow()
    count = 0
    for hook in hooks:
        if event_type not in hook.events.split(","):
            continue
        payload = {"type": event_type, "created_at": now.isoformat(), "data": data}
        session.add(WebhookEvent(webhook_id=hook.id, event_type=event_type, payload=payload, next_attempt_at=now))
        count += 1
    return count

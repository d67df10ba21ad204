"""Writing webhook events into the outbox table, inside the caller's transaction.

:func:`emit_many` takes a batch's events at once (the residents' answers' group commit writes one an answer): the
subscriptions are read once for the whole batch, not once an event (7 % of an answer's server time when each was
read apart: bench/README.md, "Answers and creates"), and the rows go in as one multi-row insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.store.models import Webhook, WebhookEvent

ALERT_STATE = "alert.state"
ACKNOWLEDGEMENT = "acknowledgement"
EVENT_TYPES = (ALERT_STATE, ACKNOWLEDGEMENT)

Event = tuple[str, dict[str, Any]]
"""One event to emit: its type (one of :data:`EVENT_TYPES`) and its ``data``."""


async def emit(session: AsyncSession, event_type: str, data: dict[str, Any]) -> int:
    """Queue ``event_type`` for every active webhook that subscribed to it; returns how many."""
    return await emit_many(session, [(event_type, data)])


async def emit_many(session: AsyncSession, events: Sequence[Event]) -> int:
    """Queue each event for every active webhook subscribed to its type, with one read of the webhooks for all of
    them; returns how many rows were queued. The rows are those :func:`emit` would write for each event in turn, in
    the same order (event by event, each for its webhooks in the order read), all stamped with one time."""
    if not events:
        return 0
    hooks = (
        await session.execute(select(Webhook.id, Webhook.events).where(Webhook.active.is_(True)).order_by(Webhook.id))
    ).all()
    if not hooks:
        return 0
    subscribed = [(hook_id, frozenset(types.split(","))) for hook_id, types in hooks]
    now = utcnow()
    rows = [
        {
            "webhook_id": hook_id,
            "event_type": event_type,
            "payload": {"type": event_type, "created_at": now.isoformat(), "data": data},
            "next_attempt_at": now,
        }
        for event_type, data in events
        for hook_id, types in subscribed
        if event_type in types
    ]
    if rows:
        await session.execute(insert(WebhookEvent), rows)
    return len(rows)

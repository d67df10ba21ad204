"""Alert lifecycle states and the moves allowed between them.

    draft ──────────────────────────────────────────────┐ (stored only: Draft/System status, Ack/Error)
    pending_approval ──approve──> approved ──> dispatching ──> sent ──> expired
          │                          │              │           └──> cancelled
          └──reject──> rejected      └──> expired   └──> cancelled

Every move is a guarded ``UPDATE ... WHERE state IN (...)`` (see :func:`move`), so two workers or a repeated
request can never move an alert twice or backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.store.models import Alert
from alertsvc.webhooks.events import ALERT_STATE, emit


class AlertState(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    DISPATCHING = "dispatching"
    SENT = "sent"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


ALLOWED_FROM: dict[AlertState, frozenset[AlertState]] = {
    AlertState.APPROVED: frozenset({AlertState.PENDING_APPROVAL}),
    AlertState.REJECTED: frozenset({AlertState.PENDING_APPROVAL}),
    AlertState.DISPATCHING: frozenset({AlertState.APPROVED}),
    AlertState.SENT: frozenset({AlertState.DISPATCHING}),
    AlertState.CANCELLED: frozenset(
        {AlertState.PENDING_APPROVAL, AlertState.APPROVED, AlertState.DISPATCHING, AlertState.SENT}
    ),
    AlertState.EXPIRED: frozenset(
        {AlertState.DRAFT, AlertState.PENDING_APPROVAL, AlertState.APPROVED, AlertState.SENT}
    ),
}
"""For each target state, the states an alert may be in to move there."""

FINAL_STATES = frozenset({AlertState.CANCELLED, AlertState.EXPIRED, AlertState.REJECTED})


async def move(
    session: AsyncSession,
    alert_id: str,
    to: AlertState,
    *,
    allowed_from: Iterable[AlertState] | None = None,
    at: datetime | None = None,
    **values: Any,
) -> bool:
    """Move one alert to ``to`` if it is in an allowed state; returns whether it moved.

    Extra column values (e.g. ``approved_at``) are written in the same guarded statement.
    """
    sources = frozenset(allowed_from) if allowed_from is not None else ALLOWED_FROM[to]
    when = at or utcnow()
    result = await session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.state.in_([state.value for state in sources]))
        .values(state=to.value, updated_at=when, **values)
        .execution_options(synchronize_session=False)
    )
    moved = bool(getattr(result, "rowcount", 0))
    if moved:
        await emit(session, ALERT_STATE, {"alert_id": alert_id, "state": to.value, "at": when.isoformat()})
    return moved


async def mark_planned(session: AsyncSession, alert_id: str, at: datetime) -> None:
    """The fan-out has planned every delivery of the alert (the sweeper's resume path reads it)."""
    await session.execute(
        update(Alert).where(Alert.id == alert_id).values(planned_at=at).execution_options(synchronize_session=False)
    )


async def mark_first_sent(session: AsyncSession, alert_id: str, at: datetime) -> None:
    """Record when the alert's first message reached a provider, once (time-to-warn starts here)."""
    await session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.first_sent_at.is_(None))
        .values(first_sent_at=at)
        .execution_options(synchronize_session=False)
    )

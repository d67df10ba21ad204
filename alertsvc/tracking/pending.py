"""Reading the dispatcher's unfinished deliveries: is an alert done, what has stalled, what a dead worker held, and
which sent messages the provider has not reported on in time (overdue receipts).

Reads only; every write is a move of :mod:`alertsvc.tracking.machine`. They sit with the owner of the table so that
the sweeper and the fan-out ask questions of deliveries without writing their SQL themselves.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.store.models import Alert, Contact, Delivery, is_pending
from alertsvc.tracking.machine import DELIVERIES
from alertsvc.tracking.states import DeliveryState

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime


async def has_pending(session: AsyncSession, alert_id: str) -> bool:
    """Whether the dispatcher still has work on an alert (a queued or sending delivery).

    ``EXISTS`` stops at the first such row on the (alert, state) index, where a count would read every remaining
    row after every batch: quadratic over a large fan-out.
    """
    pending = (
        select(Delivery.id)
        .where(
            Delivery.alert_id == alert_id,
            Delivery.state.in_([DeliveryState.QUEUED.value, DeliveryState.SENDING.value]),
        )
        .limit(1)
    )
    return (await session.scalar(pending)) is not None


async def stalled(
    session: AsyncSession,
    queued_before: datetime,
    sending_before: datetime,
    limit: int = 5000,
    waiting: Collection[tuple[str, str]] = (),
) -> list[tuple[int, str, str, str]]:
    """(id, alert_id, channel, state) of queued work that is due but idle, and sending work whose job died.

    ``waiting``: (alert, channel) pairs that still have ``deliver`` jobs in the queue. Their queued rows that were
    never deferred are waiting their turn behind those jobs (a large or rate-limited fan-out), not lost, and are
    left out, so that they neither come back as duplicate jobs every sweep nor fill ``limit`` ahead of work that
    really was lost. Rows deferred (a retry, quiet hours) are always returned once due.
    """
    d = DELIVERIES.c
    never_deferred: ColumnElement[bool] = d.next_attempt_at.is_(None)
    if waiting:
        never_deferred = and_(never_deferred, tuple_(d.alert_id, d.channel).not_in(list(waiting)))
    rows = await (await session.connection()).execute(
        select(d.id, d.alert_id, d.channel, d.state)
        .where(
            # Redundant with the arms below, but it is what lets the planner walk the partial pending index.
            is_pending(d.state),
            d.updated_at < max(queued_before, sending_before),
            or_(
                and_(
                    d.state == DeliveryState.QUEUED.value,
                    d.updated_at < queued_before,
                    or_(never_deferred, d.next_attempt_at < queued_before),
                ),
                and_(d.state == DeliveryState.SENDING.value, d.updated_at < sending_before),
            ),
        )
        # Longest stalled first, in the partial index's own order (an ``ORDER BY id`` made SQLite scan the table).
        .order_by(d.updated_at, d.id)
        .limit(limit)
    )
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


class Held(NamedTuple):
    """A ``sending`` delivery, with where it was going and when it was claimed (for a provider lookup)."""

    id: int
    channel: str
    address: str
    claimed_at: datetime


async def still_sending(session: AsyncSession, ids: Sequence[int], channels: Collection[str]) -> list[Held]:
    """Those of ``ids`` on ``channels`` that are still ``sending``, with their address and claim time."""
    rows = await session.execute(
        select(Delivery.id, Delivery.channel, Contact.address, Delivery.updated_at)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(
            Delivery.id.in_(list(ids)),
            Delivery.channel.in_(list(channels)),
            Delivery.state == DeliveryState.SENDING.value,
        )
    )
    return [Held(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]


OVERDUE_WINDOW = timedelta(days=7)
"""Alerts first sent longer ago than this are left out of :func:`overdue_receipts`: no provider reports a week
late, and the count stays a walk of the recent alerts' ``(alert, state)`` index rows, not of the whole table."""


async def overdue_receipts(runtime: Runtime) -> dict[str, int]:
    """Per channel, deliveries ``sent`` more than ``ALERTSVC_RECEIPT_OVERDUE_SECONDS`` ago that have no final
    receipt yet, over the alerts first sent within :data:`OVERDUE_WINDOW` (the ``alertsvc_receipts_overdue``
    gauge, read at each scrape): a provider that stops calling back shows as a count that grows."""
    now = utcnow()
    before = now - timedelta(seconds=runtime.settings.receipt_overdue_seconds)
    recent = select(Alert.id).where(Alert.first_sent_at >= now - OVERDUE_WINDOW)
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Delivery.channel, func.count())
            .where(
                Delivery.alert_id.in_(recent.scalar_subquery()),
                Delivery.state == DeliveryState.SENT.value,
                Delivery.sent_at < before,
            )
            .group_by(Delivery.channel)
        )
        return {str(channel): int(count) for channel, count in rows}

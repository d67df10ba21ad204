"""Live progress of one alert for the console: counts per channel, answers, and time-to-warn, as server-sent events.

Why polling the database (every ``interval`` seconds) rather than publishing from the workers: the counts must be
right after a worker crash or a Redis restart, and the database is the only place that is always right. One
grouped count per second per watching dispatcher is cheap; an event is sent only when something changed, plus a
comment line now and then so proxies keep the connection open.

Time-to-warn, the figure a service is judged by, is read from the rows themselves: accepted (alert created) →
approved → first message sent → 50 %, 90 % and 100 % of the planned deliveries *done*. Done means out of our
hands: ``sent`` or final (:data:`alertsvc.tracking.states.DONE_FOR_DISPATCH`), at ``sent_at`` (or ``final_at``
for those never sent, e.g. failed). Suppressed deliveries (opted out, quiet hours, preferences) are counted apart:
in neither the total nor done (:data:`REACHING_DONE_STATES`). Percentiles wait until fan-out has planned every
delivery, since before that the total is not known.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.store.models import Alert, Delivery
from alertsvc.tracking.states import DONE_FOR_DISPATCH, DeliveryState
from alertsvc.tracking.stats import alert_counts

DONE_STATES = sorted(state.value for state in DONE_FOR_DISPATCH)
SUPPRESSED = DeliveryState.SUPPRESSED.value
REACHING_DONE_STATES = [state for state in DONE_STATES if state != SUPPRESSED]
"""Done, for progress and time-to-warn: a suppressed delivery was never meant to reach anyone (opted out, quiet
hours, preferences), so it is neither in the total nor done; counted as done, it started the bar at 32 %."""
PENDING_STATES = (DeliveryState.QUEUED.value, DeliveryState.SENDING.value)
FAILED_STATES = (DeliveryState.FAILED.value, DeliveryState.UNDELIVERABLE.value)
ENDED_ALERT_STATES = frozenset({"cancelled", "expired", "rejected", "draft"})
"""Alert states in which nothing more will move: the stream says ``done`` and ends."""
PERCENTILES = (50, 90, 100)


@dataclass(frozen=True, slots=True)
class ChannelProgress:
    channel: str
    total: int
    done: int
    pending: int
    sent: int
    delivered: int
    failed: int
    suppressed: int

    @property
    def percent(self) -> int:
        return math.floor(100 * self.done / self.total) if self.total else 0


def channel_progress(stats: dict[str, dict[str, int]]) -> list[ChannelProgress]:
    """Per-channel progress from ``{channel: {state: n}}``, channels in a fixed order."""
    rows = []
    for channel in sorted(stats):
        counts = stats[channel]
        rows.append(
            ChannelProgress(
                channel=channel,
                total=sum(n for state, n in counts.items() if state != SUPPRESSED),
                done=sum(n for state, n in counts.items() if state in REACHING_DONE_STATES),
                pending=sum(counts.get(state, 0) for state in PENDING_STATES),
                sent=counts.get(DeliveryState.SENT.value, 0),
                delivered=counts.get(DeliveryState.DELIVERED.value, 0),
                failed=sum(counts.get(state, 0) for state in FAILED_STATES),
                suppressed=counts.get(DeliveryState.SUPPRESSED.value, 0),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class TimeToWarn:
    """Milestones of one alert (None until reached)."""

    accepted: datetime
    approved: datetime | None = None
    first_sent: datetime | None = None
    done: dict[int, datetime | None] = field(default_factory=dict)
    """Percentile (50, 90, 100) → when that share of deliveries was done."""

    def seconds(self) -> dict[str, float | None]:
        """Each milestone in seconds after acceptance."""

        def since(moment: datetime | None) -> float | None:
            return None if moment is None else round((moment - self.accepted).total_seconds(), 1)

        figures = {"approved": since(self.approved), "first_sent": since(self.first_sent)}
        figures.update({f"done_{p}": since(self.done.get(p)) for p in PERCENTILES})
        return figures


async def _done_at_rank(session: AsyncSession, alert_id: str, rank: int) -> datetime | None:
    """When the ``rank``-th (0-based) delivery was done, in order of being done."""
    moment = func.coalesce(Delivery.sent_at, Delivery.final_at)
    found: datetime | None = await session.scalar(
        select(moment)
        .where(Delivery.alert_id == alert_id, Delivery.state.in_(REACHING_DONE_STATES), moment.is_not(None))
        .order_by(moment)
        .limit(1)
        .offset(rank)
    )
    return found


async def time_to_warn(session: AsyncSession, alert: Alert, total: int, done: int) -> TimeToWarn:
    first_sent = alert.first_sent_at
    if first_sent is None:
        first_sent = await session.scalar(select(func.min(Delivery.sent_at)).where(Delivery.alert_id == alert.id))
    reached: dict[int, datetime | None] = {}
    if alert.planned_at is not None and total:
        for percent in PERCENTILES:
            needed = math.ceil(total * percent / 100)
            reached[percent] = await _done_at_rank(session, alert.id, needed - 1) if done >= needed else None
    return TimeToWarn(alert.created_at, alert.approved_at, first_sent, reached)


def overdue_cutoff(overdue_after_s: float | None) -> datetime | None:
    """Deliveries ``sent`` before this moment with no final receipt are overdue (None: not counted)."""
    return None if overdue_after_s is None else utcnow() - timedelta(seconds=overdue_after_s)


async def snapshot(session: AsyncSession, alert_id: str, overdue_after_s: float | None = None) -> dict[str, Any] | None:
    """Everything the live view shows, as JSON-ready values; None when the alert does not exist.

    ``overdue_after_s`` (``ALERTSVC_RECEIPT_OVERDUE_SECONDS``): ``receipts_overdue`` counts the deliveries still
    ``sent`` that long after their send, with no final receipt from the provider (a provider gone quiet).
    """
    alert = await session.get(Alert, alert_id)
    if alert is None:
        return None
    counts = await alert_counts(session, alert_id, overdue_cutoff(overdue_after_s))
    channels = channel_progress(counts.stats)
    total = sum(row.total for row in channels)
    done = sum(row.done for row in channels)
    ttw = await time_to_warn(session, alert, total, done)
    return {
        "state": alert.state,
        "decided_by": alert.decided_by,
        "decision_reason": alert.decision_reason,
        "planned": alert.planned_at is not None,
        "channels": [{**asdict(row), "percent": row.percent} for row in channels],
        "total": total,
        "done": done,
        "percent": math.floor(100 * done / total) if total else 0,
        "suppressed": sum(row.suppressed for row in channels),
        "receipts_overdue": counts.receipts_overdue,
        "receipts_overdue_after_s": overdue_after_s,
        "acknowledged": counts.acknowledged,
        "help_requested": counts.help_requested,
        "time_to_warn": ttw.seconds(),
    }


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


async def stream(
    sessions: async_sessionmaker[AsyncSession],
    alert_id: str,
    *,
    is_disconnected: Callable[[], Awaitable[bool]],
    interval: float = 1.0,
    keepalive: float = 15.0,
    max_seconds: float = 600.0,
    overdue_after_s: float | None = None,
) -> AsyncIterator[str]:
    """``counts`` events whenever the snapshot changes; ``done`` when the alert can change no more.

    Ends after ``max_seconds`` (the browser's EventSource reconnects on its own, to a fresh stream), so no
    connection is held for ever by a tab left open.
    """
    yield f"retry: {int(interval * 3000)}\n\n"
    last: dict[str, Any] | None = None
    started = last_sent = time.monotonic()
    while time.monotonic() - started < max_seconds and not await is_disconnected():
        async with sessions() as session:
            current = await snapshot(session, alert_id, overdue_after_s)
        if current is None:
            yield sse("done", {"state": "missing"})
            return
        if current != last:
            yield sse("counts", current)
            last, last_sent = current, time.monotonic()
        elif time.monotonic() - last_sent >= keepalive:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if current["state"] in ENDED_ALERT_STATES:
            yield sse("done", {"state": current["state"]})
            return
        await asyncio.sleep(interval)

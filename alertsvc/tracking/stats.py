"""Counting deliveries and answers per alert, for the API and the live console."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.models import Acknowledgement, Delivery, Reply
from alertsvc.tracking.states import DeliveryState


@dataclass(frozen=True, slots=True)
class AlertCounts:
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    acknowledged: int = 0
    help_requested: int = 0
    replies: int = 0
    receipts_overdue: int = 0
    """Deliveries ``sent`` before ``overdue_before`` with no final receipt yet (0 when not asked)."""


async def alert_counts(session: AsyncSession, alert_id: str, overdue_before: datetime | None = None) -> AlertCounts:
    """``{channel: {state: n}}`` for the alert's deliveries, plus safe and help answers; with ``overdue_before``,
    the deliveries still ``sent`` that were sent before then (``ALERTSVC_RECEIPT_OVERDUE_SECONDS`` ago)."""
    stats: dict[str, dict[str, int]] = {}
    rows = await session.execute(
        select(Delivery.channel, Delivery.state, func.count())
        .where(Delivery.alert_id == alert_id)
        .group_by(Delivery.channel, Delivery.state)
    )
    for channel, state, count in rows:
        stats.setdefault(channel, {})[state] = int(count)
    answers = await session.execute(
        select(Acknowledgement.answer, func.count())
        .where(Acknowledgement.alert_id == alert_id)
        .group_by(Acknowledgement.answer)
    )
    by_answer = {answer: int(count) for answer, count in answers}
    replies = await session.scalar(select(func.count()).select_from(Reply).where(Reply.alert_id == alert_id))
    overdue = 0
    if overdue_before is not None and any(DeliveryState.SENT.value in by_state for by_state in stats.values()):
        overdue = int(
            await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.alert_id == alert_id,
                    Delivery.state == DeliveryState.SENT.value,
                    Delivery.sent_at < overdue_before,
                )
            )
            or 0
        )
    return AlertCounts(stats, by_answer.get("safe", 0), by_answer.get("help", 0), int(replies or 0), overdue)


UNKNOWN_REASON = "unknown"
"""A suppressed delivery stored without a reason (none is written so today; older rows may lack one)."""


async def suppressed_reasons(session: AsyncSession, alert_id: str) -> dict[str, int]:
    """Why the alert's suppressed deliveries were not sent: reason (as the fan-out and the state machine write
    it: ``opted out``, ``preferences``, ...) → how many, most first. Shown apart from progress, never as done."""
    rows = await session.execute(
        select(Delivery.reason, func.count())
        .where(Delivery.alert_id == alert_id, Delivery.state == DeliveryState.SUPPRESSED.value)
        .group_by(Delivery.reason)
    )
    counts: dict[str, int] = {}
    for reason, count in rows:
        key = str(reason) if reason else UNKNOWN_REASON
        counts[key] = counts.get(key, 0) + int(count)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

"""What happened to one alert's deliveries and answers, grouped for the after-action report and the live chart.

Everything is counted in the database (grouped queries), never by loading the deliveries: an alert to a million
residents has a million rows, and the report and the chart are read while it is still being sent. Per-minute
series group on the minute since the Unix epoch, computed in each dialect's own way (PostgreSQL ``extract(epoch)``,
SQLite ``strftime('%s')``), since the two have no common date-truncation function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.db import is_postgresql
from alertsvc.store.models import Acknowledgement, Alert, Delivery, Resident
from alertsvc.tracking.live import FAILED_STATES
from alertsvc.tracking.responses import REACHED, is_life_safety

NON_RESPONDERS_LISTED = 5000
"""How many non-responders the report names (the count is always exact)."""


@dataclass(frozen=True, slots=True)
class GroupCount:
    """Deliveries of one (channel, language, state)."""

    channel: str
    language: str
    state: str
    count: int


@dataclass(frozen=True, slots=True)
class FailureCount:
    """Failed or undeliverable deliveries of one channel for one provider code and reason."""

    channel: str
    state: str
    error_code: str | None
    reason: str | None
    count: int


@dataclass(frozen=True, slots=True)
class MinuteCounts:
    """One minute (UTC, its start) of the alert: messages sent, delivered, answers received."""

    minute: datetime
    sent: int = 0
    delivered: int = 0
    answered: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    groups: list[GroupCount]
    residents: int
    """Distinct residents with a delivery planned (any channel, any state)."""
    failures: list[FailureCount]
    first_sent: datetime | None
    last_sent: datetime | None
    answers: dict[str, int]
    """``{"safe": n, "help": n}``."""
    life_safety: bool
    non_responders: int | None
    """Residents reached (sent or delivered) who have not answered a life-safety alert; None when not life-safety."""
    non_responder_refs: list[str] = field(default_factory=list)
    help_refs: list[str] = field(default_factory=list)


def _epoch_minute(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    """Whole minutes since 1970-01-01 UTC of a timestamp column, in the session's dialect."""
    if is_postgresql(session):
        return cast(func.floor(func.extract("epoch", column) / 60), Integer)
    return cast(func.strftime("%s", column), Integer) / 60


async def delivery_report(session: AsyncSession, alert: Alert) -> DeliveryReport:
    """Deliveries by channel, language and state, failures by reason, first and last message, answers and, for a
    life-safety alert, who was reached and has not answered."""
    grouped = await session.execute(
        select(Delivery.channel, Delivery.language, Delivery.state, func.count())
        .where(Delivery.alert_id == alert.id)
        .group_by(Delivery.channel, Delivery.language, Delivery.state)
        .order_by(Delivery.channel, Delivery.language, Delivery.state)
    )
    groups = [GroupCount(ch, lang, state, int(n)) for ch, lang, state, n in grouped]
    residents = await session.scalar(
        select(func.count(func.distinct(Delivery.resident_id))).where(Delivery.alert_id == alert.id)
    )
    failed = await session.execute(
        select(Delivery.channel, Delivery.state, Delivery.error_code, Delivery.reason, func.count())
        .where(Delivery.alert_id == alert.id, Delivery.state.in_(FAILED_STATES))
        .group_by(Delivery.channel, Delivery.state, Delivery.error_code, Delivery.reason)
    )
    failures = sorted(
        (FailureCount(ch, state, code, reason, int(n)) for ch, state, code, reason, n in failed),
        key=lambda f: (-f.count, f.channel, f.error_code or "", f.reason or ""),
    )
    first, last = (
        await session.execute(
            select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(Delivery.alert_id == alert.id)
        )
    ).one()
    answer_rows = await session.execute(
        select(Acknowledgement.answer, func.count())
        .where(Acknowledgement.alert_id == alert.id)
        .group_by(Acknowledgement.answer)
    )
    answers = {"safe": 0, "help": 0}
    answers.update({answer: int(n) for answer, n in answer_rows})
    help_refs = list(
        await session.scalars(
            select(Resident.ref)
            .join(Acknowledgement, Acknowledgement.resident_id == Resident.id)
            .where(Acknowledgement.alert_id == alert.id, Acknowledgement.answer == "help")
            .order_by(Resident.ref)
        )
    )
    life_safety = is_life_safety(alert)
    count: int | None = None
    refs: list[str] = []
    if life_safety:
        answered = select(Acknowledgement.resident_id).where(Acknowledgement.alert_id == alert.id)
        reached = (
            select(Delivery.resident_id)
            .where(Delivery.alert_id == alert.id, Delivery.state.in_(REACHED), Delivery.resident_id.not_in(answered))
            .distinct()
        )
        count = int(await session.scalar(select(func.count()).select_from(reached.subquery())) or 0)
        refs = list(
            await session.scalars(
                select(Resident.ref)
                .where(Resident.id.in_(reached))
                .order_by(Resident.ref)
                .limit(NON_RESPONDERS_LISTED)
            )
        )
    return DeliveryReport(
        groups, int(residents or 0), failures, first, last, answers, life_safety, count, refs, help_refs
    )


async def per_minute(session: AsyncSession, alert_id: str) -> list[MinuteCounts]:
    """Sent, delivered and answered per minute, from the first minute with any of them to the last, with the
    empty minutes in between (a chart that skips them would hide a stall)."""
    series: dict[str, dict[int, int]] = {}
    sources: list[tuple[str, Any, list[ColumnElement[bool]]]] = [
        ("sent", Delivery.sent_at, [Delivery.alert_id == alert_id, Delivery.sent_at.is_not(None)]),
        (
            "delivered",
            Delivery.final_at,
            [Delivery.alert_id == alert_id, Delivery.state == "delivered", Delivery.final_at.is_not(None)],
        ),
        ("answered", Acknowledgement.at, [Acknowledgement.alert_id == alert_id]),
    ]
    for name, column, where in sources:
        minute = _epoch_minute(session, column).label("minute")
        rows = await session.execute(select(minute, func.count()).where(*where).group_by(minute))
        series[name] = {int(m): int(n) for m, n in rows if m is not None}
    minutes = [m for counts in series.values() for m in counts]
    if not minutes:
        return []
    return [
        MinuteCounts(
            datetime.fromtimestamp(m * 60, UTC),
            series["sent"].get(m, 0),
            series["delivered"].get(m, 0),
            series["answered"].get(m, 0),
        )
        for m in range(min(minutes), max(minutes) + 1)
    ]

"""Reading an alert's deliveries for the API: keyset pages, filtered by state and channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.models import Delivery, Resident


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    resident_ref: str
    channel: str
    state: str
    language: str
    updated_at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class DeliveryPageData:
    rows: list[DeliveryRow]
    next_after: int | None


async def deliveries_page(
    session: AsyncSession,
    alert_id: str,
    *,
    after: int | None,
    state: str | None,
    channel: str | None,
    limit: int,
) -> DeliveryPageData:
    query = (
        select(
            Delivery.id,
            Resident.ref,
            Delivery.channel,
            Delivery.state,
            Delivery.language,
            Delivery.updated_at,
            Delivery.reason,
        )
        .join(Resident, Resident.id == Delivery.resident_id)
        .where(Delivery.alert_id == alert_id)
        .order_by(Delivery.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Delivery.id > after)
    if state:
        query = query.where(Delivery.state == state)
    if channel:
        query = query.where(Delivery.channel == channel)
    rows = [DeliveryRow(*row) for row in await session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPageData(rows, rows[-1].id if more and rows else None)

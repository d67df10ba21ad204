"""Who answered an alert and how: residents who asked for help, residents who have not answered a life-safety
alert (so someone can check on them), and free-text replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.models import Acknowledgement, Alert, Contact, Delivery, Reply, Resident
from alertsvc.tracking.states import DeliveryState

LIFE_SAFETY = frozenset({"Extreme", "Severe"})
REACHED = (DeliveryState.SENT.value, DeliveryState.DELIVERED.value)


@dataclass(frozen=True, slots=True)
class ReplyView:
    resident_ref: str | None
    body: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Responses:
    help_requested: list[str]
    unanswered: list[str] | None
    """None when the alert is not life-safety (no info Severe or Extreme): nobody needs checking on."""
    replies: list[ReplyView]


def is_life_safety(alert: Alert) -> bool:
    return any(info.get("severity") in LIFE_SAFETY for info in alert.cap.get("info", []))


async def responses_for(session: AsyncSession, alert: Alert, limit: int = 1000) -> Responses:
    help_rows = await session.scalars(
        select(Resident.ref)
        .join(Acknowledgement, Acknowledgement.resident_id == Resident.id)
        .where(Acknowledgement.alert_id == alert.id, Acknowledgement.answer == "help")
        .order_by(Acknowledgement.updated_at)
        .limit(limit)
    )
    unanswered: list[str] | None = None
    if is_life_safety(alert):
        answered = select(Acknowledgement.resident_id).where(Acknowledgement.alert_id == alert.id)
        rows = await session.scalars(
            select(Resident.ref)
            .join(Delivery, Delivery.resident_id == Resident.id)
            .where(Delivery.alert_id == alert.id, Delivery.state.in_(REACHED), Resident.id.not_in(answered))
            .distinct()
            .order_by(Resident.ref)
            .limit(limit)
        )
        unanswered = list(rows)
    reply_rows = await session.execute(
        select(Resident.ref, Reply.body, Reply.at)
        .outerjoin(Contact, Contact.id == Reply.contact_id)
        .outerjoin(Resident, Resident.id == Contact.resident_id)
        .where(Reply.alert_id == alert.id)
        .order_by(Reply.at.desc())
        .limit(limit)
    )
    replies = [ReplyView(ref, body, at) for ref, body, at in reply_rows]
    return Responses(list(help_rows), unanswered, replies)

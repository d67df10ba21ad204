"""Acknowledgements: a resident says they are safe, or that they need help; one answer per alert, updatable."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.errors import Kind, NotFound
from alertsvc.store.models import Acknowledgement, Alert, Contact, Delivery, Resident
from alertsvc.tracking.states import DeliveryState
from alertsvc.webhooks.events import ACKNOWLEDGEMENT, emit_many

RECENT = timedelta(hours=48)
"""An SMS reply counts for the newest alert the number received within this long (and not yet expired)."""


class Answer(StrEnum):
    SAFE = "safe"
    HELP = "help"


class AckRefused(NotFound):
    """The link or reply cannot be taken: it names no known delivery; ``str()`` is safe to show."""


class AnswersClosed(AckRefused):
    """The alert has expired: answers are no longer collected (gone, rather than never there)."""

    kind = Kind.GONE


@dataclass(frozen=True, slots=True)
class AckTarget:
    """The alert and resident a delivery's acknowledgement link speaks for."""

    delivery_id: int
    alert: Alert
    resident_id: int


async def targets_of_deliveries(session: AsyncSession, delivery_ids: Collection[int]) -> dict[int, AckTarget]:
    """The alert and resident of each delivery that exists (its alert loaded), in two reads whatever their number:
    a batch of answers finds its targets at once (:mod:`alertsvc.tracking.answers`)."""
    wanted = sorted(set(delivery_ids))
    if not wanted:
        return {}
    rows = (
        await session.execute(
            select(Delivery.id, Delivery.alert_id, Delivery.resident_id).where(Delivery.id.in_(wanted))
        )
    ).all()
    alert_ids = sorted({str(alert_id) for _, alert_id, _ in rows})
    alerts = {alert.id: alert for alert in await session.scalars(select(Alert).where(Alert.id.in_(alert_ids)))}
    return {
        int(delivery_id): AckTarget(int(delivery_id), alerts[str(alert_id)], int(resident_id))
        for delivery_id, alert_id, resident_id in rows
        if str(alert_id) in alerts
    }


def refusal(target: AckTarget | None, now: datetime) -> AckRefused | None:
    """Why an answer through this link cannot be taken at ``now`` (no such delivery, or its alert expired); None
    when it can."""
    if target is None:
        return AckRefused("this link is not valid")
    expires = target.alert.expires_at
    if expires is not None and expires <= now:
        return AnswersClosed("this alert has expired; answers are no longer collected")
    return None


async def target_of_delivery(session: AsyncSession, delivery_id: int, now: datetime) -> AckTarget:
    """The alert and resident of one delivery's link; :class:`AckRefused` (or :class:`AnswersClosed`) when
    :func:`refusal` says so."""
    target = (await targets_of_deliveries(session, [delivery_id])).get(delivery_id)
    refused = refusal(target, now)
    if refused is not None or target is None:
        raise refused or AckRefused("this link is not valid")
    return target


@dataclass(frozen=True, slots=True)
class GivenAnswer:
    """One answer as a resident gave it, to be recorded (alone, or in a batch of them: :func:`record_answers`)."""

    alert_id: str
    resident_id: int
    resident_ref: str | None
    """What the webhook event names the resident by (the resident's ``ref``; None: none is set)."""
    answer: Answer
    via: str
    at: datetime


async def record_answer(
    session: AsyncSession, alert_id: str, resident_id: int, answer: Answer, via: str, now: datetime
) -> None:
    """Insert the resident's answer, or update it: a second answer replaces the first, never adds to it."""
    ref = await _resident_ref(session, resident_id)
    await record_answers(session, [GivenAnswer(alert_id, resident_id, ref, answer, via, now)])


async def record_answers(session: AsyncSession, given: Sequence[GivenAnswer]) -> None:
    """Record many answers in the caller's transaction, ending exactly as if each had been recorded alone, in
    order: one row per (alert, resident), by the unique key (a changed answer updates it; its first ``at`` stays,
    its ``answer``, ``via`` and ``updated_at`` are the last one's), and one webhook event per answer given.

    One statement for the rows whatever their number (the residents' answers' group commit,
    :mod:`alertsvc.tracking.answers`): a resident who answered twice within one batch is one row of it, since
    PostgreSQL refuses to update a row twice in one ``INSERT ... ON CONFLICT``."""
    if not given:
        return
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for one in given:
        row = rows.get((one.alert_id, one.resident_id))
        if row is None:
            rows[(one.alert_id, one.resident_id)] = {
                "alert_id": one.alert_id,
                "resident_id": one.resident_id,
                "answer": one.answer.value,
                "via": one.via,
                "at": one.at,
                "updated_at": one.at,
            }
        else:
            row.update(answer=one.answer.value, via=one.via, updated_at=one.at)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Acknowledgement).values(list(rows.values()))
    statement = statement.on_conflict_do_update(
        index_elements=["alert_id", "resident_id"],
        set_={
            "answer": statement.excluded.answer,
            "via": statement.excluded.via,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.execute(statement)
    await emit_many(  # the webhooks read once for the whole batch
        session,
        [
            (
                ACKNOWLEDGEMENT,
                {
                    "alert_id": one.alert_id,
                    "resident_ref": one.resident_ref,
                    "answer": one.answer.value,
                    "via": one.via,
                    "at": one.at.isoformat(),
                },
            )
            for one in given
        ],
    )


async def _resident_ref(session: AsyncSession, resident_id: int) -> str | None:
    ref = await session.scalar(select(Resident.ref).where(Resident.id == resident_id))
    return str(ref) if ref is not None else None


async def recent_alert_for_contact(session: AsyncSession, contact: Contact, now: datetime) -> str | None:
    """The newest unexpired alert this contact was sent within :data:`RECENT`."""
    row = await session.execute(
        select(Delivery.alert_id)
        .join(Alert, Alert.id == Delivery.alert_id)
        .where(
            Delivery.contact_id == contact.id,
            Delivery.state.in_([DeliveryState.SENT.value, DeliveryState.DELIVERED.value]),
            Delivery.sent_at >= now - RECENT,
            (Alert.expires_at.is_(None)) | (Alert.expires_at > now),
        )
        .order_by(Delivery.sent_at.desc())
        .limit(1)
    )
    found = row.scalar_one_or_none()
    return str(found) if found is not None else None

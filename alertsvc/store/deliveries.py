"""The SQL of deliveries: bulk planning, guarded claims and state moves, and sweeper queries.

Every state move is an ``UPDATE ... WHERE state = <expected>``: a repeated job, a redelivered message or a late
callback finds the row already moved and changes nothing (STYLE.md 4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.models import Contact, Delivery
from alertsvc.tracking.states import DONE_FOR_DISPATCH, FINAL, DeliveryState

DELIVERIES = cast(Table, Delivery.__table__)


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DELIVERIES)


@dataclass(frozen=True, slots=True)
class Created:
    """A delivery row this call inserted."""

    id: int
    channel: str
    state: str
    held: bool
    """Queued with a later first attempt (quiet hours): the sweeper enqueues it when due."""


async def insert_planned(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Created]:
    """Insert deliveries, skipping any (alert, contact) that exists; returns the rows actually inserted."""
    if not rows:
        return []
    # One Core statement executed with a parameter list: SQLAlchemy's "insertmanyvalues" batches it and keeps
    # RETURNING, without compiling a new multi-row VALUES statement per batch (14x faster at 50,000 rows).
    statement = (
        _insert(session)
        .on_conflict_do_nothing(index_elements=["alert_id", "contact_id"])
        .returning(DELIVERIES.c.id, DELIVERIES.c.channel, DELIVERIES.c.state, DELIVERIES.c.next_attempt_at)
    )
    connection = await session.connection()
    result = await connection.execute(statement, list(rows))
    return [Created(int(r[0]), str(r[1]), str(r[2]), r[3] is not None) for r in result]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for sending, with its address (read only now, never carried in a job)."""

    id: int
    contact_id: int
    resident_id: int
    language: str
    address: str
    attempts: int


async def claim(session: AsyncSession, ids: Sequence[int], now: datetime) -> list[Claimed]:
    """Move due ``queued`` deliveries among ``ids`` to ``sending``; only rows this call moved come back.

    A claimed delivery whose contact has opted out since planning ends ``suppressed`` here and is not returned.
    """
    if not ids:
        return []
    due = or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), Delivery.state == DeliveryState.QUEUED.value, due)
        .values(state=DeliveryState.SENDING.value, attempts=Delivery.attempts + 1, updated_at=now)
        .returning(Delivery.id, Delivery.contact_id, Delivery.resident_id, Delivery.language, Delivery.attempts)
    )
    rows = list(result)
    if not rows:
        return []
    contact_ids = [int(row[1]) for row in rows]
    contacts = {
        int(cid): (str(address), opted_out_at is not None)
        for cid, address, opted_out_at in await session.execute(
            select(Contact.id, Contact.address, Contact.opted_out_at).where(Contact.id.in_(contact_ids))
        )
    }
    claimed = []
    opted_out = []
    for r in rows:
        address, gone = contacts.get(int(r[1]), ("", True))
        if gone:  # opted out (or removed) after planning, e.g. an SMS STOP mid-fan-out
            opted_out.append(int(r[0]))
        else:
            claimed.append(Claimed(int(r[0]), int(r[1]), int(r[2]), str(r[3]), address, int(r[4])))
    if opted_out:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(opted_out), Delivery.state == DeliveryState.SENDING.value)
            .values(state=DeliveryState.SUPPRESSED.value, reason="opted out", updated_at=now, final_at=now)
        )
    return claimed


async def mark_sent(session: AsyncSession, results: Iterable[tuple[int, str]], now: datetime) -> None:
    """``sending`` → ``sent`` with the provider's id; a row already moved (e.g. by a fast callback) is left alone."""
    params = [{"b_id": delivery_id, "b_provider": provider_id} for delivery_id, provider_id in results]
    if not params:
        return
    statement = (
        update(Delivery)
        .where(Delivery.id == bindparam("b_id"), Delivery.state == DeliveryState.SENDING.value)
        .values(
            state=DeliveryState.SENT.value,
            provider_id=bindparam("b_provider"),
            sent_at=now,
            updated_at=now,
        )
    )
    conn = await session.connection()
    await conn.execute(statement.execution_options(synchronize_session=False), params)


async def mark_failed(
    session: AsyncSession, ids: Sequence[int], state: DeliveryState, code: str, reason: str, now: datetime
) -> None:
    """``sending`` → a final failure state, with the provider's code and reason."""
    if not ids:
        return
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), Delivery.state == DeliveryState.SENDING.value)
        .values(state=state.value, error_code=code[:40], reason=reason[:300], updated_at=now, final_at=now)
    )


async def requeue(
    session: AsyncSession, ids: Sequence[int], not_before: datetime, code: str, reason: str, now: datetime
) -> None:
    """``sending`` → ``queued`` for another attempt at ``not_before``."""
    if not ids:
        return
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), Delivery.state == DeliveryState.SENDING.value)
        .values(
            state=DeliveryState.QUEUED.value,
            next_attempt_at=not_before,
            error_code=code[:40],
            reason=reason[:300],
            updated_at=now,
        )
    )


async def suppress_queued(session: AsyncSession, alert_id: str, reason: str, now: datetime) -> int:
    """Every not-yet-sent delivery of an alert becomes ``suppressed`` (the alert was cancelled or expired)."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.alert_id == alert_id,
            Delivery.state.in_([DeliveryState.QUEUED.value, DeliveryState.SENDING.value]),
        )
        .values(state=DeliveryState.SUPPRESSED.value, reason=reason, updated_at=now, final_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def expire_queued(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """Claimed deliveries that can no longer go out before the alert expires end as ``failed``."""
    await mark_failed(session, ids, DeliveryState.FAILED, "expired", "the alert expired before delivery", now)


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
    session: AsyncSession, queued_before: datetime, sending_before: datetime, limit: int = 5000
) -> list[tuple[int, str, str, str]]:
    """(id, alert_id, channel, state) of queued work that is due but idle, and sending work whose job died."""
    rows = await session.execute(
        select(Delivery.id, Delivery.alert_id, Delivery.channel, Delivery.state)
        .where(
            or_(
                and_(
                    Delivery.state == DeliveryState.QUEUED.value,
                    Delivery.updated_at < queued_before,
                    or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at < queued_before),
                ),
                and_(Delivery.state == DeliveryState.SENDING.value, Delivery.updated_at < sending_before),
            )
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


async def release_stalled_sending(
    session: AsyncSession, ids: Sequence[int], now: datetime, held_before: datetime | None = None
) -> None:
    """``sending`` rows whose worker died go back to ``queued`` (at-least-once; see dispatch.sweeper).

    ``held_before``: only rows still claimed before then, so a row released meanwhile by an overlapping sweep and
    claimed afresh by a live worker is not pulled from under it.
    """
    if not ids:
        return
    fresh = [] if held_before is None else [Delivery.updated_at < held_before]
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), Delivery.state == DeliveryState.SENDING.value, *fresh)
        .values(state=DeliveryState.QUEUED.value, updated_at=now, next_attempt_at=None)
    )


def final_case() -> Any:
    """A SQL expression that is 1 for final deliveries (for time-to-warn figures)."""
    return case((Delivery.state.in_([s.value for s in FINAL]), 1), else_=0)


DONE_VALUES = tuple(s.value for s in DONE_FOR_DISPATCH)

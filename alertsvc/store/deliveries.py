"""The SQL of deliveries: bulk planning, guarded claims and state moves, and sweeper queries.

Every state move is an ``UPDATE ... WHERE state = <expected>``: a repeated job, a redelivered message or a late
callback finds the row already moved and changes nothing (STYLE.md 4).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator

from alertsvc.store.db import is_postgresql
from alertsvc.store.ids import ids_in
from alertsvc.store.models import Contact, Delivery, is_pending
from alertsvc.tracking.states import DONE_FOR_DISPATCH, FINAL, DeliveryState

DELIVERIES = cast(Table, Delivery.__table__)


@dataclass(frozen=True, slots=True)
class Created:
    """A delivery row this call inserted."""

    id: int
    channel: str
    state: str
    held: bool
    """Queued with a later first attempt (quiet hours): the sweeper enqueues it when due."""


PLANNED_COLUMNS = (
    "alert_id", "contact_id", "resident_id", "channel", "state", "language", "reason", "next_attempt_at",
    "attempts", "created_at", "updated_at", "final_at",
)  # fmt: skip
"""The columns a planned delivery is inserted with (the keys of each row given to :func:`insert_planned`)."""


def _array_of(column_name: str) -> postgresql.ARRAY[Any]:
    column_type = DELIVERIES.c[column_name].type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    return postgresql.ARRAY(column_type)


def _planned_json_rows(dialect: Dialect, rows: Sequence[dict[str, Any]]) -> Any:
    """SQLite: the planned rows as ``SELECT json_extract(value, '$[i]') ... FROM json_each(?)``, one parameter.

    Why not an executemany (SQLAlchemy's "insertmanyvalues"): it sends multi-row ``VALUES`` statements of up to
    a thousand rows, twelve parameters each, and ``sqlite3`` keeps every distinct one prepared in each pooled
    connection's statement cache: about 1 MiB of SQLite memory apiece, since each chunk's last batch has a size of
    its own. At a million residents SQLite's own memory in the worker peaked at 30 MiB with them, 20 MiB with this
    (bench/README.md). Each value goes through its column's own
    bind processor first (timestamps become SQLite's stored text), so what lands is what the ORM would write.
    The ``WHERE`` is SQLite's documented way to keep ``ON CONFLICT`` from parsing as a join constraint.
    """
    columns = [[row[name] for row in rows] for name in PLANNED_COLUMNS]
    for index, name in enumerate(PLANNED_COLUMNS):
        process = DELIVERIES.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:  # the timestamps: a batch shares a few values, each converted once
            converted: dict[Any, Any] = {None: None}
            columns[index] = [
                converted[v] if v in converted else converted.setdefault(v, process(v)) for v in columns[index]
            ]
    encoded = json.dumps(list(zip(*columns, strict=True)))
    value: ColumnElement[Any] = literal_column("value")
    return (
        select(*(func.json_extract(value, f"$[{i}]") for i in range(len(PLANNED_COLUMNS))))
        .select_from(func.json_each(bindparam("b_planned", encoded)))
        .where(true())
    )


async def insert_planned(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[Created]:
    """Insert deliveries, skipping any (alert, contact) that exists; returns the rows actually inserted."""
    if not rows:
        return []
    returning = (DELIVERIES.c.id, DELIVERIES.c.channel, DELIVERIES.c.state, DELIVERIES.c.next_attempt_at)
    connection = await session.connection()
    if is_postgresql(session):
        # One array per column, unnested by the server: a dozen parameters instead of a dozen per row, which
        # SQLAlchemy would otherwise process one by one in the worker (the fan-out's largest CPU cost).
        planned = (
            func.unnest(*(bindparam(None, [r[c] for r in rows], type_=_array_of(c)) for c in PLANNED_COLUMNS))
            .table_valued(*PLANNED_COLUMNS)
            .render_derived(name="planned")
        )
        statement: Any = postgresql.insert(DELIVERIES).from_select(
            PLANNED_COLUMNS, select(*(planned.c[c] for c in PLANNED_COLUMNS))
        )
        result = await connection.execute(
            statement.on_conflict_do_nothing(index_elements=["alert_id", "contact_id"]).returning(*returning)
        )
    else:
        # One statement whose rows come from a single JSON parameter (see _planned_json_rows).
        statement = (
            sqlite.insert(DELIVERIES)
            .from_select(PLANNED_COLUMNS, _planned_json_rows(connection.dialect, rows))
            .on_conflict_do_nothing(index_elements=["alert_id", "contact_id"])
            .returning(*returning)
        )
        result = await connection.execute(statement)
    return [Created(int(r[0]), str(r[1]), str(r[2]), r[3] is not None) for r in result]


class Claimed(NamedTuple):
    """A delivery claimed for sending, with its address (read only now, never carried in a job).

    A named tuple: one is built per message, and a frozen dataclass costs several times as much to construct.
    """

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
    # Core statements on the connection: the ORM would build an object per returned row for nothing.
    connection = await session.connection()
    d = DELIVERIES.c
    due = or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now)
    result = await connection.execute(
        update(DELIVERIES)
        .where(ids_in(session, d.id, ids), d.state == DeliveryState.QUEUED.value, due)
        .values(state=DeliveryState.SENDING.value, attempts=d.attempts + 1, updated_at=now)
        .returning(d.id, d.contact_id, d.resident_id, d.language, d.attempts)
    )
    rows = result.all()
    if not rows:
        return []
    contact_ids = [int(row[1]) for row in rows]
    contacts = {
        int(cid): (str(address), opted_out_at is not None)
        for cid, address, opted_out_at in await connection.execute(
            select(Contact.id, Contact.address, Contact.opted_out_at).where(ids_in(session, Contact.id, contact_ids))
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
            .where(ids_in(session, Delivery.id, opted_out), Delivery.state == DeliveryState.SENDING.value)
            .values(state=DeliveryState.SUPPRESSED.value, reason="opted out", updated_at=now, final_at=now)
        )
    return claimed


def _sent_pairs(session: AsyncSession, pairs: Sequence[tuple[int, str]]) -> Any:
    """``(id, provider_id)`` pairs as a derived table bound with one or two parameters, whatever their number.

    PostgreSQL unnests two arrays; SQLite reads one JSON array of pairs with ``json_each``. An executemany of the
    guarded update had SQLAlchemy process 500 parameter sets (two datetimes each) per batch on SQLite: 33 µs a
    row here, against 17.5 µs for the one statement, whose own floor in ``sqlite3`` is 13 µs.
    """
    if is_postgresql(session):
        return (
            func.unnest(
                bindparam("b_ids", [p[0] for p in pairs], type_=postgresql.ARRAY(BigInteger)),
                bindparam("b_providers", [p[1] for p in pairs], type_=postgresql.ARRAY(String)),
            )
            .table_valued("id", "provider_id")
            .render_derived(name="given")
        )
    value: ColumnElement[Any] = literal_column("value")
    return (
        select(func.json_extract(value, "$[0]").label("id"), func.json_extract(value, "$[1]").label("provider_id"))
        .select_from(func.json_each(bindparam("b_pairs", json.dumps(pairs))))
        .subquery("given")
    )


async def mark_sent(session: AsyncSession, results: Iterable[tuple[int, str]], now: datetime) -> None:
    """``sending`` → ``sent`` with the provider's id; a row already moved (e.g. by a fast callback) is left alone.

    One guarded ``UPDATE ... FROM`` for the whole batch (see :func:`_sent_pairs`).
    """
    pairs = [(int(i), str(provider)) for i, provider in results]
    if not pairs:
        return
    d = DELIVERIES.c
    given = _sent_pairs(session, pairs)
    connection = await session.connection()
    await connection.execute(
        update(DELIVERIES)
        .where(d.id == given.c.id, d.state == DeliveryState.SENDING.value)
        .values(state=DeliveryState.SENT.value, provider_id=given.c.provider_id, sent_at=now, updated_at=now)
    )


async def _from_sending(session: AsyncSession, ids: Sequence[int], **values: Any) -> None:
    """Move those of ``ids`` still ``sending`` (nobody else moved them since the claim) to ``values``."""
    if not ids:
        return
    await session.execute(
        update(Delivery)
        .where(ids_in(session, Delivery.id, ids), Delivery.state == DeliveryState.SENDING.value)
        .values(**values)
    )


async def mark_failed(
    session: AsyncSession, ids: Sequence[int], state: DeliveryState, code: str, reason: str, now: datetime
) -> None:
    """``sending`` → a final failure state, with the provider's code and reason."""
    await _from_sending(
        session, ids, state=state.value, error_code=code[:40], reason=reason[:300], updated_at=now, final_at=now
    )


async def requeue(
    session: AsyncSession, ids: Sequence[int], not_before: datetime, code: str, reason: str, now: datetime
) -> None:
    """``sending`` → ``queued`` for another attempt at ``not_before``."""
    await _from_sending(
        session,
        ids,
        state=DeliveryState.QUEUED.value,
        next_attempt_at=not_before,
        error_code=code[:40],
        reason=reason[:300],
        updated_at=now,
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
        .where(ids_in(session, Delivery.id, ids), Delivery.state == DeliveryState.SENDING.value, *fresh)
        .values(state=DeliveryState.QUEUED.value, updated_at=now, next_attempt_at=None)
    )


def final_case() -> Any:
    """A SQL expression that is 1 for final deliveries (for time-to-warn figures)."""
    return case((Delivery.state.in_([s.value for s in FINAL]), 1), else_=0)


DONE_VALUES = tuple(s.value for s in DONE_FOR_DISPATCH)

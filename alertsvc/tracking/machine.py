"""The delivery state machine: the one module that writes the ``deliveries`` table (and ``early_callbacks``).

Every move below is one function, and each is an ``UPDATE ... WHERE state IN (<the states it may leave>)``: a
repeated job, a redelivered message, a late or duplicate provider report finds the row already moved and changes
nothing (STYLE.md 4). A final state never moves again. The states are ``alertsvc.tracking.states``::

                                plan
                 ┌───────────────┴───────────────┐
                 ▼                               ▼
    ┌────────▶ queued ── suppress_unsent ──▶ suppressed ◀── (plan: opted out, preferences, quiet hours
    │            │    ── suppress_opted_out ──▶    ▲         until the alert expires)
    │            │    ── expire_queued ──▶ failed  │
    │  requeue   │ claim                           │ claim (opted out since planning), suppress_unsent
    │  release_  ▼                                 │
    │  stalled  sending ───────────────────────────┘
    └───────────┘│  ── fail ───────────▶ failed | undeliverable
                 │  ── expire_claimed ─▶ failed
                 │  ── receipt (final) ▶ delivered | failed | undeliverable
                 │ record_sent (provider id), receipt "sent"
                 ▼
                sent ── receipt (final) ──▶ delivered | failed | undeliverable

    move                  from               to                              called by
    plan                  (new row)          queued, held queued, suppressed dispatch.fanout
    claim                 queued, due        sending (opted out: suppressed) dispatch.deliver
    record_sent           sending            sent, with the provider id      dispatch.deliver, dispatch.sweeper
    fail                  sending            failed | undeliverable          dispatch.deliver
    requeue               sending            queued, not before a time       dispatch.deliver
    expire_claimed        sending            failed (expired)                dispatch.deliver
    release_stalled       sending, old       queued                          dispatch.sweeper
    suppress_unsent       queued | sending   suppressed (alert cancelled)    dispatch.deliver, dispatch.fanout
    suppress_opted_out    queued             suppressed (opted out)          residents.optout
    expire_queued         queued             failed (expired)                dispatch.sweeper
    receipt "sent"        sending            sent                            tracking.callbacks (api.hooks)
    receipt final         sending | sent     delivered | failed | undeliv.   tracking.callbacks (api.hooks)

A provider's receipts may come twice, late or out of order: ``delivered`` before ``sent`` moves a ``sent`` row
to ``delivered`` and the late ``sent`` then finds nothing to move; the first final receipt wins (``failed`` then
``delivered`` stays ``failed``), as before this module.

**No receipt is lost.** The worker records a batch's provider ids once the whole batch is sent (one statement for
hundreds of rows), and a provider may report before that: Twilio posts ``sent`` within a second of accepting a
message, and may post before the HTTP answer that tells us its id has even reached the worker. A final receipt that
matches no delivery is therefore *kept* in ``early_callbacks``, keyed by the provider id, and applied when the record
lands (:func:`record_sent`). A ``sent`` receipt is not kept: the record that lands says ``sent`` itself. A second
final receipt for a kept id is not kept either: the first final receipt wins, as it does on a recorded row. What
no record claims is dropped by the sweeper after :data:`KEEP_EARLY_FOR` (a message the provider took for a
delivery whose send then timed out and went again, or a report about a message that is not ours): nothing is kept
for ever.

Why keep, rather than record each provider id before the next message of the batch goes out:

1. That would not close the window. The provider may report before its answer has reached us (the Twilio
   stand-in's ``callbacks_before_answer`` does exactly that in tests/integration/test_early_callbacks.py), and a
   report that finds no row is gone: Twilio does not send a callback again once it was answered 2xx.
2. It costs a write transaction per message on the hot path, where the fan-out sends 2,300-5,300 SMS/s and SQLite
   has one writer for everything. Measured (3,000 records, 2 shared cores): a transaction per message took
   1.8 ms of CPU and 5.5 ms of wall time a message on SQLite (2.5 ms and 14 ms on PostgreSQL), against 18 µs and
   52 µs a message for one record per batch of 500 (5 µs and 36 µs): a few hundred SMS/s at best.

What keeping costs each record of a batch of 500, measured the same way (client CPU a batch, median of 300):

* SQLite, nothing kept (the usual case): one ``SELECT ... LIMIT 1`` in the record's transaction, 0.35 ms;
  with 2,000 receipts kept, the take (``DELETE ... RETURNING`` through the key, then the guarded ``UPDATE``), 1.5 ms.
* PostgreSQL: one autocommit statement after the commit (below), 1.0 ms of CPU (about 2.5 ms of waiting, while
  the worker's other jobs run); it was 2.5 ms with the statement built per call, so it is built once.

That is under 3 µs an SMS, against the 300-400 µs of CPU an SMS costs end to end (bench/fanout.py's figure).
bench/fanout.py (300,000 residents, 30,000 SMS, one worker; the machine shared with other sessions, load average 5
to 10 on 2 cores, so runs of one code varied by a factor of two), old and new alternating: SQLite 1,014 / 1,339 /
1,061 / 1,077 / 511 SMS/s (364 / 306 / 318 / 377 / 410 µs of CPU an SMS) before, 822 / 1,172 / 1,020 / 1,275 / 825
(345 / 328 / 315 / 350 / 363) after; PostgreSQL 995 / 909 / 462 / 846 (322 / 344 / 364 / 321) before, 894 / 1,016 /
595 / 948 (329 / 332 / 348 / 353) after: no difference the noise lets through.

Atomicity. A receipt and the record of its send may commit at the same moment. On SQLite, writers take turns and
each of these transactions writes with its first statement, so one sees all of the other: the record takes the
kept receipt in its own transaction, or the receipt finds the recorded row. On PostgreSQL (READ COMMITTED) each
may miss the other's uncommitted write, so each side looks again *after* its commit
(:func:`apply_kept_after_commit`): a receipt that was kept, for its id; a record, for its batch. Whichever commits
second then sees the first. Taking a kept receipt is a ``DELETE ... RETURNING``, so two sides that both see it
apply it once (and the guard makes a second application a no-op anyway). A process killed between its commit and
that second look leaves the receipt kept; the sweeper applies whatever kept receipt has a recorded delivery
(:func:`apply_all_kept`) every pass.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.types import TypeDecorator

from alertsvc.store.db import is_postgresql, transaction
from alertsvc.store.ids import ids_in
from alertsvc.store.models import Contact, Delivery, EarlyCallback, is_pending
from alertsvc.tracking.states import DeliveryState

DELIVERIES = cast(Table, Delivery.__table__)
EARLY = cast(Table, EarlyCallback.__table__)

QUEUED = DeliveryState.QUEUED.value
SENDING = DeliveryState.SENDING.value
SENT = DeliveryState.SENT.value
SUPPRESSED = DeliveryState.SUPPRESSED.value
UNSENT = (QUEUED, SENDING)
IN_FLIGHT = (SENDING, SENT)
"""What a final receipt may move: a row whose send is recorded, or (in principle) one still being recorded."""
RECEIPT_FINALS = frozenset({DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.UNDELIVERABLE})
PLANNED_STATES = frozenset({DeliveryState.QUEUED, DeliveryState.SUPPRESSED})

KEEP_EARLY_FOR = timedelta(hours=1)
"""How long a receipt that matched no delivery is kept for its record to land.

The record of a batch lands at most ``job_timeout_s`` (300 s by default) after its first send; a dead worker's
batch is recorded by the sweeper's provider lookup ``job_timeout_s + 15`` s after the claim. An hour covers both
with room; the sweeper keeps at least twice the job timeout when that is set higher.
"""


# --- plan ---------------------------------------------------------------------------------------------------------


class PlannedDelivery(Protocol):
    """What the fan-out decided for one contact (``dispatch.audience.Plan``)."""

    @property
    def contact_id(self) -> int: ...
    @property
    def resident_id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def state(self) -> DeliveryState: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def not_before(self) -> datetime | None: ...


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
"""The columns a planned delivery is inserted with."""


def _array_of(column_name: str) -> postgresql.ARRAY[Any]:
    column_type = DELIVERIES.c[column_name].type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    return postgresql.ARRAY(column_type)


def _planned_json_rows(dialect: Dialect, rows: Sequence[Sequence[Any]]) -> Any:
    """SQLite: the planned rows as ``SELECT json_extract(value, '$[i]') ... FROM json_each(?)``, one parameter.

    Why not an executemany (SQLAlchemy's "insertmanyvalues"): it sends multi-row ``VALUES`` statements of up to
    a thousand rows, twelve parameters each, and ``sqlite3`` keeps every distinct one prepared in each pooled
    connection's statement cache: about 1 MiB of SQLite memory apiece, since each chunk's last batch has a size of
    its own. At a million residents SQLite's own memory in the worker peaked at 30 MiB with them, 20 MiB with this
    (bench/README.md). Each value goes through its column's own
    bind processor first (timestamps become SQLite's stored text), so what lands is what the ORM would write.
    The ``WHERE`` is SQLite's documented way to keep ``ON CONFLICT`` from parsing as a join constraint.
    """
    columns = [list(column) for column in zip(*rows, strict=True)]
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


def _planned_row(alert_id: str, plan: PlannedDelivery, now: datetime) -> tuple[Any, ...]:
    if plan.state not in PLANNED_STATES:
        raise ValueError(f"a delivery is planned queued or suppressed, not {plan.state}")
    final_at = now if plan.state is DeliveryState.SUPPRESSED else None
    return (
        alert_id, plan.contact_id, plan.resident_id, plan.channel, plan.state.value, plan.language, plan.reason,
        plan.not_before, 0, now, now, final_at,
    )  # fmt: skip


async def plan(session: AsyncSession, alert_id: str, plans: Sequence[PlannedDelivery], now: datetime) -> list[Created]:
    """(new) → ``queued`` (held until ``not_before``: quiet hours) or ``suppressed`` (opted out, preferences,
    quiet hours past the alert's expiry), skipping any (alert, contact) already planned; returns the rows inserted.

    The guard is the unique key on (alert, contact): a fan-out run again adds nothing twice.
    """
    if not plans:
        return []
    rows = [_planned_row(alert_id, p, now) for p in plans]
    returning = (DELIVERIES.c.id, DELIVERIES.c.channel, DELIVERIES.c.state, DELIVERIES.c.next_attempt_at)
    connection = await session.connection()
    if is_postgresql(session):
        # One array per column, unnested by the server: a dozen parameters instead of a dozen per row, which
        # SQLAlchemy would otherwise process one by one in the worker (the fan-out's largest CPU cost).
        columns = list(zip(*rows, strict=True))
        planned = (
            func.unnest(*(bindparam(None, list(columns[i]), type_=_array_of(c)) for i, c in enumerate(PLANNED_COLUMNS)))
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


# --- the dispatcher's moves -----------------------------------------------------------------------------------------


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
    """``queued`` and due → ``sending``, for those of ``ids``; only rows this call moved come back.

    A claimed delivery whose contact has opted out since planning (an SMS STOP mid-fan-out) moves on to
    ``suppressed`` here and is not returned.
    """
    if not ids:
        return []
    # Core statements on the connection: the ORM would build an object per returned row for nothing.
    connection = await session.connection()
    d = DELIVERIES.c
    due = d.next_attempt_at.is_(None) | (d.next_attempt_at <= now)
    result = await connection.execute(
        update(DELIVERIES)
        .where(ids_in(session, d.id, ids), d.state == QUEUED, due)
        .values(state=SENDING, attempts=d.attempts + 1, updated_at=now)
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
        if gone:  # opted out (or removed) after planning
            opted_out.append(int(r[0]))
        else:
            claimed.append(Claimed(int(r[0]), int(r[1]), int(r[2]), str(r[3]), address, int(r[4])))
    if opted_out:
        await _from_sending(session, opted_out, state=SUPPRESSED, reason="opted out", updated_at=now, final_at=now)
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


async def record_sent(session: AsyncSession, results: Iterable[tuple[int, str]], now: datetime) -> None:
    """``sending`` → ``sent`` with the provider's id; then the receipts kept for those ids are applied.

    One guarded ``UPDATE ... FROM`` for the whole batch (see :func:`_sent_pairs`). A row no longer ``sending``
    (moved by someone else since the claim) is left alone. Then, on SQLite, the receipts kept for the batch are
    taken and applied in this transaction (one ``SELECT`` finds that none is kept, the usual case). On PostgreSQL
    that is done once the transaction has committed: the caller must call :func:`apply_kept_after_commit` then
    (see the module's docstring for why).
    """
    pairs = [(int(i), str(provider)) for i, provider in results]
    if not pairs:
        return
    d = DELIVERIES.c
    given = _sent_pairs(session, pairs)
    connection = await session.connection()
    await connection.execute(
        update(DELIVERIES)
        .where(d.id == given.c.id, d.state == SENDING)
        .values(state=SENT, provider_id=given.c.provider_id, sent_at=now, updated_at=now)
    )
    if not is_postgresql(session) and await any_kept(session):
        await apply_kept(session, [p[1] for p in pairs], now)


async def _from_sending(session: AsyncSession, ids: Sequence[int], **values: Any) -> None:
    """Move those of ``ids`` still ``sending`` (nobody else moved them since the claim) to ``values``."""
    if not ids:
        return
    await session.execute(
        update(Delivery).where(ids_in(session, Delivery.id, ids), Delivery.state == SENDING).values(**values)
    )


async def fail(
    session: AsyncSession, ids: Sequence[int], state: DeliveryState, code: str, reason: str, now: datetime
) -> None:
    """``sending`` → ``failed`` or ``undeliverable``, with the provider's code and reason."""
    if state not in (DeliveryState.FAILED, DeliveryState.UNDELIVERABLE):
        raise ValueError(f"a send fails as failed or undeliverable, not {state}")
    await _from_sending(
        session, ids, state=state.value, error_code=code[:40], reason=reason[:300], updated_at=now, final_at=now
    )


async def requeue(
    session: AsyncSession, ids: Sequence[int], not_before: datetime, code: str, reason: str, now: datetime
) -> None:
    """``sending`` → ``queued`` for another attempt at ``not_before`` (a transient error, or nothing was sent)."""
    await _from_sending(
        session,
        ids,
        state=QUEUED,
        next_attempt_at=not_before,
        error_code=code[:40],
        reason=reason[:300],
        updated_at=now,
    )


async def expire_claimed(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """``sending`` → ``failed``: claimed deliveries that can no longer go out before the alert expires."""
    await fail(session, ids, DeliveryState.FAILED, "expired", "the alert expired before delivery", now)


async def release_stalled(
    session: AsyncSession, ids: Sequence[int], now: datetime, held_before: datetime | None = None
) -> None:
    """``sending`` → ``queued``: rows whose worker died, to be sent again (at-least-once; see dispatch.sweeper).

    ``held_before``: only rows still claimed before then, so a row released meanwhile by an overlapping sweep and
    claimed afresh by a live worker is not pulled from under it.
    """
    if not ids:
        return
    fresh = [] if held_before is None else [Delivery.updated_at < held_before]
    await session.execute(
        update(Delivery)
        .where(ids_in(session, Delivery.id, ids), Delivery.state == SENDING, *fresh)
        .values(state=QUEUED, updated_at=now, next_attempt_at=None)
    )


async def suppress_unsent(session: AsyncSession, alert_id: str, reason: str, now: datetime) -> int:
    """``queued`` or ``sending`` → ``suppressed``: the alert was cancelled (or is no longer sendable)."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.alert_id == alert_id, Delivery.state.in_(UNSENT))
        .values(state=SUPPRESSED, reason=reason, updated_at=now, final_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def suppress_opted_out(session: AsyncSession, contact_id: int, now: datetime) -> int:
    """``queued`` → ``suppressed``: the contact opted out (an SMS STOP drops what is queued for it at once)."""
    result = await session.execute(
        update(Delivery)
        .where(
            is_pending(Delivery.state),  # through the partial pending index: contact_id has none of its own
            Delivery.contact_id == contact_id,
            Delivery.state == QUEUED,
        )
        .values(state=SUPPRESSED, reason="opted out", updated_at=now, final_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def expire_queued(session: AsyncSession, alert_id: str, now: datetime) -> int:
    """``queued`` → ``failed``: the alert expired before these went out."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.alert_id == alert_id, Delivery.state == QUEUED)
        .values(
            state=DeliveryState.FAILED.value,
            error_code="expired",
            reason="the alert expired before delivery",
            updated_at=now,
            final_at=now,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- provider receipts ----------------------------------------------------------------------------------------------


class Receipt(enum.Enum):
    """What became of one provider receipt."""

    MOVED = "moved"
    """A delivery moved."""
    KEPT = "kept"
    """No delivery has that provider id yet: kept until its record lands (or :data:`KEEP_EARLY_FOR` passes)."""
    UNCHANGED = "unchanged"
    """A duplicate, a late one, or one that follows a final state: nothing to do."""


def _receipt_values(state: DeliveryState, code: str | None, reason: str | None, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"state": state.value, "updated_at": now}
    if state is not DeliveryState.SENT:
        values["final_at"] = now
    if code is not None:
        values["error_code"] = code[:40]
    if reason is not None:
        values["reason"] = reason[:300]
    return values


def _strings_in(session: AsyncSession, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column`` is one of ``values``, bound as one parameter (as :func:`alertsvc.store.ids.ids_in` for text)."""
    if is_postgresql(session):
        return cast(ColumnElement[bool], column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String))))
    listed: Any = select(literal_column("value")).select_from(func.json_each(bindparam(None, json.dumps(list(values)))))
    return cast(ColumnElement[bool], column.in_(listed))


async def _move_by_provider(
    session: AsyncSession, provider_ids: Sequence[str], state: DeliveryState, code: str | None, reason: str | None,
    now: datetime,
) -> int:  # fmt: skip
    """The receipt's own guarded move: ``sent`` from ``sending``; a final state from ``sending`` or ``sent``."""
    sources = (SENDING,) if state is DeliveryState.SENT else IN_FLIGHT
    d = DELIVERIES.c
    provider = (
        d.provider_id == provider_ids[0]
        if len(provider_ids) == 1
        else _strings_in(session, d.provider_id, provider_ids)
    )
    result = await (await session.connection()).execute(
        update(DELIVERIES).where(provider, d.state.in_(sources)).values(**_receipt_values(state, code, reason, now))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def receive(
    session: AsyncSession,
    provider_id: str,
    state: DeliveryState,
    now: datetime,
    code: str | None = None,
    reason: str | None = None,
) -> Receipt:
    """A provider's receipt for the message ``provider_id``: the delivery moves to ``state`` if its guard allows.

    ``state``: ``sent`` (from ``sending``) or ``delivered`` / ``failed`` / ``undeliverable`` (from ``sending`` or
    ``sent``), with the provider's ``code`` and ``reason`` for a failure. A final receipt that matches no
    delivery is kept (:data:`Receipt.KEPT`); call :func:`apply_kept_after_commit` for it after the commit, or use
    :func:`record_receipt`, which does both.
    """
    if state is not DeliveryState.SENT and state not in RECEIPT_FINALS:
        raise ValueError(f"a provider receipt says sent, delivered, failed or undeliverable, not {state}")
    if await _move_by_provider(session, [provider_id], state, code, reason, now):
        return Receipt.MOVED
    if state is DeliveryState.SENT:
        return Receipt.UNCHANGED  # not kept: the record that lands says sent itself
    e = EARLY.c
    no_delivery = ~exists().where(DELIVERIES.c.provider_id == provider_id)
    keep = select(
        bindparam("k_provider", provider_id, type_=e.provider_id.type),
        bindparam("k_state", state.value, type_=e.state.type),
        bindparam("k_code", None if code is None else code[:40], type_=e.error_code.type),
        bindparam("k_reason", None if reason is None else reason[:300], type_=e.reason.type),
        bindparam("k_at", now, type_=e.received_at.type),
    ).where(no_delivery)
    insert = postgresql.insert(EARLY) if is_postgresql(session) else sqlite.insert(EARLY)
    kept = await (await session.connection()).execute(
        insert.from_select(["provider_id", "state", "error_code", "reason", "received_at"], keep)
        .on_conflict_do_nothing(index_elements=["provider_id"])  # a receipt already kept: the first final wins
        .returning(e.provider_id)
    )
    if kept.first() is not None:
        return Receipt.KEPT
    # Not kept: already kept, or the delivery exists after all (on PostgreSQL its record may have committed since
    # the move above looked): try the move once more.
    if await _move_by_provider(session, [provider_id], state, code, reason, now):
        return Receipt.MOVED
    return Receipt.UNCHANGED


async def apply_kept(session: AsyncSession, provider_ids: Sequence[str] | None, now: datetime) -> int:
    """Apply and forget the kept receipts of those of ``provider_ids`` (all, when None) that a delivery now has.

    Returns how many deliveries moved. Taking is a ``DELETE ... RETURNING``: a kept receipt is applied once, by
    whoever took it, under the receipt's own guard.
    """
    if provider_ids is not None and not provider_ids:
        return 0
    e = EARLY.c
    recorded = exists().where(DELIVERIES.c.provider_id == e.provider_id)
    chosen = [] if provider_ids is None else [_strings_in(session, e.provider_id, provider_ids)]
    connection = await session.connection()
    taken = (
        await connection.execute(
            delete(EARLY).where(*chosen, recorded).returning(e.provider_id, e.state, e.error_code, e.reason)
        )
    ).all()
    if not taken:
        return 0
    groups: dict[tuple[str, str | None, str | None], list[str]] = defaultdict(list)
    for provider_id, state, code, reason in taken:
        groups[(str(state), code, reason)].append(str(provider_id))
    moved = 0
    for (state, code, reason), ids in groups.items():
        moved += await _move_by_provider(session, ids, DeliveryState(state), code, reason, now)
    return moved


def _writers_take_turns(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """SQLite: one writer at a time, so a transaction that writes first sees every other one whole."""
    bind = sessions.kw.get("bind")
    return bind is None or bind.dialect.name == "sqlite"


async def apply_kept_after_commit(
    sessions: async_sessionmaker[AsyncSession], provider_ids: Sequence[str], now: datetime
) -> int:
    """PostgreSQL: after a record or a kept receipt has committed, apply what is kept for ``provider_ids``.

    Returns how many deliveries moved. One statement, outside any transaction of ours (so one round trip, not
    three): a ``DELETE ... RETURNING`` of the kept receipts whose delivery is recorded, feeding the guarded
    ``UPDATE`` of those deliveries, atomic as any single statement. Nothing to do on SQLite (see the module's
    docstring), where it returns at once.
    """
    bind = sessions.kw.get("bind")
    if not provider_ids or _writers_take_turns(sessions) or not isinstance(bind, AsyncEngine):
        return 0
    async with bind.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        result = await autocommit.execute(_TAKE_AND_APPLY, {"b_kept": list(provider_ids), "b_now": now})
    return int(getattr(result, "rowcount", 0) or 0)


def _take_and_apply() -> Any:
    """PostgreSQL's one statement for :func:`apply_kept_after_commit`, built once: building it per call (an
    alias, a CTE and their column collections) cost the worker more CPU than executing it."""
    e, d = EARLY.c, DELIVERIES.c
    recorded = DELIVERIES.alias("recorded")
    given = (
        func.unnest(bindparam("b_kept", type_=postgresql.ARRAY(String)))
        .table_valued("provider_id")
        .render_derived(name="given")
    )
    taken = (
        delete(EARLY)
        .where(e.provider_id == given.c.provider_id, exists().where(recorded.c.provider_id == e.provider_id))
        .returning(e.provider_id, e.state, e.error_code, e.reason)
        .cte("taken")
    )
    now = bindparam("b_now", type_=d.updated_at.type)
    return (
        update(DELIVERIES)
        .where(d.provider_id == taken.c.provider_id, d.state.in_([literal_column(f"'{s}'") for s in IN_FLIGHT]))
        .values(
            state=taken.c.state,
            error_code=func.coalesce(taken.c.error_code, d.error_code),
            reason=func.coalesce(taken.c.reason, d.reason),
            final_at=now,
            updated_at=now,
        )
    )


_TAKE_AND_APPLY = _take_and_apply()


async def record_receipt(
    sessions: async_sessionmaker[AsyncSession],
    provider_id: str,
    state: DeliveryState,
    now: datetime,
    code: str | None = None,
    reason: str | None = None,
) -> Receipt:
    """:func:`receive` in a transaction of its own, then (PostgreSQL, when kept) the look after the commit."""
    async with transaction(sessions) as session:
        outcome = await receive(session, provider_id, state, now, code, reason)
    if outcome is Receipt.KEPT and await apply_kept_after_commit(sessions, [provider_id], now):
        return Receipt.MOVED
    return outcome


# --- provider receipts in bulk (group commit) ------------------------------------------------------------------------


class Report(NamedTuple):
    """One provider receipt, as :func:`receive` takes it, for :func:`receive_many`."""

    provider_id: str
    state: DeliveryState
    code: str | None = None
    reason: str | None = None


async def _move_returning(
    session: AsyncSession, provider_ids: Sequence[str], state: DeliveryState, code: str | None, reason: str | None,
    now: datetime,
) -> set[str]:  # fmt: skip
    """:func:`_move_by_provider` for many ids at once; the provider ids of the rows it moved."""
    if not provider_ids:
        return set()
    sources = (SENDING,) if state is DeliveryState.SENT else IN_FLIGHT
    d = DELIVERIES.c
    result = await (await session.connection()).execute(
        update(DELIVERIES)
        .where(_strings_in(session, d.provider_id, provider_ids), d.state.in_(sources))
        .values(**_receipt_values(state, code, reason, now))
        .returning(d.provider_id)
    )
    return {str(r[0]) for r in result}


def _reports_table(session: AsyncSession, reports: Sequence[Report]) -> Any:
    """(provider_id, state, error_code, reason) of ``reports`` as a derived table bound with a few parameters."""
    ids = [r.provider_id for r in reports]
    states = [r.state.value for r in reports]
    codes = [None if r.code is None else r.code[:40] for r in reports]
    reasons = [None if r.reason is None else r.reason[:300] for r in reports]
    if is_postgresql(session):
        return (
            func.unnest(
                *(bindparam(None, column, type_=postgresql.ARRAY(String)) for column in (ids, states, codes, reasons))
            )
            .table_valued("provider_id", "state", "error_code", "reason")
            .render_derived(name="given")
        )
    value: ColumnElement[Any] = literal_column("value")
    encoded = json.dumps(list(zip(ids, states, codes, reasons, strict=True)))
    return (
        select(
            *(
                func.json_extract(value, f"$[{i}]").label(n)
                for i, n in enumerate(("provider_id", "state", "error_code", "reason"))
            )
        )
        .select_from(func.json_each(bindparam(None, encoded)))
        .subquery("given")
    )


async def _keep_many(session: AsyncSession, reports: Sequence[Report], now: datetime) -> set[str]:
    """Keep those final ``reports`` that no delivery has the provider id of (one ``INSERT ... SELECT``); the ids
    kept. One already kept is not kept again: the first final receipt wins (as in :func:`receive`)."""
    if not reports:
        return set()
    e = EARLY.c
    given = _reports_table(session, reports)
    keep = select(
        given.c.provider_id, given.c.state, given.c.error_code, given.c.reason,
        bindparam("k_at", now, type_=e.received_at.type),
    ).where(~exists().where(DELIVERIES.c.provider_id == given.c.provider_id))  # fmt: skip
    insert = postgresql.insert(EARLY) if is_postgresql(session) else sqlite.insert(EARLY)
    kept = await (await session.connection()).execute(
        insert.from_select(["provider_id", "state", "error_code", "reason", "received_at"], keep)
        .on_conflict_do_nothing(index_elements=["provider_id"])
        .returning(e.provider_id)
    )
    return {str(r[0]) for r in kept}


async def receive_many(session: AsyncSession, reports: Sequence[Report], now: datetime) -> list[Receipt]:
    """Many provider receipts in the caller's transaction, with the guards of :func:`receive`; what became of
    each, in order. For the status callbacks' group commit (:mod:`alertsvc.tracking.callbacks`).

    The same rules hold as if each had been received alone, in order: per provider id, ``sent`` moves only a
    ``sending`` row (and is not applied once a final receipt for that id came before it); the first final receipt
    in arrival order is the one applied or kept, any later one changes nothing; a final receipt whose delivery is
    not recorded yet is kept. The work is a few statements whatever the number of receipts: one guarded
    ``UPDATE ... RETURNING`` for the ``sent`` ones, one per distinct (state, code, reason) of the finals (in a
    large alert: ``delivered``, and a few failure codes), one ``INSERT ... SELECT`` keeping those that moved
    nothing and match no delivery. On PostgreSQL the caller looks at the kept ones again after its commit
    (:func:`apply_kept_after_commit`), as for :func:`receive`.
    """
    for report in reports:
        if report.state is not DeliveryState.SENT and report.state not in RECEIPT_FINALS:
            raise ValueError(f"a provider receipt says sent, delivered, failed or undeliverable, not {report.state}")
    sent_first: dict[str, int] = {}  # provider id -> index of its sent report applied
    final_first: dict[str, int] = {}  # provider id -> index of its first final report
    for index, report in enumerate(reports):
        if report.state is DeliveryState.SENT:
            if report.provider_id not in final_first:
                sent_first.setdefault(report.provider_id, index)
        else:
            final_first.setdefault(report.provider_id, index)
    outcomes = [Receipt.UNCHANGED] * len(reports)
    moved_sent = await _move_returning(session, sorted(sent_first), DeliveryState.SENT, None, None, now)
    for provider_id in moved_sent:
        outcomes[sent_first[provider_id]] = Receipt.MOVED
    groups: dict[tuple[DeliveryState, str | None, str | None], list[str]] = defaultdict(list)
    for provider_id, index in final_first.items():
        report = reports[index]
        groups[(report.state, report.code, report.reason)].append(provider_id)
    moved: set[str] = set()
    for (state, code, reason), ids in groups.items():
        moved |= await _move_returning(session, sorted(ids), state, code, reason, now)
    waiting = [reports[i] for p, i in final_first.items() if p not in moved]
    kept = await _keep_many(session, waiting, now)
    # Neither moved nor kept: already kept, or (PostgreSQL) a record committed since the move looked: once more.
    again: dict[tuple[DeliveryState, str | None, str | None], list[str]] = defaultdict(list)
    for report in waiting:
        if report.provider_id not in kept:
            again[(report.state, report.code, report.reason)].append(report.provider_id)
    for (state, code, reason), ids in again.items():
        moved |= await _move_returning(session, sorted(ids), state, code, reason, now)
    for provider_id, index in final_first.items():
        if provider_id in moved:
            outcomes[index] = Receipt.MOVED
        elif provider_id in kept:
            outcomes[index] = Receipt.KEPT
    return outcomes


_ANY_KEPT = select(EARLY.c.provider_id).limit(1)


async def any_kept(session: AsyncSession) -> bool:
    """Whether any receipt is kept: when none is (the usual case), the record and the sweeper skip their take."""
    return (await (await session.connection()).execute(_ANY_KEPT)).first() is not None


async def drop_kept_before(session: AsyncSession, before: datetime) -> int:
    """Forget receipts kept since before ``before`` that no record claimed: their delivery will never be known."""
    result = await session.execute(delete(EarlyCallback).where(EarlyCallback.received_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def apply_all_kept(session: AsyncSession, now: datetime) -> int:
    """Every kept receipt whose delivery is now recorded is applied (the sweeper's net: see the docstring)."""
    return await apply_kept(session, None, now)

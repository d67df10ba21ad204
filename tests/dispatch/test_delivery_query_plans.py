"""The delivery queries of the hot path and the sweeper reach their rows through an index, on both databases.

Each real query (the store's own functions) runs with its SQL captured, then the database explains that SQL with
the same parameters. What this guards against, found on SQLite: the claim (``id IN (...) AND state = ?``) was
answered from an index led by ``state``, walking every queued row of every alert for each batch. The partial
indexes of migration 0003 are only usable when a query implies their predicate, which the plans below also check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from alertsvc.clock import utcnow
from alertsvc.dispatch.audience import Plan
from alertsvc.residents.optout import opt_out
from alertsvc.store.db import create_engine, session_factory
from alertsvc.store.migrate import upgrade
from alertsvc.store.models import PENDING_STATES_SQL, Alert, Contact, Delivery, Resident
from alertsvc.tracking import machine, pending
from alertsvc.tracking.callbacks import apply_twilio_status
from alertsvc.tracking.states import DeliveryState

ROWS = 3000


def test_the_partial_index_predicate_names_the_pending_states() -> None:
    assert f"state IN ('{DeliveryState.QUEUED.value}', '{DeliveryState.SENDING.value}')" == PENDING_STATES_SQL


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not many:
            statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)


async def _plan(connection: AsyncConnection, statement: str, parameters: Any) -> str:
    if connection.dialect.name == "sqlite":
        rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return "\n".join(str(row[-1]) for row in rows)
    rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return "\n".join(str(row[0]) for row in rows)


async def _seed(engine: AsyncEngine) -> None:
    """One alert with ROWS deliveries: most sent (with a provider id), a few queued."""
    now = utcnow()
    async with engine.begin() as connection:
        await connection.execute(
            insert(Alert).values(
                id="plan-alert", sender="s", identifier="i", sent_text="t", sent_at=now, status="Actual",
                msg_type="Alert", state="dispatching", cap={}, submitted_by="test",
            )
        )  # fmt: skip
        await connection.execute(
            insert(Resident),
            [{"id": i, "ref": f"r{i}", "lat": 0.0, "lon": 0.0, "language": "en"} for i in range(1, ROWS + 1)],
        )
        await connection.execute(
            insert(Contact),
            [{"id": i, "resident_id": i, "channel": "sms", "address": f"+1555{i:07d}"} for i in range(1, ROWS + 1)],
        )
        await connection.execute(
            insert(Delivery),
            [
                {
                    "id": i, "alert_id": "plan-alert", "contact_id": i, "resident_id": i, "channel": "sms",
                    "language": "en", "attempts": 1, "created_at": now, "updated_at": now,
                    "state": "queued" if i % 100 == 0 else "sent", "provider_id": None if i % 100 == 0 else f"SM{i}",
                }
                for i in range(1, ROWS + 1)
            ],
        )  # fmt: skip
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql("ANALYZE deliveries")


Work = Callable[[AsyncSession], Awaitable[object]]


async def _plan_of(engine: AsyncEngine, work: Work, marker: str) -> str:
    """Run ``work`` in a transaction, then explain its first statement containing ``marker``."""
    with captured(engine) as statements:
        async with session_factory(engine)() as session, session.begin():
            await work(session)
    statement, parameters = next(s for s in statements if marker in s[0])
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # A few thousand rows may be cheaper to scan than to look up; what is checked is that the index
            # can serve the query at all (a partial one only can when the query implies its predicate).
            await connection.exec_driver_sql("SET enable_seqscan = off")
        return await _plan(connection, statement, parameters)


async def _opt_out_400(session: AsyncSession) -> None:
    contact = await session.get(Contact, 400)
    assert contact is not None
    await opt_out(session, contact, "test", None, utcnow())


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A database at the newest schema, seeded by :func:`_seed`."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        await _seed(engine)
        yield engine
    finally:
        await engine.dispose()


async def test_hot_path_and_sweeper_queries_use_an_index(engine: AsyncEngine) -> None:
    now = utcnow()
    later = now + timedelta(seconds=1)
    claim = await _plan_of(engine, lambda s: machine.claim(s, [100, 200, 300], now), "UPDATE deliveries")
    if engine.dialect.name == "postgresql":
        assert "Seq Scan" not in claim, claim  # by id, or through the few pending rows: both look rows up
    else:
        assert "INTEGER PRIMARY KEY" in claim and "ix_deliveries" not in claim, claim

    stalled = await _plan_of(engine, lambda s: pending.stalled(s, later, later), "FROM deliveries")
    assert "ix_deliveries_pending_updated" in stalled, stalled

    callback = await _plan_of(
        engine, lambda s: apply_twilio_status(s, "SM7", "delivered", None, now), "UPDATE deliveries"
    )
    assert "ix_deliveries_provider_id" in callback, callback

    stop = await _plan_of(engine, _opt_out_400, "UPDATE deliveries")
    assert "ix_deliveries_pending_updated" in stop, stop


async def test_kept_receipts_are_taken_and_checked_through_indexes(engine: AsyncEngine) -> None:
    """The record's take of kept receipts (once per batch, on the hot path: in its transaction on SQLite, after
    its commit on PostgreSQL) looks its ids up by the key of ``early_callbacks`` and each delivery by provider id;
    so does a receipt's check before it is kept."""
    now = utcnow()
    keep = await _plan_of(
        engine, lambda s: machine.receive(s, "SM-none", DeliveryState.DELIVERED, now), "INSERT INTO early_callbacks"
    )
    assert "ix_deliveries_provider_id" in keep, keep
    pairs = [(7, "SM7"), (8, "SM-none")]
    if engine.dialect.name == "postgresql":
        sessions = session_factory(engine)
        take = await _plan_of(
            engine, lambda s: machine.apply_kept_after_commit(sessions, [p for _, p in pairs], now), "DELETE FROM"
        )
        key = "early_callbacks_pkey"
    else:
        take = await _plan_of(engine, lambda s: machine.record_sent(s, pairs, now), "DELETE FROM early_callbacks")
        key = "sqlite_autoindex_early_callbacks_1"
    assert key in take and "ix_deliveries_provider_id" in take, take


async def test_mark_sent_moves_only_sending_rows_each_with_its_own_provider_id(engine: AsyncEngine) -> None:
    """The batch update pairs each id with its own provider id and leaves rows another writer moved alone."""
    now = utcnow()
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        claimed = await machine.claim(session, [100, 200, 300, 400], now)
    assert sorted(c.id for c in claimed) == [100, 200, 300, 400]
    async with sessions() as session, session.begin():  # a fast callback got to 300 first
        await session.execute(update(Delivery).where(Delivery.id == 300).values(state="delivered"))
    pairs = [(400, "SM-d"), (100, "SM-a"), (200, "SM-b"), (300, "SM-c"), (7, "SM-not-sending")]
    plan = await _plan_of(engine, lambda s: machine.record_sent(s, pairs, now), "UPDATE deliveries")
    async with engine.connect() as connection:
        sent = await connection.execute(select(Delivery.id, Delivery.provider_id).where(Delivery.state == "sent"))
        rows = {int(i): provider for i, provider in sent}
        states = {int(i): state for i, state in await connection.execute(select(Delivery.id, Delivery.state))}
    assert {i: rows[i] for i in (100, 200, 400)} == {100: "SM-a", 200: "SM-b", 400: "SM-d"}
    assert states[300] == "delivered" and rows[7] == "SM7"  # neither was sending: both untouched
    assert states[500] == "queued"
    assert "Seq Scan" not in plan and "SCAN deliveries" not in plan, plan


async def test_plan_writes_each_column_as_given_and_skips_what_exists(engine: AsyncEngine) -> None:
    """Planned rows land with every column as the ORM would write it; an (alert, contact) already there is
    skipped and not returned, and the statement is the same whatever the number of rows."""
    now = utcnow()
    later = now + timedelta(hours=7, microseconds=123)

    def row(contact: int, **overrides: Any) -> Plan:
        base: dict[str, Any] = {
            "contact_id": contact, "resident_id": contact, "channel": "sms", "language": "fr-CA",
            "state": DeliveryState.QUEUED, "reason": None, "not_before": None,
        }  # fmt: skip
        return Plan(**{**base, **overrides})

    async with engine.begin() as connection:  # contacts 2991-3000 get no delivery from the seed's alert
        await connection.execute(delete(Delivery).where(Delivery.contact_id > 2990))
        if connection.dialect.name == "postgresql":  # the seed wrote its ids itself
            await connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('deliveries', 'id'), 5000)")
    rows = [
        row(5),  # exists already: skipped
        row(2995),
        row(2996, reason="held for quiet hours", not_before=later),
        row(2997, state=DeliveryState.SUPPRESSED, reason="opted out"),
        row(2998, channel="email", language="en"),
    ]
    with captured(engine) as statements:
        async with session_factory(engine)() as session, session.begin():
            created = await machine.plan(session, "plan-alert", rows, now)
            again = await machine.plan(session, "plan-alert", rows[1:3], now)
    assert again == []
    assert sorted((c.channel, c.state, c.held) for c in created) == [
        ("email", "queued", False), ("sms", "queued", False), ("sms", "queued", True), ("sms", "suppressed", False),
    ]  # fmt: skip
    inserts = {statement for statement, _ in statements if statement.startswith("INSERT INTO deliveries")}
    assert len(inserts) == 1, inserts  # two calls of different sizes, one statement
    async with engine.connect() as connection:
        found = {
            r.contact_id: r
            for r in await connection.execute(
                select(Delivery).where(Delivery.contact_id.in_([5, 2995, 2996, 2997, 2998]))
            )
        }
    assert {c.id for c in created} == {found[i].id for i in (2995, 2996, 2997, 2998)}
    assert (found[5].state, found[5].provider_id, found[5].language) == ("sent", "SM5", "en")  # untouched
    held = found[2996]
    assert (held.reason, held.next_attempt_at, held.language) == ("held for quiet hours", later, "fr-CA")
    assert found[2997].final_at == now and found[2997].state == "suppressed"
    assert found[2998].channel == "email" and found[2995].created_at == now and found[2995].attempts == 0

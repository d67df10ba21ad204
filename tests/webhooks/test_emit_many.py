"""A batch's webhook events with one read of the subscriptions (``webhooks.events.emit_many``), on SQLite and
PostgreSQL: the rows are those ``emit`` writes for each event in turn, in the same order; the webhooks are read
once a batch, not once an event; and the residents' answers' batch (``tracking.answers.answer_many``) reads them
once however many answers it records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.store.db import transaction
from alertsvc.store.models import Alert, Webhook, WebhookEvent
from alertsvc.tracking.acks import Answer
from alertsvc.tracking.answers import Answered, Open, Pending, answer_many
from alertsvc.webhooks.events import ACKNOWLEDGEMENT, ALERT_STATE, emit, emit_many
from tests.sql_counter import counting_statements
from tests.tracking.test_answer_batches import residents_with_deliveries
from tests.tracking.test_machine import new_alert

WEBHOOKS_READ = r"^SELECT .*\bFROM webhooks\b"


async def add_webhooks(runtime: Runtime) -> None:
    """One webhook each: answers only, states only, both, and both but removed (inactive)."""
    async with transaction(runtime.sessions) as session:
        for events, active in (
            (ACKNOWLEDGEMENT, True),
            (ALERT_STATE, True),
            (f"{ALERT_STATE},{ACKNOWLEDGEMENT}", True),
            (f"{ALERT_STATE},{ACKNOWLEDGEMENT}", False),
        ):
            session.add(Webhook(owner="t", url="http://127.0.0.1:9/x", secret="s", events=events, active=active))


async def queued(runtime: Runtime) -> list[tuple[int, str, dict[str, Any], str]]:
    """Every queued event in the order written: webhook, type, data, and the payload's type."""
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(WebhookEvent.webhook_id, WebhookEvent.event_type, WebhookEvent.payload, WebhookEvent.state)
            .order_by(WebhookEvent.id)
        )  # fmt: skip
        found = []
        for webhook_id, event_type, payload, state in rows:
            assert state == "pending" and payload["type"] == event_type and payload["created_at"]
            found.append((int(webhook_id), str(event_type), payload["data"], str(payload["type"])))
        return found


EVENTS: list[tuple[str, dict[str, Any]]] = [
    (ACKNOWLEDGEMENT if n % 3 else ALERT_STATE, {"alert_id": f"a-{n}", "n": n}) for n in range(12)
]


async def test_a_batch_queues_the_rows_emit_queues_event_by_event(runtime: Runtime) -> None:
    await add_webhooks(runtime)
    async with transaction(runtime.sessions) as session:
        one_by_one = [await emit(session, event_type, data) for event_type, data in EVENTS]
    written_apart = await queued(runtime)
    async with transaction(runtime.sessions) as session:
        await session.execute(delete(WebhookEvent))
    async with transaction(runtime.sessions) as session:
        assert await emit_many(session, EVENTS) == sum(one_by_one) == len(written_apart)
    assert await queued(runtime) == written_apart
    assert len(written_apart) == 2 * len(EVENTS)  # each type has two active webhooks; the removed one gets none


async def test_a_batch_reads_the_webhooks_once(runtime: Runtime) -> None:
    await add_webhooks(runtime)
    with counting_statements() as statements:
        async with transaction(runtime.sessions) as session:
            assert await emit_many(session, []) == 0
    assert statements.matching(WEBHOOKS_READ) == 0  # nothing to emit: nothing read
    with counting_statements() as statements:
        async with transaction(runtime.sessions) as session:
            assert await emit_many(session, EVENTS * 5) == 2 * len(EVENTS) * 5
    assert statements.matching(WEBHOOKS_READ) == 1, statements.sent


async def test_no_webhook_no_event(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        assert await emit_many(session, EVENTS) == 0
    assert await queued(runtime) == []


ANSWERS = 30


async def open_state(_session: object, _alert: Alert) -> Open:
    return Open()


async def test_a_batch_of_answers_reads_the_webhooks_once(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        alert_id = await new_alert(session)
    deliveries = [row[0] for row in await residents_with_deliveries(runtime, [alert_id], ANSWERS)]
    await add_webhooks(runtime)
    now = utcnow()
    pending = [Pending(d, Answer.HELP if n % 4 else Answer.SAFE, open_state, now) for n, d in enumerate(deliveries)]
    with counting_statements() as statements:
        outcomes = await runtime.write(answer_many, pending)
    assert all(isinstance(outcome, Answered) for outcome in outcomes)
    assert statements.matching(WEBHOOKS_READ) == 1, statements.sent
    events = [row for row in await queued(runtime) if row[1] == ACKNOWLEDGEMENT]
    assert len(events) == 2 * ANSWERS  # an event an answer for each of the two webhooks that subscribed
    assert {data["alert_id"] for _, _, data, _ in events} == {alert_id}

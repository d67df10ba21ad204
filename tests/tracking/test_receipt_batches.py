"""Status callbacks applied by group commit (``tracking.callbacks.ReceiptBatcher``, ``machine.receive_many``), on
SQLite and PostgreSQL: a batch ends exactly as the same receipts received one by one (the oracle is the
one-at-a-time path, ``machine.record_receipt``); concurrent callbacks share transactions and each is answered only
once its receipt is committed; callbacks are recorded while Redis is down, and signed ones are never limited per
address (only forged ones are)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from arq import ArqRedis
from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.store.db import transaction
from alertsvc.store.models import Contact, Delivery, EarlyCallback, Resident
from alertsvc.tracking import machine
from alertsvc.tracking.callbacks import receipt_batcher
from alertsvc.tracking.machine import Receipt, Report
from alertsvc.tracking.states import DeliveryState
from tests.tracking.test_hooks_and_links import post_signed
from tests.tracking.test_machine import ALL, new_alert, rows_in_every_state

S = DeliveryState
STATUS = "/hooks/twilio/status"


async def kept_by_prefix(runtime: Runtime, prefix: str) -> dict[str, tuple[str, str | None]]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(EarlyCallback.provider_id, EarlyCallback.state, EarlyCallback.error_code).where(
                EarlyCallback.provider_id.startswith(prefix)
            )
        )
        return {str(p).removeprefix(prefix): (str(s), c) for p, s, c in rows}


async def rows_by_prefix(runtime: Runtime, alert_ids: list[str]) -> list[tuple[str, str | None]]:
    """Each alert's rows in the order ``alert_ids`` lists the alerts (not by id: "machine-10" sorts before
    "machine-9", so two sides made across that boundary were once compared in different orders)."""
    found: list[tuple[str, str | None]] = []
    async with runtime.sessions() as session:
        for alert_id in alert_ids:
            rows = await session.execute(
                select(Delivery.state, Delivery.error_code).where(Delivery.alert_id == alert_id).order_by(Delivery.id)
            )
            found += [(str(s), c) for s, c in rows]
    return found


def random_reports(rng: random.Random, keys: list[str], count: int) -> list[tuple[str, S, str | None, str | None]]:
    """Receipts over ``keys`` (a suffix each side's provider ids share), repeats and contradictions included."""
    choices = [
        (S.SENT, None, None),
        (S.DELIVERED, None, None),
        (S.FAILED, "30008", "unknown error"),
        (S.UNDELIVERABLE, "30003", "unreachable"),
    ]
    return [(rng.choice(keys), *rng.choice(choices)) for _ in range(count)]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_batch_ends_as_the_same_receipts_received_one_by_one(runtime: Runtime, seed: int) -> None:
    rng = random.Random(seed)
    batch_alerts = [(await rows_in_every_state(runtime))[0] for _ in range(3)]
    single_alerts = [(await rows_in_every_state(runtime))[0] for _ in range(3)]
    # Key i names the i-th alert's row in one state on both sides, or an id no delivery has (kept, or not).
    keys = [f"{i}-{state}" for i in range(3) for state in ALL] + [f"unknown-{n}" for n in range(6)]

    def provider_id(side: list[str], key: str) -> str:
        if key.startswith("unknown-"):
            return f"SM-{side[0]}-{key}"
        index, state = key.split("-", 1)
        return f"SM-{side[int(index)]}-{state}"

    reports = random_reports(rng, keys, 120)
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        batched = await machine.receive_many(
            session, [Report(provider_id(batch_alerts, k), st, c, r) for k, st, c, r in reports], now
        )
    one_by_one = [
        await machine.record_receipt(runtime.sessions, provider_id(single_alerts, k), st, now, c, r)
        for k, st, c, r in reports
    ]
    assert batched == one_by_one
    assert await rows_by_prefix(runtime, batch_alerts) == await rows_by_prefix(runtime, single_alerts)
    assert await kept_by_prefix(runtime, f"SM-{batch_alerts[0]}-") == await kept_by_prefix(
        runtime, f"SM-{single_alerts[0]}-"
    )
    assert Receipt.KEPT in batched and Receipt.MOVED in batched and Receipt.UNCHANGED in batched


async def sent_deliveries(runtime: Runtime, count: int) -> dict[str, int]:
    """``count`` deliveries ``sent`` with a provider id each: {provider id: delivery id}."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        alert_id = await new_alert(session)
        found = {}
        for n in range(count):
            resident = Resident(ref=f"{alert_id}-{n}", lat=0.0, lon=0.0, language="en")
            session.add(resident)
            await session.flush()
            contact = Contact(resident_id=resident.id, channel="sms", address=f"+1514555{n:04d}", confirmed_at=now)
            session.add(contact)
            await session.flush()
            delivery = Delivery(
                alert_id=alert_id, contact_id=contact.id, resident_id=resident.id, channel="sms", state="sent",
                language="en", provider_id=f"SM{alert_id}x{n}", created_at=now, updated_at=now, sent_at=now,
            )  # fmt: skip
            session.add(delivery)
            await session.flush()
            found[delivery.provider_id] = delivery.id
    return found


async def state_of(runtime: Runtime, delivery_id: int) -> str:
    async with runtime.sessions() as session:
        return str(await session.scalar(select(Delivery.state).where(Delivery.id == delivery_id)))


async def test_concurrent_callbacks_share_transactions_and_each_is_answered_once_committed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    rows = await sent_deliveries(runtime, 150)
    batcher = receipt_batcher(runtime)
    before = batcher.batches

    async def deliver(sid: str) -> tuple[int, str]:
        answer = await post_signed(client, runtime, STATUS, {"MessageSid": sid, "MessageStatus": "delivered"})
        # Read at once, before anything else of this task runs: a 2xx must mean the receipt is committed.
        return answer.status_code, await state_of(runtime, rows[sid])

    results = await asyncio.gather(*(deliver(sid) for sid in rows))
    assert results == [(204, "delivered")] * len(rows)
    transactions = batcher.batches - before
    assert 0 < transactions < len(rows) / 3  # grouped: far fewer transactions than callbacks


@pytest.fixture
async def redis_down(runtime: Runtime) -> Any:
    """The runtime's Redis replaced by one at a port nobody listens on (restored afterwards, to be closed)."""
    real, real_url = runtime.redis, runtime.redis_url
    runtime.redis = ArqRedis(host="127.0.0.1", port=9, socket_connect_timeout=0.5)
    runtime.redis_url = "redis://127.0.0.1:9/0"
    try:
        yield
    finally:
        dead = runtime.redis
        runtime.redis, runtime.redis_url = real, real_url
        await dead.aclose()


async def test_callbacks_are_recorded_while_redis_is_down(
    client: httpx.AsyncClient, runtime: Runtime, redis_down: None
) -> None:
    rows = await sent_deliveries(runtime, 3)
    for sid, delivery_id in rows.items():
        answer = await post_signed(client, runtime, STATUS, {"MessageSid": sid, "MessageStatus": "delivered"})
        assert answer.status_code == 204
        assert await state_of(runtime, delivery_id) == "delivered"


async def test_signed_callbacks_are_never_limited_per_address_forged_ones_are(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from alertsvc.api.hooks import FORGED_RATE

    limit = int(FORGED_RATE.split("/")[0])
    forged = {"MessageSid": "SMforged", "MessageStatus": "delivered"}
    statuses = [
        (await client.post(STATUS, data=forged, headers={"X-Twilio-Signature": "AAAA"})).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [403] * limit and statuses[limit] == 429
    rows = await sent_deliveries(runtime, 1)
    ((sid, delivery_id),) = rows.items()
    signed = await post_signed(client, runtime, STATUS, {"MessageSid": sid, "MessageStatus": "delivered"})
    assert signed.status_code == 204  # the same address, over the forged limit: a signed callback still counts
    assert await state_of(runtime, delivery_id) == "delivered"


@pytest.mark.parametrize("sid", ["S" * 101, "SM\x00abc", "SM abc", "SMé"])
async def test_a_message_id_the_table_cannot_hold_is_422(client: httpx.AsyncClient, runtime: Runtime, sid: str) -> None:
    answer = await post_signed(client, runtime, STATUS, {"MessageSid": sid, "MessageStatus": "delivered"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "MessageSid"]

"""A Cancel racing its alert's fan-out, end to end: 2,000 residents over SMS through a real worker and the real
``twilio`` client to the Twilio stand-in, the Cancel posted through the HTTP API while the original's batches are
still queued and sending, on SQLite and PostgreSQL.

Everyone who received the original gets the Cancel, and only they; the originals not yet handed over end
``suppressed`` and never reach the stand-in; for every number, the original reached the stand-in before the Cancel.

Without the Cancel's wait for the originals in flight (``dispatch.fanout._cancel_referenced``), and the batches'
check of their alert's state before each send (``dispatch.send_window``), rows being sent were suppressed under
their batch: those residents got the warning and never the all-clear, or got the all-clear before the warning.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from alertsvc.app import create_app
from alertsvc.dispatch.worker import build_worker
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security.api_keys import create_key
from alertsvc.security.scopes import Scope
from alertsvc.store.models import Delivery
from standins.twilio_api import TwilioStandin
from tests.conftest import auth, make_settings, wait_for
from tests.factories import cap_alert
from tests.integration.test_crash_safety import ACK_LINK, PUBLIC_URL, ack_marker, add_residents, deliveries_of
from tests.running_worker import stop_worker

RESIDENTS = 2000
CANCEL_AFTER = 300
"""Originals at the stand-in when the Cancel is posted: well into the fan-out, far from its end."""


@pytest.fixture
async def wired(tmp_path: Path, database_url: str, clean_redis: str, twilio: TwilioStandin) -> AsyncIterator[Runtime]:
    settings = make_settings(
        tmp_path, database_url, clean_redis, sandbox=False, twilio_base_url=twilio.base_url,
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token, delivery_batch_size=100,
        sms_rate_per_second=400, job_timeout_s=20,
    )  # fmt: skip
    runtime = await open_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


async def _pending(runtime: Runtime, alert_id: str) -> int:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(Delivery.id).where(Delivery.alert_id == alert_id, Delivery.state.in_(["queued", "sending"]))
        )
        return len(list(rows))


async def test_a_cancel_mid_fanout_reaches_everyone_the_original_reached_and_nothing_goes_after_it(
    wired: Runtime, twilio: TwilioStandin
) -> None:
    await add_residents(wired, RESIDENTS)
    async with wired.sessions() as session, session.begin():
        key = await create_key(session, "race", frozenset({Scope("alerts:send"), Scope("alerts:read")}), actor="t")
    worker = build_worker(wired, poll_delay=0.01, cron_jobs=[])
    running = asyncio.create_task(worker.main())
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=wired)), base_url=PUBLIC_URL
        ) as client:
            created = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(key))
            assert created.status_code == 201, created.text
            original_id = created.json()["id"]
            await wait_for(lambda: _at_least(twilio, CANCEL_AFTER), within=30, interval=0.01)
            cancelled = await client.post(f"/api/v1/alerts/{original_id}/cancel", headers=auth(key))
            assert cancelled.status_code in (200, 201), cancelled.text
            cancel_id = cancelled.json()["id"]
            assert cancel_id != original_id

        async def settled() -> bool:
            cancel_rows = await deliveries_of(wired, cancel_id)
            return (
                await _pending(wired, original_id) == 0
                and bool(cancel_rows)
                and all(row.state != "queued" and row.state != "sending" for row in cancel_rows)
            )

        await wait_for(settled, within=60, interval=0.2)
    finally:
        await stop_worker(worker, running)

    originals = await deliveries_of(wired, original_id)
    cancels = await deliveries_of(wired, cancel_id)
    states = Counter(row.state for row in originals)
    assert set(states) <= {"sent", "suppressed"}, states
    assert states["suppressed"] > 0, f"the Cancel came too late to race the fan-out: {states}"
    assert states["sent"] >= CANCEL_AFTER, states

    # Which message at the stand-in is which delivery: each carries its own signed acknowledgement link.
    by_marker = {ack_marker(row.id): ("original", row.address) for row in originals}
    by_marker.update({ack_marker(row.id): ("cancel", row.address) for row in cancels})
    received: dict[tuple[str, str], list[float]] = defaultdict(list)
    for message in twilio.messages:
        link = ACK_LINK.search(message.body)
        assert link is not None and link.group(0) in by_marker, message.body
        kind, address = by_marker[link.group(0)]
        assert address == message.to
        received[(kind, address)].append(message.received_at)

    sent_originals = {row.address for row in originals if row.state == "sent"}
    reached = {address for kind, address in received if kind == "original"}
    assert reached == sent_originals  # nothing suppressed went out; everything recorded sent did
    assert all(len(received[("original", address)]) == 1 for address in reached)
    assert {row.state for row in cancels} == {"sent"}
    assert {row.address for row in cancels} == reached  # everyone who got the original, and only they
    late = [
        address
        for address in reached
        if len(received[("cancel", address)]) != 1
        or received[("cancel", address)][0] <= received[("original", address)][0]
    ]
    assert not late, f"{len(late)} numbers got the Cancel twice, never, or before the original: {late[:5]}"


async def _at_least(twilio: TwilioStandin, count: int) -> bool:
    return len(twilio.messages) >= count

"""Issue 21 end to end: a life-safety alert's messages overtake a big Test alert queued before it.

A real worker with the real Twilio adapter against the Twilio stand-in, the SMS channel limited to 50 messages a
second. A Test alert to 300 test recipients is sent first; once its messages are flowing, an Actual
Extreme/Immediate alert to 5 other residents. The stand-in's arrival times (``received_at``) show the 5 arriving
while most of the Test's messages are still to come. Without the lanes (every job one lane: mutation of
:func:`alertsvc.lanes.lane_for`) the 5 wait behind every queued Test batch and arrive last.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from alertsvc.app import create_app
from alertsvc.dispatch.worker import build_worker
from alertsvc.lanes import DEFERRED_KEY
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security.api_keys import create_key
from alertsvc.security.scopes import Scope
from standins.twilio_api import TwilioStandin
from tests.conftest import auth, make_settings
from tests.factories import SQUARE, add_resident, cap_alert
from tests.running_worker import stop_worker

TEST_RECIPIENTS = 300
LIFE_SAFETY = 5
RATE = 50.0
BATCH = 10
MAX_JOBS = 4
ELSEWHERE = "40.0,-80.0 40.0,-79.0 41.0,-79.0 41.0,-80.0 40.0,-80.0"
IN_ELSEWHERE = (40.5, -79.5)
IN_SQUARE = (45.5, -72.5)
IN_FLIGHT = MAX_JOBS * BATCH + int(RATE * 1.0)
"""Test messages that may still go first once the life-safety alert is in: the batches already running (their
rows claimed) and what the rate limit's lookahead plus one bulk batch had scheduled."""


@pytest.fixture
async def wired(tmp_path: Path, database_url: str, clean_redis: str) -> AsyncIterator[tuple[Runtime, TwilioStandin]]:
    async with TwilioStandin() as twilio:
        settings = make_settings(
            tmp_path, database_url, clean_redis, sandbox=False, twilio_base_url=twilio.base_url,
            twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token, sms_rate_per_second=RATE,
            delivery_batch_size=BATCH, worker_max_jobs=MAX_JOBS,
        )  # fmt: skip
        runtime = await open_runtime(settings)
        try:
            yield runtime, twilio
        finally:
            await runtime.close()


async def _wait(predicate: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def test_life_safety_messages_overtake_a_queued_test_alert(wired: tuple[Runtime, TwilioStandin]) -> None:
    runtime, twilio = wired
    for n in range(TEST_RECIPIENTS):
        await add_resident(runtime.sessions, *IN_SQUARE, sms=f"+1514600{n:04d}", test_recipient=True)
    urgent_numbers = {f"+1514700{n:04d}" for n in range(LIFE_SAFETY)}
    for number in sorted(urgent_numbers):
        await add_resident(runtime.sessions, *IN_ELSEWHERE, sms=number)
    async with runtime.sessions() as session, session.begin():
        key = await create_key(session, "lanes", frozenset({Scope("alerts:send")}), actor="test")
    worker = build_worker(runtime, poll_delay=0.01, cron_jobs=[])
    running = asyncio.create_task(worker.main())
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://testserver"
        ) as client:
            test_alert = cap_alert(status="Test", polygon=SQUARE)
            response = await client.post("/api/v1/alerts", json=test_alert, headers=auth(key))
            assert response.status_code == 201, response.text
            await _wait(lambda: len(twilio.messages) >= 30, 30, "the Test alert's messages never started")
            urgent = cap_alert(polygon=ELSEWHERE, severity="Extreme")
            assert urgent["info"][0]["urgency"] == "Immediate"
            submitted = time.monotonic()
            response = await client.post("/api/v1/alerts", json=urgent, headers=auth(key))
            assert response.status_code == 201, response.text
        total = TEST_RECIPIENTS + LIFE_SAFETY
        await _wait(lambda: len(twilio.messages) >= total, 60, "not every message arrived")
    finally:
        await stop_worker(worker, running)
    urgent_at = [m.received_at for m in twilio.messages if m.to in urgent_numbers]
    test_at = [m.received_at for m in twilio.messages if m.to not in urgent_numbers]
    assert len(urgent_at) == LIFE_SAFETY and len(test_at) == TEST_RECIPIENTS  # each once
    last_urgent = max(urgent_at)
    still_to_come = sum(t > submitted for t in test_at)
    overtaken = sum(t > last_urgent for t in test_at)
    print(
        f"life-safety: last of {LIFE_SAFETY} {last_urgent - submitted:.2f} s after submission; Test messages then"
        f" still to come: {still_to_come}, sent after the last life-safety one: {overtaken}"
    )
    assert still_to_come > 200  # the Test alert really was queued ahead
    assert overtaken >= still_to_come - IN_FLIGHT, (overtaken, still_to_come)


async def test_a_retried_life_safety_batch_keeps_its_lane(wired: tuple[Runtime, TwilioStandin]) -> None:
    """The provider fails the first sends (HTTP 500: transient); the retry job is deferred by its backoff and noted
    for promotion ahead of bulk work (:data:`alertsvc.lanes.DEFERRED_KEY`), then every message goes out.
    Enqueued in the bulk lane (mutation of the retry's ``lane=``) it is never noted."""
    runtime, twilio = wired
    twilio.fail_first, twilio.fail_status = LIFE_SAFETY, 500
    numbers = {f"+1514800{n:04d}" for n in range(LIFE_SAFETY)}
    for number in sorted(numbers):
        await add_resident(runtime.sessions, *IN_ELSEWHERE, sms=number)
    async with runtime.sessions() as session, session.begin():
        key = await create_key(session, "lanes-retry", frozenset({Scope("alerts:send")}), actor="test")
    worker = build_worker(runtime, poll_delay=0.01, cron_jobs=[])
    running = asyncio.create_task(worker.main())
    noted: set[str] = set()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://testserver"
        ) as client:
            urgent = cap_alert(polygon=ELSEWHERE, severity="Extreme")
            response = await client.post("/api/v1/alerts", json=urgent, headers=auth(key))
            assert response.status_code == 201, response.text
        deadline = time.monotonic() + 30
        while {m.to for m in twilio.messages} != numbers:
            assert time.monotonic() < deadline, "the retried messages never arrived"
            noted |= {m.decode() for m in await runtime.redis.zrange(DEFERRED_KEY, 0, -1)}
            await asyncio.sleep(0.02)
        deadline = time.monotonic() + 2
        while await runtime.redis.zcard(DEFERRED_KEY):  # promoted once due (the next poll), then forgotten
            assert time.monotonic() < deadline, "a due retry was never promoted"
            await asyncio.sleep(0.02)
    finally:
        await stop_worker(worker, running)
    assert len(twilio.refused) == LIFE_SAFETY
    assert noted and all(":r" in job_id for job_id in noted), noted  # deliver:<alert>:sms:<first id>:r<attempt>

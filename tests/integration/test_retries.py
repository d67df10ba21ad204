"""Retries proven end to end: a real fan-out through the HTTP API, a worker and the real ``twilio`` client talking
HTTP to the Twilio stand-in, on SQLite and PostgreSQL. A provider failing for a while then recovering gets every
message exactly once, after backoff; a 429 with ``Retry-After`` pauses the channel's shared rate limit, which every
worker reserves its slots from. With retries disabled (``next_attempt`` giving up at once) the first test fails.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from alertsvc.runtime import Runtime, open_runtime
from standins.twilio_api import TwilioStandin
from tests.conftest import make_settings
from tests.integration.test_crash_safety import add_residents, deliveries_of, submit_through_api
from tests.integration.test_fanout import run_worker

RESIDENTS = 20


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandin]:
    async with TwilioStandin() as api:
        yield api


@pytest.fixture
async def wired(tmp_path: Path, database_url: str, clean_redis: str, twilio: TwilioStandin) -> AsyncIterator[Runtime]:
    """A runtime whose worker sends SMS through the real Twilio client to the stand-in, at a shared 200/s."""
    settings = make_settings(
        tmp_path, database_url, clean_redis, sandbox=False, twilio_base_url=twilio.base_url,
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token, delivery_batch_size=10,
        sms_rate_per_second=200,
    )  # fmt: skip
    runtime = await open_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_a_provider_failing_then_recovering_delivers_each_message_once(
    wired: Runtime, twilio: TwilioStandin
) -> None:
    numbers = await add_residents(wired, RESIDENTS)
    twilio.fail_first = 25  # every message refused once or more with a 500, then the provider recovers
    alert_id = await submit_through_api(wired)
    started = time.monotonic()
    await run_worker(wired)
    rows = await deliveries_of(wired, alert_id)
    assert len(twilio.refused) == 25
    assert {row.state for row in rows} == {"sent"}, Counter(row.state for row in rows)
    received = Counter(message.to for message in twilio.messages)
    assert received == Counter(numbers)  # each exactly once
    assert {row.provider_id for row in rows} == {message.sid for message in twilio.messages}
    assert time.monotonic() - started >= 1.0  # the retries waited (backoff from 1-2 s), not sent at once


async def test_a_429_with_retry_after_holds_back_every_worker(wired: Runtime, twilio: TwilioStandin) -> None:
    await add_residents(wired, RESIDENTS)
    twilio.fail_first, twilio.fail_status, twilio.retry_after = 1, 429, 3
    await submit_through_api(wired)
    await run_worker(wired)
    assert len(twilio.refused) == 1
    # The refused message went again only after Retry-After (its own retry, and the channel's pause).
    refused_at = twilio.refused[0]
    assert max(message.received_at for message in twilio.messages) - refused_at >= 2.9
    assert len(twilio.messages) == RESIDENTS

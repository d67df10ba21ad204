"""Slow and silent providers, end to end: a real worker, the real ``twilio`` and ``aiosmtplib`` clients, and the
stand-ins of ``standins/`` in their fault modes, on SQLite and PostgreSQL (timeouts made small by settings).

* A Twilio that hangs on every call: every send times out, no job outlives the job timeout, and once it recovers
  every message goes out exactly once.
* A Twilio that takes a message and answers too late: the retry asks Twilio first (as the sweeper does for a dead
  worker's rows) and records the message it finds, so exactly one SMS reaches the stand-in.
* The same for e-mail, which cannot be asked: at-least-once, by choice (docs/architecture.md): the copy is sent
  again with the same ``Message-ID``, so a receiving system can drop it; every other recipient gets one.
* An SMTP relay slow enough to push a batch past the job timeout: the batch stops starting sends in time, records
  what went and leaves the rest to the next job, so no e-mail is sent twice (the stand-in counts copies per
  recipient per alert).

With retries disabled (``next_attempt`` giving up at once) the first three fail: the messages end ``failed``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from alertsvc.clock import utcnow
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.sweeper import sweep
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.store.models import Contact, Delivery, Resident
from standins.smtp_server import SmtpStandin
from standins.twilio_api import TwilioStandin
from tests.conftest import make_settings
from tests.integration.test_crash_safety import (
    add_residents,
    assert_exactly_once,
    deliveries_of,
    submit_through_api,
    until,
)
from tests.integration.test_fanout import run_worker

RESIDENTS = 20
PROVIDER_TIMEOUT_S = 0.5
JOB_TIMEOUT_S = 6


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpStandin]:
    async with SmtpStandin() as server:
        yield server


def _settings(tmp_path: Path, database_url: str, redis_url: str, **overrides: Any) -> Any:
    return make_settings(
        tmp_path, database_url, redis_url, sandbox=False, provider_timeout_s=PROVIDER_TIMEOUT_S,
        job_timeout_s=JOB_TIMEOUT_S, delivery_batch_size=10, **overrides,
    )  # fmt: skip


@pytest.fixture
async def sms_runtime(
    tmp_path: Path, database_url: str, clean_redis: str, twilio: TwilioStandin
) -> AsyncIterator[Runtime]:
    settings = _settings(
        tmp_path, database_url, clean_redis, twilio_base_url=twilio.base_url, twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token, sms_rate_per_second=200,
    )  # fmt: skip
    runtime = await open_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


async def add_email_residents(runtime: Runtime, count: int) -> list[str]:
    """``count`` residents inside the test alert's square, each with one confirmed e-mail address."""
    addresses = [f"resident{n}@example.org" for n in range(count)]
    now = utcnow()
    async with runtime.sessions() as session, session.begin():
        residents = [
            Resident(ref=f"mail-{n}", lat=45.1 + 0.8 * n / count, lon=-72.9 + 0.8 * (n % 17) / 17, language="en")
            for n in range(count)
        ]
        session.add_all(residents)
        await session.flush()
        session.add_all(
            Contact(resident_id=resident.id, channel="email", address=address, confirmed_at=now)
            for resident, address in zip(residents, addresses, strict=True)
        )
    return addresses


async def job_runs(runtime: Runtime) -> list[tuple[str, bool, float]]:
    """(function, success, seconds) of every job the worker ran (arq keeps their results)."""
    return [
        (result.function, result.success, (result.finish_time - result.start_time).total_seconds())
        for result in await runtime.redis.all_job_results()
    ]


async def test_a_provider_that_hangs_leaves_no_job_stuck_and_sends_each_message_once_it_recovers(
    sms_runtime: Runtime, twilio: TwilioStandin
) -> None:
    numbers = await add_residents(sms_runtime, RESIDENTS)
    twilio.hang_seconds = 3 * PROVIDER_TIMEOUT_S  # every call, sends and lookups alike, outlasts the client
    alert_id = await submit_through_api(sms_runtime)
    worker = asyncio.create_task(run_worker(sms_runtime))

    async def recover() -> None:
        await until(lambda: twilio.hung >= RESIDENTS, within=20)  # every message tried once, and timed out
        await asyncio.sleep(1.0)
        twilio.hang_seconds = 0

    async with asyncio.timeout(25):
        await asyncio.gather(worker, recover())
    rows = await deliveries_of(sms_runtime, alert_id)
    assert {row.state for row in rows} == {"sent"}, Counter(row.state for row in rows)
    assert_exactly_once(twilio, rows, numbers)
    runs = await job_runs(sms_runtime)
    delivers = [run for run in runs if run[0] == "deliver"]
    assert len(delivers) > RESIDENTS // 10  # the batches ran again after their timeouts
    assert all(success and seconds < JOB_TIMEOUT_S for _, success, seconds in delivers), delivers


async def test_an_sms_accepted_but_answered_too_late_is_looked_up_not_sent_again(
    sms_runtime: Runtime, twilio: TwilioStandin
) -> None:
    numbers = await add_residents(sms_runtime, RESIDENTS)
    twilio.stall_accepted, twilio.stall_seconds = 1, 4 * PROVIDER_TIMEOUT_S  # taken and listed; answer too late
    alert_id = await submit_through_api(sms_runtime)
    async with asyncio.timeout(25):
        await run_worker(sms_runtime)
    rows = await deliveries_of(sms_runtime, alert_id)
    assert {row.state for row in rows} == {"sent"}, Counter(row.state for row in rows)
    assert twilio.list_requests >= 1  # the retry asked Twilio before sending
    assert_exactly_once(twilio, rows, numbers)  # one SMS each; the stalled one recorded with the stand-in's sid


async def test_an_email_accepted_but_answered_too_late_is_sent_again_with_the_same_message_id(
    tmp_path: Path, database_url: str, clean_redis: str, smtp: SmtpStandin
) -> None:
    """E-mail has no lookup: at-least-once (a warning twice rather than never), one copy more, same Message-ID."""
    settings = _settings(tmp_path, database_url, clean_redis, smtp_url=smtp.url)
    runtime = await open_runtime(settings)
    try:
        addresses = await add_email_residents(runtime, RESIDENTS)
        smtp.stall_accepted, smtp.stall_seconds = 1, 4 * PROVIDER_TIMEOUT_S
        alert_id = await submit_through_api(runtime)
        async with asyncio.timeout(25):
            await run_worker(runtime)
        rows = await deliveries_of(runtime, alert_id)
    finally:
        await runtime.close()
    assert {row.state for row in rows} == {"sent"}, Counter(row.state for row in rows)
    copies = smtp.copies()
    assert {rcpt for rcpt, _ in copies} == set(addresses)  # one Message-ID per recipient: the same one twice
    assert sorted(copies.values()) == [1] * (RESIDENTS - 1) + [2]
    assert {row.provider_id for row in rows} == {message_id for _, message_id in copies}


async def test_an_smtp_relay_too_slow_for_the_job_timeout_sends_no_email_twice(
    tmp_path: Path, database_url: str, clean_redis: str, smtp: SmtpStandin
) -> None:
    """60 e-mails in one batch at ~8 a second (4 connections, 0.5 s a message) need ~7.5 s; the job has 5.

    Without the send window the job was cancelled at its timeout with most of the batch sent and none recorded;
    the sweeper later found them ``sending`` and, e-mail having no lookup, sent them all again.
    """
    count, job_timeout = 60, 5
    settings = make_settings(
        tmp_path, database_url, clean_redis, sandbox=False, smtp_url=smtp.url, provider_timeout_s=0.75,
        job_timeout_s=job_timeout, delivery_batch_size=count,
    )  # fmt: skip
    runtime = await open_runtime(settings)
    app = await WorkerContext.open(runtime)
    try:
        addresses = await add_email_residents(runtime, count)
        smtp.slow_all, smtp.slow_seconds = True, 0.5
        alert_id = await submit_through_api(runtime)
        started = time.monotonic()
        async with asyncio.timeout(40):
            await run_worker(runtime)
        # Whatever a killed job left ``sending`` is taken up by the sweeper once the job timeout has passed.
        async with runtime.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.alert_id == alert_id, Delivery.state == "sending")
                .values(updated_at=utcnow() - timedelta(seconds=job_timeout + 60))
            )
        await sweep({"app": app})
        async with asyncio.timeout(40):
            await run_worker(runtime)
        elapsed = time.monotonic() - started
        rows = await deliveries_of(runtime, alert_id)
        runs = await job_runs(runtime)
        async with runtime.sessions() as session:
            reasons = Counter(await session.scalars(select(Delivery.error_code).where(Delivery.alert_id == alert_id)))
    finally:
        await app.close()
        await runtime.close()
    copies = smtp.copies()
    twice = {key: n for key, n in copies.items() if n > 1}
    assert not twice, f"{len(twice)} e-mails sent more than once"
    assert {rcpt for rcpt, _ in copies} == set(addresses)
    assert {row.state for row in rows} == {"sent"}, Counter(row.state for row in rows)
    delivers = [run for run in runs if run[0] == "deliver"]
    assert len(delivers) >= 2, delivers  # the batch went over several jobs
    assert all(success and seconds < job_timeout for _, success, seconds in delivers), delivers
    assert reasons["deadline"] > 0  # rows were handed on to the next job, not cut off
    assert elapsed < 30

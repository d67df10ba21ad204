"""No status callback is lost, even one that comes before its send is recorded, on SQLite and PostgreSQL.

The Twilio stand-in here POSTs each message's status callbacks (``sent``, then ``delivered``, or a failure),
signed as Twilio signs them, to the service's real ``/hooks/twilio/status`` served over HTTP by uvicorn, and only
then answers the request that created the message: the worker learns a sid after its callbacks have come and gone.
A real fan-out goes through the HTTP API, a worker and the real ``twilio`` client. Before the state machine kept
such callbacks, every one of them matched no delivery, was answered 204 and lost; the deliveries stayed ``sent``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from aiohttp import web
from sqlalchemy import func, select

from alertsvc.app import create_app
from alertsvc.clock import utcnow
from alertsvc.dispatch.worker import build_worker
from alertsvc.embedded_redis import free_port
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.store.models import Contact, Delivery, EarlyCallback, Resident
from channels.base import Message
from channels.sms import TwilioSms
from standins._serve import start_app
from standins.twilio_api import CALLBACK_OUTCOMES, TwilioStandin
from tests.conftest import make_settings
from tests.integration.test_crash_safety import submit_through_api

NORMAL = 40
FAILING = {"+15005553005": ("undeliverable", "30005"), "+15005553008": ("failed", "30008")}
"""Stand-in numbers whose callback reports a failure: the state each must end in, and its error code."""


async def test_the_stand_in_reports_before_it_answers() -> None:
    """The mode itself: by the time ``send`` returns, both callbacks for its sid were POSTed and answered."""
    received: list[tuple[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        received.append((str(form["MessageSid"]), str(form["MessageStatus"])))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/twilio/status", handle)
    runner, port = await start_app(app)
    try:
        async with TwilioStandin(callbacks_before_answer=True) as api:
            sms = TwilioSms(
                account_sid=api.account_sid, auth_token=api.auth_token, from_="+15005550006", base_url=api.base_url
            )
            try:
                url = f"http://127.0.0.1:{port}/hooks/twilio/status"
                result = await sms.send(Message("sms", "+15551230000", "x", "d1", status_callback=url))
                assert received == [(result.provider_id, "sent"), (result.provider_id, "delivered")]
                assert [c.answer_status for c in api.callbacks] == [204, 204]
            finally:
                await sms.aclose()
    finally:
        await runner.cleanup()


@pytest.fixture
async def served(tmp_path: Path, database_url: str, clean_redis: str) -> AsyncIterator[tuple[Runtime, TwilioStandin]]:
    """The service on a real port (its public URL, so the signatures verify) and a stand-in that reports early."""
    port = free_port()
    async with TwilioStandin(callbacks_before_answer=True) as twilio:
        settings = make_settings(
            tmp_path, database_url, clean_redis, sandbox=False, public_url=f"http://127.0.0.1:{port}",
            twilio_base_url=twilio.base_url, twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token, delivery_batch_size=15,
        )  # fmt: skip
        runtime = await open_runtime(settings)
        server = uvicorn.Server(
            uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
        )
        serving = asyncio.create_task(server.serve())
        try:
            async with asyncio.timeout(20):
                while not server.started:
                    assert not serving.done(), "uvicorn did not start"
                    await asyncio.sleep(0.02)
            yield runtime, twilio
        finally:
            server.should_exit = True
            await serving
            await runtime.close()


async def add_recipients(runtime: Runtime, numbers: list[str]) -> None:
    """One resident inside the factories' square per number, with that confirmed SMS contact."""
    now = utcnow()
    async with runtime.sessions() as session, session.begin():
        residents = [
            Resident(ref=f"early-{n}", lat=45.2 + 0.01 * n, lon=-72.5, language="en") for n in range(len(numbers))
        ]
        session.add_all(residents)
        await session.flush()
        session.add_all(
            Contact(resident_id=resident.id, channel="sms", address=number, confirmed_at=now)
            for resident, number in zip(residents, numbers, strict=True)
        )


async def test_callbacks_that_come_before_the_send_is_recorded_are_applied_when_it_is(
    served: tuple[Runtime, TwilioStandin],
) -> None:
    runtime, twilio = served
    numbers = [f"+1438555{n:04d}" for n in range(NORMAL)] + list(FAILING)
    assert all(CALLBACK_OUTCOMES[number][1] == int(code) for number, (_, code) in FAILING.items())
    await add_recipients(runtime, numbers)
    alert_id = await submit_through_api(runtime)

    worker = build_worker(runtime, burst=True, poll_delay=0.01, cron_jobs=[])  # no sweeper: the record itself
    try:
        await worker.main()
    finally:
        await worker.close()

    # Every callback reached the service and was answered, each before its message's sid was known to the worker.
    assert len(twilio.messages) == len(numbers)
    alone = sum(CALLBACK_OUTCOMES[number][0] == "failed" for number in FAILING)  # no "sent" before a "failed"
    assert len(twilio.callbacks) == 2 * len(numbers) - alone
    assert {c.answer_status for c in twilio.callbacks} == {204}
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                select(Contact.address, Delivery.state, Delivery.error_code, Delivery.provider_id)
                .join(Contact, Contact.id == Delivery.contact_id)
                .where(Delivery.alert_id == alert_id)
            )
        ).all()
        kept = await session.scalar(select(func.count()).select_from(EarlyCallback))
    states = {address: state for address, state, _, _ in rows}
    assert len(rows) == len(numbers)
    assert {address for address, state in states.items() if state != "delivered"} == set(FAILING)
    assert {address: (state, code) for address, state, code, _ in rows if address in FAILING} == FAILING
    sids = {m.to: m.sid for m in twilio.messages}
    assert {address: sid for address, _, _, sid in rows} == sids
    assert kept == 0  # every kept callback was taken by its record

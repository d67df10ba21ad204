"""The sign-up form cannot be used to flood a subscribed person: repeated sign-ups for a contact that is subscribed
already get one "already subscribed" answer per contact in ten minutes (five sign-ups in a second used to send ten
messages), and the page answers the same whatever happened."""

from __future__ import annotations

import httpx

from alertsvc.dispatch.outbox import read_outbox
from alertsvc.residents.selfservice import ALREADY_SUBSCRIBED_EVERY
from alertsvc.runtime import Runtime
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker
from tests.selfservice.test_signup import signup

PHONE, MAIL = "+15145558301", "subscribed.person@example.org"


async def test_five_sign_ups_for_a_subscribed_person_send_one_answer_per_contact(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -73.57, sms=PHONE, email=MAIL)
    pages = [await signup(client, zone="Old Mill", sms=PHONE, email=MAIL) for _ in range(5)]
    assert {page.status_code for page in pages} == {200}
    await run_worker(runtime)
    sms = await read_outbox(runtime.redis, channel="sms", to=PHONE)
    mail = await read_outbox(runtime.redis, channel="email", to=MAIL)
    assert len(sms) == 1 and "already subscribed" in sms[0]["body"]
    assert len(mail) == 1 and "already subscribed" in mail[0]["body"]
    # The limit is per contact: another subscribed person signing up meanwhile is answered.
    await add_resident(runtime.sessions, 45.5, -73.57, sms="+15145558302")
    await signup(client, zone="Old Mill", sms="+15145558302")
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, channel="sms", to="+15145558302")) == 1
    # The window is kept in Redis for ten minutes, per contact id (no address in the key).
    keys = [key async for key in runtime.redis.scan_iter("alertsvc:already-subscribed:*")]
    assert len(keys) == 3 and not any(b"555" in key or b"@" in key for key in keys)
    for key in keys:
        assert 0 < await runtime.redis.ttl(key) <= ALREADY_SUBSCRIBED_EVERY.total_seconds()


async def test_a_new_contact_still_gets_its_confirmation(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await add_resident(runtime.sessions, 45.5, -73.57, sms=PHONE)
    await signup(client, zone="Old Mill", sms=PHONE)
    await signup(client, zone="Old Mill", sms=PHONE, email="new.address@example.org")
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, channel="sms", to=PHONE)) == 1
    confirmation = await read_outbox(runtime.redis, channel="email", to="new.address@example.org")
    assert len(confirmation) == 1 and "confirm" in confirmation[0]["body"]

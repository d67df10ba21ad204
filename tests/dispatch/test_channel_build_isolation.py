"""A message that cannot be built for one channel fails on that channel only, as ``failed`` (our text, not the
recipient's address): the SMS and push deliveries of the same alert are sent. Before, one render served every
channel and an e-mail build error was recorded as ``invalid_recipient`` (``undeliverable``) on all three."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from alertsvc.dispatch.worker import build_worker
from alertsvc.runtime import Runtime
from alertsvc.store.models import Contact, Delivery
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert

INSIDE = (45.5, -72.5)


async def test_an_email_build_failure_fails_the_email_only(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:send", "alerts:read")
    await add_resident(
        runtime.sessions, *INSIDE, sms="+15145551101", email="ann@example.org", push="ntfy://push.example.org/ann"
    )
    document = cap_alert()
    # The e-mail builder's own placeholder in the text: the e-mail cannot be built, the SMS and push can.
    document["info"][0]["description"] = "A gas main has ruptured. @@alertsvc-ack-text-9f3c@@"
    created = await client.post("/api/v1/alerts", json=document, headers=auth(key))
    assert created.status_code == 201, created.text
    worker = build_worker(runtime, burst=True, poll_delay=0.01, cron_jobs=[])
    try:
        await worker.main()
    finally:
        await worker.close()
    async with runtime.sessions() as session:
        query = select(Contact.channel, Delivery.state, Delivery.error_code)
        rows = await session.execute(query.join(Contact, Contact.id == Delivery.contact_id))
        found = {channel: (state, code) for channel, state, code in rows}
    assert found == {"sms": ("sent", None), "push": ("sent", None), "email": ("failed", "invalid_message")}

"""A permanent refusal ends ``undeliverable`` when the adapter says the recipient is unreachable, ``failed``
otherwise: ``dispatch/`` reads the adapter's flag, never a provider's code (the codes stay in ``channels/``)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from alertsvc.dispatch.worker import build_worker
from alertsvc.runtime import Runtime
from alertsvc.store.models import Contact, Delivery
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert

INSIDE = (45.5, -72.5)


async def test_undeliverable_when_the_recipient_is_unreachable_failed_otherwise(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:send", "alerts:read")
    addresses = {
        "+15005550004": ("undeliverable", "21610"),  # sandbox: unsubscribed at the carrier (opted_out_at_carrier)
        "+15005550001": ("undeliverable", "21211"),  # sandbox: not a phone number (invalid_address)
        "bounce@example.org": ("undeliverable", "smtp_550"),  # sandbox: mailbox unavailable (no_route)
        "ntfy://push.example.org/gone": ("failed", "http_410"),  # permanent, but not said to be the recipient's
        "+15145551101": ("sent", None),
    }
    for address in addresses:
        channel = "sms" if address.startswith("+") else "email" if "@" in address else "push"
        await add_resident(runtime.sessions, *INSIDE, **{channel: address})
    created = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(key))
    assert created.status_code == 201, created.text
    worker = build_worker(runtime, burst=True, poll_delay=0.01, cron_jobs=[])
    try:
        await worker.main()
    finally:
        await worker.close()
    async with runtime.sessions() as session:
        query = select(Contact.address, Delivery.state, Delivery.error_code)
        rows = await session.execute(query.join(Contact, Contact.id == Delivery.contact_id))
        found = {address: (state, code) for address, state, code in rows}
    assert found == addresses

"""The answer to a sign-up for a number that is already subscribed speaks the language of the page the person
used, not the stored language of the subscribed resident (who may be someone else, or have chosen another)."""

from __future__ import annotations

import httpx

from alertsvc.dispatch.outbox import read_outbox
from alertsvc.runtime import Runtime
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker
from tests.selfservice.test_signup import csrf_of


async def _signup(client: httpx.AsyncClient, language: str, phone: str) -> None:
    token = await csrf_of(client)
    page = await client.post(
        "/r/subscribe", data={"csrf": token, "zone": "Old Mill", "sms": phone}, headers={"Accept-Language": language}
    )
    assert page.status_code == 200, page.text


async def test_already_subscribed_answer_is_in_the_pages_language(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await add_resident(runtime.sessions, 45.5, -73.57, sms="+15145558401", language="fr")
    await add_resident(runtime.sessions, 45.5, -73.57, sms="+15145558402", language="en")
    await _signup(client, "en-US,en;q=0.8", "+15145558401")
    await _signup(client, "fr-CA", "+15145558402")
    await run_worker(runtime)
    english = await read_outbox(runtime.redis, channel="sms", to="+15145558401")
    french = await read_outbox(runtime.redis, channel="sms", to="+15145558402")
    assert len(english) == 1 and "already subscribed" in english[0]["body"]
    assert len(french) == 1 and "déjà abonné" in french[0]["body"]
    assert english[0]["body"].startswith(runtime.settings.service_name)

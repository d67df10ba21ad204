"""The console's tips page: tips by alias with their threads and never a contact, a reply relayed to the tipster
(CSRF-checked), and blocking for admins only."""

from __future__ import annotations

import re

import httpx

from alertsvc.dispatch.outbox import read_outbox
from alertsvc.runtime import Runtime
from tests.console.helpers import csrf_of
from tests.integration.test_fanout import run_worker
from tests.tracking.test_hooks_and_links import post_signed

NUMBER = "+15145557654"


async def tip(client: httpx.AsyncClient, runtime: Runtime, body: str) -> str:
    response = await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": NUMBER, "Body": body})
    return response.text


async def test_dispatchers_read_and_answer_tips_by_alias_only(
    dispatcher: httpx.AsyncClient, admin: httpx.AsyncClient, runtime: Runtime
) -> None:
    alias = re.search(r"Tip [0-9A-Z]{4}", await tip(dispatcher, runtime, "TIP graffiti on the bridge"))
    assert alias
    page = await dispatcher.get("/console/tips")
    assert page.status_code == 200
    assert alias.group(0) in page.text and "graffiti on the bridge" in page.text
    assert "5557654" not in page.text and 'href="/console/tips"' in page.text
    assert "/block\"" not in page.text  # a dispatcher cannot block
    tip_id = re.search(r'action="/console/tips/(\d+)/reply"', page.text).group(1)  # type: ignore[union-attr]
    forged = await dispatcher.post(f"/console/tips/{tip_id}/reply", data={"text": "hi", "csrf_token": "x"})
    assert forged.status_code == 403
    sent = await dispatcher.post(
        f"/console/tips/{tip_id}/reply", data={"text": "Thank you, we will look", "csrf_token": csrf_of(page.text)}
    )
    assert sent.status_code == 303
    await run_worker(runtime)
    outbox = await read_outbox(runtime.redis, channel="sms", to=NUMBER)
    assert len(outbox) == 1 and "Thank you, we will look" in outbox[0]["body"]
    assert "Thank you, we will look" in (await dispatcher.get("/console/tips")).text
    refused = await dispatcher.post(f"/console/tips/{tip_id}/block", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403
    admin_page = await admin.get("/console/tips")
    assert f'action="/console/tips/{tip_id}/block"' in admin_page.text
    blocked = await admin.post(f"/console/tips/{tip_id}/block", data={"csrf_token": csrf_of(admin_page.text)})
    assert blocked.status_code == 303
    assert "<Message>" not in await tip(dispatcher, runtime, "TIP again")  # dropped quietly
    assert "again" not in (await admin.get("/console/tips")).text

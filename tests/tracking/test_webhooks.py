"""Outbound webhooks: registration rules, signed timestamped events for state changes and acknowledgements,
retries after a failing receiver, and no private addresses unless allowed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import select

from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.webhook_pump import webhook_pump
from alertsvc.runtime import Runtime
from alertsvc.store.models import WebhookEvent
from alertsvc.webhooks.signing import HEADER, verify
from tests.conftest import KeyMaker, auth
from tests.factories import cap_alert


class Receiver:
    """A loopback HTTP endpoint recording what it is sent; answers 500 while ``failing``."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.failing = False
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        if self.failing:
            return web.Response(status=500)
        self.received.append((await request.read(), request.headers.get(HEADER, "")))
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    target.url = f"http://127.0.0.1:{port}/hook"
    yield target
    await runner.cleanup()


async def pump(runtime: Runtime) -> dict[str, int]:
    app = await WorkerContext.open(runtime)
    try:
        return await webhook_pump({"app": app})
    finally:
        await app.close()


async def test_private_urls_are_refused_by_default(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read")
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.1/x", "file:///etc/passwd", "http://user:pw@example.org/"):
        response = await client.post("/api/v1/webhooks", json={"url": url}, headers=auth(key))
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["loc"] == ["body", "url"]


async def test_events_are_signed_and_retried(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker, receiver: Receiver
) -> None:
    runtime.settings.webhook_allow_private = True
    key = await make_key("alerts:read", "alerts:write")
    created = await client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=auth(key))
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    listed = (await client.get("/api/v1/webhooks", headers=auth(key))).json()
    assert [hook["url"] for hook in listed] == [receiver.url] and "secret" not in listed[0]

    alert = (await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(key))).json()
    receiver.failing = True
    assert (await pump(runtime))["retry"] == 1
    async with runtime.sessions() as session, session.begin():
        for event in await session.scalars(select(WebhookEvent)):
            event.next_attempt_at = event.created_at  # make the retry due now
    receiver.failing = False
    assert (await pump(runtime))["sent"] == 1
    body, signature = receiver.received[0]
    assert verify(secret, body, signature)
    assert not verify("another-secret", body, signature)
    event: dict[str, Any] = json.loads(body)
    assert event["type"] == "alert.state"
    assert event["data"] == {"alert_id": alert["id"], "state": "pending_approval", "at": event["data"]["at"]}
    assert (await pump(runtime))["sent"] == 0  # delivered once, never again


async def test_unknown_event_type_is_refused(client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker) -> None:
    runtime.settings.webhook_allow_private = True
    key = await make_key("alerts:read")
    response = await client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["alert.exploded"]}, headers=auth(key)
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body", "events"], "msg": "unknown: alert.exploded"}]


async def test_a_webhook_is_removed_only_by_its_own_key(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    runtime.settings.webhook_allow_private = True
    owner, other = await make_key("alerts:read"), await make_key("alerts:read")
    created = (await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=auth(owner))).json()
    assert (await client.get("/api/v1/webhooks", headers=auth(other))).json() == []
    refused = await client.delete(f"/api/v1/webhooks/{created['id']}", headers=auth(other))
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.delete(f"/api/v1/webhooks/{created['id']}", headers=auth(owner))).status_code == 204
    [listed] = (await client.get("/api/v1/webhooks", headers=auth(owner))).json()
    assert (listed["id"], listed["active"]) == (created["id"], False)

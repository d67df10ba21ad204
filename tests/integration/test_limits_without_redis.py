"""The public rate limits when Redis does not answer (:mod:`alertsvc.http.ratelimit`), in process and quick: a
link we signed is let through (a resident answering must not be lost), anything else is refused with a truthful
503 (fail safe), never a 500. The same with real processes and a restarted Redis is in ``test_failing_parts``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from alertsvc.app import create_app
from alertsvc.embedded_redis import EmbeddedRedis, free_port
from alertsvc.http.ratelimit import LIMITER_WAIT_S
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security.api_keys import create_key
from alertsvc.security.links import LinkSigner
from alertsvc.security.manage_links import ManageLinkSigner
from alertsvc.security.scopes import Scope
from tests.conftest import auth, make_settings
from tests.factories import cap_alert
from tests.integration.test_crash_safety import SECRET, crash

UNKNOWN_ID = 987_654_321
"""A delivery, contact and resident id no row has: a link signed for it passes the limiter and then gets 404."""


@pytest.fixture
async def down(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, EmbeddedRedis]]:
    """A client of the app whose Redis answered at start and then died; the server, to start it again."""
    port = free_port()
    server = EmbeddedRedis(tmp_path / "redis", port=port, persist=False).start()
    runtime = await open_runtime(make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", server.url))
    crash(server)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, EmbeddedRedis(tmp_path / "redis", port=port, persist=False)
    finally:
        await runtime.close()


def link(purpose: str, ident: int = UNKNOWN_ID) -> str:
    return LinkSigner(SECRET, purpose).sign(ident)


def assert_refused_for_now(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_signed_links_pass_the_limiter_and_everything_else_waits_while_redis_is_down(
    down: tuple[httpx.AsyncClient, EmbeddedRedis],
) -> None:
    client, _ = down
    # Links we signed reach their route, which answers as it would with Redis up: no such delivery (404); an
    # unsubscribe of a contact that is not there is done already (200, as for any repeated tap).
    assert (await client.post(f"/a/{link('ack')}", data={"answer": "safe"})).status_code == 404
    assert (await client.get(f"/a/{link('ack')}")).status_code == 404
    assert (await client.post(f"/u/{link('unsubscribe')}")).status_code == 200
    assert (await client.get(f"/r/manage/{link('manage')}")).status_code == 404
    manage = ManageLinkSigner(SECRET).sign(UNKNOWN_ID, 0, datetime.now(UTC))  # the expiring format
    assert (await client.get(f"/r/manage/{manage}")).status_code == 404
    # A forged or truncated link, the sign-up and the resident pages cannot be counted: 503, not let through.
    forged = link("ack")[:-3] + "AAA"
    assert_refused_for_now(await client.post(f"/a/{forged}", data={"answer": "safe"}))
    assert_refused_for_now(await client.get("/a/1.x"))
    assert_refused_for_now(await client.get("/r/subscribe"))
    assert_refused_for_now(await client.post("/r/subscribe", data={"sms": "+14385550001"}))
    # An ack token is no unsubscribe token: it passes the limiter (it is ours) and the route refuses it.
    assert (await client.post(f"/u/{link('ack')}")).status_code == 404


async def test_the_limits_count_again_once_redis_is_back(down: tuple[httpx.AsyncClient, EmbeddedRedis]) -> None:
    client, again = down
    again.start()
    try:
        token = link("ack")
        answers = [(await client.get(f"/a/{token}")).status_code for _ in range(11)]
        assert answers == [404] * 10 + [429]  # LINK_RATE: ten a minute a link
        assert (await client.get("/a/1.x")).status_code == 404  # a forged link counts, and is refused by the route
    finally:
        again.stop()


@pytest.fixture
async def frozen(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """A client of the app whose Redis is frozen (SIGSTOP): connections open, nothing answers, as when the host
    stalls or a network path drops packets. Thawed (SIGCONT) and stopped at the end."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False).start()
    runtime = await open_runtime(make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", server.url))
    process = server._process
    assert process is not None
    process.send_signal(signal.SIGSTOP)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, runtime
    finally:
        process.send_signal(signal.SIGCONT)
        await runtime.close()
        server.stop()


async def test_a_frozen_redis_holds_no_request_longer_than_the_limiter_waits(
    frozen: tuple[httpx.AsyncClient, Runtime],
) -> None:
    client, _ = frozen
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(20):  # without a bound on the limiter's wait, these never end
        answered = await client.post(f"/a/{link('ack')}", data={"answer": "safe"})
        refused = await client.get("/r/subscribe")
    assert answered.status_code == 404  # through the limiter to the route
    assert_refused_for_now(refused)
    assert loop.time() - started < 2 * LIMITER_WAIT_S + 3  # one bounded wait each (the first hit that fails decides)


async def test_a_frozen_redis_does_not_hold_an_alert_submission(frozen: tuple[httpx.AsyncClient, Runtime]) -> None:
    client, runtime = frozen
    async with runtime.sessions() as session, session.begin():
        key = await create_key(session, "frozen", frozenset({Scope("alerts:send")}), actor="test")
    async with asyncio.timeout(10):
        response = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(key))
    assert response.status_code == 201, response.text  # committed: the sweeper enqueues it once Redis answers

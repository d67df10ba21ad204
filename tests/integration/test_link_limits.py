"""The links residents open from a message are limited per link, not per address: a carrier NAT puts thousands of
residents behind one address and they all answer the same alert within minutes, so 300 residents behind one address
are all recorded, while one link hammered is refused and an address still has a (generous) ceiling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import func, select

from alertsvc.api import problems
from alertsvc.http.ratelimit import LINK_ADDRESS_RATE, RETRY_AFTER_SECONDS, link_rate_limit
from alertsvc.runtime import Runtime
from alertsvc.security.links import LinkSigner
from alertsvc.store.models import Acknowledgement, Delivery
from tests.conftest import KeyMaker
from tests.factories import add_resident, cap_alert
from tests.integration.test_fanout import INSIDE, run_worker, send

RESIDENTS = 300


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the limits live in Redis; the answers' storage is tested on both backends elsewhere."""
    return f"sqlite+aiosqlite:///{tmp_path / 'alertsvc.sqlite3'}"


async def test_300_residents_behind_one_address_are_all_recorded(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:send", "alerts:read", "admin")
    for number in range(RESIDENTS):
        await add_resident(runtime.sessions, *INSIDE, sms=f"+1514555{number:04d}")
    await send(client, key, cap_alert())
    await run_worker(runtime)
    async with runtime.sessions() as session:
        ids = list(await session.scalars(select(Delivery.id)))
    assert len(ids) == RESIDENTS
    signer = LinkSigner(runtime.settings.signing_key(), "ack")
    for delivery_id in ids:  # every request from the one test client address, as behind a carrier NAT
        token = signer.sign(delivery_id)
        assert (await client.get(f"/a/{token}")).status_code == 200
        assert (await client.post(f"/a/{token}", data={"answer": "safe"})).status_code == 200
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Acknowledgement)) == RESIDENTS


async def test_one_link_hammered_is_refused_and_its_neighbours_are_not(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    signer = LinkSigner(runtime.settings.signing_key(), "ack")
    hammered, neighbour = signer.sign(10**9), signer.sign(10**9 + 1)  # well signed, no such delivery: 404
    answers = [(await client.post(f"/a/{hammered}", data={"answer": "safe"})).status_code for _ in range(11)]
    assert answers == [404] * 10 + [429]
    refused = await client.get(f"/a/{hammered}")
    assert refused.status_code == 429 and refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert (await client.get(f"/a/{neighbour}")).status_code == 404  # same address, another link: served
    unsubscribe = LinkSigner(runtime.settings.signing_key(), "unsubscribe").sign(10**9)
    assert [(await client.get(f"/u/{unsubscribe}")).status_code for _ in range(11)][-1] == 429
    manage = LinkSigner(runtime.settings.signing_key(), "manage").sign(10**9)
    assert [(await client.get(f"/r/manage/{manage}")).status_code for _ in range(11)][-1] == 429


def test_the_address_ceiling_is_generous_but_there() -> None:
    count, _, unit = LINK_ADDRESS_RATE.partition("/")
    assert unit == "minute" and 3_000 <= int(count) <= 60_000


@pytest.fixture
async def small_limits(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An app with one link route at 3 a link and 5 an address a minute: the ceiling, without 6,000 requests."""
    app = FastAPI()
    app.state.runtime = runtime
    problems.install(app)

    @app.get("/l/{token}", dependencies=[Depends(link_rate_limit("test-links", "3/minute", "5/minute"))])
    async def link(token: str) -> dict[str, str]:
        return {"token": token}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


async def test_the_address_ceiling_refuses_many_links_from_one_address(small_limits: httpx.AsyncClient) -> None:
    statuses = [(await small_limits.get(f"/l/t{number}")).status_code for number in range(6)]
    assert statuses == [200] * 5 + [429]
    other = await small_limits.get("/l/t9", headers={"X-Forwarded-For": "203.0.113.9"})
    assert other.status_code == 429  # X-Forwarded-For is not trusted from a direct client


async def test_a_link_refused_does_not_use_up_its_address(small_limits: httpx.AsyncClient) -> None:
    statuses = [(await small_limits.get("/l/same")).status_code for _ in range(6)]
    assert statuses == [200] * 3 + [429] * 3
    assert [(await small_limits.get(f"/l/t{number}")).status_code for number in range(2)] == [200, 200]

"""One refusal, mapped once per entry side: a client over a rate limit gets ``alertsvc.errors.RateLimited`` from
``security``, which the API answers as a 429 problem and the console and the resident pages as a 429 page, each
with ``Retry-After``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI

from alertsvc.api import problems
from alertsvc.http.ratelimit import RETRY_AFTER_SECONDS, rate_limit
from alertsvc.runtime import Runtime


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the limits live in Redis, the database plays no part."""
    return f"sqlite+aiosqlite:///{tmp_path / 'alertsvc.sqlite3'}"


@pytest.fixture
async def api_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An app with the API's problem handlers and one route allowed twice a minute."""
    app = FastAPI()
    app.state.runtime = runtime
    problems.install(app)

    @app.get("/limited", dependencies=[Depends(rate_limit("test-limited", "2/minute"))])
    async def limited() -> dict[str, bool]:
        return {"ok": True}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


async def test_the_api_answers_a_429_problem(api_client: httpx.AsyncClient) -> None:
    assert [(await api_client.get("/limited")).status_code for _ in range(2)] == [200, 200]
    refused = await api_client.get("/limited")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert refused.json() == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "too many requests; try again shortly",
        "errors": [],
    }


def _is_page(response: httpx.Response) -> bool:
    return response.headers["content-type"].startswith("text/html") and "<html" in response.text


async def test_the_console_answers_a_429_page(client: httpx.AsyncClient) -> None:
    for _ in range(30):  # console-login: 30/minute; without a CSRF token each is refused before any password check
        assert (await client.post("/console/login", data={"email": "a@b.example", "password": "x"})).status_code == 403
    refused = await client.post("/console/login", data={"email": "a@b.example", "password": "x"})
    assert refused.status_code == 429
    assert _is_page(refused) and "Too many attempts from your address" in refused.text
    assert refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert refused.headers["cache-control"] == "no-store"  # still a console page: its headers are there


async def test_the_resident_pages_answer_a_429_page_in_the_readers_language(client: httpx.AsyncClient) -> None:
    french = {"Accept-Language": "fr"}
    for _ in range(10):  # resident-signup: 10/hour; without a CSRF token each is refused before anything is stored
        assert (await client.post("/r/subscribe", data={"sms": "+15145550100"}, headers=french)).status_code == 403
    refused = await client.post("/r/subscribe", data={"sms": "+15145550100"}, headers=french)
    assert refused.status_code == 429
    assert _is_page(refused) and '<html lang="fr">' in refused.text and "Trop de demandes" in refused.text
    assert refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


async def test_the_links_in_messages_answer_a_429_page(client: httpx.AsyncClient) -> None:
    for _ in range(10):  # links: 10 a minute per link (LINK_RATE)
        assert (await client.get("/a/not-a-token")).status_code == 404
    refused = await client.get("/a/not-a-token")
    assert refused.status_code == 429
    assert _is_page(refused) and "Too many requests came from your address" in refused.text
    assert refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)

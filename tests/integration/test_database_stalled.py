"""A database that accepts connections and never answers (a partition, a stalled host: a black hole, the TCP proxy
of :mod:`tests.tcp_proxy` stalled) gets a truthful 503, never a 500, once the driver's wait runs out.

In process, with an engine whose asyncpg waits are bounded (connect: 2 s, each statement: 3 s). The service's own
engine (:func:`alertsvc.store.db.create_engine`) keeps asyncpg's defaults, 60 seconds to connect and no bound on a
statement: there a request on a pooled connection waits for good (its pre-ping never returns), which is left to
the owner of ``store/db.py`` (issue 17's report). What this proves is the answer once a wait runs out: 503.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from alertsvc.app import create_app
from alertsvc.embedded_redis import EmbeddedRedis, free_port
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.store.db import session_factory
from tests.conftest import auth, make_settings
from tests.integration.test_failing_parts import assert_unavailable, make_key, pg_url
from tests.tcp_proxy import TcpProxy

__all__ = ["pg_url"]  # the fixture, imported for pytest


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[str]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False).start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_a_database_that_never_answers_gets_503_and_then_serves_again(
    tmp_path: Path, pg_url: str, redis: str
) -> None:
    parsed = make_url(pg_url)
    runtime = await open_runtime(make_settings(tmp_path, pg_url, redis))  # migrates, directly
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        via = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        engine = create_async_engine(via, pool_pre_ping=True, connect_args={"timeout": 2, "command_timeout": 3})
        behind: Runtime = dataclasses.replace(runtime, engine=engine, sessions=session_factory(engine))
        try:
            key = await make_key(runtime, "alerts:read")
            transport = httpx.ASGITransport(app=create_app(runtime=behind))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=auth(key)) as http:
                assert (await http.get("/api/v1/alerts")).status_code == 200  # a pooled connection, through the proxy
                proxy.stall()
                loop = asyncio.get_running_loop()
                for _ in range(2):  # the pooled connection, then a new one
                    started = loop.time()
                    async with asyncio.timeout(30):
                        response = await http.get("/api/v1/alerts")
                    assert_unavailable(response, "GET /api/v1/alerts, the database a black hole")
                    assert loop.time() - started < 20
                async with asyncio.timeout(30):
                    ready = await http.get("/readyz")
                assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable: TimeoutError"
                proxy.restore()
                assert (await http.get("/api/v1/alerts")).status_code == 200
        finally:
            await engine.dispose()
            await runtime.close()

"""Shared fixtures: real Redis, real SQLite and PostgreSQL, the app over ASGI.

* Redis: ``REDIS_URL`` (or ``ALERTSVC_TEST_REDIS_URL``) when set, as in CI; otherwise a real embedded
  ``redis-server`` started for the session, exactly as ``alertsvc serve`` does.
* PostgreSQL: ``ALERTSVC_TEST_POSTGRES_URL`` (e.g. ``postgresql+asyncpg://root@127.0.0.1:5432/test``); when it
  is unset, 127.0.0.1:5432/test is tried once. Each test gets a database of its own, created and dropped here.
  Where no PostgreSQL answers, the PostgreSQL half of the storage tests is skipped with a message saying so.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis as redis_sync
from sqlalchemy.engine import make_url

from alertsvc.app import create_app
from alertsvc.embedded_redis import EmbeddedRedis
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security.api_keys import create_key
from alertsvc.security.scopes import Scope
from alertsvc.settings import Settings

DEFAULT_PG = "postgresql+asyncpg://root@127.0.0.1:5432/test"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_admin_url() -> str | None:
    url = os.environ.get("ALERTSVC_TEST_POSTGRES_URL")
    if url:
        return url
    parsed = make_url(DEFAULT_PG)
    return DEFAULT_PG if _port_open(parsed.host or "127.0.0.1", parsed.port or 5432) else None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("ALERTSVC_TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False) as server:
        yield server.url


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    client = redis_sync.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


async def _create_pg_database(admin_url: str) -> str:
    import asyncpg

    name = f"alertsvc_t_{uuid.uuid4().hex[:12]}"
    parsed = make_url(admin_url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password, database=parsed.database
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return parsed.set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(admin_url: str, url: str) -> None:
    import asyncpg

    parsed = make_url(admin_url)
    name = make_url(url).database
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password, database=parsed.database
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'alertsvc.sqlite3'}"
        return
    admin = postgres_admin_url()
    if admin is None and os.environ.get("ALERTSVC_REQUIRE_POSTGRES"):
        pytest.fail("ALERTSVC_REQUIRE_POSTGRES is set but no PostgreSQL answers")
    if admin is None:
        pytest.skip("PostgreSQL not reachable (set ALERTSVC_TEST_POSTGRES_URL): PostgreSQL storage tests skipped")
    url = await _create_pg_database(admin)
    try:
        yield url
    finally:
        await _drop_pg_database(admin, url)


def make_settings(tmp_path: Path, database_url: str, redis_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "database_url": database_url,
        "redis_url": redis_url,
        "sandbox": True,
        "public_url": "http://testserver",
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, clean_redis: str) -> Settings:
    return make_settings(tmp_path, database_url, clean_redis)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    active = await open_runtime(settings)
    try:
        yield active
    finally:
        await active.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


KeyMaker = Callable[..., Awaitable[str]]


@pytest.fixture
def make_key(runtime: Runtime) -> KeyMaker:
    """``await make_key("alerts:write", "alerts:read")`` -> a plain API key with those scopes."""

    async def maker(*scopes: str, name: str | None = None) -> str:
        async with runtime.sessions() as session, session.begin():
            return await create_key(
                session, name or f"key-{uuid.uuid4().hex[:8]}", frozenset(Scope(s) for s in scopes), actor="test"
            )

    return maker


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def cap_samples() -> Path:
    from tests.cap.samples import SAMPLES

    assert SAMPLES.is_dir(), f"CAP samples not found at {SAMPLES}; set ALERTSVC_CAP_SAMPLES"
    return SAMPLES


async def wait_for(predicate: Callable[[], Awaitable[bool]], within: float = 20.0, interval: float = 0.05) -> None:
    """Poll ``predicate`` until true, failing the test after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)

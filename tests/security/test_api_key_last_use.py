"""An API key's last use is written at most once a minute (``security.api_keys.authenticate_key``), on SQLite and
PostgreSQL: the key check of every request is a read; ``last_used_at`` is written when it is a minute old, once
however many requests arrive together, and once between processes that read the same stale time (the guarded
``UPDATE``), so the console's keys page is right to the minute."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security import api_keys
from alertsvc.security.api_keys import LAST_USE_STEP, authenticate_key, find_key, record_use
from alertsvc.settings import Settings
from alertsvc.store.db import transaction
from alertsvc.store.models import ApiKey
from tests.conftest import KeyMaker, auth
from tests.sql_counter import counting_statements

KEY_WRITE = r"^UPDATE api_keys\b"


async def last_used(runtime: Runtime, key: str) -> datetime | None:
    async with runtime.sessions() as session:
        return await session.scalar(select(ApiKey.last_used_at).where(ApiKey.key_hash == api_keys.hash_key(key)))


def clock_at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setattr(api_keys, "utcnow", lambda: when)


async def test_many_requests_within_a_minute_write_the_key_use_once(runtime: Runtime, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read")
    assert await last_used(runtime, key) is None
    before = utcnow()
    with counting_statements() as statements:
        principals = [await authenticate_key(runtime, key) for _ in range(10)]
        principals += await asyncio.gather(*(authenticate_key(runtime, key) for _ in range(20)))
    after = utcnow()
    assert all(p is not None and p.name.startswith("key:") for p in principals)
    assert statements.matching(KEY_WRITE) == 1, statements.sent
    stored = await last_used(runtime, key)
    assert stored is not None and before <= stored <= after


async def test_the_use_is_written_again_once_a_minute_has_passed(
    runtime: Runtime, make_key: KeyMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = await make_key("alerts:read")
    start = utcnow()
    clock_at(monkeypatch, start)
    assert await authenticate_key(runtime, key) is not None
    with counting_statements() as statements:
        clock_at(monkeypatch, start + LAST_USE_STEP - timedelta(seconds=1))
        assert await authenticate_key(runtime, key) is not None
        assert statements.matching(KEY_WRITE) == 0  # 59 s later: the stored time is right to the minute
        later = start + LAST_USE_STEP + timedelta(seconds=1)
        clock_at(monkeypatch, later)
        for _ in range(5):
            assert await authenticate_key(runtime, key) is not None
    assert statements.matching(KEY_WRITE) == 1
    assert await last_used(runtime, key) == later


async def test_another_process_writes_nothing_while_the_stored_use_is_recent(
    runtime: Runtime, settings: Settings, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:read")
    assert await authenticate_key(runtime, key) is not None
    written = await last_used(runtime, key)
    other = await open_runtime(settings)  # a second API process on the same database: a memo of its own
    try:
        with counting_statements() as statements:
            assert await authenticate_key(other, key) is not None
        assert statements.matching(KEY_WRITE) == 0
        assert statements.matching(r"^SELECT .*FROM api_keys") == 1
    finally:
        await other.close()
    assert await last_used(runtime, key) == written


async def test_processes_that_read_the_same_stale_time_write_it_once(runtime: Runtime, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read")
    async with runtime.sessions() as session:
        found = await find_key(session, key)
    assert found is not None and found.last_used_at is None
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        assert await record_use(session, found.id, now) is True
    async with transaction(runtime.sessions) as session:  # the second process, its read as stale as the first's
        assert await record_use(session, found.id, now + timedelta(seconds=5)) is False
    assert await last_used(runtime, key) == now
    async with transaction(runtime.sessions) as session:
        assert await record_use(session, found.id, now + LAST_USE_STEP + timedelta(seconds=1)) is True


async def test_unknown_and_revoked_keys_are_refused_and_write_nothing(runtime: Runtime, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read", name="to-revoke")
    async with transaction(runtime.sessions) as session:
        assert await api_keys.revoke_key(session, "to-revoke", actor="test")
    with counting_statements() as statements:
        assert await authenticate_key(runtime, key) is None
        assert await authenticate_key(runtime, api_keys.KEY_PREFIX + "not-a-key") is None
    assert statements.matching(KEY_WRITE) == 0
    assert await last_used(runtime, key) is None


async def test_api_requests_write_the_key_use_once(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:read")
    with counting_statements() as statements:
        for _ in range(8):
            response = await client.get("/api/v1/alerts/no-such-alert", headers=auth(key))
            assert response.status_code == 404, response.text
    assert statements.matching(KEY_WRITE) == 1
    assert await last_used(runtime, key) is not None

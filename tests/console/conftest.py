"""Console fixtures: one signed-in client per role, each with its own cookie jar."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from tests.conftest import make_settings
from tests.console.helpers import signed_in


@pytest.fixture
def settings(tmp_path, database_url: str, clean_redis: str) -> Settings:  # type: ignore[no-untyped-def]
    """Console tests compose Exercise alerts (they reach only test recipients) and follow them through the
    approval flow, so here every status needs an approver; the default policy is tested on its own."""
    return make_settings(
        tmp_path, database_url, clean_redis, approval_required_statuses=["Actual", "Exercise", "Test"]
    )


async def _client_for(runtime: Runtime, role: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as a new user with ``role``, closed after the test."""
    client, _ = await signed_in(runtime, role)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def dispatcher(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(runtime, "dispatcher"):
        yield client


@pytest.fixture
async def approver(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(runtime, "approver"):
        yield client


@pytest.fixture
async def admin(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(runtime, "admin"):
        yield client

"""Console fixtures: one signed-in client per role, each with its own cookie jar."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from alertsvc.runtime import Runtime
from tests.console.helpers import signed_in


@pytest.fixture
async def dispatcher(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    client, _ = await signed_in(runtime, "dispatcher")
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def approver(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    client, _ = await signed_in(runtime, "approver")
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def admin(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    client, _ = await signed_in(runtime, "admin")
    try:
        yield client
    finally:
        await client.aclose()

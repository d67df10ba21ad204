"""Stand-ins for the channel tests: started once per session on loopback, in the session's event loop."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from standins.push_endpoint import PushStandin
from standins.smtp_server import SmtpStandin
from standins.twilio_api import TwilioStandin

SLOW = 1.5
"""How long the stand-ins' slow recipients take; adapters under test get a much shorter timeout."""


@pytest.fixture(scope="session")
async def twilio_api() -> AsyncIterator[TwilioStandin]:
    async with TwilioStandin(slow_seconds=SLOW) as api:
        yield api


@pytest.fixture(scope="session")
async def smtp_server() -> AsyncIterator[SmtpStandin]:
    async with SmtpStandin(slow_seconds=SLOW) as server:
        yield server


@pytest.fixture(scope="session")
async def push_endpoint() -> AsyncIterator[PushStandin]:
    async with PushStandin(slow_seconds=SLOW) as endpoint:
        yield endpoint


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

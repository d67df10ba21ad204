"""The bare client libraries, driven as their own users would drive them: the yardstick both benchmarks measure by.

``bench/ceilings.py`` puts each channel adapter next to these, and ``bench/fanout.py`` runs them in processes of
their own beside the whole pipeline. Both must drive the library the same way (the stock ``twilio`` async client,
``aiosmtplib`` over a few persistent connections, apprise's ``async_notify``) or their "bare" figures would not
measure the same thing, so the senders and the loop that drives them (``run``) live here once.

Each sender is an async context manager yielding ``send(i)``, which delivers message number ``i`` (the number makes
the recipient), and closing what it opened on the way out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

FROM = "alerts@example.org"
"""The sender address of every e-mail, bare or through the pipeline (``ALERTSVC_EMAIL_FROM`` in the fan-out)."""
SMS_FROM = "+15005550006"

Send = Callable[[int], Awaitable[Any]]


async def run(count: int, concurrency: int, send: Send) -> float:
    """Messages per second for ``count`` sends with at most ``concurrency`` in flight; every send must succeed."""
    next_index = iter(range(count))

    async def worker() -> None:
        for i in next_index:
            await send(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


@asynccontextmanager
async def twilio_sender(base_url: str, body: str) -> AsyncIterator[Send]:
    """The stock twilio async client (``AsyncTwilioHttpClient``) against the Twilio stand-in at ``base_url``."""
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    from standins.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    http = AsyncTwilioHttpClient(timeout=10)
    client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=http)
    client.api.base_url = base_url
    messages = client.api.v2010.account.messages

    async def send(i: int) -> None:
        await messages.create_async(to=f"+1555{i:07d}", from_=SMS_FROM, body=body)

    try:
        yield send
    finally:
        await http.close()


@asynccontextmanager
async def smtp_sender(port: int, pool: int, data: bytes) -> AsyncIterator[Send]:
    """``aiosmtplib`` over ``pool`` persistent connections, each message taking a free one, sending ``data``."""
    import aiosmtplib

    connections: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
    for _ in range(pool):
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="example.org", timeout=10)
        await smtp.connect()
        connections.put_nowait(smtp)

    async def send(i: int) -> None:
        smtp = await connections.get()
        try:
            await smtp.sendmail(FROM, [f"r{i}@example.net"], data, mail_options=["BODY=8BITMIME"])
        finally:
            connections.put_nowait(smtp)

    try:
        yield send
    finally:
        while not connections.empty():
            await connections.get_nowait().quit()


@asynccontextmanager
async def apprise_sender(url: Callable[[int], str], title: str, body: str) -> AsyncIterator[Send]:
    """apprise's ``async_notify`` to ``url(i)``, a notifier a message (as a caller with one URL at a time does)."""
    import apprise

    async def send(i: int) -> None:
        notifier = apprise.Apprise()
        notifier.add(url(i))
        with await notifier.async_notify(body=body, title=title) as result:
            assert result.status == apprise.AppriseResultStatus.SUCCESS

    yield send

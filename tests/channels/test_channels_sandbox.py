"""Sandbox providers: the outbox records what was sent; magic recipients fail the documented way."""

from __future__ import annotations

from datetime import datetime

import pytest

from channels.base import Channel, ChannelError, Message, PermanentError, RateLimited, TransientError
from channels.sandbox import MAGIC_FAILURES, MemoryOutbox, sandbox_channels


async def test_outbox_records_entries_newest_first() -> None:
    outbox = MemoryOutbox()
    registry = sandbox_channels(outbox)
    assert set(registry) == {"sms", "email", "push"}
    assert all(isinstance(channel, Channel) for channel in registry.values())
    sms = await registry["sms"].send(Message("sms", "+15551230000", "first", "d1"))
    mail = await registry["email"].send(Message("email", "ann@example.org", "second", "d2", subject="S"))
    await registry["push"].send(Message("push", "ntfys://ntfy.example.org/t", "third", "d3"))
    items = outbox.items()
    assert [item["body"] for item in items] == ["third", "second", "first"]
    assert set(items[0]) == {"channel", "to", "subject", "body", "provider_id", "at"}
    assert sms.provider_id.startswith("SM") and mail.provider_id.startswith("<d2.")
    assert outbox.items(channel="email") == [items[1]]
    assert outbox.items(to="+15551230000")[0]["provider_id"] == sms.provider_id
    datetime.fromisoformat(items[0]["at"])


CASES = [(channel, key, kind) for channel, table in MAGIC_FAILURES.items() for key, (kind, _, _) in table.items()]


@pytest.mark.parametrize(("channel", "key", "kind"), CASES)
async def test_magic_recipients_fail_and_are_not_recorded(channel: str, key: str, kind: type[ChannelError]) -> None:
    to = {"sms": key, "email": f"{key}@example.org", "push": f"ntfys://push.example.org/{key}"}[channel]
    outbox = MemoryOutbox()
    with pytest.raises(kind) as caught:
        await sandbox_channels(outbox)[channel].send(Message(channel, to, "x", "d"))
    assert type(caught.value) in (PermanentError, TransientError, RateLimited)
    if kind is RateLimited:
        assert isinstance(caught.value, RateLimited) and caught.value.retry_after == 1.0
    assert outbox.items() == []


async def test_outbox_keeps_only_the_newest() -> None:
    outbox = MemoryOutbox(limit=2)
    channel = sandbox_channels(outbox)["sms"]
    for i in range(3):
        await channel.send(Message("sms", "+15551230000", str(i), str(i)))
    assert [item["body"] for item in outbox.items()] == ["2", "1"]

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
    common = {"channel", "to", "subject", "body", "provider_id", "at"}
    assert set(items[0]) == common | {"payload"}
    assert set(items[1]) == common | {"headers"}
    assert set(items[2]) == common | {"encoding", "segments"}
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


async def test_outbox_entries_hold_what_was_built() -> None:
    outbox = MemoryOutbox()
    registry = sandbox_channels(outbox, from_addr="alerts@city.example")
    await registry["sms"].send(Message("sms", "+15551230000", "x" * 161, "d1"))
    await registry["sms"].send(Message("sms", "+15551230000", "Crue ⚠", "d2"))
    await registry["email"].send(
        Message("email", "ann@example.org", "Montez à l'étage.\nMaintenant.", "d3", subject="Inondation : montez")
    )
    await registry["push"].send(Message("push", "ntfys://ntfy.example.org/t", "Go up.", "d4", subject="Flood"))
    push, mail, ucs2, gsm7 = outbox.items()
    assert (gsm7["encoding"], gsm7["segments"]) == ("gsm7", 2)
    assert (ucs2["encoding"], ucs2["segments"]) == ("ucs2", 1)
    headers = mail["headers"]
    assert headers.endswith("\r\n") and "\r\n\r\n" not in headers
    assert "From: alerts@city.example\r\n" in headers and "To: ann@example.org\r\n" in headers
    assert "Message-ID: <d3@city.example>" in headers and "Content-Transfer-Encoding: 8bit" in headers
    assert mail["subject"] == "Inondation : montez"
    assert mail["body"] == "Montez à l'étage.\nMaintenant."
    assert push["payload"] == {"title": "Flood", "body": "Go up."}


async def test_a_built_email_is_read_back_from_its_bytes() -> None:
    """The worker hands the sandbox the MIME bytes the SMTP adapter would send; subject and text come from them."""
    from channels.email_mime import ACK_LINK, UNSUBSCRIBE_LINK, EmailTemplate

    template = EmailTemplate.compile(
        from_addr="alerts@city.example", subject="Flood warning", text=f"Go up.\n{ACK_LINK}\n{UNSUBSCRIBE_LINK}\n"
    )
    mime = template.render(
        to="ann@example.org", reference="7", ack_link="https://x.example/a/t", unsubscribe_link="https://x.example/u/t"
    )
    outbox = MemoryOutbox()
    await sandbox_channels(outbox)["email"].send(Message("email", "ann@example.org", "", "7", subject="x", mime=mime))
    (entry,) = outbox.items()
    assert entry["subject"] == "Flood warning"
    assert entry["body"] == "Go up.\nhttps://x.example/a/t\nhttps://x.example/u/t"
    assert entry["headers"] == mime.split(b"\r\n\r\n", 1)[0].decode() + "\r\n"

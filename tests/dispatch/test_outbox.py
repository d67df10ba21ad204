"""The Redis sandbox outbox is searchable, like a provider's list of sent messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from alertsvc.dispatch.outbox import RedisOutbox, read_outbox
from channels.sandbox import SearchableOutbox


async def test_find_by_recipient_time_and_marker(clean_redis: str) -> None:
    redis = Redis.from_url(clean_redis)
    try:
        outbox = RedisOutbox(redis)
        assert isinstance(outbox, SearchableOutbox)
        now = datetime.now(UTC)
        old = {
            "channel": "sms",
            "to": "+1",
            "body": "x /a/tok1",
            "provider_id": "SM-old",
            "at": (now - timedelta(hours=1)).isoformat(),
        }
        new = {"channel": "sms", "to": "+1", "body": "y /a/tok2", "provider_id": "SM-new", "at": now.isoformat()}
        await outbox.record(old)
        await outbox.record(new)
        assert await outbox.find("sms", "+1", now - timedelta(minutes=1), "/a/tok2") == "SM-new"
        assert await outbox.find("sms", "+1", now - timedelta(minutes=1), "/a/tok1") is None  # too old
        assert await outbox.find("email", "+1", now - timedelta(hours=2), "/a/tok2") is None
        assert [e["provider_id"] for e in await read_outbox(redis, channel="sms")] == ["SM-new", "SM-old"]
    finally:
        await redis.aclose()

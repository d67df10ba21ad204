"""The sandbox providers' outbox, kept in Redis so the API can show what any worker process "sent"."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

OUTBOX_KEY = "alertsvc:sandbox:outbox"
OUTBOX_MAX = 100_000


class RedisOutbox:
    """An outbox sink for ``channels.sandbox``: newest first, capped at :data:`OUTBOX_MAX` entries; searchable,
    so the sandbox reconciles a crashed worker's messages exactly as Twilio's message list does."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def record(self, entry: dict[str, Any]) -> None:
        payload = json.dumps(entry, default=str)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(OUTBOX_KEY, payload)
            pipe.ltrim(OUTBOX_KEY, 0, OUTBOX_MAX - 1)
            await pipe.execute()

    async def find(self, channel: str, to: str, since: datetime, marker: str) -> str | None:
        """The provider id of an entry for ``channel``/``to`` recorded at or after ``since`` whose body holds
        ``marker`` (the sweeper's "did it go out before the crash?"); newest first, stopping at ``since``."""
        start, page = 0, 1000
        while True:
            raw: list[bytes] = await self._redis.lrange(OUTBOX_KEY, start, start + page - 1)  # type: ignore[misc]
            if not raw:
                return None
            for payload in raw:
                entry: dict[str, Any] = json.loads(payload)
                if datetime.fromisoformat(str(entry["at"])) < since:
                    return None
                if entry.get("channel") == channel and entry.get("to") == to and marker in (entry.get("body") or ""):
                    return str(entry["provider_id"])
            start += page


async def read_outbox(
    redis: Redis, channel: str | None = None, to: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest entries, optionally only one channel's or one recipient's."""
    items: list[dict[str, Any]] = []
    start, page = 0, 1000
    while len(items) < limit:
        raw: list[bytes] = await redis.lrange(OUTBOX_KEY, start, start + page - 1)  # type: ignore[misc]
        if not raw:
            break
        for payload in raw:
            entry: dict[str, Any] = json.loads(payload)
            if channel and entry.get("channel") != channel:
                continue
            if to and entry.get("to") != to:
                continue
            items.append(entry)
            if len(items) >= limit:
                break
        start += page
    return items

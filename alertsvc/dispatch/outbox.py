"""The sandbox providers' outbox, kept in Redis so the API can show what any worker process "sent"."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

OUTBOX_KEY = "alertsvc:sandbox:outbox"
OUTBOX_MAX = 100_000


class RedisOutbox:
    """An outbox sink for ``channels.sandbox``: newest first, capped at :data:`OUTBOX_MAX` entries."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def record(self, entry: dict[str, Any]) -> None:
        payload = json.dumps(entry, default=str)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(OUTBOX_KEY, payload)
            pipe.ltrim(OUTBOX_KEY, 0, OUTBOX_MAX - 1)
            await pipe.execute()


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

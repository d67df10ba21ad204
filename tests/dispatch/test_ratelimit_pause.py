"""A provider's ``Retry-After`` pauses a channel's shared rate limit for every worker: a reservation made by
another limiter (another worker process, same Redis) after the pause begins only when the pause ends."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from alertsvc.dispatch.ratelimit import RateLimiter


async def test_a_pause_holds_back_another_workers_reservations(clean_redis: str) -> None:
    first, second = aioredis.Redis.from_url(clean_redis), aioredis.Redis.from_url(clean_redis)
    try:
        worker_a, worker_b = RateLimiter(first, "sms", 100), RateLimiter(second, "sms", 100)
        before = await worker_b.reserve(1)
        assert before.first_at - time.monotonic() < 0.2
        paused_at = time.monotonic()
        await worker_a.pause(1.0)
        after = await worker_b.reserve(1)  # a bulk reservation waits for the lookahead first: count from the pause
        assert after.first_at - paused_at >= 0.99
        await worker_a.pause(0.1)  # a shorter pause never brings the schedule forward
        assert (await worker_b.reserve(1)).first_at >= after.first_at
    finally:
        await first.aclose()
        await second.aclose()

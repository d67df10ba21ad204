"""The shared rate limit, on a real Redis: never more than R sends in any one-second window, even with two
limiters on separate connections (two workers), and at least 0.95 R reached."""

from __future__ import annotations

import asyncio
import bisect
import time

from redis.asyncio import Redis

from alertsvc.dispatch.ratelimit import RateLimiter

RATE = 50.0


async def _worker(url: str, sends: list[float], batches: int, batch: int) -> None:
    redis = Redis.from_url(url)
    limiter = RateLimiter(redis, "sms-test", RATE, namespace=f"t{id(sends)}")
    try:
        for _ in range(batches):
            reservation = await limiter.reserve(batch)
            for index in range(batch):
                await reservation.wait_for(index)
                sends.append(time.monotonic())
    finally:
        await redis.aclose()


def max_in_any_window(stamps: list[float], width: float = 1.0) -> int:
    stamps = sorted(stamps)
    return max(bisect.bisect_left(stamps, t + width) - i for i, t in enumerate(stamps))


async def test_two_workers_never_exceed_the_rate(clean_redis: str) -> None:
    sends: list[float] = []
    await asyncio.gather(*(_worker(clean_redis, sends, batches=6, batch=15) for _ in range(2)))
    assert len(sends) == 180
    assert max_in_any_window(sends) <= RATE
    achieved = (len(sends) - 1) / (max(sends) - min(sends))
    assert achieved >= 0.95 * RATE, achieved

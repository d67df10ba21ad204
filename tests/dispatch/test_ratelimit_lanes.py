"""The shared rate limit and the lanes (issue 21): bulk batches in flight cannot push a life-safety batch's slots
far back, and the limit is still never exceeded.

Eight bulk batches of about a second each (eight deliver jobs of a Test alert, two workers of four jobs) reserve
first; then one life-safety message. Before the fix each bulk batch was handed its slots at once and the
life-safety message's slot began after all of them (8.3 s later); now it begins after at most one bulk batch
and the lookahead.
"""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

from redis.asyncio import Redis

from alertsvc.dispatch.ratelimit import BULK_LOOKAHEAD_S, RateLimiter, Reservation
from alertsvc.lanes import Lane

RATE = 100.0
BATCH = 100  # about 1.04 s at the rate less the headroom


def _overlaps(reservations: list[Reservation]) -> bool:
    spans = sorted((r.first_at, r.slot_at(r.n)) for r in reservations)
    return any(later[0] < earlier[1] - 1e-3 for earlier, later in pairwise(spans))


async def test_bulk_batches_in_flight_do_not_push_a_life_safety_batch_back(clean_redis: str) -> None:
    redis_a, redis_b = Redis.from_url(clean_redis), Redis.from_url(clean_redis)
    try:
        workers = [RateLimiter(redis_a, "sms", RATE), RateLimiter(redis_b, "sms", RATE)]
        bulk_done: list[Reservation] = []

        async def bulk_job(limiter: RateLimiter) -> None:
            bulk_done.append(await limiter.reserve(BATCH, Lane.BULK))

        bulk = [asyncio.create_task(bulk_job(workers[i % 2])) for i in range(8)]
        await asyncio.sleep(0.1)  # every bulk job has asked for its slots
        asked = time.monotonic()
        urgent = await workers[1].reserve(1, Lane.LIFE_SAFETY)
        wait = urgent.first_at - asked
        one_batch = BATCH * workers[0].interval
        assert wait <= one_batch + BULK_LOOKAHEAD_S + 0.1, f"life-safety slot {wait:.2f} s away"
        # bulk still gets every slot it asked for, after the life-safety one, without overlapping anything
        await asyncio.wait_for(asyncio.gather(*bulk), timeout=8 * one_batch + 5)
        assert len(bulk_done) == 8
        assert not _overlaps([*bulk_done, urgent])
        assert sum(r.first_at > urgent.first_at for r in bulk_done) >= 6
    finally:
        await redis_a.aclose()
        await redis_b.aclose()


async def test_a_lone_bulk_job_keeps_the_channel_at_full_rate(clean_redis: str) -> None:
    """Waiting for the lookahead must not leave gaps: back-to-back bulk batches are scheduled end to end."""
    redis = Redis.from_url(clean_redis)
    try:
        limiter = RateLimiter(redis, "sms", RATE)
        first = await limiter.reserve(50, Lane.BULK)
        second = await limiter.reserve(50, Lane.BULK)  # waits until the first is nearly done, then follows it
        assert abs(second.first_at - first.slot_at(50)) < 0.01
    finally:
        await redis.aclose()

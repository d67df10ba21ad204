"""A rate limit per channel shared by every worker: slots reserved in Redis, spaced exactly 1/R apart.

``limits`` has no token bucket that can hand out *spaced* slots to several processes, so this is a small Lua
script of our own (generic cell rate algorithm, virtual scheduling). Redis holds one number per channel, the
"theoretical arrival time" (TAT) of the next free slot, in Redis' own clock; a worker reserves ``n`` slots at once
and is told how long to wait for the first. Message ``i`` of the reservation goes out at ``first + i/R``, so the
sends of all workers together are spaced 1/R apart and no one-second window ever holds more than R of them.
Redis' ``TIME`` is the single clock, so worker clocks never matter.

Slots are spaced for :data:`HEADROOM` of the configured rate: each worker turns Redis' answer into its own clock
with an error of a round trip, and 4 % of slack (about 40 ms a second) keeps that jitter, and the provider's own
scheduling of what it receives, from ever fitting an extra
message into a one-second window, while the rate reached (0.96 R) stays above 0.95 R.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from redis.asyncio import Redis

HEADROOM = 0.96

_RESERVE = """
local interval = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local first = tat
tat = tat + n * interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 60000)
return first - now
"""


@dataclass(frozen=True, slots=True)
class Reservation:
    """``n`` send slots: slot ``i`` starts at ``first_at + i * interval`` (monotonic clock of this process)."""

    first_at: float
    interval: float
    n: int

    def slot_at(self, index: int) -> float:
        return self.first_at + index * self.interval

    async def wait_for(self, index: int) -> None:
        delay = self.slot_at(index) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class RateLimiter:
    """Reserves send slots for a channel at ``per_second`` messages per second, across all workers."""

    def __init__(self, redis: Redis, channel: str, per_second: float, namespace: str = "alertsvc") -> None:
        if per_second <= 0:
            raise ValueError("a rate limit must be positive")
        self.key = f"{namespace}:ratelimit:{channel}"
        self.interval = 1.0 / (per_second * HEADROOM)
        self._redis = redis
        self._script = redis.register_script(_RESERVE)

    async def reserve(self, n: int) -> Reservation:
        """Reserve ``n`` consecutive slots; the first may lie in the future."""
        before = time.monotonic()
        delay_us = int(await self._script(keys=[self.key], args=[int(self.interval * 1_000_000), n]))
        return Reservation(first_at=before + delay_us / 1_000_000, interval=self.interval, n=n)

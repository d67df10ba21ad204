"""A rate limit per channel shared by every worker: slots reserved in Redis, spaced exactly 1/R apart.

``limits`` has no token bucket that can hand out *spaced* slots to several processes, so this is a small Lua
script of our own (generic cell rate algorithm, virtual scheduling). Redis holds one number per channel, the
"theoretical arrival time" (TAT) of the next free slot, in Redis' own clock; a worker reserves ``n`` slots at once
and is told when the first one begins. Message ``i`` of the reservation goes out at ``first + i/R``, so the
sends of all workers together are spaced 1/R apart and no one-second window ever holds more than R of them.
Redis' ``TIME`` is the single clock, so worker clocks never matter.

Each worker maps Redis' clock onto its own as NTP does (:class:`RedisClock`): Redis read its clock somewhere
within our round trip to it, so the mapping is good to half that round trip, and the worker keeps the reading
from its *tightest* recent round trip rather than the latest. A slot is then known to a fraction of a
millisecond even when one reservation's round trip was slow because the event loop was busy; taking that one
round trip as the uncertainty made every slot of its batch look late, and each was given up for a new slot at
the back of the queue (measured: two workers on PostgreSQL reached 0.86-0.92 R instead of 0.96 R).

Slots are spaced for :data:`HEADROOM` of the configured rate: a send may go out up to ``1 / HEADROOM - 1`` of a
second (about 40 ms) after its slot without ever fitting an extra message into a one-second window, which covers
the clock mapping's error, the sender's own lateness (``LATE_TOLERANCE_S`` in ``deliver``) and the network, while
the rate reached (0.96 R) stays above 0.95 R.

**Lanes** (:mod:`alertsvc.lanes`). A deliver job reserves its whole batch (about two seconds of sending) at once,
and every worker runs up to ``ALERTSVC_WORKER_MAX_JOBS`` (16) jobs: bulk batches alone used to push the next free
slot 16 x 2 s per worker into the future, and a life-safety batch, however early its job started, got its slots
behind all of them (measured below: 8 bulk batches of 1 s put a life-safety message 8.3 s back). Now a bulk
reservation is admitted only while the next free slot is at most :data:`BULK_LOOKAHEAD_S` away (else it waits,
holding nothing, and asks again); a life-safety one is always admitted. So bulk keeps the channel busy at the
full rate, and a life-safety batch waits for at most one bulk batch already reserved plus the lookahead. Slots
already handed out are never taken back: the limit itself is never exceeded.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from alertsvc.lanes import Lane

HEADROOM = 0.96
BULK_LOOKAHEAD_S = 0.5
"""A bulk reservation waits until the channel's next free slot is this close: the schedule never holds more than
one bulk batch beyond it, for a life-safety batch to wait behind. Long enough that a waiting bulk job always asks
again before the channel runs dry (it wakes ``BULK_LOOKAHEAD_S`` before the schedule's end)."""

_RESERVE = """
local interval = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local lookahead = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if lookahead >= 0 and tat - now > lookahead then
  return {-1, now, tat}
end
local first = tat
tat = tat + n * interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 60000)
return {first, now}
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < until_ then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', math.ceil((until_ - now) / 1000) + 60000)
end
return until_
"""
"""Push the next free slot to ``Retry-After`` from now (never earlier than it already is)."""

CLOCK_DRIFT = 5e-4
"""How fast a kept clock reading loses precision, in seconds per second: 500 ppm, the most NTP slews a clock by
(``TIME`` is Redis' wall clock), so a newer reading with a somewhat wider round trip soon replaces an old one."""


@dataclass(frozen=True, slots=True)
class _ClockReading:
    offset: float
    """Redis' clock minus this process's monotonic clock, in seconds."""
    error: float
    """Half the round trip the reading was taken in: the offset is exact to within this."""
    taken_at: float

    def error_at(self, moment: float) -> float:
        return self.error + max(0.0, moment - self.taken_at) * CLOCK_DRIFT

    def agrees_with(self, newer: _ClockReading) -> bool:
        """Whether both readings can be true at once: if not, Redis' clock stepped (or another Redis answers),
        and the newer reading, however loose, is the one to trust."""
        return abs(newer.offset - self.offset) <= newer.error + self.error_at(newer.taken_at)


class RedisClock:
    """This process's view of Redis' clock, from the tightest recent round trip that agrees with the latest."""

    __slots__ = ("_reading",)

    def __init__(self) -> None:
        self._reading: _ClockReading | None = None

    def observe(self, sent_at: float, received_at: float, redis_now: float) -> None:
        """Record that Redis read ``redis_now`` (its seconds) between ``sent_at`` and ``received_at`` (ours)."""
        error = (received_at - sent_at) / 2
        reading = _ClockReading(redis_now - (sent_at + error), error, received_at)
        current = self._reading
        if current is None or error <= current.error_at(received_at) or not current.agrees_with(reading):
            self._reading = reading

    def to_local(self, redis_time: float, now: float | None = None) -> tuple[float, float]:
        """``redis_time`` on this process's monotonic clock, and how far off that may be (either way) at ``now``."""
        if self._reading is None:
            raise RuntimeError("no reading of the Redis clock yet")
        moment = time.monotonic() if now is None else now
        return redis_time - self._reading.offset, self._reading.error_at(moment)


@dataclass(frozen=True, slots=True)
class Reservation:
    """``n`` send slots: slot ``i`` starts at ``first_at + i * interval`` on this process's monotonic clock,
    give or take ``error`` (the clock mapping's)."""

    first_at: float
    interval: float
    n: int
    error: float = 0.0

    def slot_at(self, index: int) -> float:
        return self.first_at + index * self.interval

    def not_before(self, index: int) -> float:
        """The earliest moment slot ``index`` has surely begun: a send never goes early."""
        return self.slot_at(index) + self.error

    def lateness(self, index: int) -> float:
        """How late a send now would be for slot ``index`` at most (counted from the slot's earliest reading)."""
        return time.monotonic() - (self.slot_at(index) - self.error)

    async def wait_for(self, index: int) -> None:
        delay = self.not_before(index) - time.monotonic()
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
        self._pause = redis.register_script(_PAUSE)
        self._clock = RedisClock()

    async def reserve(self, n: int, lane: Lane = Lane.BULK) -> Reservation:
        """Reserve ``n`` consecutive slots; the first may lie in the future. A ``bulk`` reservation first waits
        until the schedule reaches no further than :data:`BULK_LOOKAHEAD_S` ahead; a ``life_safety`` one does not."""
        lookahead_us = -1 if lane is Lane.LIFE_SAFETY else int(BULK_LOOKAHEAD_S * 1_000_000)
        while True:
            sent_at = time.monotonic()
            answer = await self._script(keys=[self.key], args=[int(self.interval * 1_000_000), n, lookahead_us])
            first_us, now_us = int(answer[0]), int(answer[1])
            self._clock.observe(sent_at, time.monotonic(), now_us / 1_000_000)
            if first_us >= 0:
                break
            # Not admitted: sleep until the schedule's end is within the lookahead (durations on Redis' clock).
            await asyncio.sleep(max(0.001, (int(answer[2]) - now_us - lookahead_us) / 1_000_000))
        first_at, error = self._clock.to_local(first_us / 1_000_000)
        return Reservation(first_at=first_at, interval=self.interval, n=n, error=error)

    async def pause(self, seconds: float) -> None:
        """No slot of this channel begins before ``seconds`` from now, for every worker: the provider said
        ``Retry-After``, and it throttles the account, not one message. Slots already handed out are not taken
        back; their sends meet the same 429 and wait out the pause with the rest."""
        if seconds > 0:
            await self._pause(keys=[self.key], args=[int(seconds * 1_000_000)])

"""Two lanes on the one arq queue: life-safety jobs start before every queued bulk job (issue 21).

**Which lane.** :func:`lane_for` decides from the CAP alert itself, so every job of an alert (its fan-out, its
deliver batches, their retries, the sweeper's re-enqueues) takes the same lane wherever it is enqueued:

* ``LIFE_SAFETY``: ``status`` ``Actual``, ``msgType`` ``Alert``, ``Update`` or ``Cancel``, and at least one
  ``info`` whose ``urgency`` is ``Immediate``, ``Expected`` or ``Unknown`` *and* whose ``severity`` is
  ``Extreme``, ``Severe`` or ``Unknown``. Immediate/Expected with Extreme/Severe is the threshold of the
  Wireless Emergency Alerts "imminent threat" class (47 CFR 10.400), the one public-warning practice already
  uses for "act now or be hurt". ``certainty`` is not asked: a *possible* dam failure still calls for action
  now, and the lane only orders the queue, it suppresses nothing. ``Unknown`` counts as urgent and severe,
  as ``Unknown`` severity passes every resident's preference: not saying is no evidence that it can wait.
  A Cancel (the all-clear) copies its original's infos (:func:`alertsvc.alerts.service.build_cancel`), so
  the all-clear of a life-safety warning is life-safety too: people sheltering or evacuating act on it.
* ``BULK``: everything else: ``Test``, ``Exercise``, ``System`` (and ``Draft``) alerts, however severe they
  say they are; ``Actual`` alerts that are not urgent (``Future``, ``Past``) or not severe (``Moderate``,
  ``Minor``); ``Ack``/``Error``; community messages (their jobs pass ``Lane.BULK`` themselves).

**How a lane is kept.** arq picks ready jobs from one sorted set in score order, the score being the time the
job may start (``enqueue_job``'s ``_defer_until``). :func:`enqueue_in_lane` gives a life-safety job the score
of its start time minus :data:`LIFE_SAFETY_HEAD_START`, two days: every bulk job in the queue is younger than
that (arq lets a job's key expire a day after its start time), so a life-safety job is ahead of all of them
and behind only older life-safety jobs (first in, first out within the lane). The job's key is given its usual
lifetime explicitly (``_expires``), since arq would otherwise count it from the earlier score.

A *deferred* life-safety job (a retry with backoff) cannot be both "not before ``when``" and "ahead of bulk
jobs queued before ``when``" in one score. It is enqueued with its true start time, so it never runs early,
and noted in :data:`DEFERRED_KEY`; once due, :func:`promote_due` (called by the worker's poll,
:class:`alertsvc.dispatch.worker.DispatchWorker`) lowers its score by the head start, so a retried
life-safety batch keeps its lane. Should the promotion not happen (a worker of an older release) the retry
still runs, in bulk order: late, never lost.

A leaf: imports only arq.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from arq import ArqRedis
from arq.constants import default_queue_name

__all__ = [
    "DEFERRED_KEY",
    "LIFE_SAFETY_HEAD_START",
    "Lane",
    "enqueue_in_lane",
    "lane_for",
    "lane_of_document",
    "promote_due",
]


class Lane(StrEnum):
    """Which jobs go first: ``life_safety`` before every queued ``bulk`` job."""

    LIFE_SAFETY = "life_safety"
    BULK = "bulk"


LIFE_SAFETY_STATUS = "Actual"
LIFE_SAFETY_MSG_TYPES = frozenset({"Alert", "Update", "Cancel"})
LIFE_SAFETY_URGENCY = frozenset({"Immediate", "Expected", "Unknown"})
LIFE_SAFETY_SEVERITY = frozenset({"Extreme", "Severe", "Unknown"})

LIFE_SAFETY_HEAD_START = timedelta(days=2)
"""Subtracted from a life-safety job's score: more than any bulk job's age in the queue (arq's keys live a day)."""
JOB_LIFETIME = timedelta(days=1)
"""How long after its start time a job may still start (arq's default ``expires_extra_ms``)."""
DEFERRED_KEY = "alertsvc:lanes:life_safety:deferred"
"""Deferred life-safety jobs by start time (ms): promoted ahead of bulk by :func:`promote_due` once due."""
PROMOTE_LIMIT = 500


def lane_for(status: str, msg_type: str, infos: Iterable[Mapping[str, Any]]) -> Lane:
    """The lane of an alert's jobs, from its CAP ``status``, ``msgType`` and its infos' urgency and severity."""
    if str(status) != LIFE_SAFETY_STATUS or str(msg_type) not in LIFE_SAFETY_MSG_TYPES:
        return Lane.BULK
    for info in infos:
        urgency = str(info.get("urgency") or "Unknown")
        severity = str(info.get("severity") or "Unknown")
        if urgency in LIFE_SAFETY_URGENCY and severity in LIFE_SAFETY_SEVERITY:
            return Lane.LIFE_SAFETY
    return Lane.BULK


def lane_of_document(document: Mapping[str, Any]) -> Lane:
    """:func:`lane_for` of a CAP alert in its JSON form (``alerts.cap``, as stored)."""
    return lane_for(str(document.get("status") or ""), str(document.get("msgType") or ""), document.get("info") or ())


def _score_time(start: datetime, lane: Lane) -> datetime:
    return start - LIFE_SAFETY_HEAD_START if lane is Lane.LIFE_SAFETY else start


async def enqueue_in_lane(
    redis: ArqRedis,
    function: str,
    *args: Any,
    lane: Lane,
    job_id: str | None,
    defer_until: datetime | None = None,
    **kwargs: Any,
) -> bool:
    """Enqueue ``function(*args, **kwargs)`` as job ``job_id`` in ``lane``, not to start before ``defer_until``.
    ``job_id`` None: arq draws a random id (for jobs that may run more than once, a confirmation e-mail).

    True if queued; False if a job of that id is already queued or its result kept (arq's uniqueness). Every
    enqueue of alertsvc's own jobs goes through here (fan-out, deliver batches, retries, sweeper re-enqueues,
    community messages), so no job can skip the lane rules.
    """
    now = datetime.now(UTC)
    start = defer_until if defer_until is not None and defer_until > now else now
    deferred = start > now
    # A deferred life-safety job keeps its true start time (never early); promote_due moves it ahead once due.
    score_time = start if lane is Lane.LIFE_SAFETY and deferred else _score_time(start, lane)
    job = await redis.enqueue_job(
        function,
        *args,
        _job_id=job_id,
        _defer_until=score_time,
        _expires=(start - now) + JOB_LIFETIME,
        **kwargs,
    )
    if job is None:
        return False
    if lane is Lane.LIFE_SAFETY and deferred:
        await redis.zadd(DEFERRED_KEY, {job.job_id: int(start.timestamp() * 1000)})
    return True


_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local moved = 0
for i = 1, #due, 2 do
  local id = due[i]
  local score = tonumber(due[i + 1]) - tonumber(ARGV[2])
  local current = redis.call('ZSCORE', KEYS[2], id)
  if current and tonumber(current) > score then
    redis.call('ZADD', KEYS[2], 'XX', score, id)
    moved = moved + 1
  end
  redis.call('ZREM', KEYS[1], id)
end
return moved
"""
"""Atomically: each due deferred life-safety job still queued gets its head start; gone ones are forgotten."""


async def promote_due(redis: ArqRedis, queue_name: str = default_queue_name) -> int:
    """Move the deferred life-safety jobs that are due ahead of the bulk jobs; how many were moved."""
    head_start_ms = int(LIFE_SAFETY_HEAD_START.total_seconds() * 1000)
    script = redis.register_script(_PROMOTE)  # EVALSHA, the script sent only when Redis does not know it yet
    moved = await script(keys=[DEFERRED_KEY, queue_name], args=[int(time.time() * 1000), head_start_ms, PROMOTE_LIMIT])
    return int(moved)

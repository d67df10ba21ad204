"""The two lanes on arq's queue (issue 21): which alerts are life-safety, and that their jobs start first.

The order tests use a real Redis and arq's own pick-up query (``ZRANGEBYSCORE`` up to now, lowest score first),
so what they check is what a worker would start next.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis, create_pool
from arq.constants import default_queue_name, job_key_prefix

from alertsvc.lanes import DEFERRED_KEY, Lane, enqueue_in_lane, lane_for, lane_of_document, promote_due
from alertsvc.runtime import redis_settings

LS, BULK = Lane.LIFE_SAFETY, Lane.BULK


def _info(urgency: str | None, severity: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {"language": "en-US", "event": "x"}
    if urgency is not None:
        info["urgency"] = urgency
    if severity is not None:
        info["severity"] = severity
    return info


@pytest.mark.parametrize(
    ("status", "msg_type", "urgency", "severity", "lane"),
    [
        ("Actual", "Alert", "Immediate", "Extreme", LS),
        ("Actual", "Alert", "Expected", "Severe", LS),
        ("Actual", "Update", "Immediate", "Severe", LS),
        ("Actual", "Cancel", "Immediate", "Extreme", LS),  # the all-clear copies its original's infos
        ("Actual", "Alert", "Unknown", "Unknown", LS),  # not saying is no evidence that it can wait
        ("Actual", "Alert", None, None, LS),
        ("Actual", "Alert", "Future", "Extreme", BULK),  # not urgent
        ("Actual", "Alert", "Past", "Extreme", BULK),
        ("Actual", "Alert", "Immediate", "Moderate", BULK),  # not severe
        ("Actual", "Alert", "Immediate", "Minor", BULK),
        ("Test", "Alert", "Immediate", "Extreme", BULK),  # however severe a test says it is
        ("Exercise", "Alert", "Immediate", "Extreme", BULK),
        ("System", "Alert", "Immediate", "Extreme", BULK),
        ("Draft", "Alert", "Immediate", "Extreme", BULK),
        ("Actual", "Ack", "Immediate", "Extreme", BULK),
        ("Actual", "Error", "Immediate", "Extreme", BULK),
    ],
)
def test_the_lane_of_an_alert(status: str, msg_type: str, urgency: str, severity: str, lane: Lane) -> None:
    assert lane_for(status, msg_type, [_info(urgency, severity)]) is lane
    assert lane_of_document({"status": status, "msgType": msg_type, "info": [_info(urgency, severity)]}) is lane


def test_one_life_safety_info_makes_the_alert_life_safety() -> None:
    infos = [_info("Future", "Minor"), _info("Immediate", "Extreme")]
    assert lane_for("Actual", "Alert", infos) is LS
    assert lane_for("Actual", "Alert", [_info("Immediate", "Minor"), _info("Future", "Extreme")]) is BULK
    assert lane_of_document({"status": "Actual", "msgType": "Alert"}) is BULK  # no info: nothing says danger


async def _ready(redis: ArqRedis) -> list[str]:
    """What arq's worker would start, in its order (``Worker._poll_iteration``)."""
    now = round(datetime.now(UTC).timestamp() * 1000)  # rounded as arq rounds scores (truncating missed a job)
    ids = await redis.zrangebyscore(default_queue_name, min=float("-inf"), max=now)
    return [i.decode() for i in ids]


async def test_a_life_safety_job_goes_ahead_of_every_queued_bulk_job(clean_redis: str) -> None:
    redis = await create_pool(redis_settings(clean_redis))
    try:
        for n in range(3):
            assert await enqueue_in_lane(redis, "deliver", n, lane=BULK, job_id=f"bulk{n}")
        assert await enqueue_in_lane(redis, "deliver", 10, lane=LS, job_id="ls0")
        assert await enqueue_in_lane(redis, "deliver", 11, lane=LS, job_id="ls1")
        assert await enqueue_in_lane(redis, "deliver", 3, lane=BULK, job_id="bulk3")
        assert not await enqueue_in_lane(redis, "deliver", 10, lane=LS, job_id="ls0")  # one job per id, as before
        # first in, first out within each lane; every life-safety job before every bulk one
        assert await _ready(redis) == ["ls0", "ls1", "bulk0", "bulk1", "bulk2", "bulk3"]
        # the head start does not shorten the job's life: its key lives a day, like a bulk job's
        for job_id in ("ls0", "bulk0"):
            ttl = await redis.pttl(job_key_prefix + job_id)
            assert timedelta(hours=23) < timedelta(milliseconds=ttl) <= timedelta(days=1)
    finally:
        await redis.aclose()


async def test_a_deferred_life_safety_retry_waits_its_turn_then_goes_ahead_of_bulk(clean_redis: str) -> None:
    redis = await create_pool(redis_settings(clean_redis))
    try:
        due = datetime.now(UTC) + timedelta(seconds=0.4)
        assert await enqueue_in_lane(redis, "deliver", 1, lane=LS, job_id="ls-retry", defer_until=due)
        assert await enqueue_in_lane(redis, "deliver", 2, lane=BULK, job_id="bulk-late", defer_until=due)
        for n in range(3):
            assert await enqueue_in_lane(redis, "deliver", n, lane=BULK, job_id=f"bulk{n}")
        assert await promote_due(redis) == 0  # not due: the backoff is kept
        assert await _ready(redis) == ["bulk0", "bulk1", "bulk2"]
        assert await redis.pttl(job_key_prefix + "ls-retry") > 0
        await asyncio.sleep(0.5)
        # due: without promotion it would start after the whole bulk backlog queued before it
        ready = await _ready(redis)
        assert ready.index("ls-retry") > ready.index("bulk2")
        assert await promote_due(redis) == 1
        assert await _ready(redis) == ["ls-retry", "bulk0", "bulk1", "bulk2", "bulk-late"]
        assert await redis.zcard(DEFERRED_KEY) == 0
        assert await promote_due(redis) == 0
    finally:
        await redis.aclose()


async def test_promotion_forgets_a_retry_that_already_ran(clean_redis: str) -> None:
    redis = await create_pool(redis_settings(clean_redis))
    try:
        due = datetime.now(UTC) + timedelta(seconds=0.1)
        assert await enqueue_in_lane(redis, "deliver", 1, lane=LS, job_id="gone", defer_until=due)
        await redis.zrem(default_queue_name, "gone")  # ran and finished: arq removed it from the queue
        await asyncio.sleep(0.2)
        assert await promote_due(redis) == 0
        assert await redis.zscore(default_queue_name, "gone") is None  # never put back
        assert await redis.zcard(DEFERRED_KEY) == 0
    finally:
        await redis.aclose()

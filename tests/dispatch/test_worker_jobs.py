"""How the worker splits and picks up work: batch sizes under a rate limit, and jobs already running elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq.connections import ArqRedis, create_pool
from arq.constants import in_progress_key_prefix
from arq.worker import func

from alertsvc.dispatch.context import BATCH_SECONDS, WorkerContext
from alertsvc.dispatch.fanout import enqueue_deliveries
from alertsvc.dispatch.ratelimit import RateLimiter
from alertsvc.dispatch.worker import DispatchWorker
from alertsvc.lanes import Lane
from alertsvc.runtime import Runtime, redis_settings
from alertsvc.security.links import LinkSigner
from tests.conftest import wait_for


class RecordingQueue:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def enqueue_job(self, _name: str, _alert: str, _channel: str, ids: list[int], **_: object) -> None:
        self.batches.append(ids)


async def test_a_rate_limited_channel_gets_batches_of_about_two_seconds(runtime: Runtime) -> None:
    app = WorkerContext(
        runtime=runtime,
        channels={},
        limiters={"sms": RateLimiter(runtime.redis, "sms", 10)},
        zones=runtime.zones,
        ack_links=LinkSigner("k" * 32, "ack"),
        unsubscribe_links=LinkSigner("k" * 32, "unsubscribe"),
    )
    assert runtime.settings.delivery_batch_size == 500
    assert app.batch_size("email") == 500  # no limit: the configured size
    sms = app.batch_size("sms")
    assert abs(sms * app.limiters["sms"].interval - BATCH_SECONDS) < 0.2  # ~20 at 10/s (less the headroom)
    queue = RecordingQueue()
    jobs = await enqueue_deliveries(queue, "a1", [(i, "sms") for i in range(100)], app.batch_size, Lane.BULK)  # type: ignore[arg-type]
    assert jobs == len(queue.batches) and max(map(len, queue.batches)) == sms
    assert sorted(i for batch in queue.batches for i in batch) == list(range(100))


async def test_a_poll_skips_a_job_running_in_another_worker_and_starts_the_next(clean_redis: str) -> None:
    ran: list[str] = []

    async def note(ctx: dict[str, Any], label: str) -> None:
        ran.append(label)

    pool: ArqRedis = await create_pool(redis_settings(clean_redis))
    worker = DispatchWorker(
        functions=[func(note, name="note")], redis_settings=redis_settings(clean_redis), poll_delay=0.01,
        handle_signals=False,
    )  # fmt: skip
    try:
        await pool.enqueue_job("note", "elsewhere", _job_id="elsewhere")
        await pool.enqueue_job("note", "mine", _job_id="mine")
        await pool.set(in_progress_key_prefix + "elsewhere", b"1", px=60_000)  # another worker holds it
        running = asyncio.create_task(worker.async_run())
        await wait_for(lambda: _true(ran == ["mine"]), within=10)
        await pool.config_resetstat()
        await asyncio.sleep(0.2)  # ~20 more polls: not started here, and not even WATCHed (arq's 3 round trips)
        assert ran == ["mine"]
        assert "cmdstat_watch" not in await pool.info("commandstats")
        assert await pool.zscore("arq:queue", "elsewhere") is not None  # left for the worker that has it
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    finally:
        await worker.close()
        await pool.aclose()


async def _true(value: bool) -> bool:
    return value

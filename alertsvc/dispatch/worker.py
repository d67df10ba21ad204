"""The arq worker: its functions, its resources, and the two ways to run it.

* ``alertsvc worker``: a process of its own against ``REDIS_URL`` (scale out by running several);
* inside ``alertsvc serve`` on the embedded defaults, sharing the API's runtime.

Worker resources (database engine, channels, rate limiter) are made once in ``on_startup`` into ``ctx`` and
closed in ``on_shutdown`` (STYLE.md 6). Jobs carry ids only and reload what they need (STYLE.md 5).

A Redis restart is ridden out, not fatal: arq's poll loop raises on the first command that finds the connection
gone, so both ways of running go through :func:`run_until_stopped`, which lets the jobs in flight finish (their
sends and database writes need no Redis), then starts a fresh arq worker; connecting again is retried by
``create_pool`` (``conn_retries`` in :func:`alertsvc.runtime.redis_settings`), and an outage longer than that ends
the process. What the restart lost (queued jobs, with ``persist`` off) the sweeper re-enqueues from the database,
which is the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

from arq import cron
from arq.constants import in_progress_key_prefix
from arq.worker import Worker, func
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from alertsvc.community.tips import RELAY_JOB
from alertsvc.dispatch.community_sender import COMMUNITY_TICK, SEND_COMMUNITY, community_tick, send_community
from alertsvc.dispatch.confirmations import send_confirmation
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.deliver import deliver
from alertsvc.dispatch.fanout import fanout
from alertsvc.dispatch.jobs import DELIVER, FANOUT, SEND_CONFIRMATION, SWEEP, WEBHOOK_PUMP
from alertsvc.dispatch.sweeper import sweep
from alertsvc.dispatch.tip_relay import MAX_TRIES as MAX_RELAY_TRIES
from alertsvc.dispatch.tip_relay import relay_tip_reply
from alertsvc.dispatch.webhook_pump import webhook_pump
from alertsvc.lanes import promote_due
from alertsvc.metrics import serve_worker_metrics
from alertsvc.process import tune_gc_for_throughput
from alertsvc.runtime import Runtime, open_runtime, redis_settings
from alertsvc.settings import Settings

log = logging.getLogger(__name__)

PROMOTE_EVERY_S = 0.1
"""How often a worker moves due life-safety retries ahead of the bulk jobs (:func:`alertsvc.lanes.promote_due`)."""
POLL_DELAY_S = 0.01
"""arq's default poll delay (0.5 s) caps a worker near a few hundred jobs/s; deliveries are latency-bound."""
RESTART_DELAY_S = 1.0
REDIS_GONE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
"""What arq raises when Redis goes away under it (restart, network cut)."""


def _redis_gone(exc: BaseException) -> bool:
    """True for a lost connection, also when redis-py reports it as a ``WatchError`` (lost during a WATCH, which
    arq's job pick-up uses; arq handles the ordinary, conflict kind of ``WatchError`` itself)."""
    if isinstance(exc, WatchError):
        return isinstance(exc.__context__, REDIS_GONE)
    return isinstance(exc, REDIS_GONE)


def _functions(timeout: int) -> list[Any]:
    return [
        func(fanout, name=FANOUT, timeout=timeout, max_tries=1000),
        func(deliver, name=DELIVER, timeout=timeout, max_tries=1000),
        func(sweep, name=SWEEP, timeout=timeout),
        func(send_confirmation, name=SEND_CONFIRMATION, timeout=60, max_tries=3),
        func(webhook_pump, name=WEBHOOK_PUMP, timeout=timeout),
        func(relay_tip_reply, name=RELAY_JOB, timeout=60, max_tries=MAX_RELAY_TRIES),
        func(send_community, name=SEND_COMMUNITY, timeout=timeout),
    ]


def _cron_jobs(sweep_interval_s: int = 10) -> list[Any]:
    return [
        cron(sweep, name=f"cron:{SWEEP}", second=set(range(0, 60, sweep_interval_s)), run_at_startup=True, unique=True),
        cron(webhook_pump, name=f"cron:{WEBHOOK_PUMP}", second=set(range(0, 60, 2)), unique=True),
        cron(community_tick, name=f"cron:{COMMUNITY_TICK}", second=30, unique=True),  # every minute
    ]


async def _attach(ctx: dict[str, Any], runtime: Runtime, owns_runtime: bool) -> None:
    ctx["app"] = await WorkerContext.open(runtime, owns_runtime)


async def _detach(ctx: dict[str, Any]) -> None:
    app: WorkerContext | None = ctx.pop("app", None)
    if app is not None:
        await app.close()


class DispatchWorker(Worker):
    """arq's worker, without re-checking jobs that are already running at every poll.

    arq keeps a job in its queue until it finishes, and every poll reads the queue's head again and checks each
    job there with a WATCH transaction (three round trips) to find out whether it may start it. During a fan-out
    the head is the 10-60 batches in progress, here or in another worker, so every 10 ms poll cost a few hundred
    Redis round trips and ~15 % of the worker's CPU. One pipelined ``EXISTS`` per job on the in-progress keys
    drops those first; arq's own check still guards the start of the rest, so nothing about who runs what changes.

    Every :data:`PROMOTE_EVERY_S` it also gives the due life-safety retries their lane's head start
    (:mod:`alertsvc.lanes`), so a retried life-safety batch is not stuck behind a backlog of bulk jobs.
    """

    lanes_promoted_at = 0.0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        now = time.monotonic()
        if now - self.lanes_promoted_at >= PROMOTE_EVERY_S:  # due life-safety retries go ahead of bulk jobs
            self.lanes_promoted_at = now
            await promote_due(self.pool, self.queue_name)
        if job_ids:
            async with self.pool.pipeline(transaction=False) as pipe:
                for job_id in job_ids:
                    pipe.exists(in_progress_key_prefix + job_id.decode())
                running = await pipe.execute()
            job_ids = [job_id for job_id, busy in zip(job_ids, running, strict=True) if not busy]
        await super().start_jobs(job_ids)


def build_worker(runtime: Runtime, owns_runtime: bool = False, *, tune_gc: bool = False, **overrides: Any) -> Worker:
    """A worker bound to an open runtime (used in-process and by tests).

    ``tune_gc``: a process that is only a worker freezes what start-up allocated (the channel libraries are
    imported by ``_attach``) and collects less often (:func:`alertsvc.process.tune_gc_for_throughput`).
    """

    async def on_startup(ctx: dict[str, Any]) -> None:
        await _attach(ctx, runtime, owns_runtime)
        if tune_gc:
            tune_gc_for_throughput()

    options: dict[str, Any] = {
        "functions": _functions(runtime.settings.job_timeout_s),
        "cron_jobs": _cron_jobs(runtime.settings.sweep_interval_s),
        "redis_settings": redis_settings(runtime.redis_url),
        "on_startup": on_startup,
        "on_shutdown": _detach,
        "poll_delay": POLL_DELAY_S,
        "max_jobs": runtime.settings.worker_max_jobs,
        "job_timeout": runtime.settings.job_timeout_s,
        "keep_result": 3600,
        "handle_signals": False,
        "retry_jobs": True,
    }
    options.update(overrides)
    return DispatchWorker(**options)


async def _close(worker: Worker, redis_gone: bool) -> None:
    """Close one arq worker; after a Redis outage, let its jobs finish first and release our resources anyway."""
    if redis_gone:
        # Jobs in flight hold claimed deliveries: let them send and record (no Redis needed); only their own
        # bookkeeping in Redis may fail, which the sweeper makes good.
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        worker.tasks.clear()
    try:
        await worker.close()
    except Exception as exc:
        if not _redis_gone(exc):
            raise
        await _detach(worker.ctx)
        with contextlib.suppress(*REDIS_GONE):
            await worker.pool.aclose()


async def run_until_stopped(runtime: Runtime, *, tune_gc: bool = False, **overrides: Any) -> None:
    """Run arq workers one after another until stopped (cancelled, a signal, a burst run's end).

    A worker that loses Redis after it started is closed and a new one started in its place; one that cannot
    connect at all (``create_pool`` gave up after its retries) ends the run with that error.
    """
    while True:
        worker = build_worker(runtime, tune_gc=tune_gc, **overrides)
        redis_gone = False
        try:
            await worker.async_run()
            return
        except Exception as exc:
            if not _redis_gone(exc) or "app" not in worker.ctx:  # a bug, or never started: Redis is not there
                raise
            redis_gone = True
            log.warning("lost Redis (%s); starting the worker again", type(exc).__name__)
        finally:
            await _close(worker, redis_gone)
        await asyncio.sleep(RESTART_DELAY_S)


async def run_worker_in_process(runtime: Runtime) -> None:
    """Run the worker inside ``serve`` until cancelled."""
    await run_until_stopped(runtime)


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when it is installed (it comes with ``uvicorn[standard]``): the deliver path is
    event-loop bound, and uvloop's loop and sockets cost about half as much CPU per message."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(main)
        return
    uvloop.run(main)


def run_standalone_worker(settings: Settings) -> None:
    """``alertsvc worker``: open our own runtime (no migrations: ``serve``/``db upgrade`` own the schema).

    SIGTERM/SIGINT stop it (arq cancels the jobs in flight, which run again elsewhere, and its main task).
    """

    async def main() -> None:
        runtime = await open_runtime(settings, migrate=False)
        try:
            await run_until_stopped(runtime, tune_gc=True, handle_signals=True)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            log.info("arq worker stopped")  # a signal cancelled arq's main task, not us
        finally:
            await runtime.close()

    if settings.worker_metrics_addr:
        serve_worker_metrics(settings.worker_metrics_addr)
        log.info("worker metrics at http://%s/metrics", settings.worker_metrics_addr)
    log.info("arq worker starting against %s", redis_settings(settings.redis_url or "").host)
    run_event_loop(main())

"""The arq worker: its functions, its resources, and the two ways to run it.

* ``alertsvc worker``: a process of its own against ``REDIS_URL`` (scale out by running several);
* inside ``alertsvc serve`` on the embedded defaults, sharing the API's runtime.

Worker resources (database engine, channels, rate limiter) are made once in ``on_startup`` into ``ctx`` and
closed in ``on_shutdown`` (STYLE.md 6). Jobs carry ids only and reload what they need (STYLE.md 5).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq import cron
from arq.worker import Worker, func

from alertsvc.dispatch.confirmations import send_confirmation
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.deliver import deliver
from alertsvc.dispatch.fanout import fanout
from alertsvc.dispatch.jobs import DELIVER, FANOUT, SEND_CONFIRMATION, SWEEP, WEBHOOK_PUMP
from alertsvc.dispatch.sweeper import sweep
from alertsvc.runtime import Runtime, open_runtime, redis_settings
from alertsvc.settings import Settings
from alertsvc.webhooks.sender import webhook_pump

log = logging.getLogger(__name__)

POLL_DELAY_S = 0.01
"""arq's default poll delay (0.5 s) caps a worker near a few hundred jobs/s; deliveries are latency-bound."""
MAX_JOBS = 64


def _functions(timeout: int) -> list[Any]:
    return [
        func(fanout, name=FANOUT, timeout=timeout, max_tries=1000),
        func(deliver, name=DELIVER, timeout=timeout, max_tries=1000),
        func(sweep, name=SWEEP, timeout=timeout),
        func(send_confirmation, name=SEND_CONFIRMATION, timeout=60, max_tries=3),
        func(webhook_pump, name=WEBHOOK_PUMP, timeout=timeout),
    ]


def _cron_jobs() -> list[Any]:
    return [
        cron(sweep, name=f"cron:{SWEEP}", second=set(range(0, 60, 10)), run_at_startup=True, unique=True),
        cron(webhook_pump, name=f"cron:{WEBHOOK_PUMP}", second=set(range(0, 60, 2)), unique=True),
    ]


async def _attach(ctx: dict[str, Any], runtime: Runtime, owns_runtime: bool) -> None:
    ctx["app"] = await WorkerContext.open(runtime, owns_runtime)


async def _detach(ctx: dict[str, Any]) -> None:
    app: WorkerContext | None = ctx.get("app")
    if app is not None:
        await app.close()


def build_worker(runtime: Runtime, owns_runtime: bool = False, **overrides: Any) -> Worker:
    """A worker bound to an open runtime (used in-process and by tests)."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        await _attach(ctx, runtime, owns_runtime)

    options: dict[str, Any] = {
        "functions": _functions(runtime.settings.job_timeout_s),
        "cron_jobs": _cron_jobs(),
        "redis_settings": redis_settings(runtime.redis_url),
        "on_startup": on_startup,
        "on_shutdown": _detach,
        "poll_delay": POLL_DELAY_S,
        "max_jobs": MAX_JOBS,
        "job_timeout": runtime.settings.job_timeout_s,
        "keep_result": 3600,
        "handle_signals": False,
        "retry_jobs": True,
    }
    options.update(overrides)
    return Worker(**options)


async def run_worker_in_process(runtime: Runtime) -> None:
    """Run the worker inside ``serve`` until cancelled."""
    worker = build_worker(runtime)
    try:
        await worker.main()
    finally:
        await worker.close()


def run_standalone_worker(settings: Settings) -> None:
    """``alertsvc worker``: open our own runtime (no migrations: ``serve``/``db upgrade`` own the schema)."""

    async def main() -> None:
        runtime = await open_runtime(settings, migrate=False)
        worker = build_worker(runtime, owns_runtime=True, handle_signals=True)
        try:
            await worker.main()
        finally:
            await worker.close()

    log.info("arq worker starting against %s", redis_settings(settings.redis_url or "").host)
    asyncio.run(main())

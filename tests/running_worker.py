"""Stopping an arq worker that a test started with ``worker.main()`` in a task of its own.

Cancelling the task and calling ``worker.close()`` was not enough: ``close`` cancels the jobs still running and
gathers them, so a job caught mid-way (a retry being deferred, say) made ``close`` raise ``CancelledError`` before
it closed the worker's Redis pool, which failed that test and, garbage-collected later, another one with an
"unclosed StreamWriter" warning. Here the jobs get a few seconds to end, and the pool is closed whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib

from arq.worker import Worker

JOBS_GRACE_S = 10.0


async def stop_worker(worker: Worker, running: asyncio.Task[None]) -> None:
    """Stop ``worker`` (whose ``main()`` runs as ``running``), let its jobs end, and close its Redis pool."""
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    busy = [task for task in worker.tasks.values() if not task.done()]
    if busy:
        await asyncio.wait(busy, timeout=JOBS_GRACE_S)
    try:
        await worker.close()
    except asyncio.CancelledError:
        pool = worker._pool
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.close(close_connection_pool=True)
            worker._pool = None

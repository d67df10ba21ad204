"""SQLite write transactions on a thread and event loop of their own, away from a busy worker's loop.

Why: a worker's event loop runs the sends (hundreds in flight) and is busy most of the time, so every ``await``
inside a transaction (each statement, the commit) waits for the loop to come round again, and the aiosqlite
thread waits for the GIL. SQLite has one writer at a time, and a transaction holds that turn all along: a
deliver job's claim (three statements) held it for about 110 ms, though SQLite needed a few of them. With two
workers on one file the turns were taken 85-100 % of the time, and two workers sent fewer SMS a second than one
(a million residents, 2 cores: 2,030-2,320 against 2,277).

Here the hot write transactions of the dispatcher (claim, record, plan, finish) run on a loop that does
nothing else, so they hold the turn only for as long as SQLite and the GIL take. Two workers, a million
residents, alternating runs (with a 1 ms GIL switch interval then): 2,858 and 3,150 SMS/s against 2,539 and 2,244
on the worker's own loop; one worker sent as many either way. Python's own 5 ms interval is kept: 1 ms made no
clear difference with two workers (2,647 and 2,096 against 2,396 and 2,723 at 5 ms) and cost one worker CPU
(491 against 404 µs an SMS). The work is an ordinary
``async def work(session, *args)`` over the store's functions, run by :meth:`SqliteWriter.run` on its own
engine (the connections of an asyncio engine belong to the loop that opened them), whose connections make their
``sqlite3`` calls on this thread instead of handing each to an aiosqlite thread (:mod:`alertsvc.store.inline_sqlite`;
two workers: turns held 40 ms on average instead of 51). Its transactions take the
same writer turns as every other (:func:`alertsvc.store.db.transaction`): between processes, and with the
transactions of the process's main loop, through the turns file.

PostgreSQL has row locks and no single writer: there :meth:`alertsvc.runtime.Runtime.write` runs the work in a
transaction on the caller's loop, as before.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alertsvc.store.db import create_engine, holds_writer_turn, session_factory, transaction
from alertsvc.store.inline_sqlite import connect_inline

T = TypeVar("T")


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed, as the worker's own (:func:`alertsvc.dispatch.worker.run_event_loop`)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class SqliteWriter:
    """A daemon thread running an event loop with its own engine on the same SQLite file."""

    def __init__(self, url: str) -> None:
        self._engine: AsyncEngine = create_engine(url)
        connect_inline(self._engine)  # its statements block this thread's loop, which has nothing else to do
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(self._engine)
        self._loop = _new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sqlite-writer", daemon=True)
        self._closed = False
        self._thread.start()

    async def run(self, work: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await work(session, *args)`` in one transaction on the writer's loop; its result or its exception.

        Cancelling the caller cancels the work, whose transaction then rolls back. ``work`` must only use the
        session and its arguments: objects of the caller's loop (a Redis pool, a lock) do not work there.
        """
        if self._closed:
            raise RuntimeError("the SQLite writer is closed")
        if holds_writer_turn():
            # The caller's own transaction holds the turns file: the writer's would wait for it for ever.
            raise RuntimeError("SqliteWriter.run inside a transaction would wait for itself")
        future = asyncio.run_coroutine_threadsafe(self._in_transaction(work, *args), self._loop)
        return await asyncio.wrap_future(future)

    async def _in_transaction(self, work: Callable[..., Awaitable[T]], *args: Any) -> T:
        async with transaction(self._sessions) as session:
            return await work(session, *args)

    async def close(self) -> None:
        """Close the writer's connections and stop its thread (what is running finishes first)."""
        if self._closed:
            return
        self._closed = True
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._engine.dispose(), self._loop))
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join)
        self._loop.close()

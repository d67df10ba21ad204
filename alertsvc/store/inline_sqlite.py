"""aiosqlite connections that make their ``sqlite3`` calls on the calling thread, for the SQLite writer thread.

Why: aiosqlite hands every call (a cursor, each statement, each fetch, the commit) to a thread of its own and
wakes the caller's loop with the answer: two thread switches a call, a dozen for a deliver job's claim. The
writer thread (:mod:`alertsvc.store.writer`) already runs nothing but write transactions, so blocking its loop
costs nothing, while each of those switches waits for the GIL, which a worker's busy event loop holds about half
the time. Here the calls are made at once, on the writer's own thread, through the same SQLAlchemy dialect,
statements and ``sqlite3`` connection as everywhere else. Two workers, a million residents: a transaction held
SQLite's single writer turn 40 ms on average instead of 51 (bench/README.md, sixth session).

Written here rather than taken from a package: none offers it, and the two hooks used are small. aiosqlite's
``Connection`` sends each call through ``_execute`` (cursors too) and the rest (connecting, closing, the
isolation level SQLAlchemy sets) through its ``_tx`` queue; both run the call inline here, and its thread is
never started (aiosqlite 0.22's layout, pinned in pyproject.toml). The tests in
``tests/foundation/test_sqlite_writer.py`` run the writer on it and check that no aiosqlite thread starts.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class _CallsAtOnce:
    """Stands in for the queue to aiosqlite's thread: each ``(future, call)`` put in is made at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, call = item
        try:
            result = call()
        except BaseException as exc:  # handed to the waiting caller, as aiosqlite's thread does
            if future is not None and not future.done():
                future.set_exception(exc)
        else:
            if future is not None and not future.done():
                future.set_result(result)


class _NeverStarted:
    """Stands in for aiosqlite's thread, which awaiting a connection would start."""

    daemon = True

    def start(self) -> None:
        """Nothing to start: every call is made on the caller's thread."""


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose ``sqlite3`` calls block the calling thread instead of going to another."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _CallsAtOnce()  # type: ignore[assignment]
        self._thread = _NeverStarted()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    @classmethod
    def open(cls, database: Any, **kwargs: Any) -> InlineConnection:
        """What aiosqlite's ``connect`` would return for these arguments (awaiting it connects)."""
        return cls(partial(sqlite3.connect, database, **kwargs))


def _connect_inline(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    # The dialect's own connect with the arguments it built from the URL and connect_args, on our connection.
    return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=InlineConnection.open, **cparams)


def connect_inline(engine: AsyncEngine) -> None:
    """Make ``engine`` (an aiosqlite engine) open :class:`InlineConnection` connections: for one thread only."""
    event.listen(engine.sync_engine, "do_connect", _connect_inline)

"""Engine and session factory: one async engine per process, sessions short and never held across I/O."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL and a busy timeout so the API and workers can share a file."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # One writer at a time whatever the pool: a few connections serve as well as fifteen, and each one holds
        # a thread and a page cache of its own (about 20 MiB less at the peak of a million-resident fan-out).
        kwargs = {"connect_args": {"timeout": 30}, "pool_size": 4, "max_overflow": 4}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def is_postgresql(session: AsyncSession) -> bool:
    """Whether ``session`` talks to PostgreSQL (the places that use its arrays and ``unnest`` ask this)."""
    return session.get_bind().dialect.name == "postgresql"


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
_HOLDS_WRITER_TURN: ContextVar[bool] = ContextVar("holds_sqlite_writer_turn", default=False)


def _sqlite_writer_turn(sessions: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    """The per-engine lock that :func:`transaction` takes on SQLite; None on other databases."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    lock = _SQLITE_WRITERS.get(bind.sync_engine)
    if lock is None:
        lock = _SQLITE_WRITERS[bind.sync_engine] = asyncio.Lock()
    return lock


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on any error.

    On SQLite the transactions of one process take turns (an asyncio lock per engine). SQLite lets one
    connection write at a time; without the turns, a second writer of the same process waits in SQLite's busy
    handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between retries, so a worker's deliver jobs (a claim and
    a record each, hundreds a second) spent time asleep. One worker, a million residents, alternating runs:
    2,809-3,187 SMS/s without the turns, 2,874-3,473 with them, and 324-366 against 290-345 µs of worker CPU
    an SMS. Other processes (the API, a second worker) still meet in the busy handler. A transaction opened
    inside another in the same task (or a task it started) does not wait for itself.
    """
    lock = None if _HOLDS_WRITER_TURN.get() else _sqlite_writer_turn(sessions)
    if lock is None:
        async with sessions() as session, session.begin():
            yield session
        return
    async with lock:
        token = _HOLDS_WRITER_TURN.set(True)
        try:
            async with sessions() as session, session.begin():
                yield session
        finally:
            _HOLDS_WRITER_TURN.reset(token)

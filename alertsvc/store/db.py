"""Engine and session factory: one async engine per process, sessions short and never held across I/O."""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import Any, TypeGuard

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the processes meet in SQLite's busy handler
    fcntl = None


def is_file_database(database: str | None) -> TypeGuard[str]:
    """Whether an SQLite URL's database part names a file (not ``:memory:``, which cannot be opened twice)."""
    return bool(database) and database != ":memory:"


def is_sqlite_file(url: str) -> bool:
    """Whether ``url`` names an SQLite database in a file."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and is_file_database(parsed.database)


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL and a busy timeout so the API and workers can share a file."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if is_file_database(parsed.database):
            _create_private(Path(parsed.database))
        # One writer at a time whatever the pool: a few connections serve as well as fifteen, and each one holds
        # a thread and a page cache of its own (about 20 MiB less at the peak of a million-resident fan-out).
        kwargs = {"connect_args": {"timeout": 30}, "pool_size": 4, "max_overflow": 4}
    else:
        # asyncpg waits 60 s for a connection by default: a black-holed database would hold each request that
        # long before its 503. Five seconds covers a loaded server's handshake.
        kwargs.update(pool_size=10, max_overflow=20, connect_args={"timeout": 5})
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _create_private(path: Path) -> None:
    """Create an SQLite database file readable by its owner alone (0600), unless it exists already.

    SQLite would create it 0644 (less the umask): every local account could read the residents' phone numbers and
    addresses. Created empty here first (an empty file is an empty database to SQLite), it gets 0600, and SQLite
    gives its ``-wal`` and ``-shm`` files the database file's own mode. An existing file keeps the mode its
    operator chose. A ``file:`` URI is left to SQLite.
    """
    if str(path).startswith("file:"):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    except FileExistsError:
        return
    os.close(fd)


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


class _WriterTurns:
    """Who may write to one SQLite file next: the tasks of this process, then the processes sharing the file.

    SQLite lets one connection write at a time. A writer that finds the file locked waits in SQLite's busy
    handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between retries and never hears that the lock came free;
    a worker's deliver jobs (a claim and a record each, hundreds a second) spent most of their time asleep there.
    So writers queue instead:

    * in this process, on an asyncio lock;
    * between processes (``serve`` and each ``alertsvc worker``), on an advisory ``flock`` of a file beside the
      database: tried without blocking first, else waited for in a thread of our own, which the kernel wakes as
      soon as the holder lets go.

    Measured at a million residents on SQLite (SMS, 2 cores): one worker 2,809-3,187 SMS/s with the busy handler
    against 2,874-3,473 with the asyncio turns. The file turns are what lets the dispatcher's writer thread
    (:mod:`alertsvc.store.writer`) and the main loop of the same process queue for each other. The turns are only
    about speed: SQLite's own locking still keeps writers apart, so a process that does not take them (a script, an
    old version) or a file lock that cannot be had (a read-only directory) only waits in the busy handler again.
    """

    def __init__(self, database: str | None) -> None:
        self.local = asyncio.Lock()
        self._lock_path = f"{database}-writers.lock" if is_file_database(database) else None
        self._fd: int | None = None
        self._waiter: ThreadPoolExecutor | None = None

    def _file(self) -> int | None:
        if self._fd is None and self._lock_path is not None and fcntl is not None:
            try:
                self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self._lock_path = None  # cannot share turns through this directory: the busy handler it is
                return None
            weakref.finalize(self, os.close, self._fd)
        return self._fd

    async def _take_file(self) -> int | None:
        """Lock the turns file for this process; the descriptor to unlock, or None when there is none."""
        fd = self._file()
        if fd is None or fcntl is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        if self._waiter is None:
            self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer-turn")
        waiting = asyncio.get_running_loop().run_in_executor(self._waiter, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The thread cannot be stopped: give the lock back as soon as it gets it.
            waiting.add_done_callback(lambda done: None if done.exception() else _unlock(fd))
            raise
        return fd

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self.local:
            fd = await self._take_file()
            try:
                yield
            finally:
                if fd is not None:
                    _unlock(fd)


def _unlock(fd: int) -> None:
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, _WriterTurns] = weakref.WeakKeyDictionary()
_HOLDS_WRITER_TURN: ContextVar[bool] = ContextVar("holds_sqlite_writer_turn", default=False)


def _sqlite_writer_turns(sessions: async_sessionmaker[AsyncSession]) -> _WriterTurns | None:
    """The writer turns that :func:`transaction` takes on SQLite, one per engine; None on other databases."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    turns = _SQLITE_WRITERS.get(bind.sync_engine)
    if turns is None:
        turns = _SQLITE_WRITERS[bind.sync_engine] = _WriterTurns(bind.url.database)
    return turns


def holds_writer_turn() -> bool:
    """Whether the running task is inside a :func:`transaction` that took the SQLite writer turns."""
    return _HOLDS_WRITER_TURN.get()


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on any error.

    On SQLite, transactions take turns (:class:`_WriterTurns`) instead of meeting in SQLite's busy handler. A
    transaction opened inside another in the same task (or a task it started) does not wait for itself.
    """
    turns = None if _HOLDS_WRITER_TURN.get() else _sqlite_writer_turns(sessions)
    if turns is None:
        async with sessions() as session, session.begin():
            yield session
        return
    async with turns.turn():
        token = _HOLDS_WRITER_TURN.set(True)
        try:
            async with sessions() as session, session.begin():
                yield session
        finally:
            _HOLDS_WRITER_TURN.reset(token)

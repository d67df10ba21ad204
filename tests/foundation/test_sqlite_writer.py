"""SQLite writer turns between processes and the writer thread (``alertsvc.store.db``, ``alertsvc.store.writer``).

SQLite keeps writers apart by itself; these tests check what the turns add: a transaction waits for the holder of
the turns file without blocking its event loop, gives the turn back whatever happens, and the writer thread's
transactions commit, roll back and cancel like the caller's own would.
"""

from __future__ import annotations

import asyncio
import contextvars
import fcntl
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from alertsvc.store.db import create_engine, is_sqlite_file, session_factory, transaction
from alertsvc.store.inline_sqlite import InlineConnection
from alertsvc.store.writer import SqliteWriter


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[str, AsyncEngine]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}"
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (name TEXT)"))
    try:
        yield url, engine
    finally:
        await engine.dispose()


@pytest.fixture
async def writer(database: tuple[str, AsyncEngine]) -> AsyncIterator[SqliteWriter]:
    running = SqliteWriter(database[0])
    try:
        yield running
    finally:
        await running.close()  # closing twice is harmless


async def _names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return [row[0] for row in await connection.execute(text("SELECT name FROM t ORDER BY rowid"))]


async def _insert(session: AsyncSession, name: str) -> str:
    await session.execute(text("INSERT INTO t VALUES (:name)"), {"name": name})
    return threading.current_thread().name


def _other_holder(url: str) -> int:
    """The turns file locked through a descriptor of its own, as another process would hold it."""
    fd = os.open(url.split("///", 1)[1] + "-writers.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


async def test_writer_commits_its_work_on_its_own_thread_and_returns_the_result(
    database: tuple[str, AsyncEngine], writer: SqliteWriter
) -> None:
    _, engine = database
    thread = await writer.run(_insert, "a")
    assert thread == "sqlite-writer"
    assert await _names(engine) == ["a"]
    await writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        await writer.run(_insert, "b")


async def test_writer_runs_sqlite_on_its_own_thread_not_on_aiosqlite_threads(writer: SqliteWriter) -> None:
    """Every sqlite3 call happens on the writer thread: no hand-off to an aiosqlite thread per statement."""

    async def thread_of_a_statement(session: AsyncSession) -> tuple[str, int]:
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        assert isinstance(driver, InlineConnection)
        driver._conn.create_function("thread_name", 0, lambda: threading.current_thread().name)
        name = (await session.execute(text("SELECT thread_name()"))).scalar_one()
        return name, threading.active_count()

    before = threading.active_count()
    name, during = await writer.run(thread_of_a_statement)
    assert name == "sqlite-writer"
    assert during == before  # aiosqlite would have started a thread for the writer's connection


async def test_writer_rolls_back_and_raises_what_the_work_raised(
    database: tuple[str, AsyncEngine], writer: SqliteWriter
) -> None:
    _, engine = database

    async def insert_then_fail(session: AsyncSession) -> None:
        await _insert(session, "half")
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        await writer.run(insert_then_fail)
    assert await _names(engine) == []
    await writer.run(_insert, "after")  # the turn was given back
    assert await _names(engine) == ["after"]


async def test_cancelling_the_caller_cancels_the_work_and_rolls_it_back(
    database: tuple[str, AsyncEngine], writer: SqliteWriter
) -> None:
    _, engine = database
    inserted = threading.Event()

    async def insert_then_hang(session: AsyncSession) -> None:
        await _insert(session, "never")
        inserted.set()
        await asyncio.sleep(30)

    task = asyncio.create_task(writer.run(insert_then_hang))
    await asyncio.to_thread(inserted.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(5):
        await writer.run(_insert, "next")
    assert await _names(engine) == ["next"]


async def test_writer_and_main_loop_transactions_of_one_process_take_turns(
    database: tuple[str, AsyncEngine], writer: SqliteWriter
) -> None:
    """Two engines on one file (the main loop's and the writer's) queue on the turns file, not in SQLite."""
    _, engine = database
    events: list[str] = []

    async def writer_work(session: AsyncSession) -> None:
        events.append("writer in")
        await _insert(session, "writer")
        events.append("writer out")

    async with transaction(session_factory(engine)) as session:
        events.append("main in")
        await _insert(session, "main")
        # Another job's task (a task started here would inherit this transaction's turn).
        pending = asyncio.create_task(writer.run(writer_work), context=contextvars.Context())
        await asyncio.sleep(0.3)  # the writer's work must not start while this holds the turn
        events.append("main out")
    await asyncio.wait_for(pending, timeout=5)
    assert events == ["main in", "main out", "writer in", "writer out"]
    assert await _names(engine) == ["main", "writer"]
    with pytest.raises(RuntimeError, match="wait for itself"):
        async with transaction(session_factory(engine)):
            await writer.run(_insert, "nested")


async def test_a_transaction_waits_for_another_process_without_blocking_its_loop(
    database: tuple[str, AsyncEngine],
) -> None:
    url, engine = database
    holder = _other_holder(url)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> float:
        async with transaction(session_factory(engine)) as session:
            await _insert(session, "waited")
        return time.monotonic()

    ticker = asyncio.create_task(tick())
    try:
        started = time.monotonic()
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done()
        assert ticks >= 10  # the loop ran on while the transaction waited
        os.close(holder)  # the other process lets go
        finished = await asyncio.wait_for(writing, timeout=5)
        assert finished - started >= 0.3
        assert await _names(engine) == ["waited"]
    finally:
        ticker.cancel()


async def test_a_transaction_cancelled_while_waiting_gives_the_turn_back(database: tuple[str, AsyncEngine]) -> None:
    url, engine = database
    holder = _other_holder(url)

    async def write() -> None:
        async with transaction(session_factory(engine)) as session:
            await _insert(session, "cancelled")

    waiting = asyncio.create_task(write())
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    os.close(holder)
    await asyncio.sleep(0.2)
    # The thread that was waiting got the lock and must have handed it straight back.
    probe = os.open(url.split("///", 1)[1] + "-writers.lock", os.O_RDWR)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "the cancelled transaction kept the turns file"
                await asyncio.sleep(0.01)
    finally:
        os.close(probe)
    async with asyncio.timeout(5):
        await write()  # and this process still takes turns
    assert await _names(engine) == ["cancelled"]


def test_only_sqlite_files_get_a_writer_thread() -> None:
    assert is_sqlite_file("sqlite+aiosqlite:////var/lib/alertsvc/alertsvc.db")
    assert not is_sqlite_file("sqlite+aiosqlite:///:memory:")
    assert not is_sqlite_file("sqlite+aiosqlite://")
    assert not is_sqlite_file("postgresql+asyncpg://root@127.0.0.1/test")

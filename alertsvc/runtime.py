"""The long-lived resources of one service process, made at start-up and closed at shutdown.

Held on ``app.state.runtime`` for the API and passed into the arq worker's ``ctx``, so both sides share one
engine, one Redis pool and (in the embedded default) one Redis server. On an SQLite file the dispatcher's write
transactions go through :meth:`Runtime.write` to a writer thread with an engine of its own
(:mod:`alertsvc.store.writer`), started at the first of them.

Units of work (the convention between routers and domain packages): a router in ``web/`` or ``api/`` never opens
a session. It calls a domain function with the Runtime, and that function owns its unit of work: it opens
``runtime.sessions()`` to read, or ``transaction(runtime.sessions)`` (:func:`alertsvc.store.db.transaction`) to
change something, committed when it returns and rolled back when it raises; so what a request changes is decided in
the domain package that owns the table, in one place. It returns plain values, or rows loaded in full before its
session closed (the factory does not expire them on commit), and nothing lazy is read afterwards. Functions that
take an ``AsyncSession`` first are the building blocks these compose inside one transaction, for other domain
functions, jobs and the command line; they never commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import redis.exceptions
import sqlalchemy.exc
from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alertsvc.embedded_redis import EmbeddedRedis
from alertsvc.errors import StartupRefused
from alertsvc.geo.zones import ZoneRegistry
from alertsvc.resources import config_dir
from alertsvc.settings import Settings
from alertsvc.store.db import create_engine, is_sqlite_file, session_factory, transaction
from alertsvc.store.migrate import check_schema, upgrade
from alertsvc.store.writer import SqliteWriter

log = logging.getLogger(__name__)
T = TypeVar("T")

UNAVAILABLE: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,  # connection refused or lost; SQLite "database is locked"
    sqlalchemy.exc.InterfaceError,  # a connection closed under us
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    sqlalchemy.exc.DisconnectionError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,  # a driver's own refusal before SQLAlchemy wraps it (asyncpg connecting)
)
"""The failures that say the runtime's database or Redis is not answering for now, not that the request or the
code is wrong: the API answers them with 503 and ``Retry-After`` (:mod:`alertsvc.api.problems`)."""


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    redis_url: str
    embedded_redis: EmbeddedRedis | None = field(default=None)
    _zones: ZoneRegistry | None = field(default=None, repr=False)
    _writer: SqliteWriter | None = field(default=None, repr=False)

    @cached_property
    def _on_sqlite_file(self) -> bool:
        return is_sqlite_file(self.settings.resolved_database_url)

    async def write(self, work: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await work(session, *args)`` in one write transaction; its result.

        On an SQLite file the work runs on the writer thread (:mod:`alertsvc.store.writer`), started at the first
        call; elsewhere in a transaction on the caller's loop. For the dispatcher's frequent writes.
        """
        if self._writer is None and self._on_sqlite_file:
            self._writer = SqliteWriter(self.settings.resolved_database_url)
        if self._writer is not None:
            return await self._writer.run(work, *args)
        async with transaction(self.sessions) as session:
            return await work(session, *args)

    @property
    def zones(self) -> ZoneRegistry:
        """Named zones from ``ALERTSVC_ZONES_DIR`` (default: the project's ``config/zones``), loaded once."""
        if self._zones is None:
            directory = self.settings.zones_dir or (config_dir() / "zones")
            registry = ZoneRegistry()
            if Path(directory).is_dir():
                registry.load_dir(directory)
            self._zones = registry
        return self._zones

    async def ping(self, each_within: float = 2.0) -> dict[str, str]:
        """Whether the database and Redis answer, each within ``each_within`` seconds (the readiness probe; each is
        bounded on its own, so a hung database still lets Redis be asked):
        ``{"database": "ok", "redis": "unavailable: ConnectionError"}``. Only the error's class is given: a driver's
        message can carry an address or a statement's parameters."""

        async def database() -> None:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def redis() -> None:
            await self.redis.ping()

        async def answer(check: Callable[[], Awaitable[None]]) -> str:
            try:
                async with asyncio.timeout(each_within):
                    await check()
            except Exception as exc:
                return f"unavailable: {type(exc).__name__}"
            return "ok"

        # Asked side by side: a stalled database and a stalled Redis still answer the probe within one bound.
        database_state, redis_state = await asyncio.gather(answer(database), answer(redis))
        checks = {"database": database_state, "redis": redis_state}
        return checks

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
        await self.redis.aclose()
        await self.engine.dispose()
        if self.embedded_redis is not None:
            self.embedded_redis.stop()


def redis_settings(url: str) -> RedisSettings:
    """arq connection settings for ``url``, with retries so a Redis restart is ridden out, not fatal."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_retries = 30
    settings.conn_retry_delay = 1
    settings.retry_on_timeout = True
    return settings


async def open_runtime(settings: Settings, migrate: bool = True) -> Runtime:
    """Connect to (or start) everything the service needs; migrate the database first when asked."""
    embedded: EmbeddedRedis | None = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(settings.data_dir / "redis").start()
        redis_url = embedded.url
        log.info("started embedded Redis on %s", redis_url)
    engine = create_engine(settings.resolved_database_url)
    try:
        if migrate:
            await upgrade(engine)
        redis = await create_pool(redis_settings(redis_url))
    except BaseException:
        await engine.dispose()
        if embedded is not None:
            embedded.stop()
        raise
    return Runtime(settings, engine, session_factory(engine), redis, redis_url, embedded)


async def _refuse_evicting_redis(url: str) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    where = redis_settings(url)
    client = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        info = await client.info("memory")
    except (RedisError, OSError) as exc:
        log.warning(
            "could not read the maxmemory-policy of Redis at %s:%s (%s)", where.host, where.port, type(exc).__name__
        )
        return
    finally:
        await client.aclose()
    policy = str(info.get("maxmemory_policy", "noeviction"))
    if policy != "noeviction":
        raise StartupRefused(
            f"Redis at {where.host}:{where.port} has maxmemory-policy {policy}, which may evict queued jobs and rate "
            "limits: run CONFIG SET maxmemory-policy noeviction there (and set it in its redis.conf)"
        )


async def check_startup(settings: Settings, *, migrates: bool) -> None:
    """Refuse to start (:class:`~alertsvc.errors.StartupRefused`, one line) against a part that would lose work.

    * An external Redis whose ``maxmemory-policy`` is not ``noeviction``: short of memory it would drop queued
      jobs and rate-limit counters without a word (arq's job keys expire, so ``volatile-*`` policies evict them
      too). The embedded Redis is started with ``noeviction``. A Redis that does not answer is not refused here:
      the service waits for it as for a restarted one, and checks it again at the next start.
    * A database schema newer than this code's, or older or missing when this process does not migrate it
      (``alertsvc worker``; ``serve`` migrates first). A database that does not answer is left to the start-up
      that follows, as before.
    """
    if settings.redis_url:
        await _refuse_evicting_redis(settings.redis_url)
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(settings.resolved_database_url)
    try:
        await check_schema(engine, migrates=migrates)
    except (DBAPIError, OSError) as exc:
        log.warning("could not check the database schema (%s)", type(exc).__name__)
    finally:
        await engine.dispose()

"""The benchmark's scratch database: created, migrated and bulk-loaded with a population, measured for targeting,
set up between alerts, and dropped.

The schema comes from alertsvc's own migrations, so the pipeline runs against what production runs on; the rows
go in through the fastest bulk path of each database (stdlib ``sqlite3`` ``executemany``, asyncpg ``COPY``), not
through alertsvc, because loading a million residents through the API would take longer than the benchmark
itself and is measured by ``bench/import_residents.py`` instead. A PostgreSQL database is created and dropped
through the ``test`` database of the server given; a SQLite one is a file in the run's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench._fanout.population import Population, rounded_polygon

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

SQLITE_PREFIX = "sqlite+aiosqlite:///"


@dataclass
class Database:
    """One scratch database: its kind (``sqlite`` or ``postgresql``), the URL the services get, and for
    PostgreSQL where to drop it from."""

    kind: str
    url: str
    admin_dsn: str | None = None
    name: str | None = None

    @property
    def asyncpg_dsn(self) -> str:
        return self.url.replace("postgresql+asyncpg://", "postgresql://")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.removeprefix(SQLITE_PREFIX))


async def create_database(kind: str, tmp: Path, size: int, pg_base: str) -> Database:
    """An empty database of ``kind`` for ``size`` residents: a file under ``tmp``, or a new PostgreSQL database
    on the server ``pg_base`` (dropped first if a run that was killed left it behind)."""
    if kind == "sqlite":
        return Database(kind, f"{SQLITE_PREFIX}{tmp / f'fanout-{size}.sqlite3'}")
    import asyncpg

    name = f"alertsvc_bench_fanout_{size}_{os.getpid()}"
    admin = await asyncpg.connect(f"{pg_base}/test")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{pg_base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    return Database(kind, url, f"{pg_base}/test", name)


async def drop_database(database: Database) -> None:
    if database.kind != "postgresql" or database.admin_dsn is None:
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(f"{database.sqlite_path}{suffix}").unlink, missing_ok=True)
        return
    import asyncpg

    admin = await asyncpg.connect(database.admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def engine_of(database: Database) -> AsyncIterator[AsyncEngine]:
    """alertsvc's own engine for the database (its pragmas and pool), disposed of on the way out."""
    from alertsvc.store.db import create_engine

    engine = create_engine(database.url)
    try:
        yield engine
    finally:
        await engine.dispose()


def load_sqlite(path: Path, population: Population) -> None:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.executemany(
        "INSERT INTO residents (id, ref, lat, lon, language, timezone, test_recipient, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'en', 'UTC', 0, ?, ?)",
        ((*r, now, now) for r in population.residents),
    )
    db.executemany(
        "INSERT INTO contacts (id, resident_id, channel, address, confirmed_at, verify_attempts, created_at) "
        "VALUES (?, ?, ?, ?, ?, 0, ?)",
        ((*c, now if population.confirmed_at_load(c) else None, now) for c in population.contacts),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def load_postgresql(dsn: str, population: Population) -> None:
    import asyncpg

    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "residents",
            columns=["id", "ref", "lat", "lon", "language", "timezone", "test_recipient", "created_at", "updated_at"],
            records=((*r, "en", "UTC", False, now, now) for r in population.residents),
        )
        await conn.copy_records_to_table(
            "contacts",
            columns=["id", "resident_id", "channel", "address", "confirmed_at", "verify_attempts", "created_at"],
            records=((*c, now if population.confirmed_at_load(c) else None, 0, now) for c in population.contacts),
        )
        for table in ("residents", "contacts"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def migrate_and_load(database: Database, population: Population) -> float:
    """Migrate the database to the newest schema, load the population; the seconds the loading took."""
    from alertsvc.store.migrate import upgrade

    async with engine_of(database) as engine:
        await upgrade(engine)
    started = time.perf_counter()
    if database.kind == "sqlite":
        await asyncio.to_thread(load_sqlite, database.sqlite_path, population)
    else:
        await load_postgresql(database.asyncpg_dsn, population)
    return time.perf_counter() - started


async def targeting_seconds(database: Database, repeat: int = 3) -> tuple[float, int]:
    """Best time of the bbox query + exact test over the database for the alert's polygon, and how many inside.

    The fan-out's own functions (``residents_in_boxes``, ``TargetArea.contains``) in this process, so the figure
    is the targeting alone, without the planning and sending the pipeline does around it.
    """
    from alertsvc.geo.targeting import TargetArea, bbox_filter_params
    from alertsvc.store.audience import residents_in_boxes
    from alertsvc.store.db import session_factory

    target = TargetArea([rounded_polygon()])
    boxes = bbox_filter_params(target)
    best, found = float("inf"), 0
    async with engine_of(database) as engine:
        sessions = session_factory(engine)
        for _ in range(repeat):
            started = time.perf_counter()
            found = 0
            async with sessions() as session:
                async for chunk in residents_in_boxes(session, boxes):
                    found += int(np.count_nonzero(target.contains(chunk.lats, chunk.lons)))
            best = min(best, time.perf_counter() - started)
    return best, found


async def set_confirmed(database: Database, contact_ids: Sequence[int], confirmed: bool) -> None:
    """Confirm (or unconfirm) these contacts: each channel's alert reaches only the contacts confirmed for it."""
    from sqlalchemy import update

    from alertsvc.store.models import Contact

    value = datetime.now(UTC) if confirmed else None
    async with engine_of(database) as engine, engine.begin() as conn:
        for start in range(0, len(contact_ids), 20_000):
            chunk = list(contact_ids[start : start + 20_000])
            await conn.execute(update(Contact).where(Contact.id.in_(chunk)).values(confirmed_at=value))


async def clear_deliveries(database: Database) -> None:
    """Delete every delivery, so that each alert starts from the same table size."""
    from sqlalchemy import delete

    from alertsvc.store.models import Delivery

    async with engine_of(database) as engine, engine.begin() as conn:
        await conn.execute(delete(Delivery))

"""Storage on both databases: migrations up and down, UTC timestamps, the append-only audit log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError

from alertsvc.runtime import Runtime
from alertsvc.security.audit import record
from alertsvc.store import migrate
from alertsvc.store.db import create_engine, session_factory, transaction
from alertsvc.store.migrate import alembic_config, script_head, upgrade
from alertsvc.store.models import AuditEvent, User


async def test_migrations_go_down_and_up_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)

        def down_and_up(connection: object) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
            command.upgrade(config, "head")

        async with engine.begin() as connection:
            await connection.run_sync(down_and_up)
            tables = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
        assert {"alerts", "deliveries", "residents", "contacts", "audit_events", "webhooks"} <= set(tables)
    finally:
        await engine.dispose()


def test_head_read_without_alembic_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert [script_head()] == ScriptDirectory.from_config(alembic_config()).get_heads()


async def test_upgrade_skips_alembic_only_at_head(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(database_url)
    ran: list[str] = []
    real = migrate._upgrade

    def counting(connection: Connection, revision: str) -> None:
        ran.append(revision)
        real(connection, revision)

    monkeypatch.setattr(migrate, "_upgrade", counting)
    try:
        await upgrade(engine, "0001")
        await upgrade(engine)  # behind: Alembic migrates
        await upgrade(engine)  # at head: nothing to do, Alembic not consulted
        async with engine.connect() as connection:
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    finally:
        await engine.dispose()
    assert ran == ["0001", "head"] and version == script_head()


async def test_timestamps_come_back_aware_utc(runtime: Runtime) -> None:
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=-4)))
    async with runtime.sessions() as session, session.begin():
        session.add(User(email="t@example.org", password_hash="x", role="admin", locked_until=moment))
    async with runtime.sessions() as session:
        user = await session.scalar(select(User))
    assert user is not None and user.locked_until == moment and user.locked_until.tzinfo == UTC


async def test_audit_log_refuses_update_and_delete(runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        await record(session, "test", "thing.do", "thing", "1", {"n": 1})
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with runtime.sessions() as session, session.begin():
                await session.execute(text(statement))
    async with runtime.sessions() as session:
        rows = list(await session.scalars(select(AuditEvent)))
    assert [(row.actor, row.action) for row in rows] == [("test", "thing.do")]


def _not_a_word_index(name: str | None, type_: str, _parent: object) -> bool:
    """The address gazetteer's word index is each database's own (migration 0013), not declared by the models:
    SQLite's FTS5 virtual table with its shadow tables, PostgreSQL's GIN index on an expression."""
    if type_ == "table" and name is not None and name.startswith("addresses_fts"):
        return False
    return not (type_ == "index" and name == "ix_addresses_search")


async def test_the_models_match_the_migrations(database_url: str) -> None:
    """What ``store.models`` declares (tables, columns, indexes with their partial predicates) is what the
    migrations build, on both databases: a model change without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from alertsvc.store.models import Base

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"include_name": _not_a_word_index}), Base.metadata
                )
            )
        assert differences == []
    finally:
        await engine.dispose()


async def test_sqlite_transactions_of_one_process_take_turns_and_a_nested_one_does_not_wait(tmp_path: Path) -> None:
    """Writers queue in the process instead of sleeping in SQLite's busy handler; nesting cannot deadlock."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    sessions = session_factory(engine)
    inside: list[str] = []
    overlaps: list[int] = []

    async def writer(name: str) -> None:
        async with transaction(sessions) as session:
            inside.append(name)
            overlaps.append(len(inside))
            await session.execute(text("INSERT INTO t VALUES (:name)"), {"name": name})
            await asyncio.sleep(0.05)  # hold the write lock as a slow batch would
            inside.remove(name)

    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (name TEXT)"))
        await asyncio.wait_for(asyncio.gather(*(writer(f"w{i}") for i in range(6))), timeout=10)
        assert overlaps == [1] * 6  # one at a time, none failed or timed out
        async with transaction(sessions) as outer:  # a transaction inside another in the same task
            await outer.execute(text("INSERT INTO t VALUES ('outer')"))
            async with asyncio.timeout(5):
                async with transaction(sessions) as inner:
                    assert (await inner.scalar(text("SELECT count(*) FROM t"))) == 6
        async with engine.connect() as connection:
            assert (await connection.scalar(text("SELECT count(*) FROM t"))) == 7
    finally:
        await engine.dispose()

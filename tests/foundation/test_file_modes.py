"""The SQLite database holds residents' phone numbers and addresses: its file, its ``-wal`` and ``-shm`` and the
writers' lock beside it are created readable by their owner alone (0600), whatever the umask allows."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from alertsvc.store.db import create_engine, session_factory, transaction
from alertsvc.store.migrate import upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_db_upgrade_creates_the_database_file_0600(tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "alertsvc.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSVC_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{database}", ALERTSVC_DATA_DIR=str(tmp_path / "var"))
    result = subprocess.run(
        [sys.executable, "-m", "alertsvc.cli", "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True,
        text=True, timeout=120, check=False, umask=0o022,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert mode(database) == 0o600


async def test_its_wal_shm_and_writers_lock_are_0600_too(tmp_path: Path) -> None:
    database = tmp_path / "alertsvc.sqlite3"
    previous = os.umask(0o022)
    try:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        try:
            await upgrade(engine)
            async with transaction(session_factory(engine)) as session:  # takes the writers' turn (the lock file)
                await session.execute(text("DELETE FROM users WHERE id < 0"))
            companions = [Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-writers.lock")]
            assert all(path.exists() for path in companions)  # the engine's connections hold the WAL open
            assert {path.name: mode(path) for path in [database, *companions]} == {
                path.name: 0o600 for path in [database, *companions]
            }
        finally:
            await engine.dispose()
    finally:
        os.umask(previous)


async def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    """An operator's choice (a group that backs the file up) is not undone at the next start."""
    database = tmp_path / "alertsvc.sqlite3"
    database.touch(mode=0o640)
    database.chmod(0o640)
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    await engine.dispose()
    assert mode(database) == 0o640

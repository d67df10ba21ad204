"""Failing parts refused at start, each by a real process with one line and exit code 2, never a traceback: an
external Redis that may evict keys (queued jobs, rate limits) and a database whose schema is not the code's.
``alertsvc worker`` never migrates, so an older schema stops it too; ``alertsvc serve`` migrates an older one first,
so only a newer one stops it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from alertsvc.embedded_redis import find_redis_server, free_port
from alertsvc.store.db import create_engine
from alertsvc.store.migrate import script_head, upgrade

FIX = "CONFIG SET maxmemory-policy noeviction"


def environment(tmp_path: Path, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTSVC_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'alertsvc.sqlite3'}",
        REDIS_URL=redis_url,
        ALERTSVC_DATA_DIR=str(tmp_path / "var"),
        ALERTSVC_SANDBOX="1",
    )
    return env


def alertsvc(tmp_path: Path, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``alertsvc args...`` run to its end; a process that does not stop within a minute fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "alertsvc.cli", *args], env=environment(tmp_path, redis_url), cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit code 2 and one line on stderr (after the log lines, if any) holding ``words``, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("alertsvc: ") and all(word in last for word in words), result.stderr[-2000:]
    return last


def starts(tmp_path: Path, redis_url: str, args: list[str], says: str, within: float = 60.0) -> bool:
    """Whether ``alertsvc args...`` gets as far as writing ``says``; stopped with SIGINT either way."""
    log = tmp_path / f"{args[0]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "alertsvc.cli", *args], env=environment(tmp_path, redis_url), cwd=tmp_path,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline and process.poll() is None and says not in log.read_text():
                time.sleep(0.1)
            return says in log.read_text()
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


@pytest.fixture
def evicting_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of this test's own, as an operator might leave it: ``maxmemory-policy allkeys-lru``."""
    port = free_port()
    server = subprocess.Popen(
        [find_redis_server(), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        server.wait(10)


def test_worker_and_serve_refuse_a_redis_that_may_evict_keys(tmp_path: Path, evicting_redis: str) -> None:
    assert alertsvc(tmp_path, evicting_redis, "db", "upgrade").returncode == 0
    assert_refused(alertsvc(tmp_path, evicting_redis, "worker"), "allkeys-lru", FIX)
    client = redis.Redis.from_url(evicting_redis)
    try:
        client.config_set("maxmemory-policy", "volatile-lru")  # evicts keys with an expiry: arq's jobs have one
        assert_refused(alertsvc(tmp_path, evicting_redis, "serve", "--port", str(free_port())), "volatile-lru", FIX)
        client.config_set("maxmemory-policy", "noeviction")  # the fix the line names: then both start
    finally:
        client.close()
    assert starts(tmp_path, evicting_redis, ["worker"], "arq worker starting")
    assert starts(tmp_path, evicting_redis, ["serve", "--port", str(free_port())], "is up:")


async def stamp(database: Path, revision: str) -> None:
    """Migrate a fresh SQLite file only as far as ``revision``: an older schema, as a worker of a newer release
    would find it before anyone ran ``alertsvc db upgrade``."""
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await upgrade(engine, revision)
    finally:
        await engine.dispose()


def written_revision(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]


async def test_worker_refuses_an_older_or_missing_schema_until_db_upgrade(tmp_path: Path, redis_url: str) -> None:
    head = script_head()
    assert head is not None and head != "0004"
    fresh = assert_refused(alertsvc(tmp_path, redis_url, "worker"), "not created yet", "run alertsvc db upgrade")
    assert head in fresh
    await stamp(tmp_path / "alertsvc.sqlite3", "0004")
    assert_refused(alertsvc(tmp_path, redis_url, "worker"), "revision 0004", "older", head, "run alertsvc db upgrade")
    assert written_revision(tmp_path / "alertsvc.sqlite3") == ["0004"]  # the worker migrated nothing
    assert alertsvc(tmp_path, redis_url, "db", "upgrade").returncode == 0
    assert starts(tmp_path, redis_url, ["worker"], "arq worker starting")


async def test_serve_migrates_an_older_schema(tmp_path: Path, redis_url: str) -> None:
    await stamp(tmp_path / "alertsvc.sqlite3", "0004")
    assert starts(tmp_path, redis_url, ["serve", "--port", str(free_port())], "is up:")
    assert written_revision(tmp_path / "alertsvc.sqlite3") == [script_head()]


def test_worker_serve_and_db_upgrade_refuse_a_newer_schema(tmp_path: Path, redis_url: str) -> None:
    database = tmp_path / "alertsvc.sqlite3"
    assert alertsvc(tmp_path, redis_url, "db", "upgrade").returncode == 0
    with sqlite3.connect(database) as db:  # what a newer release's migration would leave behind
        db.execute("UPDATE alembic_version SET version_num = '9001_from_the_future'")
    for args in (["worker"], ["serve", "--port", str(free_port())], ["db", "upgrade"]):
        assert_refused(alertsvc(tmp_path, redis_url, *args), "9001_from_the_future", "newer")
    assert written_revision(database) == ["9001_from_the_future"]

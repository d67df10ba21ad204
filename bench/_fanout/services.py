"""The services under test as the benchmark starts them: ``alertsvc serve`` (API only) and N ``alertsvc worker``
processes, configured by environment only, logging to files, stopped with SIGTERM as an orchestrator would.

Separate processes and the environment (no flags, no patches unless ``--worker-patch`` asks for them) so that what
is measured is what an operator deploys: the real Twilio, SMTP and push adapters pointed at the stand-ins, a real
Redis, an API key made with ``alertsvc keys create``. Every process starts from the benchmark's own checkout
(``ROOT``), so a run from a worktree measures that worktree's code.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench._bare_clients import FROM
from bench._fanout.children import python_module, stop_process
from bench._fanout.config import ROOT, SECRET
from bench._fanout.database import Database
from bench._fanout.standin import Standin


def service_env(database: Database, redis_url: str, standins: dict[str, Standin], tmp: Path,
                extra: dict[str, str]) -> dict[str, str]:  # fmt: skip
    """The environment of the API and the workers: the database, Redis, the stand-ins as providers, the API's
    address as the public URL (the workers put ``/hooks/twilio/status`` under it as each SMS's ``StatusCallback``,
    and the API checks the callbacks' signatures over it), ``extra`` (``--worker-env``) last, so it can override
    any of them."""
    from standins.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    return {
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_url,
        "ALERTSVC_PUBLIC_URL": api_url(),
        "ALERTSVC_SANDBOX": "0",
        "ALERTSVC_SECRET_KEY": SECRET,
        "ALERTSVC_DATA_DIR": str(tmp / "data"),
        "ALERTSVC_RUN_WORKER_IN_PROCESS": "0",
        "ALERTSVC_TWILIO_BASE_URL": f"http://127.0.0.1:{standins['sms'].port}",
        "ALERTSVC_TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "ALERTSVC_TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "ALERTSVC_SMTP_URL": f"smtp://127.0.0.1:{standins['email'].port}",
        "ALERTSVC_EMAIL_FROM": FROM,
        "ALERTSVC_PUSH_ALLOW_PRIVATE": "1",
        "PYTHONWARNINGS": "ignore",
        **extra,
    }


def alertsvc_command(*args: str) -> list[str]:
    """``alertsvc ARGS`` with this interpreter (the installed entry point may belong to another checkout)."""
    return [sys.executable, "-c", "import sys; from alertsvc.cli import main; sys.exit(main())", *args]


def worker_command(patches: Sequence[str]) -> list[str]:
    """``alertsvc worker``, or with ``patches`` the worker with those experiments applied in its process."""
    if patches:
        return python_module("bench._fanout.worker_patches", *patches)
    return alertsvc_command("worker")


def start_logged(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a service with ``env`` on top of this process's environment, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def stop_service(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as an orchestrator stops a service, and the 20 s of grace a worker gets to finish its jobs."""
    stop_process(process, timeout=20)


def api_port() -> int:
    """The API's port: one per benchmark process, so that two benchmarks on the machine do not collide."""
    return 18000 + os.getpid() % 1000


def api_url() -> str:
    return f"http://127.0.0.1:{api_port()}"


def start_api(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``alertsvc serve`` on :func:`api_port`; the process and its base URL."""
    command = alertsvc_command("serve", "--host", "127.0.0.1", "--port", str(api_port()))
    return start_logged(command, env, log), api_url()


def create_key(env: dict[str, str]) -> str:
    """A new API key holding ``alerts:send`` (so an alert is approved at once) and ``alerts:read``."""
    command = alertsvc_command("keys", "create", f"bench-{time.time_ns()}", "--scopes", "alerts:read,alerts:send")
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1].strip()


async def wait_http(url: str, within: float = 60.0) -> None:
    """Return once ``url`` answers 200; fail after ``within`` seconds."""
    import httpx

    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


async def flush_redis(url: str) -> None:
    """Empty the benchmark's Redis database: no job or rate-limit state left from the last configuration."""
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()

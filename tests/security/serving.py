"""A real ``alertsvc`` process for the tests here, configured only through its environment, its output in files
(no pipe to fill up and stall it), stopped as Ctrl+C would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ALERTSVC = [sys.executable, "-m", "alertsvc.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alertsvc_env(directory: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The embedded defaults in ``directory`` (SQLite file, Redis of its own, sandbox): nothing from the caller's
    ``ALERTSVC_*``, ``DATABASE_URL`` or ``REDIS_URL``, then ``extra``."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ALERTSVC_") and key not in {"DATABASE_URL", "REDIS_URL", "FORWARDED_ALLOW_IPS"}
    }
    environment.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{directory / 'alertsvc.sqlite3'}",
        ALERTSVC_DATA_DIR=str(directory / "var"),
        ALERTSVC_SANDBOX="1",
    )
    environment.update(extra or {})
    return environment


def run(directory: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``alertsvc args...`` to its end (at most two minutes)."""
    return subprocess.run(
        [*ALERTSVC, *args], capture_output=True, text=True, env=alertsvc_env(directory, env), cwd=directory,
        timeout=120, check=False,
    )  # fmt: skip


class Serving:
    """``alertsvc serve`` on a free port of 127.0.0.1; ``output()`` is what it wrote so far (stdout and stderr)."""

    def __init__(self, directory: Path, env: dict[str, str] | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.out, self.err = directory / "stdout.txt", directory / "stderr.txt"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [*ALERTSVC, "serve", "--port", str(self.port)], stdout=out, stderr=err,
                env=alertsvc_env(directory, env), cwd=directory,
            )  # fmt: skip

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def wait_until_up(self, within: float = 90.0) -> Serving:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if "is up:" in self.out.read_text():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"alertsvc serve did not come up; its output:\n{self.output()[-3000:]}")

    def wait_for_output(self, text: str, within: float = 10.0) -> str:
        """The output once ``text`` is in it (log lines are written as requests end, not before the answer)."""
        deadline = time.monotonic() + within
        while text not in (output := self.output()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

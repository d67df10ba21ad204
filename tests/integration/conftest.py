"""Fixtures of the tests that run real ``alertsvc worker`` processes against the Twilio stand-in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import pytest

from standins.twilio_api import TwilioStandin

WORKER_MAIN = "import sys; from alertsvc.cli import main; sys.exit(main(['worker']))"


class WorkerProcesses:
    """``alertsvc worker`` processes of one test; :meth:`close` kills whatever still runs."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._running: list[tuple[subprocess.Popen[bytes], IO[bytes], Path]] = []

    def start(self, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        path = self.log_dir / f"{name}.log"
        log = path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER_MAIN],
            env=env,
            cwd=self.log_dir,  # no stray .env is read
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._running.append((process, log, path))
        return process

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL, as a crash or the OOM killer would: no handler, no cleanup."""
        process.kill()
        process.wait(10)

    def all_started(self) -> bool:
        """Every process has logged its start (imports done; it connects and polls right after)."""
        return all("arq worker starting" in path.read_text(errors="replace") for _, _, path in self._running)

    def logs(self) -> str:
        """The tail of each process's log, without the twilio client's line-per-request chatter."""
        parts = []
        for _, _, path in self._running:
            lines = [
                line for line in path.read_text(errors="replace").splitlines() if "twilio.async_http_client" not in line
            ]
            parts.append(f"--- {path.name}\n" + "\n".join(lines)[-6000:])
        return "\n".join(parts)

    def close(self) -> None:
        for process, log, _ in self._running:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            log.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[WorkerProcesses]:
    log_dir = tmp_path / "workers"
    log_dir.mkdir()
    processes = WorkerProcesses(log_dir)
    try:
        yield processes
    finally:
        processes.close()
        print(processes.logs())  # shown by pytest when the test failed


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandin]:
    async with TwilioStandin() as api:
        yield api

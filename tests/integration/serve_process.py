"""``alertsvc serve`` as a real process for the failure tests: the API, its connection pools and its error
handling exactly as in production, spoken to over HTTP on a port of its own.

Like :class:`tests.integration.conftest.WorkerProcesses`, it is configured through the environment only and run
from a directory of its own (no stray ``.env``); :meth:`ServeProcess.close` kills it and returns its log.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from alertsvc.embedded_redis import free_port

SERVE_MAIN = "import sys; from alertsvc.cli import main; sys.exit(main(['serve', '--port', sys.argv[1]]))"


class ServeProcess:
    """One ``alertsvc serve`` on 127.0.0.1 and a free port; :attr:`base_url` reaches it."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str = "serve") -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "ALERTSVC_PUBLIC_URL": self.base_url, "ALERTSVC_RUN_WORKER_IN_PROCESS": "0"}
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 30.0) -> ServeProcess:
        """Start it and wait until ``/healthz`` answers (imports, migrations and start-up checks done)."""
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-c", SERVE_MAIN, str(self.port)],
            env=self.env,
            cwd=self.log_path.parent,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + within
        while True:
            if self._process.poll() is not None:
                raise AssertionError(f"alertsvc serve exited with {self._process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"alertsvc serve did not answer within {within} s:\n{self.logs()}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:] if self.log_path.exists() else ""

    def close(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(10)
        if self._log is not None:
            self._log.close()

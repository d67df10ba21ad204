"""A child process spoken to line by line over its stdin and stdout: how the benchmark drives stand-ins and bare
clients, each in a process of its own so that none of them competes for the orchestrator's event loop.

The child answers a command line with one line (JSON where there are figures); ``stop`` closes its stdin (the
child's signal to finish) and terminates it if it does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import IO, Any

from bench._fanout.config import ROOT


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, and SIGKILL if it has not ended within ``timeout`` seconds (nothing if it has ended already)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m MODULE ARGS`` with this interpreter (from ``ROOT``, as children start)."""
    return [sys.executable, "-m", module, *args]


class Child:
    """A child process spoken to line by line on stdin/stdout (stand-ins and bare clients)."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            list(args),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
        )

    @property
    def stdout(self) -> IO[str]:
        assert self.process.stdout is not None
        return self.process.stdout

    def line(self) -> str:
        text = self.stdout.readline()
        if not text:
            raise RuntimeError(f"child {self.process.args!r} ended: {self.process.wait()}")
        return text.strip()

    def say(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def ask(self, text: str) -> dict[str, Any]:
        self.say(text)
        answer: dict[str, Any] = json.loads(self.line())
        return answer

    def stop(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            self.process.stdin.close()
        stop_process(self.process, timeout=10)

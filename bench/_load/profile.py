"""``--profile DIR``: a py-spy sampling profile of ``alertsvc serve`` while a scenario runs, and a short summary of
where its samples went, so that each rate in the table comes with what bounds it.

py-spy samples from outside the process, stopping it for the moment it reads each stack (at 200 Hz: a small
cost, which is why the table's runs are made without ``--profile``); ``--nonblocking`` was tried and gave stale
stacks (coroutines shown running at an ``await`` they were suspended in). Idle samples are left out, and so are
threads blocked on a queue or a lock (py-spy counts some as busy: aiosqlite's and anyio's idle workers), so the
shares are of the time the server's threads were doing something; how much of a core that was is the table's
server CPU % (from ``/proc``, more exact than a sample count). SQLAlchemy's asyncio layer runs the ORM in
greenlets, and py-spy shows a greenlet's stack without the request's frames above it: the "alertsvc functions"
list undercounts database work, which the package list counts in full. The raw stacks are kept
(``DIR/DB-SCENARIO.txt``, Brendan Gregg's collapsed format: feed them to ``flamegraph.pl`` or speedscope) and the
summary beside them (``.summary.txt``).
"""

from __future__ import annotations

import asyncio
import linecache
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

RATE = 200
"""Samples a second: enough for a 10 s scenario to rank functions, little enough not to load a shared machine."""
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
WAITING = re.compile(r"\.(get|wait|acquire|join|select|poll)\(|\bsleep\(")
"""A source line on which a thread waits for work (``queue.get()``, ``lock.acquire()``, ...): py-spy's idle test
misses some of these (aiosqlite's and anyio's worker threads blocked on their queues), so they are set apart."""


def py_spy() -> str | None:
    """py-spy next to this interpreter (``pip install -e .[bench]``), or on PATH; None when there is none."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    """py-spy recording ``pid`` for ``seconds`` into ``output`` (raw stacks), started at once."""

    def __init__(self, pid: int, seconds: float, output: Path) -> None:
        self.output = output
        self.seconds = seconds
        self._started: asyncio.Task[asyncio.subprocess.Process | None] = asyncio.ensure_future(self._start(pid))

    async def _start(self, pid: int) -> asyncio.subprocess.Process | None:
        binary = py_spy()
        if binary is None:
            return None
        self.output.parent.mkdir(parents=True, exist_ok=True)
        return await asyncio.create_subprocess_exec(
            binary, "record", "--pid", str(pid), "--duration", str(max(1, round(self.seconds))), "--rate", str(RATE),
            "--format", "raw", "--output", str(self.output),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    async def finish(self) -> str:
        """Wait for py-spy (bounded: its duration and a margin), write and return the summary."""
        process = await self._started
        if process is None:
            return "py-spy not installed: no profile"
        try:
            await asyncio.wait_for(process.wait(), self.seconds + 30)
        except TimeoutError:
            process.kill()
            await process.wait()
        if not self.output.exists():
            return "py-spy wrote no profile"
        summary = summarise(self.output.read_text())
        self.output.with_suffix(".summary.txt").write_text(summary)
        return summary


def _frames(stack: str) -> list[tuple[str, str, int]]:
    frames = []
    for text in stack.split(";"):
        match = FRAME.match(text)
        frames.append((match["func"], match["file"], int(match["line"] or 0)) if match else (text, "", 0))
    return frames


def _waiting(file: str, line: int) -> bool:
    """Whether the source line (py-spy names files relative to ``sys.path``) is a wait for work."""
    for base in sys.path:
        path = Path(base) / file
        if base and path.is_file():
            return bool(WAITING.search(linecache.getline(str(path), line)))
    return False


def _where(file: str) -> str:
    """A frame's package: ``sqlalchemy``, ``alertsvc.tracking.machine``, or the standard library's module."""
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    if "/alertsvc/" in f"/{file}":
        module = "alertsvc/" + f"/{file}".split("/alertsvc/", 1)[1]
        return module.removesuffix(".py").replace("/", ".")
    parts = [p for p in file.split("/") if p]
    if not parts:
        return "?"
    if "lib/python" in file:
        return "stdlib:" + parts[-1].removesuffix(".py") if len(parts) > 1 else parts[0]
    return parts[0].removesuffix(".py")


def summarise(raw: str, top: int = 15) -> str:
    """Where the samples fell by package, the alertsvc functions on the stacks (inclusive), and
    the functions that were on top (self)."""
    leaf_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = waiting = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        func, file, number = frames[-1]
        if _waiting(file, number):
            waiting += count
            continue
        total += count
        leaf_package[_where(file)] += count
        self_time[f"{func} ({_where(file)})"] += count
        for name in {f"{f} ({_where(p)})" for f, p, _ in frames if _where(p).startswith("alertsvc.")}:
            ours[name] += count
    if not total:
        return "no samples"

    def table(title: str, counter: Counter[str]) -> list[str]:
        return [title] + [f"  {100 * n / total:5.1f} %  {name}" for name, n in counter.most_common(top)]

    lines = [f"{total} samples at {RATE} Hz, and {waiting} of threads waiting for work, left out below"]
    lines += table("where the samples were (package of the innermost frame):", leaf_package)
    lines += table("alertsvc functions on the stack (inclusive):", ours)
    lines += table("innermost functions (self):", self_time)
    return "\n".join(lines) + "\n"

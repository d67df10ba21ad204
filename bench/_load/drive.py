"""One scenario, measured: the work split over generator processes, started together, awaited within a bound, their
answers merged, and the CPU the server (and the Redis it uses) spent in the same window.

The generators are ``python -m bench._load.generator`` children (its docstring says why a plain asyncio loop); each
gets every P-th item, a P-th of the connections and of the target rate, and they start on one ``go`` line once all
have built their requests, so the window they are measured in is the same.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench._fanout.config import ROOT
from bench._fanout.sampling import cpu_seconds
from bench._load.generator import NOT_TRIED
from bench._load.profile import Profiler

PSI_CPU = Path("/proc/pressure/cpu")
"""Linux's pressure stall information: how long some task waited for a CPU (``some ... total=`` µs)."""
READY_WITHIN = 180.0
"""Seconds a generator may take to start and build its requests (signing 100,000 callbacks takes a few)."""


@dataclass
class Measured:
    """A scenario's figures, merged over its generator processes.

    ``requests``: every request sent; ``accepted``: answered 2xx; ``refused``: the rest (non-2xx answers, by status in
    ``statuses``, and transport errors and timeouts in ``errors``); ``seconds``: first request to last answer;
    ``rate``: accepted per second; p50/p99 of the accepted requests' latency (ms); CPU seconds of the generators,
    the server and the Redis server; ``outcomes``: per item, the bit mask of its accepted requests or ``NOT_TRIED``.
    """

    scenario: str
    database: str
    requests: int
    accepted: int
    seconds: float
    p50: float
    p99: float
    statuses: dict[str, int]
    errors: dict[str, int]
    generator_cpu_s: float
    server_cpu_s: float
    redis_cpu_s: float
    window_s: float
    stall_s: float
    processes: int
    items: int
    exhausted: bool
    outcomes: list[int] = field(repr=False, default_factory=list)
    lost: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return self.requests - self.accepted

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else float("nan")

    @property
    def generator_cpu_pct(self) -> float:
        return 100 * self.generator_cpu_s / self.seconds if self.seconds > 0 else float("nan")

    @property
    def server_cpu_pct(self) -> float:
        return 100 * self.server_cpu_s / self.window_s if self.window_s > 0 else float("nan")

    @property
    def stall_pct(self) -> float:
        """Share of the window in which some task on the machine waited for a CPU: the run's noise."""
        return 100 * self.stall_s / self.window_s if self.window_s > 0 else float("nan")

    @property
    def server_us_per_request(self) -> float:
        """The server's CPU per request answered (refused ones included: they cost it too)."""
        return 1e6 * self.server_cpu_s / self.requests if self.requests else float("nan")

    @property
    def redis_cpu_pct(self) -> float:
        return 100 * self.redis_cpu_s / self.window_s if self.window_s > 0 else float("nan")

    def refusals(self) -> str:
        """The refused requests by status and error, e.g. ``429×5400, timeout×3`` (empty when none)."""
        parts = [f"{code}×{n}" for code, n in self.statuses.items() if not 200 <= int(code) < 300]
        parts += [f"{name}×{n}" for name, n in self.errors.items()]
        return ", ".join(parts)


def cpu_stall_us() -> float:
    """Microseconds so far during which some runnable task on this machine waited for a CPU (NaN without PSI)."""
    try:
        some = PSI_CPU.read_text().splitlines()[0]
    except OSError:
        return float("nan")
    return float(some.rsplit("total=", 1)[1])


def split(items: list[Any], processes: int) -> list[list[Any]]:
    """Every P-th item to each process (so a rate-limited run spreads the list evenly over time)."""
    return [items[p::processes] for p in range(processes)]


async def _line(process: asyncio.subprocess.Process, within: float) -> str:
    assert process.stdout is not None
    text = await asyncio.wait_for(process.stdout.readline(), within)
    return text.decode().strip()


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End a generator we started, if it has not ended (it has, unless something went wrong)."""
    if process.returncode is None:
        process.kill()
        await process.wait()


def _cpu_of(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


async def run_scenario(scenario: str, database: str, specs: list[dict[str, Any]], tmp: Path, server_pids: list[int],
                       redis_pid: int, profile_to: Path | None = None) -> Measured:  # fmt: skip
    """Run one generator per spec (each with its share of the items), together; merge what they answer.

    ``server_pids``: every ``alertsvc serve`` process (``--servers``); their CPU is summed (the profile is the
    first one's).

    The spec's ``duration`` and ``timeout`` bound the wait: a generator that has not finished by then (plus a
    margin) is killed and the scenario fails.
    """
    processes: list[asyncio.subprocess.Process] = []
    results: list[dict[str, Any]] = []
    bound = max(float(s["duration"]) + float(s["timeout"]) for s in specs) + 30
    try:
        for n, spec in enumerate(specs):
            spec_path, result_path = tmp / f"gen-{scenario}-{n}.json", tmp / f"gen-{scenario}-{n}.out.json"
            spec_path.write_text(json.dumps(spec))
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench._load.generator", str(spec_path), str(result_path),
                cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            processes.append(process)
        for process in processes:
            if await _line(process, READY_WITHIN) != "ready":
                raise RuntimeError(f"generator for {scenario} did not start")
        server_before, redis_before, stall_before = _cpu_of(server_pids), cpu_seconds(redis_pid), cpu_stall_us()
        started = asyncio.get_running_loop().time()
        profiler = Profiler(server_pids[0], float(specs[0]["duration"]), profile_to) if profile_to else None
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        for process in processes:
            if await _line(process, bound) != "done":
                raise RuntimeError(f"generator for {scenario} ended without a result")
            await asyncio.wait_for(process.wait(), 10)
        window = asyncio.get_running_loop().time() - started
        server_cpu, redis_cpu = _cpu_of(server_pids) - server_before, cpu_seconds(redis_pid) - redis_before
        stall = (cpu_stall_us() - stall_before) / 1e6
        if profiler is not None:
            await profiler.finish()
        for n in range(len(specs)):
            results.append(json.loads((tmp / f"gen-{scenario}-{n}.out.json").read_text()))
    finally:
        for process in processes:
            await _stop(process)
    return merge(scenario, database, results, window, server_cpu, redis_cpu, stall)


def merge(scenario: str, database: str, results: list[dict[str, Any]], window: float, server_cpu: float,
          redis_cpu: float, stall: float) -> Measured:  # fmt: skip
    """One :class:`Measured` from the generators' results; item ``j`` of process ``p`` is item ``p + P*j``."""
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    for result in results:
        for code, n in result["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
        for name, n in result["errors"].items():
            errors[name] = errors.get(name, 0) + n
    latencies = np.array([x for r in results for x in r["latencies_ms"]], dtype=float)
    p50, p99 = (np.percentile(latencies, [50, 99]) if latencies.size else (math.nan, math.nan))
    count = len(results)
    items = sum(r["items"] for r in results)
    outcomes = [NOT_TRIED] * items
    for p, result in enumerate(results):
        for j, outcome in enumerate(result["outcomes"]):
            outcomes[p + count * j] = outcome
    return Measured(
        scenario=scenario,
        database=database,
        requests=sum(r["requests"] for r in results),
        accepted=sum(r["accepted"] for r in results),
        seconds=max(r["last"] for r in results) - min(r["first"] for r in results),
        p50=float(p50),
        p99=float(p99),
        statuses=statuses,
        errors=errors,
        generator_cpu_s=sum(r["cpu_s"] for r in results),
        server_cpu_s=server_cpu,
        redis_cpu_s=redis_cpu,
        window_s=window,
        stall_s=stall,
        processes=count,
        items=items,
        exhausted=all(r["exhausted"] for r in results),
        outcomes=outcomes,
    )

"""The load generator: one process replaying a list of prepared requests against ``alertsvc serve`` over a bounded
pool of keep-alive connections, flat out or at a target rate, for at most a given time; it reports every answer.

Why a plain asyncio + aiohttp loop (on uvloop when installed) and not locust: locust runs each simulated user as a
gevent greenlet with its own ``requests``/``FastHttpSession`` machinery, statistics events and (distributed) a
master process, which on this 2-core machine costs more CPU per request than the endpoint under test does (a
``/healthz`` answer is ~100-200 µs of uvicorn's CPU); the generator would then measure itself. Here a request is one
``ClientSession.request`` on a pooled connection, ~100 µs of client CPU, and the generator's own CPU is measured and
printed beside the server's, so a reader can see when the generator, not the server, was the limit. The same
loop also keeps the per-item outcomes that the correctness checks need (which callback or answer was accepted),
which a locust user would have to collect through its event hooks.

The loop is open-loop when given a rate (requests a second): item ``k`` of this process, of ``n`` requests each,
is due at ``start + k * n / rate`` and its latency
counts from when it was due (as wrk2 does, so a server that falls behind shows it in p99 instead of slowing the
generator down: "coordinated omission"); flat out, from when it was sent. An item's later requests (a message's
``delivered`` after its ``sent``) count from when they were sent. Every loop stops by itself: after the item list,
at the deadline, and every request has a total timeout.

The child's protocol (``python -m bench._load.generator SPEC.json RESULT.json``): it reads the spec, builds its
requests (``bench/_load/traffic.py``), prints ``ready``, waits for a ``go`` line on stdin, runs, writes the result
JSON and prints ``done``. Traffic goes only to the spec's base URL, which the parent makes a loopback one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import sys
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

from bench._load.traffic import Request, build

NOT_TRIED = -1
"""An item's outcome when the run ended before it; otherwise a bit mask of its accepted requests (bit i: request i)."""


def cpu_seconds_self() -> float:
    """User + system CPU of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(spec: dict[str, Any], items: list[list[Request]]) -> dict[str, Any]:
    """Send ``items`` per ``spec`` (``base``, ``concurrency``, ``duration``, ``rate`` or null, ``timeout``); the
    answers as the parent reads them (see ``bench/_load/drive.py``)."""
    import aiohttp

    base: str = spec["base"]
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("the generator sends to 127.0.0.1 only")
    concurrency = int(spec["concurrency"])
    rate = float(spec["rate"]) if spec.get("rate") else None
    per_item = len(items[0]) if items else 1  # requests an item (a message's two callbacks): rate is requests/s
    outcomes = [NOT_TRIED] * len(items)
    latencies = array("d")
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    next_item = itertools.count()
    sent = 0
    last_answer = 0.0
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=float(spec["timeout"]))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        cpu_before, wall_start = cpu_seconds_self(), time.time()
        start = time.perf_counter()
        deadline = start + float(spec["duration"])

        async def worker() -> None:
            nonlocal sent, last_answer
            for k in next_item:
                if k >= len(items) or time.perf_counter() >= deadline:
                    return
                due = time.perf_counter()
                if rate is not None:
                    due = start + k * per_item / rate
                    if due >= deadline:
                        return
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                bits = 0
                for step, request in enumerate(items[k]):
                    began = due if step == 0 else time.perf_counter()
                    status = None
                    try:
                        async with session.request(
                            request.method, base + request.path, data=request.body or None,
                            headers=dict(request.headers),
                        ) as response:  # fmt: skip
                            await response.read()
                            status = response.status
                    except TimeoutError:
                        errors["timeout"] += 1
                    except aiohttp.ClientError as exc:
                        errors[type(exc).__name__] += 1
                    ended = time.perf_counter()
                    sent += 1
                    last_answer = max(last_answer, ended)
                    if status is None:
                        continue
                    statuses[status] += 1
                    if 200 <= status < 300:
                        bits |= 1 << step
                        latencies.append((ended - began) * 1000)
                outcomes[k] = bits

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu = cpu_seconds_self() - cpu_before
        ended_wall = wall_start + (max(last_answer, start) - start)
    return {
        "requests": sent,
        "accepted": len(latencies),
        "statuses": {str(code): n for code, n in sorted(statuses.items())},
        "errors": dict(errors),
        "latencies_ms": [round(x, 3) for x in latencies],
        "first": wall_start,
        "last": ended_wall,
        "cpu_s": cpu,
        "outcomes": outcomes,
        "items": len(items),
        "exhausted": all(o != NOT_TRIED for o in outcomes),
    }


def main(spec_path: str, result_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    items = build(spec)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(run(spec, items))
    Path(result_path).write_text(json.dumps(result))
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

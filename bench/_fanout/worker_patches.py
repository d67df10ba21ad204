"""``alertsvc worker`` with experiments applied inside that process only (``--worker-patch``): quieter logs,
profilers, memory and database timing probes, and the switches that bring back an earlier design for an A/B run.

The benchmark is how changes to the hot path are judged, so it needs a way to look inside a worker (where the
time and memory go) and to run yesterday's code path beside today's in the same run, without a flag in alertsvc
for each experiment. A patch is a function run before the worker starts; several run in the order given.

The child: ``python -m bench._fanout.worker_patches NAME [NAME ...]`` applies the patches and runs
``alertsvc worker`` (configured by the environment, as the unpatched workers are).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _patch_quiet_twilio_log() -> None:
    """The twilio client logs every request (about ten lines) at INFO, and ``alertsvc worker`` logs INFO."""
    import logging

    logging.getLogger("twilio").setLevel(logging.WARNING)


def _patch_quiet_arq_log() -> None:
    """arq logs two INFO lines per job."""
    import logging

    logging.getLogger("arq.worker").setLevel(logging.WARNING)


def _patch_profile() -> None:
    """cProfile the worker; the stats go to ``worker-<pid>.prof`` in the current directory at exit."""
    import atexit
    import cProfile

    profile = cProfile.Profile()
    profile.enable()

    def dump() -> None:
        profile.disable()
        profile.dump_stats(f"worker-{os.getpid()}.prof")

    atexit.register(dump)


def _patch_memory() -> None:
    """tracemalloc in the worker: the allocation sites at its highest point go to ``worker-<pid>-memory.txt``.

    A thread looks twice a second and keeps a snapshot whenever the traced total beats the last one; the sites
    (three frames deep) of the best one are written at exit. Slows the worker about twofold: for finding what
    holds memory, not for the table.
    """
    import atexit
    import threading
    import tracemalloc

    tracemalloc.start(3)
    best: dict[str, Any] = {"size": 0, "snapshot": None}

    def watch() -> None:
        while True:
            time.sleep(0.5)
            current, _ = tracemalloc.get_traced_memory()
            if current > best["size"] * 1.05:
                best["size"], best["snapshot"] = current, tracemalloc.take_snapshot()

    def report() -> None:
        snapshot = best["snapshot"]
        if snapshot is None:
            return
        lines = [f"traced at the highest snapshot: {best['size'] / 2**20:.1f} MiB"]
        for stat in snapshot.statistics("traceback")[:25]:
            lines.append(f"{stat.size / 2**20:8.2f} MiB {stat.count:>9,} blocks")
            lines.extend(f"      {frame}" for frame in stat.traceback.format()[-6:])
        Path(f"worker-{os.getpid()}-memory.txt").write_text("\n".join(lines) + "\n")

    threading.Thread(target=watch, daemon=True).start()
    atexit.register(report)


def _patch_memray() -> None:
    """memray in the worker (``pip install -e .[bench]``): every allocation, native ones included, goes to
    ``worker-<pid>.memray``. Far cheaper than tracemalloc at a million residents (the run takes about twice as
    long); ``python -m memray summary FILE`` lists what was held at the highest point, ``flamegraph`` draws it.
    """
    import atexit

    import memray

    tracker = memray.Tracker(f"worker-{os.getpid()}.memray", trace_python_allocators=True)
    tracker.__enter__()
    atexit.register(tracker.__exit__, None, None, None)


def _patch_sqlite_memory() -> None:
    """Print SQLite's own memory (all connections of the process) every second, to the worker's log.

    ``used`` is everything SQLite holds (page caches, prepared statements, schemas), ``page cache`` the part
    that is cached pages; each as (now, highest) in KiB. From ``sqlite3_status64``, through ctypes: the
    ``sqlite3`` module does not expose it.
    """
    import ctypes
    import ctypes.util
    import sqlite3  # noqa: F401  (loads the library whose counters are read)
    import threading

    library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")

    def status(op: int) -> tuple[int, int]:
        now, highest = ctypes.c_int64(), ctypes.c_int64()
        library.sqlite3_status64(op, ctypes.byref(now), ctypes.byref(highest), 0)
        return now.value // 1024, highest.value // 1024

    def watch() -> None:
        while True:
            time.sleep(1)
            print(f"sqlite memory KiB: used {status(0)}, page cache {status(2)}", flush=True)  # MEMORY_USED, OVERFLOW

    threading.Thread(target=watch, daemon=True).start()


def _patch_db_timing() -> None:
    """Print, every 2 s, how long the worker's transactions waited for their turn and how long they and their
    statements took (busy-handler sleeps included), to the worker's log: where a worker that is neither CPU- nor
    provider-bound waits for its database. Every SQLite writer turn also goes to a file (its path is logged), to
    see who held the database when.
    """
    import contextlib
    import tempfile
    import threading
    from collections import defaultdict

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from alertsvc.store import db

    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])  # count, total s, max s
    timeline_path = Path(tempfile.gettempdir()) / f"alertsvc-turns-{os.getpid()}.txt"
    timeline = timeline_path.open("w", buffering=1)  # open for the process's life
    print(f"db-timing: every writer turn (caller, asked, got, gave back) goes to {timeline_path}", flush=True)

    def add(key: str, seconds: float) -> None:
        entry = stats[key]
        entry[0] += 1
        entry[1] += seconds
        entry[2] = max(entry[2], seconds)

    original_turns = db._sqlite_writer_turns

    class TimedTurns:
        def __init__(self, turns: Any) -> None:
            self.turns = turns

        def turn(self) -> Any:
            caller = sys._getframe(3)  # turn() <- transaction() <- its context manager <- the caller
            work = caller.f_locals.get("work") if caller.f_code.co_name == "_in_transaction" else None
            return TimedTurn(self.turns.turn(), getattr(work, "__name__", caller.f_code.co_name))

    class TimedTurn:
        def __init__(self, turn: Any, caller: str) -> None:
            self.inner = turn
            self.caller = caller

        async def __aenter__(self) -> None:
            self.started = time.time()
            await self.inner.__aenter__()
            self.entered = time.time()
            add("turn wait", self.entered - self.started)

        async def __aexit__(self, *exc: Any) -> Any:
            left = time.time()
            add("turn held", left - self.entered)
            timeline.write(f"{self.caller} {self.started:.4f} {self.entered:.4f} {left:.4f}\n")
            return await self.inner.__aexit__(*exc)

    def timed_turns(sessions: Any) -> Any:
        turns = original_turns(sessions)
        return None if turns is None else TimedTurns(turns)

    db._sqlite_writer_turns = timed_turns

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["statement_started"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info.pop("statement_started", None)
        if started is not None:
            add(" ".join(statement.split()[:3])[:40], time.perf_counter() - started)

    def report() -> None:
        while True:
            time.sleep(2)
            lines = [
                f"  {key:42s} n={n:6.0f} total={total:7.3f}s mean={1000 * total / n:7.2f}ms max={1000 * most:7.1f}ms"
                for key, (n, total, most) in sorted(stats.items(), key=lambda item: -item[1][1])
                if n
            ]
            with contextlib.suppress(Exception):
                print("db timing over 2 s:\n" + "\n".join(lines), flush=True)
            stats.clear()

    threading.Thread(target=report, daemon=True).start()


def _patch_switch_interval() -> None:
    """A GIL switch interval of 0.5 ms instead of 5 ms (experiment)."""
    sys.setswitchinterval(float(os.environ.get("BENCH_SWITCH_INTERVAL", "0.0005")))


def _patch_no_writer_thread() -> None:
    """SQLite write transactions on the worker's own loop, as before the writer thread (for A/B runs)."""
    import alertsvc.runtime

    alertsvc.runtime.is_sqlite_file = lambda url: False  # type: ignore[attr-defined, unused-ignore]


def _patch_aiosqlite_thread() -> None:
    """The writer thread's statements through aiosqlite's own thread, as before the inline connections (A/B)."""
    import alertsvc.store.writer

    alertsvc.store.writer.connect_inline = lambda engine: None  # type: ignore[attr-defined, unused-ignore]


def _patch_job_timeline() -> None:
    """Log each ``deliver`` job's start, end and size (to see how the batches spread over the workers)."""
    import logging
    import time

    import alertsvc.dispatch.deliver as deliver_module

    original = deliver_module.deliver
    timeline = logging.getLogger("bench.timeline")

    async def timed(ctx: dict[str, Any], alert_id: str, channel: str, ids: list[int]) -> dict[str, int]:
        started = time.time()
        result = await original(ctx, alert_id, channel, ids)
        timeline.warning("job %s %d %.3f %.3f", channel, result.get("claimed", 0), started, time.time())
        return result

    deliver_module.deliver = timed


WORKER_PATCHES: dict[str, Callable[[], None]] = {
    "job-timeline": _patch_job_timeline,
    "aiosqlite-thread": _patch_aiosqlite_thread,
    "no-writer-thread": _patch_no_writer_thread,
    "switch-interval": _patch_switch_interval,
    "db-timing": _patch_db_timing,
    "memray": _patch_memray,
    "sqlite-memory": _patch_sqlite_memory,
    "memory": _patch_memory,
    "quiet-twilio-log": _patch_quiet_twilio_log,
    "quiet-arq-log": _patch_quiet_arq_log,
    "profile": _patch_profile,
}


def run_worker(patches: Sequence[str]) -> None:
    """Apply ``patches`` (names of ``WORKER_PATCHES``), then run ``alertsvc worker`` in this process."""
    for name in patches:
        WORKER_PATCHES[name]()
    from alertsvc.cli import main as alertsvc_main

    sys.exit(alertsvc_main(["worker"]))


if __name__ == "__main__":
    run_worker(sys.argv[1:])

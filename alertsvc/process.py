"""Process-wide tuning: the malloc arena cap (at the start of every ``alertsvc`` command, before any thread exists)
and the garbage collector's thresholds (once a long-running process has finished starting).

glibc gives each thread that allocates its own malloc arena (up to eight per core) and rarely hands their free
pages back. Our processes run threads that allocate a lot for a moment: aiosqlite runs each SQLite connection in a
thread of its own, apprise sends from a thread pool. With the default, a worker's resident memory at the peak of a
million-resident fan-out was ~20 MiB higher for nothing but per-thread arenas (bench/README.md). Two arenas keep
that flat at no measurable cost in speed. ``MALLOC_ARENA_MAX`` in the environment, when set, is left to glibc.

Written here with ``ctypes`` because no maintained package wraps ``mallopt``; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys

M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter number for the arena limit (``malloc.h``)."""
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process; True when the cap was set here."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


GC_GEN0_THRESHOLD = 20_000
"""Allocations between young-generation collections in a long-running process (CPython's default is 700)."""


def tune_gc_for_throughput(gen0_threshold: int = GC_GEN0_THRESHOLD) -> None:
    """Freeze what start-up allocated and collect the young generation less often; call once a process is ready.

    Why: the send path allocates a few dozen short-lived containers a message (the twilio client's dicts, aiohttp's
    request objects, result rows), so with the default thresholds CPython's cycle collector ran every ~700
    allocations and its older generations kept re-walking the hundreds of thousands of objects that importing
    SQLAlchemy, pydantic, twilio and apprise leaves behind. Measured in ``bench/fanout.py`` (1,000,000 residents,
    PostgreSQL, one worker): 417 → 345 µs of worker CPU an SMS; freezing alone gave 367. Memory at the peak moved
    by ~7 MiB. ``gc.freeze`` moves every object alive now to a permanent generation the collector never scans;
    those are modules, classes and caches that live as long as the process anyway. Cycles made later are still
    collected, only in bigger steps.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)

"""Process-wide tuning done once, at the start of every ``alertsvc`` command, before any thread exists.

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

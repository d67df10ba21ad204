"""Process-wide tuning: the malloc arena cap at start-up, the garbage collector once a worker is ready."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str, env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout


def test_the_arena_cap_is_set_on_glibc_and_an_operator_setting_wins() -> None:
    code = "from alertsvc.process import limit_malloc_arenas; print(limit_malloc_arenas())"
    if not sys.platform.startswith("linux"):
        assert _run(code, {}).strip() == "False"
        return
    assert _run(code, {"PATH": "/usr/bin:/bin"}).strip() == "True"
    assert _run(code, {"PATH": "/usr/bin:/bin", "MALLOC_ARENA_MAX": "4"}).strip() == "False"


def test_gc_tuning_freezes_start_up_objects_and_still_collects_later_cycles() -> None:
    """In a child process, so this test run's own collector is left alone."""
    code = """
import gc, weakref
from alertsvc.process import GC_GEN0_THRESHOLD, tune_gc_for_throughput
import sqlalchemy  # something start-up would have imported
tune_gc_for_throughput()
assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()
assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after start-up: refcounting alone never frees it
gone = weakref.ref(a)
del a, b
gc.collect()
print(gone() is None)
"""
    assert _run(code, {"PATH": "/usr/bin:/bin"}).strip() == "True"

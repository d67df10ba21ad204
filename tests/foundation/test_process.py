"""Process-wide tuning at start-up: the malloc arena cap."""

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

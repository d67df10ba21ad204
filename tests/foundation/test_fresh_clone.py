"""A fresh clone with nothing beside it collects the whole suite: no test may need the design folder that sits
beside a developer's checkout, or any other file that lives only there (the README's test command once stopped at
collection that way)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _committed_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    probe = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "HEAD"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.slow
def test_a_fresh_clone_collects_every_test_with_nothing_beside_it(tmp_path: Path) -> None:
    if not _committed_checkout():
        pytest.skip("not a git checkout with commits (or no git): cannot make a fresh clone to collect")
    clone = tmp_path / "lonely" / "alertsvc"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    assert not (clone.parent / "shared").exists()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALERTSVC_")}
    environment["PYTHONPATH"] = str(clone)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=clone,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
    assert result.returncode == 0, tail
    assert "error" not in result.stdout.lower().splitlines()[-1], tail
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert len(collected) > 500, tail

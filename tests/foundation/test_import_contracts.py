"""The architecture's rules as a tool's job: ``lint-imports`` keeps every contract in pyproject.toml (layers, routers
that never touch the store, independent adapters and stand-ins, no cycles), so an import across a forbidden line
fails the test command as well as CI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    tool = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if tool is None:
        pytest.skip("lint-imports (import-linter) is not installed beside this Python: pip install -e '.[test]'")
    result = subprocess.run([tool, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

"""Import weight: every API and worker process pays for what it imports at start-up, so libraries needed only on
some paths (migrating, a console login, a rate-limited page, a phone number or webhook) load at first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

DEFERRED = ("alembic", "mako", "limits", "phonenumbers", "babel", "argon2", "httpx")


@pytest.mark.parametrize("module", ["alertsvc.app", "alertsvc.dispatch.worker"])
def test_deferred_libraries_are_not_loaded_at_import(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(result.stdout))
    assert loaded.isdisjoint(DEFERRED), sorted(loaded.intersection(DEFERRED))

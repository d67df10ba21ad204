"""The ``alertsvc`` command as a user runs it: keys and users print their secret alone on the last line,
bad input exits 2 with a reason, imports report per-row errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ALERTSVC = [sys.executable, "-m", "alertsvc.cli"]


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALERTSVC_") and k != "REDIS_URL"}
    environment.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}", ALERTSVC_DATA_DIR=str(tmp_path))
    environment.update(env or {})
    return subprocess.run(
        [*ALERTSVC, *args], capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120, check=False
    )


def test_keys_create_prints_the_key_last(tmp_path: Path) -> None:
    result = run(tmp_path, "keys", "create", "cad", "--scopes", "alerts:read,alerts:write")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("as_") and len(key) > 30
    again = run(tmp_path, "keys", "create", "cad", "--scopes", "alerts:read")
    assert again.returncode == 2 and "exists already" in again.stderr


def test_unknown_scope_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path, "keys", "create", "typo", "--scopes", "alerts:red")
    assert result.returncode == 2 and "unknown scope" in result.stderr


def test_users_create_generates_a_password(tmp_path: Path) -> None:
    result = run(tmp_path, "users", "create", "Dispatch@City.example", "--role", "dispatcher")
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip().splitlines()[-1]
    assert len(password) >= 12 and " " not in password
    given = run(tmp_path, "users", "create", "approver@city.example", "--role", "approver", "--password", "x" * 14)
    assert given.returncode == 0 and "x" * 14 not in given.stdout
    short = run(tmp_path, "users", "create", "a@city.example", "--role", "admin", "--password", "short")
    assert short.returncode == 2


def test_db_upgrade_is_repeatable(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    assert run(tmp_path, "db", "upgrade").returncode == 0


def test_residents_import_reports_bad_rows(tmp_path: Path) -> None:
    data = tmp_path / "people.csv"
    data.write_text("ref,lat,lon,sms\nok-1,45.5,-73.5,+15145550111\nbad-1,95,-73.5,+15145550112\n")
    result = run(tmp_path, "residents", "import", str(data))
    assert result.returncode == 1
    assert "line 3" in result.stdout and "lat" in result.stdout
    assert "+15145550112" not in result.stdout


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade", env={"ALERTSVC_ENV": "production"})
    assert result.returncode == 2 and "ALERTSVC_SECRET_KEY" in result.stderr


def test_worker_without_redis_url_says_why(tmp_path: Path) -> None:
    result = run(tmp_path, "worker")
    assert result.returncode == 2 and "REDIS_URL" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["keys", "--help"], ["residents", "import", "--help"]])
def test_help_works(tmp_path: Path, args: list[str]) -> None:
    assert run(tmp_path, *args).returncode == 0


def test_demo_loads_a_city_once(tmp_path: Path) -> None:
    first = run(tmp_path, "demo", "--residents", "60", "--no-serve")
    assert first.returncode == 0, first.stderr
    assert "60 residents added" in first.stdout
    again = run(tmp_path, "demo", "--residents", "60", "--no-serve")
    assert "0 residents added (60 were there already)" in again.stdout

"""The ``alertsvc`` command as a user runs it: keys and users print their secret alone on the last line,
bad input exits 2 with a reason, imports report per-row errors, ``serve`` and ``demo`` say where to go once the
server is up, and the demo's console users are made once, with their passwords shown that once and never logged."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alertsvc.security.passwords import verify_password

ALERTSVC = [sys.executable, "-m", "alertsvc.cli"]


def cli_env(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The embedded defaults in ``tmp_path``: no REDIS_URL, no ALERTSVC_* from the caller's shell."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALERTSVC_") and k != "REDIS_URL"}
    environment.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}", ALERTSVC_DATA_DIR=str(tmp_path))
    environment.update(extra or {})
    return environment


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ALERTSVC, *args], capture_output=True, text=True, env=cli_env(tmp_path, env), cwd=tmp_path, timeout=120,
        check=False,
    )  # fmt: skip


def stored_users(tmp_path: Path) -> dict[str, tuple[str, str | None, str]]:
    """``{email: (role, display_name, password_hash)}``, read straight from the command's SQLite file."""
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        rows = db.execute("SELECT email, role, display_name, password_hash FROM users").fetchall()
    return {email: (role, name, password_hash) for email, role, name, password_hash in rows}


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


def test_users_create_stores_the_display_name(tmp_path: Path) -> None:
    result = run(tmp_path, "users", "create", "Dana@City.example", "--role", "approver", "--name", "  Dana Moreau ")
    assert result.returncode == 0, result.stderr
    assert "Dana Moreau" in result.stdout.splitlines()[0]
    password = result.stdout.strip().splitlines()[-1]
    role, name, password_hash = stored_users(tmp_path)["Dana@city.example"]
    assert (role, name) == ("approver", "Dana Moreau")
    assert verify_password(password_hash, password)
    assert password not in result.stderr
    unnamed = run(tmp_path, "users", "create", "lee@city.example", "--role", "dispatcher")
    assert unnamed.returncode == 0 and stored_users(tmp_path)["lee@city.example"][1] is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [("x" * 121, "at most 120"), ("Dana\nAdmin approved", "control characters"), ("Dana\u202eenimda", "control")],
)
def test_users_create_refuses_a_name_that_cannot_be_shown_safely(tmp_path: Path, name: str, reason: str) -> None:
    result = run(tmp_path, "users", "create", "dana@city.example", "--role", "admin", "--name", name)
    assert result.returncode == 2 and reason in result.stderr
    assert stored_users(tmp_path) == {}


def test_demo_loads_a_city_once(tmp_path: Path) -> None:
    first = run(tmp_path, "demo", "--residents", "60", "--no-serve")
    assert first.returncode == 0, first.stderr
    assert "60 residents added" in first.stdout
    again = run(tmp_path, "demo", "--residents", "60", "--no-serve")
    assert "0 residents added (60 were there already)" in again.stdout
    more = run(tmp_path, "demo", "--residents", "75", "--no-serve")
    assert "15 residents added (60 were there already)" in more.stdout
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        refs = {ref for (ref,) in db.execute("SELECT ref FROM residents")}
        confirmed = db.execute("SELECT count(*) FROM contacts WHERE confirmed_at IS NOT NULL").fetchone()[0]
    assert refs == {f"demo-{n}" for n in range(75)}
    assert confirmed >= 75  # every demo resident has at least a confirmed SMS contact


DEMO_LINE = re.compile(r"^\s+(dispatcher|approver)\s+(\S+@\S+)\s+(\S+)\s+\((.+)\)$", re.MULTILINE)


def test_demo_makes_a_dispatcher_and_an_approver_once_and_shows_their_passwords_once(tmp_path: Path) -> None:
    first = run(tmp_path, "demo", "--residents", "5", "--no-serve")
    assert first.returncode == 0, first.stderr
    shown = {email: (role, password, name) for role, email, password, name in DEMO_LINE.findall(first.stdout)}
    assert {role for role, _, _ in shown.values()} == {"dispatcher", "approver"}
    stored = stored_users(tmp_path)
    for email, (role, password, name) in shown.items():
        stored_role, stored_name, password_hash = stored[email]
        assert (stored_role, stored_name) == (role, name)
        assert verify_password(password_hash, password)
        assert password not in first.stderr  # the log has no password
    again = run(tmp_path, "demo", "--residents", "5", "--no-serve")
    assert again.returncode == 0, again.stderr
    assert DEMO_LINE.findall(again.stdout) == []
    assert "exist already" in again.stdout and all(email in again.stdout for email in shown)
    assert not any(password in again.stdout + again.stderr for _, password, _ in shown.values())
    assert stored_users(tmp_path) == stored  # nothing reset


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """An ``alertsvc`` command that serves, its stdout and stderr in files (no pipe to fill up and stall it)."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.out, self.err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [*ALERTSVC, *args], stdout=out, stderr=err, env=cli_env(tmp_path, {"ALERTSVC_SANDBOX": "1"}),
                cwd=tmp_path,
            )  # fmt: skip

    def wait_for_stdout(self, text: str, within: float = 90.0) -> str:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            printed = self.out.read_text()
            if text in printed or self.process.poll() is not None:
                return printed
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not printed within {within} s; stderr:\n{self.err.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # as Ctrl+C: uvicorn shuts down, the embedded Redis with it
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    running: list[Served] = []
    try:
        yield running
    finally:
        for server in running:
            server.stop()


def _links(printed: str) -> dict[str, str]:
    return {label: url for label, url in re.findall(r"^\s+(.+?):\s+(http://\S+)", printed, re.MULTILINE)}


def test_serve_says_where_to_go_once_it_listens(tmp_path: Path, served: list[Served]) -> None:
    port = _free_port()
    server = Served(tmp_path, "serve", "--port", str(port))
    served.append(server)
    printed = server.wait_for_stdout("(the password is printed on its last line)")
    base = f"http://127.0.0.1:{port}"
    assert f"is up: {base}/" in printed, printed
    links = _links(printed)
    assert {links[label] for label in ("console (dispatchers)", "API docs", "residents sign up")} == {
        f"{base}/console/", f"{base}/docs", f"{base}/r/subscribe"
    }
    for url in links.values():  # printed once listening: every address answers at once
        assert httpx.get(url, follow_redirects=True, timeout=10).status_code == 200, url
    assert "alertsvc users create EMAIL --role" in printed
    assert "is up" not in server.err.read_text()  # said on stdout, not logged


def test_demo_serves_and_shows_its_users_once_up(tmp_path: Path, served: list[Served]) -> None:
    port = _free_port()
    server = Served(tmp_path, "demo", "--residents", "10", "--port", str(port))
    served.append(server)
    printed = server.wait_for_stdout("approver@demo.example")
    assert "10 residents added" in printed and f"is up: http://127.0.0.1:{port}/" in printed, printed
    up = printed.index("is up")
    passwords = [password for _, _, password, _ in DEMO_LINE.findall(printed[up:])]
    assert len(passwords) == 2  # after the server is up, so they are not lost above its start-up lines
    assert DEMO_LINE.findall(printed[:up]) == []  # and only there: shown once
    assert not any(password in server.err.read_text() for password in passwords)


def test_demo_that_cannot_listen_still_shows_the_passwords_it_made(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path, "demo", "--residents", "3", "--port", str(port))
    assert result.returncode != 0
    assert "is up" not in result.stdout
    shown = DEMO_LINE.findall(result.stdout)
    assert len(shown) == 2
    assert all(verify_password(stored_users(tmp_path)[email][2], password) for _, email, password, _ in shown)

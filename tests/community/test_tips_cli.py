"""``alertsvc tips purge`` and the tips scopes on ``alertsvc keys create``, as an operator runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.foundation.test_cli import run

OLD, NEW = "2020-01-01 00:00:00.000000", "2999-01-01 00:00:00.000000"


def _add_tip(db: sqlite3.Connection, alias: str, last: str) -> None:
    db.execute(
        "INSERT INTO tips (alias, text, channel, language, received_at, last_activity_at)"
        " VALUES (?, 't', 'web', 'en', ?, ?)",
        (alias, last, last),
    )
    tip_id = db.execute("SELECT id FROM tips WHERE alias = ?", (alias,)).fetchone()[0]
    db.execute(
        "INSERT INTO tip_messages (tip_id, direction, text, state, at) VALUES (?, 'in', 'x', 'received', ?)",
        (tip_id, last),
    )


def test_keys_take_the_tips_scopes(tmp_path: Path) -> None:
    result = run(tmp_path, "keys", "create", "tip-desk", "--scopes", "tips:read,tips:write")
    assert result.returncode == 0, result.stderr
    assert "tips:read,tips:write" in result.stdout


def test_tips_purge_deletes_only_tips_past_their_retention(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        _add_tip(db, "Tip OLD1", OLD)
        _add_tip(db, "Tip NEW1", NEW)
    result = run(tmp_path, "tips", "purge")
    assert result.returncode == 0, result.stderr
    assert "deleted 1 tip(s)" in result.stdout and "90 day(s)" in result.stdout
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        assert db.execute("SELECT alias FROM tips").fetchall() == [("Tip NEW1",)]
        assert db.execute("SELECT count(*) FROM tip_messages").fetchone() == (1,)
    refused = run(tmp_path, "tips", "purge", "--days", "0")
    assert refused.returncode == 2 and "at least 1" in refused.stderr

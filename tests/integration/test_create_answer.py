"""Creating an alert does no work that can wait (issue 19), on SQLite and PostgreSQL: the 201 body of a new alert is
made without reading counts (nothing was sent or answered yet) and is the body a GET reads right after; a repeat is
found by Idempotency-Key or by CAP key in ONE read, the key's alert first when the two name different alerts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.conftest import KeyMaker, auth
from tests.factories import cap_alert


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process runs meanwhile (the SQLite writer thread's included)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.parametrize("scopes", [("alerts:write", "alerts:read"), ("alerts:send", "alerts:read")])
async def test_a_new_alerts_answer_reads_no_counts_and_is_what_a_get_reads(
    client: httpx.AsyncClient, make_key: KeyMaker, statements: list[str], scopes: tuple[str, ...]
) -> None:
    key = await make_key(*scopes)
    statements.clear()
    headers = {**auth(key), "Idempotency-Key": f"new-{scopes[0]}"}
    created = await client.post("/api/v1/alerts", json=cap_alert(), headers=headers)
    assert created.status_code == 201
    touched = [s for s in statements if "from deliveries" in s or "from acknowledgements" in s or "from replies" in s]
    assert touched == []  # nothing was sent or answered: no count is read for the answer
    lookups = [s for s in statements if s.startswith("select") and "from alerts" in s]
    assert len(lookups) == 1  # a repeat looked for once, by Idempotency-Key or CAP key together
    read = await client.get(created.headers["location"], headers=auth(key))
    assert read.json() == created.json()
    assert created.json()["state"] == ("approved" if "alerts:send" in scopes else "pending_approval")


async def test_the_idempotency_keys_alert_wins_over_another_with_the_same_cap_key(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:write", "alerts:read")
    keyed = await client.post("/api/v1/alerts", json=cap_alert(), headers={**auth(key), "Idempotency-Key": "k-1"})
    other_document = cap_alert()
    other = await client.post("/api/v1/alerts", json=other_document, headers=auth(key))
    assert keyed.status_code == other.status_code == 201
    # The other alert's document again, with the first one's key: both lookups match, each a different alert.
    repeat = await client.post("/api/v1/alerts", json=other_document, headers={**auth(key), "Idempotency-Key": "k-1"})
    assert repeat.status_code == 200 and repeat.json()["id"] == keyed.json()["id"]
    by_cap = await client.post("/api/v1/alerts", json=other_document, headers={**auth(key), "Idempotency-Key": "k-2"})
    assert by_cap.status_code == 200 and by_cap.json()["id"] == other.json()["id"]

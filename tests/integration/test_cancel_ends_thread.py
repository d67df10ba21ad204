"""A Cancel ends the whole thread that went out: the console page and the API of an Update whose original was
cancelled say ``cancelled``, not ``sent`` (issue 20's leftover), and so does the original when the Update was the
one cancelled. An Update still waiting for approval is left to its approver. On SQLite and PostgreSQL.

Before, the Cancel's fan-out moved only the alert its ``references`` name; the Update stayed ``sent``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from alertsvc.runtime import Runtime
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert
from tests.integration.test_fanout import run_worker

INSIDE = (45.5, -72.5)


@pytest.fixture
async def sender(make_key: KeyMaker) -> str:
    return await make_key("alerts:send", "alerts:read", "admin")


def _update_of(original: dict[str, Any]) -> dict[str, Any]:
    body = original["alert"]
    update = cap_alert(msg_type="Update", references=f"{body['sender']},{body['identifier']},{body['sent']}")
    update["info"][0]["headline"] = "Gas leak: the area now reaches the school"
    return update


async def _post(client: httpx.AsyncClient, key: str, document: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/alerts", json=document, headers=auth(key))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _state(client: httpx.AsyncClient, key: str, alert_id: str) -> str:
    response = await client.get(f"/api/v1/alerts/{alert_id}", headers=auth(key))
    assert response.status_code == 200, response.text
    return str(response.json()["state"])


async def _thread(client: httpx.AsyncClient, runtime: Runtime, key: str) -> tuple[str, str]:
    await add_resident(runtime.sessions, *INSIDE, sms="+15145553001")
    original = await _post(client, key, cap_alert())
    await run_worker(runtime)
    update = await _post(client, key, _update_of(original))
    await run_worker(runtime)
    assert await _state(client, key, original["id"]) == "sent"
    assert await _state(client, key, update["id"]) == "sent"
    return original["id"], update["id"]


@pytest.mark.parametrize("cancelled", ["original", "update"])
async def test_a_cancel_ends_every_alert_of_the_thread_that_went_out(
    client: httpx.AsyncClient, runtime: Runtime, sender: str, cancelled: str
) -> None:
    original, update = await _thread(client, runtime, sender)
    target = original if cancelled == "original" else update
    response = await client.post(f"/api/v1/alerts/{target}/cancel", headers=auth(sender))
    assert response.status_code in (200, 201), response.text
    await run_worker(runtime)
    assert await _state(client, sender, original) == "cancelled"
    assert await _state(client, sender, update) == "cancelled"


async def test_an_update_waiting_for_approval_is_left_to_its_approver(
    client: httpx.AsyncClient, runtime: Runtime, sender: str, make_key: KeyMaker
) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms="+15145553002")
    original = await _post(client, sender, cap_alert())
    await run_worker(runtime)
    writer = await make_key("alerts:write", "alerts:read")
    pending = await _post(client, writer, _update_of(original))
    assert pending["state"] == "pending_approval"
    response = await client.post(f"/api/v1/alerts/{original['id']}/cancel", headers=auth(sender))
    assert response.status_code in (200, 201), response.text
    await run_worker(runtime)
    assert await _state(client, sender, original["id"]) == "cancelled"
    assert await _state(client, sender, pending["id"]) == "pending_approval"

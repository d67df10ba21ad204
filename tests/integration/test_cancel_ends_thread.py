"""A Cancel ends the whole thread that went out: the console page and the API of an Update whose original was
cancelled say ``cancelled``, not ``sent`` (issue 20's leftover), and so does the original when the Update was the
one cancelled. An Update still waiting for approval is left to its approver. On SQLite and PostgreSQL.

Before, the Cancel's fan-out moved only the alert its ``references`` name; the Update stayed ``sent``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from alertsvc.alerts.cancel_reach import recipients_reach
from alertsvc.runtime import Runtime
from alertsvc.store.models import Alert
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert
from tests.integration.test_fanout import outbox, run_worker

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


WIDER = "44.0,-74.0 44.0,-71.0 47.0,-71.0 47.0,-74.0 44.0,-74.0"
"""An Update's area that reaches beyond the original's 1° square: 3° around it."""
ONLY_UPDATE = (44.5, -73.5)
"""Inside :data:`WIDER`, outside the original's square: reached by the Update alone."""


async def test_cancelling_the_original_tells_who_got_only_the_wider_update(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    """The original is cancelled after an Update widened the area: the Cancel ends the Update too, so the resident
    the Update alone reached gets the all-clear as well; before, only the original's recipients did, and the other
    resident kept the Update's call to action with nothing telling them it was over."""
    await add_resident(runtime.sessions, *INSIDE, sms="+15145553011")
    await add_resident(runtime.sessions, *ONLY_UPDATE, sms="+15145553012")
    original = await _post(client, sender, cap_alert())
    await run_worker(runtime)
    update = cap_alert(
        msg_type="Update", polygon=WIDER,
        references=f"{original['alert']['sender']},{original['alert']['identifier']},{original['alert']['sent']}",
    )
    await _post(client, sender, update)
    await run_worker(runtime)
    before = {message["to"] for message in await outbox(runtime, "sms")}
    assert before == {"+15145553011", "+15145553012"}

    response = await client.post(f"/api/v1/alerts/{original['id']}/cancel", headers=auth(sender))
    assert response.status_code in (200, 201), response.text
    async with runtime.sessions() as session:  # what the Cancel's approver is told it will reach
        counted = await recipients_reach(session, await session.get_one(Alert, response.json()["id"]))
    assert counted.residents == 2
    await run_worker(runtime)
    cancels = [message["to"] for message in await outbox(runtime, "sms") if "CANCELLED" in message["body"]]
    assert sorted(cancels) == ["+15145553011", "+15145553012"]

"""The original's report timeline dates "Cancel issued" from when the Cancel took effect (its approval), not from
when it was asked for; a Cancel still waiting for approval, or rejected, issued nothing and is not listed.

Before, the entry carried the time of the ``alert.cancel`` audit row, written when the Cancel was submitted.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from alertsvc.alerts.report import alert_report
from alertsvc.runtime import Runtime
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert
from tests.integration.test_fanout import run_worker


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def test_cancel_issued_is_dated_from_its_approval(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145554001")
    sender = await make_key("alerts:send", "alerts:read", name="sender")
    writer = await make_key("alerts:write", "alerts:read", name="writer")
    created = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(sender))
    assert created.status_code == 201, created.text
    original = created.json()["id"]
    await run_worker(runtime)

    asked = await client.post(f"/api/v1/alerts/{original}/cancel", headers=auth(writer))
    assert asked.status_code in (200, 201), asked.text
    cancel = asked.json()
    assert cancel["state"] == "pending_approval"
    report = await alert_report(runtime, original)
    assert [e.what for e in report.timeline if e.what == "cancel"] == []  # asked for, not issued

    await asyncio.sleep(0.5)
    approved = await client.post(f"/api/v1/alerts/{cancel['id']}/approve", headers=auth(sender))
    assert approved.status_code == 200, approved.text
    await run_worker(runtime)
    report = await alert_report(runtime, original)
    entries = [e for e in report.timeline if e.what == "cancel"]
    assert len(entries) == 1
    approved_at = datetime.fromisoformat(approved.json()["approved_at"])
    created_at = datetime.fromisoformat(cancel["created_at"])
    assert (_aware(approved_at) - _aware(created_at)).total_seconds() >= 0.5
    assert _aware(entries[0].at) == _aware(approved_at)
    assert entries[0].alert_id == cancel["id"]
    assert [e.what for e in report.timeline][-1] == "cancel"  # after the sending, as it happened

"""Cancelling a meeting keeps it (issue 22): the API answers it with its ``cancelled_at`` and lists it, marked, for
the zone; the zone page says "Cancelled"; the calendar feed keeps its UID with ``STATUS:CANCELLED`` and a higher
``SEQUENCE``, so subscribed calendars update it; the audit log has one ``meeting.cancel`` row, however often it is
repeated; a cancelled meeting can no longer be changed; its planned messages stay for the sender to skip."""

from __future__ import annotations

from datetime import timedelta

import httpx
import icalendar
from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.community.meetings import cancel_meeting, planned_sends, update_meeting
from alertsvc.errors import Conflict
from alertsvc.residents.message_classes import set_community
from alertsvc.runtime import Runtime
from alertsvc.store.models import AuditEvent, Meeting
from tests.community.test_meetings import OLD_MILL, _meeting
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident


async def _events(client: httpx.AsyncClient) -> list[icalendar.Event]:
    answer = await client.get("/z/Old Mill/meetings.ics")
    assert answer.status_code == 200
    return list(icalendar.Calendar.from_ical(answer.content).walk("VEVENT"))


async def test_a_cancelled_meeting_stays_listed_as_cancelled_everywhere(
    runtime: Runtime, client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    resident = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550901", language="fr")
    await set_community(runtime, resident.id, True, "link")
    key = auth(await make_key("community:write"))
    created = (await client.post("/api/v1/meetings", json=_meeting(), headers=key)).json()
    assert created["cancelled_at"] is None
    [before] = await _events(client)
    assert str(before["status"]) == "CONFIRMED" and int(before["sequence"]) == 0

    assert (await client.post(f"/api/v1/meetings/{created['id']}/cancel")).status_code == 401  # a key is needed
    answer = await client.post(f"/api/v1/meetings/{created['id']}/cancel", headers=key)
    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert cancelled["id"] == created["id"] and cancelled["cancelled_at"] is not None
    assert "uid" not in cancelled and "sequence" not in cancelled

    [after] = await _events(client)
    assert str(after["uid"]) == str(before["uid"])  # the same event, so calendars update it in place
    assert str(after["status"]) == "CANCELLED" and int(after["sequence"]) == 1
    listed = (await client.get("/api/v1/zones/Old Mill/meetings")).json()["items"]
    assert [(m["id"], m["cancelled_at"] is not None) for m in listed] == [(created["id"], True)]
    page = (await client.get("/z/Old Mill")).text
    assert "Cancelled:</strong> <strong>Safety walk" in page

    again = await client.post(f"/api/v1/meetings/{created['id']}/cancel", headers=key)  # a retry changes nothing
    assert again.status_code == 200 and again.json()["cancelled_at"] == cancelled["cancelled_at"]
    [still] = await _events(client)
    assert int(still["sequence"]) == 1
    async with runtime.sessions() as session:
        audit = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "meeting.cancel")))
        stored = await session.get(Meeting, created["id"])
    assert len(audit) == 1 and audit[0].detail == {"zone": "Old Mill"}
    assert stored is not None and stored.cancelled_by == audit[0].actor
    # the messages planned stay, for the sender to skip (it reads cancelled_at): nothing is lost from the record
    assert sorted(kind for _, kind, _, _ in await planned_sends(runtime, created["id"])) == ["invitation", "reminder"]


async def test_a_cancelled_meeting_cannot_be_changed_and_a_change_moves_the_sequence(
    runtime: Runtime, client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = auth(await make_key("community:write"))
    created = (await client.post("/api/v1/meetings", json=_meeting(), headers=key)).json()
    meeting_id = created["id"]
    starts = utcnow().replace(microsecond=0) + timedelta(days=4)
    fields = {"title": "Night walk", "starts_at": starts, "ends_at": starts + timedelta(hours=1),
              "place": "Mill Road", "description": ""}  # fmt: skip
    changed, _planned = await update_meeting(runtime, meeting_id, actor="user:1", **fields)
    assert changed.sequence == 1 and changed.cancelled_at is None
    cancelled = await cancel_meeting(runtime, meeting_id, actor="user:1")
    assert cancelled.sequence == 2 and cancelled.cancelled_at is not None
    try:
        await update_meeting(runtime, meeting_id, actor="user:1", **{**fields, "title": "Another"})
    except Conflict as refused:
        assert "cancelled" in str(refused)
    else:
        raise AssertionError("a cancelled meeting was changed")
    assert (await client.post("/api/v1/meetings/999999/cancel", headers=key)).status_code == 404
    assert (await client.get("/api/v1/zones/Atlantis/meetings")).status_code == 404

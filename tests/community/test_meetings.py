"""Meetings and community messages: separate consent (off by default, recorded in the ledger), invitations only to
the zone's residents who chose them and can be reached (STOP stops them too), never in quiet hours, within the
weekly cap, in the resident's language; the zone's iCalendar feed parses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import icalendar
from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.community.meetings import INVITATION, REMINDER, planned_sends
from alertsvc.community.timing import allowed_at, quiet_until
from alertsvc.residents.message_classes import set_community
from alertsvc.runtime import Runtime
from alertsvc.store.models import ConsentEvent
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident

OLD_MILL = (45.49, -73.57)  # inside the example city's "Old Mill"
ELSEWHERE = (45.40, -73.90)


def _meeting(zone: str = "Old Mill", days: int = 3) -> dict[str, str]:
    starts = utcnow().replace(microsecond=0) + timedelta(days=days)
    return {
        "zone": zone,
        "title": "Safety walk",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "place": "Mill Road community hall",
        "description": "Meet the neighbourhood officers.",
    }


def test_quiet_hours_and_weekly_cap_move_a_community_message() -> None:
    night = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert quiet_until("22:00", "07:00", "UTC", night) == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert quiet_until("22:00", "07:00", "UTC", night.replace(hour=12)) is None
    assert allowed_at(night, "22:00", "07:00", "UTC", [], 2) == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    two_this_week = [night - timedelta(days=1), night - timedelta(days=2)]
    moved = allowed_at(night.replace(hour=12), None, None, "UTC", two_this_week, 2)
    assert moved == night - timedelta(days=1) + timedelta(days=7, seconds=1)
    assert allowed_at(night, None, None, "UTC", two_this_week, 2, latest=night + timedelta(days=1)) is None
    assert allowed_at(night, None, None, "UTC", [], 0) is None


async def test_community_consent_is_off_by_default_and_recorded_in_the_ledger(runtime: Runtime) -> None:
    resident = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550101", email="a@example.org")
    assert await set_community(runtime, resident.id, True, "link") is True
    assert await set_community(runtime, resident.id, True, "link") is False  # no change, no second record
    await set_community(runtime, resident.id, False, "link")
    async with runtime.sessions() as session:
        actions = list(await session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)))
    assert actions == ["community_opt_in"] * 2 + ["community_opt_out"] * 2  # one per contact


async def test_meeting_invites_only_opted_in_reachable_residents_of_the_zone(
    runtime: Runtime, client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    chose = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550111", language="fr")
    quiet = await add_resident(
        runtime.sessions, *OLD_MILL, sms="+15145550112", language="es",
        quiet_start="00:00", quiet_end="23:59", timezone="UTC",
    )  # fmt: skip
    by_name = await add_resident(runtime.sessions, *ELSEWHERE, sms="+15145550113", zone="old mill")
    await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550114")  # never chose: off
    stopped = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550115", opted_out=True)
    outside = await add_resident(runtime.sessions, *ELSEWHERE, sms="+15145550116")
    for resident in (chose, quiet, by_name, stopped, outside):
        await set_community(runtime, resident.id, True, "link")

    key = await make_key("community:write")
    refused = await client.post("/api/v1/meetings", json=_meeting(), headers=auth(await make_key("alerts:send")))
    assert refused.status_code == 403
    answer = await client.post("/api/v1/meetings", json=_meeting(), headers=auth(key))
    assert answer.status_code == 201, answer.text
    meeting = answer.json()
    sends = await planned_sends(runtime, meeting["id"])
    assert {resident for resident, *_ in sends} == {chose.id, quiet.id, by_name.id}
    assert meeting["invitations_planned"] == len(sends) == 6
    by_resident = {(resident, kind): (language, due) for resident, kind, language, due in sends}
    assert by_resident[(chose.id, INVITATION)][0] == "fr"
    assert by_resident[(quiet.id, REMINDER)][0] == "es"
    for (resident, _kind), (_language, due) in by_resident.items():
        if resident == quiet.id:
            assert quiet_until("00:00", "23:59", "UTC", due) is None  # never inside the quiet hours
    starts = datetime.fromisoformat(meeting["starts_at"])
    reminder_due = by_resident[(chose.id, REMINDER)][1]
    assert starts - timedelta(days=1) <= reminder_due < starts

    # the weekly cap (2 by default): a second meeting the same week reaches nobody already at the cap
    second = await client.post("/api/v1/meetings", json=_meeting(days=4), headers=auth(key))
    assert second.json()["invitations_planned"] == 0


async def test_meeting_refusals_name_the_field(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = auth(await make_key("community:write"))
    unknown = await client.post("/api/v1/meetings", json=_meeting(zone="Atlantis"), headers=key)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "zone"]
    past = await client.post("/api/v1/meetings", json=_meeting(days=-1), headers=key)
    assert past.status_code == 422 and past.json()["errors"][0]["loc"] == ["body", "starts_at"]
    backwards = {**_meeting(), "ends_at": _meeting()["starts_at"]}
    answer = await client.post("/api/v1/meetings", json=backwards, headers=key)
    assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["body", "ends_at"]


async def test_zone_meetings_ics_parses(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = auth(await make_key("community:write"))
    created = (await client.post("/api/v1/meetings", json=_meeting(), headers=key)).json()
    answer = await client.get("/z/Old Mill/meetings.ics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(answer.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert str(event["summary"]) == "Safety walk" and str(event["location"]) == "Mill Road community hall"
    assert event.decoded("dtstart") == datetime.fromisoformat(created["starts_at"])
    assert (await client.get("/z/Atlantis/meetings.ics")).status_code == 404

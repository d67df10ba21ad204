"""The console's community pages: moderating residents' priorities (approvers and admins) and holding, changing and
cancelling meetings (every role). Each action shows on the public zone page ``/z/{zone}``, in the API or the calendar
feed; forms without the session's CSRF token change nothing; each change leaves an audit row (who, which, what; no
personal data) that the audit page says in words, in English and French; errors stand next to their fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import icalendar
from fastapi.routing import APIRoute
from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.community.meetings import INVITATION, REMINDER, planned_sends
from alertsvc.community.priorities import propose, support
from alertsvc.residents.message_classes import set_community
from alertsvc.runtime import Runtime
from alertsvc.store.models import AuditEvent, Meeting, User
from alertsvc.web.console import community_routes
from alertsvc.web.console.community_routes import local_moment
from alertsvc.web.console.deps import check_csrf
from tests.console.helpers import csrf_of
from tests.console.test_csrf_and_roles import _depends_on
from tests.factories import add_resident

OLD_MILL = (45.49, -73.57)
ZONE_PAGE = "/z/Old Mill"
ZONE_API = "/api/v1/zones/Old Mill/priorities"
TORONTO = ZoneInfo("America/Toronto")


async def _events(runtime: Runtime, prefix: str) -> list[AuditEvent]:
    async with runtime.sessions() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix)))
        return list(rows.all())


async def _user_id(runtime: Runtime, role: str) -> int:
    async with runtime.sessions() as session:
        found = await session.scalar(select(User.id).where(User.role == role).order_by(User.id.desc()))
    assert found is not None
    return found


async def _priority(runtime: Runtime, title: str = "Speeding on Mill Road") -> int:
    proposer = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550401", ref="ref-private-401")
    neighbour = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550402")
    await set_community(runtime, neighbour.id, True, "link")
    priority = await propose(runtime, proposer.id, "Old Mill", title)
    assert await support(runtime, neighbour.id, priority.id)
    return priority.id


def test_every_community_post_checks_csrf() -> None:
    routes = [r for r in community_routes.router.routes if isinstance(r, APIRoute) and "POST" in (r.methods or set())]
    assert len(routes) == 5
    assert [r.path for r in routes if not _depends_on(r, check_csrf)] == []


async def test_approver_answers_a_priority_and_the_public_sees_it(
    runtime: Runtime, approver: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    priority_id = await _priority(runtime)
    page = await approver.get("/console/priorities?zone=Old Mill")
    assert page.status_code == 200 and "Speeding on Mill Road" in page.text and "2 supporters" in page.text
    assert "+1514555040" not in page.text and "ref-private-401" not in page.text
    assert 'href="/console/priorities" aria-current="page"' in page.text and 'href="/console/meetings"' in page.text
    token = csrf_of(page.text)
    path = f"/console/priorities/{priority_id}"

    forged = await approver.post(path, data={"status": "done", "response": "x", "csrf_token": "forged"})
    missing = await approver.post(path, data={"status": "done", "response": "x"})
    assert forged.status_code == missing.status_code == 403
    assert (await client.get(ZONE_API)).json()["items"][0]["status"] == "open"

    response = "Speed bumps were laid in November."
    saved = await approver.post(path, data={"status": "done", "response": response, "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["location"].endswith(f"#priority-{priority_id}")
    item = (await client.get(ZONE_API)).json()["items"][0]
    assert (item["status"], item["response"], item["supporters"]) == ("done", response, 2)
    public = (await client.get(ZONE_PAGE, headers={"Accept-Language": "en"})).text
    assert response in public and "Done" in public

    approver_id = await _user_id(runtime, "approver")
    events = {event.action: event for event in await _events(runtime, "priority.")}
    assert set(events) == {"priority.status", "priority.respond"}
    assert all(e.actor == f"user:{approver_id}" and e.subject_id == str(priority_id) for e in events.values())
    assert events["priority.status"].detail == {"zone": "Old Mill", "from": "open", "to": "done"}
    assert response not in str(events["priority.respond"].detail)  # what changed, not the text
    again = await approver.post(path, data={"status": "done", "response": response, "csrf_token": token})
    assert again.status_code == 303 and len(await _events(runtime, "priority.")) == 2  # nothing changed: no row

    hidden = await approver.post(f"{path}/hidden", data={"hidden": "yes", "csrf_token": token})
    assert hidden.status_code == 303
    assert (await client.get(ZONE_API)).json()["items"] == []
    assert "Speeding on Mill Road" not in (await client.get(ZONE_PAGE)).text
    assert "Hidden from the public" in (await approver.get("/console/priorities")).text
    shown = await approver.post(f"{path}/hidden", data={"hidden": "no", "csrf_token": token})
    assert shown.status_code == 303 and len((await client.get(ZONE_API)).json()["items"]) == 1
    assert [e.action for e in await _events(runtime, "priority.h")] == ["priority.hide"]
    assert [e.action for e in await _events(runtime, "priority.u")] == ["priority.unhide"]


async def test_dispatchers_read_priorities_but_cannot_moderate(
    runtime: Runtime, dispatcher: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    priority_id = await _priority(runtime)
    page = await dispatcher.get("/console/priorities")
    assert page.status_code == 200 and "Speeding on Mill Road" in page.text and 'id="read-only"' in page.text
    assert f'action="/console/priorities/{priority_id}"' not in page.text
    token = csrf_of(page.text)
    hide = {"hidden": "yes", "csrf_token": token}
    refused = await dispatcher.post(f"/console/priorities/{priority_id}/hidden", data=hide)
    assert refused.status_code == 403
    answered = await dispatcher.post(
        f"/console/priorities/{priority_id}", data={"status": "done", "response": "no", "csrf_token": token}
    )
    assert answered.status_code == 403
    item = (await client.get(ZONE_API)).json()["items"][0]
    assert (item["status"], item["response"]) == ("open", None)
    assert await _events(runtime, "priority.") == []


async def test_priority_errors_stand_next_to_their_fields(
    runtime: Runtime, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    priority_id = await _priority(runtime)
    token = csrf_of((await admin.get("/console/priorities")).text)
    path = f"/console/priorities/{priority_id}"
    wrong = await admin.post(path, data={"status": "closed", "response": "Typed text", "csrf_token": token})
    assert wrong.status_code == 422
    field = f"p{priority_id}-status-error"
    assert f'id="{field}"' in wrong.text and f'aria-describedby="{field}"' in wrong.text
    assert "Typed text" in wrong.text  # what was typed is kept
    long = await admin.post(path, data={"status": "done", "response": "x" * 5001, "csrf_token": token})
    assert long.status_code == 422 and f'id="p{priority_id}-response-error"' in long.text
    assert "5,000" in long.text
    assert (await client.get(ZONE_API)).json()["items"][0]["status"] == "open"
    unknown = await admin.post("/console/priorities/999999", data={"status": "done", "csrf_token": token})
    assert unknown.status_code == 404
    french = await admin.post(f"{path}?lang=fr", data={"status": "closed", "csrf_token": token})
    assert "Choisissez un statut." in french.text


def _meeting_form(token: str, moment: datetime, **overrides: str) -> dict[str, str]:
    local = moment.astimezone(TORONTO)
    data = {
        "zone": "Old Mill", "title": "Safety walk", "timezone": "America/Toronto",
        "starts": local.strftime("%Y-%m-%dT%H:%M"), "ends": (local + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "place": "Mill Road community hall", "description": "Meet the officers.", "csrf_token": token,
    }  # fmt: skip
    data.update(overrides)
    return data


async def _ics_titles(client: httpx.AsyncClient) -> list[str]:
    calendar = icalendar.Calendar.from_ical((await client.get("/z/Old Mill/meetings.ics")).content)
    return [str(event["summary"]) for event in calendar.walk("VEVENT")]


async def test_a_dispatcher_holds_changes_and_cancels_a_meeting(
    runtime: Runtime, dispatcher: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    resident = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550411", language="fr")
    await set_community(runtime, resident.id, True, "link")
    page = await dispatcher.get("/console/meetings")
    assert page.status_code == 200 and "data-browser-zone" in page.text
    assert '<script src="/static/console/time-zone-field.js"></script>' in page.text
    token = csrf_of(page.text)
    starts = (utcnow() + timedelta(days=5)).replace(second=0, microsecond=0)
    assert (await dispatcher.post("/console/meetings", data=_meeting_form("forged", starts))).status_code == 403
    assert await _ics_titles(client) == []

    created = await dispatcher.post("/console/meetings", data=_meeting_form(token, starts))
    assert created.status_code == 303, created.text
    meeting_id = int(re.search(r"#meeting-(\d+)$", created.headers["location"]).group(1))  # type: ignore[union-attr]
    async with runtime.sessions() as session:
        stored = await session.get(Meeting, meeting_id)
    assert stored is not None and stored.starts_at == starts  # the Toronto wall-clock time, read as Toronto's
    public = (await client.get(ZONE_PAGE)).text
    assert "Safety walk" in public and starts.strftime("%Y-%m-%d %H:%M") in public
    assert await _ics_titles(client) == ["Safety walk"]
    listed = (await dispatcher.get("/console/meetings?zone=Old Mill")).text
    assert f'id="meeting-{meeting_id}"' in listed and "Safety walk" in listed
    reminder = [due for _, kind, _, due in await planned_sends(runtime, meeting_id) if kind == REMINDER]
    assert reminder == [starts - timedelta(days=1)]

    edit = await dispatcher.get(f"/console/meetings/{meeting_id}")
    assert edit.status_code == 200 and 'value="Safety walk"' in edit.text
    later = starts + timedelta(days=2)
    changed = await dispatcher.post(
        f"/console/meetings/{meeting_id}", data=_meeting_form(token, later, title="Night safety walk")
    )
    assert changed.status_code == 303, changed.text
    public = (await client.get(ZONE_PAGE)).text
    assert "Night safety walk" in public and later.strftime("%Y-%m-%d %H:%M") in public
    sends = await planned_sends(runtime, meeting_id)
    assert sorted(kind for _, kind, _, _ in sends) == [INVITATION, REMINDER]
    assert [due for _, kind, _, due in sends if kind == REMINDER] == [later - timedelta(days=1)]  # moved with it

    cancelled = await dispatcher.post(f"/console/meetings/{meeting_id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    public = (await client.get(ZONE_PAGE)).text  # kept, and said to be cancelled (the feed: test_meeting_cancel)
    assert "Cancelled:</strong> <strong>Night safety walk" in public
    assert await _ics_titles(client) == ["Night safety walk"]
    listed = (await dispatcher.get("/console/meetings")).text
    assert "Cancelled:" in listed and f'href="/console/meetings/{meeting_id}"' not in listed
    edit = await dispatcher.get(f"/console/meetings/{meeting_id}")
    assert edit.status_code == 200 and "This meeting was cancelled." in edit.text and 'name="title"' not in edit.text

    dispatcher_id = await _user_id(runtime, "dispatcher")
    events = await _events(runtime, "meeting.")
    assert [e.action for e in events] == ["meeting.create", "meeting.update", "meeting.cancel"]
    assert all(e.actor == f"user:{dispatcher_id}" and e.subject_id == str(meeting_id) for e in events)
    assert events[1].detail == {"zone": "Old Mill", "fields": ["ends_at", "starts_at", "title"]}
    assert "+1514555" not in str([e.detail for e in events])


async def test_meeting_errors_stand_next_to_their_fields(runtime: Runtime, approver: httpx.AsyncClient) -> None:
    token = csrf_of((await approver.get("/console/meetings")).text)
    starts = utcnow() + timedelta(days=3)
    cases = {
        "zone": {"zone": "Atlantis"},
        "title": {"title": "  "},
        "place": {"place": "x" * 301},
        "timezone": {"timezone": "Mars/Olympus"},
        "starts": {"starts": "tomorrow"},
        "ends": {"ends": (starts - timedelta(hours=1)).astimezone(TORONTO).strftime("%Y-%m-%dT%H:%M")},
    }
    for name, overrides in cases.items():
        answer = await approver.post("/console/meetings", data=_meeting_form(token, starts, **overrides))
        assert answer.status_code == 422, name
        assert f'id="{name}-error"' in answer.text and f'aria-describedby="{name}-error"' in answer.text, name
    past = await approver.post("/console/meetings", data=_meeting_form(token, utcnow() - timedelta(hours=1)))
    assert past.status_code == 422 and "the meeting must start in the future" in past.text
    french = await approver.post("/console/meetings?lang=fr", data=_meeting_form(token, utcnow() - timedelta(hours=1)))
    assert "la réunion doit commencer dans le futur" in french.text
    async with runtime.sessions() as session:
        assert list(await session.scalars(select(Meeting))) == []
    assert await _events(runtime, "meeting.") == []


def test_local_times_that_the_clocks_skip_or_repeat_are_refused() -> None:
    assert local_moment("2027-03-14T02:30", TORONTO) == (None, community_routes.NO_SUCH_TIME)
    assert local_moment("2027-11-07T01:30", TORONTO) == (None, community_routes.TWICE)
    assert local_moment("2027-07-01T19:00", TORONTO) == (datetime(2027, 7, 1, 23, 0, tzinfo=UTC), None)
    assert local_moment("2027-07-01 19:00", TORONTO)[0] == datetime(2027, 7, 1, 23, 0, tzinfo=UTC)
    assert local_moment("", TORONTO) == (None, community_routes.NOT_A_TIME)


async def test_the_audit_page_says_the_community_actions_in_words(
    runtime: Runtime, approver: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    priority_id = await _priority(runtime)
    token = csrf_of((await approver.get("/console/priorities")).text)
    answer = {"status": "in_progress", "response": "", "csrf_token": token}
    await approver.post(f"/console/priorities/{priority_id}", data=answer)
    await approver.post(f"/console/priorities/{priority_id}/hidden", data={"hidden": "yes", "csrf_token": token})
    english = (await admin.get("/console/audit?kind=priority.")).text
    assert "changed the status of a residents&#39; priority" in english and "hid a residents&#39; priority" in english
    assert "from: Open" in english and "to: In progress" in english
    french = (await admin.get("/console/audit?kind=priority.&lang=fr")).text
    assert "a changé le statut d’une priorité des résidents" in french
    assert "de: Ouverte" in french and "à: En cours" in french
    assert "a masqué au public une priorité des résidents" in french
    assert "Priorités des résidents" in french  # the kind in the filter

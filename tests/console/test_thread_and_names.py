"""Every console page shows the alert's current state and people by name (issue 20): the original says it was
updated and cancelled, with links; the list keeps a thread together and never shows a Cancel under the headline of
what it cancels; an alert's timeline is in time order; authors, approvers and timeline actors are display names,
never ``user:ID``."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import httpx
import pytest

from alertsvc.alerts.queries import timeline_of
from alertsvc.runtime import Runtime
from alertsvc.security.scopes import Role
from alertsvc.security.users import create_user
from alertsvc.store.models import Alert, AuditEvent
from tests.console.helpers import PASSWORD, compose, login, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker

_TIMES = re.compile(r"<time>([^<]+)</time>")


def _linked(page: str, alert_id: str, words: str) -> bool:
    """The page's thread line for ``alert_id`` reads ``words`` and links that alert."""
    line = rf'id="thread-{alert_id}"[^>]*>\s*{words}\s*<a href="/console/alerts/{alert_id}"'
    return re.search(line, page) is not None


async def _named(runtime: Runtime, role: str, name: str) -> httpx.AsyncClient:
    """A client signed in as a new user with a display name."""
    from alertsvc.app import create_app

    email = f"{role}-{uuid.uuid4().hex[:6]}@city.example"
    async with runtime.sessions() as session, session.begin():
        await create_user(session, email, Role(role), PASSWORD, actor="test", display_name=name)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://testserver"
    )
    assert (await login(client, email)).status_code == 303
    return client


async def _alert(runtime: Runtime, alert_id: str) -> Alert:
    async with runtime.sessions() as session:
        found = await session.get(Alert, alert_id)
        assert found is not None
        return found


@pytest.fixture
async def people(runtime: Runtime) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    dispatcher = await _named(runtime, "dispatcher", "Dana Dispatch")
    approver = await _named(runtime, "approver", "Avery Approve")
    yield dispatcher, approver
    await dispatcher.aclose()
    await approver.aclose()


async def _thread(
    runtime: Runtime,
    dispatcher: httpx.AsyncClient,
    approver: httpx.AsyncClient,
    canceller: httpx.AsyncClient | None = None,
) -> tuple[str, str, str]:
    """An Exercise sent, an Update of it sent, then the Update cancelled (by ``canceller``, else the approver):
    the three alert ids."""
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550911", test_recipient=True)
    first = (await compose(dispatcher, info0_headline="Gas leak on Main")).headers["location"]
    assert (await post_form(approver, first, f"{first}/approve")).status_code == 303
    await run_worker(runtime)
    original = await _alert(runtime, first.rsplit("/", 1)[1])
    references = f"{original.sender},{original.identifier},{original.sent_text}"
    update = (
        await compose(dispatcher, msg_type="Update", references=references, info0_headline="Gas leak spreads east")
    ).headers["location"]
    assert (await post_form(approver, update, f"{update}/approve")).status_code == 303
    await run_worker(runtime)
    cancelled = await post_form(canceller or approver, update, f"{update}/cancel")
    assert cancelled.status_code == 303, cancelled.text
    await run_worker(runtime)
    return original.id, update.rsplit("/", 1)[1], cancelled.headers["location"].rsplit("/", 1)[1]


async def test_the_thread_shows_on_every_page_with_names(
    runtime: Runtime, people: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    dispatcher, approver = people
    original, update, cancel = await _thread(runtime, dispatcher, approver)

    first_page = (await dispatcher.get(f"/console/alerts/{original}")).text
    assert _linked(first_page, update, "Updated by"), "the original links the Update that replaced it"
    assert _linked(first_page, cancel, "Cancelled by"), "and the Cancel that withdrew the Update"
    assert "Dana Dispatch" in first_page and "Avery Approve" in first_page

    update_page = (await dispatcher.get(f"/console/alerts/{update}")).text
    assert f'href="/console/alerts/{original}"' in update_page  # "Updates <original>"
    assert "Cancelled by" in update_page and f'href="/console/alerts/{cancel}"' in update_page
    for page in (first_page, update_page):
        assert not re.search(r"user:\d", page), "people are shown by name, never by principal id"
    assert "Approved by Avery Approve" in first_page

    listing = (await dispatcher.get("/console/alerts")).text
    rows = re.findall(r'data-alert="([^"]+)" data-depth="(\d)"', listing)
    ids = [alert_id for alert_id, _depth in rows]
    start = ids.index(original)
    assert ids[start : start + 3] == [original, update, cancel], "a thread is listed together, first alert on top"
    assert [depth for _id, depth in rows[start : start + 3]] == ["0", "1", "1"]
    cancel_row = listing.split(f'data-alert="{cancel}"', 1)[1].split("</tr>", 1)[0]
    assert ">Gas leak spreads east<" not in cancel_row, "the Cancel row does not repeat the Update's headline"
    assert "Cancel of" in cancel_row or (await _alert(runtime, cancel)).headline != "Gas leak spreads east"
    assert "Dana Dispatch" in listing and not re.search(r"user:\d", listing)

    report = (await dispatcher.get(f"/console/alerts/{original}/report")).text
    timeline = report.split('id="report-timeline"', 1)[1].split("</table>", 1)[0]
    assert "Dana Dispatch" in timeline and "Avery Approve" in timeline and not re.search(r"user:\d", timeline)


async def test_a_cancelled_updates_timeline_is_in_time_order(
    runtime: Runtime, people: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    dispatcher, approver = people
    canceller = await _named(runtime, "approver", "Casey Cancel")
    try:
        original, update, cancel = await _thread(runtime, dispatcher, approver, canceller)
    finally:
        await canceller.aclose()
    page = (await dispatcher.get(f"/console/alerts/{update}")).text
    timeline = page.split('id="timeline-title"', 1)[1].split("</ol>", 1)[0]
    times = _TIMES.findall(timeline)
    assert len(times) >= 5  # submitted, approved, first sent, all sent, cancelled
    assert times == sorted(times)
    assert timeline.index("first message sent") < timeline.index("Casey Cancel cancelled the alert")
    # decided_by now names the canceller: the approval line still names who approved.
    assert "Approved by Avery Approve" in page and "Approved by Casey Cancel" not in page

    first = (await dispatcher.get(f"/console/alerts/{original}")).text
    first_timeline = first.split('id="timeline-title"', 1)[1].split("</ol>", 1)[0]
    assert _TIMES.findall(first_timeline) == sorted(_TIMES.findall(first_timeline))
    issued_update = first_timeline.index(f'href="/console/alerts/{update}"')
    assert "issued an Update:" in first_timeline and issued_update < first_timeline.index("issued a Cancel:")
    assert f'href="/console/alerts/{cancel}"' in first_timeline
    assert 'id="thread-cancelled"' in first and 'id="prepare-update"' not in first


def test_milestones_merge_into_the_audit_rows_by_time() -> None:
    def at(second: int) -> datetime:
        return datetime.fromisoformat(f"2026-12-04T10:00:{second:02d}+00:00")

    rows = [AuditEvent(id=1, at=at(0), action="alert.submit"), AuditEvent(id=2, at=at(9), action="alert.cancel")]
    entries = timeline_of(rows, first_sent=at(3), completed=at(5))
    assert [(e.event.action if e.event else e.milestone) for e in entries] == [
        "alert.submit",
        "first_sent",
        "completed",
        "alert.cancel",
    ]


def test_a_follow_up_is_dated_from_its_approval_not_from_when_it_was_asked_for() -> None:
    def at(minute: int) -> datetime:
        return datetime.fromisoformat(f"2026-12-04T10:{minute:02d}:00+00:00")

    asked = Alert(id="cancel-1", msg_type="Cancel", created_at=at(1), approved_at=at(50))
    waiting = Alert(id="cancel-2", msg_type="Cancel", created_at=at(55), approved_at=None)
    rows = [AuditEvent(id=1, at=at(0), action="alert.submit"), AuditEvent(id=2, at=at(30), action="alert.update")]
    entries = timeline_of(rows, first_sent=at(2), completed=None, follow_ups=[asked, waiting])
    follow_ups = [(entry.at, entry.follow_up.id) for entry in entries if entry.follow_up is not None]
    assert follow_ups == [(at(50), "cancel-1"), (at(55), "cancel-2")]
    kinds = [entry.event.action if entry.event else entry.milestone for entry in entries]
    assert kinds[-3:] == ["alert.update", "follow_up", "follow_up"]


async def test_the_admin_page_gives_a_user_the_name_the_console_shows(
    runtime: Runtime, admin: httpx.AsyncClient
) -> None:
    created = await post_form(
        admin, "/console/users", "/console/users", email="zoe@city.example", role="dispatcher", display_name="Zoé T."
    )
    assert created.status_code == 200 and "<td>Zoé T.</td><td>zoe@city.example</td>" in created.text
    forged = await post_form(
        admin, "/console/users", "/console/users", email="x@city.example", role="dispatcher", display_name="A\u202eB"
    )
    assert forged.status_code == 422 and "control characters" in forged.text
    audit = (await admin.get("/console/audit", params={"kind": "user.create"})).text
    assert "created the user" in audit and "Zoé T." in audit.split("<tbody>", 1)[1]

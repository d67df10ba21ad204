"""Approval that reads before it approves: the approver's page shows every message of every language exactly as
each channel sends it (checked against what the sandbox providers were then given), and an Actual alert is approved
only through the second step that shows its reach: a POST without it, or with a reach that is no longer true, is
refused and changes nothing."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import select

from alertsvc.runtime import Runtime
from alertsvc.store.models import Alert, AuditEvent
from tests.console.helpers import compose, csrf_of, post_form
from tests.factories import add_resident
from tests.integration.test_alert_commands import fanouts_queued
from tests.integration.test_fanout import outbox, run_worker

FRENCH = {
    "info1_event": "Fuite de gaz",
    "info1_headline": "Fuite de gaz : quittez le secteur",
    "info1_description": "Une conduite de gaz s'est rompue près de la place.",
    "info1_instruction": "Quittez le secteur maintenant.",
}
LINK = re.compile(r"/a/[0-9a-z]+\.[A-Za-z0-9_-]+")


def _shown(page: str, channel: str) -> list[str]:
    """The texts of one channel's previews on the page, in order, unescaped."""
    pattern = re.compile(rf'<(?:pre|span) class="[^"]*" data-channel="{channel}">(.*?)</(?:pre|span)>', re.DOTALL)
    found = [html.unescape(text) for text in pattern.findall(page)]
    if not found:  # the subject and title spans carry no class
        pattern = re.compile(rf'<span data-channel="{channel}">(.*?)</span>', re.DOTALL)
        found = [html.unescape(text) for text in pattern.findall(page)]
    return found


def _unlinked(text: str) -> str:
    return LINK.sub("/a/LINK", text)


async def _state(runtime: Runtime, path: str) -> str:
    async with runtime.sessions() as session:
        alert = await session.get(Alert, path.rsplit("/", 1)[1])
    assert alert is not None
    return alert.state


async def _approvals(runtime: Runtime, path: str) -> int:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent.id).where(
                AuditEvent.subject_id == path.rsplit("/", 1)[1], AuditEvent.action == "alert.approve"
            )
        )
        return len(list(rows))


async def test_the_approver_reads_each_language_as_each_channel_sends_it(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550601", email="en@example.org",
                       push="ntfy://push.example.org/push-en", test_recipient=True)  # fmt: skip
    await add_resident(runtime.sessions, 45.5, -72.5, language="fr", sms="+15145550602", email="fr@example.org",
                       test_recipient=True)  # fmt: skip
    path = (await compose(dispatcher, **FRENCH)).headers["location"]
    page = (await approver.get(path)).text

    sms, emails, pushes = _shown(page, "sms"), _shown(page, "email"), _shown(page, "push")
    subjects, titles = _shown(page, "email-subject"), _shown(page, "push-title")
    assert len(sms) == len(emails) == len(pushes) == len(subjects) == len(titles) == 2, page
    english, french = sms
    assert "EXERCISE" in english and "Gas leak: leave the area" in english and "Leave the area now." in english
    assert "Fuite de gaz : quittez le secteur" in french and "Quittez le secteur maintenant." in french
    assert "A gas main has ruptured near the square." in emails[0] and "Quittez le secteur" in emails[1]
    assert "Gas leak: leave the area" in subjects[0] and "Fuite de gaz" in titles[1]
    assert 'lang="en-CA"' in page and 'lang="fr-CA"' in page
    assert re.search(r"\d+ segments?, (GSM-7|UCS-2), \d+ characters", page), "the SMS cost is shown"
    assert 'id="approve-button"' in page and "/approve" in page

    # What the providers are then given is what the approver read (the links aside, which are each resident's).
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 303  # an Exercise: one step
    await run_worker(runtime)
    given = {(item["channel"], item["to"]): item for item in await outbox(runtime)}
    assert _unlinked(given[("sms", "+15145550601")]["body"]) == _unlinked(english)
    assert _unlinked(given[("sms", "+15145550602")]["body"]) == _unlinked(french)
    assert given[("email", "fr@example.org")]["subject"] == subjects[1]
    assert _unlinked(given[("push", "ntfy://push.example.org/push-en")]["body"]) == _unlinked(pushes[0])


async def test_an_actual_approval_without_the_confirmation_step_is_refused_and_does_nothing(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    for n in range(2):
        await add_resident(runtime.sessions, 45.5, -72.5 + n * 0.01, sms=f"+1514555061{n}")
    created = await compose(dispatcher, status="Actual", confirm_residents="2")
    assert created.status_code == 303, created.text
    path = created.headers["location"]
    page = (await approver.get(path)).text
    assert f'href="{path}/approve" id="approve-button"' not in page  # a link to the second step, not a form
    assert re.search(rf'id="approve-button" href="{path}/approve"', page)

    for typed in ({}, {"confirm_residents": ""}, {"confirm_residents": "3"}, {"confirm_residents": "two"}):
        refused = await post_form(approver, path, f"{path}/approve", **typed)
        assert refused.status_code == 409, typed
        assert 'id="confirm-problem"' in refused.text and 'id="confirm-approve-button"' in refused.text
    assert await _state(runtime, path) == "pending_approval"
    assert await fanouts_queued(runtime) == [] and await _approvals(runtime, path) == 0

    step = await approver.get(f"{path}/approve")
    assert step.status_code == 200 and 'id="confirm-reach"><strong>2</strong>' in step.text
    assert 'name="confirm_residents" value="2"' in step.text
    confirmed = await approver.post(
        f"{path}/approve", data={"confirm_residents": "2", "csrf_token": csrf_of(step.text)}
    )
    assert confirmed.status_code == 303 and confirmed.headers["location"] == path
    assert await _state(runtime, path) in {"approved", "dispatching", "sent"}
    assert await fanouts_queued(runtime) == [path.rsplit("/", 1)[1]] and await _approvals(runtime, path) == 1


async def test_a_reach_that_changed_since_the_second_step_is_confirmed_again(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550620")
    path = (await compose(dispatcher, status="Actual", confirm_residents="1")).headers["location"]
    step = await approver.get(f"{path}/approve")
    await add_resident(runtime.sessions, 45.6, -72.6, sms="+15145550621")  # signs up meanwhile
    stale = await approver.post(f"{path}/approve", data={"confirm_residents": "1", "csrf_token": csrf_of(step.text)})
    assert stale.status_code == 409 and 'id="confirm-reach"><strong>2</strong>' in stale.text
    assert await _state(runtime, path) == "pending_approval" and await fanouts_queued(runtime) == []

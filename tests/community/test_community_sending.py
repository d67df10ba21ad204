"""Community messages actually sent, on SQLite and PostgreSQL, through the sandbox channels (the real adapters'
builders) and the sender job with an injected clock: an invitation reaches an opted-in resident in French, in
their own time zone; nobody who opted out, sent STOP or whose meeting was cancelled after planning gets anything;
nothing goes inside quiet hours or past the weekly cap; the reminder goes the day before; a priority's response
reaches its supporters in their language; two concurrent runs send once; a claim left by a dead worker ends
``failed``, never sent twice; the worker's job is registered and runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from alertsvc.clock import utcnow
from alertsvc.community.meetings import INVITATION, REMINDER, cancel_meeting, create_meeting
from alertsvc.community.priorities import PriorityStatus, moderate, propose, support
from alertsvc.community.sending import (
    INTERRUPTED_AFTER,
    MessageCounts,
    claim_due,
    counts_by,
    meeting_subjects,
    priority_subjects,
)
from alertsvc.dispatch.community_sender import COMMUNITY_TICK, SEND_COMMUNITY, enqueue_due, send_batch
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.dispatch.worker import build_worker
from alertsvc.residents.message_classes import set_community
from alertsvc.runtime import Runtime
from alertsvc.store.models import CommunitySend, Resident
from tests.community.test_tips import sms
from tests.console.helpers import signed_in
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker

OLD_MILL = (45.49, -73.57)  # inside the example city's "Old Mill"
STARTS_IN = timedelta(days=3)


@pytest.fixture
async def app(runtime: Runtime) -> AsyncIterator[WorkerContext]:
    context = await WorkerContext.open(runtime, False)
    try:
        yield context
    finally:
        await context.close()


async def _resident(runtime: Runtime, number: str, *, language: str = "en", opted_in: bool = True,
                    **extra: Any) -> Resident:  # fmt: skip
    resident = await add_resident(runtime.sessions, *OLD_MILL, sms=number, language=language, **extra)
    if opted_in:
        await set_community(runtime, resident.id, True, "link")
    return resident


async def _meeting(runtime: Runtime) -> tuple[int, datetime]:
    starts = utcnow().replace(second=0, microsecond=0) + STARTS_IN
    view, _planned = await create_meeting(
        runtime, zone="Old Mill", title="Safety walk", starts_at=starts, ends_at=starts + timedelta(hours=2),
        place="Mill Road community hall", description="", created_by="user:1",
    )  # fmt: skip
    return view.id, starts


async def _send_due(app: WorkerContext, now: datetime) -> dict[str, int]:
    """What the cron tick and its jobs do, with the clock given, batch by batch; every message is offered, so the
    claim itself must leave those not yet due."""
    totals = {"claimed": 0, "sent": 0, "failed": 0}
    async with app.runtime.sessions() as session:
        ids = list(await session.scalars(select(CommunitySend.id)))
    for start in range(0, len(ids), 50):
        for key, value in (await send_batch(app, ids[start : start + 50], now)).items():
            totals[key] += value
    return totals


async def _rows(runtime: Runtime) -> dict[tuple[int, str], CommunitySend]:
    async with runtime.sessions() as session:
        return {(row.resident_id, row.kind): row for row in await session.scalars(select(CommunitySend))}


async def _sms_to(runtime: Runtime, number: str) -> list[dict[str, Any]]:
    return await read_outbox(runtime.redis, channel="sms", to=number)


async def test_an_invitation_reaches_an_opted_in_resident_in_french_in_their_time_zone(
    runtime: Runtime, app: WorkerContext
) -> None:
    chose = await _resident(runtime, "+15145550201", language="fr", timezone="America/Toronto")
    never = await _resident(runtime, "+15145550202", opted_in=False)
    meeting_id, starts = await _meeting(runtime)
    assert (await _send_due(app, utcnow()))["sent"] == 1
    sent = await _sms_to(runtime, "+15145550201")
    assert len(sent) == 1
    body = sent[0]["body"]
    local = starts.astimezone(ZoneInfo("America/Toronto"))
    assert body.startswith("Invitation : Safety walk") and "Où : Mill Road community hall" in body
    assert "Quand :" in body and local.strftime("%H:%M") in body and str(local.day) in body
    assert "http://testserver/z/Old%20Mill/meetings.ics" in body and "http://testserver/r/manage/" in body
    assert await _sms_to(runtime, "+15145550202") == []
    rows = await _rows(runtime)
    invitation = rows[(chose.id, INVITATION)]
    assert invitation.state == "sent" and invitation.channel == "sms" and invitation.provider_id
    assert rows[(chose.id, REMINDER)].state == "pending"  # not due until the day before
    assert (never.id, INVITATION) not in rows
    assert (await counts_by(runtime, meeting_subjects([meeting_id])))[meeting_id] == MessageCounts(planned=1, sent=1)


async def test_nobody_who_opted_out_or_sent_stop_after_planning_gets_anything(
    runtime: Runtime, app: WorkerContext, client: httpx.AsyncClient
) -> None:
    turned_off = await _resident(runtime, "+15145550211")
    stopped = await _resident(runtime, "+15145550212")
    stays = await _resident(runtime, "+15145550213")
    await _meeting(runtime)
    await set_community(runtime, turned_off.id, False, "link")  # after planning
    await sms(client, runtime, "STOP", number="+15145550212")  # after planning
    result = await _send_due(app, utcnow())
    assert result["sent"] == 1
    assert await _sms_to(runtime, "+15145550211") == []
    assert [m for m in await _sms_to(runtime, "+15145550212") if "Safety walk" in m["body"]] == []
    assert len(await _sms_to(runtime, "+15145550213")) == 1
    rows = await _rows(runtime)
    assert rows[(turned_off.id, INVITATION)].state == "skipped"
    assert rows[(stopped.id, INVITATION)].state == "skipped" and "STOP" in str(rows[(stopped.id, INVITATION)].reason)
    assert rows[(stays.id, INVITATION)].state == "sent"


async def test_nothing_goes_inside_quiet_hours_it_waits_for_their_end(runtime: Runtime, app: WorkerContext) -> None:
    night_owl = await _resident(runtime, "+15145550221", timezone="UTC")
    await _meeting(runtime)
    now = utcnow()
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")
    async with runtime.sessions() as session, session.begin():  # quiet hours set after planning, around now
        await session.execute(
            update(Resident).where(Resident.id == night_owl.id).values(quiet_start=start, quiet_end=end)
        )
    assert (await _send_due(app, now))["sent"] == 0
    assert await _sms_to(runtime, "+15145550221") == []
    deferred = (await _rows(runtime))[(night_owl.id, INVITATION)]
    assert deferred.state == "pending" and deferred.due_at > now + timedelta(hours=1)
    assert (await _send_due(app, deferred.due_at))["sent"] == 1  # when the quiet hours end
    assert len(await _sms_to(runtime, "+15145550221")) == 1


async def test_the_weekly_cap_holds_at_send_time_and_the_reminder_goes_the_day_before(
    runtime: Runtime, app: WorkerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    resident = await _resident(runtime, "+15145550231", language="es")
    _meeting_id, starts = await _meeting(runtime)
    now = utcnow()
    assert (await _send_due(app, now))["sent"] == 1
    day_before = starts - timedelta(days=1)
    assert (await _send_due(app, day_before - timedelta(minutes=1)))["claimed"] == 0  # not yet
    monkeypatch.setattr(app.settings, "community_weekly_cap", 1)  # the office lowered the cap after planning
    assert (await _send_due(app, day_before))["sent"] == 0
    held = (await _rows(runtime))[(resident.id, REMINDER)]
    assert held.state == "pending" and held.due_at > now + timedelta(days=7)
    assert len(await _sms_to(runtime, "+15145550231")) == 1
    monkeypatch.setattr(app.settings, "community_weekly_cap", 2)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(CommunitySend).where(CommunitySend.id == held.id).values(due_at=day_before))
    assert (await _send_due(app, day_before))["sent"] == 1
    reminder = (await _sms_to(runtime, "+15145550231"))[0]["body"]  # newest first
    assert reminder.startswith("Recordatorio: Safety walk") and "Dónde: Mill Road community hall" in reminder


async def test_a_cancelled_meeting_sends_nothing_more(runtime: Runtime, app: WorkerContext) -> None:
    resident = await _resident(runtime, "+15145550241")
    meeting_id, _starts = await _meeting(runtime)
    await cancel_meeting(runtime, meeting_id, actor="user:1")
    await _send_due(app, utcnow() + STARTS_IN - timedelta(hours=2))  # the invitation's and the reminder's times
    assert await _sms_to(runtime, "+15145550241") == []
    assert {row.state for row in (await _rows(runtime)).values() if row.resident_id == resident.id} == {"skipped"}


async def test_a_priority_response_reaches_its_supporters_in_their_language(
    runtime: Runtime, app: WorkerContext
) -> None:
    proposer = await _resident(runtime, "+15145550251", language="fr")
    supporter = await _resident(runtime, "+15145550252", language="es")
    bystander = await _resident(runtime, "+15145550253")
    priority = await propose(runtime, proposer.id, "Old Mill", "Speeding on Mill Road")
    assert await support(runtime, supporter.id, priority.id)
    _view, planned = await moderate(
        runtime, priority.id, actor="user:1", status=PriorityStatus.DONE, response="Two speed bumps were installed."
    )
    assert planned >= 1
    await _send_due(app, utcnow())
    told = await _sms_to(runtime, "+15145550252")
    assert len(told) == 1
    body = told[0]["body"]
    assert body.startswith("Ustedes lo pidieron, nosotros actuamos: Speeding on Mill Road")
    assert "Estado: hecho" in body and "Two speed bumps were installed." in body
    assert "http://testserver/r/manage/" in body
    assert await _sms_to(runtime, "+15145550253") == [] and bystander.id
    proposed = await _sms_to(runtime, "+15145550251")  # the proposer supports it too, and reads French
    assert len(proposed) == 1 and proposed[0]["body"].startswith("Vous l'avez demandé, nous avons agi : Speeding")
    assert "État : fait" in proposed[0]["body"] and planned == 2
    counts = await counts_by(runtime, priority_subjects([priority.id], ("open", "done")))
    assert counts[priority.id] == MessageCounts(sent=planned)


async def test_two_concurrent_runs_send_each_message_once(runtime: Runtime, app: WorkerContext) -> None:
    numbers = [f"+151455503{n:02d}" for n in range(12)]
    for number in numbers:
        await _resident(runtime, number)
    await _meeting(runtime)
    other = await WorkerContext.open(runtime, False)
    try:
        now = utcnow()
        async with runtime.sessions() as session:
            ids = list(await session.scalars(select(CommunitySend.id).where(CommunitySend.due_at <= now)))
        first, second = await asyncio.gather(send_batch(app, ids, now), send_batch(other, ids, now))
    finally:
        await other.close()
    assert first["sent"] + second["sent"] == len(numbers)
    sent = await read_outbox(runtime.redis, channel="sms", limit=1000)
    assert sorted(m["to"] for m in sent) == sorted(numbers)


async def test_a_claim_left_by_a_dead_worker_fails_and_is_never_sent_twice(
    runtime: Runtime, app: WorkerContext
) -> None:
    resident = await _resident(runtime, "+15145550261")
    await _meeting(runtime)
    now = utcnow()
    row = (await _rows(runtime))[(resident.id, INVITATION)]
    claimed = await runtime.write(claim_due, [row.id], now, 2, runtime.settings)  # then the worker dies
    assert [item.id for item in claimed] == [row.id]
    assert (await send_batch(app, [row.id], now))["claimed"] == 0  # arq's retry of the job sends nothing
    early = await enqueue_due(app, now + INTERRUPTED_AFTER - timedelta(minutes=1))
    assert early["community_interrupted"] == 0
    late = await enqueue_due(app, now + INTERRUPTED_AFTER + timedelta(minutes=1))
    assert late["community_interrupted"] == 1
    closed = (await _rows(runtime))[(resident.id, INVITATION)]
    assert closed.state == "failed" and closed.error_code == "interrupted"
    await run_worker(runtime)
    assert await _sms_to(runtime, "+15145550261") == []


async def test_the_worker_runs_the_enqueued_jobs(runtime: Runtime, app: WorkerContext) -> None:
    await _resident(runtime, "+15145550271", language="fr")
    await _meeting(runtime)
    queued = await enqueue_due(app, utcnow())
    assert queued["community_due"] == 1 and queued["community_jobs"] == 1
    await run_worker(runtime)
    sent = await _sms_to(runtime, "+15145550271")
    assert len(sent) == 1 and sent[0]["body"].startswith("Invitation : Safety walk")


async def test_the_console_shows_each_meeting_and_priority_messages_by_state(
    runtime: Runtime, app: WorkerContext
) -> None:
    await _resident(runtime, "+15145550281", language="fr")
    await _resident(runtime, "+15145550282")
    refused = await _resident(runtime, "+15145550283", language="es")
    await _meeting(runtime)
    await set_community(runtime, refused.id, False, "link")
    proposer = await _resident(runtime, "+15145550284")  # chose community messages after the meeting was planned
    priority = await propose(runtime, proposer.id, "Old Mill", "Lighting in Cedar Park")
    await moderate(runtime, priority.id, actor="user:1", status=PriorityStatus.IN_PROGRESS, response="Lamps ordered.")
    await _send_due(app, utcnow())
    client, _email = await signed_in(runtime, "approver")
    try:
        meetings = await client.get("/console/meetings")
        priorities = await client.get("/console/priorities")
    finally:
        await client.aclose()
    assert "Messages: 3 planned, 2 sent, 0 failed, 1 skipped" in meetings.text  # 3 reminders wait for their day
    assert "Messages: 0 planned, 1 sent, 0 failed, 0 skipped" in priorities.text


async def test_the_worker_ticks_every_minute(runtime: Runtime) -> None:
    worker = build_worker(runtime)
    try:
        ticks = [job for job in worker.cron_jobs if job.name == f"cron:{COMMUNITY_TICK}"]
        assert len(ticks) == 1 and ticks[0].second == 30 and ticks[0].minute is None and ticks[0].unique
        assert SEND_COMMUNITY in worker.functions
    finally:
        await worker.close()


async def test_one_message_a_person_on_their_first_reachable_channel_email_included(
    runtime: Runtime, app: WorkerContext
) -> None:
    both = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550291", email="both@example.org")
    mail_only = await add_resident(runtime.sessions, *OLD_MILL, email="mail@example.org", language="es")
    for resident in (both, mail_only):
        await set_community(runtime, resident.id, True, "link")
    await _meeting(runtime)
    assert (await _send_due(app, utcnow()))["sent"] == 2
    assert len(await _sms_to(runtime, "+15145550291")) == 1
    assert await read_outbox(runtime.redis, channel="email", to="both@example.org") == []
    mail = await read_outbox(runtime.redis, channel="email", to="mail@example.org")
    assert len(mail) == 1 and mail[0]["subject"] == "Invitación: Safety walk"
    assert "Dejar de recibir mensajes del barrio: http://testserver/r/manage/" in mail[0]["body"]
    rows = await _rows(runtime)
    assert rows[(mail_only.id, INVITATION)].channel == "email" and rows[(both.id, INVITATION)].channel == "sms"


async def test_a_meeting_called_off_and_held_again_the_same_week_still_reaches_its_residents(
    runtime: Runtime, app: WorkerContext
) -> None:
    await _resident(runtime, "+15145550295")
    first, _starts = await _meeting(runtime)
    await cancel_meeting(runtime, first, actor="user:1")
    again, _starts = await _meeting(runtime)
    await _send_due(app, utcnow())
    sent = await _sms_to(runtime, "+15145550295")
    assert len(sent) == 1 and sent[0]["body"].startswith("Invitation: Safety walk")
    counts = await counts_by(runtime, meeting_subjects([first, again]))
    assert counts[first] == MessageCounts(skipped=1, planned=1) and counts[again] == MessageCounts(sent=1, planned=1)

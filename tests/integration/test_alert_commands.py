"""One command path per alert action (:mod:`alertsvc.alerts.commands`): the API and the console call the same
functions, which validate, commit, then enqueue the fan-out; a refusal commits and enqueues nothing; a fan-out
whose enqueue was lost after the commit is enqueued by the sweeper."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from arq import ArqRedis
from sqlalchemy import func, select

from alertsvc.alerts import commands, service
from alertsvc.cap import CapError, parse_cap_json
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.sweeper import _resume_fanouts
from alertsvc.jobs import FANOUT
from alertsvc.runtime import Runtime
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.store.models import Alert, AuditEvent
from tests.conftest import KeyMaker, auth
from tests.console.helpers import post_form, signed_in
from tests.factories import cap_alert

WRITER = Principal(name="key:writer", scopes=frozenset({Scope.ALERTS_WRITE}))
APPROVER = Principal(name="key:approver", scopes=frozenset({Scope.ALERTS_WRITE, Scope.ALERTS_SEND}))


async def fanouts_queued(runtime: Runtime) -> list[str]:
    """The alert ids of every ``fanout`` job in the arq queue, one entry per job."""
    return sorted(str(job.args[0]) for job in await runtime.redis.queued_jobs() if job.function == FANOUT)


async def pending_alert(client: httpx.AsyncClient, writer_key: str) -> str:
    """An Actual alert submitted by a key that may not send it: it waits for approval, nothing queued."""
    response = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(writer_key))
    assert response.status_code == 201 and response.json()["state"] == "pending_approval", response.text
    alert_id: str = response.json()["id"]
    return alert_id


@pytest.fixture
async def console_approver(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    client, _ = await signed_in(runtime, "approver")
    try:
        yield client
    finally:
        await client.aclose()


async def test_the_api_and_the_console_approve_through_one_command_each_enqueuing_one_fanout(
    client: httpx.AsyncClient,
    console_approver: httpx.AsyncClient,
    runtime: Runtime,
    make_key: KeyMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    approved: list[str] = []
    command = commands.approve

    async def spy(runtime: Runtime, alert_id: str, principal: Principal) -> Alert:
        approved.append(alert_id)
        return await command(runtime, alert_id, principal)

    monkeypatch.setattr(commands, "approve", spy)
    writer, sender = await make_key("alerts:write"), await make_key("alerts:send", "alerts:read")
    by_api, by_console = await pending_alert(client, writer), await pending_alert(client, writer)
    assert await fanouts_queued(runtime) == []

    response = await client.post(f"/api/v1/alerts/{by_api}/approve", headers=auth(sender))
    assert response.status_code == 200 and response.json()["state"] == "approved", response.text
    page = f"/console/alerts/{by_console}"
    # An Actual alert: the console takes its approval with the reach confirmed (0 residents in cap_alert()'s area).
    assert (await post_form(console_approver, page, f"{page}/approve", confirm_residents="0")).status_code == 303
    assert approved == [by_api, by_console]
    assert await fanouts_queued(runtime) == sorted([by_api, by_console])

    # The other edge approving the same alert again: the command refuses it, each edge in its own words, and
    # nothing more is queued.
    again = await post_form(
        console_approver, f"/console/alerts/{by_api}", f"/console/alerts/{by_api}/approve", confirm_residents="0"
    )
    assert again.status_code == 409
    twice = await client.post(f"/api/v1/alerts/{by_console}/approve", headers=auth(sender))
    assert twice.status_code == 409 and twice.headers["content-type"].startswith("application/problem+json")
    assert approved == [by_api, by_console, by_api, by_console]
    assert await fanouts_queued(runtime) == sorted([by_api, by_console])


async def _count(runtime: Runtime, model: Any, *where: Any) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _attempt(action: Callable[[], Awaitable[object]], refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        await action()


async def test_a_refused_command_commits_nothing_and_enqueues_nothing(runtime: Runtime) -> None:
    unknown_zone = parse_cap_json(cap_alert(polygon=None, geocodes=[("zone", "Atlantis")]))
    await _attempt(lambda: commands.submit(runtime, unknown_zone, APPROVER), CapError)
    assert await _count(runtime, Alert) == 0 and await _count(runtime, AuditEvent) == 0

    pending = await commands.submit(runtime, parse_cap_json(cap_alert()), WRITER)
    assert pending.alert.state == "pending_approval"
    author_with_send = Principal(name=WRITER.name, scopes=frozenset({Scope.ALERTS_SEND}))
    await _attempt(lambda: commands.approve(runtime, pending.alert.id, author_with_send), service.LifecycleError)
    await _attempt(lambda: commands.approve(runtime, pending.alert.id, WRITER), PermissionError)
    await _attempt(lambda: commands.reject(runtime, pending.alert.id, APPROVER, "  "), service.LifecycleError)
    await _attempt(lambda: commands.approve(runtime, "no-such-alert", APPROVER), service.AlertNotFound)

    async with runtime.sessions() as session:
        alert = await service.get_alert(session, pending.alert.id)
    assert (alert.state, alert.approved_at, alert.decided_by) == ("pending_approval", None, None)
    assert await _count(runtime, AuditEvent, AuditEvent.action != "alert.submit") == 0
    assert await fanouts_queued(runtime) == []


@pytest.fixture
async def dead_redis() -> AsyncIterator[ArqRedis]:
    dead = ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=1)  # nothing listens on port 1
    yield dead
    await dead.aclose()


async def test_a_fanout_lost_after_the_commit_is_enqueued_by_the_sweeper(
    runtime: Runtime, dead_redis: ArqRedis
) -> None:
    pending = await commands.submit(runtime, parse_cap_json(cap_alert()), WRITER)
    cut_off = dataclasses.replace(runtime, redis=dead_redis)
    approved = await commands.approve(cut_off, pending.alert.id, APPROVER)  # Redis does not answer: no error
    assert approved.state == "approved"
    async with runtime.sessions() as session:
        assert (await service.get_alert(session, pending.alert.id)).state == "approved"  # committed all the same
    assert await fanouts_queued(runtime) == []

    sweeping = dataclasses.replace(runtime, settings=runtime.settings.model_copy(update={"stall_after_s": 0}))
    app = await WorkerContext.open(sweeping)
    try:
        assert await _resume_fanouts(app) == 1
    finally:
        await app.close()
    assert await fanouts_queued(runtime) == [pending.alert.id]

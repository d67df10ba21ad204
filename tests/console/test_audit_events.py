"""The audit log records signing out, sign-ins for addresses with no account, and refused CSRF tokens, without
personal data: no e-mail address typed, no ids from the path, nothing from the form."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from alertsvc.runtime import Runtime
from alertsvc.store.models import AuditEvent
from tests.console.helpers import compose_data, csrf_of, login, post_form, signed_in


async def _events(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def test_signing_out_is_audited(runtime: Runtime) -> None:
    owner, _ = await signed_in(runtime, "dispatcher")
    await post_form(owner, "/console/alerts", "/console/logout")
    (event,) = await _events(runtime, "user.logout")
    assert event.actor == f"user:{event.subject_id}" and event.subject_type == "user"


async def test_a_sign_in_for_an_unknown_address_is_audited_without_the_address(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    typed = "nobody.here@city.example"
    assert (await login(client, typed, "whatever-password")).status_code == 401
    (event,) = await _events(runtime, "user.login_failed")
    assert event.actor == "anonymous" and event.subject_id is None and event.detail == {"account": "unknown"}
    assert "nobody" not in json.dumps([event.actor, event.subject_id, event.detail])


async def test_a_refused_csrf_token_of_a_signed_in_session_is_audited_without_personal_data(
    runtime: Runtime, dispatcher: httpx.AsyncClient
) -> None:
    form = {**compose_data(action="send"), "info0_headline": "Call Ann at +15145550123"}
    assert (await dispatcher.post("/console/alerts/new", data=form)).status_code == 403
    assert (await dispatcher.post("/console/alerts/new", data={**form, "csrf_token": "forged"})).status_code == 403
    events = await _events(runtime, "console.csrf_refused")
    assert [e.detail for e in events] == [
        {"route": "/console/alerts/new", "token": "missing"},
        {"route": "/console/alerts/new", "token": "wrong"},
    ]
    assert all(e.actor.startswith("user:") and e.subject_id is None for e in events)
    assert "5550123" not in json.dumps([e.detail for e in events])


async def test_the_audited_route_is_its_pattern_not_the_ids_in_it(runtime: Runtime, admin: httpx.AsyncClient) -> None:
    assert (await admin.post("/console/users/123456/active", data={"active": "no"})).status_code == 403
    (event,) = await _events(runtime, "console.csrf_refused")
    assert event.detail == {"route": "/console/users/{user_id}/active", "token": "missing"}


async def test_login_csrf_is_audited_and_a_sign_out_by_nobody_is_not(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await client.get("/console/login")
    assert (await client.post("/console/logout", data={})).status_code == 403
    assert await _events(runtime, "console.csrf_refused") == []
    refused = await client.post("/console/login", data={"email": "x@city.example", "password": "p", "csrf_token": "x"})
    assert refused.status_code == 403
    (event,) = await _events(runtime, "console.csrf_refused")
    assert event.actor == "anonymous" and event.detail == {"route": "/console/login", "token": "wrong"}
    # A good token signs in as before.
    page = await client.get("/console/login")
    assert csrf_of(page.text)

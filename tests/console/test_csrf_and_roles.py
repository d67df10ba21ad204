"""CSRF on every form, and what each role may do."""

from __future__ import annotations

import httpx
from fastapi.routing import APIRoute
from sqlalchemy import select

from alertsvc.alerts import service
from alertsvc.cap import parse_cap_json
from alertsvc.runtime import Runtime
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import ROLE_SCOPES, Role
from alertsvc.store.models import User
from alertsvc.web.console import admin_routes, alert_routes, auth_routes, compose_routes
from alertsvc.web.console.deps import check_csrf
from tests.console.helpers import compose, compose_data, csrf_of, make_user, post_form
from tests.factories import cap_alert


def _depends_on(route: APIRoute, target: object) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if dependant.call is target:
            return True
        stack.extend(dependant.dependencies)
    return False


def test_every_console_post_route_checks_csrf() -> None:
    routers = (admin_routes.router, alert_routes.router, auth_routes.router, compose_routes.router)
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    posts = [r for r in routes if "POST" in (r.methods or set())]
    assert len(posts) >= 10
    unchecked = [r.path for r in posts if not _depends_on(r, check_csrf)]
    assert unchecked == []


async def test_post_without_or_with_wrong_csrf_is_403(dispatcher: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    missing = await dispatcher.post("/console/alerts/new", data=compose_data(action="send"))
    assert missing.status_code == 403
    assert "text/html" in missing.headers["content-type"]
    wrong = await dispatcher.post("/console/alerts/new", data={**compose_data(action="send"), "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert (await client.post("/console/login", data={"email": "a@b.example", "password": "x"})).status_code == 403
    header_missing = await dispatcher.post("/console/compose/preview.json", data=compose_data())
    assert header_missing.status_code == 403


async def test_csrf_token_from_another_session_is_refused(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient
) -> None:
    other = csrf_of((await approver.get("/console/alerts/new")).text)
    response = await dispatcher.post("/console/alerts/new", data={**compose_data(action="send"), "csrf_token": other})
    assert response.status_code == 403


async def test_dispatcher_cannot_approve_and_sees_no_admin_pages(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient
) -> None:
    created = await compose(dispatcher)
    assert created.status_code == 303, created.text
    alert_path = created.headers["location"]
    page = await dispatcher.get(alert_path)
    assert "approve-button" not in page.text and "second person" in page.text
    refused = await post_form(dispatcher, alert_path, f"{alert_path}/approve")
    assert refused.status_code == 403
    for path in ("/console/users", "/console/keys", "/console/audit"):
        assert (await dispatcher.get(path)).status_code == 403
    assert "approve-button" in (await approver.get(alert_path)).text


async def test_an_approver_cannot_approve_their_own_alert(runtime: Runtime, approver: httpx.AsyncClient) -> None:
    """An alert the approver wrote (here stored as pending through the service) must go to someone else."""
    async with runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.role == "approver"))
    assert user is not None
    author = Principal(f"user:{user.id}", ROLE_SCOPES[Role.DISPATCHER])
    async with runtime.sessions() as session, session.begin():
        submission = await service.submit(session, parse_cap_json(cap_alert(status="Exercise")), author)
    path = f"/console/alerts/{submission.alert.id}"
    assert "approve-button" not in (await approver.get(path)).text
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 409


async def test_admin_only_pages_open_for_admin(admin: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_user(runtime, "dispatcher", "someone@city.example")
    for path in ("/console/users", "/console/keys", "/console/audit", "/console/outbox"):
        assert (await admin.get(path)).status_code == 200, path

"""Signing in and posting console forms over HTTP, as a browser would (cookie + CSRF token from the page)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from alertsvc.runtime import Runtime
from alertsvc.security.scopes import Role
from alertsvc.security.users import create_user
from tests.factories import SQUARE

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


async def make_user(runtime: Runtime, role: str, email: str | None = None) -> str:
    """A console user with :data:`PASSWORD`; returns the e-mail address."""
    address = email or f"{role}-{uuid.uuid4().hex[:6]}@city.example"
    async with runtime.sessions() as session, session.begin():
        await create_user(session, address, Role(role), PASSWORD, actor="test")
    return address


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text)}
    )


async def signed_in(runtime: Runtime, role: str) -> tuple[httpx.AsyncClient, str]:
    """A fresh client (its own cookie jar) signed in as a new user with ``role``."""
    from alertsvc.app import create_app

    email = await make_user(runtime, role)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://testserver"
    )
    response = await login(client, email)
    assert response.status_code == 303, response.text
    return client, email


def compose_data(**overrides: Any) -> dict[str, Any]:
    """A complete compose form: an Exercise over the 1° test square, in English."""
    data: dict[str, Any] = {
        "status": "Exercise",
        "msg_type": "Alert",
        "category": "Safety",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "expires_minutes": "120",
        "info0_language": "en-CA",
        "info0_event": "Gas leak",
        "info0_headline": "Gas leak: leave the area",
        "info0_description": "A gas main has ruptured near the square.",
        "info0_instruction": "Leave the area now.",
        "info1_language": "fr-CA",
        "area_desc": "Test square",
        "polygon": SQUARE,
        "circle": "",
        "submission_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


async def compose(client: httpx.AsyncClient, action: str = "send", **overrides: Any) -> httpx.Response:
    page = await client.get("/console/alerts/new")
    data = compose_data(**overrides)
    data.update(csrf_token=csrf_of(page.text), action=action)
    return await client.post("/console/alerts/new", data=data)


async def post_form(client: httpx.AsyncClient, page_path: str, path: str, **data: Any) -> httpx.Response:
    """POST ``data`` to ``path`` with the CSRF token of the page at ``page_path``."""
    page = await client.get(page_path)
    return await client.post(path, data={**data, "csrf_token": csrf_of(page.text)})

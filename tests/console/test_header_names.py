"""The console names the signed-in person as it names everyone (display name, else e-mail), and an alert's state
reads as words, not as the stored identifier (``pending approval``, never ``pending_approval``)."""

from __future__ import annotations

import httpx

from alertsvc.app import create_app
from alertsvc.runtime import Runtime
from alertsvc.security.scopes import Role
from alertsvc.security.users import add_user
from tests.console.helpers import PASSWORD, compose, login


async def test_the_header_names_the_person_and_states_read_as_words(runtime: Runtime) -> None:
    await add_user(runtime, "dana@city.example", Role.DISPATCHER, PASSWORD, "test", display_name="Dana Reyes")
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await login(client, "dana@city.example")).status_code == 303
        page = await client.get("/console/alerts")
        assert "Dana Reyes (dispatcher)" in page.text and "dana@city.example (dispatcher)" not in page.text
        created = await compose(client)
        assert created.status_code == 303, created.text
        alert = await client.get(created.headers["location"])
        assert '<span class="state state-pending_approval">pending approval</span>' in alert.text

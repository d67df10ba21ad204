"""Language, admin pages (users, keys shown once, audit); the catalogues' coverage is checked in tests/i18n."""

from __future__ import annotations

import re

import httpx

from alertsvc.web.console import i18n
from tests.console.helpers import post_form


def test_accept_language_is_negotiated() -> None:
    assert i18n.negotiate("fr-CA,fr;q=0.9,en;q=0.8") == "fr"
    assert i18n.negotiate("de, en;q=0.5") == "en"
    assert i18n.negotiate("en;q=0.2, fr;q=0.9") == "fr"
    assert i18n.negotiate(None) == "en"


async def test_pages_speak_french_when_asked(dispatcher: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    login = await client.get("/console/login", headers={"Accept-Language": "fr-CA"})
    assert '<html lang="fr">' in login.text and "Se connecter" in login.text
    switched = await dispatcher.get("/console/alerts?lang=fr")
    assert '<html lang="fr">' in switched.text
    kept = await dispatcher.get("/console/alerts/new")
    assert '<html lang="fr">' in kept.text and "EXERCICE" in kept.text


async def test_admin_creates_and_deactivates_users(admin: httpx.AsyncClient) -> None:
    created = await post_form(
        admin, "/console/users", "/console/users", email="new.person@city.example", role="approver"
    )
    assert created.status_code == 200 and "new.person@city.example" in created.text
    assert re.search(r'class="secret">[^<]{12,}<', created.text)
    user_id = re.search(r"/console/users/(\d+)/active", created.text)
    assert user_id
    off = await post_form(admin, "/console/users", f"/console/users/{user_id.group(1)}/active", active="no")
    assert off.status_code == 303
    assert "user.deactivate" in (await admin.get("/console/audit")).text


async def test_api_key_is_shown_once_and_can_be_revoked(admin: httpx.AsyncClient) -> None:
    page = await admin.get("/console/keys")
    from tests.console.helpers import csrf_of

    created = await admin.post(
        "/console/keys",
        data={"name": "cad-link", "scopes": ["alerts:read", "alerts:write"], "csrf_token": csrf_of(page.text)},
    )
    key = re.search(r'id="created-key">(as_[^<]+)<', created.text)
    assert key
    again = await admin.get("/console/keys")
    assert key.group(1) not in again.text and "cad-link" in again.text
    assert (await admin.get("/api/v1/alerts", headers={"Authorization": f"Bearer {key.group(1)}"})).status_code == 200
    assert (await post_form(admin, "/console/keys", "/console/keys/cad-link/revoke")).status_code == 303
    assert (await admin.get("/api/v1/alerts", headers={"Authorization": f"Bearer {key.group(1)}"})).status_code == 401

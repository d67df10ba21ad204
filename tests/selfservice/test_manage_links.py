"""Manage links (``/r/manage/{token}``) expire after ``ALERTSVC_MANAGE_LINK_DAYS`` and can be revoked: by the
resident's "sign out of every link", by an unsubscribe, by a changed contact. An ended link shows a page in the
resident's language that sends a fresh link to one of their own contacts (the "already subscribed" message)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.runtime import Runtime
from alertsvc.security.links import LinkSigner
from alertsvc.settings import Settings
from alertsvc.store.models import Contact, Resident
from tests.conftest import KeyMaker, auth, make_settings
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker
from tests.selfservice.manage_helpers import manage_token

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ENGLISH = {"Accept-Language": "en"}
LINK_DAYS = 3


@pytest.fixture
def settings(tmp_path: Path, database_url: str, clean_redis: str) -> Settings:
    return make_settings(tmp_path, database_url, clean_redis, manage_link_days=LINK_DAYS)


async def _resident(runtime: Runtime, language: str = "fr") -> Resident:
    return await add_resident(
        runtime.sessions, 45.49, -73.57, language=language, sms="+15145559001", email="lea@example.org"
    )


def _csrf(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


async def _epoch(runtime: Runtime, resident_id: int) -> int:
    async with runtime.sessions() as session:
        resident = await session.get(Resident, resident_id)
        assert resident is not None
        return resident.manage_link_epoch


@SQLITE
async def test_a_link_works_until_the_configured_days_have_passed(client: httpx.AsyncClient, runtime: Runtime) -> None:
    resident = await _resident(runtime)
    fresh = manage_token(runtime, resident.id, made=utcnow() - timedelta(days=LINK_DAYS, hours=-1))
    page = await client.get(f"/r/manage/{fresh}", headers=ENGLISH)
    assert page.status_code == 200 and "Votre abonnement" in page.text
    assert "Ce lien fonctionne 3 jours après son envoi." in page.text
    old = manage_token(runtime, resident.id, made=utcnow() - timedelta(days=LINK_DAYS, hours=1))
    ended = await client.get(f"/r/manage/{old}", headers=ENGLISH)
    assert ended.status_code == 410
    assert 'lang="fr"' in ended.text and "Ce lien ne fonctionne plus" in ended.text and "a expiré" in ended.text
    assert "SMS …9001" in ended.text and "E-mail ….org" in ended.text  # the offer of a fresh link, masked
    # An expired link changes nothing, whatever it posts.
    saved = await client.post(f"/r/manage/{old}", data={"csrf": _csrf(page), "language": "es"})
    assert saved.status_code == 410
    async with runtime.sessions() as session:
        stored = await session.get(Resident, resident.id)
        assert stored is not None and stored.language == "fr"
    # The first format of token (no time in it) is one that expired.
    legacy = LinkSigner(runtime.settings.signing_key(), "manage").sign(resident.id)
    assert (await client.get(f"/r/manage/{legacy}")).status_code == 410
    assert (await client.get(f"/r/manage/{legacy[:-2]}xx")).status_code == 404


@SQLITE
async def test_sign_out_of_every_link_voids_them_all(client: httpx.AsyncClient, runtime: Runtime) -> None:
    resident = await _resident(runtime, language="es")
    one = manage_token(runtime, resident.id, made=utcnow() - timedelta(hours=5))
    other = manage_token(runtime, resident.id)
    page = await client.get(f"/r/manage/{one}")
    assert page.status_code == 200 and "Cerrar la sesión de todos los enlaces" in page.text
    assert (await client.get(f"/r/manage/{other}/priorities")).status_code == 200
    signed_out = await client.post(f"/r/manage/{one}/sign-out", data={"csrf": _csrf(page)})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == f"/r/manage/{one}"
    for token in (one, other):
        ended = await client.get(f"/r/manage/{token}", headers=ENGLISH)
        assert ended.status_code == 410 and "Este enlace ya no funciona" in ended.text
        assert "Cerró la sesión de todos los enlaces" in ended.text
        assert (await client.post(f"/r/manage/{token}", data={"csrf": _csrf(page)})).status_code == 410
        priorities = await client.get(f"/r/manage/{token}/priorities")
        assert priorities.status_code == 303 and priorities.headers["location"] == f"/r/manage/{token}"
    # Without the page's CSRF token nobody signs a resident out.
    fresh = manage_token(runtime, resident.id, epoch=await _epoch(runtime, resident.id))
    assert (await client.post(f"/r/manage/{fresh}/sign-out", data={"csrf": "forged"})).status_code == 403
    assert (await client.get(f"/r/manage/{fresh}")).status_code == 200


@SQLITE
async def test_an_unsubscribe_voids_the_links(client: httpx.AsyncClient, runtime: Runtime) -> None:
    resident = await _resident(runtime)
    link = manage_token(runtime, resident.id)
    page = await client.get(f"/r/manage/{link}")
    assert page.status_code == 200
    unsubscribe = re.search(r'href="(/u/[^"]+)"', page.text)
    assert unsubscribe
    assert (await client.post(unsubscribe.group(1), data={"confirm": "yes"})).status_code == 200
    assert (await client.get(f"/r/manage/{link}")).status_code == 410


@SQLITE
async def test_a_changed_contact_voids_the_links_an_unchanged_one_does_not(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    key = await make_key("residents:write")
    row = {"ref": "lea", "lat": 45.49, "lon": -73.57, "sms": "+15145559002", "language": "fr"}
    assert (await client.post("/api/v1/residents", json=row, headers=auth(key))).status_code == 201
    async with runtime.sessions() as session:
        resident_id = await session.scalar(select(Resident.id).where(Resident.ref == "lea"))
    assert resident_id is not None
    link = manage_token(runtime, resident_id, epoch=await _epoch(runtime, resident_id))
    same = await client.post("/api/v1/residents", json={**row, "language": "en"}, headers=auth(key))
    assert same.status_code == 200
    assert (await client.get(f"/r/manage/{link}")).status_code == 200
    moved = await client.post("/api/v1/residents", json={**row, "sms": "+15145559003"}, headers=auth(key))
    assert moved.status_code == 200
    assert (await client.get(f"/r/manage/{link}")).status_code == 410


@SQLITE
async def test_an_ended_link_sends_a_fresh_one_to_the_residents_own_contact(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    resident = await _resident(runtime)
    old = manage_token(runtime, resident.id, made=utcnow() - timedelta(days=LINK_DAYS + 1))
    ended = await client.get(f"/r/manage/{old}")
    contact = re.search(r'name="contact" value="(\d+)"', ended.text)
    assert ended.status_code == 410 and contact
    renewed = await client.post(f"/r/manage/{old}/renew", data={"csrf": _csrf(ended), "contact": contact.group(1)})
    assert renewed.status_code == 200 and "un nouveau lien lui est envoyé" in renewed.text
    await run_worker(runtime)
    (sent,) = await read_outbox(runtime.redis, channel="sms", to="+15145559001")
    fresh = re.search(r"(/r/manage/\S+)", sent["body"])
    assert fresh, sent["body"]
    assert (await client.get(fresh.group(1))).status_code == 200
    # A second request within the window sends nothing more; a contact of someone else is never sent to.
    again = await client.post(f"/r/manage/{old}/renew", data={"csrf": _csrf(ended), "contact": contact.group(1)})
    stranger = await add_resident(runtime.sessions, 45.49, -73.57, sms="+15145559099")
    async with runtime.sessions() as session:
        stranger_contact = await session.scalar(select(Contact.id).where(Contact.resident_id == stranger.id))
    assert stranger_contact is not None
    other = await client.post(f"/r/manage/{old}/renew", data={"csrf": _csrf(ended), "contact": str(stranger_contact)})
    assert again.status_code == other.status_code == 200
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, channel="sms", to="+15145559001")) == 1
    assert await read_outbox(runtime.redis, channel="sms", to="+15145559099") == []


@SQLITE
async def test_a_deleted_resident_kept_for_an_opt_out_opens_no_link(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    key = await make_key("residents:write")
    resident = await add_resident(runtime.sessions, 45.49, -73.57, ref="gone", sms="+15145559004", opted_out=True)
    async with runtime.sessions() as session, session.begin():
        session.add(
            Contact(resident_id=resident.id, channel="email", address="gone@example.org", confirmed_at=utcnow())
        )
    link = manage_token(runtime, resident.id, epoch=await _epoch(runtime, resident.id))
    assert (await client.get(f"/r/manage/{link}")).status_code == 200
    assert (await client.delete("/api/v1/residents/gone", headers=auth(key))).status_code == 204
    ended = await client.get(f"/r/manage/{link}")  # the row stays as a tombstone holding the opt-out
    assert ended.status_code == 410 and "/r/subscribe" in ended.text and 'name="contact"' not in ended.text

"""Residents signing themselves up through the /r/ pages and by SMS: double opt-in, no enumeration, CSRF,
zone subscriptions, preferences through a signed link, and the pages in French and Spanish."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from alertsvc.dispatch.outbox import read_outbox
from alertsvc.runtime import Runtime
from alertsvc.store.models import Contact, Resident
from tests.conftest import KeyMaker
from tests.factories import cap_alert
from tests.integration.test_fanout import run_worker, send
from tests.selfservice.manage_helpers import manage_token
from tests.tracking.test_hooks_and_links import post_signed

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
OLD_MILL_EDGE = "45.48,-73.59 45.48,-73.575 45.50,-73.575 45.50,-73.59 45.48,-73.59"
"""Overlaps the west of Old Mill (lon -73.58..-73.56) but not the point kept for its zone subscribers."""


async def csrf_of(client: httpx.AsyncClient, path: str = "/r/subscribe") -> str:
    page = await client.get(path)
    assert page.status_code == 200
    match = CSRF.search(page.text)
    assert match
    return match.group(1)


async def signup(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    token = await csrf_of(client)
    return await client.post("/r/subscribe", data={"csrf": token, **fields})


async def test_form_without_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/r/subscribe", data={"sms": "+15145558001", "zone": "Old Mill"})
    assert response.status_code == 403


async def test_double_opt_in_by_sms_code(client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker) -> None:
    response = await signup(client, zone="Old Mill", sms="+1 514 555 8002", language="fr")
    assert response.status_code == 200, response.text
    key = await make_key("alerts:send", "alerts:read")
    await send(client, key, cap_alert(polygon=OLD_MILL_EDGE))  # before confirmation: nothing but the code
    await run_worker(runtime)
    sent = await read_outbox(runtime.redis, channel="sms", to="+15145558002")
    assert len(sent) == 1 and "code" in sent[0]["body"]
    code = re.search(r"\b(\d{6})\b", sent[0]["body"]).group(1)  # type: ignore[union-attr]
    token = await csrf_of(client, "/r/confirm")
    wrong = await client.post("/r/confirm", data={"csrf": token, "address": "+15145558002", "code": "000000"})
    assert wrong.status_code == 422
    right = await client.post("/r/confirm", data={"csrf": token, "address": "+15145558002", "code": code})
    assert right.status_code == 200, right.text
    await send(client, key, cap_alert(polygon=OLD_MILL_EDGE))  # reaches part of the zone only
    await run_worker(runtime)
    after = await read_outbox(runtime.redis, channel="sms", to="+15145558002")
    assert len(after) == 2 and "Gas leak" in after[0]["body"]


async def test_same_answer_whether_or_not_subscribed(client: httpx.AsyncClient, runtime: Runtime) -> None:
    first = await signup(client, zone="Old Mill", sms="+15145558003")
    again = await signup(client, zone="Old Mill", sms="+15145558003")
    assert first.status_code == again.status_code == 200
    strip = re.compile(r'value="[^"]+"')
    assert strip.sub("", first.text) == strip.sub("", again.text)
    async with runtime.sessions() as session:
        assert len(list(await session.scalars(select(Contact).where(Contact.address == "+15145558003")))) == 1


async def test_email_link_confirms_only_on_post(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await signup(client, lat="45.5", lon="-73.57", email="newcomer@example.org")
    await run_worker(runtime)
    body = (await read_outbox(runtime.redis, channel="email"))[0]["body"]
    path = re.search(r"(/r/confirm/\S+)", body).group(1)  # type: ignore[union-attr]
    page = await client.get(path)
    assert page.status_code == 200
    async with runtime.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.address == "newcomer@example.org"))
        assert contact is not None and contact.confirmed_at is None
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    assert (await client.post(path, data={"csrf": token})).status_code == 200
    async with runtime.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.address == "newcomer@example.org"))
        assert contact is not None and contact.confirmed_at is not None


async def test_bad_input_is_reported_by_field(client: httpx.AsyncClient) -> None:
    response = await signup(client, lat="95", lon="-73.5", sms="12345")
    assert response.status_code == 422
    assert 'href="#sms"' in response.text and 'href="#lat"' in response.text
    nothing = await signup(client, zone="Old Mill")
    assert nothing.status_code == 422


async def test_pages_speak_french_and_spanish(client: httpx.AsyncClient) -> None:
    assert "Abonnez-vous" in (await client.get("/r/subscribe?lang=fr")).text
    spanish = await client.get("/r/subscribe", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert "Suscríbase" in spanish.text and 'lang="es"' in spanish.text


async def test_join_by_sms_then_yes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    unknown = await post_signed(
        client, runtime, "/hooks/twilio/inbound", {"From": "+15145558010", "Body": "join atlantis"}
    )
    assert "unknown area" in unknown.text
    ask = await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145558010", "Body": "JOIN old mill"})
    assert "reply YES" in ask.text
    async with runtime.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.address == "+15145558010"))
        assert contact is not None and contact.confirmed_at is None
    yes = await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145558010", "Body": "yes"})
    assert "subscribed" in yes.text
    async with runtime.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.address == "+15145558010"))
        resident = await session.scalar(select(Resident).where(Resident.zone == "Old Mill"))
        assert contact is not None and contact.confirmed_at is not None and resident is not None


async def test_manage_link_updates_preferences(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await signup(client, zone="Old Mill", sms="+15145558020")
    async with runtime.sessions() as session:
        resident = await session.scalar(select(Resident).where(Resident.zone == "Old Mill"))
    assert resident is not None
    path = f"/r/manage/{manage_token(runtime, resident.id)}"
    page = await client.get(path)
    assert page.status_code == 200 and "…8020" in page.text and "+15145558020" not in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    saved = await client.post(
        path, data={"csrf": token, "language": "es", "min_severity": "Severe", "categories": ["Fire", "Met"]}
    )
    assert saved.status_code == 200, saved.text
    async with runtime.sessions() as session:
        updated = await session.get(Resident, resident.id)
        assert updated is not None
        assert (updated.language, updated.min_severity, updated.categories) == (
            "es",
            "Severe",
            "Met,Fire",
        )  # canonical CAP order
    assert (await client.get("/r/manage/1.forged")).status_code == 404

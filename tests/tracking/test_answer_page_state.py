"""The answer page (``/a/{token}``) tells what holds now for the alert, in the resident's own language: the
newest Update's text with a note that it changed, or the all-clear of a Cancel with no answer buttons, and a
cancelled alert records no answer. Real fan-outs through the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from alertsvc.cap.times import parse_cap_time
from alertsvc.i18n import format_datetime
from alertsvc.runtime import Runtime
from alertsvc.security.links import LinkSigner
from alertsvc.store.models import Acknowledgement, Delivery, Resident
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert, info_in
from tests.integration.test_fanout import INSIDE, run_worker, send
from tests.selfservice.manage_helpers import manage_token

ORIGINAL = {"en-US": "Flood warning: leave now", "fr-CA": "Alerte inondation : partez maintenant"}
UPDATED = {"en-US": "Flood warning: the water is rising", "fr-CA": "Alerte inondation : l'eau monte"}


def _infos(headlines: dict[str, str], instruction: str = "Leave now.") -> list[dict[str, Any]]:
    return [info_in(language, text, instruction=instruction) for language, text in headlines.items()]


async def _ack_path(runtime: Runtime, alert_id: str, resident_id: int) -> str:
    async with runtime.sessions() as session:
        delivery = await session.scalar(
            select(Delivery).where(Delivery.alert_id == alert_id, Delivery.resident_id == resident_id)
        )
    assert delivery is not None
    return "/a/" + LinkSigner(runtime.settings.signing_key(), "ack").sign(delivery.id)


@pytest.fixture
async def flood(client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker) -> dict[str, Any]:
    """An Actual alert in English and French, sent to an English and a French resident."""
    key = await make_key("alerts:send", "alerts:read", "alerts:write", "admin")
    english = await add_resident(runtime.sessions, *INSIDE, sms="+15145557101", language="en")
    french = await add_resident(runtime.sessions, *INSIDE, sms="+15145557102", language="fr")
    document = cap_alert(infos=_infos(ORIGINAL))
    created = await send(client, key, document)
    await run_worker(runtime)
    return {
        "key": key, "document": document, "alert": created,
        "english": await _ack_path(runtime, created["id"], english.id),
        "french": await _ack_path(runtime, created["id"], french.id),
    }  # fmt: skip


async def _update(client: httpx.AsyncClient, runtime: Runtime, flood: dict[str, Any]) -> dict[str, Any]:
    original = flood["document"]
    references = f"{original['sender']},{original['identifier']},{original['sent']}"
    document = cap_alert(msg_type="Update", references=references, infos=_infos(UPDATED, "Go uphill."))
    created = await send(client, flood["key"], document)
    await run_worker(runtime)
    return created


async def test_a_french_resident_reads_the_page_in_french_whatever_the_browser(
    client: httpx.AsyncClient, flood: dict[str, Any]
) -> None:
    page = await client.get(flood["french"], headers={"Accept-Language": "en-US,en;q=0.9"})
    assert page.status_code == 200
    assert 'lang="fr"' in page.text
    assert "Je suis en sécurité" in page.text and "J&#39;ai besoin d&#39;aide" in page.text
    assert "Alerte inondation : partez maintenant" in page.text
    english = await client.get(flood["english"], headers={"Accept-Language": "fr"})
    assert "I&#39;m safe" in english.text and "Flood warning: leave now" in english.text


async def test_an_updated_alert_shows_the_newest_update_with_a_note(
    client: httpx.AsyncClient, runtime: Runtime, flood: dict[str, Any]
) -> None:
    before = await client.get(flood["english"])
    assert "updated on" not in before.text
    await _update(client, runtime, flood)
    english = await client.get(flood["english"])
    assert english.status_code == 200
    assert "Flood warning: the water is rising" in english.text and "Go uphill." in english.text
    assert "Flood warning: leave now" not in english.text
    assert "This alert was updated on" in english.text
    assert "I&#39;m safe" in english.text  # an update still takes answers
    french = await client.get(flood["french"])
    assert "l&#39;eau monte" in french.text and "Cette alerte a été mise à jour le" in french.text


async def test_the_update_time_is_said_in_the_residents_own_time_zone(
    client: httpx.AsyncClient, runtime: Runtime, flood: dict[str, Any]
) -> None:
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(Resident).values(timezone="America/Toronto"))
    created = await _update(client, runtime, flood)
    sent = parse_cap_time(created["sent"])
    page = (await client.get(flood["english"])).text
    local = format_datetime(sent.astimezone(ZoneInfo("America/Toronto")), "en")
    assert local.endswith(("EST", "EDT")) and html.escape(local) in page  # Toronto's clock, the zone named
    assert html.escape(format_datetime(sent.astimezone(UTC), "en")) not in page


async def test_a_cancelled_alert_shows_the_all_clear_and_no_buttons_and_records_nothing(
    client: httpx.AsyncClient, runtime: Runtime, flood: dict[str, Any]
) -> None:
    update = await _update(client, runtime, flood)
    cancelled = await client.post(f"/api/v1/alerts/{update['id']}/cancel", headers=auth(flood["key"]))
    assert cancelled.status_code in (200, 201, 202), cancelled.text
    await run_worker(runtime)
    for path, texts in (
        # The Cancel's own all-clear (alerts/all_clear: the API's default without a body), in the reader's language
        (flood["english"], ("Cancelled", "The warning has ended. You can return to normal activity.")),
        (flood["french"], ("Annulée", "Vous pouvez reprendre vos activités normales.")),
    ):
        page = await client.get(path)
        assert page.status_code == 200
        for text in texts:
            assert text in page.text
        assert "<button" not in page.text and "<form" not in page.text
        assert "Leave now." not in page.text and "Go uphill." not in page.text  # never the old instruction
        answer = await client.post(path, data={"answer": "help"})
        assert answer.status_code == 410
        assert "<button" not in answer.text and texts[0] in answer.text
    async with runtime.sessions() as session:
        assert list(await session.scalars(select(Acknowledgement))) == []


async def test_answers_before_the_cancel_are_recorded(
    client: httpx.AsyncClient, runtime: Runtime, flood: dict[str, Any]
) -> None:
    assert (await client.post(flood["french"], data={"answer": "safe"})).status_code == 200
    page = await client.post(flood["english"], data={"answer": "help"})
    assert page.status_code == 200 and "(I need help) has been recorded" in page.text
    async with runtime.sessions() as session:
        assert sorted(a.answer for a in await session.scalars(select(Acknowledgement))) == ["help", "safe"]


async def test_unsubscribe_and_manage_pages_speak_the_residents_stored_language(
    client: httpx.AsyncClient, runtime: Runtime, flood: dict[str, Any]
) -> None:
    delivery_id = LinkSigner(runtime.settings.signing_key(), "ack").unsign(flood["french"].split("/")[-1])
    async with runtime.sessions() as session:
        delivery = await session.get(Delivery, delivery_id)
    assert delivery is not None
    english_browser = {"Accept-Language": "en"}
    unsubscribe = LinkSigner(runtime.settings.signing_key(), "unsubscribe").sign(delivery.contact_id)
    page = await client.get(f"/u/{unsubscribe}", headers=english_browser)
    assert page.status_code == 200 and 'lang="fr"' in page.text
    assert "Se désabonner" in page.text or "Désabonner" in page.text
    assert "numéro de téléphone" in page.text
    manage = manage_token(runtime, delivery.resident_id)
    page = await client.get(f"/r/manage/{manage}", headers=english_browser)
    assert page.status_code == 200 and 'lang="fr"' in page.text and "Votre abonnement" in page.text

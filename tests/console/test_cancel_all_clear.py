"""The console's Cancel page: the all-clear in each language of the alert, prefilled (from the notice template the
alert was made from, else the default all-clear), labelled, refused fields shown next to what was typed, and what
residents then receive: the all-clear as written, never the original's instruction."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from alertsvc.dispatch.outbox import read_outbox
from alertsvc.runtime import Runtime
from tests.console.helpers import compose, csrf_of, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker

FRENCH: dict[str, Any] = {
    "info1_language": "fr-CA",
    "info1_event": "Fuite de gaz",
    "info1_headline": "Fuite de gaz : quittez le secteur",
    "info1_description": "Une conduite de gaz a cédé près de la place.",
    "info1_instruction": "Quittez le secteur maintenant.",
}


async def _sent(dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime, **form: Any) -> str:
    """An English and French Exercise, approved and sent to an English and a French test recipient; its path."""
    await add_resident(runtime.sessions, 45.5, -72.5, language="en", sms="+15145553001", test_recipient=True)
    await add_resident(runtime.sessions, 45.5, -72.5, language="fr", sms="+15145553002", test_recipient=True)
    created = await compose(dispatcher, **{**FRENCH, **form})
    assert created.status_code == 303, created.text
    path: str = created.headers["location"]
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 303
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, limit=100)) == 2
    return path


def _value(page: str, name: str) -> str:
    """The prefilled value of an input or textarea of the page."""
    found = re.search(rf'<input id="{name}" name="{name}" value="([^"]*)"', page) or re.search(
        rf'<textarea id="{name}" name="{name}"[^>]*>([^<]*)</textarea>', page
    )
    assert found, f"no field {name}"
    return html.unescape(found.group(1))


async def test_the_cancel_page_offers_the_all_clear_per_language_and_residents_receive_it_as_written(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path = await _sent(dispatcher, approver, runtime)
    page = (await approver.get(f"{path}/cancel")).text
    assert _value(page, "info0_headline") == "All clear: Gas leak"
    assert _value(page, "info0_instruction") == "The warning has ended. You can return to normal activity."
    assert _value(page, "info1_headline") == "Fin d'alerte : Fuite de gaz"
    assert _value(page, "info1_instruction") == "L'alerte est terminée. Vous pouvez reprendre vos activités normales."
    assert "Leave the area now." not in page and "Quittez le secteur maintenant." not in page
    for i in (0, 1):  # every field labelled, in the language it is written in
        for name in ("headline", "description", "instruction"):
            assert f'<label for="info{i}_{name}">' in page
        assert f'name="info{i}_headline" value' in page and f'lang="{("en-CA", "fr-CA")[i]}"' in page
    fields = {
        "info0_language": "en-CA", "info0_headline": "All clear: the gas leak is fixed", "info0_description": "",
        "info0_instruction": "You can go home.", "info1_language": "fr-CA",
        "info1_headline": "Fin d'alerte : la fuite est réparée", "info1_description": "",
        "info1_instruction": "Vous pouvez rentrer chez vous.",
    }  # fmt: skip
    cancelled = await approver.post(f"{path}/cancel", data={**fields, "csrf_token": csrf_of(page)})
    assert cancelled.status_code == 303, cancelled.text
    await run_worker(runtime)
    received = {entry["to"]: entry["body"] for entry in (await read_outbox(runtime.redis, limit=100))[:2]}
    assert "All clear: the gas leak is fixed\nYou can go home." in received["+15145553001"]
    assert "Fin d'alerte : la fuite est réparée\nVous pouvez rentrer chez vous." in received["+15145553002"]
    for body in received.values():
        assert (
            "Leave the area" not in body and "Quittez" not in body and "conduite" not in body and "gas main" not in body
        )


async def test_a_refused_field_comes_back_next_to_what_was_typed_and_nothing_is_sent(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path = await _sent(dispatcher, approver, runtime)
    page = (await approver.get(f"{path}/cancel")).text
    fields = {
        "info0_language": "en-CA", "info0_headline": "   ", "info0_description": "", "info0_instruction": "Go home.",
        "info1_language": "fr-CA", "info1_headline": "Fin d'alerte", "info1_description": "",
        "info1_instruction": "x" * 1001,
    }  # fmt: skip
    refused = await approver.post(f"{path}/cancel", data={**fields, "csrf_token": csrf_of(page)})
    assert refused.status_code == 422
    text = refused.text
    assert 'aria-invalid="true" aria-describedby="info0_headline-error"' in text
    assert 'id="info0_headline-error"' in text and "Write a headline: residents read it first." in text
    assert 'id="info1_instruction-error"' in text and "Too long: shorten it." in text
    assert 'href="#info0_headline"' in text  # the summary links to the field
    assert _value(text, "info0_instruction") == "Go home." and _value(text, "info1_headline") == "Fin d'alerte"
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, limit=100)) == 2
    assert 'data-state="sent"' in (await approver.get(path)).text


async def test_an_alert_from_a_notice_template_is_cancelled_with_the_notices_all_clear(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path = await _sent(
        dispatcher, approver, runtime,
        info0_event="Boil-water advisory", info0_headline="Boil-water advisory in Old Mill",
        info0_description="Tap water in Old Mill may be contaminated after a main break.",
        info0_instruction="Boil tap water for at least one minute before drinking or cooking, until further notice.",
        info1_event="Avis d'ébullition de l'eau", info1_headline="Avis d'ébullition de l'eau : Vieux-Moulin",
    )  # fmt: skip
    page = (await approver.get(f"{path}/cancel")).text
    assert _value(page, "info0_headline") == "Boil-water advisory lifted"
    assert "You no longer need to boil the water." in _value(page, "info0_instruction")
    assert _value(page, "info1_headline") == "Avis d'ébullition de l'eau levé"


async def test_a_withdrawal_asks_for_no_all_clear(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Nothing went out yet: no message is written, and the button says the alert is withdrawn."""
    created = await compose(dispatcher, **FRENCH)
    path = created.headers["location"]
    page = (await dispatcher.get(f"{path}/cancel")).text
    assert "info0_headline" not in page and "Nothing has been sent yet" in page
    assert (await post_form(dispatcher, f"{path}/cancel", f"{path}/cancel")).status_code == 303
    assert 'data-state="cancelled"' in (await dispatcher.get(path)).text

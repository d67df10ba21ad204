"""The all-clear of a Cancel, through ``POST /api/v1/alerts/{id}/cancel``, as residents receive it in the sandbox
outbox: in each resident's language, the default all-clear or the caller's words, never the original's instruction
or description; a bad body is a 422 naming the field, and nothing is stored or sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from alertsvc.cap import parse_cap_xml
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.runtime import Runtime
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert, info_in
from tests.integration.test_fanout import run_worker

INSIDE = (45.5, -72.5)
EN_INSTRUCTION = "Leave the area now and keep away from the square."
EN_DESCRIPTION = "A gas main has ruptured near the square."
FR_INSTRUCTION = "Quittez le secteur maintenant et restez loin de la place."
FR_DESCRIPTION = "Une conduite de gaz a cédé près de la place."


@pytest.fixture
async def sender(make_key: KeyMaker) -> str:
    return await make_key("alerts:send", "alerts:read", "admin")


def _two_languages() -> dict[str, Any]:
    english = info_in("en-CA", "Gas leak: leave the area", description=EN_DESCRIPTION, instruction=EN_INSTRUCTION)
    french = info_in(
        "fr-CA", "Fuite de gaz : quittez le secteur", description=FR_DESCRIPTION, instruction=FR_INSTRUCTION,
        event="Fuite de gaz",
    )  # fmt: skip
    return cap_alert(infos=[english, french])


async def _sent_alert(client: httpx.AsyncClient, runtime: Runtime, key: str) -> str:
    """An English and French alert sent to an English (SMS) and a French (SMS, push) resident; its id."""
    await add_resident(runtime.sessions, *INSIDE, language="en", sms="+15145552001")
    await add_resident(runtime.sessions, *INSIDE, language="fr", sms="+15145552002", push="ntfy://fr-topic")
    created = await client.post("/api/v1/alerts", json=_two_languages(), headers=auth(key))
    assert created.status_code == 201, created.text
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, limit=100)) == 3
    alert_id: str = created.json()["id"]
    return alert_id


async def _cancel_messages(runtime: Runtime) -> dict[tuple[str, str], str]:
    """(channel, to) -> what the Cancel put in that resident's hands (the newest three entries of the outbox)."""
    entries = (await read_outbox(runtime.redis, limit=100))[:3]
    return {(entry["channel"], entry["to"]): f"{entry.get('subject') or ''}\n{entry['body']}" for entry in entries}


async def test_without_a_body_each_resident_reads_the_default_all_clear_in_their_language(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    original = await _sent_alert(client, runtime, sender)
    cancelled = await client.post(f"/api/v1/alerts/{original}/cancel", headers=auth(sender))
    assert cancelled.status_code == 200, cancelled.text
    await run_worker(runtime)
    received = await _cancel_messages(runtime)
    assert set(received) == {("sms", "+15145552001"), ("sms", "+15145552002"), ("push", "ntfy://fr-topic")}
    english = received["sms", "+15145552001"]
    assert "All clear: Gas leak" in english and "The warning has ended. You can return to normal activity." in english
    for french in (received["sms", "+15145552002"], received["push", "ntfy://fr-topic"]):
        assert "Fin d'alerte : Fuite de gaz" in french
        assert "L'alerte est terminée. Vous pouvez reprendre vos activités normales." in french
    for text in received.values():
        for original_words in (EN_INSTRUCTION, EN_DESCRIPTION, FR_INSTRUCTION, FR_DESCRIPTION, "quittez", "leave the"):
            assert original_words.casefold() not in text.casefold(), (original_words, text)
    # The stored CAP says the same: read back as XML, every info an all-clear without the original's call to action.
    cap = await client.get(f"/api/v1/alerts/{cancelled.json()['id']}/cap", headers=auth(sender))
    document = parse_cap_xml(cap.content)
    assert str(document.msg_type) == "Cancel"
    assert [info.headline for info in document.info] == ["All clear: Gas leak", "Fin d'alerte : Fuite de gaz"]
    assert all([str(kind) for kind in info.response_type] == ["AllClear"] for info in document.info)
    assert EN_INSTRUCTION not in cap.text and FR_INSTRUCTION not in cap.text and EN_DESCRIPTION not in cap.text
    assert cancelled.json()["headline"] == "All clear: Gas leak"


async def test_a_body_gives_the_all_clear_of_its_languages_and_the_others_get_the_default(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    original = await _sent_alert(client, runtime, sender)
    body = {"info": [{"language": "fr", "headline": "Fin d'alerte : la fuite est réparée",
                      "instruction": "Vous pouvez rentrer chez vous par la rue Principale."}]}  # fmt: skip
    cancelled = await client.post(f"/api/v1/alerts/{original}/cancel", json=body, headers=auth(sender))
    assert cancelled.status_code == 200, cancelled.text
    await run_worker(runtime)
    received = await _cancel_messages(runtime)
    french = received["sms", "+15145552002"]
    assert "Fin d'alerte : la fuite est réparée" in french
    assert "Vous pouvez rentrer chez vous par la rue Principale." in french
    assert "Ce message annule l'alerte précédente (Test area)." in french  # the description left out: the default
    assert FR_INSTRUCTION not in french and FR_DESCRIPTION not in french
    english = received["sms", "+15145552001"]
    assert "All clear: Gas leak" in english and EN_INSTRUCTION not in english


@pytest.mark.parametrize(
    ("info", "loc"),
    [
        ([{"language": "de", "headline": "Entwarnung"}], ["body", "info", 0, "language"]),
        ([{"language": "en-CA", "headline": "All clear"}, {"language": "en", "headline": "Again"}],
         ["body", "info", 1, "language"]),
        ([{"language": "en-CA", "headline": "   "}], ["body", "info", 0, "headline"]),
        ([{"language": "en-CA", "headline": ""}], ["body", "info", 0, "headline"]),
        ([{"language": "en-CA"}], ["body", "info", 0, "headline"]),
        ([{"language": "en-CA", "headline": "x" * 161}], ["body", "info", 0, "headline"]),
        ([{"language": "en-CA", "headline": "All clear", "instruction": "y" * 1001}],
         ["body", "info", 0, "instruction"]),
        ([{"language": "en-CA", "headline": "All clear", "description": "bell \u0007"}],
         ["body", "info", 0, "description"]),
        ([{"language": "en-CA", "headline": "All clear", "colour": "green"}], ["body", "info", 0, "colour"]),
        ([{"language": "en-CA", "headline": "All \u202eraelc"}], ["body", "info", 0, "headline"]),
        ([{"language": "not a tag", "headline": "All clear"}], ["body", "info", 0, "language"]),
        ([], ["body", "info"]),
        ([{"language": "en-CA", "headline": "All clear"}] * 21, ["body", "info"]),
    ],
)  # fmt: skip
async def test_a_bad_all_clear_is_refused_naming_the_field_and_nothing_is_sent(
    client: httpx.AsyncClient, runtime: Runtime, sender: str, info: list[dict[str, Any]], loc: list[str | int]
) -> None:
    original = await _sent_alert(client, runtime, sender)
    refused = await client.post(f"/api/v1/alerts/{original}/cancel", json={"info": info}, headers=auth(sender))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert loc in [error["loc"] for error in refused.json()["errors"]], refused.json()
    alerts = (await client.get("/api/v1/alerts", headers=auth(sender))).json()["items"]
    assert [(item["msgType"], item["state"]) for item in alerts] == [("Alert", "sent")]
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, limit=100)) == 3


async def test_a_language_the_alert_has_not_is_refused_by_the_domain_too(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    """The schema cannot know the alert's languages: the domain's refusal names the field and says which exist."""
    original = await _sent_alert(client, runtime, sender)
    body = {"info": [{"language": "es", "headline": "Fin de la alerta"}]}
    refused = await client.post(f"/api/v1/alerts/{original}/cancel", json=body, headers=auth(sender))
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert error == {"loc": ["body", "info", 0, "language"], "msg": "the alert has no message in 'es' (en-CA, fr-CA)"}


@pytest.mark.parametrize("content", [b"", b"null"])
async def test_an_empty_or_null_json_body_is_no_body(
    client: httpx.AsyncClient, runtime: Runtime, sender: str, content: bytes
) -> None:
    original = await _sent_alert(client, runtime, sender)
    headers = {**auth(sender), "Content-Type": "application/json"}
    cancelled = await client.post(f"/api/v1/alerts/{original}/cancel", content=content, headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["headline"] == "All clear: Gas leak"


def test_the_openapi_document_shows_the_optional_body_with_the_domains_limits() -> None:
    from alertsvc.alerts import all_clear
    from alertsvc.app import create_app

    document = create_app().openapi()
    body = document["paths"]["/api/v1/alerts/{alert_id}/cancel"]["post"]["requestBody"]
    assert not body.get("required", False)
    media = body["content"]["application/json"]
    assert {"$ref": "#/components/schemas/CancelBody"} in media["schema"]["anyOf"] and media["examples"]
    schemas = document["components"]["schemas"]
    assert schemas["CancelBody"]["properties"]["info"]["maxItems"] == all_clear.MAX_LANGUAGES
    info = schemas["AllClearInfo"]
    assert info["required"] == ["language", "headline"] and info["additionalProperties"] is False
    assert info["properties"]["headline"]["maxLength"] == all_clear.HEADLINE_MAX

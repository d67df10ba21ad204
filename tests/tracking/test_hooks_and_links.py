"""Provider webhooks and resident links over HTTP with real signatures (the twilio library's validator), on
SQLite and PostgreSQL: status callbacks under a state guard, STOP/START/HELP, SMS answers, acknowledgement and
unsubscribe links."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from alertsvc.dispatch.outbox import read_outbox
from alertsvc.runtime import Runtime
from alertsvc.security.links import LinkSigner
from alertsvc.store.models import Acknowledgement, ConsentEvent, Contact, Delivery, Reply
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert
from tests.integration.test_fanout import INSIDE, run_worker, send

TOKEN = "sandbox-auth-token"


def signed(runtime: Runtime, path: str, params: dict[str, str]) -> dict[str, str]:
    url = runtime.settings.public_url.rstrip("/") + path
    signature = RequestValidator(runtime.settings.twilio_auth_token.get_secret_value()).compute_signature(url, params)
    return {"X-Twilio-Signature": signature}


async def post_signed(client: httpx.AsyncClient, runtime: Runtime, path: str, params: dict[str, str]) -> httpx.Response:
    return await client.post(path, data=params, headers=signed(runtime, path, params))


@pytest.fixture
async def sent_alert(client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker) -> dict[str, Any]:
    """An alert sent by the sandbox to one resident with an SMS and an e-mail contact."""
    key = await make_key("alerts:send", "alerts:read", "admin")
    resident = await add_resident(runtime.sessions, *INSIDE, sms="+15145557001", email="r@example.org")
    created = await send(client, key, cap_alert())
    await run_worker(runtime)
    async with runtime.sessions() as session:
        deliveries = {d.channel: d for d in await session.scalars(select(Delivery))}
    return {"key": key, "alert": created, "resident": resident, "deliveries": deliveries}


async def test_forged_or_missing_signature_is_403_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    sms = sent_alert["deliveries"]["sms"]
    params = {"MessageSid": sms.provider_id, "MessageStatus": "delivered"}
    missing = await client.post("/hooks/twilio/status", data=params)
    forged = await client.post("/hooks/twilio/status", data=params, headers={"X-Twilio-Signature": "AAAA"})
    tampered_headers = signed(runtime, "/hooks/twilio/status", params)
    tampered = await client.post(
        "/hooks/twilio/status", data={**params, "MessageStatus": "failed"}, headers=tampered_headers
    )
    assert [missing.status_code, forged.status_code, tampered.status_code] == [403, 403, 403]
    async with runtime.sessions() as session:
        assert (await session.get(Delivery, sms.id)).state == "sent"  # type: ignore[union-attr]


async def test_status_callbacks_move_forward_only(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    sms = sent_alert["deliveries"]["sms"]
    delivered = await post_signed(
        client, runtime, "/hooks/twilio/status", {"MessageSid": sms.provider_id, "MessageStatus": "delivered"}
    )
    assert delivered.status_code == 204
    late = await post_signed(
        client, runtime, "/hooks/twilio/status", {"MessageSid": sms.provider_id, "MessageStatus": "sent"}
    )
    failed_after = await post_signed(
        client,
        runtime,
        "/hooks/twilio/status",
        {"MessageSid": sms.provider_id, "MessageStatus": "failed", "ErrorCode": "30008"},
    )
    assert late.status_code == failed_after.status_code == 204
    async with runtime.sessions() as session:
        assert (await session.get(Delivery, sms.id)).state == "delivered"  # type: ignore[union-attr]
    stats = (await client.get(f"/api/v1/alerts/{sent_alert['alert']['id']}", headers=auth(sent_alert["key"]))).json()
    assert stats["stats"]["sms"] == {"delivered": 1}


async def test_undelivered_codes_are_mapped_with_reason(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    sms = sent_alert["deliveries"]["sms"]
    await post_signed(
        client,
        runtime,
        "/hooks/twilio/status",
        {"MessageSid": sms.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30006"},
    )
    async with runtime.sessions() as session:
        row = await session.get(Delivery, sms.id)
        assert row is not None and row.state == "undeliverable" and row.error_code == "30006"
        assert row.reason and "landline" in row.reason


async def test_stop_opts_out_and_then_nothing_but_the_confirmation(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    for word in (" stop. ", "Unsubscribe!"):
        reply = await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145557001", "Body": word})
        assert reply.status_code == 200
        assert "no more alerts" in reply.text and reply.text.count("<Message>") == 1
    async with runtime.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.address == "+15145557001"))
        assert contact is not None and contact.opted_out_at is not None
        email = await session.scalar(select(Contact).where(Contact.address == "r@example.org"))
        assert email is not None and email.opted_out_at is None  # other channels untouched
        events = list(await session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id)))
        assert [event.action for event in events] == ["opt_out", "opt_out"]
    before = len(await read_outbox(runtime.redis, channel="sms", to="+15145557001"))
    await send(client, sent_alert["key"], cap_alert())
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, channel="sms", to="+15145557001")) == before
    assert len(await read_outbox(runtime.redis, channel="email", to="r@example.org")) == 2


async def test_start_opts_back_in_and_help_explains(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145557001", "Body": "STOP"})
    start = await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145557001", "Body": "start"})
    assert "subscribed" in start.text
    async with runtime.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.address == "+15145557001"))
        assert contact is not None and contact.opted_out_at is None
    info = await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145557001", "Body": "HELP"})
    assert "STOP" in info.text


@pytest.mark.parametrize(
    ("body", "answer"), [("safe", "safe"), ("OK!", "safe"), ("1", "safe"), ("help me", "help"), ("2", "help")]
)
async def test_sms_answers_are_acknowledgements(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any], body: str, answer: str
) -> None:
    await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145557001", "Body": body})
    async with runtime.sessions() as session:
        acks = list(await session.scalars(select(Acknowledgement)))
    assert [(a.answer, a.via) for a in acks] == [(answer, "sms")]


async def test_other_text_is_kept_as_a_reply(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    await post_signed(
        client, runtime, "/hooks/twilio/inbound", {"From": "+15145557001", "Body": "Water in the basement, 3 people"}
    )
    async with runtime.sessions() as session:
        reply = await session.scalar(select(Reply))
    assert reply is not None and reply.alert_id == sent_alert["alert"]["id"] and "basement" in reply.body


async def test_ack_link_get_records_nothing_post_records_and_updates(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    sms = sent_alert["deliveries"]["sms"]
    outbox = await read_outbox(runtime.redis, channel="sms")
    link = next(part for part in outbox[0]["body"].split() if "/a/" in part)
    path = link[link.index("/a/") :]
    page = await client.get(path)
    assert (page.status_code == 200 and "I&#39;m safe" in page.text) or "I'm safe" in page.text
    async with runtime.sessions() as session:
        assert list(await session.scalars(select(Acknowledgement))) == []
    assert (await client.post(path, data={"answer": "safe"})).status_code == 200
    assert (await client.post(path, data={"answer": "help"})).status_code == 200
    async with runtime.sessions() as session:
        acks = list(await session.scalars(select(Acknowledgement)))
    assert [(a.answer, a.via) for a in acks] == [("help", "link")]
    alert = (await client.get(f"/api/v1/alerts/{sent_alert['alert']['id']}", headers=auth(sent_alert["key"]))).json()
    assert (alert["acknowledged"], alert["help_requested"]) == (0, 1)
    assert sms.id == LinkSigner(runtime.settings.signing_key(), "ack").unsign(path.split("/")[-1])
    forged = await client.get(path[:-2] + "xx")
    assert forged.status_code == 404


async def test_unsubscribe_link_and_one_click(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    signer = LinkSigner(runtime.settings.signing_key(), "unsubscribe")
    email = sent_alert["deliveries"]["email"]
    token = signer.sign(email.contact_id)
    page = await client.get(f"/u/{token}")
    assert page.status_code == 200 and "Unsubscribe" in page.text
    async with runtime.sessions() as session:
        assert (await session.get(Contact, email.contact_id)).opted_out_at is None  # type: ignore[union-attr]
    one_click = await client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    async with runtime.sessions() as session:
        assert (await session.get(Contact, email.contact_id)).opted_out_at is not None  # type: ignore[union-attr]
        sms_contact = await session.scalar(select(Contact).where(Contact.channel == "sms"))
        assert sms_contact is not None and sms_contact.opted_out_at is None
    assert (await client.get("/u/bogus.token")).status_code == 404


async def test_responses_list_help_silence_and_replies(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    key, alert_id = sent_alert["key"], sent_alert["alert"]["id"]
    ref = sent_alert["resident"].ref
    before = (await client.get(f"/api/v1/alerts/{alert_id}/responses", headers=auth(key))).json()
    assert before == {"help_requested": [], "unanswered": [ref], "replies": []}
    await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145557001", "Body": "trapped upstairs"})
    await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": "+15145557001", "Body": "2"})
    after = (await client.get(f"/api/v1/alerts/{alert_id}/responses", headers=auth(key))).json()
    assert after["help_requested"] == [ref] and after["unanswered"] == []
    assert [reply["body"] for reply in after["replies"]] == ["trapped upstairs"]


async def test_time_to_warn_and_live_events(
    client: httpx.AsyncClient, runtime: Runtime, sent_alert: dict[str, Any]
) -> None:
    key, alert_id = sent_alert["key"], sent_alert["alert"]["id"]
    alert = (await client.get(f"/api/v1/alerts/{alert_id}", headers=auth(key))).json()
    figures = alert["time_to_warn"]
    assert figures["approved"] == 0.0 and figures["first_sent"] is not None
    assert figures["done_100"] is not None and figures["done_50"] <= figures["done_100"]
    # The stream ends once the alert can change no more; cancelled, it gives its counts and then "done".
    assert (await client.post(f"/api/v1/alerts/{alert_id}/cancel", headers=auth(key))).status_code == 200
    response = await client.get(f"/api/v1/alerts/{alert_id}/events", headers=auth(key))
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.splitlines()
    assert "event: counts" in lines and "event: done" in lines
    counts = json.loads(lines[lines.index("event: counts") + 1].removeprefix("data: "))
    assert counts["channels"] and counts["time_to_warn"]["first_sent"] is not None
    assert (await client.get("/api/v1/alerts/nope/events", headers=auth(key))).status_code == 404

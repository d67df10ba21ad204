"""Anonymous tips end to end, on SQLite and PostgreSQL, through the real Twilio webhook (signed with the twilio
library's validator), the API, the worker and the sandbox outbox: a TIP opens a tip whose contact shows nowhere
(API, audit, logs, the database's own columns), a reply reaches the tipster and their answer joins the thread, STOP
ends it, a blocked tipster is dropped quietly, old tips are purged, scopes are enforced, and the public form checks
its CSRF token and its fields."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.community.tips import purge_tips
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.dispatch.tip_relay import REPLY_STALL, tend_tips
from alertsvc.runtime import Runtime
from alertsvc.security.sealing import Sealer
from alertsvc.store.models import AuditEvent, Tip, TipBlock
from alertsvc.tracking.keywords import Intent, intent_of, tip_text
from tests.conftest import KeyMaker, auth
from tests.integration.test_fanout import run_worker
from tests.tracking.test_hooks_and_links import post_signed

NUMBER = "+15145557321"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sms(client: httpx.AsyncClient, runtime: Runtime, body: str, number: str = NUMBER) -> str:
    """Send an inbound SMS through the signed webhook; the text of the TwiML answer ('' for none)."""
    response = await post_signed(client, runtime, "/hooks/twilio/inbound", {"From": number, "Body": body})
    assert response.status_code == 200, response.text
    found = re.search(r"<Message>(.*)</Message>", response.text, re.DOTALL)
    return found.group(1) if found else ""


async def tips_of(client: httpx.AsyncClient, key: str, query: str = "") -> list[dict[str, object]]:
    response = await client.get(f"/api/v1/tips{query}", headers=auth(key))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


@pytest.mark.parametrize(
    ("body", "text"),
    [("TIP a red car", "a red car"), ("tip: a red car", "a red car"), (" Tip! Éclairage ", "Éclairage"),
     ("TIP", ""), ("TIPS for safety", None), ("tipping point", None), ("STOP", None)],
)  # fmt: skip
def test_the_tip_keyword_matches_as_the_others_do(body: str, text: str | None) -> None:
    assert tip_text(body) == text
    assert (intent_of(body) is Intent.TIP) == (text is not None)


def test_a_sealed_contact_opens_only_with_its_own_key() -> None:
    ours, theirs = Sealer("a" * 40, "tips"), Sealer("b" * 40, "tips")
    sealed = ours.seal(NUMBER)
    assert NUMBER not in sealed and ours.open(sealed) == NUMBER
    assert theirs.open(sealed) is None and ours.open(sealed[:-4] + "AAAA") is None
    assert ours.key_of(NUMBER) == ours.key_of(NUMBER) != theirs.key_of(NUMBER)
    assert ours.seal(NUMBER) != sealed  # a fresh nonce each time: equal numbers are not equal columns


async def test_an_sms_tip_reaches_the_api_with_no_contact_anywhere(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answer = await sms(client, runtime, "TIP a grey van parks at the school every night")
    alias = re.search(r"Tip [0-9A-Z]{4}", answer)
    assert alias, answer
    key = await make_key("tips:read")
    items = await tips_of(client, key)
    assert len(items) == 1
    tip = items[0]
    assert tip["alias"] == alias.group(0) and tip["channel"] == "sms" and tip["zone"] is None
    assert tip["text"] == "a grey van parks at the school every night" and tip["messages"] == []
    assert set(tip) == {"id", "alias", "zone", "text", "channel", "received_at", "messages", "ended", "can_reply"}
    listing = (await client.get("/api/v1/tips", headers=auth(key))).text
    async with runtime.sessions() as session:
        row = (await session.scalars(select(Tip))).one()
        audit = " ".join(
            str(event.detail) + str(event.subject_id) for event in await session.scalars(select(AuditEvent))
        )
    stored = " ".join(str(value) for value in (row.contact_key, row.contact_sealed, row.text, row.alias))
    for digits in (NUMBER, NUMBER[1:], NUMBER[-7:]):
        assert digits not in listing and digits not in stored and digits not in audit
        assert digits not in caplog.text


async def test_a_reply_reaches_the_tipster_whose_answer_joins_the_thread_until_stop(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    await sms(client, runtime, "TIP someone is breaking into cars on Mill Road")
    key = await make_key("tips:read", "tips:write")
    tip_id = (await tips_of(client, key))[0]["id"]
    reply = await client.post(
        f"/api/v1/tips/{tip_id}/replies", json={"text": "What colour was the car?"}, headers=auth(key)
    )
    assert reply.status_code == 202, reply.text
    assert reply.json()["state"] == "queued" and reply.json()["direction"] == "out"
    await run_worker(runtime)
    sent = await read_outbox(runtime.redis, channel="sms", to=NUMBER)
    assert len(sent) == 1 and "What colour was the car?" in sent[0]["body"] and "STOP" in sent[0]["body"]
    assert await sms(client, runtime, "It was blue, a sedan") == ""  # joins the thread, no automatic answer
    assert await sms(client, runtime, "OK") == ""  # not a resident: not an answer to an alert, but to staff
    thread = (await tips_of(client, key))[0]["messages"]
    assert [(m["direction"], m["text"], m["state"]) for m in thread] == [  # type: ignore[index]
        ("out", "What colour was the car?", "sent"),
        ("in", "It was blue, a sedan", "received"),
        ("in", "OK", "received"),
    ]
    queued = await client.post(f"/api/v1/tips/{tip_id}/replies", json={"text": "Thank you"}, headers=auth(key))
    assert queued.status_code == 202
    await sms(client, runtime, "stop")  # before the worker relays the queued reply
    await run_worker(runtime)
    assert len(await read_outbox(runtime.redis, channel="sms", to=NUMBER)) == 1  # "Thank you" never went
    after = (await tips_of(client, key))[0]
    assert after["ended"] is True and after["can_reply"] is False
    assert [m["state"] for m in after["messages"]][-1] == "failed"  # type: ignore[index]
    refused = await client.post(f"/api/v1/tips/{tip_id}/replies", json={"text": "Hello?"}, headers=auth(key))
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    await sms(client, runtime, "one more thing")  # after STOP: not a tipster's answer any more
    assert len((await tips_of(client, key))[0]["messages"]) == 4  # type: ignore[arg-type]
    async with runtime.sessions() as session:
        actions = [e.action for e in await session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "tip"))]
    assert actions == ["tip.reply", "tip.reply"]


async def test_scopes_are_enforced(client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker) -> None:
    await sms(client, runtime, "TIP loud parties every night")
    reader, other = await make_key("tips:read"), await make_key("alerts:read", "residents:read", "community:write")
    tip_id = (await tips_of(client, reader))[0]["id"]
    assert (await client.get("/api/v1/tips")).status_code == 401
    assert (await client.get("/api/v1/tips", headers=auth(other))).status_code == 403
    for path in (f"/api/v1/tips/{tip_id}/replies", f"/api/v1/tips/{tip_id}/block"):
        for key in (reader, other):
            response = await client.post(path, json={"text": "hi"}, headers=auth(key))
            assert response.status_code == 403 and "tips:write" in response.json()["detail"]
    await run_worker(runtime)
    assert await read_outbox(runtime.redis, channel="sms", to=NUMBER) == []  # no reply was relayed
    async with runtime.sessions() as session:
        assert await session.scalar(select(TipBlock)) is None


async def test_a_blocked_tipster_is_dropped_quietly(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    await sms(client, runtime, "TIP abusive message")
    await sms(client, runtime, "TIP a real one", number="+15145557322")
    key = await make_key("tips:read", "tips:write")
    tips = {tip["text"]: tip for tip in await tips_of(client, key)}
    blocked = await client.post(f"/api/v1/tips/{tips['abusive message']['id']}/block", headers=auth(key))
    assert blocked.status_code == 200 and blocked.json() == {
        "alias": tips["abusive message"]["alias"],
        "blocked": True,
        "newly": True,
    }
    again = await client.post(f"/api/v1/tips/{tips['abusive message']['id']}/block", headers=auth(key))
    assert again.json()["newly"] is False
    assert await sms(client, runtime, "TIP more abuse") == ""  # no answer at all: nothing tells them
    assert await sms(client, runtime, "and more") == ""
    assert await sms(client, runtime, "TIP another real one", number="+15145557322") != ""
    texts = sorted(str(tip["text"]) for tip in await tips_of(client, key))
    assert texts == ["a real one", "abusive message", "another real one"]
    assert (await tips_of(client, key, ""))[-1]["messages"] == []
    reply = await client.post(
        f"/api/v1/tips/{tips['abusive message']['id']}/replies", json={"text": "x"}, headers=auth(key)
    )
    assert reply.status_code == 409
    async with runtime.sessions() as session:
        audit = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "tip.block")))
    assert len(audit) == 1 and "5557321" not in str(audit[0].detail)


async def test_tips_past_their_retention_are_purged(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    await sms(client, runtime, "TIP old news")
    key = await make_key("tips:read", "tips:write")
    tip_id = (await tips_of(client, key))[0]["id"]
    await client.post(f"/api/v1/tips/{tip_id}/replies", json={"text": "noted"}, headers=auth(key))
    days = runtime.settings.tip_retention_days
    assert await purge_tips(runtime.sessions, days, now=utcnow() + timedelta(days=days - 1)) == 0
    assert len(await tips_of(client, key)) == 1
    assert await purge_tips(runtime.sessions, days, now=utcnow() + timedelta(days=days + 1)) == 1
    assert await tips_of(client, key) == []
    reply = await client.post(f"/api/v1/tips/{tip_id}/replies", json={"text": "still there?"}, headers=auth(key))
    assert reply.status_code == 404


async def test_tips_page_by_cursor_and_filter_by_zone(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    for n in range(3):
        await sms(client, runtime, f"TIP number {n}", number=f"+1514555800{n}")
    await web_tip(client, text="by the form", zone="Old Mill")
    key = await make_key("tips:read")
    first = (await client.get("/api/v1/tips?limit=3&cursor=&zone=", headers=auth(key))).json()
    assert [t["text"] for t in first["items"]] == ["by the form", "number 2", "number 1"] and first["next_cursor"]
    rest = (await client.get(f"/api/v1/tips?limit=3&cursor={first['next_cursor']}", headers=auth(key))).json()
    assert [t["text"] for t in rest["items"]] == ["number 0"] and rest["next_cursor"] is None
    zoned = await tips_of(client, key, "?zone=Old%20Mill")
    assert [(t["text"], t["zone"], t["channel"]) for t in zoned] == [("by the form", "Old Mill", "web")]
    bad = await client.get("/api/v1/tips?cursor=yesterday", headers=auth(key))
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "cursor"]


async def csrf_of(client: httpx.AsyncClient, query: str = "") -> str:
    page = await client.get(f"/r/tip{query}")
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


async def web_tip(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await client.post("/r/tip", data={"csrf": await csrf_of(client), **fields})


async def test_the_form_refuses_a_missing_token_and_bad_fields(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    assert (await client.post("/r/tip", data={"text": "no token"})).status_code == 403
    assert (await client.post("/r/tip", data={"text": "forged", "csrf": "x.y"})).status_code == 403
    empty = await web_tip(client, text="   ")
    zone = await web_tip(client, text="lights out", zone="Atlantis")
    contact = await web_tip(client, text="lights out", contact="5551234")
    long = await web_tip(client, text="x" * 2001)
    for response, field in ((empty, "text"), (zone, "zone"), (contact, "contact"), (long, "text")):
        assert response.status_code == 422 and f'href="#{field}"' in response.text and 'role="alert"' in response.text
    assert (await client.post("/r/tip", content=b"{}", headers={"content-type": "application/json"})).status_code == 415
    key = await make_key("tips:read")
    assert await tips_of(client, key) == []


async def test_a_form_tip_with_an_email_gets_the_reply_by_email_and_staff_never_see_it(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    page = await client.get("/r/tip?lang=fr")
    assert "Envoyer un signalement anonyme" in page.text and 'lang="fr"' in page.text
    assert "Enviar un aviso anónimo" in (await client.get("/r/tip", headers={"accept-language": "es"})).text
    sent = await web_tip(client, text="Broken street light", zone="old mill", contact="Tipster@Example.org")
    assert sent.status_code == 200 and 'role="status"' in sent.text
    key = await make_key("tips:read", "tips:write")
    listing = await client.get("/api/v1/tips", headers=auth(key))
    assert "example.org" not in listing.text.lower()
    tip = listing.json()["items"][0]
    assert tip["zone"] == "Old Mill" and tip["can_reply"] is True
    assert (
        await client.post(f"/api/v1/tips/{tip['id']}/replies", json={"text": "Fixed"}, headers=auth(key))
    ).status_code == 202
    await run_worker(runtime)
    mail = await read_outbox(runtime.redis, channel="email", to="Tipster@example.org")
    assert len(mail) == 1 and "Fixed" in mail[0]["body"] and tip["alias"] in mail[0]["subject"]


async def test_a_form_tip_without_a_contact_cannot_be_answered_or_blocked(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    assert (await web_tip(client, text="anonymous, no way back")).status_code == 200
    key = await make_key("tips:read", "tips:write")
    tip = (await tips_of(client, key))[0]
    assert tip["can_reply"] is False
    assert (
        await client.post(f"/api/v1/tips/{tip['id']}/replies", json={"text": "?"}, headers=auth(key))
    ).status_code == 409
    assert (await client.post(f"/api/v1/tips/{tip['id']}/block", headers=auth(key))).status_code == 409
    assert (await client.post("/api/v1/tips/999999/block", headers=auth(key))).status_code == 404


async def test_a_provider_retry_opens_no_second_tip_nor_a_second_answer(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    async def post(body: str, sid: str) -> str:
        params = {"From": NUMBER, "Body": body, "MessageSid": sid}
        response = await post_signed(client, runtime, "/hooks/twilio/inbound", params)
        assert response.status_code == 200
        return response.text

    first = await post("TIP a fire door propped open", "SM" + "1" * 32)
    retry = await post("TIP a fire door propped open", "SM" + "1" * 32)
    assert "<Message>" in first and "<Message>" not in retry
    key = await make_key("tips:read", "tips:write")
    tip_id = (await tips_of(client, key))[0]["id"]
    await client.post(f"/api/v1/tips/{tip_id}/replies", json={"text": "Which building?"}, headers=auth(key))
    await post("The library", "SM" + "2" * 32)
    await post("The library", "SM" + "2" * 32)
    tips = await tips_of(client, key)
    assert len(tips) == 1 and [m["text"] for m in tips[0]["messages"]] == ["Which building?", "The library"]  # type: ignore[index]


async def test_the_zone_page_links_to_the_tip_form(client: httpx.AsyncClient) -> None:
    page = await client.get("/z/Old Mill?lang=es")
    assert 'href="/r/tip?lang=es"' in page.text and "Enviar un aviso anónimo" in page.text


async def test_the_sweeper_enqueues_a_lost_reply_again(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    await sms(client, runtime, "TIP a lost reply")
    key = await make_key("tips:read", "tips:write")
    tip_id = (await tips_of(client, key))[0]["id"]
    await client.post(f"/api/v1/tips/{tip_id}/replies", json={"text": "Are you there?"}, headers=auth(key))
    await runtime.redis.flushdb()  # Redis restarted without persistence: the relay job is gone
    await run_worker(runtime)
    assert await read_outbox(runtime.redis, channel="sms", to=NUMBER) == []
    context = await WorkerContext.open(runtime, False)
    early = await tend_tips(context)
    assert early["tip_replies_requeued"] == 0  # not stalled yet: its job may still be waiting
    stalled = await tend_tips(context, now=utcnow() + REPLY_STALL + timedelta(minutes=1))
    assert stalled["tip_replies_requeued"] == 1
    await run_worker(runtime)
    sent = await read_outbox(runtime.redis, channel="sms", to=NUMBER)
    assert len(sent) == 1 and "Are you there?" in sent[0]["body"]
    assert (await tips_of(client, key))[0]["messages"][0]["state"] == "sent"  # type: ignore[index]


async def test_the_form_is_limited_per_address_and_a_blocked_contact_is_thanked_and_dropped(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    first = await web_tip(client, text="first", contact=NUMBER)
    assert first.status_code == 200
    key = await make_key("tips:read", "tips:write")
    tip_id = (await tips_of(client, key))[0]["id"]
    assert (await client.post(f"/api/v1/tips/{tip_id}/block", headers=auth(key))).status_code == 200
    again = await web_tip(client, text="from a blocked contact", contact="+1 514 555 7321")  # the same number
    assert again.status_code == 200 and again.text == first.text  # the same page: nothing tells the sender
    for n in range(8):
        assert (await web_tip(client, text=f"tip {n}")).status_code == 200
    limited = await web_tip(client, text="one too many")
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert sorted(str(t["text"]) for t in await tips_of(client, key)) == sorted(
        ["first", *(f"tip {n}" for n in range(8))]
    )


async def test_a_residents_safe_still_answers_the_alert_after_a_tip(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    from alertsvc.store.models import Acknowledgement
    from tests.factories import add_resident, cap_alert
    from tests.integration.test_fanout import INSIDE, send

    await add_resident(runtime.sessions, *INSIDE, sms=NUMBER)
    await send(client, await make_key("alerts:send", "alerts:read"), cap_alert())
    await run_worker(runtime)
    await sms(client, runtime, "TIP the gas smell is strongest on Elm Street")
    await sms(client, runtime, "SAFE")
    async with runtime.sessions() as session:
        answers = list(await session.scalars(select(Acknowledgement)))
    assert [answer.answer for answer in answers] == ["safe"]
    assert (await tips_of(client, await make_key("tips:read")))[0]["messages"] == []

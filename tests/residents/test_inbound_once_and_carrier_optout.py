"""Consent from the provider's side, on SQLite and PostgreSQL: an inbound SMS that Twilio posts again (same
``MessageSid``) is applied once and answered once; Twilio's 21610 (the recipient unsubscribed at the carrier) opts
the contact out in our own ledger, so the next alert does not try again; the STOP family (REVOKE, OPTOUT ...) opts
out like STOP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from alertsvc.clock import utcnow
from alertsvc.residents.inbound import REMEMBER_FOR
from alertsvc.runtime import Runtime
from alertsvc.store.models import ConsentEvent, Contact, Delivery, InboundMessage, Reply
from alertsvc.tracking.keywords import STOP_WORDS, Intent, intent_of
from tests.conftest import KeyMaker
from tests.factories import add_resident, cap_alert
from tests.integration.test_fanout import INSIDE, run_worker, send
from tests.tracking.test_hooks_and_links import post_signed

INBOUND = "/hooks/twilio/inbound"
NUMBER = "+15145557001"


async def consent_actions(runtime: Runtime, address: str) -> list[tuple[str, str]]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(ConsentEvent.action, ConsentEvent.method)
            .join(Contact, Contact.id == ConsentEvent.contact_id)
            .where(Contact.address == address)
            .order_by(ConsentEvent.id)
        )
        return [(str(a), str(m)) for a, m in rows]


async def test_a_stop_posted_again_with_its_message_sid_is_applied_and_answered_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms=NUMBER)
    stop = {"From": NUMBER, "Body": "STOP", "MessageSid": "SMinbound0001"}
    first = await post_signed(client, runtime, INBOUND, stop)
    again = await post_signed(client, runtime, INBOUND, stop)
    assert first.status_code == again.status_code == 200
    assert first.text.count("<Message>") == 1 and "no more alerts" in first.text
    assert "<Message>" not in again.text  # one reply sent
    assert await consent_actions(runtime, NUMBER) == [("opt_out", "sms_keyword")]  # applied once
    other = await post_signed(client, runtime, INBOUND, {**stop, "MessageSid": "SMinbound0002"})
    assert "no more alerts" in other.text  # another message (a new sid) is a new STOP
    assert len(await consent_actions(runtime, NUMBER)) == 2


async def test_a_reply_posted_again_is_kept_once(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms=NUMBER)
    text = {"From": NUMBER, "Body": "water in the basement", "MessageSid": "SMinbound0003"}
    for _ in range(3):
        assert (await post_signed(client, runtime, INBOUND, text)).status_code == 200
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Reply)) == 1


async def test_seen_message_ids_are_forgotten_after_a_while(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms=NUMBER)
    await post_signed(client, runtime, INBOUND, {"From": NUMBER, "Body": "hello", "MessageSid": "SMold"})
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(InboundMessage).values(received_at=utcnow() - REMEMBER_FOR - timedelta(minutes=1)))
    await post_signed(client, runtime, INBOUND, {"From": NUMBER, "Body": "hello", "MessageSid": "SMnew"})
    async with runtime.sessions() as session:
        assert list(await session.scalars(select(InboundMessage.provider_id))) == ["SMnew"]


async def test_an_inbound_message_id_the_table_cannot_hold_is_422(client: httpx.AsyncClient, runtime: Runtime) -> None:
    answer = await post_signed(client, runtime, INBOUND, {"From": NUMBER, "Body": "STOP", "MessageSid": "S" * 101})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "MessageSid"]


@pytest.mark.parametrize("word", ["REVOKE", "revoke.", "OPTOUT", " OptOut! ", "STOPALL", "arrêt", "Cancel", "quit"])
def test_the_stop_family_means_stop(word: str) -> None:
    assert intent_of(word) is Intent.STOP


def test_revoke_and_optout_are_stop_words() -> None:
    """The CTIA/Twilio opt-out list includes REVOKE and OPTOUT (Twilio's advanced opt-out keywords)."""
    assert {"REVOKE", "OPTOUT", "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"} <= STOP_WORDS


@pytest.mark.parametrize("word", ["REVOKE", "optout"])
async def test_revoke_and_optout_by_sms_opt_out_like_stop(
    client: httpx.AsyncClient, runtime: Runtime, word: str
) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms=NUMBER, email="r@example.org")
    reply = await post_signed(client, runtime, INBOUND, {"From": NUMBER, "Body": word})
    assert "no more alerts" in reply.text
    async with runtime.sessions() as session:
        sms = await session.scalar(select(Contact).where(Contact.address == NUMBER))
        email = await session.scalar(select(Contact).where(Contact.address == "r@example.org"))
    assert sms is not None and sms.opted_out_at is not None
    assert email is not None and email.opted_out_at is None


UNSUBSCRIBED_AT_CARRIER = "+15005550004"
"""The sandbox's (and the Twilio stand-in's) number that answers 21610, "unsubscribed recipient"."""


async def test_21610_opts_the_contact_out_so_the_next_alert_does_not_try(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:send", "alerts:read")
    await add_resident(runtime.sessions, *INSIDE, sms=UNSUBSCRIBED_AT_CARRIER, email="carrier@example.org")
    await add_resident(runtime.sessions, *INSIDE, sms="+15145551101")
    first = await send(client, key, cap_alert())
    await run_worker(runtime)
    second = await send(client, key, cap_alert())
    await run_worker(runtime)

    async def deliveries(alert: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
        async with runtime.sessions() as session:
            rows = await session.execute(
                select(Contact.address, Delivery.state, Delivery.error_code)
                .join(Contact, Contact.id == Delivery.contact_id)
                .where(Delivery.alert_id == alert["id"])
            )
            return {str(a): (str(s), c) for a, s, c in rows}

    assert (await deliveries(first))[UNSUBSCRIBED_AT_CARRIER] == ("undeliverable", "21610")
    assert await consent_actions(runtime, UNSUBSCRIBED_AT_CARRIER) == [("opt_out", "carrier")]
    later = await deliveries(second)
    assert later[UNSUBSCRIBED_AT_CARRIER][0] == "suppressed"  # not tried again
    # The resident's other channel and other residents are untouched: tried again, not opted out.
    assert later["carrier@example.org"][0] != "suppressed" and later["+15145551101"][0] == "sent"
    assert await consent_actions(runtime, "carrier@example.org") == []
    assert await consent_actions(runtime, "+15145551101") == []

"""An SMS a resident sent to the service's number: what it means, what it changes and what is answered, as one
unit of work (the convention is in :mod:`alertsvc.runtime`).

Keywords change the number's consent here, in ``residents`` (STOP and START, with a consent record and an audit
entry; YES confirms a ``JOIN <zone>`` sign-up, :mod:`alertsvc.residents.sms_signup`); an answer to an alert (SAFE,
HELP ME) or free text is recorded for the alert the number was last sent, by ``tracking``. The Twilio webhook
(:mod:`alertsvc.api.hooks`) only verifies the signature and wraps the returned text in TwiML.

Each message is taken once by its provider id (Twilio's ``MessageSid``): Twilio posts a message again when its
first webhook call timed out or failed, perhaps after the first was applied. The id goes into ``inbound_messages``
in the same transaction as the message's effect, so a repeat finds it, changes nothing and is answered with no
text (the resident got the first answer, or Twilio sends this one again); ids are forgotten after
:data:`REMEMBER_FOR`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.residents.optout import find_contact, opt_in, opt_out
from alertsvc.residents.sms_signup import confirm_by_keyword, join_by_sms
from alertsvc.security.audit import record
from alertsvc.store.db import is_postgresql, transaction
from alertsvc.store.models import InboundMessage
from alertsvc.tracking.acks import Answer, recent_alert_for_contact, record_answer
from alertsvc.tracking.keywords import Intent, intent_of, join_zone
from alertsvc.tracking.replies import record_reply

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["REMEMBER_FOR", "receive_sms"]

REMEMBER_FOR = timedelta(days=2)
"""How long an inbound message's id is remembered: Twilio retries a webhook within minutes, never days later."""


async def first_time(session: AsyncSession, message_id: str, now: datetime) -> bool:
    """Take the inbound message ``message_id``: False when it was taken before (a provider's retry). Ids older than
    :data:`REMEMBER_FOR` are forgotten on the way (through the ``received_at`` index: nearly always nothing)."""
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    taken = await session.execute(
        insert(InboundMessage)
        .values(provider_id=message_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["provider_id"])
        .returning(InboundMessage.provider_id)
    )
    if taken.first() is None:
        return False
    await session.execute(delete(InboundMessage).where(InboundMessage.received_at < now - REMEMBER_FOR))
    return True


async def receive_sms(
    runtime: Runtime, number: str, body: str, now: datetime, message_id: str | None = None
) -> str | None:
    """Record what the SMS ``body`` from ``number`` means, in one transaction; the text to answer it with, or None
    when nothing is answered (an answer to an alert, a reply, a number we do not know, or a message ``message_id``
    already taken)."""
    sender = runtime.settings.service_name
    intent = intent_of(body)
    async with transaction(runtime.sessions) as session:
        if message_id is not None and not await first_time(session, message_id, now):
            return None
        contact = await find_contact(session, "sms", number)
        if intent is Intent.STOP:
            if contact is not None:
                await opt_out(session, contact, "sms_keyword", "inbound sms", now)
                await record(session, "resident", "contact.opt_out", "contact", str(contact.id), {"via": "sms"})
            return f"{sender}: you will receive no more alerts by SMS. Reply START to subscribe again."
        if intent is Intent.START:
            if contact is not None and contact.confirmed_at is None:
                if await confirm_by_keyword(session, contact, now):
                    return f"{sender}: you are subscribed to alerts. Reply STOP to stop."
                return None
            if contact is not None:
                await opt_in(session, contact, "sms_keyword", "inbound sms", now)
                await record(session, "resident", "contact.opt_in", "contact", str(contact.id), {"via": "sms"})
            return f"{sender}: you are subscribed to alerts by SMS again. Reply STOP to stop."
        if intent is Intent.JOIN:
            return await join_by_sms(session, runtime, number, join_zone(body) or "", contact, now)
        if intent is Intent.INFO:
            return (
                f"{sender}: public safety alerts. Reply STOP to stop, SAFE if you are safe, HELP ME if you need help."
            )
        if contact is None:
            return None
        alert_id = await recent_alert_for_contact(session, contact, now)
        if intent in (Intent.SAFE, Intent.NEED_HELP) and alert_id is not None:
            answer = Answer.SAFE if intent is Intent.SAFE else Answer.HELP
            await record_answer(session, alert_id, contact.resident_id, answer, "sms", now)
            return None
        await record_reply(session, alert_id, contact.id, "sms", body, now)
    return None

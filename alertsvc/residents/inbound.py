"""An SMS a resident sent to the service's number: what it means, what it changes and what is answered, as one
unit of work (the convention is in :mod:`alertsvc.runtime`).

Keywords change the number's consent here, in ``residents`` (STOP and START, with a consent record and an audit
entry; YES confirms a ``JOIN <zone>`` sign-up, :mod:`alertsvc.residents.sms_signup`); an answer to an alert (SAFE,
HELP ME) or free text is recorded for the alert the number was last sent, by ``tracking``. The Twilio webhook
(:mod:`alertsvc.api.hooks`) only verifies the signature and wraps the returned text in TwiML.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from alertsvc.residents.optout import find_contact, opt_in, opt_out
from alertsvc.residents.sms_signup import confirm_by_keyword, join_by_sms
from alertsvc.security.audit import record
from alertsvc.store.db import transaction
from alertsvc.tracking.acks import Answer, recent_alert_for_contact, record_answer
from alertsvc.tracking.keywords import Intent, intent_of, join_zone
from alertsvc.tracking.replies import record_reply

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["receive_sms"]


async def receive_sms(runtime: Runtime, number: str, body: str, now: datetime) -> str | None:
    """Record what the SMS ``body`` from ``number`` means, in one transaction; the text to answer it with, or None
    when nothing is answered (an answer to an alert, a reply, or a number we do not know)."""
    sender = runtime.settings.service_name
    intent = intent_of(body)
    async with transaction(runtime.sessions) as session:
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

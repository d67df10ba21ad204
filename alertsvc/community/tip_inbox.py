"""An inbound SMS, seen first for tips: ``TIP <text>`` opens a tip, a tipster's free text joins their open thread,
STOP ends their threads; everything else (and STOP's opt-out) is the residents' (:mod:`alertsvc.residents.inbound`).

Here and not in ``residents.inbound`` because tips are community work, a layer above residents (pyproject's import
contracts): the Twilio webhook asks this first and hands what it does not take to the residents' handling. A
tip's answer names only its alias; a blocked number's tips and answers get no answer at all, so the sender cannot
tell that they were blocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from alertsvc.community.tips import end_threads, join_answer, open_tip, sealer, seen
from alertsvc.residents.optout import find_contact
from alertsvc.store.db import transaction
from alertsvc.tracking.keywords import Intent, intent_of, tip_text

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["Taken", "take_sms"]

MAX_PROVIDER_ID = 100
ANSWERS = frozenset({Intent.TEXT, Intent.SAFE, Intent.NEED_HELP})
"""What a tipster may write back: free text, and "OK", "1", "2" or "SOS", which are a resident's answers to an
alert only when the number is a resident's (else they would be lost)."""


@dataclass(frozen=True, slots=True)
class Taken:
    """The SMS was a tip's (a tip, an answer in a thread, or a provider's repeat of one): ``answer`` is the text to
    answer it with, or None for no answer."""

    answer: str | None


async def take_sms(
    runtime: Runtime, number: str, body: str, now: datetime, message_id: str | None = None
) -> Taken | None:
    """Take the SMS ``body`` from ``number`` if it is a tip's; None when it is not, and the residents' handling
    (:func:`alertsvc.residents.inbound.receive_sms`) goes on with it, STOP included once it ended the number's
    threads. ``message_id`` (Twilio's ``MessageSid``) makes a provider's repeat of a tip or an answer change
    nothing."""
    sender = runtime.settings.service_name
    intent = intent_of(body)
    seal = sealer(runtime.settings)
    provider_id = message_id if message_id and len(message_id) <= MAX_PROVIDER_ID else None
    if intent is Intent.TIP:
        text = tip_text(body) or ""
        if not text:
            return Taken(f"{sender}: to send an anonymous tip, write TIP followed by what you want to tell us.")
        async with transaction(runtime.sessions) as session:
            if provider_id is not None and await seen(session, provider_id):
                return Taken(None)
            alias = await open_tip(
                session, seal, text=text, zone=None, channel="sms", contact=("sms", number), language="en", now=now,
                provider_id=provider_id,
            )  # fmt: skip
        if alias is None:
            return Taken(None)
        return Taken(
            f"{sender}: thank you, your tip was received as {alias}. Your number is not shown to staff. "
            "A reply may come here; reply STOP to end."
        )
    if intent is Intent.STOP:
        async with transaction(runtime.sessions) as session:
            await end_threads(session, seal, number, now)
        return None
    if intent in ANSWERS:
        async with transaction(runtime.sessions) as session:
            if intent is not Intent.TEXT and await find_contact(session, "sms", number) is not None:
                return None  # a resident's SAFE or HELP ME answers an alert
            if provider_id is not None and await seen(session, provider_id):
                return Taken(None)
            joined = await join_answer(session, seal, number, body, now, provider_id=provider_id)
        if joined is not None:
            return Taken(None)
    return None

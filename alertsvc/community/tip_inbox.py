"""An inbound SMS, seen first for tips: ``TIP <text>`` opens a tip, a tipster's free text joins their open thread,
STOP ends their threads; everything else (and STOP's opt-out) is the residents' (:mod:`alertsvc.residents.inbound`).

Here and not in ``residents.inbound`` because tips are community work, a layer above residents
(pyproject's import contracts): the Twilio webhook calls this, and this calls the residents' handling for what is
not a tip's. A tip's answer names only its alias; a blocked number's tips and answers get no answer at all, so the
sender cannot tell that they were blocked.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from alertsvc.community.tips import end_threads, join_answer, open_tip, sealer
from alertsvc.residents.inbound import receive_sms as receive_resident_sms
from alertsvc.store.db import transaction
from alertsvc.tracking.keywords import Intent, intent_of, tip_text

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["receive_sms"]


async def receive_sms(runtime: Runtime, number: str, body: str, now: datetime) -> str | None:
    """Record what the SMS ``body`` from ``number`` means; the text to answer it with, or None."""
    sender = runtime.settings.service_name
    intent = intent_of(body)
    seal = sealer(runtime.settings)
    if intent is Intent.TIP:
        text = tip_text(body) or ""
        if not text:
            return f"{sender}: to send an anonymous tip, write TIP followed by what you want to tell us."
        async with transaction(runtime.sessions) as session:
            alias = await open_tip(
                session, seal, text=text, zone=None, channel="sms", contact=("sms", number), language="en", now=now
            )
        if alias is None:
            return None
        return (
            f"{sender}: thank you, your tip was received as {alias}. Your number is not shown to staff. "
            "A reply may come here; reply STOP to end."
        )
    if intent is Intent.STOP:
        async with transaction(runtime.sessions) as session:
            await end_threads(session, seal, number, now)
    elif intent is Intent.TEXT:
        async with transaction(runtime.sessions) as session:
            joined = await join_answer(session, seal, number, body, now)
        if joined is not None:
            return None
    return await receive_resident_sms(runtime, number, body, now)

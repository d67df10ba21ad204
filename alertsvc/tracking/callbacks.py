"""Twilio status callbacks → the delivery state machine's provider receipts.

This module only reads Twilio's words (``MessageStatus``, ``ErrorCode``); the move itself, its guard, and the
keeping of a receipt that arrives before its send is recorded are :mod:`alertsvc.tracking.machine`'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.tracking import machine
from alertsvc.tracking.states import DeliveryState
from channels.twilio_codes import callback_outcome


class TwilioReceipt(NamedTuple):
    """What one ``MessageStatus`` says, in the state machine's words."""

    state: DeliveryState
    code: str | None = None
    reason: str | None = None


def twilio_receipt(message_status: str, error_code: int | None) -> TwilioReceipt | None:
    """The receipt of one Twilio ``MessageStatus``; None for the statuses that tell us nothing new."""
    status = message_status.strip().lower()
    if status in {"delivered", "read"}:
        return TwilioReceipt(DeliveryState.DELIVERED)
    if status in {"undelivered", "failed"}:
        outcome, reason = callback_outcome(status, error_code)
        return TwilioReceipt(
            DeliveryState(outcome.value), str(error_code) if error_code is not None else status, reason
        )
    if status == "sent":
        return TwilioReceipt(DeliveryState.SENT)
    return None  # queued, accepted, sending, scheduled: nothing we do not know already


async def apply_twilio_status(
    session: AsyncSession, message_sid: str, message_status: str, error_code: int | None, now: datetime
) -> machine.Receipt:
    """Apply one Twilio status inside the caller's transaction (see :func:`record_twilio_status` for the route)."""
    receipt = twilio_receipt(message_status, error_code)
    if receipt is None:
        return machine.Receipt.UNCHANGED
    return await machine.receive(session, message_sid, receipt.state, now, receipt.code, receipt.reason)


async def record_twilio_status(
    sessions: async_sessionmaker[AsyncSession],
    message_sid: str,
    message_status: str,
    error_code: int | None,
    now: datetime,
) -> machine.Receipt:
    """Apply one Twilio status callback in its own transaction; one that came before its send was recorded is kept
    and applied when the record lands (:func:`alertsvc.tracking.machine.record_receipt`)."""
    receipt = twilio_receipt(message_status, error_code)
    if receipt is None:
        return machine.Receipt.UNCHANGED
    return await machine.record_receipt(sessions, message_sid, receipt.state, now, receipt.code, receipt.reason)

"""Delivery states (the contract's list) and which of them are final."""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"
    SUPPRESSED = "suppressed"


FINAL = frozenset(
    {DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.UNDELIVERABLE, DeliveryState.SUPPRESSED}
)
"""A delivery in one of these never moves again.

``sent`` is not final in the state machine (a callback may still say delivered or failed), but a delivery that
reached ``sent`` has left our hands: the dispatcher's work on it is done.
"""
DONE_FOR_DISPATCH = FINAL | {DeliveryState.SENT}


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"

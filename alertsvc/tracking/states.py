"""Delivery states (the contract's list) and which of them are final; the contract's name for the channels."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import GetPydanticSchema, WithJsonSchema
from pydantic_core import core_schema
from typing_extensions import TypeAliasType

from channels.base import ChannelKind


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


_CHANNELS = [kind.value for kind in ChannelKind]
Channel = TypeAliasType(
    "Channel",
    Annotated[
        ChannelKind,
        # Validated as one of the values, then made the enum: the enum's own schema would add an unused
        # ChannelKind component (with the adapters' docstring) to the OpenAPI document beside this one.
        GetPydanticSchema(
            lambda _type, _handler: core_schema.no_info_after_validator_function(
                ChannelKind, core_schema.literal_schema(_CHANNELS)
            )
        ),
        WithJsonSchema({"type": "string", "enum": _CHANNELS, "title": "Channel"}),
    ],
)
"""The one enum of channels (:class:`channels.base.ChannelKind`) under the name the contract gives it: a parameter
annotated with it validates to a ``ChannelKind`` and appears in the OpenAPI document as the ``Channel`` schema, as it
always has. Not an enum of its own: ``channels`` owns the list, since it may import nothing of the service."""

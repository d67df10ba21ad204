"""The one small interface every delivery adapter implements.

A channel turns one rendered :class:`Message` into one :class:`DeliveryResult`, or raises one of the errors
below. It *classifies* a failure and never retries it: ``dispatch/`` alone decides whether and when to try again
(with backoff, bounded by the alert's expiry), so a retry policy lives in one place instead of one per vendor.

Exception tree (vendor exceptions are translated at the edge with ``raise ... from exc``; nothing from twilio,
aiosmtplib, aiohttp or apprise escapes an adapter)::

    ChannelError                 base; ``code`` (short, stable, for metrics) and ``reason`` (for people)
    ├── TransientError           try again later: 5xx, 4xx SMTP replies, timeouts, connection errors
    │   └── NotSent              not handed over at all: the send's start-by moment (SEND_START_BY) passed first
    ├── PermanentError           never retry: invalid recipient, unsubscribed, refused, bad configuration;
    │                            ``unreachable`` says when it is the recipient that cannot be reached (an
    │                            :class:`Unreachable` reason, else None), from the adapter's own codes table
    └── RateLimited              the provider asked us to slow down; ``retry_after`` seconds when it said so

A provider's codes never leave its adapter: ``dispatch/`` reads ``code`` only to store and count it, and decides
from the class (retry or not) and from ``PermanentError.recipient_unreachable`` (``undeliverable`` rather than
``failed``: the address, not our sending, is the problem).

Messages of these errors never contain phone numbers, email addresses or URLs with tokens: they end up in logs
and in the delivery table, where personal data does not belong.

Every adapter bounds every network call with a timeout; an expired timeout is a :class:`TransientError`.
``max_send_seconds`` (optional attribute) is the longest one ``send`` can take once it has begun handing a
message over: the dispatcher starts no send that could outlive its job. An adapter that waits before it begins
(a connection pool) gives up at :data:`SEND_START_BY` with :class:`NotSent`: nothing reached the provider.

An adapter whose provider can list what it accepted may also implement :class:`Reconciler`: the sweeper asks it,
for a delivery a dead worker left ``sending``, whether the provider already has that message, and marks it sent
instead of sending it again. SMS (Twilio's Messages list) does; SMTP and push endpoints keep no such record, so
e-mail and push stay at-least-once after a crash (a warning twice rather than never).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = [
    "SEND_START_BY",
    "Channel",
    "ChannelError",
    "ChannelKind",
    "DeliveryResult",
    "Message",
    "NotSent",
    "Outcome",
    "PermanentError",
    "RateLimited",
    "Reconciler",
    "TransientError",
    "Unreachable",
]


class Outcome(StrEnum):
    """How a provider's refusal is classified; each provider's status table maps its codes to one of these."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    RATE_LIMITED = "rate_limited"


class ChannelKind(StrEnum):
    """The channels alertsvc delivers on; the values are the ``channel`` field of messages and deliveries.

    The one enum of channels: the service (``alertsvc``) uses it too, since ``channels`` may import nothing of
    the service.
    """

    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered notice for one contact on one channel.

    ``reference`` is our delivery id: adapters pass it where the provider allows (SMTP ``Message-ID``) and use it
    in logs instead of the recipient, so a delivery can be traced without personal data.

    ``mime`` is the fast path for email: the complete RFC 5322 message already serialised (see
    :class:`channels.email.EmailTemplate`); when set, the email adapter sends it as-is, and
    ``subject``/``body``
    only serve logs and the sandbox outbox.
    """

    channel: str
    to: str
    body: str
    reference: str
    subject: str | None = None
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    status_callback: str | None = None
    mime: bytes | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What the provider said when it accepted a message.

    ``provider_id`` is the provider's own id (Twilio ``SM...`` sid, SMTP ``Message-ID``, ...): status callbacks
    refer to it, so ``tracking/`` stores it with the delivery. ``status`` is the provider's own word for the state
    at acceptance (Twilio ``queued``), when it gives one.
    """

    provider_id: str
    accepted_at: datetime
    status: str | None = None


class ChannelError(Exception):
    """Base of every error a channel raises; catch this to catch them all.

    ``code`` is short and stable (``"21211"``, ``"smtp_550"``, ``"timeout"``) for metrics and the delivery row;
    ``reason`` is a sentence for a person. Neither contains recipients.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class TransientError(ChannelError):
    """The message may go through later; the dispatcher retries with backoff until the alert expires."""


class NotSent(TransientError):
    """The adapter did not begin handing the message over (its :data:`SEND_START_BY` passed while it waited):
    the provider has nothing, so sending it later can never duplicate it."""


SEND_START_BY: ContextVar[float | None] = ContextVar("channels_send_start_by", default=None)
"""A ``time.monotonic()`` moment after which ``send`` must not begin handing a message over (it raises
:class:`NotSent`); ``None``: no limit. Set by the caller around one ``send`` (a context variable, so the
``Channel`` protocol keeps its one-argument ``send``)."""


def not_sent_if_late() -> None:
    """Raise :class:`NotSent` when the current send's :data:`SEND_START_BY` has passed."""
    start_by = SEND_START_BY.get()
    if start_by is not None and time.monotonic() > start_by:
        raise NotSent("deadline", "not handed over: the batch's time ran out first")


class Unreachable(StrEnum):
    """Why a recipient cannot be reached: a permanent refusal that is about the address, not about our sending.

    A delivery refused for one of these is ``undeliverable`` (the contact may need attention); any other
    permanent refusal is ``failed`` (it says more about our configuration or content than about the contact).
    """

    INVALID_ADDRESS = "invalid_address"
    """The address cannot exist: not a phone number, a mailbox name the relay refuses."""
    NO_ROUTE = "no_route"
    """A real address this channel cannot reach: a landline, a region not enabled, a mailbox that is gone."""
    OPTED_OUT_AT_CARRIER = "opted_out_at_carrier"
    """The recipient told their carrier to stop our messages (Twilio 21610: replied STOP to the carrier)."""


class PermanentError(ChannelError):
    """The message will never go through as it is; retrying would only repeat the failure (or annoy).

    ``unreachable`` is set by the adapter, from its provider's codes table, when the recipient is the problem.
    """

    def __init__(self, code: str, reason: str, unreachable: Unreachable | None = None) -> None:
        super().__init__(code, reason)
        self.unreachable = unreachable

    @property
    def recipient_unreachable(self) -> bool:
        """Whether the delivery is ``undeliverable`` (the recipient) rather than ``failed`` (anything else)."""
        return self.unreachable is not None


class RateLimited(ChannelError):
    """The provider refused because we are too fast; wait ``retry_after`` seconds (when known) and retry."""

    def __init__(self, code: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(code, reason)
        self.retry_after = retry_after


@runtime_checkable
class Channel(Protocol):
    """A delivery adapter. ``send`` is safe to call concurrently; ``aclose`` releases pooled connections."""

    name: str

    async def send(self, message: Message) -> DeliveryResult:
        """Hand one message to the provider; raise a :class:`ChannelError` subclass if it is not accepted."""
        ...

    async def aclose(self) -> None:
        """Close sessions and connections; the adapter is unusable afterwards."""
        ...


@runtime_checkable
class Reconciler(Protocol):
    """A channel that can tell whether its provider already took a message (crash recovery, exactly-once)."""

    async def lookup(self, to: str, since: datetime, marker: str) -> str | None:
        """The provider id of a message to ``to``, accepted at or after ``since``, whose body contains ``marker``.

        ``None`` when the provider has no such message. ``marker`` is unique to one delivery (its signed
        acknowledgement link), so a match is that delivery and no other. Raises a :class:`ChannelError` when the
        provider cannot be asked; the caller then sends again (at-least-once).
        """
        ...

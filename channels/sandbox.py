"""Sandbox providers for the embedded default (``ALERTSVC_SANDBOX=1``): nothing leaves the machine.

Each sandbox channel behaves like a real one at the interface (a provider id on success, the same error
classes on failure) and writes every accepted message to an *outbox sink*, which the console and
``GET /api/v1/sandbox/outbox`` show. The service supplies a Redis-backed sink; :class:`MemoryOutbox` is for tests
and single-process use. Entries are plain JSON-serialisable dicts:
``{"channel", "to", "subject", "body", "provider_id", "at"}`` (``at``: ISO 8601 UTC).

Magic recipients make the sandbox fail on purpose, so the whole pipeline (retries, final states) can be tried
without a provider. They match the local stand-ins in ``standins``:

=======  ==================================  ===============================================
channel  recipient                           result
=======  ==================================  ===============================================
sms      +15005550001                        PermanentError 21211 (invalid 'To')
sms      +15005550004                        PermanentError 21610 (unsubscribed)
sms      +15005550009                        PermanentError 21614 (not a mobile number)
sms      +15005550429                        RateLimited 20429, retry_after 1 s
sms      +15005550500                        TransientError 20500
email    bounce@ (any domain)                PermanentError smtp_550
email    tempfail@                           TransientError smtp_451
email    ratelimit@                          RateLimited smtp_450
push     URL whose last path segment is      ``gone`` → PermanentError http_410,
         gone / servererror / ratelimit      ``servererror`` → TransientError http_500,
                                             ``ratelimit`` → RateLimited http_429
=======  ==================================  ===============================================

A permanent failure says whether the recipient is unreachable as the real adapter would, from the same codes table
(:data:`channels.twilio_codes.REST_UNREACHABLE`, :data:`channels.email.SMTP_UNREACHABLE`).

Failed sends are not recorded in the outbox (a real provider would not have accepted them either).

Crash recovery (:class:`channels.base.Reconciler`): a sandbox channel looks a message up in its sink when the sink
can search (:class:`SearchableOutbox`, as :class:`MemoryOutbox` does); with a sink that cannot, ``lookup`` answers
``None`` and the sweeper sends again (at-least-once), exactly as for a provider that keeps no record.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from channels.base import (
    ChannelError,
    ChannelKind,
    DeliveryResult,
    Message,
    PermanentError,
    RateLimited,
    TransientError,
    Unreachable,
)
from channels.email import SMTP_UNREACHABLE
from channels.twilio_codes import REST_UNREACHABLE

__all__ = [
    "MAGIC_FAILURES",
    "MemoryOutbox",
    "OutboxSink",
    "SandboxChannel",
    "SearchableOutbox",
    "sandbox_channels",
]


class OutboxSink(Protocol):
    """Where sandbox channels write what they were given."""

    async def record(self, entry: dict[str, Any]) -> None: ...


@runtime_checkable
class SearchableOutbox(Protocol):
    """A sink that can also find an entry again (what a provider's list of sent messages is to a real channel)."""

    async def record(self, entry: dict[str, Any]) -> None: ...

    async def find(self, channel: str, to: str, since: datetime, marker: str) -> str | None:
        """The ``provider_id`` of an entry for ``channel`` and ``to``, at or after ``since``, whose body holds
        ``marker``; ``None`` if there is none."""
        ...


class MemoryOutbox:
    """An in-memory sink keeping the newest ``limit`` entries."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)

    async def record(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)

    def items(self, channel: str | None = None, to: str | None = None) -> list[dict[str, Any]]:
        """Entries newest first, optionally only one channel or one recipient (as the outbox API filters)."""
        return [
            entry
            for entry in reversed(self._entries)
            if (channel is None or entry["channel"] == channel) and (to is None or entry["to"] == to)
        ]

    async def find(self, channel: str, to: str, since: datetime, marker: str) -> str | None:
        for entry in self.items(channel, to):
            if datetime.fromisoformat(entry["at"]) >= since and marker in (entry["body"] or ""):
                return str(entry["provider_id"])
        return None


MAGIC_FAILURES: Mapping[str, Mapping[str, tuple[type[ChannelError], str, str]]] = {
    ChannelKind.SMS: {
        "+15005550001": (PermanentError, "21211", "invalid 'To' phone number"),
        "+15005550004": (PermanentError, "21610", "recipient has unsubscribed (replied STOP)"),
        "+15005550009": (PermanentError, "21614", "'To' number is not a mobile number"),
        "+15005550429": (RateLimited, "20429", "too many requests"),
        "+15005550500": (TransientError, "20500", "provider internal error"),
    },
    ChannelKind.EMAIL: {
        "bounce": (PermanentError, "smtp_550", "mailbox unavailable"),
        "tempfail": (TransientError, "smtp_451", "local error in processing"),
        "ratelimit": (RateLimited, "smtp_450", "the relay asked us to slow down"),
    },
    ChannelKind.PUSH: {
        "gone": (PermanentError, "http_410", "the push service refused the message (HTTP 410)"),
        "servererror": (TransientError, "http_500", "the push service answered HTTP 500"),
        "ratelimit": (RateLimited, "http_429", "the push service asked us to slow down"),
    },
}
"""channel -> magic key -> (error class, code, reason); the key is the number, the email local part, or the
last path segment of the push URL.
"""


def _unreachable(kind: str, code: str) -> Unreachable | None:
    """Whether a magic refusal is about the recipient, read from the same table as the real adapter's."""
    if kind == ChannelKind.SMS:
        return REST_UNREACHABLE.get(int(code))
    if kind == ChannelKind.EMAIL:
        return SMTP_UNREACHABLE.get(int(code.removeprefix("smtp_")))
    return None


def _magic_key(kind: str, to: str) -> str:
    if kind == ChannelKind.EMAIL:
        return to.partition("@")[0].lower()
    if kind == ChannelKind.PUSH:
        return to.split("?", 1)[0].rstrip("/").rpartition("/")[2].lower()
    return to


def _provider_id(kind: str, reference: str) -> str:
    if kind == ChannelKind.SMS:
        return "SM" + secrets.token_hex(16)  # shaped like a Twilio sid, so sandbox callbacks look real
    if kind == ChannelKind.EMAIL:
        return f"<{reference or secrets.token_hex(8)}.{secrets.token_hex(4)}@sandbox.alertsvc.invalid>"
    return f"push-sandbox-{secrets.token_hex(12)}"


class SandboxChannel:
    """A channel of kind ``kind`` (``sms``, ``email``, ``push``) that only records into ``sink``."""

    def __init__(self, kind: str, sink: OutboxSink) -> None:
        self.name = str(ChannelKind(kind))
        self._sink = sink

    async def send(self, message: Message) -> DeliveryResult:
        failure = MAGIC_FAILURES[self.name].get(_magic_key(self.name, message.to))
        if failure is not None:
            kind, code, reason = failure
            if kind is RateLimited:
                raise RateLimited(code, reason, retry_after=1.0)
            if kind is PermanentError:
                raise PermanentError(code, reason, _unreachable(self.name, code))
            raise kind(code, reason)
        provider_id = _provider_id(self.name, message.reference)
        accepted_at = datetime.now(UTC)
        await self._sink.record(
            {
                "channel": self.name,
                "to": message.to,
                "subject": message.subject,
                "body": message.body,
                "provider_id": provider_id,
                "at": accepted_at.isoformat(),
            }
        )
        return DeliveryResult(provider_id=provider_id, accepted_at=accepted_at, status="sandbox")

    async def lookup(self, to: str, since: datetime, marker: str) -> str | None:
        """The provider id the sink recorded for this message, if the sink can search; else ``None``."""
        if isinstance(self._sink, SearchableOutbox):
            return await self._sink.find(self.name, to, since, marker)
        return None

    async def aclose(self) -> None:
        """Nothing to release."""


def sandbox_channels(sink: OutboxSink) -> dict[str, SandboxChannel]:
    """One sandbox channel per kind, all writing to ``sink``: the embedded default's channel registry."""
    return {kind.value: SandboxChannel(kind.value, sink) for kind in ChannelKind}

"""Sandbox providers for the embedded default (``ALERTSVC_SANDBOX=1``): nothing leaves the machine.

Each sandbox channel behaves like a real one at the interface (a provider id on success, the same error
classes on failure) and writes every accepted message to an *outbox sink*, which the console and
``GET /api/v1/sandbox/outbox`` show. The service supplies a Redis-backed sink; :class:`MemoryOutbox` is for tests
and single-process use. Entries are plain JSON-serialisable dicts:
``{"channel", "to", "subject", "body", "provider_id", "at"}`` (``at``: ISO 8601 UTC), plus what was built:

* e-mail: ``headers``, the raw header block exactly as the relay would receive it (CRLF line ends); ``subject``
  and ``body`` (the text part) are read back from the built message, as a mail client would read them;
* SMS: ``encoding`` (``gsm7`` or ``ucs2``) and ``segments``, as the carrier bills the body
  (:mod:`channels.sms_encoding`);
* push: ``payload``, the ``{"title", "body"}`` apprise would be given.

A sandbox builds the very message the real adapter builds and refuses what it, or its provider, refuses, with the
same error class and code, so a test against the sandbox sees what production would see:

* e-mail: built by :func:`channels.email.message_bytes` (the SMTP adapter's own builder: a header with a line
  break, an address that is not plain ``local@domain`` → ``invalid_message``), then a line of more than 998
  octets is refused as the relay refuses it (RFC 5321; ``smtp_500``);
* SMS: Twilio's refusals on the face of a request (:func:`channels.twilio_codes.refused_on_its_face`): no body
  21602, a 'To' that is not E.164 21211, a body past 1,600 characters 21617;
* push: the address checks of the push adapter that need no network (:func:`channels.push.check_push_address`:
  scheme allow-list, URL form, no ``attach=``, no private IP literal unless allowed) → ``invalid_push_url``.
  A host *name* is never resolved here, so a name pointing into a private network is refused in production only.

Magic recipients make the sandbox fail on purpose, so the whole pipeline (retries, final states) can be tried
without a provider. They match the local stand-ins in ``standins``:

=======  ==================================  ===============================================
channel  recipient                           result
=======  ==================================  ===============================================
sms      +15005550001                        PermanentError 21211 (invalid 'To')
sms      +15005550002 / +15005550003         PermanentError 21612 (cannot route) / 21408 (region)
sms      +15005550004                        PermanentError 21610 (unsubscribed)
sms      +15005550009                        PermanentError 21614 (not a mobile number)
sms      +15005550429                        RateLimited 20429, retry_after 1 s
sms      +15005550500 / +15005550503         TransientError 20500 / 20503
email    bounce@ / rejected@ (any domain)    PermanentError smtp_550 / smtp_554
email    tempfail@ / busy@                   TransientError smtp_451 / smtp_450
email    ratelimit@                          RateLimited smtp_450
push     URL whose last path segment is      ``gone`` / ``forbidden`` → PermanentError http_410 / http_403,
         gone / forbidden / servererror /    ``servererror`` / ``unavailable`` → TransientError http_500 / 503,
         unavailable / ratelimit             ``ratelimit`` → RateLimited http_429
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
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
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
from channels.email import SMTP_UNREACHABLE, message_bytes, smtp_error
from channels.email_mime import MAX_LINE
from channels.push import DEFAULT_PUSH_SCHEMES, check_push_address, push_payload
from channels.sms_encoding import sms_cost
from channels.twilio_codes import REST_UNREACHABLE, classify_rest_error, refused_on_its_face, rest_unreachable

__all__ = [
    "DEFAULT_FROM",
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
        "+15005550002": (PermanentError, "21612", "'To' number cannot be reached by SMS from this 'From' number"),
        "+15005550003": (PermanentError, "21408", "sending to this region is not enabled on the account"),
        "+15005550004": (PermanentError, "21610", "recipient has unsubscribed (replied STOP)"),
        "+15005550009": (PermanentError, "21614", "'To' number is not a mobile number"),
        "+15005550429": (RateLimited, "20429", "too many requests"),
        "+15005550500": (TransientError, "20500", "provider internal error"),
        "+15005550503": (TransientError, "20503", "Twilio temporarily unavailable"),
    },
    ChannelKind.EMAIL: {
        "bounce": (PermanentError, "smtp_550", "mailbox unavailable"),
        "rejected": (PermanentError, "smtp_554", "transaction failed (refused)"),
        "tempfail": (TransientError, "smtp_451", "local error in processing"),
        "busy": (TransientError, "smtp_450", "mailbox unavailable for now (busy or greylisted)"),
        "ratelimit": (RateLimited, "smtp_450", "the relay asked us to slow down"),
    },
    ChannelKind.PUSH: {
        "gone": (PermanentError, "http_410", "the push service refused the message (HTTP 410)"),
        "forbidden": (PermanentError, "http_403", "the push service refused the message (HTTP 403)"),
        "servererror": (TransientError, "http_500", "the push service answered HTTP 500"),
        "unavailable": (TransientError, "http_503", "the push service answered HTTP 503"),
        "ratelimit": (RateLimited, "http_429", "the push service asked us to slow down"),
    },
}
"""channel -> magic key -> (error class, code, reason); the key is the number, the email local part, or the
last path segment of the push URL.
"""


DEFAULT_FROM = "alerts@sandbox.alertsvc.invalid"
"""The sandbox's e-mail sender when none is configured (only for messages that are not already built)."""


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
    """A channel of kind ``kind`` (``sms``, ``email``, ``push``) that only records into ``sink``.

    ``from_addr`` is the e-mail sender (as :class:`channels.email.SmtpEmail` has it); ``push_allow_private`` and
    ``push_schemes`` are :class:`channels.push.ApprisePush`'s options of the same meaning.
    """

    def __init__(
        self,
        kind: str,
        sink: OutboxSink,
        *,
        from_addr: str = DEFAULT_FROM,
        push_allow_private: bool = False,
        push_schemes: Iterable[str] = DEFAULT_PUSH_SCHEMES,
    ) -> None:
        self.name = str(ChannelKind(kind))
        self._sink = sink
        self._from = from_addr
        self._push_allow_private = push_allow_private
        self._push_schemes = frozenset(scheme.lower() for scheme in push_schemes)

    async def send(self, message: Message) -> DeliveryResult:
        built = self._build(message)  # refused here when the real adapter or its provider would refuse it
        failure = MAGIC_FAILURES[self.name].get(_magic_key(self.name, message.to))
        if failure is not None:
            kind, code, reason = failure
            if kind is RateLimited:
                raise RateLimited(code, reason, retry_after=1.0)
            if kind is PermanentError:
                raise PermanentError(code, reason, _unreachable(self.name, code))
            raise kind(code, reason)
        if self.name == ChannelKind.EMAIL:
            _check_smtp_lines(built["raw"])
        provider_id = _provider_id(self.name, message.reference)
        accepted_at = datetime.now(UTC)
        entry: dict[str, Any] = {
            "channel": self.name,
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "provider_id": provider_id,
            "at": accepted_at.isoformat(),
        }
        entry.update((key, value) for key, value in built.items() if key != "raw")
        await self._sink.record(entry)
        return DeliveryResult(provider_id=provider_id, accepted_at=accepted_at, status="sandbox")

    def _build(self, message: Message) -> dict[str, Any]:
        """What the real adapter would hand its provider, as outbox fields; raises what it would raise."""
        if self.name == ChannelKind.EMAIL:
            return _email_fields(message_bytes(message, self._from))
        if self.name == ChannelKind.SMS:
            code = refused_on_its_face(message.to, message.body)
            if code is not None:
                _outcome, short, reason = classify_rest_error(400, code)
                raise PermanentError(short, reason, rest_unreachable(code))
            cost = sms_cost(message.body)
            return {"encoding": cost.encoding.value, "segments": cost.segments}
        try:
            check_push_address(message.to, self._push_allow_private, schemes=self._push_schemes)
        except ValueError as exc:
            raise PermanentError("invalid_push_url", str(exc)) from exc
        return {"payload": push_payload(message)}

    async def lookup(self, to: str, since: datetime, marker: str) -> str | None:
        """The provider id the sink recorded for this message, if the sink can search; else ``None``."""
        if isinstance(self._sink, SearchableOutbox):
            return await self._sink.find(self.name, to, since, marker)
        return None

    async def aclose(self) -> None:
        """Nothing to release."""


def _email_fields(raw: bytes) -> dict[str, Any]:
    """The outbox fields of a built e-mail: its raw header block, and subject and text as a mail client reads them."""
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    return {
        "raw": raw,
        "headers": raw.split(b"\r\n\r\n", 1)[0].decode("ascii", errors="replace") + "\r\n",
        "subject": str(parsed["Subject"] or "").strip(),  # unfolded: the generator may fold before the text
        # As written before ``set_content`` ended it with a newline, in the ``\n`` line ends of Python text.
        "body": text.get_content().replace("\r\n", "\n").removesuffix("\n") if isinstance(text, EmailMessage) else "",
    }


def _check_smtp_lines(raw: bytes) -> None:
    """Refuse, as the relay does at ``DATA``, a line longer than SMTP allows (998 octets before CRLF)."""
    if any(len(line) > MAX_LINE for line in raw.split(b"\r\n")):
        raise smtp_error(500, "Line too long (see RFC5321 4.5.3.1.6)")


def sandbox_channels(
    sink: OutboxSink,
    *,
    from_addr: str = DEFAULT_FROM,
    push_allow_private: bool = False,
    push_schemes: Iterable[str] = DEFAULT_PUSH_SCHEMES,
) -> dict[str, SandboxChannel]:
    """One sandbox channel per kind, all writing to ``sink``: the embedded default's channel registry."""
    return {
        kind.value: SandboxChannel(
            kind.value, sink, from_addr=from_addr, push_allow_private=push_allow_private, push_schemes=push_schemes
        )
        for kind in ChannelKind
    }

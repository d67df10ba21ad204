"""Email over SMTP with aiosmtplib, through a small pool of persistent connections.

Why a pool: opening an SMTP session costs a TCP (often TLS) handshake, a greeting, EHLO and AUTH, several round
trips before the first message; relays also limit how many connections a client may open. A few long-lived
connections, each sending one message after another, are both faster and politer. A connection that fails is
closed and reopened on its next use; one idle for longer than ``idle_check`` seconds is probed with NOOP first,
because relays drop idle clients and the first message after a silent drop would otherwise fail for nothing.
That is connection upkeep, not a retry: a message whose transaction failed is reported, never re-sent here.

Configuration is one URL: ``smtp://user:pass@host:port`` (plain, port 25), ``smtp+starttls://...`` (STARTTLS
required, port 587), ``smtps://...`` (implicit TLS, port 465). User and password are percent-decoded.

Replies are classified by :data:`SMTP_REPLIES`: 5xx permanent, 4xx transient (421, 450, 451, 452, ...), a 4xx
whose text speaks of a rate (``rate``, ``throttl``, ``too many messages/connections``) rate-limited;
connection errors and timeouts transient. A permanent reply in :data:`SMTP_UNREACHABLE` (550, 551, 553) is about
the recipient (the delivery is ``undeliverable``, not ``failed``). Every SMTP command has ``timeout`` seconds
(aiosmtplib applies it per operation), and the whole transaction is bounded as well.

Bodies come from :mod:`channels.email_mime`: ``Message.mime`` (rendered from an :class:`EmailTemplate`) is sent
as it is; otherwise the message is built from its fields.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import aiosmtplib

from channels.base import (
    SEND_START_BY,
    DeliveryResult,
    Message,
    NotSent,
    Outcome,
    PermanentError,
    RateLimited,
    TransientError,
    Unreachable,
)
from channels.email_mime import build_message, message_id_for

__all__ = [
    "SMTP_REPLIES",
    "SMTP_UNREACHABLE",
    "SmtpConfig",
    "SmtpEmail",
    "classify_smtp_reply",
    "message_bytes",
    "parse_smtp_url",
    "smtp_error",
]

SMTP_REPLIES: dict[int, tuple[Outcome, str]] = {
    421: (Outcome.TRANSIENT, "service not available, closing the connection"),
    450: (Outcome.TRANSIENT, "mailbox unavailable for now (busy or greylisted)"),
    451: (Outcome.TRANSIENT, "local error in processing"),
    452: (Outcome.TRANSIENT, "insufficient system storage"),
    454: (Outcome.TRANSIENT, "temporary authentication or TLS failure"),
    500: (Outcome.PERMANENT, "command not recognised"),
    501: (Outcome.PERMANENT, "syntax error in parameters (address refused)"),
    502: (Outcome.PERMANENT, "command not implemented"),
    503: (Outcome.PERMANENT, "bad sequence of commands"),
    504: (Outcome.PERMANENT, "parameter not implemented"),
    530: (Outcome.PERMANENT, "authentication required (configuration)"),
    535: (Outcome.PERMANENT, "authentication credentials invalid (configuration)"),
    550: (Outcome.PERMANENT, "mailbox unavailable"),
    551: (Outcome.PERMANENT, "user not local"),
    552: (Outcome.PERMANENT, "exceeded storage allocation"),
    553: (Outcome.PERMANENT, "mailbox name not allowed"),
    554: (Outcome.PERMANENT, "transaction failed (refused)"),
}
"""SMTP reply code -> (outcome, reason). Unlisted codes fall back to their class: 4xx transient, 5xx permanent."""
SMTP_UNREACHABLE: dict[int, Unreachable] = {
    550: Unreachable.NO_ROUTE,  # mailbox unavailable (no such user, or gone)
    551: Unreachable.NO_ROUTE,  # user not local
    553: Unreachable.INVALID_ADDRESS,  # mailbox name not allowed
}
"""SMTP reply code -> why the recipient cannot be reached, for the permanent replies about the recipient."""

_RATE_TEXT = re.compile(r"\brate\b|throttl|too many (?:messages|connections|mails|emails)", re.IGNORECASE)
_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def classify_smtp_reply(code: int, text: str) -> tuple[Outcome, str]:
    """``(outcome, reason)`` for an SMTP reply that refused a message; the text is only searched, never kept."""
    if 400 <= code < 500 and _RATE_TEXT.search(text):
        return Outcome.RATE_LIMITED, "the relay asked us to slow down"
    if code in SMTP_REPLIES:
        return SMTP_REPLIES[code]
    if 500 <= code < 600:
        return Outcome.PERMANENT, "refused by the relay"
    return Outcome.TRANSIENT, "temporary failure at the relay"


def smtp_error(code: int, text: str) -> PermanentError | TransientError | RateLimited:
    """The channel error for an SMTP reply that refused a message (the sandbox raises the same)."""
    outcome, reason = classify_smtp_reply(code, text)
    short = f"smtp_{code}"
    if outcome is Outcome.RATE_LIMITED:
        return RateLimited(short, reason)
    if outcome is Outcome.TRANSIENT:
        return TransientError(short, reason)
    return PermanentError(short, reason, SMTP_UNREACHABLE.get(code))


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool = False


def parse_smtp_url(url: str) -> SmtpConfig:
    """``smtp://``, ``smtp+starttls://`` or ``smtps://`` URL -> :class:`SmtpConfig`; ValueError if unusable."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("SMTP URL scheme must be smtp, smtp+starttls or smtps")
    if not parts.hostname:
        raise ValueError("SMTP URL has no host")
    return SmtpConfig(
        hostname=parts.hostname,
        port=parts.port or _DEFAULT_PORTS[scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=scheme == "smtps",
        start_tls=scheme == "smtp+starttls",
    )


def message_bytes(message: Message, from_addr: str) -> bytes:
    """The bytes the relay is given for ``message``: ``Message.mime`` as it is, else built from its fields by
    :func:`channels.email_mime.build_message`; a message that cannot be built is a :class:`PermanentError`
    (``invalid_message``: a header with a line break, an address that is not plain ``local@domain``).

    Public because the sandbox (:mod:`channels.sandbox`) builds its e-mail with this very function, so it
    refuses exactly what this adapter refuses.
    """
    if message.mime is not None:
        return message.mime
    headers = dict(message.headers)
    unsubscribe = headers.pop("List-Unsubscribe", None)
    headers.pop("List-Unsubscribe-Post", None)  # always One-Click when an unsubscribe link is given
    try:
        return build_message(
            from_addr=from_addr,
            to=message.to,
            reference=message.reference,
            subject=message.subject or "",
            text=message.body,
            html_body=message.html,
            headers=headers,
            list_unsubscribe=unsubscribe.strip().removeprefix("<").removesuffix(">") if unsubscribe else None,
        )
    except ValueError as exc:
        raise PermanentError("invalid_message", str(exc)) from exc


class _PooledConnection:
    """One aiosmtplib connection and when it was last used."""

    def __init__(self, smtp: aiosmtplib.SMTP) -> None:
        self.smtp = smtp
        self.last_used = 0.0

    async def ready(self, idle_check: float) -> None:
        if self.smtp.is_connected and time.monotonic() - self.last_used > idle_check:
            try:
                await self.smtp.noop()
            except (aiosmtplib.SMTPException, OSError):
                self.discard()
        if not self.smtp.is_connected:
            await self.smtp.connect()
        if self.smtp.last_ehlo_response is None:  # need the extension list (8BITMIME) before the first send
            await self.smtp.ehlo()

    def discard(self) -> None:
        """Drop the connection without a goodbye: its state is unknown after a failure mid-transaction."""
        if self.smtp.is_connected:
            self.smtp.close()

    async def quit(self, limit: float) -> None:
        if not self.smtp.is_connected:
            return
        try:
            async with asyncio.timeout(limit):
                await self.smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self.discard()


class SmtpEmail:
    """The email channel: ``SmtpEmail(url=settings.smtp_url, from_addr=settings.email_from)``.

    ``pool_size`` connections are opened lazily and kept; ``local_hostname`` is the EHLO name (default: the
    From domain, so no blocking FQDN lookup happens on the event loop).
    """

    name = "email"

    def __init__(
        self,
        *,
        url: str,
        from_addr: str,
        pool_size: int = 4,
        timeout: float = 10.0,
        idle_check: float = 20.0,
        local_hostname: str | None = None,
        validate_certs: bool = True,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.config = parse_smtp_url(url)
        self.from_addr = from_addr
        self._timeout = timeout
        self._idle_check = idle_check
        ehlo = local_hostname or from_addr.rpartition("@")[2] or "localhost"
        self._idle: asyncio.Queue[_PooledConnection] = asyncio.Queue()
        self._all = [
            _PooledConnection(
                aiosmtplib.SMTP(
                    hostname=self.config.hostname,
                    port=self.config.port,
                    username=self.config.username,
                    password=self.config.password,
                    use_tls=self.config.use_tls,
                    start_tls=self.config.start_tls,
                    timeout=timeout,
                    local_hostname=ehlo,
                    validate_certs=validate_certs,
                )
            )
            for _ in range(pool_size)
        ]
        for connection in self._all:
            self._idle.put_nowait(connection)

    @property
    def max_send_seconds(self) -> float:
        """The longest a send takes once it holds a connection (the bound of its whole transaction)."""
        return self._timeout * 4

    async def _take_connection(self) -> _PooledConnection:
        """A pooled connection; waiting for one ends at the send's start-by moment with :class:`NotSent`."""
        start_by = SEND_START_BY.get()
        if start_by is None:
            return await self._idle.get()
        try:
            async with asyncio.timeout(max(0.0, start_by - time.monotonic())):
                connection = await self._idle.get()
        except TimeoutError as exc:
            raise NotSent("deadline", "not handed over: no relay connection came free in time") from exc
        if time.monotonic() > start_by:
            self._idle.put_nowait(connection)
            raise NotSent("deadline", "not handed over: no relay connection came free in time")
        return connection

    async def send(self, message: Message) -> DeliveryResult:
        data = message_bytes(message, self.from_addr)
        connection = await self._take_connection()
        try:
            async with asyncio.timeout(self._timeout * 4):  # connect + MAIL + RCPT + DATA, each bounded too
                await connection.ready(self._idle_check)
                mail_options: list[str] = []
                if not data.isascii():
                    if not connection.smtp.supports_extension("8bitmime"):
                        raise PermanentError("smtp_no_8bitmime", "the relay does not accept 8-bit content")
                    mail_options.append("BODY=8BITMIME")
                await connection.smtp.sendmail(self.from_addr, [message.to], data, mail_options=mail_options)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            raise self._translate(first.code if first else 550, first.message if first else "") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            connection.discard()
            raise PermanentError("smtp_auth", "the relay refused our credentials (configuration)") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421 or isinstance(exc, aiosmtplib.SMTPConnectResponseError):
                connection.discard()
            raise self._translate(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
            connection.discard()
            raise TransientError("timeout", f"no answer from the SMTP relay within {self._timeout:g}s") from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError) as exc:
            connection.discard()
            raise TransientError("connection", f"cannot reach the SMTP relay ({type(exc).__name__})") from exc
        except aiosmtplib.SMTPNotSupported as exc:
            connection.discard()
            raise PermanentError("smtp_not_supported", "the relay lacks a required extension") from exc
        except aiosmtplib.SMTPException as exc:
            connection.discard()
            raise TransientError("smtp_error", f"SMTP failure ({type(exc).__name__})") from exc
        except ValueError as exc:  # aiosmtplib refuses an address it cannot send safely
            raise PermanentError("invalid_address", "the recipient address cannot be used") from exc
        finally:
            connection.last_used = time.monotonic()
            self._idle.put_nowait(connection)
        provider_id = message_id_for(message.reference, self.from_addr)
        return DeliveryResult(provider_id=provider_id, accepted_at=datetime.now(UTC))

    @staticmethod
    def _translate(code: int, text: str) -> PermanentError | TransientError | RateLimited:
        return smtp_error(code, text)

    async def aclose(self) -> None:
        await asyncio.gather(*(connection.quit(self._timeout) for connection in self._all))

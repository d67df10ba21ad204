"""An SMTP server (aiosmtpd) that records what it receives, with magic recipients that fail on purpose.

Magic local parts (any domain), answered at ``RCPT TO``:

===================  ========================================================
``bounce@``          ``550 5.1.1 mailbox unavailable``            (permanent)
``rejected@``        ``554 5.7.1 message refused``                (permanent)
``tempfail@``        ``451 4.3.0 temporary local problem``        (transient)
``busy@``            ``450 4.2.1 mailbox busy``                   (transient)
``ratelimit@``       ``450 4.7.1 rate limit exceeded, try later``  (rate limited)
``slow@``            accepted, but ``DATA`` answers only after ``slow_seconds``
===================  ========================================================

``slow_all`` makes every ``DATA`` wait ``slow_seconds`` before its answer (a relay slow for everyone; a client
that hangs up meanwhile has sent nothing: aiosmtpd drops the transaction). ``stall_accepted`` makes the next that
many messages *recorded* first and answered only ``stall_seconds`` later: the client's read times out although the
relay has the message. :meth:`SmtpStandin.copies` counts the copies received per (recipient, ``Message-ID``), i.e.
per recipient per alert, since alertsvc derives the Message-ID from the delivery.

``fail_all`` makes every ``RCPT`` answer ``421 4.3.2 service not available`` and close, like a server going
down. ``credentials`` (user, password) offers AUTH PLAIN/LOGIN (over plain TCP: loopback only) and refuses
mail from sessions that did not authenticate.
The server advertises 8BITMIME and SMTPUTF8, like the relays alertsvc is meant to use.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from standins._serve import serve_until_signalled, standalone_args

MAGIC_RCPT: dict[str, str] = {
    "bounce": "550 5.1.1 mailbox unavailable",
    "rejected": "554 5.7.1 message refused",
    "tempfail": "451 4.3.0 temporary local problem",
    "busy": "450 4.2.1 mailbox busy",
    "ratelimit": "450 4.7.1 rate limit exceeded, try again later",
}


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str]

    def parsed(self) -> EmailMessage:
        """The message as the standard library reads it (strict, modern policy)."""
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpStandin:
    """``async with SmtpStandin() as smtp``: an SMTP server on ``smtp.host:smtp.port`` in this event loop."""

    host: str = "127.0.0.1"
    port: int = 0
    record: bool = True
    slow_seconds: float = 5.0
    slow_all: bool = False
    stall_accepted: int = 0
    stall_seconds: float = 5.0
    fail_all: bool = False
    credentials: tuple[str, str] | None = None
    messages: list[ReceivedMail] = field(default_factory=list)
    connections: int = 0
    _server: asyncio.Server | None = None
    _protocols: weakref.WeakSet[SMTP] = field(default_factory=weakref.WeakSet)

    @property
    def url(self) -> str:
        auth = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"smtp://{auth}{self.host}:{self.port}"

    async def __aenter__(self) -> SmtpStandin:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port, backlog=1024)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            for protocol in list(self._protocols):  # Server.close_clients() only exists from Python 3.13
                if protocol.transport is not None:
                    protocol.transport.close()
            await self._server.wait_closed()

    def _protocol(self) -> SMTP:
        self.connections += 1
        protocol = SMTP(
            self,
            hostname="standin.invalid",
            enable_SMTPUTF8=True,
            auth_require_tls=False,
            authenticator=self._authenticate if self.credentials else None,
        )
        self._protocols.add(protocol)
        return protocol

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.credentials is not None
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self.credentials
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.credentials is not None and not session.authenticated:
            return "530 5.7.0 authentication required"
        if self.fail_all:
            return "421 4.3.2 service not available"
        answer = MAGIC_RCPT.get(address.partition("@")[0].lower())
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.slow_all or any(rcpt.lower().startswith("slow@") for rcpt in envelope.rcpt_tos):
            await asyncio.sleep(self.slow_seconds)
        if self.record:
            content = envelope.original_content or b""
            self.messages.append(
                ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), content, list(envelope.mail_options))
            )
        if self.stall_accepted > 0:  # recorded: the relay has it, but its answer comes too late for the client
            self.stall_accepted -= 1
            await asyncio.sleep(self.stall_seconds)
        return "250 2.0.0 OK queued"

    def copies(self) -> Counter[tuple[str, str]]:
        """Copies received per (recipient, Message-ID): anything above 1 is a duplicate e-mail."""
        found: Counter[tuple[str, str]] = Counter()
        for mail in self.messages:
            message_id = str(mail.parsed().get("Message-ID", ""))
            for rcpt in mail.rcpt_tos:
                found[(rcpt.lower(), message_id)] += 1
        return found


async def _main() -> None:
    args = standalone_args("SMTP stand-in")
    standin = SmtpStandin(host=args.host, port=args.port, record=not args.no_record)
    await serve_until_signalled(standin, "smtp stand-in listening on port {port}")


if __name__ == "__main__":
    asyncio.run(_main())

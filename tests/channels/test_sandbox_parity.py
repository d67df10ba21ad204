"""The sandbox accepts and refuses exactly what the real adapters, talking to the stand-ins with the real client
libraries, accept and refuse: the same error class, code and "recipient unreachable" flag for every input.

One table of inputs per channel, run through both. Every magic recipient of every stand-in is in it, so a stand-in
that learns a new refusal fails here until the sandbox learns it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from channels.base import Channel, ChannelError, Message, PermanentError
from channels.email import SmtpEmail
from channels.email_mime import ACK_LINK, UNSUBSCRIBE_LINK, EmailTemplate
from channels.push import ApprisePush
from channels.sandbox import MemoryOutbox, SandboxChannel
from channels.sms import TwilioSms
from standins.push_endpoint import MAGIC_PATHS, PushStandin
from standins.smtp_server import MAGIC_RCPT, SmtpStandin
from standins.twilio_api import MAGIC_TO, TwilioStandin

FROM = "alerts@city.example"
Outcome = tuple[str, str | None, bool | None]
"""("accepted", None, None), or (error class name, code, recipient unreachable (permanent errors only))."""


def _template_mime(to: str, subject: str = "Flood warning") -> bytes:
    template = EmailTemplate.compile(
        from_addr=FROM, subject=subject, text=f"Go up.\n{ACK_LINK}\n{UNSUBSCRIBE_LINK}\n", html_body=None
    )
    return template.render(to=to, reference="d-1", ack_link="https://x.example/a/1", unsubscribe_link="https://x/u")


@dataclass(frozen=True)
class Case:
    name: str
    message: Callable[[int], Message]
    """The message, given the port of the channel's stand-in (push addresses name it)."""
    allow_private: bool = True


def _sms(to: str, body: str = "Flood warning. Go up.") -> Callable[[int], Message]:
    return lambda _port: Message("sms", to, body, "d-1")


def _mail(to: str = "ann@example.org", **fields: object) -> Callable[[int], Message]:
    values: dict[str, object] = {"subject": "Flood warning", "body": "Go up.", **fields}
    return lambda _port: Message("email", to, reference="d-1", **values)  # type: ignore[arg-type]


def _push(path: str, *, scheme: str = "ntfy", host: str | None = None) -> Callable[[int], Message]:
    def build(port: int) -> Message:
        where = host or f"127.0.0.1:{port}"
        return Message("push", f"{scheme}://{where}/{path}", "Go up.", "d-1", subject="Flood warning")

    return build


SMS_CASES = [
    Case("accepted", _sms("+15145551101")),
    Case("1600 characters", _sms("+15145551101", "x" * 1600)),
    Case("1601 characters", _sms("+15145551101", "x" * 1601)),
    Case("UCS-2 past 1600", _sms("+15145551101", "é🌊" * 801)),
    Case("empty body", _sms("+15145551101", "")),
    Case("not E.164: no plus", _sms("15145551101")),
    Case("not E.164: spaces", _sms("+1 514 555 1101")),
    Case("not E.164: letters", _sms("+1514555CALL")),
    Case("not E.164: too long", _sms("+1234567890123456")),
    Case("line break in the body", _sms("+15145551101", "Flood\nGo up.")),
    *[Case(f"magic {to}", _sms(to)) for to in MAGIC_TO],
]
EMAIL_CASES = [
    Case("accepted", _mail()),
    Case(
        "built by the template",
        lambda _port: Message("email", "ann@example.org", "", "d-1", mime=_template_mime("ann@example.org")),
    ),
    Case("line break in the subject", _mail(subject="Flood\nwarning")),
    Case("carriage return in the subject", _mail(subject="Flood\rwarning")),
    Case("line break in a header", _mail(headers={"X-Alert": "a\nb"})),
    Case("not an address", _mail("ann at example.org")),
    Case("address with a line break", _mail("ann@example.org\nBcc: x@y.org")),
    Case("a line past 998 octets", _mail(body="x" * 1200)),
    Case("long but broken lines", _mail(body=("x" * 900 + "\n") * 3)),
    Case("non-ASCII text", _mail(subject="Inondation : montez à l'étage", body="Montez à l'étage ⚠")),
    *[Case(f"magic {local}@", _mail(f"{local}@example.org")) for local in MAGIC_RCPT],
]
PUSH_CASES = [
    Case("accepted", _push("topic")),
    Case("multi-line title", lambda port: Message("push", f"ntfy://127.0.0.1:{port}/t", "b", "d", subject="a\nb")),
    Case("scheme not allowed", _push("topic", scheme="gotify")),
    Case("file URL", lambda _port: Message("push", "file:///etc/passwd", "b", "d")),
    Case("attach parameter", _push("topic?attach=http://169.254.169.254/")),
    Case("private address refused", _push("topic"), allow_private=False),
    Case(
        "IPv4-mapped private refused", _push("topic", scheme="json", host="[::ffff:127.0.0.1]:9"), allow_private=False
    ),
    Case("json endpoint", _push("topic", scheme="json")),
    Case("space in the URL", _push("to pic")),
    # json:// posts to the URL's path, where the stand-in reads its magic (ntfy posts the topic in the body).
    *[Case(f"magic /{path}", _push(path, scheme="json")) for path in MAGIC_PATHS],
]


def _outcome_of(error: ChannelError | None) -> Outcome:
    if error is None:
        return ("accepted", None, None)
    unreachable = error.recipient_unreachable if isinstance(error, PermanentError) else None
    return (type(error).__name__, error.code, unreachable)


async def _try(channel: Channel, message: Message) -> Outcome:
    try:
        await channel.send(message)
    except ChannelError as exc:
        return _outcome_of(exc)
    return _outcome_of(None)


def _ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


@pytest.mark.parametrize("case", SMS_CASES, ids=_ids(SMS_CASES))
async def test_sms_sandbox_and_twilio_agree(case: Case, twilio_api: TwilioStandin) -> None:
    real = TwilioSms(
        account_sid=twilio_api.account_sid, auth_token=twilio_api.auth_token, from_="+15145550000",
        base_url=twilio_api.base_url, timeout=5,
    )  # fmt: skip
    outbox = MemoryOutbox()
    try:
        message = case.message(twilio_api.port)
        expected = await _try(real, message)
        assert await _try(SandboxChannel("sms", outbox), message) == expected
    finally:
        await real.aclose()
    assert bool(outbox.items()) == (expected[0] == "accepted")


@pytest.mark.parametrize("case", EMAIL_CASES, ids=_ids(EMAIL_CASES))
async def test_email_sandbox_and_smtp_agree(case: Case, smtp_server: SmtpStandin) -> None:
    real = SmtpEmail(url=smtp_server.url, from_addr=FROM, timeout=5)
    outbox = MemoryOutbox()
    try:
        message = case.message(smtp_server.port)
        expected = await _try(real, message)
        assert await _try(SandboxChannel("email", outbox, from_addr=FROM), message) == expected
    finally:
        await real.aclose()
    assert bool(outbox.items()) == (expected[0] == "accepted")


@pytest.mark.parametrize("case", PUSH_CASES, ids=_ids(PUSH_CASES))
async def test_push_sandbox_and_apprise_agree(case: Case, push_endpoint: PushStandin) -> None:
    schemes = {"ntfy", "ntfys", "json"}
    real = ApprisePush(allow_private=case.allow_private, schemes=schemes, timeout=5)
    sandbox = SandboxChannel("push", MemoryOutbox(), push_allow_private=case.allow_private, push_schemes=schemes)
    message = case.message(push_endpoint.port)
    assert await _try(sandbox, message) == await _try(real, message)


async def test_the_table_holds_accepted_and_refused_inputs_on_every_channel() -> None:
    """The comparison above proves nothing if the stand-ins accepted everything (or nothing)."""
    sandbox = {kind: SandboxChannel(kind, MemoryOutbox(), from_addr=FROM) for kind in ("sms", "email")}
    for kind, cases in (("sms", SMS_CASES), ("email", EMAIL_CASES)):
        outcomes = {(await _try(sandbox[kind], case.message(9)))[0] for case in cases}
        assert {"accepted", "PermanentError", "TransientError", "RateLimited"} <= outcomes, (kind, outcomes)

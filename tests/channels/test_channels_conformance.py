"""One conformance table, run against every adapter through its real client library and a local stand-in.

Every channel must answer the same situations the same way, because ``dispatch/`` treats them alike: a success
gives a provider id; an invalid recipient is permanent; a rate limit is RateLimited; a server error, an
unreachable server and a timeout are transient. A permanent error says whether the recipient is unreachable (and
why), which ``dispatch/`` turns into ``undeliverable`` rather than ``failed`` without reading any provider's code:
:data:`UNREACHABLE` is that column of the table, per adapter. Adding a channel means adding a row builder here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from channels.base import Channel, ChannelError, Message, PermanentError, RateLimited, TransientError, Unreachable
from channels.email import SmtpEmail
from channels.push import ApprisePush
from channels.sandbox import MemoryOutbox, SandboxChannel
from channels.sms import TwilioSms
from standins.push_endpoint import PushStandin
from standins.smtp_server import SmtpStandin
from standins.twilio_api import TwilioStandin

TIMEOUT = 0.4
CASES: dict[str, type[ChannelError] | None] = {
    "success": None,
    "invalid_recipient": PermanentError,
    "rate_limited": RateLimited,
    "server_error": TransientError,
    "unreachable": TransientError,
    "timeout": TransientError,
    "opted_out_at_carrier": PermanentError,
}
UNREACHABLE: dict[str, dict[str, Unreachable | None]] = {
    "sms": {"invalid_recipient": Unreachable.INVALID_ADDRESS, "opted_out_at_carrier": Unreachable.OPTED_OUT_AT_CARRIER},
    "email": {"invalid_recipient": Unreachable.NO_ROUTE},
    # A push service's 410 (the subscription is gone) is not read as the recipient's yet: ``failed``, as before.
    "push": {"invalid_recipient": None},
    "sandbox-sms": {
        "invalid_recipient": Unreachable.INVALID_ADDRESS,
        "opted_out_at_carrier": Unreachable.OPTED_OUT_AT_CARRIER,
    },
}
"""adapter -> permanent case -> why the recipient is unreachable (None: a permanent error about something else)."""


@dataclass
class StandIns:
    twilio: TwilioStandin
    smtp: SmtpStandin
    push: PushStandin
    closed_port: int


def _sms(s: StandIns, case: str) -> tuple[Channel, Message]:
    base = f"http://127.0.0.1:{s.closed_port}" if case == "unreachable" else s.twilio.base_url
    channel = TwilioSms(
        account_sid=s.twilio.account_sid,
        auth_token=s.twilio.auth_token,
        from_="+15005550006",
        base_url=base,
        timeout=TIMEOUT,
    )
    to = {
        "invalid_recipient": "+15005550001",
        "rate_limited": "+15005550429",
        "server_error": "+15005550500",
        "timeout": "+15005550408",
        "opted_out_at_carrier": "+15005550004",
    }.get(case, "+15551230000")
    return channel, Message(channel="sms", to=to, body="Flood warning: move to higher ground", reference="d-1")


def _email(s: StandIns, case: str) -> tuple[Channel, Message]:
    port = s.closed_port if case == "unreachable" else s.smtp.port
    channel = SmtpEmail(url=f"smtp://127.0.0.1:{port}", from_addr="alerts@example.org", timeout=TIMEOUT)
    local = {
        "invalid_recipient": "bounce",
        "rate_limited": "ratelimit",
        "server_error": "tempfail",
        "timeout": "slow",
    }.get(case, "resident")
    message = Message(
        channel="email",
        to=f"{local}@example.org",
        subject="Flood warning",
        body="Move to higher ground.",
        reference="d-2",
    )
    return channel, message


def _push(s: StandIns, case: str) -> tuple[Channel, Message]:
    port = s.closed_port if case == "unreachable" else s.push.port
    channel = ApprisePush(allow_private=True, schemes={"json", "ntfy"}, timeout=TIMEOUT)
    path = {
        "invalid_recipient": "gone",
        "rate_limited": "ratelimit",
        "server_error": "servererror",
        "timeout": "slow",
    }.get(case, "resident-1")
    message = Message(
        channel="push", to=f"json://127.0.0.1:{port}/{path}", subject="Flood", body="Move.", reference="d-3"
    )
    return channel, message


def _sandbox_sms(s: StandIns, case: str) -> tuple[Channel, Message]:
    to = {
        "invalid_recipient": "+15005550001",
        "rate_limited": "+15005550429",
        "server_error": "+15005550500",
        "opted_out_at_carrier": "+15005550004",
    }.get(case, "+15551230000")
    return SandboxChannel("sms", MemoryOutbox()), Message(channel="sms", to=to, body="x", reference="d-4")


Builder = Callable[[StandIns, str], tuple[Channel, Message]]
CARRIER_ONLY = frozenset({"opted_out_at_carrier"})
"""Cases only a channel with a carrier in between has (a recipient's STOP to the carrier)."""
ADAPTERS: dict[str, tuple[Builder, frozenset[str]]] = {
    "sms": (_sms, frozenset(CASES)),
    "email": (_email, frozenset(CASES) - CARRIER_ONLY),
    "push": (_push, frozenset(CASES) - CARRIER_ONLY),
    # The sandbox has no network: it cannot be unreachable or slow.
    "sandbox-sms": (_sandbox_sms, frozenset(CASES) - {"unreachable", "timeout"}),
}


@pytest.fixture
def standins(
    twilio_api: TwilioStandin, smtp_server: SmtpStandin, push_endpoint: PushStandin, closed_port: int
) -> StandIns:
    return StandIns(twilio_api, smtp_server, push_endpoint, closed_port)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("adapter", list(ADAPTERS))
async def test_conformance(adapter: str, case: str, standins: StandIns) -> None:
    build, supported = ADAPTERS[adapter]
    if case not in supported:
        pytest.skip(f"{adapter} has no {case} situation")
    channel, message = build(standins, case)
    assert isinstance(channel, Channel)
    expected = CASES[case]
    try:
        if expected is None:
            result = await channel.send(message)
            assert result.provider_id
            assert result.accepted_at.tzinfo is not None
        else:
            with pytest.raises(expected) as caught:
                await channel.send(message)
            assert type(caught.value) is expected
            error = caught.value
            assert error.code and error.reason
            assert message.to not in str(error), "errors must not carry the recipient"
            if adapter in ("sms", "email"):  # vendor exceptions are translated with `raise ... from`
                assert error.__cause__ is not None
            if isinstance(error, PermanentError):
                assert error.unreachable is UNREACHABLE[adapter][case]
                assert error.recipient_unreachable is (UNREACHABLE[adapter][case] is not None)
    finally:
        await channel.aclose()


def test_every_channel_kind_has_a_real_adapter_row() -> None:
    """A meta-test: a new channel kind must come with a conformance row."""
    from channels.base import ChannelKind

    assert {kind.value for kind in ChannelKind} <= set(ADAPTERS)


def test_every_permanent_case_says_whether_the_recipient_is_unreachable() -> None:
    """A meta-test: the UNREACHABLE column has a value for every permanent case an adapter answers, and no other."""
    for adapter, (_build, supported) in ADAPTERS.items():
        permanent = {case for case in supported if CASES[case] is PermanentError}
        assert set(UNREACHABLE[adapter]) == permanent, adapter

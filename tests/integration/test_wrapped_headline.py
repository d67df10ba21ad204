"""A CAP feed that wraps its headline over two lines (as pretty-printed feeds do) is delivered on every channel.

End to end with the real client libraries against the local stand-ins: CAP XML through the HTTP API, a worker
with the real adapters (twilio client to the Twilio stand-in, aiosmtplib to the SMTP stand-in, apprise to the
push stand-in). Before the headline was folded into one line, every e-mail of such an alert ended
``undeliverable`` (the standard library refuses a Subject with a line break) and, since one render served every
channel, so did every SMS and push message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from alertsvc.app import create_app
from alertsvc.cap import alert_to_xml, parse_cap_json
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security.api_keys import create_key
from alertsvc.security.scopes import Scope
from alertsvc.store.models import Contact, Delivery
from standins.push_endpoint import PushStandin
from standins.smtp_server import SmtpStandin
from standins.twilio_api import TwilioStandin
from tests.conftest import auth, make_settings
from tests.factories import add_resident, cap_alert
from tests.integration.test_fanout import run_worker

INSIDE = (45.5, -72.5)
WRAPPED = "Gas leak near the square:\n        leave the area\r\n\tnow\u2028at\u00a0once"
"""A headline as a pretty-printed feed wraps it, plus the other breaks and spaces a careless feed may carry."""


@pytest.fixture
async def standins() -> AsyncIterator[tuple[TwilioStandin, SmtpStandin, PushStandin]]:
    async with TwilioStandin() as twilio, SmtpStandin() as smtp, PushStandin() as push:
        yield twilio, smtp, push


@pytest.fixture
async def wired(
    tmp_path: Path, database_url: str, clean_redis: str, standins: tuple[TwilioStandin, SmtpStandin, PushStandin]
) -> AsyncIterator[Runtime]:
    twilio, smtp, _push = standins
    settings = make_settings(
        tmp_path, database_url, clean_redis, sandbox=False, twilio_base_url=twilio.base_url,
        twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token, smtp_url=smtp.url,
        push_allow_private=True,
    )  # fmt: skip
    runtime = await open_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


def _wrapped_xml() -> bytes:
    document = cap_alert()
    document["info"][0]["headline"] = WRAPPED
    xml = alert_to_xml(parse_cap_json(document))
    return xml if isinstance(xml, bytes) else xml.encode()


async def test_a_wrapped_headline_is_sent_on_every_channel_with_a_one_line_subject(
    wired: Runtime, standins: tuple[TwilioStandin, SmtpStandin, PushStandin]
) -> None:
    twilio, smtp, push = standins
    await add_resident(
        wired.sessions, *INSIDE, sms="+15145551101", email="ann@example.org", push=f"ntfy://127.0.0.1:{push.port}/ann"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=wired)), base_url="http://testserver"
    ) as client:
        async with wired.sessions() as session, session.begin():
            key = await create_key(session, "wrapped", frozenset({Scope("alerts:send")}), actor="test")
        xml = _wrapped_xml()
        assert b"\n        leave the area" in xml  # the headline really is wrapped in the document sent
        response = await client.post(
            "/api/v1/alerts", content=xml, headers={**auth(key), "Content-Type": "application/cap+xml"}
        )
        assert response.status_code == 201, response.text
    await run_worker(wired)
    async with wired.sessions() as session:
        rows = await session.execute(
            select(Contact.channel, Delivery.state, Delivery.error_code).join(
                Contact, Contact.id == Delivery.contact_id
            )
        )
        states = {channel: (state, code) for channel, state, code in rows}
    assert states == {"sms": ("sent", None), "email": ("sent", None), "push": ("sent", None)}

    (mail,) = smtp.messages
    header_block = mail.data.split(b"\r\n\r\n", 1)[0]
    subject_lines = [line for line in header_block.split(b"\r\n") if line.lower().startswith(b"subject:")]
    assert len(subject_lines) == 1
    subject = str(mail.parsed()["Subject"])
    assert subject == "Gas leak near the square: leave the area now at once"
    (sms,) = twilio.messages
    assert sms.body.split("\n", 1)[0] == "Gas leak near the square: leave the area now at once"
    (notification,) = push.received
    assert "Gas leak near the square: leave the area now at once" in notification.body.decode()

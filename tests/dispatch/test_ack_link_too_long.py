"""An e-mail whose acknowledgement link is too long (a long ``ALERTSVC_PUBLIC_URL``) is our message's fault, not
the recipient's: ``failed`` with ``invalid_message``, never ``undeliverable`` with ``invalid_recipient`` (which
says the address is unusable and counts the resident as unreachable). An address the e-mail builder refuses is
still ``undeliverable``/``invalid_recipient``.

Before the fix every ``ValueError`` of the e-mail render was recorded as ``invalid_recipient``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from alertsvc.dispatch.render import personalise, personalise_failure, render_info
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.store.models import Contact, Delivery
from channels.base import Unreachable
from tests.conftest import KeyMaker, auth, make_settings
from tests.factories import add_resident, cap_alert
from tests.integration.test_fanout import run_worker

LONG_PUBLIC_URL = "https://alerts.example.org/" + "x" * 500
"""With ``/a/`` and a token the acknowledgement link passes the e-mail builder's 512 characters."""


@pytest.fixture
def settings(tmp_path: Path, database_url: str, clean_redis: str) -> Settings:
    return make_settings(tmp_path, database_url, clean_redis, public_url=LONG_PUBLIC_URL)


@pytest.mark.parametrize(
    ("to", "code", "unreachable"),
    [
        ("ann@example.org", "invalid_message", None),  # a good address: the link was refused, ours to fix
        ("ann@@example.org", "invalid_recipient", Unreachable.INVALID_ADDRESS),  # the address itself
    ],
)
def test_whose_fault_a_refused_email_is(to: str, code: str, unreachable: Unreachable | None) -> None:
    info = cap_alert()["info"][0]
    rendered = render_info(
        info, status="Actual", msg_type="Alert", sender_name="City", public_url="https://a.example",
        max_segments=3, email_from="alerts@city.example",
    )  # fmt: skip
    with pytest.raises(ValueError) as refused:
        personalise(
            rendered, "email", to=to, reference="1", ack_url=LONG_PUBLIC_URL + "/a/t",
            unsubscribe_url="https://a.example/u/t",
        )  # fmt: skip
    error = personalise_failure("email", to, refused.value)
    assert (error.code, error.unreachable) == (code, unreachable)
    assert error.recipient_unreachable is (unreachable is not None)


async def test_a_too_long_ack_link_is_invalid_message_not_invalid_recipient(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, email="ann@example.org")
    key = await make_key("alerts:send", "alerts:read")
    response = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(key))
    assert response.status_code == 201, response.text
    await run_worker(runtime)
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.state, Delivery.error_code, Contact.address).join(
                    Contact, Contact.id == Delivery.contact_id
                )
            )
        ).all()
    assert [(state, code) for state, code, _ in rows] == [("failed", "invalid_message")], rows

"""Honest figures and labels on the compose page (issue 20): an Exercise or a Test counts the test recipients it
will reach, not the whole area; the send button says what pressing it does, by the rules the submission applies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.store.models import Alert
from tests.conftest import make_settings
from tests.console.helpers import compose, compose_data, csrf_of, signed_in
from tests.factories import add_resident

_LABEL = re.compile(r'data-label-(actual|exercise|test)="([^"]+)"')


@pytest.fixture
def settings(tmp_path, database_url: str, clean_redis: str) -> Settings:  # type: ignore[no-untyped-def]
    """The default approval policy (Actual needs an approver; Exercise and Test do not), with the two-person rule
    waived for Met alerts so an approver's own Actual may go alone there."""
    return make_settings(tmp_path, database_url, clean_redis, approval_waived_categories=["Met"])


async def _labels(client: httpx.AsyncClient, **form: str) -> dict[str, str]:
    """The send button's words for each status, as the page renders them for this form."""
    page = await client.get("/console/alerts/new")
    data = {**compose_data(**form), "csrf_token": csrf_of(page.text), "action": "preview"}
    previewed = await client.post("/console/alerts/new", data=data)
    assert previewed.status_code == 200, previewed.text
    return {status.capitalize(): words for status, words in _LABEL.findall(previewed.text)}


async def _state(runtime: Runtime, location: str) -> str:
    async with runtime.sessions() as session:
        alert = await session.get(Alert, location.rsplit("/", 1)[1])
        assert alert is not None
        return alert.state


@pytest.fixture
async def approver(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    client, _ = await signed_in(runtime, "approver")
    yield client
    await client.aclose()


async def test_a_test_counts_the_test_recipients_it_reaches(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550601", test_recipient=True)
    await add_resident(runtime.sessions, 45.6, -72.6, sms="+15145550602", email="b@example.org")
    await add_resident(runtime.sessions, 45.7, -72.7, email="c@example.org", language="fr")
    token = csrf_of((await dispatcher.get("/console/alerts/new")).text)
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    for status, residents, contacts in (
        ("Test", 1, {"sms": 1, "email": 0, "push": 0}),
        ("Exercise", 1, {"sms": 1, "email": 0, "push": 0}),
        ("Actual", 3, {"sms": 2, "email": 2, "push": 0}),
    ):
        body = (
            await dispatcher.post("/console/compose/preview.json", data=compose_data(status=status), headers=headers)
        ).json()
        assert (body["residents"], body["contacts"]) == (residents, contacts), status
        assert f'id="reach-residents">{residents}<' in body["panel_html"]
    tests_panel = (
        await dispatcher.post("/console/compose/preview.json", data=compose_data(status="Test"), headers=headers)
    ).json()["panel_html"]
    assert "test recipients in the area" in tests_panel and "fr:" not in tests_panel


async def test_the_send_button_says_what_will_happen(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550611", test_recipient=True)
    assert await _labels(dispatcher) == {
        "Actual": "Submit ACTUAL alert for approval",
        "Exercise": "Send EXERCISE now",
        "Test": "Send TEST now",
    }
    sent = await compose(dispatcher, status="Test")
    assert await _state(runtime, sent.headers["location"]) == "approved", "'Send TEST now' sends it now"

    # The two-person rule: an approver's own Actual waits for another approver, unless a waiver covers it.
    assert (await _labels(approver))["Actual"] == "Submit ACTUAL alert for approval"
    assert (await _labels(approver, category="Met"))["Actual"] == "Send ACTUAL alert to the public now"
    waiting = await compose(approver, status="Actual", confirm_residents="1")
    assert await _state(runtime, waiting.headers["location"]) == "pending_approval"
    alone = await compose(approver, status="Actual", category="Met", confirm_residents="1")
    assert await _state(runtime, alone.headers["location"]) == "approved"


async def test_the_label_follows_a_policy_that_holds_tests_back(runtime: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    strict = runtime.settings.model_copy(update={"approval_required_statuses": ["Actual", "Exercise", "Test"]})
    runtime.settings = strict
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550621", test_recipient=True)
    dispatcher, _ = await signed_in(runtime, "dispatcher")
    approver, _ = await signed_in(runtime, "approver")
    try:
        assert (await _labels(dispatcher))["Test"] == "Submit TEST for approval"
        held = await compose(dispatcher, status="Test")
        assert await _state(runtime, held.headers["location"]) == "pending_approval"
        # An approver's Test is not covered by the two-person rule: it goes at once, and the button says so.
        assert (await _labels(approver))["Test"] == "Send TEST now"
        at_once = await compose(approver, status="Test")
        assert await _state(runtime, at_once.headers["location"]) == "approved"
    finally:
        await dispatcher.aclose()
        await approver.aclose()

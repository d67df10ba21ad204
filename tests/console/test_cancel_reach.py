"""The approval of a Cancel states the Cancel's own reach, those who received the alert it cancels, and the second
step of an Actual approval checks that number: not the original's areas now, which residents may have moved into
since (they never got the warning and get no all-clear)."""

from __future__ import annotations

import re

import httpx

from alertsvc.dispatch.outbox import read_outbox
from alertsvc.runtime import Runtime
from tests.console.helpers import compose, csrf_of, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker

REACH = re.compile(r"This alert reaches (\d+) residents? now\.")


async def test_a_pending_cancel_states_and_checks_the_residents_who_received_the_original(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145554001")
    created = await compose(dispatcher, status="Actual", confirm_residents="1")
    path = created.headers["location"]
    step = await approver.get(f"{path}/approve")
    sent = await approver.post(f"{path}/approve", data={"confirm_residents": "1", "csrf_token": csrf_of(step.text)})
    assert sent.status_code == 303
    await run_worker(runtime)
    for n in range(2):  # moved into the area after the warning went out
        await add_resident(runtime.sessions, 45.6, -72.6, sms=f"+1514555401{n}", email=f"new{n}@example.org")
    cancelled = await post_form(dispatcher, f"{path}/cancel", f"{path}/cancel")  # a dispatcher's Cancel waits
    assert cancelled.status_code == 303
    cancel_path = cancelled.headers["location"]
    page = (await approver.get(cancel_path)).text
    assert REACH.findall(page) == ["1"], REACH.findall(page)  # not 3: the area now
    step = await approver.get(f"{cancel_path}/approve")
    assert re.search(r'id="confirm-reach"><strong>1</strong>', step.text)
    assert 'id="confirm-email">0<' in step.text
    wrong = await approver.post(
        f"{cancel_path}/approve", data={"confirm_residents": "3", "csrf_token": csrf_of(step.text)}
    )
    assert wrong.status_code == 409
    approved = await approver.post(
        f"{cancel_path}/approve", data={"confirm_residents": "1", "csrf_token": csrf_of(step.text)}
    )
    assert approved.status_code == 303, approved.text
    await run_worker(runtime)
    sent_to = [entry["to"] for entry in await read_outbox(runtime.redis, limit=100)]
    assert sorted(sent_to) == ["+15145554001", "+15145554001"]  # the warning and its all-clear, nobody else

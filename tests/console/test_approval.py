"""Approval by a second person, rejection with a reason the author sees, the live view and its stream, Update and
Cancel from an alert."""

from __future__ import annotations

import json

import httpx

from alertsvc.runtime import Runtime
from alertsvc.tracking.live import snapshot, stream
from tests.console.helpers import compose, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker


async def _never() -> bool:
    return False


async def test_approver_approves_someone_elses_alert_and_it_is_sent(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550401", test_recipient=True)
    created = await compose(dispatcher)
    path = created.headers["location"]
    approved = await post_form(approver, path, f"{path}/approve")
    assert approved.status_code == 303
    await run_worker(runtime)
    page = await dispatcher.get(path)
    assert "Approved by approver-" in page.text and 'data-state="sent"' in page.text
    async with runtime.sessions() as session:
        live = await snapshot(session, path.rsplit("/", 1)[1])
    assert live is not None and live["percent"] == 100 and live["time_to_warn"]["done_100"] is not None
    assert live["channels"][0]["channel"] == "sms" and live["channels"][0]["sent"] == 1


async def test_rejection_needs_a_reason_and_the_author_reads_it(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient
) -> None:
    path = (await compose(dispatcher)).headers["location"]
    assert (await post_form(approver, path, f"{path}/reject", reason=" ")).status_code == 422
    assert (await post_form(approver, path, f"{path}/reject", reason="Wrong street named")).status_code == 303
    page = await dispatcher.get(path)
    assert "Rejected by" in page.text and "Wrong street named" in page.text
    listing = await dispatcher.get("/console/alerts?state=rejected")
    assert path in listing.text


async def test_live_stream_reports_counts_then_ends_for_a_finished_alert(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path = (await compose(dispatcher)).headers["location"]
    alert_id = path.rsplit("/", 1)[1]
    await post_form(approver, path, f"{path}/reject", reason="not needed")
    events = [chunk async for chunk in stream(runtime.sessions, alert_id, is_disconnected=_never, interval=0.01)]
    assert events[0].startswith("retry:")
    counts = next(e for e in events if e.startswith("event: counts"))
    assert json.loads(counts.split("data: ", 1)[1])["state"] == "rejected"
    assert events[-1].startswith("event: done")
    over_http = await dispatcher.get(f"{path}/live")
    assert over_http.headers["content-type"].startswith("text/event-stream") and "event: done" in over_http.text
    assert (await dispatcher.get(f"{path}/live.json")).json()["state"] == "rejected"


async def test_update_and_cancel_from_a_sent_alert(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550501", test_recipient=True)
    path = (await compose(dispatcher)).headers["location"]
    await post_form(approver, path, f"{path}/approve")
    await run_worker(runtime)
    page = await approver.get(path)
    assert 'id="prepare-update"' in page.text and 'id="prepare-cancel"' in page.text
    update_form = await approver.get(f"/console/alerts/new?update={path.rsplit('/', 1)[1]}")
    assert 'name="msg_type" value="Update"' in update_form.text and "Gas leak: leave the area" in update_form.text
    cancelled = await post_form(approver, f"{path}/cancel", f"{path}/cancel")
    assert cancelled.status_code == 303 and cancelled.headers["location"] != path
    await run_worker(runtime)
    cancel_page = await approver.get(cancelled.headers["location"])
    assert "CANCEL" in cancel_page.text
    assert 'data-state="cancelled"' in (await approver.get(path)).text


async def test_default_policy_lets_a_dispatcher_send_a_drill_alone(
    dispatcher: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.settings.approval_required_statuses = ["Actual"]
    created = await compose(dispatcher)  # an Exercise: test recipients only
    path = created.headers["location"]
    page = await dispatcher.get(path)
    assert 'data-state="pending_approval"' not in page.text
    actual = await compose(dispatcher, status="Actual", confirm_residents="0")
    assert actual.status_code == 303, actual.text
    assert 'data-state="pending_approval"' in (await dispatcher.get(actual.headers["location"])).text

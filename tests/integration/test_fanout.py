"""Fan-out end to end on a real Redis and both databases, with the sandbox providers: the invariants of
DESIGN.md, each by a test that fails if it is broken."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.fanout import fanout
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.dispatch.worker import build_worker
from alertsvc.runtime import Runtime
from alertsvc.store.models import Alert, Contact, Delivery
from tests.conftest import KeyMaker, auth
from tests.factories import SQUARE, add_resident, cap_alert, info_in

INSIDE = (45.5, -72.5)
EDGE = (45.0, -72.5)  # on the square's southern edge: inside
VERTEX = (46.0, -72.0)  # a corner: inside
OUTSIDE = (44.9, -72.5)
SWAPPED = (-72.5, 45.5)  # lat/lon swapped: far away


async def run_worker(runtime: Runtime) -> None:
    """Run a worker until the queue is empty (deferred retries included)."""
    worker = build_worker(runtime, burst=True, poll_delay=0.01, cron_jobs=[])
    try:
        await worker.main()
    finally:
        await worker.close()


async def outbox(runtime: Runtime, channel: str | None = None) -> list[dict[str, Any]]:
    return await read_outbox(runtime.redis, channel=channel, limit=100_000)


async def send(client: httpx.AsyncClient, key: str, document: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/alerts", json=document, headers=auth(key))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
async def sender(make_key: KeyMaker) -> str:
    return await make_key("alerts:send", "alerts:read", "admin")


async def test_inside_gets_it_once_per_channel_outside_never(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    inside = [
        await add_resident(runtime.sessions, *INSIDE, sms="+15145550101", email="in@example.org",
                           push="ntfy://in-topic"),
        await add_resident(runtime.sessions, *EDGE, sms="+15145550102"),
        await add_resident(runtime.sessions, *VERTEX, email="vertex@example.org"),
    ]  # fmt: skip
    await add_resident(runtime.sessions, *OUTSIDE, sms="+15145550199", email="out@example.org")
    await add_resident(runtime.sessions, *SWAPPED, sms="+15145550198")
    created = await send(client, sender, cap_alert())
    await run_worker(runtime)
    sent = await outbox(runtime)
    recipients = Counter((entry["channel"], entry["to"]) for entry in sent)
    assert recipients == Counter(
        {("sms", "+15145550101"): 1, ("email", "in@example.org"): 1, ("push", "ntfy://in-topic"): 1,
         ("sms", "+15145550102"): 1, ("email", "vertex@example.org"): 1}
    )  # fmt: skip
    assert len(inside) == 3
    alert = (await client.get(f"/api/v1/alerts/{created['id']}", headers=auth(sender))).json()
    assert alert["state"] == "sent"
    assert alert["stats"] == {"sms": {"sent": 2}, "email": {"sent": 2}, "push": {"sent": 1}}
    sms = next(entry for entry in sent if entry["to"] == "+15145550101")
    assert "Gas leak" in sms["body"] and "/a/" in sms["body"]
    async with runtime.sessions() as session:  # stamped by the first record step to commit (batches run at once)
        first_sent_at = await session.scalar(select(Alert.first_sent_at).where(Alert.id == created["id"]))
        sent_at = set(await session.scalars(select(Delivery.sent_at).where(Delivery.alert_id == created["id"])))
    assert first_sent_at in sent_at


async def test_running_fanout_and_deliver_again_sends_nothing_twice(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    from alertsvc.dispatch.jobs import DELIVER, FANOUT

    for n in range(30):
        await add_resident(runtime.sessions, 45.1 + n * 0.01, -72.5, sms=f"+1514555{n:04d}")
    created = await send(client, sender, cap_alert())
    await run_worker(runtime)
    async with runtime.sessions() as session:
        ids = list(await session.scalars(select(Delivery.id).where(Delivery.alert_id == created["id"])))
    # A redelivered fan-out and a redelivered batch (at-least-once queue) must change nothing.
    await runtime.redis.enqueue_job(FANOUT, created["id"], _job_id="again-fanout")
    await runtime.redis.enqueue_job(DELIVER, created["id"], "sms", ids, _job_id="again-deliver")
    await run_worker(runtime)
    sent = await outbox(runtime, "sms")
    assert len(sent) == 30
    assert len({entry["to"] for entry in sent}) == 30
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 30


async def test_exercise_goes_only_to_test_recipients(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550201")
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550202", test_recipient=True)
    await send(client, sender, cap_alert(status="Exercise"))
    await run_worker(runtime)
    sent = await outbox(runtime)
    assert [entry["to"] for entry in sent] == ["+15145550202"]
    assert "EXERCISE" in sent[0]["body"]


async def test_system_and_draft_go_to_nobody(client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550301", test_recipient=True)
    for status in ("System", "Draft"):
        created = await send(client, sender, cap_alert(status=status))
        assert created["state"] == "draft"
    await run_worker(runtime)
    assert await outbox(runtime) == []


async def test_opted_out_and_unconfirmed_get_nothing(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550401", opted_out=True)
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550402", confirmed=False)
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550403")
    created = await send(client, sender, cap_alert())
    await run_worker(runtime)
    assert [entry["to"] for entry in await outbox(runtime)] == ["+15145550403"]
    stats = (await client.get(f"/api/v1/alerts/{created['id']}", headers=auth(sender))).json()["stats"]
    assert stats == {"sms": {"sent": 1, "suppressed": 1}}


async def test_a_contact_gone_between_planning_and_sending_is_suppressed_not_sent(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    """The claim reads the contacts afresh: a contact that opted out after planning, without its queued delivery
    being suppressed with it (it was ``sending`` then, and came back for a retry), gets nothing."""
    leaving = await add_resident(runtime.sessions, *INSIDE, sms="+15145550411")
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550412")
    created = await send(client, sender, cap_alert())
    app = await WorkerContext.open(runtime)
    try:
        await fanout({"app": app}, created["id"])  # planned and its deliver job queued, nothing sent yet
    finally:
        await app.close()
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Contact).where(Contact.resident_id == leaving.id).values(opted_out_at=func.current_timestamp())
        )
    await run_worker(runtime)
    assert [entry["to"] for entry in await outbox(runtime)] == ["+15145550412"]
    async with runtime.sessions() as session:
        rows = {
            (int(resident), state, reason)
            for resident, state, reason in await session.execute(
                select(Delivery.resident_id, Delivery.state, Delivery.reason)
            )
        }
    assert (leaving.id, "suppressed", "opted out") in rows
    assert {state for _, state, _ in rows} == {"sent", "suppressed"}


async def test_preferences_filter(client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550501", categories="Health")
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550502", min_severity="Extreme")
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550503", categories="Safety,Fire", min_severity="Severe")
    await send(client, sender, cap_alert(severity="Severe", category="Safety"))
    await run_worker(runtime)
    assert [entry["to"] for entry in await outbox(runtime)] == ["+15145550503"]


async def test_each_resident_reads_their_language(client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550601", language="fr")
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550602", language="en-GB")
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550603", language="de")
    document = cap_alert(infos=[info_in("en-US", "Leave the area"), info_in("fr-CA", "Quittez le secteur")])
    await send(client, sender, document)
    await run_worker(runtime)
    bodies = {entry["to"]: entry["body"] for entry in await outbox(runtime)}
    assert "Quittez le secteur" in bodies["+15145550601"]
    assert "Leave the area" in bodies["+15145550602"]
    assert "Leave the area" in bodies["+15145550603"]


async def test_union_of_areas_of_all_infos(client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
    far_square = "10.0,50.0 10.0,51.0 11.0,51.0 11.0,50.0 10.0,50.0"
    await add_resident(runtime.sessions, 10.5, 50.5, sms="+15145550701")
    await add_resident(runtime.sessions, 50.5, 10.5, sms="+15145550702")  # the same numbers, swapped
    await add_resident(runtime.sessions, *INSIDE, sms="+15145550703")
    document = cap_alert(infos=[info_in("en-US", "A"), info_in("fr-CA", "B", polygon=far_square)])
    await send(client, sender, document)
    await run_worker(runtime)
    assert sorted(entry["to"] for entry in await outbox(runtime)) == ["+15145550701", "+15145550703"]


async def test_circle_uses_great_circle_distance(client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
    await add_resident(runtime.sessions, 45.5 + 0.0898, -72.5, sms="+15145550801")  # ~9.99 km north
    await add_resident(runtime.sessions, 45.5 + 0.0908, -72.5, sms="+15145550802")  # ~10.1 km north
    await send(client, sender, cap_alert(polygon=None, circle="45.5,-72.5 10"))
    await run_worker(runtime)
    assert [entry["to"] for entry in await outbox(runtime)] == ["+15145550801"]


async def test_zone_geocode_targets_the_zone(client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
    preview_key = sender
    await add_resident(runtime.sessions, 45.495, -73.585, sms="+15145550901")
    response = await client.post(
        "/api/v1/targeting/preview",
        json={"areaDesc": "zone", "geocode": [{"valueName": "zone", "value": "Old Mill"}]},
        headers=auth(preview_key),
    )
    assert response.status_code == 200, response.text
    expected = response.json()["residents"]
    await send(client, sender, cap_alert(polygon=None, geocodes=[("zone", "Old Mill")]))
    await run_worker(runtime)
    assert len(await outbox(runtime)) == expected


async def test_update_reaches_original_recipients_plus_new_area_and_cancel_everyone_the_thread_reached(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    """The Cancel of the original ends its Update too (:mod:`alertsvc.alerts.cancel_scope`), so it reaches the
    Update's own recipients as well as the original's, and still nobody the thread never reached."""
    await add_resident(runtime.sessions, *INSIDE, sms="+15145551001")  # in the original area
    await add_resident(runtime.sessions, 10.5, 50.5, sms="+15145551002")  # only in the update's area
    await add_resident(runtime.sessions, 20.5, 20.5, sms="+15145551003")  # in neither
    original_doc = cap_alert()
    original = await send(client, sender, original_doc)
    await run_worker(runtime)
    reference = f"{original_doc['sender']},{original_doc['identifier']},{original_doc['sent']}"
    far_square = "10.0,50.0 10.0,51.0 11.0,51.0 11.0,50.0 10.0,50.0"
    await send(client, sender, cap_alert(msg_type="Update", references=reference, polygon=far_square))
    await run_worker(runtime)
    sent = [entry["to"] for entry in await outbox(runtime)]
    assert Counter(sent) == Counter({"+15145551001": 2, "+15145551002": 1})
    cancel = await client.post(f"/api/v1/alerts/{original['id']}/cancel", headers=auth(sender))
    assert cancel.status_code == 200, cancel.text
    await run_worker(runtime)
    latest = await outbox(runtime)
    assert {entry["to"] for entry in latest[:2]} == {"+15145551001", "+15145551002"}
    assert all("CANCELLED" in entry["body"] for entry in latest[:2])
    assert Counter(entry["to"] for entry in latest)["+15145551001"] == 3
    assert Counter(entry["to"] for entry in latest)["+15145551002"] == 2
    assert Counter(entry["to"] for entry in latest)["+15145551003"] == 0
    state = (await client.get(f"/api/v1/alerts/{original['id']}", headers=auth(sender))).json()["state"]
    assert state == "cancelled"


async def test_permanent_and_transient_failures_end_final(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms="+15005550001")  # sandbox: invalid number
    await add_resident(runtime.sessions, *INSIDE, email="bounce@example.org")  # sandbox: 550
    await add_resident(runtime.sessions, *INSIDE, sms="+15145551101")
    created = await send(client, sender, cap_alert())
    await run_worker(runtime)
    deliveries = (await client.get(f"/api/v1/alerts/{created['id']}/deliveries", headers=auth(sender))).json()
    states = sorted(item["state"] for item in deliveries["items"])
    assert states == ["sent", "undeliverable", "undeliverable"]


async def test_deliveries_page_and_filters(client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
    for n in range(7):
        await add_resident(runtime.sessions, *INSIDE, ref=f"page-{n}", sms=f"+1514555120{n}", email=f"p{n}@example.org")
    created = await send(client, sender, cap_alert())
    await run_worker(runtime)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 3, "channel": "sms", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/api/v1/alerts/{created['id']}/deliveries", params=params,
                                 headers=auth(sender))).json()  # fmt: skip
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(item["resident_ref"] for item in seen) == [f"page-{n}" for n in range(7)]
    assert {item["channel"] for item in seen} == {"sms"}
    bad = await client.get(f"/api/v1/alerts/{created['id']}/deliveries", params={"state": "bogus"},
                           headers=auth(sender))  # fmt: skip
    assert bad.status_code == 422


async def test_preview_counts_per_channel(client: httpx.AsyncClient, runtime: Runtime, sender: str) -> None:
    await add_resident(runtime.sessions, *INSIDE, sms="+15145551301", email="a@example.org")
    await add_resident(runtime.sessions, *EDGE, sms="+15145551302", opted_out=True)
    await add_resident(runtime.sessions, *OUTSIDE, sms="+15145551303")
    response = await client.post(
        "/api/v1/targeting/preview", json={"areaDesc": "square", "polygon": [SQUARE]}, headers=auth(sender)
    )
    assert response.json() == {"residents": 2, "contacts": {"sms": 1, "email": 1, "push": 0}}
    bad = await client.post("/api/v1/targeting/preview", json={"areaDesc": "x", "polygon": ["1,2 3,4"]},
                            headers=auth(sender))  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"][:2] == ["body", "polygon"]

"""Overdue receipts, on SQLite and PostgreSQL: a delivery ``sent`` longer than ``ALERTSVC_RECEIPT_OVERDUE_SECONDS``
ago with no final receipt is counted in the alert's ``receipts_overdue`` and the ``alertsvc_receipts_overdue``
metric, so a provider that stops calling back is visible; fresh sends and final deliveries are not counted."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import update

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.store.models import Alert, Delivery
from tests.conftest import KeyMaker, auth
from tests.tracking.test_receipt_batches import sent_deliveries


def gauge(channel: str) -> float | None:
    return REGISTRY.get_sample_value("alertsvc_receipts_overdue", {"channel": channel})


async def test_sent_without_a_final_receipt_past_the_setting_is_counted(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    rows = await sent_deliveries(runtime, 4)
    overdue_after = timedelta(seconds=runtime.settings.receipt_overdue_seconds)
    now = utcnow()
    (stuck, stuck_too, fresh, final) = rows.values()
    async with runtime.sessions() as session, session.begin():
        alert_id = (await session.get(Delivery, stuck)).alert_id  # type: ignore[union-attr]
        await session.execute(update(Alert).where(Alert.id == alert_id).values(first_sent_at=now - 2 * overdue_after))
        long_ago = now - overdue_after - timedelta(seconds=5)
        await session.execute(
            update(Delivery).where(Delivery.id.in_([stuck, stuck_too, final])).values(sent_at=long_ago)
        )
        await session.execute(update(Delivery).where(Delivery.id == final).values(state="delivered", final_at=now))
        await session.execute(update(Delivery).where(Delivery.id == fresh).values(sent_at=now - overdue_after / 2))
    key = await make_key("alerts:read", "metrics:read")
    shown = (await client.get(f"/api/v1/alerts/{alert_id}", headers=auth(key))).json()
    assert shown["stats"]["sms"] == {"sent": 3, "delivered": 1}
    assert shown["receipts_overdue"] == 2
    assert (await client.get("/metrics", headers=auth(key))).status_code == 200
    assert gauge("sms") == 2
    assert gauge("email") == 0

    # The provider calls back: nothing is overdue any more.
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(Delivery).where(Delivery.id.in_([stuck, stuck_too])).values(state="delivered"))
    shown = (await client.get(f"/api/v1/alerts/{alert_id}", headers=auth(key))).json()
    assert shown["receipts_overdue"] == 0
    await client.get("/metrics", headers=auth(key))
    assert gauge("sms") == 0

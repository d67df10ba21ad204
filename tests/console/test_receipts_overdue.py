"""Provider-side slowness on the alert's live page (issue 19): deliveries still ``sent`` longer than
``ALERTSVC_RECEIPT_OVERDUE_SECONDS`` with no final receipt are counted in the live JSON and said on the page."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.store.models import Delivery
from tests.console.helpers import compose, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker


async def test_the_live_view_counts_sent_messages_the_provider_never_reported_on(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    for n in range(3):
        await add_resident(runtime.sessions, 45.5, -72.5 - n / 10, sms=f"+1514555080{n}", test_recipient=True)
    path = (await compose(dispatcher)).headers["location"]
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 303
    await run_worker(runtime)
    alert_id = path.rsplit("/", 1)[1]

    fresh = (await dispatcher.get(f"{path}/live.json")).json()
    assert fresh["receipts_overdue"] == 0  # sent just now: not overdue yet
    assert fresh["receipts_overdue_after_s"] == runtime.settings.receipt_overdue_seconds
    assert 'id="receipts-overdue"' not in (await dispatcher.get(path)).text

    overdue_at = utcnow() - timedelta(seconds=runtime.settings.receipt_overdue_seconds + 60)
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Delivery).where(Delivery.alert_id == alert_id, Delivery.state == "sent").values(sent_at=overdue_at)
        )
        first = select(func.min(Delivery.id)).where(Delivery.alert_id == alert_id).scalar_subquery()
        await session.execute(  # one of them got its final receipt: not overdue
            update(Delivery).where(Delivery.id == first).values(state="delivered")
        )
    async with runtime.sessions() as session:
        sent = await session.scalar(
            select(func.count()).where(Delivery.alert_id == alert_id, Delivery.sent_at == overdue_at)
        )
    assert sent == 3

    live = (await dispatcher.get(f"{path}/live.json")).json()
    assert live["receipts_overdue"] == 2
    page = (await dispatcher.get(path)).text
    warning = page.split('id="receipts-overdue"', 1)[1].split("</p>", 1)[0]
    assert "2 messages sent with no delivery report from the provider after 15 min" in warning
    french = (await dispatcher.get(f"{path}?lang=fr")).text
    assert "2 messages envoyés sans rapport de remise du fournisseur après 15 min" in french
    await dispatcher.get(f"{path}?lang=en")

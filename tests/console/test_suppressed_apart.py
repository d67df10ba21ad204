"""Suppressed deliveries are shown apart with their reasons and counts, and are not "done" (issue 20: the progress bar
of an alert with opted-out residents started at 32 % before anything was sent)."""

from __future__ import annotations

import re

import httpx

from alertsvc.runtime import Runtime
from alertsvc.tracking.live import channel_progress, snapshot
from tests.console.helpers import compose, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker


def test_suppressed_deliveries_are_neither_in_the_total_nor_done() -> None:
    (sms,) = channel_progress({"sms": {"queued": 17, "suppressed": 8}})
    assert (sms.total, sms.done, sms.percent, sms.suppressed) == (17, 0, 0, 8)
    (sms,) = channel_progress({"sms": {"sent": 10, "delivered": 5, "failed": 2, "suppressed": 8}})
    assert (sms.total, sms.done, sms.percent) == (17, 17, 100)


async def test_the_alert_and_its_report_show_why_deliveries_were_suppressed(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550701", test_recipient=True)
    await add_resident(runtime.sessions, 45.5, -72.6, sms="+15145550702", test_recipient=True, opted_out=True)
    await add_resident(runtime.sessions, 45.5, -72.7, sms="+15145550703", test_recipient=True, opted_out=True)
    await add_resident(runtime.sessions, 45.6, -72.5, sms="+15145550704", test_recipient=True, categories="Met")
    path = (await compose(dispatcher)).headers["location"]
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 303
    await run_worker(runtime)

    async with runtime.sessions() as session:
        live = await snapshot(session, path.rsplit("/", 1)[1])
    assert live is not None
    assert (live["total"], live["done"], live["percent"], live["suppressed"]) == (1, 1, 100, 3)
    assert live["time_to_warn"]["done_100"] is not None

    page = (await dispatcher.get(path)).text
    assert 'id="total-all">1<' in page
    suppressed = page.split('id="suppressed"', 1)[1].split("</div>", 1)[0]
    assert "3 deliveries not sent on purpose" in suppressed
    reasons = dict(re.findall(r'data-reason="([^"]+)"><td>[^<]+</td><td>(\d+)<', suppressed))
    assert reasons == {"opted out": "2", "preferences": "1"}
    assert "the resident&#39;s preferences (category or minimum severity)" in suppressed

    french = (await dispatcher.get(f"{path}?lang=fr")).text
    assert "désabonné" in french and "3 envois volontairement non effectués" in french
    await dispatcher.get(f"{path}?lang=en")

    report = (await dispatcher.get(f"{path}/report")).text
    table = report.split('id="report-suppressed"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'data-reason="([^"]+)"><th scope="row">[^<]+</th><td class="num">(\d+)<', table) == [
        ("opted out", "2"),
        ("preferences", "1"),
    ]

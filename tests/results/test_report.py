"""The after-action report of a real fan-out: its CSV counts, its page in English and French, and staff only."""

from __future__ import annotations

import csv
import io
from collections import Counter

import httpx
from sqlalchemy import select

from alertsvc.runtime import Runtime
from alertsvc.store.models import Delivery, Resident
from alertsvc.tracking.acks import Answer
from alertsvc.tracking.answers import acknowledge
from tests.console.helpers import compose, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker

INSIDE = (45.5, -72.5)
FORMULA_REF = "=HYPERLINK(\"http://x.example\")"


async def _sent_alert(dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime) -> str:
    """A Severe Exercise, approved and fanned out to four test recipients: two SMS that go (one French), one
    e-mail the sandbox bounces (550: undeliverable), one SMS to an invalid number; one resident asks for help."""
    helper = await add_resident(runtime.sessions, *INSIDE, ref="helpme-1", language="fr", sms="+15145550501",
                                test_recipient=True)
    await add_resident(runtime.sessions, *INSIDE, ref=FORMULA_REF, sms="+15145550502", test_recipient=True)
    await add_resident(runtime.sessions, *INSIDE, ref="bounce-1", email="bounce@example.org", test_recipient=True)
    await add_resident(runtime.sessions, *INSIDE, ref="badnumber-1", sms="+15005550001", test_recipient=True)
    path = (await compose(dispatcher)).headers["location"]
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 303
    await run_worker(runtime)
    async with runtime.sessions() as session:
        delivery_id = await session.scalar(select(Delivery.id).where(Delivery.resident_id == helper.id))
    assert delivery_id is not None
    await acknowledge(runtime, delivery_id, Answer.HELP)
    return path


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_counts_after_a_real_fanout(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path = await _sent_alert(dispatcher, approver, runtime)
    response = await dispatcher.get(f"{path}/report.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.splitlines()[0] == "section,item,channel,language,state,value,detail"
    rows = _rows(response.text)

    async with runtime.sessions() as session:  # the oracle: the deliveries themselves, counted here
        stored = Counter(
            (d.channel, d.language, d.state)
            for d in await session.scalars(select(Delivery).where(Delivery.alert_id == path.rsplit("/", 1)[1]))
        )
    reported = {
        (r["channel"], r["language"], r["state"]): int(r["value"]) for r in rows if r["section"] == "deliveries"
    }
    assert reported == dict(stored)
    assert sum(reported.values()) == 4
    assert Counter(state for (_, _, state), n in reported.items() for _ in range(n)) == Counter(
        {"sent": 2, "undeliverable": 2}
    )
    by = {(r["section"], r["item"]): r["value"] for r in rows if r["section"] in {"reach", "answers"}}
    assert by[("reach", "residents")] == "4" and by[("reach", "deliveries")] == "4"
    assert by[("answers", "help")] == "1" and by[("answers", "safe")] == "0"

    non = [r for r in rows if r["section"] == "non_responders"]
    assert [r["value"] for r in non if r["item"] == "count"] == ["1"]  # reached, not answered: the formula one only
    assert [r["value"] for r in non if r["item"] == "resident"] == ["'" + FORMULA_REF]  # made harmless
    assert [r["value"] for r in rows if r["section"] == "help_requested"] == ["helpme-1"]

    failures = [r for r in rows if r["section"] == "failures"]
    assert sorted((r["channel"], r["state"], r["value"]) for r in failures) == [
        ("email", "undeliverable", "1"),
        ("sms", "undeliverable", "1"),
    ]
    timeline = [r["item"] for r in rows if r["section"] == "timeline"]
    assert timeline[:2] == ["submitted", "approved"]
    people = [r["detail"] for r in rows if r["section"] == "timeline" and r["item"] in {"submitted", "approved"}]
    assert all("@" in who and "user:" not in who for who in people), people  # by name (else e-mail), never user:N
    assert {"first_message", "last_message"} <= set(timeline)
    assert any(r["section"] == "time_to_warn" and r["item"] == "done_100" and r["value"] for r in rows)
    for row in rows:  # no cell a spreadsheet would run
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values() if cell)


async def test_report_page_in_english_and_french(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path = await _sent_alert(dispatcher, approver, runtime)
    english = await dispatcher.get(f"{path}/report?lang=en")
    assert english.status_code == 200
    assert "After-action report" in english.text and "Failures by reason" in english.text
    assert 'id="fig-non-responders">1<' in english.text and 'id="fig-help">1<' in english.text
    assert "helpme-1" in english.text and "<svg" in english.text and "<title id=\"chart-title\">" in english.text
    assert "/static/console/results.css" in english.text and f"{path}/report.csv" in english.text
    french = await dispatcher.get(f"{path}/report?lang=fr")
    assert french.status_code == 200
    assert "Rapport après l’alerte" in french.text and "Échecs par motif" in french.text
    assert "After-action report" not in french.text


async def test_chart_fragment_counts_sent_per_minute(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path = await _sent_alert(dispatcher, approver, runtime)
    fragment = await dispatcher.get(f"{path}/chart")
    assert fragment.status_code == 200 and "<svg" in fragment.text and "<desc" in fragment.text
    cells = fragment.text.split("<tbody>", 1)[1]
    # sent: the two SMS that went (the sandbox takes them at once; undeliverable ones never left), answered: one
    sent = sum(int(c.split("<td>")[1].split("</td>")[0]) for c in cells.split("<tr>")[1:])
    answered = sum(int(c.split("<td>")[3].split("</td>")[0]) for c in cells.split("<tr>")[1:])
    assert (sent, answered) == (2, 1)


async def test_staff_only_and_unknown_alert(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    path = await _sent_alert(dispatcher, approver, runtime)
    for suffix in ("/report", "/report.csv", "/chart"):
        anonymous = await client.get(f"{path}{suffix}")
        assert anonymous.status_code in (303, 401), suffix
        assert "helpme-1" not in anonymous.text
        assert anonymous.status_code == 401 or "/console/login" in anonymous.headers["location"]
    missing = await dispatcher.get("/console/alerts/00000000-0000-0000-0000-000000000000/report.csv")
    assert missing.status_code == 404
    async with runtime.sessions() as session:
        assert await session.scalar(select(Resident.id).where(Resident.ref == "helpme-1")) is not None


async def test_live_view_links_the_chart_and_the_report(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path = await _sent_alert(dispatcher, approver, runtime)
    page = (await dispatcher.get(path)).text
    assert f'data-chart-url="{path}/chart"' in page and f'href="{path}/report"' in page
    assert '<script src="/static/console/results.js">' in page and "<script>" not in page
    script = await dispatcher.get("/static/console/results.js")
    assert script.status_code == 200 and "alert:counts" in script.text
    assert "alert:counts" in (await dispatcher.get("/static/console/live.js")).text

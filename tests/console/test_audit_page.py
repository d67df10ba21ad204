"""The audit page as an admin reads it (issue 20): one line per event with who by name, what in words (in the page's
language), which alert by its headline, when; filters by person, kind of event, alert and dates; a CSV export whose
cells a spreadsheet never runs as formulas."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from alertsvc.runtime import Runtime
from alertsvc.security.scopes import Role
from alertsvc.security.users import create_user
from alertsvc.web.console.audit_view import csv_safe
from tests.console.helpers import PASSWORD, compose, login, post_form

HOSTILE = '=HYPERLINK("http://evil.example","x")'


async def _named(runtime: Runtime, role: str, name: str) -> httpx.AsyncClient:
    from alertsvc.app import create_app

    email = f"{role}-{uuid.uuid4().hex[:6]}@city.example"
    async with runtime.sessions() as session, session.begin():
        await create_user(session, email, Role(role), PASSWORD, actor="test", display_name=name)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://testserver"
    )
    assert (await login(client, email)).status_code == 303
    return client


def _body(page: str) -> str:
    """The table of events alone (the filter form lists principals as option values)."""
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""


async def test_the_audit_log_reads_in_words_filters_and_exports_safe_csv(runtime: Runtime) -> None:
    dispatcher = await _named(runtime, "dispatcher", "Dana Dispatch")
    approver = await _named(runtime, "approver", "Avery Approve")
    admin = await _named(runtime, "admin", "Ada Admin")
    try:
        path = (await compose(dispatcher, info0_headline=HOSTILE)).headers["location"]
        alert_id = path.rsplit("/", 1)[1]
        assert (await post_form(approver, path, f"{path}/reject", reason="-2+3 wrong street")).status_code == 303

        page = (await admin.get("/console/audit")).text
        rows = _body(page)
        assert "Dana Dispatch" in rows and "Avery Approve" in rows and "Ada Admin" in rows
        assert "submitted the alert" in rows and "rejected the alert" in rows and "signed in" in rows
        assert f'<a href="/console/alerts/{alert_id}">' in rows
        assert not re.search(r"user:\d", rows) and "{&#34;" not in rows and '{"' not in rows  # no ids, no JSON
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" data-local>', rows)

        french = _body((await admin.get("/console/audit?lang=fr")).text)
        assert "a soumis l’alerte" in french and "a refusé l’alerte" in french and "en attente" in french
        await admin.get("/console/audit?lang=en")

        dana = re.search(r'<option value="(user:\d+)"[^>]*>Dana Dispatch<', page)
        assert dana
        only_dana = _body((await admin.get("/console/audit", params={"actor": dana.group(1)})).text)
        assert "Dana Dispatch" in only_dana and "Avery Approve" not in only_dana and "Ada Admin" not in only_dana

        alerts_only = _body((await admin.get("/console/audit", params={"kind": "alert."})).text)
        assert "rejected the alert" in alerts_only and "signed in" not in alerts_only
        rejections = _body((await admin.get("/console/audit", params={"kind": "alert.reject"})).text)
        assert "rejected the alert" in rejections and "submitted the alert" not in rejections
        this_alert = _body((await admin.get("/console/audit", params={"alert": alert_id})).text)
        assert this_alert.count("<tr") == 2
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        today = datetime.now(UTC).date().isoformat()
        assert "<tr" not in _body((await admin.get("/console/audit", params={"until": yesterday})).text)
        todays = (await admin.get("/console/audit", params={"since": today, "until": today})).text
        assert _body(todays).count("<tr") >= 5

        exported = await admin.get("/console/audit.csv", params={"alert": alert_id})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(exported.text)))
        assert table[0][:6] == ["id", "at_utc", "who", "who_principal", "action", "what"]
        by_action = {row[4]: row for row in table[1:]}
        assert set(by_action) == {"alert.submit", "alert.reject"}
        assert by_action["alert.submit"][2] == "Dana Dispatch"
        assert by_action["alert.submit"][8] == "'" + HOSTILE, "a headline that starts like a formula stays text"
        assert by_action["alert.reject"][9].startswith("reason=-2+3") or "'" in by_action["alert.reject"][9][:1]
        assert all(not cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
        assert (await dispatcher.get("/console/audit.csv")).status_code == 403
    finally:
        for client in (dispatcher, approver, admin):
            await client.aclose()


def test_cells_that_start_like_formulas_are_quoted() -> None:
    assert [csv_safe(v) for v in ("=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "plain", None, 3)] == [
        "'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\t=1", "plain", "", "3",
    ]  # fmt: skip


async def test_bad_filters_are_refused_or_ignored_never_a_500(runtime: Runtime, admin: httpx.AsyncClient) -> None:
    assert (await admin.get("/console/audit", params={"since": "not-a-date", "kind": "nope"})).status_code == 200
    assert (await admin.get("/console/audit", params={"actor": "x" * 500})).status_code == 422
    assert (await admin.get("/console/audit", params={"before": str(2**70)})).status_code == 422

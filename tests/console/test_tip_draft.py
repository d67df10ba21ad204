"""A dispatcher starts a draft alert from a tip (issue 22): a POST from the tips page (CSRF-checked), audited as
``tip.draft``, opens the compose page with the tip's neighbourhood as the area and nothing else, and stores no
alert (a tip never becomes an alert by itself); the audit page says tip replies, blocks and drafts in words, in
English and French (meeting cancels: tests/console/test_community_pages.py)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from alertsvc.community.tips import submit_web_tip
from alertsvc.runtime import Runtime
from alertsvc.store.models import Alert, AuditEvent
from tests.console.helpers import csrf_of

SECRET = "the man at 12 Mill Road sells stolen bikes"


def _rows(page: str) -> str:
    """The audit page's table of events alone (its filter form lists the action codes as option values)."""
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


async def test_a_draft_from_a_tip_is_prefilled_audited_and_never_sent(
    runtime: Runtime, dispatcher: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    alias = await submit_web_tip(runtime, text=SECRET, zone="old mill", contact="+15145557700", language="fr")
    page = await dispatcher.get("/console/tips")
    found = re.search(r'action="/console/tips/(\d+)/draft"', page.text)
    assert found and "Start a draft alert" in page.text
    tip_id = found.group(1)
    forged = await dispatcher.post(f"/console/tips/{tip_id}/draft", data={"csrf_token": "forged"})
    assert forged.status_code == 403

    started = await dispatcher.post(f"/console/tips/{tip_id}/draft", data={"csrf_token": csrf_of(page.text)})
    assert started.status_code == 303 and started.headers["location"] == f"/console/alerts/new?tip={tip_id}"
    compose = await dispatcher.get(started.headers["location"])
    assert compose.status_code == 200
    assert 'name="zones" value="Old Mill" checked' in compose.text  # the tip's neighbourhood, by its own name
    assert 'id="area_desc" name="area_desc" value="Old Mill"' in compose.text
    assert SECRET not in compose.text and "+1514555" not in compose.text  # the tip's words stay in the tips page
    assert (await dispatcher.get("/console/alerts/new?tip=999999")).status_code == 404

    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Alert)) == 0  # nothing was stored or sent
        [event] = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "tip.draft")))
    assert event.subject_id == tip_id and event.detail == {"alias": alias, "zone": "Old Mill"}

    token = csrf_of(page.text)
    replied = await dispatcher.post(f"/console/tips/{tip_id}/reply", data={"text": "Thank you", "csrf_token": token})
    assert replied.status_code == 303
    admin_token = csrf_of((await admin.get("/console/tips")).text)
    assert (await admin.post(f"/console/tips/{tip_id}/block", data={"csrf_token": admin_token})).status_code == 303

    english = _rows((await admin.get("/console/audit?kind=tip")).text)
    for words in ("started a draft alert from an anonymous tip", "replied to an anonymous tip",
                  "blocked an anonymous tipster"):  # fmt: skip
        assert words in english, words
    assert alias in english and "tip.draft" not in english  # words, not codes
    french_page = (await admin.get("/console/audit?kind=tip&lang=fr")).text
    french = _rows(french_page)
    assert "a commencé un brouillon d’alerte à partir d’un signalement anonyme" in french
    assert "a répondu à un signalement anonyme" in french and "Signalements anonymes" in french_page

"""The need-help list a dispatcher acts on: each resident who answered "need help" with their reference, contact
(staff roles only), language, place, time and reply; a CSV that no spreadsheet runs as formulas; "handled" marks
with who and when, audited, and a resident who asks again after being handled back at the top."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import ROLE_SCOPES, Role, Scope
from alertsvc.security.users import create_user
from alertsvc.store.db import transaction
from alertsvc.store.models import AuditEvent, Delivery, Resident, User
from alertsvc.tracking.acks import Answer
from alertsvc.tracking.answers import acknowledge
from alertsvc.tracking.help_requests import help_requests, mark_handled
from alertsvc.tracking.replies import record_reply
from tests.console.helpers import compose, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker

FORMULA_REF = '=HYPERLINK("http://x.example","call")'


async def _answer(runtime: Runtime, alert_id: str, resident: Resident, answer: Answer = Answer.HELP) -> None:
    async with runtime.sessions() as session:
        delivery_id = await session.scalar(
            select(Delivery.id).where(Delivery.alert_id == alert_id, Delivery.resident_id == resident.id).limit(1)
        )
    assert delivery_id is not None
    await acknowledge(runtime, delivery_id, answer)


async def _sent(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> tuple[str, dict[str, Resident]]:
    """An Exercise sent to four test recipients; three ask for help (one writes back, one is in a zone), one is safe."""
    people = {
        "fr": await add_resident(runtime.sessions, 45.51234, -72.54321, ref="marie-1", language="fr",
                                 sms="+15145550701", email="marie@example.org", test_recipient=True),
        "formula": await add_resident(runtime.sessions, 45.5, -72.5, ref=FORMULA_REF, sms="+15145550702",
                                      test_recipient=True),
        "zone": await add_resident(runtime.sessions, 45.5, -72.5, ref="zoned-1", language="es", zone="Old Port",
                                   email="zoned@example.org", test_recipient=True),
        "safe": await add_resident(runtime.sessions, 45.5, -72.5, ref="safe-1", sms="+15145550704",
                                   test_recipient=True),
    }  # fmt: skip
    path = (await compose(dispatcher)).headers["location"]
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 303
    await run_worker(runtime)
    alert_id = path.rsplit("/", 1)[1]
    for key in ("fr", "formula", "zone"):
        await _answer(runtime, alert_id, people[key])
    await _answer(runtime, alert_id, people["safe"], Answer.SAFE)
    async with runtime.sessions() as session:
        contact_id = await session.scalar(select(Delivery.contact_id).where(Delivery.resident_id == people["fr"].id))
    assert contact_id is not None
    async with transaction(runtime.sessions) as session:
        await record_reply(
            session, alert_id, contact_id, "sms", "Ma mère est au 3e étage, elle ne marche pas", utcnow()
        )
    return path, people


async def _audit(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def test_the_list_shows_what_a_dispatcher_acts_on_and_marks_who_handled_it(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path, people = await _sent(dispatcher, approver, runtime)
    page = (await dispatcher.get(path)).text
    assert 'id="need-help"' in page and "2 waiting" not in page and "3 waiting" in page
    assert '<a href="#need-help">Asked for help</a>' in page  # the count in the live figures leads to the list
    assert 'href="tel:+15145550701"' in page and 'href="mailto:marie@example.org"' in page
    assert "45.51234, -72.54321" in page and "Zone Old Port" in page
    assert '<span lang="fr">fr</span>' in page and '<span lang="es">es</span>' in page
    assert "Ma mère est au 3e étage, elle ne marche pas" in page
    assert "safe-1" not in page.split('id="need-help"', 1)[1].split("</section>", 1)[0]
    assert page.count("Mark handled") == 3

    marie = people["fr"].id
    marked = await post_form(dispatcher, path, f"{path}/help/{marie}/handled")
    assert marked.status_code == 303 and marked.headers["location"] == f"{path}#need-help"
    async with runtime.sessions() as session:
        me = await session.scalar(select(User).where(User.role == "dispatcher"))
    assert me is not None
    page = (await dispatcher.get(path)).text
    assert f"Handled by {me.email} at " in page and "2 waiting" in page and page.count("Mark handled") == 2
    [event] = await _audit(runtime, "help.handled")
    assert event.actor == f"user:{me.id}" and event.subject_id == path.rsplit("/", 1)[1]
    assert event.detail == {"resident_ref": "marie-1"}

    # She answers again later: the mark stays, but she is waiting again, at the top, "asked again".
    async with runtime.sessions() as session:
        delivery_id = await session.scalar(select(Delivery.id).where(Delivery.resident_id == marie).limit(1))
    assert delivery_id is not None
    found = await help_requests(runtime, path.rsplit("/", 1)[1], Principal("user:0", ROLE_SCOPES[Role.DISPATCHER]))
    assert [r.resident_ref for r in found][-1] == "marie-1" and found[-1].handled
    await acknowledge(runtime, delivery_id, Answer.HELP)
    page = (await dispatcher.get(path)).text
    assert "Asked again" in page and "3 waiting" in page

    reopened = await post_form(dispatcher, f"{path}/help", f"{path}/help/{people['zone'].id}/reopen", back="list")
    assert reopened.status_code == 303 and reopened.headers["location"] == f"{path}/help"
    assert [e.detail for e in await _audit(runtime, "help.reopened")] == [{"resident_ref": "zoned-1"}]


async def test_a_resident_who_did_not_ask_for_help_cannot_be_marked(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path, people = await _sent(dispatcher, approver, runtime)
    for resident_id in (people["safe"].id, 999_999):
        refused = await post_form(dispatcher, path, f"{path}/help/{resident_id}/handled")
        assert refused.status_code == 404 and "No request for help" in refused.text
    assert (await post_form(dispatcher, path, "/console/alerts/nope/help/1/handled")).status_code == 404
    assert await _audit(runtime, "help.handled") == []


async def test_the_csv_is_formula_safe_and_carries_the_same_rows(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path, _ = await _sent(dispatcher, approver, runtime)
    response = await dispatcher.get(f"{path}/help.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_ref = {row["resident_ref"]: row for row in rows}
    assert set(by_ref) == {"marie-1", "'" + FORMULA_REF, "zoned-1"}
    assert by_ref["marie-1"]["phone"] == "'+15145550701" and by_ref["marie-1"]["email"] == "marie@example.org"
    assert by_ref["marie-1"]["replies"].startswith("Ma mère") and by_ref["zoned-1"]["zone"] == "Old Port"
    assert all(row["status"] == "waiting" for row in rows)
    for row in rows:  # numbers stay numbers (a longitude is negative); every text cell is safe
        for name, cell in row.items():
            assert name in {"lat", "lon"} or not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert by_ref["marie-1"]["lon"] == "-72.54321"


async def test_contacts_are_shown_only_to_staff_who_may_read_residents(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path, _ = await _sent(dispatcher, approver, runtime)
    alert_id = path.rsplit("/", 1)[1]
    outsider = Principal("key:feed", frozenset({Scope.ALERTS_READ}))
    hidden = await help_requests(runtime, alert_id, outsider)
    assert len(hidden) == 3 and all(r.contacts is None for r in hidden)
    staff = await help_requests(runtime, alert_id, Principal("user:0", ROLE_SCOPES[Role.DISPATCHER]))
    assert {c for r in staff for c in r.contacts or ()} >= {("sms", "+15145550701"), ("email", "zoned@example.org")}


@pytest.mark.parametrize("display_name", ["Dana Dispatch"])
async def test_handled_by_names_the_person(
    display_name: str, dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    path, people = await _sent(dispatcher, approver, runtime)
    async with runtime.sessions() as session, session.begin():
        await create_user(session, "dana@city.example", Role.DISPATCHER, "a long enough password", "test",
                          display_name=display_name)  # fmt: skip
    async with runtime.sessions() as session:
        dana = await session.scalar(select(User).where(User.email == "dana@city.example"))
    assert dana is not None
    alert_id = path.rsplit("/", 1)[1]
    before = utcnow()
    await mark_handled(runtime, alert_id, people["zone"].id, Principal(f"user:{dana.id}", ROLE_SCOPES[Role.DISPATCHER]))
    [mark] = [r for r in await help_requests(runtime, alert_id, Principal("user:0", frozenset())) if r.handled]
    assert mark.handled_by == display_name and mark.handled_at is not None
    assert before - timedelta(seconds=1) <= mark.handled_at <= utcnow()
    page = (await dispatcher.get(f"{path}/help")).text
    assert f"Handled by {display_name} at " in page and "Not shown to your role" not in page

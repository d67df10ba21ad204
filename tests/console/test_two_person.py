"""The two-person rule: the author of an alert never approves it, whatever their role, and an approver's (or an
admin's) own Actual alert waits for another approver; ALERTSVC_APPROVAL_WAIVED_CATEGORIES waives it per category,
and every use of a waiver is in the audit log. API keys keep the contract: ``alerts:send`` sends at once."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from alertsvc.alerts import service
from alertsvc.cap import parse_cap_json
from alertsvc.runtime import Runtime
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.settings import Settings
from alertsvc.store.models import Alert, AuditEvent
from tests.conftest import KeyMaker, auth, make_settings
from tests.console.helpers import compose, post_form, signed_in
from tests.factories import cap_alert

WAIVED = "Met"


@pytest.fixture
def settings(tmp_path, database_url: str, clean_redis: str) -> Settings:  # type: ignore[no-untyped-def]
    """The default approval policy (only Actual needs an approver), with the two-person rule waived for Met."""
    return make_settings(tmp_path, database_url, clean_redis, approval_waived_categories=[WAIVED])


async def _actual(client: httpx.AsyncClient, category: str = "Safety") -> str:
    """Compose an Actual alert over the empty test square (it reaches 0 residents, typed to confirm)."""
    created = await compose(client, status="Actual", category=category, confirm_residents="0")
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


async def _alert(runtime: Runtime, path: str) -> Alert:
    async with runtime.sessions() as session:
        found = await session.get(Alert, path.rsplit("/", 1)[1])
    assert found is not None
    return found


async def _submit_audit(runtime: Runtime, path: str) -> dict[str, object]:
    alert_id = path.rsplit("/", 1)[1]
    async with runtime.sessions() as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.subject_id == alert_id, AuditEvent.action == "alert.submit")
        )
    assert event is not None
    return dict(event.detail)


async def test_an_approvers_own_actual_alert_waits_for_another_approver(
    runtime: Runtime, approver: httpx.AsyncClient
) -> None:
    path = await _actual(approver)
    assert (await _alert(runtime, path)).state == "pending_approval"
    page = await approver.get(path)
    assert "approve-button" not in page.text and "second person" in page.text
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 409
    other, _ = await signed_in(runtime, "approver")
    try:
        assert "approve-button" in (await other.get(path)).text
        assert (await post_form(other, path, f"{path}/approve", confirm_residents="0")).status_code == 303
    finally:
        await other.aclose()
    assert (await _alert(runtime, path)).state in {"approved", "dispatching", "sent"}
    assert "approval" not in await _submit_audit(runtime, path)


async def test_an_admin_never_approves_their_own_alert(runtime: Runtime, admin: httpx.AsyncClient) -> None:
    path = await _actual(admin)
    assert (await _alert(runtime, path)).state == "pending_approval"
    assert "approve-button" not in (await admin.get(path)).text
    refused = await post_form(admin, path, f"{path}/approve")
    assert refused.status_code == 409 and "someone other than its author" in refused.text
    assert (await _alert(runtime, path)).state == "pending_approval"


async def test_drills_and_tests_of_an_approver_go_at_once(runtime: Runtime, approver: httpx.AsyncClient) -> None:
    created = await compose(approver, status="Exercise")
    assert (await _alert(runtime, created.headers["location"])).state in {"approved", "dispatching", "sent"}


async def test_a_waived_category_lets_an_approver_send_alone_and_says_so_in_the_audit(
    runtime: Runtime, approver: httpx.AsyncClient, dispatcher: httpx.AsyncClient
) -> None:
    path = await _actual(approver, category=WAIVED)
    assert (await _alert(runtime, path)).state in {"approved", "dispatching", "sent"}
    assert await _submit_audit(runtime, path) == {
        "state": "approved",
        "status": "Actual",
        "msg_type": "Alert",
        "identifier": (await _alert(runtime, path)).identifier,
        "approval": "two-person rule waived by policy",
        "categories": WAIVED,
    }
    # The waiver is the two-person rule's, for those who may approve: a dispatcher's Met alert still waits.
    dispatched = await _actual(dispatcher, category=WAIVED)
    assert (await _alert(runtime, dispatched)).state == "pending_approval"


async def test_the_api_keeps_its_contract_and_approves_a_persons_waiting_alert(
    runtime: Runtime, client: httpx.AsyncClient, make_key: KeyMaker, approver: httpx.AsyncClient
) -> None:
    sender = await make_key("alerts:send", "alerts:read")
    sent = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(sender))
    assert sent.status_code == 201 and sent.json()["state"] in {"approved", "dispatching", "sent"}
    path = await _actual(approver)
    alert_id = path.rsplit("/", 1)[1]
    waiting = await client.get(f"/api/v1/alerts/{alert_id}", headers=auth(sender))
    assert waiting.json()["state"] == "pending_approval"
    approved = await client.post(f"/api/v1/alerts/{alert_id}/approve", headers=auth(sender))
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] in {"approved", "dispatching", "sent"}


async def test_an_author_with_every_scope_does_not_approve_their_own_alert(runtime: Runtime) -> None:
    """Whoever the principal (a key, a user), the author is not the second person, even with ``admin``."""
    for name in ("key:ops", "user:999"):
        async with runtime.sessions() as session, session.begin():
            writer = Principal(name, frozenset({Scope.ALERTS_WRITE}))
            submission = await service.submit(session, parse_cap_json(cap_alert()), writer)
        assert submission.alert.state == "pending_approval"
        with pytest.raises(service.LifecycleError):
            async with runtime.sessions() as session, session.begin():
                await service.approve(session, submission.alert.id, Principal(name, frozenset(Scope)))

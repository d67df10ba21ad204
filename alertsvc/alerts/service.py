"""Accepting, approving, rejecting and cancelling alerts: the rules of the lifecycle, in one place.

These are the building blocks inside one transaction (they take the session and never commit); the API and the
console reach them through :mod:`alertsvc.alerts.commands`, which commits and then enqueues. None of them talks
to Redis. A function that makes an alert ready to send returns it in state ``approved`` and the command enqueues
the fan-out *after* the transaction commits (:func:`alertsvc.jobs.enqueue_fanout`), so a job can never run against
an uncommitted row. If the enqueue is lost, the sweeper finds approved alerts with no fan-out and enqueues them
again. Who an alert is sent to is :mod:`alertsvc.alerts.sending_rules`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.alerts import approval
from alertsvc.alerts.all_clear import AllClear, AllClearInput, all_clear_texts
from alertsvc.alerts.sending_rules import is_broadcast, latest_expiry
from alertsvc.alerts.states import AlertState, move
from alertsvc.cap import Alert as CapAlert
from alertsvc.cap import alert_to_json, parse_cap_json
from alertsvc.clock import utcnow
from alertsvc.errors import Conflict, Forbidden, NotFound
from alertsvc.security.audit import record
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.store.models import Alert
from alertsvc.webhooks.events import ALERT_STATE, emit


class AlertNotFound(NotFound):
    """No alert with that id (``alert_id``)."""

    def __init__(self, alert_id: str) -> None:
        super().__init__("no alert with that id")
        self.alert_id = alert_id


class LifecycleError(Conflict, ValueError):
    """The alert is not in a state that allows this action; ``str()`` says why."""


class ActionForbidden(Forbidden):
    """The principal may not take this action on alerts (approving and rejecting need ``alerts:send``)."""


@dataclass(frozen=True, slots=True)
class Submission:
    """The outcome of a submission: the stored alert, and whether this call created it."""

    alert: Alert
    created: bool

    @property
    def needs_dispatch(self) -> bool:
        return self.created and self.alert.state == AlertState.APPROVED


def initial_state(cap: CapAlert, principal: Principal, now: datetime, approval_waived: bool = False) -> AlertState:
    """Where a new alert starts: stored only, expired already, waiting for approval, or approved to send."""
    if not is_broadcast(cap):
        return AlertState.DRAFT
    expiry = latest_expiry(cap)
    if expiry is not None and expiry <= now:
        return AlertState.EXPIRED
    if approval.sends_at_once(cap, principal, approval_waived):
        return AlertState.APPROVED
    return AlertState.PENDING_APPROVAL


async def get_alert(session: AsyncSession, alert_id: str) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


async def find_existing(
    session: AsyncSession,
    cap: CapAlert,
    principal: Principal,
    idempotency_key: str | None,
    sent_text: str | None = None,
) -> Alert | None:
    """The alert this submission repeats, by Idempotency-Key or by CAP's (sender, identifier, sent): one read for
    both (each side is an index), the Idempotency-Key's alert first when they differ. ``sent_text`` is the CAP
    ``sent`` as stored, when the caller has it already."""
    if sent_text is None:
        sent_text = str(alert_to_json(cap)["sent"])
    by_cap = and_(Alert.sender == cap.sender, Alert.identifier == cap.identifier, Alert.sent_text == sent_text)
    if not idempotency_key:
        return await session.scalar(select(Alert).where(by_cap))
    by_key = and_(Alert.submitted_by == principal.name, Alert.idempotency_key == idempotency_key)
    found = list(await session.scalars(select(Alert).where(or_(by_key, by_cap)).limit(2)))
    keyed = [
        alert for alert in found if alert.submitted_by == principal.name and alert.idempotency_key == idempotency_key
    ]
    return keyed[0] if keyed else (found[0] if found else None)


async def submit(
    session: AsyncSession,
    cap: CapAlert,
    principal: Principal,
    idempotency_key: str | None = None,
    approval_waived: bool = False,
) -> Submission:
    """Store a validated CAP alert, or return the one it repeats. The caller commits, then dispatches.

    A concurrent duplicate that wins the race surfaces as a unique-constraint violation; the savepoint lets us
    answer with the winner's row instead of an error.
    """
    document = alert_to_json(cap)
    sent_text = str(document["sent"])
    existing = await find_existing(session, cap, principal, idempotency_key, sent_text)
    if existing is not None:
        return Submission(existing, created=False)
    now = utcnow()
    state = initial_state(cap, principal, now, approval_waived)
    alert = Alert(
        id=str(uuid.uuid4()),
        sender=cap.sender,
        identifier=cap.identifier,
        sent_text=sent_text,
        sent_at=cap.sent,
        status=str(cap.status),
        msg_type=str(cap.msg_type),
        state=state.value,
        headline=next((info.headline for info in cap.info if info.headline), None),
        expires_at=latest_expiry(cap),
        cap=document,
        submitted_by=principal.name,
        idempotency_key=idempotency_key,
        created_at=now,
        approved_at=now if state is AlertState.APPROVED else None,
        decided_by=principal.name if state is AlertState.APPROVED else None,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        existing = await find_existing(session, cap, principal, idempotency_key, sent_text)
        if existing is None:
            raise
        return Submission(existing, created=False)
    await emit(session, ALERT_STATE, {"alert_id": alert.id, "state": state.value, "at": now.isoformat()})
    await record(
        session,
        principal.name,
        "alert.submit",
        "alert",
        alert.id,
        {
            "state": state.value,
            "status": alert.status,
            "msg_type": alert.msg_type,
            "identifier": cap.identifier,
            **approval.waiver_note(cap, principal, approval_waived),
        },
    )
    return Submission(alert, created=True)


async def approve(session: AsyncSession, alert_id: str, principal: Principal) -> Alert:
    """Approve a pending alert for sending. Needs ``alerts:send``; the caller dispatches after commit."""
    alert = await get_alert(session, alert_id)
    if not principal.can(Scope.ALERTS_SEND):
        raise ActionForbidden("approving needs the alerts:send scope")
    if not approval.may_approve(alert.submitted_by, principal):
        raise LifecycleError("an alert must be approved by someone other than its author")
    now = utcnow()
    if not await move(session, alert_id, AlertState.APPROVED, approved_at=now, decided_by=principal.name):
        raise LifecycleError(f"alert is {alert.state}, only a pending_approval alert can be approved")
    await record(session, principal.name, "alert.approve", "alert", alert_id, {})
    await session.refresh(alert)
    return alert


async def reject(session: AsyncSession, alert_id: str, principal: Principal, reason: str) -> Alert:
    """Reject a pending alert, with the reason the author will see."""
    alert = await get_alert(session, alert_id)
    if not principal.can(Scope.ALERTS_SEND):
        raise ActionForbidden("rejecting needs the alerts:send scope")
    if not reason.strip():
        raise LifecycleError("a rejection needs a reason")
    if not await move(
        session, alert_id, AlertState.REJECTED, decided_by=principal.name, decision_reason=reason.strip()
    ):
        raise LifecycleError(f"alert is {alert.state}, only a pending_approval alert can be rejected")
    await record(session, principal.name, "alert.reject", "alert", alert_id, {"reason": reason.strip()})
    await session.refresh(alert)
    return alert


def build_cancel(original: Alert, now: datetime, texts: Sequence[AllClear] = ()) -> CapAlert:
    """A CAP Cancel that references ``original``: its infos (event, areas, language) with the all-clear's words in
    place of the original's headline, description and instruction, and ``responseType`` AllClear, so residents
    read that the warning has ended, never the original's call to action. ``texts`` is one all-clear per original
    info, in order (:func:`alertsvc.alerts.all_clear.all_clear_texts`); none given: the default all-clear."""
    document = dict(original.cap)
    infos = [dict(info) for info in document.get("info") or []]
    for info, text in zip(infos, texts or all_clear_texts(infos), strict=True):
        for name in ("headline", "description", "instruction"):
            info.pop(name, None)
            value = getattr(text, name)
            if value:
                info[name] = value
        info["responseType"] = ["AllClear"]
    document.update(
        identifier=f"{original.identifier}.cancel.{uuid.uuid4().hex[:12]}",
        sent=now.replace(microsecond=0).isoformat(),
        msgType="Cancel",
        references=f"{original.sender},{original.identifier},{original.sent_text}",
        note=f"Cancels {original.identifier}",
        info=infos,
    )
    document.pop("incidents", None)
    return parse_cap_json(document)


async def cancel(
    session: AsyncSession, alert_id: str, principal: Principal, all_clear: Sequence[AllClearInput] = ()
) -> Submission:
    """Cancel an alert: a CAP Cancel goes to the original's recipients; the original becomes ``cancelled``.

    With ``alerts:send`` the Cancel is approved at once (a correction must not wait); with ``alerts:write``
    only, it waits for approval like any other alert, and the original is cancelled when the Cancel is sent.
    ``all_clear`` is what the caller wrote per language (the languages it leaves out get the default all-clear);
    it is checked first, so a refused all-clear changes nothing, even for an alert that is only withdrawn.
    """
    original = await get_alert(session, alert_id)
    texts = all_clear_texts(original.cap.get("info") or [], all_clear)
    if original.msg_type == "Cancel":
        raise LifecycleError("a Cancel cannot itself be cancelled")
    if original.state in {AlertState.CANCELLED, AlertState.REJECTED, AlertState.EXPIRED}:
        raise LifecycleError(f"alert is {original.state} already")
    if original.state in {AlertState.PENDING_APPROVAL, AlertState.DRAFT} or original.state == AlertState.APPROVED:
        # Nothing has gone out yet: withdrawing it is enough, no Cancel message is needed.
        if original.state == AlertState.DRAFT:
            raise LifecycleError("a stored-only alert cannot be cancelled")
        await move(session, alert_id, AlertState.CANCELLED, decided_by=principal.name)
        await record(session, principal.name, "alert.withdraw", "alert", alert_id, {})
        await session.refresh(original)
        return Submission(original, created=False)
    cancel_cap = build_cancel(original, utcnow(), texts)
    submission = await submit(session, cancel_cap, principal)
    if submission.alert.state == AlertState.APPROVED:
        await move(session, alert_id, AlertState.CANCELLED, decided_by=principal.name)
    await record(session, principal.name, "alert.cancel", "alert", alert_id, {"cancel_id": submission.alert.id})
    return submission

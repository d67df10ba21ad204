"""The alert actions, one path each for the API and the console: validate, commit, then enqueue the fan-out.

:func:`submit`, :func:`approve`, :func:`reject` and :func:`cancel` each take the
:class:`~alertsvc.runtime.Runtime` (the convention is in :mod:`alertsvc.runtime`: a router opens no session) and
do the whole action:

1. **validate**: the CAP sending rules (:func:`alertsvc.alerts.sending_rules.check_targets`) before anything is
   stored, and the lifecycle rules (:mod:`alertsvc.alerts.service`) inside the transaction;
2. **commit**: one transaction of their own, rolled back when a rule refuses, so a refused action leaves no row,
   no audit entry and no webhook event behind;
3. **enqueue the fan-out** when the committed alert is ready to send (a new approved alert, an approval, the
   approved Cancel of a sent alert), after the commit, so the job never reads an uncommitted row.

An Update is a submission (a CAP ``msgType`` Update referencing what it updates, composed by the client or by the
console's update form); who receives it is a sending rule. The errors are the same whatever the caller, all from
the application's error tree (:mod:`alertsvc.errors`): :class:`~alertsvc.alerts.service.AlertNotFound` (not found),
:class:`~alertsvc.alerts.service.ActionForbidden` (forbidden), :class:`~alertsvc.alerts.service.LifecycleError`
(conflict) and, from validation, :class:`~alertsvc.cap.CapError` (invalid). Each edge maps the tree once, by kind:
the API to problems (:mod:`alertsvc.api.problems`), the console to pages (:mod:`alertsvc.web.errors`), so no router
catches them.

**Why the enqueue is here and how it reaches the queue.** Writing "commit, then enqueue" at every call site is how
six copies came about, and a copy that forgot the enqueue (or enqueued before the commit) would hold an alert
back or fan out a row that was rolled back. ``dispatch`` sits above ``alerts`` in the layers, so this module cannot
call :mod:`alertsvc.dispatch`; the enqueue needs nothing of it but the arq Redis and the job's deterministic id,
so those live in :mod:`alertsvc.jobs`, a leaf below every package, which dispatch reads too (its worker runs the
job by that name, its sweeper enqueues it again by that id). Injecting an ``enqueue`` callable from each router
was the other way; it would leave every caller one argument away from forgetting it, which is the fault this
module removes.

**When the enqueue fails** (Redis not answering) the action has already committed: the alert *is* approved. The
command logs it and returns what was committed rather than raising, because an error would be a lie the caller
acts on (an approval answered 503 and retried is refused with 409; a console user sees an error for an alert that
will go out). Nothing is lost: the sweeper (:func:`alertsvc.dispatch.sweeper._resume_fanouts`) enqueues every
approved alert left idle past ``ALERTSVC_STALL_AFTER_S``, and a fan-out enqueued twice runs once (its job id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from alertsvc.alerts import service
from alertsvc.alerts.all_clear import AllClearInput
from alertsvc.alerts.sending_rules import check_targets
from alertsvc.cap import Alert as CapAlert
from alertsvc.jobs import enqueue_fanout
from alertsvc.lanes import lane_of_document
from alertsvc.security.principal import Principal
from alertsvc.store.db import transaction
from alertsvc.store.models import Alert

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["approve", "cancel", "reject", "submit"]

log = logging.getLogger(__name__)

ENQUEUE_FAILURES: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError)
"""What an enqueue raises when Redis does not answer (redis-py's errors, the socket's own, or our own bound)."""

ENQUEUE_WAIT_S = 2.0
"""How long a submission waits for Redis to take its fan-out. The alert is committed already: past this, the
sweeper enqueues it, and the dispatcher gets an answer instead of a request that hangs on a frozen Redis."""


async def _send(runtime: Runtime, alert: Alert) -> None:
    """Enqueue the fan-out of an alert committed as approved, in its lane; a Redis failure is left to the sweeper."""
    try:
        async with asyncio.timeout(ENQUEUE_WAIT_S):
            await enqueue_fanout(runtime.redis, alert.id, lane_of_document(alert.cap))
    except ENQUEUE_FAILURES as exc:
        log.warning("fan-out of alert %s not enqueued (%s): the sweeper will enqueue it", alert.id, type(exc).__name__)


async def submit(
    runtime: Runtime,
    cap: CapAlert,
    principal: Principal,
    idempotency_key: str | None = None,
    approval_waived: bool = False,
) -> service.Submission:
    """Store a parsed CAP alert, or find the one it repeats (:func:`alertsvc.alerts.service.submit`); send it when
    it starts approved. The sending rules are checked first, so an alert that would reach nobody is refused even
    when it repeats a stored one. The check reuses the parse that made ``cap`` (it parses no polygon again), so it
    runs on the loop: a worker thread's hand-off cost more than the check."""
    check_targets(cap, runtime.zones)
    # Runtime.write: on an SQLite file on the writer thread, whose statements make no hand-off to aiosqlite's
    # thread each (the lookup, the savepoint, the insert, the event, the audit row, the commit).
    submission = await runtime.write(service.submit, cap, principal, idempotency_key, approval_waived)
    if submission.needs_dispatch:
        await _send(runtime, submission.alert)
    return submission


async def approve(runtime: Runtime, alert_id: str, principal: Principal) -> Alert:
    """Approve a pending alert and send it."""
    async with transaction(runtime.sessions) as session:
        alert = await service.approve(session, alert_id, principal)
    await _send(runtime, alert)
    return alert


async def reject(runtime: Runtime, alert_id: str, principal: Principal, reason: str) -> Alert:
    """Reject a pending alert, with the reason its author will read; nothing is sent."""
    async with transaction(runtime.sessions) as session:
        return await service.reject(session, alert_id, principal, reason)


async def cancel(
    runtime: Runtime, alert_id: str, principal: Principal, all_clear: Sequence[AllClearInput] = ()
) -> service.Submission:
    """Withdraw an alert not yet sent, or submit the CAP Cancel of one that was (sent at once when the principal
    may send, else waiting for approval like any alert). The Cancel carries ``all_clear``, the caller's words per
    language, and the default all-clear in the languages it leaves out (:mod:`alertsvc.alerts.all_clear`); a
    refused all-clear is an :class:`~alertsvc.errors.InvalidInput` naming each field, and nothing is stored."""
    async with transaction(runtime.sessions) as session:
        submission = await service.cancel(session, alert_id, principal, all_clear)
    if submission.needs_dispatch:
        await _send(runtime, submission.alert)
    return submission

"""The alert actions as units of work: submit, approve, reject and cancel, each in one transaction of its own.

The rules are :mod:`alertsvc.alerts.service`'s; this module gives each action the shape routers call (the
:class:`~alertsvc.runtime.Runtime` in, committed when it returns, see :mod:`alertsvc.runtime`), so that a router
opens no session. The caller enqueues the fan-out after a commit that needs one (``needs_dispatch``, or an approved
alert). Errors are the service's: :class:`~alertsvc.alerts.service.AlertNotFound`,
:class:`~alertsvc.alerts.service.LifecycleError` and ``PermissionError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alertsvc.alerts import service
from alertsvc.cap import Alert as CapAlert
from alertsvc.security.principal import Principal
from alertsvc.store.db import transaction
from alertsvc.store.models import Alert

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["approve", "cancel", "reject", "submit"]


async def submit(
    runtime: Runtime,
    cap: CapAlert,
    principal: Principal,
    idempotency_key: str | None = None,
    approval_waived: bool = False,
) -> service.Submission:
    """Store a validated CAP alert, or find the one it repeats (:func:`alertsvc.alerts.service.submit`)."""
    async with transaction(runtime.sessions) as session:
        return await service.submit(session, cap, principal, idempotency_key, approval_waived)


async def approve(runtime: Runtime, alert_id: str, principal: Principal) -> Alert:
    """Approve a pending alert for sending; the caller dispatches it."""
    async with transaction(runtime.sessions) as session:
        return await service.approve(session, alert_id, principal)


async def reject(runtime: Runtime, alert_id: str, principal: Principal, reason: str) -> Alert:
    """Reject a pending alert, with the reason its author will read."""
    async with transaction(runtime.sessions) as session:
        return await service.reject(session, alert_id, principal, reason)


async def cancel(runtime: Runtime, alert_id: str, principal: Principal) -> service.Submission:
    """Withdraw an alert not yet sent, or submit the CAP Cancel of one that was."""
    async with transaction(runtime.sessions) as session:
        return await service.cancel(session, alert_id, principal)

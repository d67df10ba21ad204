"""The append-only audit log: every change to an alert, a key or a user leaves a row here, and so do sign-ins,
sign-outs and refused forms.

Rows are only ever inserted (the database refuses UPDATE and DELETE, see the first migration), inside the same
transaction as the change they describe, so the log can never disagree with what happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.db import transaction
from alertsvc.store.models import AuditEvent

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

PAGE = 100


async def record(
    session: AsyncSession,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one audit row to the caller's transaction. ``detail`` must not hold phone numbers or emails."""
    session.add(
        AuditEvent(actor=actor, action=action, subject_type=subject_type, subject_id=subject_id, detail=detail or {})
    )


async def record_event(
    runtime: Runtime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit row as a unit of work of its own, for events that change nothing else: a refused request (a
    CSRF refusal), which must be recorded although the request it describes is not carried out."""
    async with transaction(runtime.sessions) as session:
        await record(session, actor, action, subject_type, subject_id, detail)


async def events_for(session: AsyncSession, subject_type: str, subject_id: str) -> list[AuditEvent]:
    """The audit trail of one subject, oldest first."""
    result = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    )
    return list(result)


async def audit_page(runtime: Runtime, before: int | None = None, limit: int = PAGE) -> list[AuditEvent]:
    """Audit events, newest first, ``limit`` at a time (``before``: the smallest id already shown)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    async with runtime.sessions() as session:
        return list(await session.scalars(query))

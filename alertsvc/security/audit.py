"""The append-only audit log: every change to an alert, a key or a user leaves a row here, and so do sign-ins,
sign-outs and refused forms.

Rows are only ever inserted (the database refuses UPDATE and DELETE, see the first migration), inside the same
transaction as the change they describe, so the log can never disagree with what happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
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


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which events a reader of the log wants (every field optional; all given must hold).

    ``action`` is one action (``alert.approve``), ``family`` the start of several (``alert.``); ``since`` is
    inclusive, ``until`` exclusive, both UTC."""

    actor: str | None = None
    action: str | None = None
    family: str | None = None
    alert_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query: Select[tuple[AuditEvent]], where: AuditFilter) -> Select[tuple[AuditEvent]]:
    if where.actor:
        query = query.where(AuditEvent.actor == where.actor)
    if where.family:
        query = query.where(AuditEvent.action.startswith(where.family, autoescape=True))
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.alert_id:
        query = query.where(AuditEvent.subject_type == "alert", AuditEvent.subject_id == where.alert_id)
    if where.since is not None:
        query = query.where(AuditEvent.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.at < where.until)
    return query


async def audit_page(
    runtime: Runtime, before: int | None = None, limit: int = PAGE, where: AuditFilter | None = None
) -> list[AuditEvent]:
    """Audit events, newest first, ``limit`` at a time (``before``: the smallest id already shown), filtered."""
    query = _filtered(select(AuditEvent), where or AuditFilter()).order_by(AuditEvent.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    async with runtime.sessions() as session:
        return list(await session.scalars(query))


async def audit_events(
    runtime: Runtime, where: AuditFilter, chunk: int = 1000, most: int = 100_000
) -> AsyncIterator[list[AuditEvent]]:
    """Every event ``where`` selects, newest first, ``chunk`` at a time (a session each, none held between
    chunks), at most ``most`` in all: the CSV export of a filtered log."""
    before: int | None = None
    given = 0
    while given < most:
        events = await audit_page(runtime, before, min(chunk, most - given), where)
        if not events:
            return
        yield events
        given += len(events)
        before = events[-1].id

"""The console's few reads and admin writes, kept out of the routers (STYLE.md 11)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.security.audit import record
from alertsvc.store.models import Alert, ApiKey, AuditEvent, User

PAGE = 100


async def list_alerts(
    session: AsyncSession, state: str | None = None, status: str | None = None, limit: int = PAGE
) -> list[Alert]:
    """Newest first, optionally filtered by lifecycle state and CAP status."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    if state:
        query = query.where(Alert.state == state)
    if status:
        query = query.where(Alert.status == status)
    return list(await session.scalars(query))


async def audit_page(session: AsyncSession, before: int | None = None, limit: int = PAGE) -> list[AuditEvent]:
    """Audit events, newest first, ``limit`` at a time (``before``: the smallest id already shown)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(await session.scalars(query))


async def list_users(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).order_by(User.email)))


async def set_user_active(session: AsyncSession, user_id: int, active: bool, actor: str) -> bool:
    """Deactivate (or reactivate) a user; their open sessions end at their next request."""
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.active.is_not(active))
        .values(active=active, failed_logins=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed:
        action = "user.activate" if active else "user.deactivate"
        await record(session, actor, action, "user", str(user_id), {})
    return changed


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.name)))

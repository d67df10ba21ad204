"""The console's few reads, kept out of the routers (STYLE.md 11)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.models import Alert

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

"""The two classes of message a resident may get, and their separate consent: warnings and community messages.

Life-safety warnings go to every confirmed contact that has not opted out (the subscription itself is the consent).
Community messages (meeting invitations and reminders, news of the priorities a resident supported) are chosen
apart: off until the resident turns them on (so an imported resident, whose key vouched only for warnings, gets
none), and every change is written to the consent ledger (``consent_events``, action ``community_opt_in`` or
``community_opt_out``, one row per contact of the resident) beside the choice itself. STOP opts a contact out of
everything: a contact that opted out gets neither class, whatever the community choice says.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.errors import NotFound
from alertsvc.store.db import transaction
from alertsvc.store.models import CommunityConsent, ConsentEvent, Contact, Resident

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["MessageClass", "community_choice", "community_opted_in", "set_community", "set_community_in"]


class MessageClass(StrEnum):
    WARNING = "warning"
    COMMUNITY = "community"


class ResidentNotFound(NotFound):
    """No resident with this id."""


async def set_community_in(
    session: AsyncSession, resident_id: int, opted_in: bool, method: str, source: str | None = None
) -> bool:
    """Record the resident's choice of community messages and write it to the ledger; True when it changed.
    A building block (no commit); :class:`ResidentNotFound` when there is no such resident."""
    if await session.get(Resident, resident_id) is None:
        raise ResidentNotFound("no resident with this id")
    now = utcnow()
    consent = await session.get(CommunityConsent, resident_id)
    changed = consent is None or consent.opted_in != opted_in
    if consent is None:
        session.add(CommunityConsent(resident_id=resident_id, opted_in=opted_in, method=method, changed_at=now))
    elif changed:
        consent.opted_in, consent.method, consent.changed_at = opted_in, method, now
    if changed:
        action = "community_opt_in" if opted_in else "community_opt_out"
        contacts = await session.scalars(select(Contact).where(Contact.resident_id == resident_id))
        for contact in contacts:
            session.add(
                ConsentEvent(
                    contact_id=contact.id, channel=contact.channel, action=action, method=method, source=source, at=now
                )
            )
    return changed


async def set_community(
    runtime: Runtime, resident_id: int, opted_in: bool, method: str, source: str | None = None
) -> bool:
    """:func:`set_community_in` in a transaction of its own."""
    async with transaction(runtime.sessions) as session:
        return await set_community_in(session, resident_id, opted_in, method, source)


async def community_opted_in(session: AsyncSession, resident_ids: list[int]) -> set[int]:
    """Which of ``resident_ids`` chose community messages."""
    if not resident_ids:
        return set()
    rows = await session.scalars(
        select(CommunityConsent.resident_id).where(
            CommunityConsent.resident_id.in_(resident_ids), CommunityConsent.opted_in.is_(True)
        )
    )
    return set(rows)


async def community_choice(runtime: Runtime, resident_id: int) -> bool:
    """Whether the resident chose community messages (False until they do): what their manage page shows."""
    async with runtime.sessions() as session:
        return bool(await community_opted_in(session, [resident_id]))

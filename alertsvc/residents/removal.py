"""Deleting a resident, without deleting their "no".

An opt-out is a consent record: if it went with the resident, re-importing the same phone number tomorrow
(from the same spreadsheet that still lists it) would message someone who said STOP. So deleting removes the
location, the preferences and every contact that is *not* opted out, and then:

* with no opt-out left, the resident row itself (its acknowledgements go with it);
* otherwise the row stays as an anonymous **tombstone** holding only the opted-out contacts: ``ref`` becomes
  ``~deleted:<id>`` (so the caller's ref is free again and a GET says 404), preferences return to defaults and
  the position moves to the North Pole, where no alert area is expected (should one cover it, its contacts
  are all opted out, so nothing is sent). An import that later gives one of those addresses takes the
  contact over, opt-out included, and a tombstone left without contacts is removed (``residents.service``).

The schema cascades deliveries with their contact, so the delivery rows of removed contacts go too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.residents.validation import TOMBSTONE_PREFIX
from alertsvc.security.audit import record
from alertsvc.store.db import transaction
from alertsvc.store.models import Contact, Resident

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["TOMBSTONE_POSITION", "Removal", "delete_resident", "remove_resident"]

TOMBSTONE_POSITION = (90.0, 0.0)


@dataclass(frozen=True, slots=True)
class Removal:
    removed_contacts: int
    kept_opt_outs: int


async def delete_resident(session: AsyncSession, ref: str, actor: str) -> Removal | None:
    """Delete the resident ``ref`` (in the caller's transaction); ``None`` if there is none."""
    if ref.startswith(TOMBSTONE_PREFIX):
        return None
    resident = await session.scalar(select(Resident).where(Resident.ref == ref).with_for_update())
    if resident is None:
        return None
    removed = await session.execute(
        delete(Contact).where(Contact.resident_id == resident.id, Contact.opted_out_at.is_(None))
    )
    kept = int(await session.scalar(select(func.count()).where(Contact.resident_id == resident.id)) or 0)
    if kept:
        resident.ref = f"{TOMBSTONE_PREFIX}{resident.id}"
        resident.lat, resident.lon = TOMBSTONE_POSITION
        resident.language, resident.timezone, resident.test_recipient = "en", "UTC", False
        resident.categories = resident.min_severity = resident.quiet_start = resident.quiet_end = None
        resident.manage_link_epoch = (resident.manage_link_epoch or 0) + 1  # no manage link opens a tombstone
        resident.updated_at = utcnow()
    else:
        await session.delete(resident)
    outcome = Removal(removed_contacts=int(getattr(removed, "rowcount", 0) or 0), kept_opt_outs=kept)
    detail = {"removed_contacts": outcome.removed_contacts, "kept_opt_outs": kept}
    await record(session, actor, "resident.deleted", "resident", str(resident.id), detail)
    await session.flush()
    return outcome


async def remove_resident(runtime: Runtime, ref: str, actor: str) -> Removal | None:
    """:func:`delete_resident` as one unit of work (the API's DELETE); ``None`` if there is no such resident."""
    async with transaction(runtime.sessions) as session:
        return await delete_resident(session, ref, actor)

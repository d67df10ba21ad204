"""Reading one resident back, as the API shows it: preferences in full, contact addresses masked.

An API key that may read residents is used by other systems to check what they imported; it has no need to
read whole phone numbers or e-mail addresses back (and every copy of them is one more to leak), so only the
last few characters are shown, enough to tell two contacts apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.residents.validation import CHANNELS, TOMBSTONE_PREFIX
from alertsvc.store.models import Contact, Resident

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["ContactView", "ResidentView", "count_with_ref_prefix", "get_resident", "mask", "read_resident"]

VISIBLE = 4


class ContactView(BaseModel):
    channel: str
    address: str
    """Masked: all but the last few characters replaced by ``*``."""
    confirmed: bool
    confirmed_at: datetime | None
    opted_out: bool
    opted_out_at: datetime | None


class ResidentView(BaseModel):
    ref: str
    lat: float
    lon: float
    language: str
    categories: list[str] | None
    """``null``: every category."""
    min_severity: str | None
    test_recipient: bool
    quiet_start: str | None
    quiet_end: str | None
    timezone: str
    created_at: datetime
    updated_at: datetime
    contacts: list[ContactView]


def mask(address: str) -> str:
    """``+4915112345678`` -> ``**********5678``; short values keep proportionally less."""
    visible = min(VISIBLE, len(address) // 3)
    return "*" * (len(address) - visible) + address[len(address) - visible :]


def _contact_view(contact: Contact) -> ContactView:
    return ContactView(
        channel=contact.channel,
        address=mask(contact.address),
        confirmed=contact.confirmed_at is not None,
        confirmed_at=contact.confirmed_at,
        opted_out=contact.opted_out_at is not None,
        opted_out_at=contact.opted_out_at,
    )


async def get_resident(session: AsyncSession, ref: str) -> ResidentView | None:
    """The resident with this ref and its contacts (by channel, oldest first); ``None`` if there is none."""
    if ref.startswith(TOMBSTONE_PREFIX):
        return None
    resident = await session.scalar(select(Resident).where(Resident.ref == ref))
    if resident is None:
        return None
    contacts = list(
        await session.scalars(select(Contact).where(Contact.resident_id == resident.id).order_by(Contact.id))
    )
    contacts.sort(key=lambda contact: CHANNELS.index(contact.channel) if contact.channel in CHANNELS else 99)
    return ResidentView(
        ref=resident.ref,
        lat=resident.lat,
        lon=resident.lon,
        language=resident.language,
        categories=resident.categories.split(",") if resident.categories else None,
        min_severity=resident.min_severity,
        test_recipient=resident.test_recipient,
        quiet_start=resident.quiet_start,
        quiet_end=resident.quiet_end,
        timezone=resident.timezone,
        created_at=resident.created_at,
        updated_at=resident.updated_at,
        contacts=[_contact_view(contact) for contact in contacts],
    )


async def read_resident(runtime: Runtime, ref: str) -> ResidentView | None:
    """:func:`get_resident` as one unit of work (the API's read of one resident)."""
    async with runtime.sessions() as session:
        return await get_resident(session, ref)


async def count_with_ref_prefix(session: AsyncSession, prefix: str) -> int:
    """How many residents have a ref starting with ``prefix`` (e.g. the demo's ``demo-``): loaders that number
    their rows use it to add only the ones not there yet."""
    query = select(func.count()).select_from(Resident).where(Resident.ref.startswith(prefix, autoescape=True))
    return int(await session.scalar(query) or 0)

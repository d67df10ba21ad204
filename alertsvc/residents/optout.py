"""Opting out and back in, with a consent record kept by alertsvc itself (not left to the provider).

Opting out of one channel never touches the others; an SMS STOP drops that number's SMS at once, including
deliveries already queued for it (they end ``suppressed``). It also voids the resident's manage links
(:func:`alertsvc.residents.manage_links.void_manage_links`): whoever unsubscribes, by link, one-click or STOP, may
be shutting out someone who holds an old link.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.residents.manage_links import void_manage_links
from alertsvc.store.ids import ids_in
from alertsvc.store.models import ConsentEvent, Contact, Delivery
from alertsvc.tracking.machine import suppress_opted_out


async def find_contact(session: AsyncSession, channel: str, address: str) -> Contact | None:
    return await session.scalar(select(Contact).where(Contact.channel == channel, Contact.address == address))


async def opt_out(session: AsyncSession, contact: Contact, method: str, source: str | None, now: datetime) -> bool:
    """Opt one contact out; True if it was subscribed. Its queued deliveries are suppressed in the same step."""
    was_subscribed = contact.opted_out_at is None
    if was_subscribed:
        contact.opted_out_at = now
        await suppress_opted_out(session, contact.id, now)
        await void_manage_links(session, contact.resident_id)
    session.add(
        ConsentEvent(
            contact_id=contact.id, channel=contact.channel, action="opt_out", method=method, source=source, at=now
        )
    )
    return was_subscribed


async def opt_in(session: AsyncSession, contact: Contact, method: str, source: str | None, now: datetime) -> bool:
    """Opt a contact back in (e.g. SMS START); True if it had opted out."""
    was_out = contact.opted_out_at is not None
    contact.opted_out_at = None
    session.add(
        ConsentEvent(
            contact_id=contact.id, channel=contact.channel, action="opt_in", method=method, source=source, at=now
        )
    )
    return was_out


CARRIER_METHOD = "carrier"
"""The consent record's ``method`` when the provider said the recipient unsubscribed at their carrier."""


async def opt_out_at_carrier(session: AsyncSession, delivery_ids: Sequence[int], source: str, now: datetime) -> int:
    """Opt out the contacts of ``delivery_ids``, which the provider refused because the recipient told their
    carrier to stop our messages (Twilio 21610: they replied STOP to the carrier, not to us). Recorded in our own
    ledger like an SMS STOP, so later alerts plan them ``suppressed`` instead of trying, and failing, every time;
    START to our number opts them back in. ``source``: the provider's code. Returns how many were opted out."""
    if not delivery_ids:
        return 0
    contact_ids = select(Delivery.contact_id).where(ids_in(session, Delivery.id, delivery_ids))
    contacts = await session.scalars(
        select(Contact).where(Contact.id.in_(contact_ids.scalar_subquery()), Contact.opted_out_at.is_(None))
    )
    opted_out = 0
    for contact in list(contacts):
        opted_out += await opt_out(session, contact, CARRIER_METHOD, source, now)
    return opted_out

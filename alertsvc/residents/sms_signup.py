"""Signing up by text message: ``JOIN <zone>`` to the service number, then ``YES`` to confirm.

The first reply is the confirmation request (the one message an unconfirmed number gets); the subscription
starts only when the same number answers YES within the confirmation window.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.residents.subscribe import CODE_TTL, zone_point
from alertsvc.runtime import Runtime
from alertsvc.security.audit import record
from alertsvc.store.models import ConsentEvent, Contact, Resident


async def join_by_sms(
    session: AsyncSession, runtime: Runtime, number: str, zone_name: str, contact: Contact | None, now: datetime
) -> str:
    """Start a zone subscription for ``number``; returns the reply text."""
    service = runtime.settings.service_name
    zone = runtime.zones.find(zone_name)
    if zone is None:
        names = ", ".join(runtime.zones.names()[:8])
        return f"{service}: unknown area. Text JOIN followed by one of: {names}"
    if contact is not None and contact.confirmed_at is not None:
        return f"{service}: this number is already subscribed. Reply STOP to stop, START to resume."
    point = zone_point(runtime.zones, zone.name)
    if point is None:
        return f"{service}: that area cannot be used right now."
    if contact is None:
        resident = Resident(ref=f"sms-{uuid.uuid4().hex[:16]}", lat=point[0], lon=point[1], zone=zone.name)
        session.add(resident)
        await session.flush()
        contact = Contact(resident_id=resident.id, channel="sms", address=number)
        session.add(contact)
        await session.flush()
        await record(session, "resident", "resident.signup", "resident", str(resident.id), {"zone": zone.name})
    contact.verify_expires_at = now + CODE_TTL
    session.add(ConsentEvent(contact_id=contact.id, channel="sms", action="requested", method="sms_keyword",
                             source="JOIN", at=now))  # fmt: skip
    return f"{service}: reply YES to receive public safety alerts for {zone.name}. Reply STOP to cancel."


async def confirm_by_keyword(session: AsyncSession, contact: Contact, now: datetime) -> bool:
    """Confirm a number that asked to JOIN and answered YES in time."""
    if contact.verify_expires_at is None or contact.verify_expires_at <= now:
        return False
    contact.confirmed_at = now
    contact.opted_out_at = None
    contact.verify_expires_at = None
    session.add(ConsentEvent(contact_id=contact.id, channel="sms", action="opt_in", method="sms_keyword",
                             source="YES", at=now))  # fmt: skip
    await record(session, "resident", "contact.confirm", "contact", str(contact.id), {"method": "sms_keyword"})
    return True

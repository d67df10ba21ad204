"""Residents signing themselves up, with double opt-in.

Nothing is ever sent to a contact before it is confirmed, except the one confirmation message: a 6-digit code by
SMS, a link by e-mail or push. Only a hash of the code or link secret is stored. A contact that is already
subscribed gets a "manage your subscription" message instead, and the web answer is the same either way, so the
form cannot be used to find out who is subscribed. Both are limited per contact, so the form cannot be used to
flood someone either: a new code at most once a minute (:func:`issue_secret`), a "manage" answer at most once in
ten minutes (:mod:`alertsvc.residents.selfservice`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.geo.zones import ZoneRegistry
from alertsvc.residents.validation import ResidentInput, RowProblem, ValidationOptions, validate_row
from alertsvc.security.audit import record
from alertsvc.store.models import ConsentEvent, Contact, Resident

CODE_TTL = timedelta(minutes=30)
RESEND_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 5
CHANNELS = ("sms", "email", "push")


def secret_hash(contact_id: int, secret: str) -> str:
    return hashlib.sha256(f"{contact_id}:{secret}".encode()).hexdigest()


def new_secret(channel: str) -> str:
    """A 6-digit code for SMS (typed by hand), a long random token for links."""
    if channel == "sms":
        return f"{secrets.randbelow(1_000_000):06d}"
    return secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The contacts of a stored sign-up that get a message: ``confirming`` a confirmation (new, or not confirmed
    yet), ``already`` a "manage your subscription" answer (confirmed and not opted out)."""

    confirming: list[int]
    already: list[int]
    created: int | None = None
    """The new resident's id when the sign-up made one (a contact not known before); None otherwise."""


@dataclass(frozen=True, slots=True)
class Signup:
    """What the form gave, already split into location and preferences."""

    row: dict[str, Any]
    zone: str | None


def zone_point(zones: ZoneRegistry, name: str) -> tuple[float, float] | None:
    """A point inside the zone (lat, lon) for a zone subscriber, or None for an unknown zone."""
    zone = zones.find(name)
    if zone is None or not zone.polygons:
        return None
    point = zone.polygons[0].to_shapely().representative_point()
    return float(point.y), float(point.x)


def validate_signup(
    signup: Signup, zones: ZoneRegistry, options: ValidationOptions
) -> tuple[ResidentInput | None, list[RowProblem]]:
    row = dict(signup.row)
    row["ref"] = f"self-{uuid.uuid4().hex[:16]}"
    if signup.zone:
        point = zone_point(zones, signup.zone)
        if point is None:
            return None, [RowProblem("zone", "unknown zone")]
        row["lat"], row["lon"] = point
    if not any(row.get(channel) for channel in CHANNELS):
        return None, [RowProblem("sms", "give at least one of a phone number, an e-mail address or a push address")]
    checked = validate_row(row, options)
    if isinstance(checked, list):
        return None, checked
    return checked, []


async def subscribe(
    session: AsyncSession, resident: ResidentInput, zone: str | None, source: str, now: datetime
) -> Subscribed:
    """Store the signup; returns the contacts that get a message (confirmation, or "manage" if subscribed)."""
    to_message: list[int] = []
    already: list[int] = []
    new_contacts: list[Contact] = []
    person = Resident(
        ref=resident.ref, lat=resident.lat, lon=resident.lon, language=resident.language,
        categories=resident.categories,
        min_severity=resident.min_severity, quiet_start=resident.quiet_start, quiet_end=resident.quiet_end,
        timezone=resident.timezone or "UTC", zone=zone,
    )  # fmt: skip
    for channel in CHANNELS:
        address = getattr(resident, channel)
        if not address:
            continue
        existing = await session.scalar(select(Contact).where(Contact.channel == channel, Contact.address == address))
        if existing is not None and existing.confirmed_at is not None and existing.opted_out_at is None:
            already.append(existing.id)
        elif existing is not None:
            to_message.append(existing.id)
        else:
            new_contacts.append(Contact(channel=channel, address=address))
    if new_contacts:
        session.add(person)
        await session.flush()
        for contact in new_contacts:
            contact.resident_id = person.id
            session.add(contact)
        await session.flush()
        for contact in new_contacts:
            session.add(ConsentEvent(contact_id=contact.id, channel=contact.channel, action="requested",
                                     method="web_form", source=source, at=now))  # fmt: skip
            to_message.append(contact.id)
        await record(session, "resident", "resident.signup", "resident", str(person.id), {"zone": zone})
    return Subscribed(confirming=to_message, already=already, created=person.id if new_contacts else None)


async def issue_secret(session: AsyncSession, contact: Contact, now: datetime) -> str | None:
    """A fresh confirmation secret for the contact (its hash stored), or None if one went out under a minute ago."""
    if contact.verify_expires_at is not None and contact.verify_expires_at - CODE_TTL + RESEND_AFTER > now:
        return None
    secret = new_secret(contact.channel)
    contact.verify_hash = secret_hash(contact.id, secret)
    contact.verify_expires_at = now + CODE_TTL
    contact.verify_attempts = 0
    return secret


async def confirm(session: AsyncSession, contact: Contact, secret: str, method: str, now: datetime) -> bool:
    """Confirm the contact if ``secret`` is its current, unexpired secret; counts failed attempts."""
    if (
        contact.verify_hash is None
        or contact.verify_expires_at is None
        or contact.verify_expires_at <= now
        or contact.verify_attempts >= MAX_ATTEMPTS
    ):
        return False
    if not hmac.compare_digest(contact.verify_hash, secret_hash(contact.id, secret.strip())):
        contact.verify_attempts += 1
        return False
    contact.confirmed_at = now
    contact.opted_out_at = None
    contact.verify_hash = None
    contact.verify_expires_at = None
    session.add(ConsentEvent(contact_id=contact.id, channel=contact.channel, action="opt_in", method=method,
                             source="confirmation", at=now))  # fmt: skip
    await record(session, "resident", "contact.confirm", "contact", str(contact.id), {"method": method})
    return True

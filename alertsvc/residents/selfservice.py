"""What residents do on their own pages, each as one unit of work: sign up, confirm a contact, read and save their
preferences, and unsubscribe one contact from its link.

The rules are in :mod:`alertsvc.residents.subscribe` (double opt-in) and :mod:`alertsvc.residents.optout` (consent
records); this module gives each step the shape the resident pages call (the :class:`~alertsvc.runtime.Runtime` in,
committed when it returns, see :mod:`alertsvc.runtime`), so that ``web/`` reads and writes no row itself.

A sign-up repeated for a contact that is already subscribed answers it with a "manage your subscription" message
at most once in :data:`ALREADY_SUBSCRIBED_EVERY` (five sign-ups in a second once sent ten messages to one
person). The limit is per contact, not per client address (which the sender of the form chooses), and is kept in
Redis with one ``SET NX EX``, so it holds across API processes; it is a fixed window of one, for which the
request limiter's moving window (:mod:`alertsvc.http.ratelimit`, keyed by the request's address) would be one
more library call for the same answer. The page answers the same either way: it never tells who is subscribed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from alertsvc.clock import utcnow
from alertsvc.residents.message_classes import set_community_in
from alertsvc.residents.optout import find_contact, opt_out
from alertsvc.residents.subscribe import confirm, subscribe
from alertsvc.residents.validation import ResidentInput
from alertsvc.security.audit import record
from alertsvc.store.db import transaction
from alertsvc.store.models import Contact, Resident

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "LinkContact",
    "Preferences",
    "confirm_by_code",
    "confirm_by_link",
    "may_send_manage_link",
    "preferences",
    "renewal_contacts",
    "save_preferences",
    "sign_up",
    "unsubscribe",
]


ALREADY_SUBSCRIBED_EVERY = timedelta(minutes=10)
"""A contact that is subscribed already gets at most one "manage your subscription" answer this often."""


async def _may_answer_subscribed(runtime: Runtime, contact_id: int) -> bool:
    """True for the first "already subscribed" answer to this contact in the window, False after (atomic)."""
    key = f"alertsvc:already-subscribed:{contact_id}"
    seconds = int(ALREADY_SUBSCRIBED_EVERY.total_seconds())
    return bool(await runtime.redis.set(key, "1", nx=True, ex=seconds))


async def sign_up(
    runtime: Runtime, resident: ResidentInput, zone: str | None, source: str, *, community: bool = False
) -> list[int]:
    """Store a checked sign-up; the contact ids that get a message (a confirmation, or "manage" if subscribed,
    unless one such answer went to that contact within :data:`ALREADY_SUBSCRIBED_EVERY`). ``community``: the new
    resident chose community messages too (recorded in the consent ledger; they go only to contacts confirmed
    later). A sign-up whose contacts are already known changes no one's choice: the form proves no ownership."""
    async with transaction(runtime.sessions) as session:
        outcome = await subscribe(session, resident, zone, source, utcnow())
        if community and outcome.created is not None:
            await set_community_in(session, outcome.created, True, "web_form", source)
    answered = [contact_id for contact_id in outcome.already if await _may_answer_subscribed(runtime, contact_id)]
    return [*outcome.confirming, *answered]


async def confirm_by_code(runtime: Runtime, phone: str, code: str) -> bool:
    """Confirm the SMS contact of ``phone`` (E.164) with the code it was sent; False for any mismatch."""
    async with transaction(runtime.sessions) as session:
        contact = await find_contact(session, "sms", phone)
        return contact is not None and await confirm(session, contact, code, "sms_code", utcnow())


async def confirm_by_link(runtime: Runtime, contact_id: int, secret: str) -> bool:
    """Confirm an e-mail or push contact with the secret of its link; False for any mismatch."""
    async with transaction(runtime.sessions) as session:
        contact = await session.get(Contact, contact_id)
        return contact is not None and await confirm(session, contact, secret, "link", utcnow())


@dataclass(frozen=True, slots=True)
class Preferences:
    """A resident and their contacts, rows loaded in full for the manage page."""

    resident: Resident
    contacts: list[Contact]


async def preferences(runtime: Runtime, resident_id: int) -> Preferences | None:
    """The resident of a manage link with their contacts; None when there is no such resident."""
    async with runtime.sessions() as session:
        resident = await session.get(Resident, resident_id)
        if resident is None:
            return None
        contacts = await session.scalars(select(Contact).where(Contact.resident_id == resident_id).order_by(Contact.id))
        return Preferences(resident, list(contacts))


async def save_preferences(runtime: Runtime, resident_id: int, checked: ResidentInput) -> bool:
    """Store the checked preferences (language, categories, minimum severity, quiet hours, time zone); False when
    there is no such resident. The location and contacts stay as they are."""
    async with transaction(runtime.sessions) as session:
        resident = await session.get(Resident, resident_id)
        if resident is None:
            return False
        resident.language = checked.language
        resident.categories = checked.categories
        resident.min_severity = checked.min_severity
        resident.quiet_start, resident.quiet_end = checked.quiet_start, checked.quiet_end
        resident.timezone = checked.timezone
        return True


async def renewal_contacts(runtime: Runtime, resident_id: int) -> list[Contact]:
    """The contacts a fresh manage link can be sent to: the resident's confirmed, subscribed ones."""
    async with runtime.sessions() as session:
        contacts = await session.scalars(
            select(Contact)
            .where(
                Contact.resident_id == resident_id, Contact.confirmed_at.is_not(None), Contact.opted_out_at.is_(None)
            )
            .order_by(Contact.id)
        )
        return list(contacts)


async def may_send_manage_link(runtime: Runtime, resident_id: int, contact_id: int) -> bool:
    """Whether a fresh manage link may go to ``contact_id`` now: one of ``resident_id``'s contacts a link can be sent
    to, and none sent to it within :data:`ALREADY_SUBSCRIBED_EVERY` (the same budget as "already subscribed")."""
    if contact_id not in {contact.id for contact in await renewal_contacts(runtime, resident_id)}:
        return False
    return await _may_answer_subscribed(runtime, contact_id)


@dataclass(frozen=True, slots=True)
class LinkContact:
    """The contact of an unsubscribe link: its channel, and its resident's stored language (the page speaks it)."""

    channel: str
    language: str | None


async def unsubscribe(runtime: Runtime, contact_id: int, confirmed: bool) -> LinkContact | None:
    """The contact of an unsubscribe link (None when there is no such contact); when ``confirmed``,
    that one contact is opted out, by one click for e-mail (RFC 8058) or the link's button otherwise."""
    async with transaction(runtime.sessions) as session:
        contact = await session.get(Contact, contact_id)
        if contact is None:
            return None
        if confirmed:
            method = "one_click" if contact.channel == "email" else "link"
            if await opt_out(session, contact, method, "unsubscribe link", utcnow()):
                await record(session, "resident", "contact.opt_out", "contact", str(contact.id), {"via": method})
        resident = await session.get(Resident, contact.resident_id)
        return LinkContact(contact.channel, resident.language if resident is not None else None)

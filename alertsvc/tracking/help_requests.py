"""Residents who answered "need help", as a dispatcher acts on them: who (their reference), how to reach them (only
for staff whose role may read residents), their language, where they are, when they asked, what they wrote back,
and whether a staff member has taken care of them, who and when.

The one writer of ``help_handled`` (migration 0012). Marking a request handled, or taking the mark back, is one unit
of work with its audit row (``help.handled``, ``help.reopened``; the resident's reference in the detail, never a
phone number or an address), so the log cannot disagree with the list. The mark belongs to the answer it was made
on: a resident who answers "need help" again after it (their answer's time moves past the mark's) is listed as
asking again, at the top, until someone marks them handled anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.errors import NotFound
from alertsvc.security.audit import record
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.store.db import transaction
from alertsvc.store.ids import ids_in
from alertsvc.store.models import Acknowledgement, Contact, HelpHandled, Reply, Resident, User
from alertsvc.tracking.acks import Answer

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "CONTACT_CHANNELS",
    "HelpRequest",
    "help_requests",
    "mark_handled",
    "reopen",
]

CONTACT_CHANNELS = ("sms", "email")
"""Contacts a person can call or write to; a push address reaches a device, not a dispatcher's phone."""
REPLIES_SHOWN = 3
"""The newest free-text replies shown per resident (the alert's page lists them all)."""
USER_PREFIX = "user:"
NO_HELP_REQUEST = "No request for help from that resident to this alert."


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """One resident's request for help, with what a dispatcher needs to act on it."""

    resident_id: int
    resident_ref: str
    language: str
    zone: str | None
    lat: float
    lon: float
    asked_at: datetime
    """When the resident last answered "need help"."""
    via: str
    """``link`` (the page of their message) or ``sms`` (a reply)."""
    replies: tuple[str, ...]
    """Their newest free-text replies to this alert, oldest first."""
    contacts: tuple[tuple[str, str], ...] | None
    """(channel, address) of their confirmed phone and e-mail contacts; None when the reader may not see them."""
    handled_by: str | None
    """The display name (else the e-mail) of the staff member who marked it handled."""
    handled_at: datetime | None

    @property
    def handled(self) -> bool:
        """Marked handled, and not asked again since."""
        return self.handled_at is not None and self.asked_at <= self.handled_at

    @property
    def asked_again(self) -> bool:
        return self.handled_at is not None and self.asked_at > self.handled_at


def may_see_contacts(principal: Principal) -> bool:
    """Staff whose role may read residents see how to reach them; nobody else does."""
    return principal.can(Scope.RESIDENTS_READ)


async def help_requests(runtime: Runtime, alert_id: str, reader: Principal, limit: int = 500) -> list[HelpRequest]:
    """The alert's requests for help: not yet handled (or asked again) first, longest waiting first; then the
    handled ones, most recently handled first."""
    async with runtime.sessions() as session:
        found = await _requests(session, alert_id, may_see_contacts(reader), limit)
    waiting = sorted((r for r in found if not r.handled), key=lambda r: r.asked_at)
    done = sorted((r for r in found if r.handled), key=lambda r: r.handled_at or r.asked_at, reverse=True)
    return waiting + done


async def _requests(session: AsyncSession, alert_id: str, with_contacts: bool, limit: int) -> list[HelpRequest]:
    rows = (
        await session.execute(
            select(
                Acknowledgement.resident_id,
                Acknowledgement.updated_at,
                Acknowledgement.via,
                Resident.ref,
                Resident.language,
                Resident.zone,
                Resident.lat,
                Resident.lon,
                HelpHandled.handled_by,
                HelpHandled.handled_at,
            )
            .join(Resident, Resident.id == Acknowledgement.resident_id)
            .outerjoin(
                HelpHandled,
                and_(HelpHandled.alert_id == Acknowledgement.alert_id, HelpHandled.resident_id == Resident.id),
            )
            .where(Acknowledgement.alert_id == alert_id, Acknowledgement.answer == Answer.HELP.value)
            .order_by(Acknowledgement.updated_at)
            .limit(limit)
        )
    ).all()
    ids = [int(row.resident_id) for row in rows]
    contacts = await _contacts(session, ids) if with_contacts and ids else {}
    replies = await _replies(session, alert_id, ids) if ids else {}
    names = await _names(session, [row.handled_by for row in rows if row.handled_by])
    return [
        HelpRequest(
            resident_id=int(row.resident_id),
            resident_ref=row.ref,
            language=row.language,
            zone=row.zone,
            lat=row.lat,
            lon=row.lon,
            asked_at=row.updated_at,
            via=row.via,
            replies=tuple(replies.get(int(row.resident_id), [])[-REPLIES_SHOWN:]),
            contacts=tuple(contacts.get(int(row.resident_id), [])) if with_contacts else None,
            handled_by=names.get(row.handled_by, row.handled_by) if row.handled_by else None,
            handled_at=row.handled_at,
        )
        for row in rows
    ]


async def _contacts(session: AsyncSession, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    rows = await session.execute(
        select(Contact.resident_id, Contact.channel, Contact.address)
        .where(ids_in(session, Contact.resident_id, ids))
        .where(Contact.channel.in_(CONTACT_CHANNELS), Contact.confirmed_at.is_not(None))
        .order_by(Contact.resident_id, Contact.channel, Contact.id)
    )
    found: dict[int, list[tuple[str, str]]] = {}
    for resident_id, channel, address in rows:
        found.setdefault(int(resident_id), []).append((channel, address))
    return found


async def _replies(session: AsyncSession, alert_id: str, ids: list[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(Contact.resident_id, Reply.body)
        .join(Contact, Contact.id == Reply.contact_id)
        .where(Reply.alert_id == alert_id, ids_in(session, Contact.resident_id, ids))
        .order_by(Reply.at, Reply.id)
    )
    found: dict[int, list[str]] = {}
    for resident_id, body in rows:
        found.setdefault(int(resident_id), []).append(body)
    return found


async def _names(session: AsyncSession, principals: list[str]) -> dict[str, str]:
    """``user:ID`` -> the user's display name, else their e-mail; other principals are shown as they are."""
    ids = {
        int(p[len(USER_PREFIX) :]) for p in principals if p.startswith(USER_PREFIX) and p[len(USER_PREFIX) :].isdigit()
    }
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(sorted(ids))))
    return {f"{USER_PREFIX}{uid}": (name or email) for uid, name, email in rows}


async def _help_ref(session: AsyncSession, alert_id: str, resident_id: int) -> str:
    """The reference of a resident whose answer to the alert is "need help"; :class:`~alertsvc.errors.NotFound`
    (the tree's own kind: nothing more to tell a caller) when they have none (it changed to "safe", or never was)."""
    ref = await session.scalar(
        select(Resident.ref)
        .join(Acknowledgement, Acknowledgement.resident_id == Resident.id)
        .where(
            Acknowledgement.alert_id == alert_id,
            Acknowledgement.resident_id == resident_id,
            Acknowledgement.answer == Answer.HELP.value,
        )
    )
    if ref is None:
        raise NotFound(NO_HELP_REQUEST)
    return str(ref)


async def mark_handled(runtime: Runtime, alert_id: str, resident_id: int, by: Principal) -> None:
    """Mark a resident's request for help handled by ``by``, now (again, if they asked again), with its audit row."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        ref = await _help_ref(session, alert_id, resident_id)
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(HelpHandled).values(
            alert_id=alert_id, resident_id=resident_id, handled_by=by.name, handled_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["alert_id", "resident_id"], set_={"handled_by": by.name, "handled_at": now}
        )
        await session.execute(statement)
        await record(session, by.name, "help.handled", "alert", alert_id, {"resident_ref": ref})


async def reopen(runtime: Runtime, alert_id: str, resident_id: int, by: Principal) -> None:
    """Take a "handled" mark back (marked by mistake, or the call did not reach them), with its audit row."""
    async with transaction(runtime.sessions) as session:
        ref = await _help_ref(session, alert_id, resident_id)
        await session.execute(
            delete(HelpHandled).where(HelpHandled.alert_id == alert_id, HelpHandled.resident_id == resident_id)
        )
        await record(session, by.name, "help.reopened", "alert", alert_id, {"resident_ref": ref})

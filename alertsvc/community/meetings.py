"""Neighbourhood meetings: created by staff for one zone, listed on the zone page and in an iCalendar feed, and
announced to the zone's residents who chose community messages (an invitation now, a reminder the day before).

Creating a meeting plans its two messages for each resident in the same transaction (``community_sends``, unique
per meeting, kind and resident, so a repeated plan adds nothing): each is due at the first moment outside the
resident's quiet hours and within the weekly cap (:mod:`alertsvc.community.timing`), in the resident's language,
and only for residents with a contact that is confirmed and not opted out (STOP stops community messages too).
They are sent, once each and checked again at send time, by :mod:`alertsvc.community.sending` and the worker's job
:mod:`alertsvc.dispatch.community_sender`; each view counts its messages by state for the console.
Staff may change a meeting that has not started (its zone stays: the invitations went to that zone's residents):
new times move each resident's reminder (one not yet due is planned again for the new time; the invitation stays, and
telling residents of the change is for the sender, not built yet). Cancelling one that has not started keeps it,
marked cancelled (``cancelled_at``, ``cancelled_by``; migration 0014): the zone page, the console and the API list it
as cancelled, and the calendar feed publishes it with ``STATUS:CANCELLED`` under the same UID, so a subscribed
calendar strikes the event rather than silently losing it; its messages not yet sent are skipped by the sender, which
reads ``cancelled_at``. A cancelled meeting can no longer be changed; cancelling it again changes nothing. Each
change and the cancel move the iCalendar ``SEQUENCE`` on (RFC 5545: a calendar applies the highest). Creating,
changing and cancelling each write an audit row in the same transaction (who, which meeting, its zone, which fields
changed).
Owner of the ``meetings`` and ``community_sends`` tables; units of work as in :mod:`alertsvc.runtime`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from icalendar import Calendar, Event
from shapely import Point
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.community.sending import NO_MESSAGES, MessageCounts, counted_for_cap, counts_in, meeting_subjects
from alertsvc.community.timing import WEEK, allowed_at
from alertsvc.errors import Conflict, FieldError, InvalidInput, NotFound
from alertsvc.geo.zones import Zone, zone_key
from alertsvc.residents.message_classes import community_opted_in
from alertsvc.security.audit import record
from alertsvc.store.db import transaction
from alertsvc.store.models import CommunitySend, Contact, Meeting, Resident

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "INVITATION",
    "REMINDER",
    "MeetingError",
    "UnknownZone",
    "cancel_meeting",
    "create_meeting",
    "get_meeting",
    "meetings_ics",
    "past_meetings",
    "planned_sends",
    "reachable_residents",
    "residents_of",
    "upcoming_meetings",
    "update_meeting",
]

INVITATION = "invitation"
REMINDER = "reminder"
REMINDER_BEFORE = timedelta(days=1)
MAX_LENGTH = timedelta(days=2)
"""A meeting lasts at most two days: a longer one is a typing mistake in a date."""
NO_MEETING = "no meeting with that id"
STARTED = "a meeting that has started can no longer be changed or cancelled"
CANCELLED = "a cancelled meeting can no longer be changed"


class UnknownZone(NotFound):
    """No named zone by this name (``zone``)."""

    def __init__(self, zone: str) -> None:
        super().__init__("no zone by this name")
        self.zone = zone


class MeetingError(InvalidInput):
    """A meeting that cannot be held as given; ``field`` names the value at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, errors=[FieldError(["body", field], message)])
        self.field = field


@dataclass(frozen=True, slots=True)
class MeetingView:
    id: int
    uid: str
    zone: str
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    description: str
    cancelled_at: datetime | None = None
    """When staff called it off; it stays listed, as cancelled."""
    sequence: int = 0
    """The iCalendar SEQUENCE: how many times it was changed or cancelled."""
    messages: MessageCounts = NO_MESSAGES
    """Its invitations and reminders: planned, sent, failed, skipped (what staff see in the console)."""


def _view(meeting: Meeting, messages: MessageCounts | None = None) -> MeetingView:
    return MeetingView(
        id=meeting.id,
        uid=meeting.uid,
        zone=meeting.zone,
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        place=meeting.place,
        description=meeting.description,
        cancelled_at=meeting.cancelled_at,
        sequence=meeting.sequence or 0,
        messages=messages or NO_MESSAGES,
    )


async def _views(session: AsyncSession, rows: list[Meeting]) -> list[MeetingView]:
    """Views of ``rows`` with their messages counted (one grouped query on the sends' unique index)."""
    counts = await counts_in(session, meeting_subjects([row.id for row in rows]))
    return [_view(row, counts.get(row.id)) for row in rows]


def _zone(runtime: Runtime, name: str) -> Zone:
    zone = runtime.zones.find(name)
    if zone is None:
        raise UnknownZone(name)
    return zone


async def residents_of(session: AsyncSession, zone: Zone) -> list[Resident]:
    """Residents who subscribed to the zone by name, or whose position lies inside it (boundary included)."""
    shapes = [polygon.to_shapely() for polygon in zone.polygons]
    boxes = [polygon.bbox() for polygon in zone.polygons]  # (min_lat, min_lon, max_lat, max_lon)
    in_box = or_(
        *(
            (Resident.lat >= box[0]) & (Resident.lat <= box[2]) & (Resident.lon >= box[1]) & (Resident.lon <= box[3])
            for box in boxes
        )
    )
    named = func.lower(func.trim(Resident.zone)) == zone_key(zone.name)
    rows = await session.scalars(select(Resident).where(or_(named, in_box)))
    return [
        row
        for row in rows
        if (row.zone and zone_key(row.zone) == zone_key(zone.name))
        or any(shape.covers(Point(row.lon, row.lat)) for shape in shapes)
    ]


async def reachable_residents(session: AsyncSession, resident_ids: list[int]) -> set[int]:
    """Residents with a confirmed contact that has not opted out, who chose community messages."""
    chosen = await community_opted_in(session, resident_ids)
    if not chosen:
        return set()
    rows = await session.scalars(
        select(Contact.resident_id).where(
            Contact.resident_id.in_(chosen), Contact.confirmed_at.is_not(None), Contact.opted_out_at.is_(None)
        )
    )
    return set(rows)


async def _plan(
    session: AsyncSession,
    meeting: Meeting,
    residents: list[Resident],
    weekly_cap: int,
    now: datetime,
    kinds: tuple[str, ...] = (INVITATION, REMINDER),
) -> int:
    """Plan the messages of ``kinds`` (the invitation and the reminder) of ``meeting`` for each reachable resident;
    how many were planned."""
    reachable = await reachable_residents(session, [resident.id for resident in residents])
    planned = 0
    subject = f"meeting:{meeting.id}"
    for resident in residents:
        if resident.id not in reachable:
            continue
        earlier = await counted_for_cap(session, resident.id, now - WEEK)
        for kind, wanted in ((INVITATION, now), (REMINDER, max(now, meeting.starts_at - REMINDER_BEFORE))):
            if kind not in kinds:
                continue
            due = allowed_at(
                wanted,
                resident.quiet_start,
                resident.quiet_end,
                resident.timezone,
                earlier,
                weekly_cap,
                latest=meeting.starts_at,
            )
            if due is None or (kind == REMINDER and due - now < timedelta(hours=1)):
                continue  # no room before the meeting; a reminder right after the invitation is noise
            send = CommunitySend(subject=subject, kind=kind, resident_id=resident.id, language=resident.language)
            send.due_at = due
            session.add(send)
            earlier.append(due)
            planned += 1
    return planned


async def create_meeting(
    runtime: Runtime,
    *,
    zone: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    description: str,
    created_by: str,
) -> tuple[MeetingView, int]:
    """Store a meeting and plan its messages; the meeting and how many messages were planned.
    :class:`UnknownZone` or :class:`MeetingError` (naming the field) for a meeting that cannot be held."""
    found = _zone(runtime, zone)
    now = utcnow()
    _check_times(starts_at, ends_at, now)
    async with transaction(runtime.sessions) as session:
        meeting = Meeting(
            uid=f"{uuid.uuid4()}@alertsvc",
            zone=found.name,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            place=place,
            description=description,
            created_by=created_by,
            created_at=now,
        )
        session.add(meeting)
        await session.flush()
        residents = await residents_of(session, found)
        planned = await _plan(session, meeting, residents, runtime.settings.community_weekly_cap, now)
        await record(session, created_by, "meeting.create", "meeting", str(meeting.id), {"zone": found.name})
        return _view(meeting), planned


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise MeetingError("starts_at", "the meeting must start in the future")
    if ends_at <= starts_at:
        raise MeetingError("ends_at", "the meeting must end after it starts")
    if ends_at - starts_at > MAX_LENGTH:
        raise MeetingError("ends_at", "a meeting lasts at most two days")


async def _not_started(session: AsyncSession, meeting_id: int, now: datetime) -> Meeting:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(NO_MEETING)
    if meeting.starts_at <= now:
        raise Conflict(STARTED)
    return meeting


async def get_meeting(runtime: Runtime, meeting_id: int) -> MeetingView:
    """One meeting, cancelled or not; :class:`~alertsvc.errors.NotFound` for none with this id."""
    async with runtime.sessions() as session:
        meeting = await session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound(NO_MEETING)
        return _view(meeting)


async def update_meeting(
    runtime: Runtime,
    meeting_id: int,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    description: str,
    actor: str,
) -> tuple[MeetingView, int]:
    """Change a meeting that has not started (same rules as :func:`create_meeting`); the meeting and how many
    reminders were planned again for new times. :class:`~alertsvc.errors.NotFound`, :class:`~alertsvc.errors.Conflict`
    (it has started, or was cancelled) or :class:`MeetingError`."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        meeting = await _not_started(session, meeting_id, now)
        if meeting.cancelled_at is not None:
            raise Conflict(CANCELLED)
        _check_times(starts_at, ends_at, now)
        wanted = {"title": title, "starts_at": starts_at, "ends_at": ends_at, "place": place,
                  "description": description}  # fmt: skip
        fields = sorted(name for name, value in wanted.items() if getattr(meeting, name) != value)
        if not fields:
            return _view(meeting), 0
        for name in fields:
            setattr(meeting, name, wanted[name])
        meeting.sequence = (meeting.sequence or 0) + 1
        planned = 0
        if "starts_at" in fields:
            subject = f"meeting:{meeting.id}"
            await session.execute(
                delete(CommunitySend).where(
                    CommunitySend.subject == subject, CommunitySend.kind == REMINDER, CommunitySend.due_at > now
                )
            )
            kept = set(
                await session.scalars(
                    select(CommunitySend.resident_id).where(
                        CommunitySend.subject == subject, CommunitySend.kind == REMINDER
                    )
                )
            )
            invited = set(
                await session.scalars(
                    select(CommunitySend.resident_id).where(
                        CommunitySend.subject == subject, CommunitySend.kind == INVITATION
                    )
                )
            )
            residents = [row for row in await residents_of(session, _zone(runtime, meeting.zone))
                         if row.id in invited and row.id not in kept]  # fmt: skip
            weekly_cap = runtime.settings.community_weekly_cap
            planned = await _plan(session, meeting, residents, weekly_cap, now, kinds=(REMINDER,))
        detail = {"zone": meeting.zone, "fields": fields}
        await record(session, actor, "meeting.update", "meeting", str(meeting.id), detail)
        return _view(meeting), planned


async def cancel_meeting(runtime: Runtime, meeting_id: int, *, actor: str) -> MeetingView:
    """Call off a meeting that has not started: it is kept, marked cancelled (when, by whom), its calendar sequence
    moved on, and audited; its messages not yet sent are skipped by the sender. Cancelling a cancelled meeting
    changes nothing and writes no second audit row. :class:`~alertsvc.errors.NotFound` or
    :class:`~alertsvc.errors.Conflict` (it has started)."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        meeting = await session.get(Meeting, meeting_id)
        if meeting is not None and meeting.cancelled_at is not None:
            return _view(meeting)
        meeting = await _not_started(session, meeting_id, now)
        meeting.cancelled_at, meeting.cancelled_by = now, actor
        meeting.sequence = (meeting.sequence or 0) + 1
        await record(session, actor, "meeting.cancel", "meeting", str(meeting_id), {"zone": meeting.zone})
        return _view(meeting)


async def upcoming_meetings(runtime: Runtime, zone: str | None, limit: int = 50) -> list[MeetingView]:
    """The zone's meetings (every zone's for None) that have not ended, soonest first, cancelled ones included (they
    say so); :class:`UnknownZone` for no such zone."""
    query = select(Meeting).where(Meeting.ends_at > utcnow())
    if zone is not None:
        query = query.where(Meeting.zone == _zone(runtime, zone).name)
    query = query.order_by(Meeting.starts_at, Meeting.id).limit(limit)
    async with runtime.sessions() as session:
        return await _views(session, list(await session.scalars(query)))


async def past_meetings(runtime: Runtime, zone: str | None = None, limit: int = 50) -> list[MeetingView]:
    """Meetings that have ended (of one zone, or of all), latest first; :class:`UnknownZone` for no such zone."""
    query = select(Meeting).where(Meeting.ends_at <= utcnow())
    if zone is not None:
        query = query.where(Meeting.zone == _zone(runtime, zone).name)
    async with runtime.sessions() as session:
        rows = await session.scalars(query.order_by(Meeting.starts_at.desc(), Meeting.id.desc()).limit(limit))
        return await _views(session, list(rows))


async def planned_sends(runtime: Runtime, meeting_id: int) -> list[tuple[int, str, str, datetime]]:
    """The messages planned for a meeting: (resident id, kind, language, due), in due order."""
    query = (
        select(CommunitySend)
        .where(CommunitySend.subject == f"meeting:{meeting_id}")
        .order_by(CommunitySend.due_at, CommunitySend.id)
    )
    async with runtime.sessions() as session:
        return [(row.resident_id, row.kind, row.language, row.due_at) for row in await session.scalars(query)]


async def meetings_ics(runtime: Runtime, zone: str, base_url: str) -> bytes:
    """The zone's upcoming meetings as an iCalendar feed (RFC 5545), one VEVENT each with a stable UID and its
    SEQUENCE; a cancelled one stays in the feed with ``STATUS:CANCELLED``, so calendars update it in place."""
    meetings = await upcoming_meetings(runtime, zone, limit=200)
    calendar = Calendar()
    calendar.add("prodid", "-//alertsvc//community meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{_zone(runtime, zone).name}: meetings")
    for meeting in meetings:
        event = Event()
        event.add("uid", meeting.uid)
        event.add("dtstamp", utcnow())
        event.add("dtstart", meeting.starts_at)
        event.add("dtend", meeting.ends_at)
        event.add("sequence", meeting.sequence)
        event.add("status", "CANCELLED" if meeting.cancelled_at is not None else "CONFIRMED")
        event.add("summary", meeting.title)
        event.add("location", meeting.place)
        if meeting.description:
            event.add("description", meeting.description)
        event.add("url", f"{base_url.rstrip('/')}/z/{meeting.zone}")
        calendar.add_component(event)
    document: bytes = calendar.to_ical()
    return document

"""What becomes of a planned community message: claimed once, checked again, sent or skipped, and counted for staff.

The planners (:mod:`alertsvc.community.meetings`, :mod:`alertsvc.community.priorities`) write ``community_sends``
rows as ``pending`` with the moment each may go. The sender job (:mod:`alertsvc.dispatch.community_sender`) calls
this module, the owner of the rows' states (migration 0015), in three short transactions around the provider call:

1. :func:`claim_due` moves due rows ``pending`` → ``sending`` with one guarded ``UPDATE ... WHERE state =
   'pending' AND due_at <= now``: only the rows this statement moved come back, so two workers (or a job run twice)
   never send one message twice. Each claimed row is then checked again, because time passed since planning:
   the resident turned community messages off, or every contact sent STOP (skipped); the meeting was cancelled or
   has started, the priority was hidden or moved to another status (skipped); now falls in the resident's quiet
   hours, or the last seven days already hold ``weekly_cap`` messages sent to them (back to ``pending``, due when
   allowed). What is left is :class:`ReadySend`, with everything the message needs, so no session is held while
   sending.
2. The job sends each through the channel adapters and records the outcome with :func:`record_outcomes`:
   ``sent`` on the provider's accept (with its id), ``failed`` with the error code on a refusal.
3. :func:`close_interrupted`: a row still ``sending`` long after its claim belongs to a worker that died mid-send.
   It may or may not have reached the provider, and a community message is never worth saying twice: it ends
   ``failed`` (``interrupted``), not sent again (at most once).

One message per resident, on the first contact of SMS, e-mail, push that is confirmed and has not opted out: a
community message is not urgent, so it is said once, on the channel the resident reads first, and the weekly cap
counts messages a person reads rather than copies of one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import String, cast, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.community.timing import WEEK, quiet_until
from alertsvc.residents.manage_links import manage_link_token
from alertsvc.residents.message_classes import community_opted_in
from alertsvc.store.models import CommunitySend, Contact, Meeting, Priority, Resident

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime
    from alertsvc.settings import Settings

__all__ = [
    "CHANNEL_ORDER",
    "FAILED",
    "INTERRUPTED_AFTER",
    "NO_MESSAGES",
    "PENDING",
    "SENDING",
    "SENT",
    "SKIPPED",
    "MessageCounts",
    "Outcome",
    "ReadySend",
    "claim_due",
    "close_interrupted",
    "counted_for_cap",
    "counts_by",
    "counts_in",
    "due_ids",
    "meeting_subjects",
    "priority_subjects",
    "record_outcomes",
]

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
CHANNEL_ORDER = ("sms", "email", "push")
INTERRUPTED_AFTER = timedelta(minutes=15)
"""A claim older than this (three times the longest a batch takes, the job timeout included) lost its worker."""

OFF = "community messages turned off"
NO_CONTACT = "no confirmed contact that has not opted out (STOP)"
MEETING_GONE = "meeting deleted"
MEETING_CANCELLED = "meeting cancelled"
MEETING_STARTED = "meeting already started"
PRIORITY_GONE = "priority hidden or deleted"
PRIORITY_MOVED = "the priority's status changed since; the newer one is told instead"
RESPONSE_WITHDRAWN = "response withdrawn"
INTERRUPTED = "the worker stopped while sending; not sent again, so that nobody gets it twice"


@dataclass(frozen=True, slots=True)
class ReadySend:
    """One claimed message with what rendering and sending it need (no database access after the claim)."""

    id: int
    kind: str
    language: str
    channel: str
    address: str
    timezone: str
    manage_token: str
    zone: str
    title: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str = ""
    status: str = ""
    response: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the provider said about one :class:`ReadySend`: its id on accept, else the error code and reason."""

    id: int
    channel: str
    provider_id: str | None = None
    error_code: str | None = None
    reason: str | None = None
    unsent: bool = False
    """Certainly not sent (the rate limiter could not be asked before the send): back to ``pending``."""


async def due_ids(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Pending messages due at ``now``, oldest due first (the index on (state, due_at))."""
    query = (
        select(CommunitySend.id)
        .where(CommunitySend.state == PENDING, CommunitySend.due_at <= now)
        .order_by(CommunitySend.due_at, CommunitySend.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def counted_for_cap(session: AsyncSession, resident_id: int, since: datetime) -> list[datetime]:
    """Due times of the resident's messages after ``since`` that count against the weekly cap when planning: not
    those skipped, nor those still pending of a meeting since cancelled (they will be skipped), so a meeting
    called off and held again the same week still reaches its residents."""
    cancelled = select(literal("meeting:") + cast(Meeting.id, String)).where(Meeting.cancelled_at.is_not(None))
    query = select(CommunitySend.due_at).where(
        CommunitySend.resident_id == resident_id,
        CommunitySend.due_at > since,
        CommunitySend.state != SKIPPED,
        ~((CommunitySend.state == PENDING) & CommunitySend.subject.in_(cancelled)),
    )
    return list(await session.scalars(query))


async def close_interrupted(session: AsyncSession, now: datetime) -> int:
    """Claims older than :data:`INTERRUPTED_AFTER` end ``failed`` (``interrupted``); how many."""
    result = await session.execute(
        update(CommunitySend)
        .where(CommunitySend.state == SENDING, CommunitySend.claimed_at < now - INTERRUPTED_AFTER)
        .values(state=FAILED, error_code="interrupted", reason=INTERRUPTED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _skip(row: CommunitySend, reason: str) -> None:
    row.state, row.reason = SKIPPED, reason


def _defer(row: CommunitySend, until: datetime) -> None:
    row.state, row.claimed_at, row.due_at = PENDING, None, until


@dataclass(frozen=True, slots=True)
class _About:
    """What a message is about: a meeting's or a priority's words, or why it is no longer to be sent."""

    zone: str = ""
    title: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str = ""
    status: str = ""
    response: str = ""
    stale: str | None = None


async def _about(session: AsyncSession, subject: str, now: datetime, cache: dict[str, _About]) -> _About:
    if subject in cache:
        return cache[subject]
    kind, _, rest = subject.partition(":")
    found = _About(stale=f"unknown subject {kind}")
    if kind == "meeting":
        meeting = await session.get(Meeting, int(rest))
        if meeting is None:
            found = _About(stale=MEETING_GONE)
        elif meeting.cancelled_at is not None:
            found = _About(stale=MEETING_CANCELLED)
        elif meeting.starts_at <= now:
            found = _About(stale=MEETING_STARTED)
        else:
            found = _About(zone=meeting.zone, title=meeting.title, starts_at=meeting.starts_at,
                           ends_at=meeting.ends_at, place=meeting.place)  # fmt: skip
    elif kind == "priority":
        priority_id, _, status = rest.partition(":")
        priority = await session.get(Priority, int(priority_id))
        if priority is None or priority.hidden:
            found = _About(stale=PRIORITY_GONE)
        elif priority.status != status:
            found = _About(stale=PRIORITY_MOVED)
        elif not priority.response:
            found = _About(stale=RESPONSE_WITHDRAWN)
        else:
            found = _About(zone=priority.zone, title=priority.title, status=priority.status,
                           response=priority.response)  # fmt: skip
    cache[subject] = found
    return found


async def _first_contacts(session: AsyncSession, resident_ids: list[int]) -> dict[int, Contact]:
    """Each resident's first reachable contact in :data:`CHANNEL_ORDER` (confirmed, not opted out)."""
    rows = await session.scalars(
        select(Contact).where(
            Contact.resident_id.in_(resident_ids), Contact.confirmed_at.is_not(None), Contact.opted_out_at.is_(None)
        )
    )
    best: dict[int, Contact] = {}
    rank = {channel: position for position, channel in enumerate(CHANNEL_ORDER)}
    for contact in rows:
        if contact.channel not in rank:
            continue
        held = best.get(contact.resident_id)
        if held is None or (rank[contact.channel], contact.id) < (rank[held.channel], held.id):
            best[contact.resident_id] = contact
    return best


async def _sent_this_week(session: AsyncSession, resident_ids: list[int], now: datetime) -> dict[int, list[datetime]]:
    rows = await session.execute(
        select(CommunitySend.resident_id, CommunitySend.sent_at).where(
            CommunitySend.resident_id.in_(resident_ids), CommunitySend.state == SENT,
            CommunitySend.sent_at > now - WEEK,
        )
    )  # fmt: skip
    found: dict[int, list[datetime]] = defaultdict(list)
    for resident_id, sent_at in rows:
        if sent_at is not None:  # always set with ``sent``; the column is nullable for the other states
            found[int(resident_id)].append(sent_at)
    return found


async def claim_due(
    session: AsyncSession, ids: list[int], now: datetime, weekly_cap: int, settings: Settings
) -> list[ReadySend]:
    """Claim those of ``ids`` still pending and due, check each again (see the module), and return what may be
    sent now. One transaction (the caller's); rows skipped or deferred are written in it too."""
    if not ids:
        return []
    claimed = list(
        await session.scalars(
            update(CommunitySend)
            .where(CommunitySend.id.in_(ids), CommunitySend.state == PENDING, CommunitySend.due_at <= now)
            .values(state=SENDING, claimed_at=now)
            .returning(CommunitySend.id)
        )
    )
    if not claimed:
        return []
    rows = list(
        await session.scalars(
            select(CommunitySend)
            .where(CommunitySend.id.in_(claimed))
            .order_by(CommunitySend.id)
            .execution_options(populate_existing=True)
        )
    )
    resident_ids = sorted({row.resident_id for row in rows})
    residents = {r.id: r for r in await session.scalars(select(Resident).where(Resident.id.in_(resident_ids)))}
    chose = await community_opted_in(session, resident_ids)
    contacts = await _first_contacts(session, resident_ids)
    sent = await _sent_this_week(session, resident_ids, now)
    subjects: dict[str, _About] = {}
    ready: list[ReadySend] = []
    for row in rows:
        about = await _about(session, row.subject, now, subjects)
        resident = residents.get(row.resident_id)
        contact = contacts.get(row.resident_id)
        if about.stale is not None:
            _skip(row, about.stale)
        elif resident is None or row.resident_id not in chose:
            _skip(row, OFF)
        elif contact is None:
            _skip(row, NO_CONTACT)
        elif (quiet_end := quiet_until(resident.quiet_start, resident.quiet_end, resident.timezone, now)) is not None:
            _defer(row, quiet_end)  # never inside quiet hours: it goes when they end
        elif weekly_cap <= 0:
            _skip(row, OFF)
        elif len(sent[row.resident_id]) >= weekly_cap:
            _defer(row, sorted(sent[row.resident_id])[-weekly_cap] + WEEK + timedelta(seconds=1))
        else:
            sent[row.resident_id].append(now)  # a second message of this batch counts against the cap too
            ready.append(
                ReadySend(
                    id=row.id, kind=row.kind, language=row.language or resident.language, channel=contact.channel,
                    address=contact.address, timezone=resident.timezone or "UTC",
                    manage_token=manage_link_token(settings, resident, now), zone=about.zone, title=about.title,
                    starts_at=about.starts_at, ends_at=about.ends_at, place=about.place, status=about.status,
                    response=about.response,
                )
            )  # fmt: skip
            row.channel = contact.channel
    return ready


async def record_outcomes(session: AsyncSession, outcomes: list[Outcome], now: datetime) -> None:
    """Write what the providers said: ``sent`` with the provider id, ``failed`` with the code and reason, or
    ``pending`` again for one certainly not sent. Only
    rows still ``sending`` move (one closed as interrupted meanwhile stays as it is)."""
    for outcome in outcomes:
        values: dict[str, object]
        if outcome.unsent:
            values = {"state": PENDING, "claimed_at": None}
        elif outcome.error_code is None:
            values = {"state": SENT, "provider_id": outcome.provider_id, "sent_at": now}
        else:
            values = {"state": FAILED, "error_code": outcome.error_code[:40], "reason": (outcome.reason or "")[:200]}
        await session.execute(
            update(CommunitySend)
            .where(CommunitySend.id == outcome.id, CommunitySend.state == SENDING)
            .values(channel=outcome.channel, **values)
        )


@dataclass(frozen=True, slots=True)
class MessageCounts:
    """A meeting's or priority's messages for staff: planned (not sent yet), sent, failed, skipped."""

    planned: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.planned + self.sent + self.failed + self.skipped


NO_MESSAGES = MessageCounts()
"""The counts of an item with no message (shared: the counts are frozen)."""


def _subject_item(subject: str) -> int:
    return int(subject.split(":")[1])


async def counts_in(session: AsyncSession, subjects: list[str]) -> dict[int, MessageCounts]:
    """How many messages of the meetings or priorities named by ``subjects`` (``meeting:12``,
    ``priority:3:done``: one kind per call) are in each state, by item id; items with no message left out. Reads
    the unique index on (subject, kind, resident), so a public page can afford it."""
    if not subjects:
        return {}
    query = (
        select(CommunitySend.subject, CommunitySend.state, func.count())
        .where(CommunitySend.subject.in_(subjects))
        .group_by(CommunitySend.subject, CommunitySend.state)
    )
    states: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for subject, state, count in await session.execute(query):
        states[_subject_item(str(subject))][str(state)] += int(count)
    return {
        item: MessageCounts(
            planned=found[PENDING] + found[SENDING], sent=found[SENT], failed=found[FAILED], skipped=found[SKIPPED]
        )
        for item, found in states.items()
    }


def meeting_subjects(ids: list[int]) -> list[str]:
    return [f"meeting:{item}" for item in ids]


def priority_subjects(ids: list[int], statuses: tuple[str, ...]) -> list[str]:
    return [f"priority:{item}:{status}" for item in ids for status in statuses]


async def counts_by(runtime: Runtime, subjects: list[str]) -> dict[int, MessageCounts]:
    """:func:`counts_in` in a session of its own."""
    async with runtime.sessions() as session:
        return await counts_in(session, subjects)

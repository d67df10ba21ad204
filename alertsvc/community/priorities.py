"""Residents' priorities ("you said, we did"): residents of a zone propose and support them, staff answer them.

A resident acts only through their own signed manage link (the web layer checks the signature and hands the
resident's id here): they may propose a priority for a zone they live in (subscribed to it by name, or their
position inside it) and support any visible priority of such a zone, once (the supports table's primary key is
(priority, resident), so a repeat or a race adds nothing). Staff moderate: hide a proposal, set its status (open,
in progress, done) and publish a response, each change written to the audit log in the same transaction (who,
which priority, what changed: the status moved from and to, a response published or withdrawn with its length, hidden
or shown; never the response's text or anything about a resident). The public list shows the title, the number of
supporters, the status and the response, never who proposed or supported.

Telling supporters: publishing a response (or a new status with a response) plans one community message per
supporter who chose community messages and can be reached, in the ``community_sends`` table the meetings use
(subject ``priority:<id>:<status>``, kind ``response``, so each status is told once), due outside their quiet hours
and within the weekly cap, in their language. :mod:`alertsvc.community.sending` sends them (the status and the
response as they are at send time: a message of a status since replaced, or of a response withdrawn, is skipped),
and the staff list counts each priority's messages by state. Owner of ``priorities`` and ``priority_supports``;
units of work as in :mod:`alertsvc.runtime`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from shapely import Point
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.community.meetings import UnknownZone, reachable_residents
from alertsvc.community.sending import NO_MESSAGES, MessageCounts, counted_for_cap, counts_in, priority_subjects
from alertsvc.community.timing import WEEK, allowed_at
from alertsvc.errors import Forbidden, NotFound
from alertsvc.geo.zones import Zone, zone_key
from alertsvc.security.audit import record
from alertsvc.store.db import transaction
from alertsvc.store.models import CommunitySend, Priority, PrioritySupport, Resident

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "RESPONSE",
    "NotYourZone",
    "PriorityNotFound",
    "PriorityStatus",
    "PriorityView",
    "UnknownZone",
    "moderate",
    "propose",
    "resident_zones",
    "staff_priorities",
    "support",
    "zone_priorities",
]

RESPONSE = "response"
TITLE_MAX = 200
RESPONSE_MAX = 5000


class PriorityStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class PriorityNotFound(NotFound):
    """No priority with this id (or, for a resident, none visible)."""


class NotYourZone(Forbidden):
    """The resident does not live in the priority's zone (or the zone they named)."""


@dataclass(frozen=True, slots=True)
class PriorityView:
    """What anyone may see of a priority (``hidden`` matters to staff only)."""

    id: int
    zone: str
    title: str
    supporters: int
    status: str
    response: str | None
    hidden: bool = False
    supported: bool = False
    """Whether the resident asking has supported it (False when nobody is asking)."""
    messages: MessageCounts = NO_MESSAGES
    """Its messages to supporters by state (staff's list only; empty elsewhere)."""


def _covers(zone: Zone, lat: float, lon: float) -> bool:
    point = Point(lon, lat)
    return any(polygon.to_shapely().covers(point) for polygon in zone.polygons)


def _zones_of(runtime: Runtime, resident: Resident) -> list[str]:
    """The zones ``resident`` lives in: the one subscribed to by name, and each one covering their position."""
    named = zone_key(resident.zone) if resident.zone else None
    return [
        zone.name
        for zone in runtime.zones
        if (named is not None and zone_key(zone.name) == named) or _covers(zone, resident.lat, resident.lon)
    ]


async def _resident(session: AsyncSession, resident_id: int) -> Resident:
    resident = await session.get(Resident, resident_id)
    if resident is None:
        raise PriorityNotFound("no such resident")
    return resident


async def resident_zones(runtime: Runtime, resident_id: int) -> list[str]:
    """The names of the zones a resident lives in, in the registry's order (empty for an unknown resident)."""
    async with runtime.sessions() as session:
        resident = await session.get(Resident, resident_id)
        return [] if resident is None else _zones_of(runtime, resident)


async def _views(session: AsyncSession, rows: list[Priority], resident_id: int | None) -> list[PriorityView]:
    ids = [row.id for row in rows]
    counts: dict[int, int] = {}
    mine: set[int] = set()
    if ids:
        counted = await session.execute(
            select(PrioritySupport.priority_id, func.count())
            .where(PrioritySupport.priority_id.in_(ids))
            .group_by(PrioritySupport.priority_id)
        )
        counts = {priority_id: count for priority_id, count in counted.all()}
        if resident_id is not None:
            mine = set(
                await session.scalars(
                    select(PrioritySupport.priority_id).where(
                        PrioritySupport.priority_id.in_(ids), PrioritySupport.resident_id == resident_id
                    )
                )
            )
    views = [
        PriorityView(
            id=row.id,
            zone=row.zone,
            title=row.title,
            supporters=counts.get(row.id, 0),
            status=row.status,
            response=row.response,
            hidden=row.hidden,
            supported=row.id in mine,
        )
        for row in rows
    ]
    return sorted(views, key=lambda view: (view.status == PriorityStatus.DONE, -view.supporters, view.id))


async def zone_priorities(
    runtime: Runtime, zone: str, *, include_hidden: bool = False, resident_id: int | None = None
) -> list[PriorityView]:
    """The zone's priorities, open ones first, most supported first; hidden ones only for staff.
    :class:`UnknownZone` for no such zone."""
    found = runtime.zones.find(zone)
    if found is None:
        raise UnknownZone(zone)
    query = select(Priority).where(Priority.zone == found.name)
    if not include_hidden:
        query = query.where(Priority.hidden.is_(False))
    async with runtime.sessions() as session:
        return await _views(session, list(await session.scalars(query)), resident_id)


async def staff_priorities(runtime: Runtime, zone: str | None = None) -> list[PriorityView]:
    """Every priority (hidden ones included) of one zone, or of every zone when ``zone`` is None, for moderation:
    by zone in the registry's order, then as the public sees them. :class:`UnknownZone` for no such zone."""
    query = select(Priority)
    order = {name: index for index, name in enumerate(runtime.zones.names())}
    if zone is not None:
        found = runtime.zones.find(zone)
        if found is None:
            raise UnknownZone(zone)
        query = query.where(Priority.zone == found.name)
    async with runtime.sessions() as session:
        views = await _views(session, list(await session.scalars(query)), None)
        statuses = tuple(status.value for status in PriorityStatus)
        counts = await counts_in(session, priority_subjects([view.id for view in views], statuses))
    views = [replace(view, messages=counts[view.id]) if view.id in counts else view for view in views]
    return sorted(views, key=lambda view: order.get(view.zone, len(order)))  # stable: keeps the public order


async def propose(runtime: Runtime, resident_id: int, zone: str, title: str) -> PriorityView:
    """A new open priority proposed by a resident for a zone they live in (its proposer supports it).
    :class:`NotYourZone` otherwise; ``ValueError`` for an empty or too long title."""
    title = " ".join(title.split())
    if not title or len(title) > TITLE_MAX:
        raise ValueError(f"a title has 1 to {TITLE_MAX} characters")
    async with transaction(runtime.sessions) as session:
        resident = await _resident(session, resident_id)
        found = runtime.zones.find(zone)
        if found is None or found.name not in _zones_of(runtime, resident):
            raise NotYourZone("the resident does not live in this zone")
        now = utcnow()
        priority = Priority(
            zone=found.name, title=title, status=PriorityStatus.OPEN.value, hidden=False,
            proposed_by=resident.id, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(priority)
        await session.flush()
        session.add(PrioritySupport(priority_id=priority.id, resident_id=resident.id, created_at=now))
        await session.flush()
        return (await _views(session, [priority], resident.id))[0]


async def support(runtime: Runtime, resident_id: int, priority_id: int) -> bool:
    """Record a resident's support of a visible priority of their zone; True when new, False when they had
    already supported it. :class:`PriorityNotFound` (none visible) or :class:`NotYourZone`."""
    try:
        async with transaction(runtime.sessions) as session:
            resident = await _resident(session, resident_id)
            priority = await session.get(Priority, priority_id)
            if priority is None or priority.hidden:
                raise PriorityNotFound("no priority with that id")
            if priority.zone not in _zones_of(runtime, resident):
                raise NotYourZone("the resident does not live in this zone")
            if await session.get(PrioritySupport, (priority_id, resident_id)) is not None:
                return False
            session.add(PrioritySupport(priority_id=priority_id, resident_id=resident_id, created_at=utcnow()))
            await session.flush()
            return True
    except IntegrityError:
        return False  # the same support committed at the same moment by a second request


async def _plan_response(session: AsyncSession, runtime: Runtime, priority: Priority, now: datetime) -> int:
    """Plan the response's community message to each reachable supporter who chose community messages."""
    subject = f"priority:{priority.id}:{priority.status}"
    supporters = list(
        await session.scalars(
            select(Resident)
            .join(PrioritySupport, PrioritySupport.resident_id == Resident.id)
            .where(PrioritySupport.priority_id == priority.id)
        )
    )
    reachable = await reachable_residents(session, [resident.id for resident in supporters])
    told = set(
        await session.scalars(
            select(CommunitySend.resident_id).where(CommunitySend.subject == subject, CommunitySend.kind == RESPONSE)
        )
    )
    planned = 0
    for resident in supporters:
        if resident.id not in reachable or resident.id in told:
            continue
        earlier = await counted_for_cap(session, resident.id, now - WEEK)
        due = allowed_at(
            now, resident.quiet_start, resident.quiet_end, resident.timezone, earlier,
            runtime.settings.community_weekly_cap,
        )  # fmt: skip
        if due is None:
            continue
        send = CommunitySend(subject=subject, kind=RESPONSE, resident_id=resident.id, language=resident.language)
        send.due_at = due
        session.add(send)
        planned += 1
    return planned


async def moderate(
    runtime: Runtime,
    priority_id: int,
    *,
    actor: str,
    status: PriorityStatus | None = None,
    response: str | None = None,
    hidden: bool | None = None,
) -> tuple[PriorityView, int]:
    """Staff's changes to a priority (each optional; a value equal to the current one changes nothing and is not
    audited); the priority as it is now and how many supporters' messages were planned (a response is told to
    supporters once per status). ``actor`` is who decided (``user:3``, ``key:NAME``), for the audit log.
    :class:`PriorityNotFound`; ``ValueError`` for a response longer than :data:`RESPONSE_MAX`."""
    if response is not None and len(response.strip()) > RESPONSE_MAX:
        raise ValueError(f"a response has at most {RESPONSE_MAX} characters")
    async with transaction(runtime.sessions) as session:
        priority = await session.get(Priority, priority_id)
        if priority is None:
            raise PriorityNotFound("no priority with that id")
        now = utcnow()
        subject = str(priority.id)
        changed = False
        if status is not None and status.value != priority.status:
            moved: dict[str, object] = {"zone": priority.zone, "from": priority.status, "to": status.value}
            await record(session, actor, "priority.status", "priority", subject, moved)
            priority.status, changed = status.value, True
        if response is not None and (response.strip() or None) != priority.response:
            text = response.strip() or None
            action = "priority.respond" if text else "priority.response_withdrawn"
            detail = {"zone": priority.zone, "length": len(text or ""), "replaced": priority.response is not None}
            await record(session, actor, action, "priority", subject, detail)
            priority.response, changed = text, True
        if hidden is not None and hidden != priority.hidden:
            action = "priority.hide" if hidden else "priority.unhide"
            await record(session, actor, action, "priority", subject, {"zone": priority.zone})
            priority.hidden, changed = hidden, True
        if changed:
            priority.updated_at = now
        await session.flush()
        planned = 0
        if priority.response and not priority.hidden:
            planned = await _plan_response(session, runtime, priority, now)
        return (await _views(session, [priority], None))[0], planned

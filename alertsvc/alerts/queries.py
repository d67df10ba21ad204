"""Reading alerts for the pages and the API that show them: the list, one alert with its progress, answers,
deliveries and history, the reach of an area, and the live progress.

Each function is one unit of work on the :class:`~alertsvc.runtime.Runtime` (the convention is in
:mod:`alertsvc.runtime`): it opens its session, reads, and returns rows loaded in full or plain values, so the
routers of ``web/`` and ``api/`` read no table themselves. :data:`Alert` is the row type they receive, named here
so that a router need not import the store to say what it holds. A function given an alert id that names no alert
raises :class:`~alertsvc.alerts.service.AlertNotFound`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from alertsvc.alerts import service
from alertsvc.alerts.reach import Reach, reach_of
from alertsvc.alerts.thread import follow_ups, referenced_by
from alertsvc.alerts.views import AlertOut, alert_out
from alertsvc.clock import utcnow
from alertsvc.geo.areas import Area
from alertsvc.security.audit import events_for
from alertsvc.security.names import Actor, actors
from alertsvc.store.models import Alert, AuditEvent
from alertsvc.tracking import live
from alertsvc.tracking.deliveries import DeliveryPageData, deliveries_page
from alertsvc.tracking.responses import Responses, responses_for
from alertsvc.tracking.stats import alert_counts, suppressed_reasons

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "PAGE",
    "Actor",
    "Alert",
    "AlertDetail",
    "AuditEvent",
    "DeliveryPageData",
    "ListRow",
    "Responses",
    "alert_detail",
    "alert_history",
    "alert_listing",
    "alert_progress",
    "alert_responses",
    "alert_suppressed",
    "alert_titles",
    "alert_views",
    "deliveries",
    "get_alert",
    "list_alerts",
    "progress_stream",
    "reach",
]

PAGE = 100
ANSWERS_SHOWN = 200
"""How many help requests, unanswered residents and replies one alert's page lists."""


async def get_alert(runtime: Runtime, alert_id: str) -> Alert:
    """The alert; :class:`alertsvc.alerts.service.AlertNotFound` when there is none."""
    async with runtime.sessions() as session:
        return await service.get_alert(session, alert_id)


async def list_alerts(
    runtime: Runtime,
    state: str | None = None,
    status: str | None = None,
    limit: int = PAGE,
    *,
    before: tuple[datetime, str] | None = None,
) -> list[Alert]:
    """Newest first, optionally filtered by lifecycle state and CAP status; with ``before`` (an alert's creation
    time and id, a page's last), only the alerts after it in that order, so pages never skip or repeat one."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    if state:
        query = query.where(Alert.state == state)
    if status:
        query = query.where(Alert.status == status)
    if before is not None:
        created_at, alert_id = before
        query = query.where(
            (Alert.created_at < created_at) | ((Alert.created_at == created_at) & (Alert.id < alert_id))
        )
    async with runtime.sessions() as session:
        return list(await session.scalars(query))


ANCESTORS_FOLLOWED = 20
"""At most this many steps from a follow-up back to the first alert of its thread (a guard against loops)."""


@dataclass(frozen=True, slots=True)
class ListRow:
    """One line of the alerts list: the alert, where it sits in its thread, and what it follows up."""

    alert: Alert
    depth: int
    """0 for the first alert of a thread (or one whose thread's first alert is not listed), 1 for its follow-ups."""
    parent: Alert | None
    """What an Update replaces or a Cancel cancels (the first alert it references), when stored."""

    @property
    def repeats_parent(self) -> bool:
        """A Cancel whose headline is its parent's (or none): the list names it "Cancel of …" instead, so the
        row never reads as the instruction it withdraws."""
        if self.alert.msg_type != "Cancel":
            return False
        own = (self.alert.headline or "").strip()
        return not own or (self.parent is not None and own == (self.parent.headline or "").strip())


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[ListRow]
    people: dict[str, Actor]


async def alert_listing(runtime: Runtime, state: str | None = None, status: str | None = None) -> Listing:
    """The alerts list with threads together: each thread (an alert, its Updates and Cancels) where its newest
    listed member falls in newest-first order, its first alert above, its follow-ups below in the order they
    were made; authors by name."""
    alerts = await list_alerts(runtime, state, status)
    async with runtime.sessions() as session:
        parents: dict[str, Alert | None] = {}
        roots: dict[str, str] = {}
        for alert in alerts:
            chain = alert
            for _step in range(ANCESTORS_FOLLOWED):
                if chain.id not in parents:
                    earlier = await referenced_by(session, chain) if chain.msg_type in ("Update", "Cancel") else []
                    parents[chain.id] = earlier[0] if earlier else None
                parent = parents[chain.id]
                if parent is None or parent.id == alert.id:
                    break
                chain = parent
            roots[alert.id] = chain.id
        people = await actors(session, [alert.submitted_by for alert in alerts])
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(roots[alert.id], []).append(alert)
    rows: list[ListRow] = []
    for root_id, members in groups.items():
        ordered = sorted(members, key=lambda member: (member.id != root_id, member.created_at, member.id))
        head = ordered[0].id  # the thread's first alert, or its earliest listed follow-up when that is not listed
        rows.extend(ListRow(member, 0 if member.id == head else 1, parents.get(member.id)) for member in ordered)
    return Listing(rows, people)


async def alert_views(runtime: Runtime, alerts: Sequence[Alert]) -> list[AlertOut]:
    """Each alert as the API shows it, with its delivery counts, answers and time-to-warn, read in one session."""
    views = []
    overdue_before = utcnow() - timedelta(seconds=runtime.settings.receipt_overdue_seconds)
    async with runtime.sessions() as session:
        for alert in alerts:
            counts = await alert_counts(session, alert.id, overdue_before)
            progress = live.channel_progress(counts.stats)
            total, done = sum(row.total for row in progress), sum(row.done for row in progress)
            ttw = await live.time_to_warn(session, alert, total, done)
            out = alert_out(
                alert, counts.stats, counts.acknowledged, counts.help_requested, counts.replies, counts.receipts_overdue
            )
            out.time_to_warn = ttw.seconds()
            views.append(out)
    return views


async def alert_titles(runtime: Runtime, alert_ids: Sequence[str]) -> dict[str, str]:
    """Alert id → its headline (else its CAP identifier), for pages that link alerts by name (the audit log)."""
    wanted = sorted({alert_id for alert_id in alert_ids if alert_id})
    if not wanted:
        return {}
    async with runtime.sessions() as session:
        rows = await session.execute(select(Alert.id, Alert.headline, Alert.identifier).where(Alert.id.in_(wanted)))
        return {str(alert_id): str(headline or identifier) for alert_id, headline, identifier in rows}


async def alert_suppressed(runtime: Runtime, alert_id: str) -> dict[str, int]:
    """Why the alert's suppressed deliveries were not sent → how many (the after-action report shows them)."""
    async with runtime.sessions() as session:
        return await suppressed_reasons(session, alert_id)


async def alert_history(runtime: Runtime, alert_id: str) -> list[AuditEvent]:
    """Who did what to the alert, oldest first."""
    async with runtime.sessions() as session:
        await service.get_alert(session, alert_id)
        return await events_for(session, "alert", alert_id)


async def alert_responses(runtime: Runtime, alert_id: str) -> Responses:
    """Help requests, residents not heard from after a life-safety alert, and free-text replies."""
    async with runtime.sessions() as session:
        return await responses_for(session, await service.get_alert(session, alert_id))


async def deliveries(
    runtime: Runtime,
    alert_id: str,
    *,
    after: int | None = None,
    state: str | None = None,
    channel: str | None = None,
    limit: int = PAGE,
) -> DeliveryPageData:
    """One page of the alert's deliveries in id order, after the delivery id ``after``, filtered by state and
    channel."""
    async with runtime.sessions() as session:
        await service.get_alert(session, alert_id)
        return await deliveries_page(session, alert_id, after=after, state=state, channel=channel, limit=limit)


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """What one alert's page shows beside the alert itself."""

    progress: dict[str, Any] | None
    """The live snapshot (:func:`alertsvc.tracking.live.snapshot`)."""
    answers: Responses
    history: list[AuditEvent]
    reach: Reach | None
    """Who the areas asked about reach now; None when none were."""
    references: list[Alert] = field(default_factory=list)
    """What this alert updates or cancels (CAP ``references``), stored ones."""
    follow_ups: list[Alert] = field(default_factory=list)
    """The Updates and Cancels that followed it (and theirs), oldest first, rejected ones left out."""
    people: dict[str, Actor] = field(default_factory=dict)
    """Every principal the page names (author, decider, timeline, follow-ups' authors) → who it is."""
    suppressed: dict[str, int] = field(default_factory=dict)
    """Why deliveries were suppressed → how many (:func:`alertsvc.tracking.stats.suppressed_reasons`)."""

    @property
    def timeline(self) -> list[TimelineEntry]:
        """The audit trail, the first send and the completion, in time order (the audit rows alone are in id
        order, and the first send and completion are not audit rows: listed after them, a Cancel recorded
        before the sending finished read as if it came first)."""
        return timeline_of(self.history, self.alert_first_sent, self.alert_completed, self.follow_ups)

    alert_first_sent: datetime | None = None
    alert_completed: datetime | None = None

    @property
    def approved_by(self) -> str | None:
        """Who approved the alert, from its audit trail (:func:`approver_of`)."""
        return approver_of(self.history)


def approver_of(history: Sequence[AuditEvent]) -> str | None:
    """The principal that approved an alert: the actor of its ``alert.approve`` row, or of an ``alert.submit``
    that stored it approved at once. Not ``decided_by``: a Cancel or a withdrawal overwrites that with whoever
    cancelled, and the page then said "Approved by" the canceller. None when it was never approved."""
    for event in history:
        if event.action == "alert.approve":
            return event.actor
        if event.action == "alert.submit" and (event.detail or {}).get("state") == "approved":
            return event.actor
    return None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of an alert's timeline: an audit row (``event``), or a milestone with no row (``milestone``:
    ``first_sent``, ``completed``)."""

    at: datetime
    event: AuditEvent | None = None
    milestone: str | None = None
    follow_up: Alert | None = None
    """An Update or Cancel that followed the alert, when it took effect: its approval, or its creation while it
    waits for one (its own rows are on its own page)."""


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def timeline_of(
    history: Sequence[AuditEvent],
    first_sent: datetime | None,
    completed: datetime | None,
    follow_ups: Sequence[Alert] = (),
) -> list[TimelineEntry]:
    """Audit rows, milestones and the follow-ups made since, merged in time order; at the same instant, audit rows
    first (a submission precedes the sending it starts), then milestones, then follow-ups. A follow-up is dated
    from its approval (a Cancel approved an hour after it was asked for cancelled nothing in between), from its
    creation while it still waits (as :mod:`alertsvc.alerts.report` dates "Cancel issued")."""
    entries = [TimelineEntry(_utc(event.at), event=event) for event in history]
    if first_sent is not None:
        entries.append(TimelineEntry(_utc(first_sent), milestone="first_sent"))
    if completed is not None:
        entries.append(TimelineEntry(_utc(completed), milestone="completed"))
    for later in follow_ups:
        took_effect = later.approved_at or later.created_at
        entries.append(TimelineEntry(_utc(took_effect), milestone="follow_up", follow_up=later))
    order = {None: 0, "first_sent": 1, "completed": 2, "follow_up": 3}
    return sorted(entries, key=lambda entry: (entry.at, order[entry.milestone], entry.event.id if entry.event else 0))


async def alert_detail(runtime: Runtime, alert: Alert, areas: list[Area]) -> AlertDetail:
    """The alert's progress, the residents' answers, its audit trail, its thread (what it follows up and what
    followed it), the names of everyone the page shows and, when ``areas`` are given, their reach."""
    async with runtime.sessions() as session:
        history = await events_for(session, "alert", alert.id)
        references = await referenced_by(session, alert)
        later = [member for member in await follow_ups(session, alert) if member.state != "rejected"]
        principals = [alert.submitted_by, alert.decided_by, *(event.actor for event in history)]
        principals += [member.submitted_by for member in [*references, *later]]
        principals += [member.decided_by for member in [*references, *later]]
        return AlertDetail(
            progress=await live.snapshot(session, alert.id, runtime.settings.receipt_overdue_seconds),
            answers=await responses_for(session, alert, limit=ANSWERS_SHOWN),
            history=history,
            reach=(await reach_of(session, areas)).for_status(alert.status) if areas else None,
            references=references,
            follow_ups=later,
            people=await actors(session, principals),
            suppressed=await suppressed_reasons(session, alert.id),
            alert_first_sent=alert.first_sent_at,
            alert_completed=alert.completed_at,
        )


async def alert_progress(runtime: Runtime, alert_id: str) -> dict[str, Any] | None:
    """The live snapshot of the alert's deliveries and answers; None when there is no such alert."""
    async with runtime.sessions() as session:
        return await live.snapshot(session, alert_id, runtime.settings.receipt_overdue_seconds)


def progress_stream(
    runtime: Runtime, alert_id: str, is_disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    """Server-sent events of the alert's progress (:func:`alertsvc.tracking.live.stream`), a session per look."""
    return live.stream(
        runtime.sessions,
        alert_id,
        is_disconnected=is_disconnected,
        overdue_after_s=runtime.settings.receipt_overdue_seconds,
    )


async def reach(runtime: Runtime, areas: list[Area], status: str | None = None) -> Reach | None:
    """Residents and contacts inside ``areas`` now; None when there is no area yet. Given an alert's CAP
    ``status``, what that alert reaches of them (:meth:`Reach.for_status`: test recipients for Exercise and Test)."""
    if not areas:
        return None
    async with runtime.sessions() as session:
        return (await reach_of(session, areas)).for_status(status)

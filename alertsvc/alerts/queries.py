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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from alertsvc.alerts import service
from alertsvc.alerts.reach import Reach, reach_of
from alertsvc.alerts.views import AlertOut, alert_out
from alertsvc.geo.areas import Area
from alertsvc.security.audit import events_for
from alertsvc.store.models import Alert, AuditEvent
from alertsvc.tracking import live
from alertsvc.tracking.deliveries import DeliveryPageData, deliveries_page
from alertsvc.tracking.responses import Responses, responses_for
from alertsvc.tracking.stats import alert_counts

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "PAGE",
    "Alert",
    "AlertDetail",
    "AuditEvent",
    "DeliveryPageData",
    "Responses",
    "alert_detail",
    "alert_history",
    "alert_progress",
    "alert_responses",
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


async def alert_views(runtime: Runtime, alerts: Sequence[Alert]) -> list[AlertOut]:
    """Each alert as the API shows it, with its delivery counts, answers and time-to-warn, read in one session."""
    views = []
    async with runtime.sessions() as session:
        for alert in alerts:
            counts = await alert_counts(session, alert.id)
            progress = live.channel_progress(counts.stats)
            total, done = sum(row.total for row in progress), sum(row.done for row in progress)
            ttw = await live.time_to_warn(session, alert, total, done)
            out = alert_out(alert, counts.stats, counts.acknowledged, counts.help_requested, counts.replies)
            out.time_to_warn = ttw.seconds()
            views.append(out)
    return views


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


async def alert_detail(runtime: Runtime, alert: Alert, areas: list[Area]) -> AlertDetail:
    """The alert's progress, the residents' answers, its audit trail and, when ``areas`` are given, their reach."""
    async with runtime.sessions() as session:
        return AlertDetail(
            progress=await live.snapshot(session, alert.id),
            answers=await responses_for(session, alert, limit=ANSWERS_SHOWN),
            history=await events_for(session, "alert", alert.id),
            reach=await reach_of(session, areas) if areas else None,
        )


async def alert_progress(runtime: Runtime, alert_id: str) -> dict[str, Any] | None:
    """The live snapshot of the alert's deliveries and answers; None when there is no such alert."""
    async with runtime.sessions() as session:
        return await live.snapshot(session, alert_id)


def progress_stream(
    runtime: Runtime, alert_id: str, is_disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    """Server-sent events of the alert's progress (:func:`alertsvc.tracking.live.stream`), a session per look."""
    return live.stream(runtime.sessions, alert_id, is_disconnected=is_disconnected)


async def reach(runtime: Runtime, areas: list[Area]) -> Reach | None:
    """Residents and contacts inside ``areas`` now; None when there is no area yet."""
    if not areas:
        return None
    async with runtime.sessions() as session:
        return await reach_of(session, areas)

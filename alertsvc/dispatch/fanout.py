"""The ``fanout(alert_id)`` job: from an approved alert to queued deliveries, chunk by chunk.

parse → target → filter → plan → enqueue, streamed: each chunk of residents from the bounding-box query is tested
exactly (vectorised), filtered by preferences, written as deliveries in bulk (unique on alert + contact, so a
re-run adds nothing twice), and its ``deliver`` jobs are enqueued at once, so the first messages leave while
later chunks are still being targeted.

The job is safe to run again at any point (a worker killed mid-way, a redelivered job): the alert stays
``dispatching``, the unique key drops the rows already planned, and only new rows are enqueued. Rows planned but
never enqueued (killed between the two) are found by the sweeper.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from arq import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.alerts.cancel_scope import alerts_a_cancel_ends, alerts_a_follow_up_reaches
from alertsvc.alerts.sending_rules import target_area, test_recipients_only, uses_area, uses_references
from alertsvc.alerts.states import AlertState, mark_planned, move
from alertsvc.cap import Alert as CapAlert
from alertsvc.cap import parse_cap_json
from alertsvc.clock import utcnow
from alertsvc.dispatch.audience import AlertFacts, plan_for
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.jobs import DELIVER, deliver_job_id
from alertsvc.dispatch.send_window import any_sending
from alertsvc.geo.targeting import bbox_filter_params
from alertsvc.geo.zone_reach import zones_reached
from alertsvc.lanes import Lane, enqueue_in_lane, lane_of_document
from alertsvc.metrics import FANOUT_SECONDS, PLANNED
from alertsvc.store import audience as audience_store
from alertsvc.store.db import transaction
from alertsvc.store.models import Alert
from alertsvc.tracking import machine
from alertsvc.tracking.pending import has_pending

log = logging.getLogger(__name__)


def alert_facts(cap: CapAlert, expires: datetime | None) -> AlertFacts:
    languages = tuple(info.language for info in cap.info) or ("en-US",)
    return AlertFacts(
        languages=languages,
        categories_by_language={
            info.language: frozenset(str(category) for category in info.category) for info in cap.info
        },
        severity_by_language={info.language: str(info.severity) for info in cap.info},
        test_only=test_recipients_only(cap),
        expires=expires,
    )


async def _recipients_in_area(app: WorkerContext, cap: CapAlert) -> AsyncIterator[list[audience_store.Recipient]]:
    target = target_area(cap, app.zones)
    boxes = bbox_filter_params(target)
    async with app.runtime.sessions() as session:
        async for chunk in audience_store.residents_in_boxes(session, boxes):
            inside = chunk.ids[target.contains(chunk.lats, chunk.lons)]
            if inside.size:
                async with app.runtime.sessions() as lookup:
                    yield await audience_store.recipients_of_residents(lookup, inside.tolist())
    # Residents who subscribed to a whole zone: reached when the area reaches any part of their zone.
    reached = zones_reached(app.zones, target.areas)
    async with app.runtime.sessions() as session:
        async for ids in audience_store.residents_in_zones(session, reached):
            async with app.runtime.sessions() as lookup:
                yield await audience_store.recipients_of_residents(lookup, ids)


async def _recipients_of_references(app: WorkerContext, cap: CapAlert) -> AsyncIterator[list[audience_store.Recipient]]:
    async with app.runtime.sessions() as session:
        referenced = await alerts_a_follow_up_reaches(session, cap.reference_keys())  # with the rest of their thread
        async for contact_ids in audience_store.contacts_that_received(session, referenced):
            async with app.runtime.sessions() as lookup:
                yield await audience_store.recipients_of_contacts(lookup, contact_ids)


async def enqueue_deliveries(
    redis: ArqRedis,
    alert_id: str,
    work: Sequence[tuple[int, str]],
    batch_size: Callable[[str], int],
    lane: Lane,
    tag: str = "0",
) -> int:
    """Enqueue ``deliver`` jobs for (delivery id, channel) pairs, ``batch_size(channel)`` ids a job, in the
    alert's ``lane`` (:mod:`alertsvc.lanes`)."""
    by_channel: dict[str, list[int]] = defaultdict(list)
    for delivery_id, channel in work:
        by_channel[channel].append(delivery_id)
    jobs = 0
    for channel, ids in by_channel.items():
        size = batch_size(channel)
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            await enqueue_in_lane(
                redis,
                DELIVER,
                alert_id,
                channel,
                batch,
                lane=lane,
                job_id=deliver_job_id(alert_id, channel, batch[0], tag),
            )
            jobs += 1
    return jobs


async def _start(app: WorkerContext, alert_id: str) -> Alert | None:
    """Move approved → dispatching (or resume a dispatching one); None when there is nothing to do."""
    async with transaction(app.runtime.sessions) as session:
        alert = await session.get(Alert, alert_id)
        if alert is None:
            return None
        if alert.state == AlertState.APPROVED:
            await move(session, alert_id, AlertState.DISPATCHING, dispatch_started_at=utcnow())
        elif alert.state != AlertState.DISPATCHING:
            return None
        return alert


SETTLE_POLL_S = 0.1


async def _cancel_referenced(app: WorkerContext, cap: CapAlert) -> None:
    """A Cancel stops what is still queued of the alerts it cancels, and marks them cancelled; it returns once
    the originals already being handed over are recorded, so the Cancel is planned for everyone they reached and
    none of them goes out after it.

    1. The originals become ``cancelled`` (committed): from then on their batches begin no send (each send asks
       :class:`~alertsvc.dispatch.send_window.SendableWatch`, at most 0.2 s stale) and put back what they had
       claimed but not handed over.
    2. Wait until no original is ``sending``: the sends already begun finish and are recorded ``sent``. Bounded by
       half the job timeout (this job's own budget); a worker that died holding rows leaves them ``sending``, and
       they still count as received for the Cancel (``store.audience.RECEIVED_STATES``).
    3. What is still ``queued`` is suppressed (once nothing is ``sending``). Suppressing at step 1 also took the
       ``sending`` rows: messages already with the provider were recorded as suppressed, and their recipients
       never got the Cancel.
    """
    async with transaction(app.runtime.sessions) as session:
        referenced = await alerts_a_cancel_ends(session, cap.reference_keys())  # with the rest of their thread
        for alert_id in referenced:
            await move(session, alert_id, AlertState.CANCELLED)
    deadline = time.monotonic() + app.settings.job_timeout_s / 2
    for alert_id in referenced:
        while time.monotonic() < deadline:
            async with app.runtime.sessions() as session:
                if not await any_sending(session, alert_id):
                    break
            await asyncio.sleep(SETTLE_POLL_S)
    now = utcnow()
    async with transaction(app.runtime.sessions) as session:
        for alert_id in referenced:
            if not await any_sending(session, alert_id):  # else the last of those batches suppresses the rest
                await machine.suppress_unsent(session, alert_id, "alert cancelled", now)


async def fanout(ctx: dict[str, Any], alert_id: str) -> dict[str, int] | str:
    """Plan and enqueue every delivery of one alert."""
    app: WorkerContext = ctx["app"]
    alert = await _start(app, alert_id)
    if alert is None:
        return "nothing to do"
    started = time.perf_counter()
    cap = parse_cap_json(alert.cap)
    facts = alert_facts(cap, alert.expires_at)
    lane = lane_of_document(alert.cap)
    if str(cap.msg_type) == "Cancel":
        await _cancel_referenced(app, cap)
    counts = {"planned": 0, "queued": 0, "jobs": 0}
    sources = []
    if uses_references(cap):
        sources.append(_recipients_of_references(app, cap))
    if uses_area(cap):
        sources.append(_recipients_in_area(app, cap))
    for source in sources:
        async for recipients in source:
            now = utcnow()
            plans = [plan for plan in (plan_for(r, facts, now) for r in recipients) if plan is not None]
            if not plans:
                continue
            created = await app.runtime.write(machine.plan, alert_id, plans, now)
            counts["planned"] += len(created)
            for channel, planned in Counter(row.channel for row in created).items():
                PLANNED.labels(channel).inc(planned)
            # Rows held for quiet hours are left to the sweeper, which enqueues them once due.
            immediate = [(row.id, row.channel) for row in created if row.state == "queued" and not row.held]
            counts["queued"] += len(immediate)
            counts["jobs"] += await enqueue_deliveries(app.runtime.redis, alert_id, immediate, app.batch_size, lane)
    async with transaction(app.runtime.sessions) as session:
        await mark_planned(session, alert_id, utcnow())
    await finish_if_done(app, alert_id)
    FANOUT_SECONDS.observe(time.perf_counter() - started)
    log.info("fan-out of %s planned %d deliveries in %d jobs", alert_id, counts["planned"], counts["jobs"])
    return counts


async def finish_if_done(app: WorkerContext, alert_id: str) -> bool:
    """dispatching → sent once planning is over and no delivery awaits the dispatcher."""
    return await app.runtime.write(_finish, alert_id)


async def _finish(session: AsyncSession, alert_id: str) -> bool:
    """:func:`finish_if_done`'s transaction (run by ``Runtime.write``: on SQLite, on the writer thread)."""
    # Two columns, not the alert with its CAP document: this runs after every delivery batch.
    head = (await session.execute(select(Alert.state, Alert.planned_at).where(Alert.id == alert_id))).first()
    if head is None or head.state != AlertState.DISPATCHING or head.planned_at is None:
        return False
    if await has_pending(session, alert_id):
        return False
    return await move(session, alert_id, AlertState.SENT, completed_at=utcnow())

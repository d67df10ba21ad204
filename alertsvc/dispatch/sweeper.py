"""The sweeper: the database is the source of truth, and this job makes the queue agree with it again.

Runs every ten seconds on one worker at a time (an arq cron job with ``unique``). It repairs what a crash or a
Redis restart leaves behind, never by guessing, always by re-enqueueing work whose state says it is unfinished;
the guarded claims make a duplicate job harmless:

* approved alerts whose fan-out job was lost → ``fanout`` again;
* ``queued`` deliveries idle past ``stall_after_s`` (lost job, or held for quiet hours and now due) → ``deliver``;
* ``sending`` deliveries older than the job timeout (the worker died holding them) → back to ``queued``. The
  provider may or may not have taken the message before the crash; we send again (at-least-once), because a
  warning missed is worse than a warning twice. The window is one in-flight batch of one dead worker;
* expired alerts stop: their queued deliveries end ``failed`` (reason: expired) and the alert is ``expired``;
* dispatching alerts whose every delivery is done become ``sent``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from alertsvc.alerts.states import AlertState, move
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.fanout import enqueue_deliveries, finish_if_done
from alertsvc.dispatch.queue import enqueue_fanout
from alertsvc.store import deliveries as delivery_store
from alertsvc.store.db import transaction
from alertsvc.store.models import Alert, Delivery
from alertsvc.store.types import utcnow
from alertsvc.tracking.states import DeliveryState

log = logging.getLogger(__name__)


async def _expire_alerts(app: WorkerContext) -> int:
    now = utcnow()
    expired = 0
    async with transaction(app.runtime.sessions) as session:
        rows = await session.scalars(
            select(Alert.id).where(
                Alert.expires_at.is_not(None),
                Alert.expires_at <= now,
                Alert.state.in_(
                    [
                        AlertState.DRAFT,
                        AlertState.PENDING_APPROVAL,
                        AlertState.APPROVED,
                        AlertState.DISPATCHING,
                        AlertState.SENT,
                    ]
                ),
            )
        )
        for alert_id in list(rows):
            await session.execute(
                update(Delivery)
                .where(Delivery.alert_id == alert_id, Delivery.state == DeliveryState.QUEUED.value)
                .values(
                    state=DeliveryState.FAILED.value,
                    error_code="expired",
                    reason="the alert expired before delivery",
                    updated_at=now,
                    final_at=now,
                )
            )
            allowed = {AlertState.DRAFT, AlertState.PENDING_APPROVAL, AlertState.APPROVED, AlertState.SENT}
            if await move(session, alert_id, AlertState.EXPIRED, allowed_from=allowed):
                expired += 1
    return expired


async def _resume_fanouts(app: WorkerContext) -> int:
    now = utcnow()
    idle = now - timedelta(seconds=app.settings.stall_after_s)
    dead = now - timedelta(seconds=app.settings.job_timeout_s + 15)
    async with app.runtime.sessions() as session:
        waiting = list(
            await session.scalars(select(Alert.id).where(Alert.state == AlertState.APPROVED, Alert.approved_at < idle))
        )
        stuck = list(
            await session.scalars(
                select(Alert.id).where(
                    Alert.state == AlertState.DISPATCHING, Alert.planned_at.is_(None), Alert.dispatch_started_at < dead
                )
            )
        )
    count = 0
    for alert_id in waiting + stuck:
        count += await enqueue_fanout(app.runtime.redis, alert_id)
    return count


async def _requeue_stalled(app: WorkerContext) -> int:
    now = utcnow()
    queued_before = now - timedelta(seconds=app.settings.stall_after_s)
    sending_before = now - timedelta(seconds=app.settings.job_timeout_s + 15)
    async with transaction(app.runtime.sessions) as session:
        rows = await delivery_store.stalled(session, queued_before, sending_before)
        dead = [row[0] for row in rows if row[3] == DeliveryState.SENDING.value]
        await delivery_store.release_stalled_sending(session, dead, now)
    if dead:
        log.warning("released %d deliveries held by a worker that died", len(dead))
    work: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for delivery_id, alert_id, channel, _state in rows:
        work[alert_id].append((delivery_id, channel))
    tag = f"s{int(now.timestamp()) // max(1, app.settings.stall_after_s)}"
    for alert_id, items in work.items():
        await enqueue_deliveries(app.runtime.redis, alert_id, items, app.settings.delivery_batch_size, tag)
    return len(rows)


async def _finish_alerts(app: WorkerContext) -> int:
    async with app.runtime.sessions() as session:
        dispatching = list(
            await session.scalars(
                select(Alert.id).where(Alert.state == AlertState.DISPATCHING, Alert.planned_at.is_not(None))
            )
        )
    return sum([await finish_if_done(app, alert_id) for alert_id in dispatching])


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """One pass of every repair above; returns what it did, for the logs and tests."""
    app: WorkerContext = ctx["app"]
    return {
        "expired": await _expire_alerts(app),
        "fanouts": await _resume_fanouts(app),
        "requeued": await _requeue_stalled(app),
        "finished": await _finish_alerts(app),
    }

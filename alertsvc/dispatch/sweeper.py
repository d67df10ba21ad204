"""The sweeper: the database is the source of truth, and this job makes the queue agree with it again.

Runs every ten seconds on one worker at a time (an arq cron job with ``unique``). It repairs what a crash or a
Redis restart leaves behind, never by guessing, always by re-enqueueing work whose state says it is unfinished;
the guarded claims make a duplicate job harmless:

* approved alerts whose fan-out job was lost, and dispatching ones whose fan-out died before it finished planning
  → ``fanout`` again (under a sweeper job id when the old one's kept result blocks the usual id);
* ``queued`` deliveries idle past ``stall_after_s`` (lost job, or held for quiet hours and now due) → ``deliver``,
  unless their alert and channel still have ``deliver`` jobs in the queue that they are waiting behind;
* ``sending`` deliveries older than the job timeout (the worker died holding them): the provider may or may not
  have taken the message before the crash. Where the channel can ask its provider (:class:`channels.base.Reconciler`:
  SMS, by listing the messages Twilio took for that number since the claim and matching the delivery's own signed
  acknowledgement link in the body), one it has is marked ``sent`` with its provider id (guarded, ``WHERE state =
  'sending'``) and is not sent again: exactly-once. The rest go back to ``queued`` and are sent again: e-mail and
  push (their providers keep no list to ask), a lookup that failed, or a message the provider does not list yet
  (Twilio lists it by ``DateSent``, set only once it leaves Twilio's queue). That is at-least-once, because a
  warning missed is worse than a warning twice; its window is one in-flight batch of one dead worker;
* expired alerts stop: their queued deliveries end ``failed`` (reason: expired) and the alert is ``expired``;
* provider receipts kept because they came before their send was recorded (:mod:`alertsvc.tracking.machine`)
  are applied once their delivery is recorded (the net under a process killed between its commit and its own
  look), and forgotten after :data:`~alertsvc.tracking.machine.KEEP_EARLY_FOR` (at least twice the job timeout)
  when no delivery ever claims them;
* dispatching alerts whose every delivery is done become ``sent``;
* tips: staff replies whose relay job was lost are enqueued again, and tips past their retention are deleted
  (hourly; :func:`alertsvc.dispatch.tip_relay.tend_tips`).

Every change to a delivery is a move of :mod:`alertsvc.tracking.machine`; this module only decides which.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from arq import ArqRedis
from arq.constants import default_queue_name
from arq.jobs import Job, JobStatus
from sqlalchemy import select

from alertsvc.alerts.states import AlertState, mark_first_sent, move
from alertsvc.clock import utcnow
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.fanout import enqueue_deliveries, finish_if_done
from alertsvc.dispatch.jobs import DELIVER, fanout_job_id
from alertsvc.dispatch.provider_lookup import LOOKUP_CONCURRENCY, ask_provider
from alertsvc.dispatch.tip_relay import tend_tips
from alertsvc.jobs import enqueue_fanout
from alertsvc.lanes import Lane, lane_of_document
from alertsvc.store.db import transaction
from alertsvc.store.models import Alert
from alertsvc.tracking import machine, pending
from alertsvc.tracking.states import DeliveryState
from channels.base import Reconciler

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
            await machine.expire_queued(session, alert_id, now)
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
            await session.execute(
                select(Alert.id, Alert.cap).where(Alert.state == AlertState.APPROVED, Alert.approved_at < idle)
            )
        )
        stuck = list(
            await session.execute(
                select(Alert.id, Alert.cap).where(
                    Alert.state == AlertState.DISPATCHING, Alert.planned_at.is_(None), Alert.dispatch_started_at < dead
                )
            )
        )
    tag = f"s{int(now.timestamp()) // max(1, app.settings.stall_after_s)}"
    count = 0
    for alert_id, document in waiting + stuck:
        count += await _enqueue_fanout_again(app.runtime.redis, alert_id, tag, lane_of_document(document))
    return count


async def _enqueue_fanout_again(redis: ArqRedis, alert_id: str, tag: str, lane: Lane) -> bool:
    """Enqueue ``fanout`` under its usual id; if that id is only blocked by the kept result of a run that ended
    (failed on a Redis restart, say: arq keeps results an hour), under a sweeper id instead. A fan-out still queued
    or running is left alone. A second fan-out of one alert is harmless: it only adds rows not yet planned."""
    if await enqueue_fanout(redis, alert_id, lane):
        return True
    if await Job(fanout_job_id(alert_id), redis).status() not in (JobStatus.complete, JobStatus.not_found):
        return False
    return await enqueue_fanout(redis, alert_id, lane, job_id=f"{fanout_job_id(alert_id)}:{tag}")


async def _reconcile(app: WorkerContext, dead: Sequence[int]) -> dict[int, str]:
    """Of ``sending`` deliveries whose worker died, those the provider already took: {delivery id: provider id}.

    No database session is held while the providers are asked (STYLE.md 7).
    """
    channels = [name for name, adapter in app.channels.items() if isinstance(adapter, Reconciler)]
    if not dead or not channels:
        return {}
    async with app.runtime.sessions() as session:
        rows = await pending.still_sending(session, dead, channels)
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    async def one(delivery_id: int, channel: str, to: str, claimed_at: datetime) -> tuple[int, str | None]:
        async with gate:
            return delivery_id, await ask_provider(app, channel, delivery_id, to, claimed_at)

    answers = await asyncio.gather(*(one(*row) for row in rows))
    return {delivery_id: provider_id for delivery_id, provider_id in answers if provider_id}


async def _channels_with_waiting_jobs(redis: ArqRedis) -> set[tuple[str, str]]:
    """(alert, channel) pairs with a ``deliver`` job still in arq's queue (waiting, deferred or running).

    Their never-deferred queued rows are behind those jobs, not lost: at 10 SMS/s a 10,000-resident alert keeps
    rows queued for 1,000 s, and re-enqueueing them every ``stall_after_s`` would only pile up duplicate jobs.
    After a Redis restart the queue is empty and every idle row is enqueued again, as before.
    """
    waiting: set[tuple[str, str]] = set()
    async for member, _score in redis.zscan_iter(default_queue_name, match=f"{DELIVER}:*", count=1000):
        parts = (member.decode() if isinstance(member, bytes) else str(member)).split(":")
        if len(parts) == 5:  # deliver:<alert>:<channel>:<first id>:<tag> (dispatch.jobs.deliver_job_id)
            waiting.add((parts[1], parts[2]))
    return waiting


async def _lanes_of(app: WorkerContext, alert_ids: list[str]) -> dict[str, Lane]:
    """The lane of each alert's re-enqueued batches: the one its first batches took (from its CAP document)."""
    if not alert_ids:
        return {}
    async with app.runtime.sessions() as session:
        rows = await session.execute(select(Alert.id, Alert.cap).where(Alert.id.in_(alert_ids)))
        found = {alert_id: lane_of_document(document) for alert_id, document in rows}
    return {alert_id: found.get(alert_id, Lane.BULK) for alert_id in alert_ids}


async def _requeue_stalled(app: WorkerContext) -> int:
    now = utcnow()
    queued_before = now - timedelta(seconds=app.settings.stall_after_s)
    sending_before = now - timedelta(seconds=app.settings.job_timeout_s + 15)
    waiting = await _channels_with_waiting_jobs(app.runtime.redis)
    async with app.runtime.sessions() as session:
        rows = await pending.stalled(session, queued_before, sending_before, waiting=waiting)
    dead = [row for row in rows if row[3] == DeliveryState.SENDING.value]
    found = await _reconcile(app, [row[0] for row in dead])
    if dead:
        now = utcnow()
        async with transaction(app.runtime.sessions) as session:
            await machine.record_sent(session, found.items(), now)
            released = [r[0] for r in dead if r[0] not in found]
            await machine.release_stalled(session, released, now, held_before=sending_before)
            for alert_id in {r[1] for r in dead if r[0] in found}:
                await mark_first_sent(session, alert_id, now)
        await machine.apply_kept_after_commit(app.runtime.sessions, list(found.values()), now)
        log.warning(
            "%d deliveries held by a worker that died: %d were already with the provider (marked sent), "
            "%d released to be sent again",
            len(dead), len(found), len(dead) - len(found),
        )  # fmt: skip
    work: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for delivery_id, alert_id, channel, _state in rows:
        if delivery_id not in found:
            work[alert_id].append((delivery_id, channel))
    tag = f"s{int(now.timestamp()) // max(1, app.settings.stall_after_s)}"
    lanes = await _lanes_of(app, list(work))
    for alert_id, items in work.items():
        await enqueue_deliveries(app.runtime.redis, alert_id, items, app.batch_size, lanes[alert_id], tag)
    return len(rows) - len(found)


async def _tend_kept_receipts(app: WorkerContext) -> tuple[int, int]:
    """Apply the kept provider receipts whose send is recorded by now; forget those kept too long.

    (applied, dropped). Kept for at least twice the job timeout: the longest a send can take to be recorded.
    """
    async with app.runtime.sessions() as session:
        if not await machine.any_kept(session):  # the usual case: no write transaction at all
            return 0, 0
    now = utcnow()
    keep = max(machine.KEEP_EARLY_FOR, 2 * timedelta(seconds=app.settings.job_timeout_s + 15))
    async with transaction(app.runtime.sessions) as session:
        applied = await machine.apply_all_kept(session, now)
        dropped = await machine.drop_kept_before(session, now - keep)
    if dropped:
        log.info("dropped %d provider receipts that matched no delivery in %s", dropped, keep)
    return applied, dropped


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
    expired = await _expire_alerts(app)
    fanouts = await _resume_fanouts(app)
    requeued = await _requeue_stalled(app)  # after reconciling dead workers' deliveries with providers
    applied, dropped = await _tend_kept_receipts(app)
    return {
        "expired": expired,
        "fanouts": fanouts,
        "requeued": requeued,
        "receipts_applied": applied,
        "receipts_dropped": dropped,
        "finished": await _finish_alerts(app),
        **await tend_tips(app),
    }

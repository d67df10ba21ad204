"""The ``deliver(alert_id, channel, ids)`` job: claim, render, pace, send, record.

1. **Claim** the batch in one guarded statement (``queued`` → ``sending``); rows another job claimed, or that
   are not due yet, are not returned, so a redelivered job sends nothing twice.
2. **Render** from the per-(alert, language) cache and patch each recipient's links in. A channel whose message
   could not be built (:attr:`~alertsvc.dispatch.render.Rendered.failures`) ends ``failed`` with
   ``invalid_message`` for that channel only; an address the e-mail builder refuses is ``undeliverable``.
3. **Pace** by the channel's shared rate limit (slots reserved in Redis for the whole batch); when Redis cannot
   be reached the claimed rows go straight back to ``queued`` (nothing was sent) for the sweeper. A send goes
   neither before its slot nor more than :data:`LATE_TOLERANCE_S` after it (it takes a new slot instead):
   see :class:`~alertsvc.dispatch.ratelimit.Reservation`.
4. **Send** concurrently through the channel adapter, holding no database session meanwhile (STYLE.md 7).
5. **Record** every outcome in one transaction: ``sent`` with the provider id, a final failure, or back to
   ``queued`` with a backoff for transient errors, bounded by the alert's ``expires``; retries are enqueued as
   deferred jobs. Only this module retries; adapters only classify (STYLE.md 1), and a permanent refusal is
   ``undeliverable`` when the adapter says the recipient is unreachable, else ``failed`` (no provider's code is
   read here). Status callbacks the provider sent before this record landed were kept and are applied with it
   (:mod:`alertsvc.tracking.machine`, which makes every move of a delivery).
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.alerts.states import mark_first_sent
from alertsvc.cap import alert_to_json, parse_cap_json
from alertsvc.clock import utcnow
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.fanout import enqueue_deliveries, finish_if_done
from alertsvc.dispatch.jobs import DELIVER, deliver_job_id
from alertsvc.dispatch.provider_lookup import taken_before_retry
from alertsvc.dispatch.ratelimit import Reservation
from alertsvc.dispatch.render import Rendered, personalise, personalise_failure, render_info
from alertsvc.dispatch.retry import next_attempt
from alertsvc.dispatch.send_window import (
    SENDABLE_STATES,
    SendableWatch,
    any_sending,
    max_send_seconds,
    start_by,
    watch_for,
)
from alertsvc.lanes import Lane, enqueue_in_lane, lane_of_document
from alertsvc.metrics import count_deliveries, send_timer
from alertsvc.residents.optout import opt_out_at_carrier
from alertsvc.store.models import Alert
from alertsvc.tracking import machine
from alertsvc.tracking.states import DeliveryState
from channels.base import (
    SEND_START_BY,
    Channel,
    ChannelError,
    NotSent,
    PermanentError,
    RateLimited,
    TransientError,
    Unreachable,
)

log = logging.getLogger(__name__)

UNSENT_REASONS = {
    "deadline": "not handed over before the job's time ran out; sent by the next job",
    "cancelled": "not handed over: the alert was cancelled meanwhile",
}
"""Codes of rows put back ``queued`` with nothing sent (see :class:`Outcome`), and the reason stored with them."""
LATE_TOLERANCE_S = 0.01
"""A send that wakes later than this after its rate-limit slot (its earliest reading: the clock mapping's error
counts as lateness) takes a new slot instead of going at once.

Without it, the sends of a worker whose event loop or process was paused (GC, CPU starvation) all wake together
and go out as one burst, past the rate, wherever the provider counts. Lateness below ``1 / HEADROOM - 1`` of a
second (about 40 ms) cannot put an extra message into any one-second window; 10 ms leaves room for the network
and the receiving end.
"""
MAX_RESLOTS = 3
"""New slots a late send may take before it goes regardless (a Redis round trip slower than the tolerance)."""


@dataclass
class AlertForSending:
    """What the deliver job needs of an alert, rendered once per language and kept by the worker."""

    status: str
    msg_type: str
    sender: str
    expires: datetime | None
    infos: dict[str, dict[str, Any]]
    first_sent_recorded: bool = False
    """The alert's ``first_sent_at`` is known to be set: the record step need not set it again."""
    rendered: dict[str, Rendered] = field(default_factory=dict)
    lane: Lane = Lane.BULK
    """The lane of the alert's jobs (:mod:`alertsvc.lanes`): its retries and its rate-limit slots keep it."""

    def render(self, language: str, app: WorkerContext) -> Rendered:
        if language not in self.rendered:
            info = self.infos.get(language) or next(iter(self.infos.values()))
            self.rendered[language] = render_info(
                info,
                status=self.status,
                msg_type=self.msg_type,
                sender_name=self.sender,
                public_url=app.settings.public_url,
                max_segments=app.settings.sms_max_segments,
                # The sandbox too gets the MIME message the SMTP adapter would send (channels/sandbox.py).
                email_from=app.settings.email_from,
            )
        return self.rendered[language]


def _load_for_sending(alert: Alert) -> AlertForSending:
    document = alert_to_json(parse_cap_json(alert.cap))
    infos = {str(info.get("language") or "en-US"): info for info in document.get("info", [])}
    if not infos:
        infos = {"en-US": {"language": "en-US", "headline": alert.headline or "", "event": ""}}
    return AlertForSending(
        alert.status,
        alert.msg_type,
        alert.sender,
        alert.expires_at,
        infos,
        alert.first_sent_at is not None,
        lane=lane_of_document(alert.cap),
    )


async def _cached_alert(app: WorkerContext, alert_id: str) -> AlertForSending | None:
    """The alert as the worker renders it, read from the database once per worker (not per batch)."""
    cache: dict[str, AlertForSending] = app.cache.setdefault("alerts", {})
    found = cache.get(alert_id)
    if found is None:
        async with app.runtime.sessions() as session:  # a read: no write transaction, no writer turn
            alert = await session.get(Alert, alert_id)
        if alert is None:
            return None
        if len(cache) > 256:
            cache.clear()
        found = cache[alert_id] = _load_for_sending(alert)
    return found


class Outcome(NamedTuple):
    """What became of one send (a named tuple: one per message, cheaper to build than a frozen dataclass).

    ``unsent``: not handed over at all (the job's time ran out, or the alert was cancelled meanwhile): the row goes
    back to ``queued`` at once, no backoff, since the provider has nothing of it.
    """

    delivery_id: int
    provider_id: str | None = None
    error: ChannelError | None = None
    unexpected: bool = False
    unsent: str | None = None
    due_in: float = 0.0
    """For an ``unsent`` row: seconds from now until its rate-limit slot would have come (its next try)."""


def _unsubscribe_url(app: WorkerContext, channel: str, contact_id: int) -> str:
    """Only e-mail carries an unsubscribe link (SMS has STOP, push its own settings): one HMAC less for them."""
    if channel != "email":
        return ""
    return f"{app.public_base}/u/{app.unsubscribe_links.sign(contact_id)}"


async def _send_one(
    adapter: Channel, app: WorkerContext, alert: AlertForSending, channel: str, claimed: machine.Claimed
) -> Outcome:
    """Render and send one message; what became of it, never an exception."""
    public = app.public_base
    rendered = alert.render(claimed.language, app)
    not_built = rendered.failure(channel)
    if not_built is not None:  # this channel's text could not be built: ours to fix, not the recipient's
        return Outcome(claimed.id, error=PermanentError("invalid_message", not_built))
    try:
        message = personalise(
            rendered,
            channel,
            to=claimed.address,
            reference=str(claimed.id),
            ack_url=f"{public}/a/{app.ack_links.sign(claimed.id)}",
            unsubscribe_url=_unsubscribe_url(app, channel, claimed.contact_id),
            status_callback=app.status_callback_url if channel == "sms" else None,
        )
    except ValueError as exc:  # an address (the recipient's fault) or a link (ours) the e-mail builder refuses
        return Outcome(claimed.id, error=personalise_failure(channel, claimed.address, exc))
    try:
        result = await adapter.send(message)
    except ChannelError as exc:
        return Outcome(claimed.id, error=exc)
    except Exception:  # an adapter bug must not lose the delivery: treat as transient, keep the trace
        log.exception("channel %s raised unexpectedly for delivery %s", channel, claimed.id)
        return Outcome(claimed.id, unexpected=True)
    return Outcome(claimed.id, provider_id=result.provider_id)


async def _reserve(app: WorkerContext, channel: str, claimed: list[machine.Claimed], lane: Lane) -> Reservation | None:
    """Reserve the batch's send slots in the alert's lane (a bulk batch waits for a short schedule, so it cannot
    hold up a life-safety one: :mod:`alertsvc.dispatch.ratelimit`); if Redis cannot be asked, hand the claimed
    rows back before failing.

    Nothing has been sent yet, so ``queued`` again is exact, and the sweeper re-enqueues them after
    ``stall_after_s`` instead of waiting out the dead-worker timeout (a Redis restart mid-fan-out).
    """
    limiter = app.limiters.get(channel)
    if limiter is None:
        return None
    try:
        return await limiter.reserve(len(claimed), lane)
    except Exception:
        now = utcnow()
        ids = [c.id for c in claimed]
        await app.runtime.write(machine.requeue, ids, now, "rate_limiter", "rate limiter unreachable", now)
        raise


async def _send_all(
    app: WorkerContext,
    alert: AlertForSending,
    channel: str,
    claimed: list[machine.Claimed],
    reserved: Reservation | None,
    window: tuple[float, SendableWatch] | None = None,
) -> list[Outcome]:
    """Send a claimed batch, in slot order, through the worker's shared gate for the channel.

    ``window``: the moment after which no send begins and the watch of the alert's state
    (:mod:`alertsvc.dispatch.send_window`); a message that cannot begin in time, or whose alert was cancelled
    meanwhile, comes back ``unsent``.

    A few sender coroutines pull the next message from the batch instead of one task per message: the gate
    (``send_concurrency`` in flight per channel, shared by every job of the worker) bounds what reaches the
    provider anyway, and a task per message (16 jobs of 500) cost more CPU and memory than the sends.
    """
    adapter = app.channels[channel]
    limiter = app.limiters.get(channel)
    gate = app.send_gate(channel)
    observe_send = send_timer(channel)
    by_index: dict[int, Outcome] = {}
    pending = iter(enumerate(claimed))

    last_start, watch = window if window is not None else (math.inf, None)

    async def may_begin(slots: Reservation | None, position: int) -> str | None:
        """Why this message must not begin now (None: it may): checked before its slot and again after."""
        if slots is not None and slots.not_before(position) > last_start:
            return "late_slot"
        if slots is not None:
            await slots.wait_for(position)
        if time.monotonic() > last_start:
            return "deadline"
        if watch is not None and not await watch.sendable():
            return "cancelled"
        return None

    async def one(index: int, item: machine.Claimed) -> Outcome:
        slots, position = reserved, index
        for attempt in range(MAX_RESLOTS + 1):
            refused = await may_begin(slots, position)
            if refused == "late_slot" and slots is not None:  # other workers' reservations fill the window
                return Outcome(item.id, unsent="deadline", due_in=slots.not_before(position) - time.monotonic())
            if refused is not None:
                return Outcome(item.id, unsent=refused)
            async with gate:
                on_time = slots is None or slots.lateness(position) <= LATE_TOLERANCE_S
                if on_time or limiter is None or attempt == MAX_RESLOTS:
                    started = time.perf_counter()
                    SEND_START_BY.set(None if window is None else last_start)  # waiting for the gate counts
                    outcome = await _send_one(adapter, app, alert, channel, item)
                    observe_send(time.perf_counter() - started)
                    return outcome
            try:  # woke too late to use this slot: take a new one
                slots, position = await limiter.reserve(1), 0
            except Exception:
                return Outcome(item.id, error=TransientError("rate_limiter", "rate limiter unreachable"))
        raise AssertionError("unreachable: the last attempt always sends")

    async def sender() -> None:
        for index, item in pending:
            by_index[index] = await one(index, item)

    await asyncio.gather(*(sender() for _ in range(min(len(claimed), app.settings.send_concurrency))))
    return [by_index[i] for i in range(len(claimed))]


async def _write_outcomes(
    session: AsyncSession,
    alert_id: str,
    sent: list[tuple[int, str]],
    failures: dict[tuple[DeliveryState, str, str], list[int]],
    retries: dict[tuple[datetime, str, str], list[int]],
    first_sent: bool,
    now: datetime,
    opted_out_at_carrier: tuple[list[int], str] = ([], ""),
) -> None:
    """The record step's one transaction (run by ``Runtime.write``: on SQLite, on the writer thread).

    ``first_sent``: this batch may hold the alert's first sent message, to be stamped on the alert.
    ``opted_out_at_carrier``: deliveries refused because the recipient unsubscribed at the carrier, and the code:
    their contacts are opted out in the consent ledger (``residents.optout.opt_out_at_carrier``).
    """
    await machine.record_sent(session, sent, now)
    for (state, code, reason), ids in failures.items():
        await machine.fail(session, ids, state, code, reason, now)
    if opted_out_at_carrier[0]:
        await opt_out_at_carrier(session, *opted_out_at_carrier, now)
    for (when, code, reason), ids in retries.items():
        await machine.requeue(session, ids, when, code, reason, now)
    if first_sent:
        await mark_first_sent(session, alert_id, now)


async def _pause_for_provider(app: WorkerContext, channel: str, outcomes: list[Outcome]) -> None:
    """A provider's 429 ``Retry-After`` pauses the channel's shared rate limit, so every worker holds back, not
    only the refused messages (their own retry is set from it in :func:`_record`). Best effort: Redis down only
    loses the pause, the messages are still retried."""
    limiter = app.limiters.get(channel)
    waits = [o.error.retry_after for o in outcomes if isinstance(o.error, RateLimited) and o.error.retry_after]
    if limiter is None or not waits:
        return
    try:
        await limiter.pause(max(waits))
    except Exception:
        log.warning("could not pause the %s rate limit for the provider's Retry-After", channel)


async def _record(
    app: WorkerContext,
    alert_id: str,
    channel: str,
    alert: AlertForSending,
    outcomes: list[Outcome],
    attempts: dict[int, int],
) -> None:
    now = utcnow()
    sent = [
        (o.delivery_id, o.provider_id or "")
        for o in outcomes
        if o.error is None and not o.unexpected and o.unsent is None
    ]
    failures: dict[tuple[DeliveryState, str, str], list[int]] = defaultdict(list)
    retries: dict[tuple[datetime, str, str], list[int]] = defaultdict(list)
    carrier_opt_outs: list[int] = []  # refused because the recipient unsubscribed at the carrier (Twilio 21610)
    carrier_code = ""
    for outcome in outcomes:
        error = outcome.error
        if outcome.unsent is not None or isinstance(error, NotSent):  # nothing handed over: again, at once
            code = outcome.unsent or "deadline"
            due = now + timedelta(seconds=max(0.0, outcome.due_in))  # not before its slot: no hot loop
            retries[(due.replace(microsecond=0), code, UNSENT_REASONS.get(code, code))].append(outcome.delivery_id)
            continue
        if error is None and not outcome.unexpected:
            continue
        if isinstance(error, PermanentError):
            # The adapter said whether the recipient is the problem; its provider's codes stay in channels/.
            state = DeliveryState.UNDELIVERABLE if error.recipient_unreachable else DeliveryState.FAILED
            failures[(state, error.code, error.reason)].append(outcome.delivery_id)
            if error.unreachable is Unreachable.OPTED_OUT_AT_CARRIER:
                carrier_opt_outs.append(outcome.delivery_id)
                carrier_code = error.code
            continue
        code = error.code if error else "internal"
        reason = error.reason if error else "unexpected error in the channel adapter"
        retry_after = error.retry_after if isinstance(error, RateLimited) else None
        when = next_attempt(now, attempts.get(outcome.delivery_id, 1), alert.expires, retry_after)
        if when is None:
            failures[(DeliveryState.FAILED, code, f"gave up: {reason}")].append(outcome.delivery_id)
        else:
            retries[(when.replace(microsecond=0), code, reason)].append(outcome.delivery_id)
    await _pause_for_provider(app, channel, outcomes)
    first_sent = bool(sent) and not alert.first_sent_recorded
    await app.runtime.write(
        _write_outcomes, alert_id, sent, failures, retries, first_sent, now, (carrier_opt_outs, carrier_code)
    )
    # PostgreSQL: receipts kept while this batch's record was being written (nothing to do on SQLite).
    await machine.apply_kept_after_commit(app.runtime.sessions, [provider for _, provider in sent], now)
    count_deliveries(channel, "sent", len(sent))
    for (state, _code, _reason), ids in failures.items():
        count_deliveries(channel, state.value, len(ids))
    count_deliveries(
        channel, "retry", sum(len(ids) for (_, code, _), ids in retries.items() if code not in UNSENT_REASONS)
    )
    if first_sent:
        alert.first_sent_recorded = True  # one statement less in every later record of this worker
    for (when, _code, _reason), ids in retries.items():
        attempt = max(attempts.get(i, 1) for i in ids)
        await enqueue_in_lane(
            app.runtime.redis,
            DELIVER,
            alert_id,
            channel,
            ids,
            lane=alert.lane,  # a retried batch keeps its alert's lane
            job_id=deliver_job_id(alert_id, channel, ids[0], f"r{attempt}"),
            defer_until=when,
        )


async def _claim_batch(
    session: AsyncSession, alert_id: str, ids: list[int], now: datetime, expires: datetime | None
) -> list[machine.Claimed] | None:
    """The claim step's one transaction; None when the batch is not to be sent (the alert is gone, or no longer
    sendable: its queued deliveries are suppressed). Expired, the claimed rows end ``expired``."""
    # Only the state is read per batch (it changes: cancel, expiry); the rest is cached by the worker.
    state = await session.scalar(select(Alert.state).where(Alert.id == alert_id))
    if state is None:
        return None
    if state not in SENDABLE_STATES:
        # Not while another batch is still sending: it may have handed messages over whose record has not landed,
        # and suppressing its rows now would lose that they went (and so their Cancel). The rest of the alert's
        # queued rows are suppressed by the Cancel's fan-out once those batches are done, or by a later batch.
        if not await any_sending(session, alert_id):
            await machine.suppress_unsent(session, alert_id, f"alert {state}", now)
        return None
    claimed = await machine.claim(session, ids, now)
    if expires is not None and expires <= now:
        await machine.expire_claimed(session, [c.id for c in claimed], now)
        return []
    return claimed


def _slots_that_fit(app: WorkerContext, channel: str, last_start: float) -> int:
    """How many sends the channel's rate allows before ``last_start`` (at least one: every job makes progress)."""
    limiter = app.limiters.get(channel)
    if limiter is None:
        return sys.maxsize
    return max(1, int((last_start - time.monotonic()) / limiter.interval))


async def deliver(ctx: dict[str, Any], alert_id: str, channel: str, ids: list[int]) -> dict[str, int]:
    """Send one batch of deliveries of one alert on one channel."""
    app: WorkerContext = ctx["app"]
    job_started = time.monotonic()
    alert = await _cached_alert(app, alert_id)
    if alert is None:
        return {"claimed": 0}
    claimed = await app.runtime.write(_claim_batch, alert_id, ids, utcnow(), alert.expires)
    if claimed is None:
        return {"claimed": 0}
    if claimed:
        watch = watch_for(app, alert_id)
        watch.seen_sendable()
        # A retried row whose last send went unanswered may be with the provider already: ask before sending.
        taken = await taken_before_retry(app, channel, claimed)
        to_send = [c for c in claimed if c.id not in taken] if taken else claimed
        last_start = start_by(job_started, app.settings.job_timeout_s, max_send_seconds(app.channels[channel]))
        outcomes = [Outcome(delivery_id, provider_id=provider_id) for delivery_id, provider_id in taken.items()]
        # Only the slots this job can use: a slot taken and left unused holds back every worker's sends.
        fits = _slots_that_fit(app, channel, last_start)
        outcomes += [Outcome(c.id, unsent="deadline") for c in to_send[fits:]]
        if to_send[:fits]:
            reserved = await _reserve(app, channel, to_send[:fits], alert.lane)
            outcomes += await _send_all(app, alert, channel, to_send[:fits], reserved, (last_start, watch))
        await _record(app, alert_id, channel, alert, outcomes, {c.id: c.attempts for c in claimed})
    await finish_if_done(app, alert_id)
    return {"claimed": len(claimed)}


__all__ = ["deliver", "enqueue_deliveries"]

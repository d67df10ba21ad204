"""Asking a provider whether it already has a message, before it is sent again (exactly-once where possible).

Two callers, one question: the sweeper, for a delivery a dead worker left ``sending``; and the deliver job, for a
delivery whose last attempt ended without a clear answer (:data:`AMBIGUOUS_CODES`: a read timeout, a dropped
connection, an unreadable 2xx), where the provider may have taken the message and only its answer was lost.
Only channels that can list what they took (:class:`channels.base.Reconciler`: SMS) are asked; the others, and any
lookup that fails, are sent again: at-least-once, since a warning missed is worse than a warning twice. E-mail is
sent again with the same ``Message-ID`` (derived from the delivery), so a receiving system can drop the copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from alertsvc.dispatch.context import WorkerContext
from alertsvc.store.models import Delivery
from alertsvc.tracking import machine
from channels.base import ChannelError, Reconciler

log = logging.getLogger(__name__)

LOOKUP_SLACK = timedelta(minutes=10)
"""Provider records are searched from this long before the claim: our clock and the provider's may differ."""
LOOKUP_CONCURRENCY = 16
AMBIGUOUS_CODES = frozenset({"timeout", "connection", "bad_response", "internal"})
"""Transient error codes (adapters' and the deliver job's own ``internal``) after which the provider may hold the
message: the request may have reached it before the answer was lost. A refusal (5xx, 429, an SMTP 4xx) is not
ambiguous: the provider said it did not take the message."""


async def ask_provider(app: WorkerContext, channel: str, delivery_id: int, to: str, since: datetime) -> str | None:
    """The provider's id of this delivery's message if the provider has it, else None (also when it cannot say)."""
    adapter = app.channels.get(channel)
    if not isinstance(adapter, Reconciler):
        return None
    marker = f"/a/{app.ack_links.sign(delivery_id)}"  # unique to this delivery: it is in its message alone
    try:
        return await adapter.lookup(to, since - LOOKUP_SLACK, marker)
    except ChannelError as exc:
        log.warning("could not ask the %s provider about delivery %s (%s): sending it again", channel, delivery_id,
                    exc.code)  # fmt: skip
    except Exception:  # an adapter bug must not stop the caller: fall back to sending again
        log.exception("lookup on %s raised unexpectedly for delivery %s", channel, delivery_id)
    return None


async def taken_before_retry(app: WorkerContext, channel: str, claimed: Sequence[machine.Claimed]) -> dict[int, str]:
    """Of a claimed batch, the retried deliveries whose last attempt was ambiguous and that the provider already
    has: {delivery id: provider id}, to be recorded ``sent`` rather than sent again.

    Asks only on a channel that can answer, and only about rows claimed before (``attempts`` > 1) whose stored
    error code is in :data:`AMBIGUOUS_CODES`: one indexed read per retried batch, nothing on a first attempt.
    """
    if not isinstance(app.channels.get(channel), Reconciler):
        return {}
    retried = {c.id: c for c in claimed if c.attempts > 1}
    if not retried:
        return {}
    async with app.runtime.sessions() as session:  # a read: the last error of each retried row
        rows = await session.execute(
            select(Delivery.id, Delivery.updated_at).where(
                Delivery.id.in_(list(retried)), Delivery.error_code.in_(sorted(AMBIGUOUS_CODES))
            )
        )
        ambiguous = [(int(delivery_id), updated_at) for delivery_id, updated_at in rows]
    if not ambiguous:
        return {}
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)
    window = timedelta(seconds=app.settings.job_timeout_s)  # the failed attempt began at most this long before

    async def one(delivery_id: int, claimed_at: datetime) -> tuple[int, str | None]:
        async with gate:
            found = await ask_provider(app, channel, delivery_id, retried[delivery_id].address, claimed_at - window)
            return delivery_id, found

    answers = await asyncio.gather(*(one(delivery_id, at) for delivery_id, at in ambiguous))
    found = {delivery_id: provider_id for delivery_id, provider_id in answers if provider_id}
    if found:
        log.info("%d %s deliveries were with the provider already after an unanswered send: not sent again",
                 len(found), channel)  # fmt: skip
    return found

"""The ``relay_tip_reply(message_id)`` job: a staff reply to an anonymous tip, sent to the tipster.

The contact is opened from its sealed copy only here, in the worker, and only for the send
(:func:`alertsvc.community.tips.outgoing`); no session is held across the provider call, and the contact appears
in no log (the message's reference is ``tip-reply-<id>``). A transient refusal is tried again a few times with a
growing delay; a permanent one, or running out of tries, marks the reply failed, which staff see in the thread.
The sweeper's share for tips (:func:`tend_tips`) is here too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from arq import Retry

from alertsvc.clock import utcnow
from alertsvc.community.tips import RELAY_JOB, mark_relayed, outgoing, purge_tips, relay_job_id, stalled_replies
from alertsvc.dispatch.context import WorkerContext
from alertsvc.lanes import Lane, enqueue_in_lane
from channels.base import ChannelError, Message, PermanentError

log = logging.getLogger(__name__)

MAX_TRIES = 5
RETRY_DELAYS_S = (5, 30, 120, 600)


async def relay_tip_reply(ctx: dict[str, Any], message_id: int) -> str:
    app: WorkerContext = ctx["app"]
    ready = await outgoing(app.runtime, message_id)
    if ready is None:
        return "skipped"
    message = Message(
        channel=ready.channel, to=ready.to, body=ready.body, subject=ready.subject, reference=f"tip-reply-{message_id}"
    )
    try:
        await app.channels[ready.channel].send(message)
    except ChannelError as exc:
        tries: int = ctx.get("job_try", 1)
        if not isinstance(exc, PermanentError) and tries < MAX_TRIES:
            log.info("tip reply %s not relayed yet (%s); trying again", message_id, exc.code)
            raise Retry(defer=RETRY_DELAYS_S[min(tries - 1, len(RETRY_DELAYS_S) - 1)]) from exc
        log.warning("tip reply %s not relayed: %s", message_id, exc.code)
        await mark_relayed(app.runtime, message_id, sent=False)
        return f"failed: {exc.code}"
    await mark_relayed(app.runtime, message_id, sent=True)
    return "sent"


REPLY_STALL = timedelta(minutes=20)
"""A reply still queued this long lost its job (its retries take under 13 minutes): enqueued again."""
PURGE_EVERY_S = 3600
PURGE_KEY = "alertsvc:tips:purged"


async def tend_tips(app: WorkerContext, now: datetime | None = None) -> dict[str, int]:
    """The sweeper's share for tips: replies whose relay job was lost are enqueued again (the job id keeps one job
    per reply), and once an hour tips past their retention are deleted."""
    requeued = 0
    for message_id in await stalled_replies(app.runtime, (now or utcnow()) - REPLY_STALL):
        if await enqueue_in_lane(
            app.runtime.redis, RELAY_JOB, message_id, lane=Lane.BULK, job_id=relay_job_id(message_id)
        ):
            requeued += 1
    purged = 0
    if await app.runtime.redis.set(PURGE_KEY, "1", nx=True, ex=PURGE_EVERY_S):
        purged = await purge_tips(app.runtime.sessions, app.settings.tip_retention_days, now)
    return {"tip_replies_requeued": requeued, "tips_purged": purged}

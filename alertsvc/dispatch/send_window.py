"""When a deliver job may still begin a send: before its own deadline, and while its alert is still to be sent.

**The job's deadline.** arq cancels a job that runs past ``job_timeout_s``, and a cancelled batch has sent
messages whose record never lands: the sweeper finds them ``sending`` and, where the provider cannot be asked
(e-mail, push), sends them again. So a batch never *starts* a send that could outlive the job: it stops starting
sends at :func:`start_by` (the job's start + timeout, less a margin for the record, less the adapter's
``max_send_seconds``), records what went, and puts the rest back ``queued`` for a new job at once. A provider
that is slow (an SMTP relay taking seconds a message) then stretches a batch over several jobs instead of
pushing one past its timeout. Nothing that was handed over is ever cut off mid-send.

**The alert's state.** A batch may take seconds to send (its rate-limit slots, a slow provider). A Cancel that
lands meanwhile must stop the originals not yet handed over, or they would go out after the all-clear.
:class:`SendableWatch` re-reads the alert's state at most every :data:`CHECK_EVERY_S` for all of a worker's
batches of that alert, and each send asks it before it begins.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.alerts.states import AlertState
from alertsvc.dispatch.context import WorkerContext
from alertsvc.store.models import Alert, Delivery
from alertsvc.tracking.states import DeliveryState

SENDABLE_STATES = frozenset({AlertState.DISPATCHING.value, AlertState.SENT.value})
CHECK_EVERY_S = 0.2
"""How stale a batch's view of its alert's state may be: the longest an original can start after its Cancel
committed (the Cancel's fan-out waits for those already started before it plans the all-clear)."""
DEFAULT_MAX_SEND_S = 30.0
"""An adapter that does not say how long one send can take is assumed to take at most this long."""


def record_margin(job_timeout_s: float) -> float:
    """Time kept at the end of a job for recording its outcomes and enqueueing the rest."""
    return min(30.0, max(1.0, job_timeout_s * 0.2))


def start_by(job_started: float, job_timeout_s: float, max_send_s: float) -> float:
    """The ``time.monotonic()`` moment after which this job begins no send (see the module's docstring).

    Never earlier than half the job's budget: with an adapter timeout as long as the job timeout (a
    misconfiguration) a job must still make progress; only then can a send outlive its job.
    """
    budget = job_timeout_s - record_margin(job_timeout_s)
    return job_started + max(budget - max_send_s, budget / 2)


def max_send_seconds(adapter: object) -> float:
    """The adapter's own bound on one send (``max_send_seconds``), else :data:`DEFAULT_MAX_SEND_S`."""
    bound = getattr(adapter, "max_send_seconds", None)
    return float(bound) if isinstance(bound, int | float) else DEFAULT_MAX_SEND_S


class SendableWatch:
    """Whether an alert is still to be sent, read at most every :data:`CHECK_EVERY_S` (shared by a worker's
    batches of the alert: one read, not one per message)."""

    def __init__(self, app: WorkerContext, alert_id: str) -> None:
        self._app = app
        self._alert_id = alert_id
        self._checked_at = time.monotonic()
        self._sendable = True
        self._lock = asyncio.Lock()

    def seen_sendable(self) -> None:
        """The claim just read the state as sendable: no need to read it again for a while."""
        self._checked_at = time.monotonic()
        self._sendable = True

    async def sendable(self) -> bool:
        if not self._sendable or time.monotonic() - self._checked_at < CHECK_EVERY_S:
            return self._sendable
        async with self._lock:
            if time.monotonic() - self._checked_at >= CHECK_EVERY_S:
                async with self._app.runtime.sessions() as session:  # a read: no writer turn
                    state = await session.scalar(select(Alert.state).where(Alert.id == self._alert_id))
                self._sendable = state in SENDABLE_STATES
                self._checked_at = time.monotonic()
        return self._sendable


def watch_for(app: WorkerContext, alert_id: str) -> SendableWatch:
    """The worker's watch of this alert (kept with its other per-worker caches)."""
    watches: dict[str, SendableWatch] = app.cache.setdefault("sendable", {})
    found = watches.get(alert_id)
    if found is None:
        if len(watches) > 256:
            watches.clear()
        found = watches[alert_id] = SendableWatch(app, alert_id)
    return found


async def any_sending(session: AsyncSession, alert_id: str) -> bool:
    """Whether any delivery of the alert is ``sending``: claimed by a batch that may have handed it over and has
    not recorded it yet (so it must not be suppressed from under that batch)."""
    found = await session.scalar(
        select(Delivery.id).where(Delivery.alert_id == alert_id, Delivery.state == DeliveryState.SENDING.value).limit(1)
    )
    return found is not None

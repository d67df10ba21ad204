"""Putting an alert's fan-out on the arq queue: the job's name, its deterministic id and the enqueue, in a module
below every package that needs them.

The alert commands (:mod:`alertsvc.alerts.commands`) enqueue the fan-out after the transaction that approved the
alert commits; dispatch runs the job (:mod:`alertsvc.dispatch.worker`) and enqueues it again when it was lost
(:mod:`alertsvc.dispatch.sweeper`). ``alerts`` sits below ``dispatch`` in the layers and may not import it, and the
enqueue needs nothing of dispatch (the arq Redis and the job id), so it lives here: a leaf that imports only arq
and :mod:`alertsvc.lanes` (the fan-out of a life-safety alert is queued ahead of bulk work, like its batches).
:mod:`alertsvc.dispatch.jobs` names the rest of the jobs and takes these names from here, so the producer and the
worker still read one definition.
"""

from __future__ import annotations

from arq import ArqRedis

from alertsvc.lanes import Lane, enqueue_in_lane

__all__ = ["FANOUT", "enqueue_fanout", "fanout_job_id"]

FANOUT = "fanout"


def fanout_job_id(alert_id: str) -> str:
    """One fan-out per alert: arq refuses a second job with the same id while the first is queued or kept."""
    return f"fanout:{alert_id}"


async def enqueue_fanout(redis: ArqRedis, alert_id: str, lane: Lane, job_id: str | None = None) -> bool:
    """Enqueue ``fanout(alert_id)`` in the alert's ``lane`` (:func:`alertsvc.lanes.lane_of_document`); False if
    that fan-out is already queued (which is fine). Called only after the transaction that made the alert ready to
    send has committed, so the job never reads an uncommitted row. ``job_id``: the sweeper's own id for a second
    try when the usual one is blocked by a kept result."""
    return await enqueue_in_lane(redis, FANOUT, alert_id, lane=lane, job_id=job_id or fanout_job_id(alert_id))

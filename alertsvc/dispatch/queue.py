"""Putting work on the arq queue. Called only after the database transaction that made the work commits."""

from __future__ import annotations

from arq import ArqRedis

from alertsvc.dispatch.jobs import FANOUT, fanout_job_id


async def enqueue_fanout(redis: ArqRedis, alert_id: str) -> bool:
    """Enqueue ``fanout(alert_id)``; False if that fan-out is already queued (which is fine)."""
    job = await redis.enqueue_job(FANOUT, alert_id, _job_id=fanout_job_id(alert_id))
    return job is not None

"""Names of the arq jobs and their deterministic ids, in one place so producer and worker cannot drift."""

from __future__ import annotations

FANOUT = "fanout"
DELIVER = "deliver"
SWEEP = "sweep"


def fanout_job_id(alert_id: str) -> str:
    """One fan-out per alert: arq refuses a second job with the same id while the first is queued or kept."""
    return f"fanout:{alert_id}"


def deliver_job_id(alert_id: str, channel: str, first_id: int, tag: str = "0") -> str:
    """The same batch is never queued twice; ``tag`` separates retries and sweeper re-enqueues."""
    return f"deliver:{alert_id}:{channel}:{first_id}:{tag}"


SEND_CONFIRMATION = "send_confirmation"
WEBHOOK_PUMP = "webhook_pump"

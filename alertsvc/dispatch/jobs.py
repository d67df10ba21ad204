"""Names of the arq jobs and their deterministic ids, in one place so producer and worker cannot drift.

The fan-out's name and id are :mod:`alertsvc.jobs`' (the alert commands enqueue it, from below dispatch), taken
from there and named here with the rest.
"""

from __future__ import annotations

from alertsvc.jobs import FANOUT, fanout_job_id

__all__ = [
    "DELIVER",
    "FANOUT",
    "SEND_CONFIRMATION",
    "SWEEP",
    "WEBHOOK_PUMP",
    "deliver_job_id",
    "fanout_job_id",
]

DELIVER = "deliver"
SWEEP = "sweep"


def deliver_job_id(alert_id: str, channel: str, first_id: int, tag: str = "0") -> str:
    """The same batch is never queued twice; ``tag`` separates retries and sweeper re-enqueues."""
    return f"deliver:{alert_id}:{channel}:{first_id}:{tag}"


SEND_CONFIRMATION = "send_confirmation"
WEBHOOK_PUMP = "webhook_pump"

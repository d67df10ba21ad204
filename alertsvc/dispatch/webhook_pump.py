"""The ``webhook_pump`` job: every two seconds (arq cron, ``unique``), send the webhook events that are due.

The job is dispatch's (it runs on the worker, with the worker's runtime); what sending means is webhooks'
(:func:`alertsvc.webhooks.sender.send_due`), given the worker's runtime, so that the import goes one way only:
dispatch calls webhooks.
"""

from __future__ import annotations

from typing import Any

from alertsvc.dispatch.context import WorkerContext
from alertsvc.webhooks.sender import send_due


async def webhook_pump(ctx: dict[str, Any]) -> dict[str, int]:
    """Counts of events ``sent``, to ``retry`` and ``failed`` in this run (arq keeps them as the job's result)."""
    app: WorkerContext = ctx["app"]
    return await send_due(app.runtime)

"""The ``webhook_pump`` job: send due webhook events, with backoff and a bounded number of tries.

Runs every two seconds on one worker (arq cron, ``unique``). Events are claimed with a guarded update, sent
with a timeout and no database session held, and recorded: delivered, retried later (exponential backoff with
jitter), or given up after :data:`MAX_ATTEMPTS` (about half an hour of tries).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.retry import next_attempt
from alertsvc.store.db import transaction
from alertsvc.store.models import Webhook, WebhookEvent
from alertsvc.store.types import utcnow
from alertsvc.webhooks.signing import HEADER, sign
from alertsvc.webhooks.targets import WebhookUrlError, check_url

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
BATCH = 100
TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0


async def _claim(app: WorkerContext) -> list[tuple[int, str, str, dict[str, Any], int]]:
    now = utcnow()
    lease = now + timedelta(minutes=2)  # if this worker dies, the event is due again after the lease
    async with transaction(app.runtime.sessions) as session:
        rows = list(
            await session.execute(
                select(WebhookEvent.id, Webhook.url, Webhook.secret, WebhookEvent.payload, WebhookEvent.attempts)
                .join(Webhook, Webhook.id == WebhookEvent.webhook_id)
                .where(WebhookEvent.state == "pending", WebhookEvent.next_attempt_at <= now, Webhook.active.is_(True))
                .order_by(WebhookEvent.id)
                .limit(BATCH)
            )
        )
        if rows:
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_([row[0] for row in rows]), WebhookEvent.state == "pending")
                .values(next_attempt_at=lease, attempts=WebhookEvent.attempts + 1)
            )
    return [(int(r[0]), str(r[1]), str(r[2]), dict(r[3]), int(r[4]) + 1) for r in rows]


async def _post(client: httpx.AsyncClient, url: str, secret: str, payload: dict[str, Any], allow_private: bool) -> str:
    """'' when delivered, else a short reason."""
    import httpx  # deferred: see webhook_pump (already loaded there, so this costs a dict lookup)

    try:
        await check_url(url, allow_private)
    except WebhookUrlError as exc:
        return f"refused: {exc}"
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", HEADER: sign(secret, body), "User-Agent": "alertsvc-webhooks"}
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"network: {type(exc).__name__}"
    return "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


async def webhook_pump(ctx: dict[str, Any]) -> dict[str, int]:
    app: WorkerContext = ctx["app"]
    claimed = await _claim(app)
    if not claimed:
        return {"sent": 0, "retry": 0, "failed": 0}
    # Deferred: httpx (with click and pygments from its command-line module) is only needed when an event is
    # due; a worker in a deployment without webhooks never has to carry it.
    import httpx

    counts = {"sent": 0, "retry": 0, "failed": 0}
    timeout = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        results = [
            (event_id, attempts, await _post(client, url, secret, payload, app.settings.webhook_allow_private))
            for event_id, url, secret, payload, attempts in claimed
        ]
    now = utcnow()
    async with transaction(app.runtime.sessions) as session:
        for event_id, attempts, problem in results:
            values: dict[str, Any]
            if not problem:
                values = {"state": "delivered", "delivered_at": now, "last_status": "ok"}
                counts["sent"] += 1
            else:
                when = None if attempts >= MAX_ATTEMPTS else next_attempt(now, attempts, None)
                if when is None:
                    values = {"state": "failed", "last_status": problem[:100]}
                    counts["failed"] += 1
                else:
                    values = {"next_attempt_at": when, "last_status": problem[:100]}
                    counts["retry"] += 1
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id, WebhookEvent.state == "pending")
                .values(**values)
            )
    return counts

"""Sending due webhook events: claim them, post each signed with a timeout and no session held, record the outcome.

Dispatch's ``webhook_pump`` job (:mod:`alertsvc.dispatch.webhook_pump`, every two seconds on one worker) calls
:func:`send_due` with the :class:`~alertsvc.runtime.Runtime` (its sessions and settings) and, if the caller has
one, an HTTP client; each step owns its own transaction (the convention in :mod:`alertsvc.runtime`). Webhooks
therefore never import dispatch; the backoff both share lives in the leaf :mod:`alertsvc.backoff`.

An event is claimed with a guarded update that pushes it past a lease (a worker that dies leaves it due again
after the lease), sent, and recorded: delivered, retried later (exponential backoff with jitter), or given up
after :data:`MAX_ATTEMPTS` (about half an hour of tries). Only ``pending`` events move, so a repeated record
changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.backoff import next_attempt
from alertsvc.clock import utcnow
from alertsvc.store.db import transaction
from alertsvc.store.models import Webhook, WebhookEvent
from alertsvc.webhooks.signing import HEADER, sign
from alertsvc.webhooks.targets import WebhookUrlError, check_url

if TYPE_CHECKING:
    import httpx

    from alertsvc.runtime import Runtime

MAX_ATTEMPTS = 12
BATCH = 100
LEASE = timedelta(minutes=2)
"""How long a claimed event is held by its sender; if the sender dies, the event is due again after it."""
TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class DueEvent:
    """One claimed event and what sending it takes."""

    id: int
    url: str
    secret: str
    payload: dict[str, Any]
    attempt: int
    """Which try this is, counting from 1."""


async def claim_due(sessions: async_sessionmaker[AsyncSession], now: datetime, limit: int = BATCH) -> list[DueEvent]:
    """Up to ``limit`` pending events that are due, for active webhooks, leased to the caller until ``now + LEASE``."""
    async with transaction(sessions) as session:
        rows = list(
            await session.execute(
                select(WebhookEvent.id, Webhook.url, Webhook.secret, WebhookEvent.payload, WebhookEvent.attempts)
                .join(Webhook, Webhook.id == WebhookEvent.webhook_id)
                .where(WebhookEvent.state == "pending", WebhookEvent.next_attempt_at <= now, Webhook.active.is_(True))
                .order_by(WebhookEvent.id)
                .limit(limit)
            )
        )
        if rows:
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_([row[0] for row in rows]), WebhookEvent.state == "pending")
                .values(next_attempt_at=now + LEASE, attempts=WebhookEvent.attempts + 1)
            )
    return [DueEvent(int(r[0]), str(r[1]), str(r[2]), dict(r[3]), int(r[4]) + 1) for r in rows]


async def post(client: httpx.AsyncClient, event: DueEvent, allow_private: bool) -> str:
    """Send one event; ``''`` when the receiver took it (2xx), else a short reason without the URL or secret.

    The URL is checked again before every send: a name that resolved to a public address at registration may
    resolve to a private one now.
    """
    import httpx  # deferred: see send_due (already loaded there, so this costs a dict lookup)

    try:
        await check_url(event.url, allow_private)
    except WebhookUrlError as exc:
        return f"refused: {exc}"
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", HEADER: sign(event.secret, body), "User-Agent": "alertsvc-webhooks"}
    try:
        response = await client.post(event.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"network: {type(exc).__name__}"
    return "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


async def record_results(
    sessions: async_sessionmaker[AsyncSession], results: Sequence[tuple[DueEvent, str]], now: datetime
) -> dict[str, int]:
    """Record each ``(event, problem)`` from :func:`post`; counts of ``sent``, ``retry`` and ``failed``."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    async with transaction(sessions) as session:
        for event, problem in results:
            values: dict[str, Any]
            if not problem:
                values = {"state": "delivered", "delivered_at": now, "last_status": "ok"}
                counts["sent"] += 1
            else:
                when = None if event.attempt >= MAX_ATTEMPTS else next_attempt(now, event.attempt, None)
                if when is None:
                    values = {"state": "failed", "last_status": problem[:100]}
                    counts["failed"] += 1
                else:
                    values = {"next_attempt_at": when, "last_status": problem[:100]}
                    counts["retry"] += 1
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event.id, WebhookEvent.state == "pending")
                .values(**values)
            )
    return counts


async def send_due(runtime: Runtime, client: httpx.AsyncClient | None = None) -> dict[str, int]:
    """Claim, send and record one batch of due events; counts of ``sent``, ``retry`` and ``failed``.

    Without ``client`` one is made for the batch (timeouts, no redirects: a redirect could lead to a private
    address the URL check never saw), and only when an event is due. Private addresses are sent to only under
    ``webhook_allow_private``.
    """
    sessions, allow_private = runtime.sessions, runtime.settings.webhook_allow_private
    claimed = await claim_due(sessions, utcnow())
    if not claimed:
        return {"sent": 0, "retry": 0, "failed": 0}
    if client is not None:
        results = [(event, await post(client, event, allow_private)) for event in claimed]
    else:
        # Deferred: httpx (with click and pygments from its command-line module) is only needed when an event is
        # due; a worker in a deployment without webhooks never has to carry it.
        import httpx

        timeout = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as own:
            results = [(event, await post(own, event, allow_private)) for event in claimed]
    return await record_results(sessions, results, utcnow())

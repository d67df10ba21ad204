"""Sending due webhook events with an HTTP client the caller passes (no worker, no dispatch): signed bodies, the
lease that keeps a claimed event from a second sender, retries with backoff, giving up, and the URL checked again
before every send."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.store.models import WebhookEvent
from alertsvc.webhooks import registry
from alertsvc.webhooks.events import ALERT_STATE, emit
from alertsvc.webhooks.sender import LEASE, MAX_ATTEMPTS, claim_due, send_due
from alertsvc.webhooks.signing import HEADER, verify

URL = "http://127.0.0.1:9/hook"


class Receiver:
    """An httpx mock transport that records each request and answers ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


async def _hook_with_event(runtime: Runtime, url: str = URL) -> tuple[int, str]:
    """A webhook for ``url`` with one pending event; its id and secret."""
    runtime.settings.webhook_allow_private = True
    created = await registry.register(runtime, "key-a", url, [ALERT_STATE])
    async with runtime.sessions() as session, session.begin():
        assert await emit(session, ALERT_STATE, {"alert_id": "a-1", "state": "sent"}) == 1
    return created.webhook.id, created.secret


async def _event(runtime: Runtime) -> WebhookEvent:
    async with runtime.sessions() as session:
        event = await session.scalar(select(WebhookEvent))
        assert event is not None
        return event


async def _send(runtime: Runtime, client: httpx.AsyncClient, allow_private: bool = True) -> tuple[int, int, int]:
    """One run of the sender: how many events were sent, are to be retried, failed."""
    runtime.settings.webhook_allow_private = allow_private
    counts = await send_due(runtime, client)
    return counts["sent"], counts["retry"], counts["failed"]


async def _make_due(runtime: Runtime, **values: object) -> None:
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(WebhookEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1), **values))


async def test_a_due_event_is_sent_signed_once(runtime: Runtime) -> None:
    _, secret = await _hook_with_event(runtime)
    receiver = Receiver()
    async with receiver.client() as client:
        assert await _send(runtime, client) == (1, 0, 0)
        assert await _send(runtime, client) == (0, 0, 0)
    [request] = receiver.requests
    assert str(request.url) == URL
    assert verify(secret, request.content, request.headers[HEADER])
    sent = json.loads(request.content)
    assert (sent["type"], sent["data"]) == (ALERT_STATE, {"alert_id": "a-1", "state": "sent"})
    event = await _event(runtime)
    assert (event.state, event.attempts, event.last_status) == ("delivered", 1, "ok")
    assert event.delivered_at is not None


async def test_a_claimed_event_is_leased_from_other_senders(runtime: Runtime) -> None:
    await _hook_with_event(runtime)
    now = utcnow()
    [claimed] = await claim_due(runtime.sessions, now)
    assert claimed.attempt == 1
    assert await claim_due(runtime.sessions, now + LEASE - timedelta(seconds=1)) == []
    [again] = await claim_due(runtime.sessions, now + LEASE + timedelta(seconds=1))  # its sender died: due again
    assert (again.id, again.attempt) == (claimed.id, 2)


async def test_a_failing_receiver_is_retried_later_then_given_up(runtime: Runtime) -> None:
    await _hook_with_event(runtime)
    receiver = Receiver(status=500)
    async with receiver.client() as client:
        before = utcnow()
        assert await _send(runtime, client) == (0, 1, 0)
        event = await _event(runtime)
        assert (event.state, event.attempts, event.last_status) == ("pending", 1, "HTTP 500")
        assert event.next_attempt_at is not None and event.next_attempt_at > before  # backoff, not at once
        assert await _send(runtime, client) == (0, 0, 0)

        await _make_due(runtime, attempts=MAX_ATTEMPTS - 1)
        assert await _send(runtime, client) == (0, 0, 1)
    assert len(receiver.requests) == 2
    event = await _event(runtime)
    assert (event.state, event.attempts, event.last_status) == ("failed", MAX_ATTEMPTS, "HTTP 500")


async def test_the_url_is_checked_again_before_sending(runtime: Runtime) -> None:
    await _hook_with_event(runtime)  # registered while private addresses were allowed
    receiver = Receiver()
    async with receiver.client() as client:
        assert await _send(runtime, client, allow_private=False) == (0, 1, 0)
    assert receiver.requests == []
    event = await _event(runtime)
    assert event.last_status is not None and event.last_status.startswith("refused: ")


async def test_events_of_a_removed_webhook_are_not_sent(runtime: Runtime) -> None:
    hook_id, _ = await _hook_with_event(runtime)
    await registry.delete(runtime, "key-a", hook_id)
    receiver = Receiver()
    async with receiver.client() as client:
        assert await _send(runtime, client) == (0, 0, 0)
    assert receiver.requests == []
    assert (await _event(runtime)).state == "pending"

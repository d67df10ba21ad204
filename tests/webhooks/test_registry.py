"""The webhooks table's owner, called directly on SQLite and PostgreSQL: what registering writes (and refuses to),
who sees and removes which webhook, and that every change leaves its audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from alertsvc.runtime import Runtime
from alertsvc.security.audit import events_for
from alertsvc.store.models import Webhook, WebhookEvent
from alertsvc.webhooks import registry
from alertsvc.webhooks.events import ACKNOWLEDGEMENT, ALERT_STATE, EVENT_TYPES, emit
from alertsvc.webhooks.registry import UnknownEventTypes, WebhookNotFound, WebhookUrlError

URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def private_allowed(runtime: Runtime) -> Runtime:
    """The runtime, with webhooks to private addresses allowed (the receivers here are on loopback)."""
    runtime.settings.webhook_allow_private = True
    return runtime


async def _rows(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Webhook)) or 0)


async def test_register_lists_and_audits(private_allowed: Runtime) -> None:
    runtime = private_allowed
    created = await registry.register(runtime, "key-a", URL, [ACKNOWLEDGEMENT])
    assert len(created.secret) >= 40  # token_urlsafe(32): 43 characters
    hook = created.webhook
    assert (hook.url, hook.events, hook.active) == (URL, (ACKNOWLEDGEMENT,), True)
    second = await registry.register(runtime, "key-a", URL, EVENT_TYPES)
    assert second.secret != created.secret
    assert await registry.list_for(runtime, "key-a") == [hook, second.webhook]  # oldest first, never the secret
    assert await registry.get(runtime, "key-a", hook.id) == hook
    async with runtime.sessions() as session:  # committed: another session sees the row and its audit
        stored = await session.get(Webhook, hook.id)
        assert stored is not None and stored.secret == created.secret and stored.owner == "key-a"
        trail = await events_for(session, "webhook", str(hook.id))
    assert [(e.actor, e.action, e.detail) for e in trail] == [("key-a", "webhook.create", {"events": ACKNOWLEDGEMENT})]


async def test_unknown_event_types_are_refused_before_anything_is_written(private_allowed: Runtime) -> None:
    with pytest.raises(UnknownEventTypes) as refused:
        await registry.register(private_allowed, "key-a", URL, [ALERT_STATE, "b.x", "a.x"])
    assert refused.value.unknown == ["a.x", "b.x"]
    assert str(refused.value) == "unknown: a.x, b.x"
    assert await _rows(private_allowed) == 0


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/hook", "http://10.0.0.1/x", "http://[::1]/x", "file:///etc/passwd", "http://u:p@a.org/"]
)
async def test_urls_that_may_not_be_used_are_refused(runtime: Runtime, url: str) -> None:
    assert not runtime.settings.webhook_allow_private  # the default
    with pytest.raises(WebhookUrlError):
        await registry.register(runtime, "key-a", url, EVENT_TYPES)
    assert await _rows(runtime) == 0


async def test_private_urls_are_accepted_when_allowed(private_allowed: Runtime) -> None:
    created = await registry.register(private_allowed, "key-a", "http://10.0.0.1/x", EVENT_TYPES)
    assert created.webhook.url == "http://10.0.0.1/x"
    with pytest.raises(WebhookUrlError):  # credentials in the URL: refused even where private ones are allowed
        await registry.register(private_allowed, "key-a", "http://u:p@10.0.0.1/x", EVENT_TYPES)


async def test_another_key_neither_sees_nor_removes_a_webhook(private_allowed: Runtime) -> None:
    runtime = private_allowed
    hook = (await registry.register(runtime, "key-a", URL, EVENT_TYPES)).webhook
    assert await registry.list_for(runtime, "key-b") == []
    with pytest.raises(WebhookNotFound):
        await registry.get(runtime, "key-b", hook.id)
    with pytest.raises(WebhookNotFound):
        await registry.delete(runtime, "key-b", hook.id)
    assert (await registry.get(runtime, "key-a", hook.id)).active
    async with runtime.sessions() as session:
        trail = await events_for(session, "webhook", str(hook.id))
    assert [e.action for e in trail] == ["webhook.create"]


async def test_delete_stops_events_keeps_the_row_and_is_audited(private_allowed: Runtime) -> None:
    runtime = private_allowed
    kept = (await registry.register(runtime, "key-a", URL, EVENT_TYPES)).webhook
    removed = (await registry.register(runtime, "key-a", URL, EVENT_TYPES)).webhook
    await registry.delete(runtime, "key-a", removed.id)
    await registry.delete(runtime, "key-a", removed.id)  # removing again succeeds, as it always has
    with pytest.raises(WebhookNotFound):
        await registry.delete(runtime, "key-a", removed.id + 100)
    listed = {hook.id: hook.active for hook in await registry.list_for(runtime, "key-a")}
    assert listed == {kept.id: True, removed.id: False}
    async with runtime.sessions() as session, session.begin():
        assert await emit(session, ALERT_STATE, {"alert_id": "x"}) == 1
    async with runtime.sessions() as session:
        assert list(await session.scalars(select(WebhookEvent.webhook_id))) == [kept.id]
        trail = await events_for(session, "webhook", str(removed.id))
    assert [(e.actor, e.action) for e in trail] == [
        ("key-a", "webhook.create"),
        ("key-a", "webhook.delete"),
        ("key-a", "webhook.delete"),
    ]

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


async def _register(runtime: Runtime, owner: str, events: tuple[str, ...] = EVENT_TYPES) -> registry.Registered:
    async with runtime.sessions() as session, session.begin():
        return await registry.register(session, owner, URL, events, allow_private=True)


async def _rows(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Webhook)) or 0)


async def test_register_lists_and_audits(runtime: Runtime) -> None:
    created = await _register(runtime, "key-a", (ACKNOWLEDGEMENT,))
    assert len(created.secret) >= 40  # token_urlsafe(32): 43 characters
    hook = created.webhook
    assert (hook.url, hook.events, hook.active) == (URL, (ACKNOWLEDGEMENT,), True)
    second = await _register(runtime, "key-a")
    assert second.secret != created.secret
    async with runtime.sessions() as session:
        listed = await registry.list_for(session, "key-a")
        assert listed == [hook, second.webhook]  # oldest first, secret never part of what is listed
        assert await registry.get(session, "key-a", hook.id) == hook
        stored = await session.get(Webhook, hook.id)
        assert stored is not None and stored.secret == created.secret and stored.owner == "key-a"
        trail = await events_for(session, "webhook", str(hook.id))
    assert [(e.actor, e.action, e.detail) for e in trail] == [("key-a", "webhook.create", {"events": ACKNOWLEDGEMENT})]


async def test_unknown_event_types_are_refused_before_anything_is_written(runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        with pytest.raises(UnknownEventTypes) as refused:
            await registry.register(session, "key-a", URL, [ALERT_STATE, "b.x", "a.x"], allow_private=True)
    assert refused.value.unknown == ["a.x", "b.x"]
    assert str(refused.value) == "unknown: a.x, b.x"
    assert await _rows(runtime) == 0


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/hook", "http://10.0.0.1/x", "http://[::1]/x", "file:///etc/passwd", "http://u:p@a.org/"]
)
async def test_urls_that_may_not_be_used_are_refused(runtime: Runtime, url: str) -> None:
    async with runtime.sessions() as session, session.begin():
        with pytest.raises(WebhookUrlError):
            await registry.register(session, "key-a", url, EVENT_TYPES, allow_private=False)
    assert await _rows(runtime) == 0


async def test_private_urls_are_accepted_when_allowed(runtime: Runtime) -> None:
    async with runtime.sessions() as session, session.begin():
        created = await registry.register(session, "key-a", "http://10.0.0.1/x", EVENT_TYPES, allow_private=True)
    assert created.webhook.url == "http://10.0.0.1/x"
    async with runtime.sessions() as session, session.begin():
        with pytest.raises(WebhookUrlError):  # credentials in the URL: refused even where private ones are allowed
            await registry.register(session, "key-a", "http://u:p@10.0.0.1/x", EVENT_TYPES, allow_private=True)


async def test_another_key_neither_sees_nor_removes_a_webhook(runtime: Runtime) -> None:
    hook = (await _register(runtime, "key-a")).webhook
    async with runtime.sessions() as session, session.begin():
        assert await registry.list_for(session, "key-b") == []
        with pytest.raises(WebhookNotFound):
            await registry.get(session, "key-b", hook.id)
        with pytest.raises(WebhookNotFound):
            await registry.delete(session, "key-b", hook.id)
    async with runtime.sessions() as session:
        assert (await registry.get(session, "key-a", hook.id)).active
        trail = await events_for(session, "webhook", str(hook.id))
    assert [e.action for e in trail] == ["webhook.create"]


async def test_delete_stops_events_keeps_the_row_and_is_audited(runtime: Runtime) -> None:
    kept = (await _register(runtime, "key-a")).webhook
    removed = (await _register(runtime, "key-a")).webhook
    async with runtime.sessions() as session, session.begin():
        await registry.delete(session, "key-a", removed.id)
        await registry.delete(session, "key-a", removed.id)  # removing again succeeds, as it always has
        with pytest.raises(WebhookNotFound):
            await registry.delete(session, "key-a", removed.id + 100)
    async with runtime.sessions() as session, session.begin():
        listed = {hook.id: hook.active for hook in await registry.list_for(session, "key-a")}
        assert listed == {kept.id: True, removed.id: False}
        assert await emit(session, ALERT_STATE, {"alert_id": "x"}) == 1
    async with runtime.sessions() as session:
        assert list(await session.scalars(select(WebhookEvent.webhook_id))) == [kept.id]
        trail = await events_for(session, "webhook", str(removed.id))
    assert [(e.actor, e.action) for e in trail] == [
        ("key-a", "webhook.create"),
        ("key-a", "webhook.delete"),
        ("key-a", "webhook.delete"),
    ]

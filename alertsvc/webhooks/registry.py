"""The webhooks table's owner: registering, listing, finding and removing the webhooks an API key registered.

Each function takes the :class:`~alertsvc.runtime.Runtime` and owns its unit of work (the convention drawn in
:mod:`alertsvc.runtime`): it reads in a session of its own, or changes in one transaction with the audit row that
records the change, and returns plain values. A webhook belongs to the API key (the principal's name) that
registered it: another key neither sees nor removes it, and is told "not found" rather than "not yours".

Refusals are the application's errors (:mod:`alertsvc.errors`), which each entry side maps once::

    InvalidInput
     ├── UnknownEventTypes   an event type that is not in EVENT_TYPES          (field: body.events)
     └── WebhookUrlError     a URL that may not be used (alertsvc.webhooks.targets) (field: body.url)
    NotFound
     └── WebhookNotFound     no webhook with that id for this owner
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.errors import FieldError, InvalidInput, NotFound
from alertsvc.security.audit import record
from alertsvc.store.db import transaction
from alertsvc.store.models import Webhook
from alertsvc.webhooks.events import EVENT_TYPES
from alertsvc.webhooks.targets import WebhookUrlError, check_url

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "Registered",
    "UnknownEventTypes",
    "WebhookInfo",
    "WebhookNotFound",
    "WebhookUrlError",
    "delete",
    "get",
    "list_for",
    "register",
]


class UnknownEventTypes(InvalidInput):
    """Some of the requested event types do not exist; ``unknown`` lists them, sorted."""

    def __init__(self, unknown: Sequence[str]) -> None:
        self.unknown = sorted(unknown)
        reason = f"unknown: {', '.join(self.unknown)}"
        super().__init__(reason, message="unknown event type", errors=[FieldError(["body", "events"], reason)])


class WebhookNotFound(NotFound):
    """No webhook with that id belongs to this owner (it may not exist, or belong to another key)."""

    def __init__(self, webhook_id: int) -> None:
        super().__init__("no webhook with that id")
        self.webhook_id = webhook_id


@dataclass(frozen=True)
class WebhookInfo:
    """A webhook as its owner may see it: everything but the secret."""

    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Registered:
    """A new webhook and its signing secret, which is shown once, at registration, and never again."""

    webhook: WebhookInfo
    secret: str


def _info(hook: Webhook) -> WebhookInfo:
    return WebhookInfo(hook.id, hook.url, tuple(hook.events.split(",")), hook.active, hook.created_at)


async def register(runtime: Runtime, owner: str, url: str, events: Sequence[str]) -> Registered:
    """Register ``url`` for ``events`` on behalf of ``owner``, with a fresh secret; audited as ``webhook.create``.

    Raises :class:`UnknownEventTypes` or :class:`WebhookUrlError` before anything is written: the URL's host is
    resolved before a transaction is opened, so a slow name server holds no connection. Private addresses are
    accepted only under ``webhook_allow_private``.
    """
    unknown = set(events) - set(EVENT_TYPES)
    if unknown:
        raise UnknownEventTypes(list(unknown))
    checked = await check_url(url, runtime.settings.webhook_allow_private)
    async with transaction(runtime.sessions) as session:
        hook = Webhook(owner=owner, url=checked, secret=secrets.token_urlsafe(32), events=",".join(events))
        session.add(hook)
        await session.flush()
        await record(session, owner, "webhook.create", "webhook", str(hook.id), {"events": hook.events})
        return Registered(_info(hook), hook.secret)


async def list_for(runtime: Runtime, owner: str) -> list[WebhookInfo]:
    """``owner``'s webhooks, oldest first, removed ones included (``active`` false)."""
    async with runtime.sessions() as session:
        hooks = await session.scalars(select(Webhook).where(Webhook.owner == owner).order_by(Webhook.id))
        return [_info(hook) for hook in hooks]


async def _owned(session: AsyncSession, owner: str, webhook_id: int) -> Webhook:
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.owner != owner:
        raise WebhookNotFound(webhook_id)
    return hook


async def get(runtime: Runtime, owner: str, webhook_id: int) -> WebhookInfo:
    """``owner``'s webhook ``webhook_id``; :class:`WebhookNotFound` when it has none with that id."""
    async with runtime.sessions() as session:
        return _info(await _owned(session, owner, webhook_id))


async def delete(runtime: Runtime, owner: str, webhook_id: int) -> None:
    """Stop sending to ``owner``'s webhook ``webhook_id``; audited as ``webhook.delete``.

    The row is kept, inactive, with its events (the sender skips them), so what was sent stays on record.
    Removing an already removed webhook succeeds again. :class:`WebhookNotFound` when ``owner`` has none.
    """
    async with transaction(runtime.sessions) as session:
        hook = await _owned(session, owner, webhook_id)
        hook.active = False
        await record(session, owner, "webhook.delete", "webhook", str(hook.id), {})

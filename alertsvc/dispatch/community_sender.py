"""Sending community messages: meeting invitations and reminders, and "you said, we did" responses to supporters.

Every minute the worker's cron runs :func:`community_tick`: it closes claims a dead worker left mid-send and
enqueues :func:`send_community` jobs for the pending messages that are due, in batches, in the bulk lane
(:mod:`alertsvc.lanes`: a life-safety warning's jobs start before them). A job claims its batch
(:func:`alertsvc.community.sending.claim_due`: once, checked again against consent, STOP, quiet hours, the weekly
cap, a cancelled meeting), renders each message in the resident's language from ``templates/messages/community_*``
(the time in the resident's own zone, by Babel), paces it by the channel's shared rate limit, sends it through the
same channel adapters as the warnings, and records what the provider said. No session is held while sending.

SMS: no status callback is asked for. A community message has no ``deliveries`` row, so a Twilio callback for it
would find no delivery and be kept as an "early callback" waiting for one that never comes; ``sent`` means the
provider accepted the message, and that is what is recorded and shown to staff.

Crash mid-send: the claimed rows stay ``sending``; an arq retry of the job claims nothing (they are no longer
``pending``), and the tick closes them as ``failed`` (``interrupted``) after
:data:`~alertsvc.community.sending.INTERRUPTED_AFTER`: at most once, never twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from alertsvc.clock import utcnow
from alertsvc.community.sending import Outcome, ReadySend, claim_due, close_interrupted, due_ids, record_outcomes
from alertsvc.dispatch.context import WorkerContext
from alertsvc.i18n import DEFAULT, translator
from alertsvc.lanes import Lane, enqueue_in_lane
from alertsvc.resources import templates_dir
from channels.base import ChannelError, Message

log = logging.getLogger(__name__)

__all__ = [
    "BATCH",
    "COMMUNITY_TICK",
    "SEND_COMMUNITY",
    "community_tick",
    "enqueue_due",
    "render",
    "send_batch",
    "send_community",
]

COMMUNITY_TICK = "community_tick"
SEND_COMMUNITY = "send_community"
BATCH = 50
"""Messages per job: at an SMS rate of 10 a second a job ends in seconds, so the worker's slots keep turning over."""
PICK_LIMIT = 5000
"""Messages enqueued per tick at most; the rest are due at the next tick."""
SMS_RESPONSE_CHARACTERS = 320
"""A response in an SMS is cut here (its full text is on the zone page the message links to)."""


@lru_cache(maxsize=1)
def _environment(root: str) -> Environment:
    # Plain-text templates (``.txt.j2``): nothing to escape; an HTML one would be escaped.
    return Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    )


def _template(kind: str) -> Template:
    return _environment(str(templates_dir())).get_template(f"messages/community_{kind}.txt.j2")


def _when(moment: datetime, timezone: str, language: str) -> str:
    """The meeting's start as the resident reads it: in their own time zone, named, in their language."""
    from babel.core import Locale, UnknownLocaleError
    from babel.dates import format_date, format_datetime, format_time

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse(DEFAULT)
    local = moment.astimezone(zone)
    day = format_date(local.date(), "full", locale=locale)
    clock = format_time(local, "short", tzinfo=zone, locale=locale)
    return f"{day}, {clock} ({format_datetime(local, 'zzzz', tzinfo=zone, locale=locale)})"


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def render(item: ReadySend, public_url: str) -> tuple[str, str]:
    """The subject (its first line) and body of ``item`` in the resident's language."""
    base = public_url.rstrip("/")
    zone_path = f"{base}/z/{quote(item.zone, safe='')}"
    response = _cut(item.response, SMS_RESPONSE_CHARACTERS) if item.channel == "sms" else item.response.strip()
    context: dict[str, Any] = {
        "_": translator("messages", item.language),
        "title": item.title,
        "when": _when(item.starts_at, item.timezone, item.language) if item.starts_at else "",
        "place": item.place,
        "ics_url": f"{zone_path}/meetings.ics",
        "zone_url": zone_path,
        "manage_url": f"{base}/r/manage/{item.manage_token}",
        "status": item.status,
        "response": response,
    }
    body = "\n".join(line for line in _template(item.kind).render(context).splitlines() if line.strip())
    return body.splitlines()[0], body


def _message(item: ReadySend, public_url: str) -> Message:
    subject, body = render(item, public_url)
    reference = f"community-{item.id}"
    if item.channel == "email":
        return Message(channel="email", to=item.address, subject=subject, body=body, reference=reference)
    if item.channel == "push":
        return Message(channel="push", to=item.address, subject=subject, body=body, reference=reference)
    return Message(channel="sms", to=item.address, body=body, reference=reference)  # no status callback: see above


async def _send_one(app: WorkerContext, item: ReadySend, slot: Any, position: int) -> Outcome:
    try:
        message = _message(item, app.settings.public_url)
    except Exception as exc:  # a template that cannot be rendered is ours to fix: fail this one, keep the batch
        log.exception("community message %s could not be rendered", item.id)
        return Outcome(item.id, item.channel, error_code="invalid_message", reason=str(exc)[:200])
    if slot is not None:
        await slot.wait_for(position)
    try:
        async with app.send_gate(item.channel):
            result = await app.channels[item.channel].send(message)
    except ChannelError as exc:
        return Outcome(item.id, item.channel, error_code=exc.code, reason=exc.reason)
    except Exception:  # an adapter bug: recorded, not retried (at most once)
        log.exception("channel %s raised unexpectedly for community message %s", item.channel, item.id)
        return Outcome(item.id, item.channel, error_code="internal", reason="unexpected error in the channel adapter")
    return Outcome(item.id, item.channel, provider_id=result.provider_id)


async def _send_channel(app: WorkerContext, items: list[ReadySend]) -> list[Outcome]:
    """Send one channel's share of a batch within the channel's shared rate limit (slots reserved together)."""
    limiter = app.limiters.get(items[0].channel)
    slots = None
    if limiter is not None:
        try:
            slots = await limiter.reserve(len(items), Lane.BULK)  # behind any life-safety batch
        except Exception:
            # Redis is gone: nothing was sent, so the rows go back to ``pending`` for a later tick.
            log.warning("rate limiter unreachable: %d community messages wait for the next tick", len(items))
            return [Outcome(i.id, i.channel, unsent=True) for i in items]
    return list(await asyncio.gather(*(_send_one(app, item, slots, n) for n, item in enumerate(items))))


async def send_batch(app: WorkerContext, ids: list[int], now: datetime) -> dict[str, int]:
    """Claim, check, send and record one batch; counts of what was sent and what failed."""
    ready = await app.runtime.write(claim_due, ids, now, app.settings.community_weekly_cap, app.settings)
    by_channel: dict[str, list[ReadySend]] = {}
    for item in ready:
        by_channel.setdefault(item.channel, []).append(item)
    results = await asyncio.gather(*(_send_channel(app, items) for items in by_channel.values()))
    outcomes = [outcome for share in results for outcome in share]
    if outcomes:
        await app.runtime.write(record_outcomes, outcomes, now)
    failed = sum(1 for outcome in outcomes if outcome.error_code is not None)
    sent = sum(1 for outcome in outcomes if outcome.error_code is None and not outcome.unsent)
    return {"claimed": len(ready), "sent": sent, "failed": failed}


async def send_community(ctx: dict[str, Any], ids: list[int]) -> dict[str, int]:
    """The arq job: one batch of due community messages."""
    app: WorkerContext = ctx["app"]
    return await send_batch(app, ids, utcnow())


def _job_id(ids: list[int], now: datetime) -> str:
    """One job per batch and minute: a batch deferred by quiet hours is picked again later under a new id."""
    return f"community:{ids[0]}:{ids[-1]}:{now:%Y%m%d%H%M}"


async def enqueue_due(app: WorkerContext, now: datetime) -> dict[str, int]:
    """Close interrupted claims, then enqueue the due messages in batches of :data:`BATCH`."""
    interrupted = await app.runtime.write(close_interrupted, now)
    async with app.runtime.sessions() as session:
        ids = await due_ids(session, now, PICK_LIMIT)
    jobs = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        # The bulk lane: a life-safety warning's jobs start before every queued community message.
        if await enqueue_in_lane(app.runtime.redis, SEND_COMMUNITY, chunk, lane=Lane.BULK, job_id=_job_id(chunk, now)):
            jobs += 1
    return {"community_due": len(ids), "community_jobs": jobs, "community_interrupted": interrupted}


async def community_tick(ctx: dict[str, Any]) -> dict[str, int]:
    """The every-minute cron job (see the module)."""
    app: WorkerContext = ctx["app"]
    return await enqueue_due(app, utcnow())

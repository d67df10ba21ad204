"""What a worker holds for its whole life: the runtime, the channels, rate limiters, zones, link signers.

Made once in arq's ``on_startup`` and closed in ``on_shutdown``; jobs reach it as ``ctx["app"]``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from alertsvc.dispatch.outbox import RedisOutbox
from alertsvc.dispatch.ratelimit import RateLimiter
from alertsvc.geo.zones import ZoneRegistry
from alertsvc.runtime import Runtime
from alertsvc.security.links import LinkSigner
from alertsvc.settings import Settings
from channels.base import Channel

BATCH_SECONDS = 2.0
"""How long, at its channel's rate limit, one ``deliver`` job should take to send its batch."""


def build_channels(settings: Settings, runtime: Runtime) -> dict[str, Channel]:
    """The channel adapters for these settings: sandbox providers, or the real ones."""
    if settings.sandbox:
        from channels.sandbox import sandbox_channels

        # The sandbox builds and refuses as the real adapters would, so it takes their options.
        sandbox = sandbox_channels(
            RedisOutbox(runtime.redis), from_addr=settings.email_from, push_allow_private=settings.push_allow_private
        )
        return dict(sandbox)
    from channels.email import SmtpEmail
    from channels.push import ApprisePush
    from channels.sms import TwilioSms

    return {
        "sms": TwilioSms(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            from_=settings.twilio_from,
            base_url=settings.twilio_base_url,
            # As many connections as sends in flight (the worker's gate): none waits in aiohttp's pool queue.
            max_connections=settings.send_concurrency,
            timeout=settings.provider_timeout_s,
        ),
        "email": SmtpEmail(url=settings.smtp_url, from_addr=settings.email_from, timeout=settings.provider_timeout_s),
        "push": ApprisePush(allow_private=settings.push_allow_private, timeout=settings.provider_timeout_s),
    }


def build_limiters(settings: Settings, runtime: Runtime) -> dict[str, RateLimiter]:
    rates = {
        "sms": settings.sms_rate_per_second,
        "email": settings.email_rate_per_second,
        "push": settings.push_rate_per_second,
    }
    return {channel: RateLimiter(runtime.redis, channel, rate) for channel, rate in rates.items() if rate}


@dataclass
class WorkerContext:
    runtime: Runtime
    channels: dict[str, Channel]
    limiters: dict[str, RateLimiter]
    zones: ZoneRegistry
    ack_links: LinkSigner
    unsubscribe_links: LinkSigner
    owns_runtime: bool = False
    cache: dict[str, Any] = field(default_factory=dict)
    gates: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    def batch_size(self, channel: str) -> int:
        """Deliveries per ``deliver`` job on ``channel``: ``delivery_batch_size``, or fewer under a rate limit.

        A job holds one of the worker's job slots until its last slot comes round; at 10 SMS a second, 500 would
        hold it for 50 s, and a few such jobs would keep every other channel's work and new fan-outs waiting.
        About :data:`BATCH_SECONDS` of sending a job keeps the slots turning over.
        """
        size = self.settings.delivery_batch_size
        limiter = self.limiters.get(channel)
        if limiter is not None:
            size = min(size, max(1, int(BATCH_SECONDS / limiter.interval)))
        return size

    def send_gate(self, channel: str) -> asyncio.Semaphore:
        """Sends in flight on ``channel`` for the whole worker: ``send_concurrency``, however many jobs run."""
        gate = self.gates.get(channel)
        if gate is None:
            gate = self.gates[channel] = asyncio.Semaphore(self.settings.send_concurrency)
        return gate

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @cached_property
    def public_base(self) -> str:
        """The public URL the links in messages start with, without a trailing slash."""
        return self.settings.public_url.rstrip("/")

    @cached_property
    def status_callback_url(self) -> str:
        """Where Twilio reports delivery status (``/hooks/twilio/status``)."""
        return f"{self.public_base}/hooks/twilio/status"

    @classmethod
    async def open(cls, runtime: Runtime, owns_runtime: bool = False) -> WorkerContext:
        settings = runtime.settings
        secret = settings.signing_key()
        return cls(
            runtime=runtime,
            channels=build_channels(settings, runtime),
            limiters=build_limiters(settings, runtime),
            zones=runtime.zones,
            ack_links=LinkSigner(secret, "ack"),
            unsubscribe_links=LinkSigner(secret, "unsubscribe"),
            owns_runtime=owns_runtime,
        )

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()
        if self.owns_runtime:
            await self.runtime.close()

"""Rate limits on public endpoints (acknowledgement and unsubscribe links, provider hooks, resident pages, the
console's sign-in), as a request dependency both the API and the pages use.

``limits`` with its Redis storage (moving window), so the limit holds across API processes; keyed by the client
address (:func:`alertsvc.http.deps.client_address`), which uvicorn takes from ``X-Forwarded-For`` only behind a
trusted proxy. A refusal is :class:`alertsvc.errors.RateLimited`, which the API answers as a 429 problem and the
pages as a 429 page; every dependency made here declares that 429 for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request

from alertsvc.errors import RateLimited
from alertsvc.http.answers import answers
from alertsvc.http.deps import client_address

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.aio.strategies import MovingWindowRateLimiter

__all__ = ["RETRY_AFTER_SECONDS", "rate_limit"]


def _limiter(request: Request) -> MovingWindowRateLimiter:
    """One limiter per app, on the runtime's own Redis connection pool (closed with the runtime)."""
    state: Any = request.app.state
    limiter: MovingWindowRateLimiter | None = getattr(state, "public_limiter", None)
    if limiter is None:
        # Deferred, like the import in rate_limit: limits (with deprecated, wrapt, packaging) loads on first use.
        from limits.aio.strategies import MovingWindowRateLimiter
        from limits.storage import storage_from_string

        runtime = state.runtime
        storage = storage_from_string(
            f"async+{runtime.redis_url}", implementation="redispy", connection_pool=runtime.redis.connection_pool
        )
        limiter = MovingWindowRateLimiter(storage)
        state.public_limiter = limiter
    return limiter


RETRY_AFTER_SECONDS = 60
"""What ``Retry-After`` says to a client over its limit."""


def rate_limit(scope: str, rate: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency allowing ``rate`` (e.g. ``"60/minute"``) requests per client address on ``scope``."""
    item: RateLimitItem | None = None

    @answers(429)  # every closure shares this code, so the document lists 429 wherever one is used
    async def dependency(request: Request) -> None:
        nonlocal item
        if item is None:
            # Deferred to the first request: importing limits (~50 modules with deprecated, wrapt and packaging)
            # at import time would make every API and worker process carry it, used or not.
            from limits import parse

            item = parse(rate)
        if not await _limiter(request).hit(item, "alertsvc", scope, client_address(request)):
            raise RateLimited(RETRY_AFTER_SECONDS)

    return dependency

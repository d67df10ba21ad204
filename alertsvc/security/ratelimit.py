"""Rate limits on public endpoints (acknowledgement and unsubscribe links, provider hooks, resident pages).

``limits`` with its Redis storage (moving window), so the limit holds across API processes; keyed by the client
address, which uvicorn takes from ``X-Forwarded-For`` only behind a trusted proxy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from alertsvc.api.problems import Problem


def _limiter(request: Request) -> MovingWindowRateLimiter:
    """One limiter per app, on the runtime's own Redis connection pool (closed with the runtime)."""
    state: Any = request.app.state
    limiter: MovingWindowRateLimiter | None = getattr(state, "public_limiter", None)
    if limiter is None:
        runtime = state.runtime
        storage = storage_from_string(
            f"async+{runtime.redis_url}", implementation="redispy", connection_pool=runtime.redis.connection_pool
        )
        limiter = MovingWindowRateLimiter(storage)
        state.public_limiter = limiter
    return limiter


def rate_limit(scope: str, rate: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency allowing ``rate`` (e.g. ``"60/minute"``) requests per client address on ``scope``."""
    item = parse(rate)

    async def dependency(request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        if not await _limiter(request).hit(item, "alertsvc", scope, client):
            raise Problem(429, "too many requests; try again shortly", headers={"Retry-After": "60"})

    return dependency

"""Rate limits on public endpoints (acknowledgement and unsubscribe links, provider hooks, resident pages, the
console's sign-in), as request dependencies both the API and the pages use.

``limits`` with its Redis storage (moving window), so the limit holds across API processes. :func:`rate_limit`
is keyed by the client address (:func:`alertsvc.http.deps.client_address`), which uvicorn takes from
``X-Forwarded-For`` only behind a trusted proxy. :func:`link_rate_limit` is for the signed links residents open
from a message (``/a/{token}``, ``/u/{token}``, ``/r/manage/{token}``): it limits each link, and so each contact,
tightly and an address only loosely, because a carrier NAT puts thousands of residents behind one address and they
all answer the same alert within minutes. A refusal is :class:`alertsvc.errors.RateLimited`, which the API answers
as a 429 problem and the pages as a 429 page; every dependency made here declares that 429 for the OpenAPI
document.

**When Redis does not answer** (down, restarting, refusing writes) nothing can be counted, and each dependency
decides by what the request carries (:data:`LIMITER_DOWN` is what it catches):

* a link whose token we signed (:func:`link_rate_limit`, checked for every purpose in :data:`LINK_PURPOSES`, a
  keyed hash and no database read) is let through: it is a resident answering a message we sent, during an
  emergency, and refusing it would lose the answer; the route still checks the token for its own purpose;
* anything else (a forged link, sign-in, sign-up, the resident pages) is refused with
  :class:`~alertsvc.errors.Unavailable`, 503 with ``Retry-After``: fail safe, because these limits are what stand
  between a flood and confirmation texts billed to us, or password guessing.

Provider callbacks carry their own credential and are not limited here while signed (:mod:`alertsvc.api.hooks`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request
from redis.exceptions import RedisError

from alertsvc.errors import RateLimited, Unavailable
from alertsvc.http.answers import answers
from alertsvc.http.deps import client_address
from alertsvc.security.links import BadToken, LinkSigner
from alertsvc.security.manage_links import ManageLinkSigner

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.aio.strategies import MovingWindowRateLimiter
    from redis.commands.core import AsyncScript

__all__ = [
    "LIMITER_DOWN",
    "LIMITER_WAIT_S",
    "LINK_ADDRESS_RATE",
    "LINK_PURPOSES",
    "LINK_RATE",
    "LINK_WINDOWS_SCRIPT",
    "RETRY_AFTER_SECONDS",
    "link_rate_limit",
    "rate_limit",
]


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

LIMITER_DOWN: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError)
"""What a hit raises when Redis cannot count it: redis-py's errors (connection refused or lost, a timeout, an
out-of-memory refusal of the write), the socket's own, and :data:`LIMITER_WAIT_S` passing."""

LIMITER_WAIT_S = 1.0
"""How long one hit may wait for Redis. A hit takes well under a millisecond; a Redis that accepts connections
but does not answer (its host stalled, packets dropped) would otherwise hold every request for good: the runtime's
Redis connections (arq's pool) set no read timeout."""

LINK_PURPOSES = ("ack", "unsubscribe", "manage")
"""Every purpose a link in a message is signed for (:class:`~alertsvc.security.links.LinkSigner`): a token
signed for one of them is let through when Redis is down. A new kind of link must be added here, or its residents
get 503 while Redis is away."""


async def _hit(request: Request, item: RateLimitItem, scope: str, key: str) -> bool | None:
    """Count one request against ``item``: whether it is within the limit, or None when Redis did not answer."""
    try:
        async with asyncio.timeout(LIMITER_WAIT_S):
            return await _limiter(request).hit(item, "alertsvc", scope, key)
    except LIMITER_DOWN:
        return None


def _signed_link(request: Request, token: str) -> bool:
    """Whether ``token`` is a link we signed, for any purpose (no database read: a keyed hash per purpose)."""
    secret = request.app.state.runtime.settings.signing_key()
    for purpose in LINK_PURPOSES:
        try:
            LinkSigner(secret, purpose).unsign(token)
        except BadToken:
            continue
        return True
    try:
        ManageLinkSigner(secret).unsign(token)  # a manage link of the expiring format has a key of its own
    except BadToken:
        return False
    return True


def rate_limit(scope: str, rate: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency allowing ``rate`` (e.g. ``"60/minute"``) requests per client address on ``scope``."""
    item: RateLimitItem | None = None

    @answers(429, 503)  # every closure shares this code, so the document lists them wherever one is used
    async def dependency(request: Request) -> None:
        nonlocal item
        if item is None:
            # Deferred to the first request: importing limits (~50 modules with deprecated, wrapt and packaging)
            # at import time would make every API and worker process carry it, used or not.
            from limits import parse

            item = parse(rate)
        within = await _hit(request, item, scope, client_address(request))
        if within is None:
            raise Unavailable()  # nothing vouches for the request: fail safe (see the module's docstring)
        if not within:
            raise RateLimited(RETRY_AFTER_SECONDS)

    return dependency


LINK_RATE = "10/minute"
"""Requests per link (one token) a minute. A resident opens the page, answers, perhaps changes the answer; a mail
scanner or a link preview fetches it once or twice more: well under ten. Guessing or replaying one link stops
here. Each link names one contact (the ack link one delivery of one contact, the unsubscribe and manage links the
contact or resident itself), so this is also the per-contact limit, with no database read to find the contact."""

LINK_ADDRESS_RATE = "6000/minute"
"""Requests per client address a minute over all links of a scope: only a ceiling against one machine sweeping
forged tokens (each refused for its signature before any database read). Carrier-grade NAT shares one public IPv4
address among hundreds to a few thousand subscribers; each answer is two requests (the page, then the POST), so
6,000 a minute lets 3,000 residents behind one address answer in the first minute and 30,000 within ten, while
one address alone stays at 100 requests a second, far below what the answer path absorbs."""


def _token_key(token: str) -> str:
    """The link as a Redis key part: a digest, so no usable link (a secret that records an answer) sits in Redis."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


LINK_WINDOWS_SCRIPT = """
local now = tonumber(ARGV[1])
local function full(key, limit, expiry)
  local oldest_kept = redis.call('LINDEX', key, limit - 1)
  return oldest_kept and tonumber(oldest_kept) > now - expiry
end
local function count(key, limit, expiry)
  redis.call('LPUSH', key, ARGV[1])
  redis.call('LTRIM', key, 0, limit - 1)
  redis.call('EXPIRE', key, expiry)
end
local link_limit, link_expiry = tonumber(ARGV[2]), tonumber(ARGV[3])
local address_limit, address_expiry = tonumber(ARGV[4]), tonumber(ARGV[5])
if full(KEYS[1], link_limit, link_expiry) then return 1 end
count(KEYS[1], link_limit, link_expiry)
if full(KEYS[2], address_limit, address_expiry) then return 2 end
count(KEYS[2], address_limit, address_expiry)
return 0
"""
"""Both windows of a link request in ONE Redis round trip (the limiter's ``hit`` twice was two, 13-31 % of an
answer's samples): the link's moving window, then the address's, each a list of the last ``limit`` request times
(the algorithm of ``limits``' moving window). A request over its link's limit is refused before the address is
counted, so one resident tapping repeatedly does not use up the neighbours' budget behind the same NAT. Returns 0
(within both), 1 (over the link's limit) or 2 (over the address's)."""


def _link_windows(request: Request) -> AsyncScript:
    """The script, registered once per app on the runtime's Redis (``EVALSHA``, loaded again if Redis forgot it)."""
    state: Any = request.app.state
    script: AsyncScript | None = getattr(state, "link_windows_script", None)
    if script is None:
        script = state.link_windows_script = state.runtime.redis.register_script(LINK_WINDOWS_SCRIPT)
    return script


async def _hit_link(
    request: Request, scope: str, token: str, windows: tuple[RateLimitItem, RateLimitItem]
) -> int | None:
    """Count one request against its link's and its address's windows: 0 within both, 1 over the link's, 2 over the
    address's; None when Redis did not answer."""
    link, address = windows
    keys = [f"alertsvc:{scope}:token:{_token_key(token)}", f"alertsvc:{scope}:address:{client_address(request)}"]
    args: list[str | int] = [repr(time.time()), link.amount, link.get_expiry(), address.amount, address.get_expiry()]
    try:
        async with asyncio.timeout(LIMITER_WAIT_S):
            return int(await _link_windows(request)(keys=keys, args=args))
    except LIMITER_DOWN:
        return None


def link_rate_limit(
    scope: str, per_link: str = LINK_RATE, per_address: str = LINK_ADDRESS_RATE
) -> Callable[[Request], Awaitable[None]]:
    """A dependency for routes with a ``{token}`` path parameter: ``per_link`` requests per link on ``scope``,
    and ``per_address`` per client address over all links (see :data:`LINK_ADDRESS_RATE` for why it is generous),
    both counted in one Redis round trip (:data:`LINK_WINDOWS_SCRIPT`).

    The link is counted first, so requests a link's limit refuses do not use up its address's budget (one
    resident tapping repeatedly does not slow the neighbours behind the same NAT)."""
    items: tuple[RateLimitItem, RateLimitItem] | None = None

    @answers(429, 503)
    async def dependency(request: Request) -> None:
        nonlocal items
        if items is None:
            from limits import parse  # deferred, as in rate_limit

            items = (parse(per_link), parse(per_address))
        token = str(request.path_params.get("token", ""))
        over = await _hit_link(request, scope, token, items)
        if over is None:  # Redis is away: a link we signed is a resident answering; anything else waits
            if _signed_link(request, token):
                return
            raise Unavailable()
        if over:
            raise RateLimited(RETRY_AFTER_SECONDS)

    return dependency

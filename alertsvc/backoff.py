"""When to try a transient failure again: exponential backoff with full jitter, never past the alert's expiry.

A leaf (it imports nothing of alertsvc) so that every package that retries, dispatch's deliveries and webhooks'
events, can share it without importing each other.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

BASE_DELAY_S = 2.0
MAX_DELAY_S = 300.0
MAX_ATTEMPTS_WITHOUT_EXPIRY = 12
"""An alert without ``expires`` still must not be retried for ever; about an hour of attempts."""


def next_attempt(
    now: datetime, attempts: int, expires: datetime | None, retry_after: float | None = None
) -> datetime | None:
    """The time of the next attempt after ``attempts`` tries, or None when it is time to give up.

    Full jitter spreads the retries of many deliveries that failed together (a provider outage) so they do not
    return as one wave. A provider's own ``retry_after`` wins when it gave one.
    """
    if expires is None and attempts >= MAX_ATTEMPTS_WITHOUT_EXPIRY:
        return None
    if retry_after is not None:
        delay = max(0.0, retry_after)
    else:
        ceiling = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** max(0, attempts - 1))
        delay = random.uniform(ceiling / 2, ceiling)
    when = now + timedelta(seconds=delay)
    if expires is not None and when >= expires:
        return None
    return when

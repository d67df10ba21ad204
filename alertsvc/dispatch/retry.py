"""The dispatcher's retry timing, under the name dispatch has always used; it lives in :mod:`alertsvc.backoff`.

The computation moved to a leaf module so that :mod:`alertsvc.webhooks` can back off the same way without
importing dispatch (dispatch is the job runner that calls into webhooks, never the other way round).
"""

from __future__ import annotations

from alertsvc.backoff import BASE_DELAY_S, MAX_ATTEMPTS_WITHOUT_EXPIRY, MAX_DELAY_S, next_attempt

__all__ = ["BASE_DELAY_S", "MAX_ATTEMPTS_WITHOUT_EXPIRY", "MAX_DELAY_S", "next_attempt"]

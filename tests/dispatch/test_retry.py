"""Backoff policy: grows, jitters within bounds, honours Retry-After, never passes the alert's expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alertsvc.dispatch.retry import BASE_DELAY_S, MAX_ATTEMPTS_WITHOUT_EXPIRY, MAX_DELAY_S, next_attempt

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_delay_grows_and_stays_within_bounds() -> None:
    for attempts in range(1, 12):
        when = next_attempt(NOW, attempts, NOW + timedelta(days=1))
        assert when is not None
        delay = (when - NOW).total_seconds()
        ceiling = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (attempts - 1))
        assert ceiling / 2 <= delay <= ceiling


def test_never_past_expiry() -> None:
    assert next_attempt(NOW, 10, NOW + timedelta(seconds=5)) is None


def test_retry_after_wins() -> None:
    assert next_attempt(NOW, 1, None, retry_after=42) == NOW + timedelta(seconds=42)


def test_gives_up_without_expiry_after_bounded_attempts() -> None:
    assert next_attempt(NOW, MAX_ATTEMPTS_WITHOUT_EXPIRY, None) is None
    assert next_attempt(NOW, MAX_ATTEMPTS_WITHOUT_EXPIRY - 1, None) is not None

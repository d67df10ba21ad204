"""The filter stage: each DESIGN.md rule of who gets what, on plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alertsvc.dispatch.audience import AlertFacts, choose_language, plan_for, quiet_until
from alertsvc.store.audience import Recipient
from alertsvc.tracking.states import DeliveryState

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BASE = Recipient(
    contact_id=1, resident_id=1, channel="sms", confirmed=True, opted_out=False, language="en",
    categories=None, min_severity=None, quiet_start=None, quiet_end=None, timezone="UTC", test_recipient=False,
)  # fmt: skip


def facts(severity: str = "Severe", categories: tuple[str, ...] = ("Safety",), test_only: bool = False,
          expires: datetime | None = None, languages: tuple[str, ...] = ("en-US",)) -> AlertFacts:  # fmt: skip
    return AlertFacts(
        languages=languages,
        categories_by_language={lang: frozenset(categories) for lang in languages},
        severity_by_language={lang: severity for lang in languages},
        test_only=test_only,
        expires=expires,
    )


@pytest.mark.parametrize(
    ("resident", "infos", "expected"),
    [
        ("fr-CA", ("en-US", "fr-CA", "fr"), "fr-CA"),
        ("FR-ca", ("en-US", "fr-CA"), "fr-CA"),
        ("fr", ("en-US", "fr-CA"), "fr-CA"),
        ("fr-BE", ("en-US", "fr-CA"), "fr-CA"),
        ("es", ("en-US", "fr-CA"), "en-US"),
        ("en", ("fr-CA", "en-US"), "en-US"),
    ],
)
def test_language_exact_then_primary_then_first(resident: str, infos: tuple[str, ...], expected: str) -> None:
    assert choose_language(resident, infos) == expected


def test_plain_contact_is_queued() -> None:
    plan = plan_for(BASE, facts(), NOW)
    assert plan is not None and plan.state is DeliveryState.QUEUED and plan.not_before is None


def test_unconfirmed_contact_gets_nothing_at_all() -> None:
    assert plan_for(replace(BASE, confirmed=False), facts(), NOW) is None


def test_opted_out_contact_is_suppressed_with_reason() -> None:
    plan = plan_for(replace(BASE, opted_out=True), facts(), NOW)
    assert plan is not None and plan.state is DeliveryState.SUPPRESSED and plan.reason == "opted out"


def test_exercise_reaches_only_test_recipients() -> None:
    assert plan_for(BASE, facts(test_only=True), NOW) is None
    plan = plan_for(replace(BASE, test_recipient=True), facts(test_only=True), NOW)
    assert plan is not None and plan.state is DeliveryState.QUEUED


@pytest.mark.parametrize(
    ("chosen", "alert_categories", "passes"),
    [(None, ("Fire",), True), ("Fire", ("Fire",), True), ("Fire,Met", ("Met",), True), ("Health", ("Fire",), False)],
)
def test_categories(chosen: str | None, alert_categories: tuple[str, ...], passes: bool) -> None:
    plan = plan_for(replace(BASE, categories=chosen), facts(categories=alert_categories), NOW)
    assert plan is not None
    assert (plan.state is DeliveryState.QUEUED) is passes


@pytest.mark.parametrize(
    ("minimum", "severity", "passes"),
    [
        ("Severe", "Extreme", True),
        ("Severe", "Severe", True),
        ("Severe", "Moderate", False),
        ("Extreme", "Unknown", True),
        (None, "Minor", True),
    ],
)
def test_minimum_severity(minimum: str | None, severity: str, passes: bool) -> None:
    plan = plan_for(replace(BASE, min_severity=minimum), facts(severity=severity), NOW)
    assert plan is not None
    assert (plan.state is DeliveryState.QUEUED) is passes


def test_quiet_hours_hold_back_until_they_end() -> None:
    night = replace(BASE, quiet_start="22:00", quiet_end="07:00", timezone="America/Toronto")
    at_night = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 00:00 in Toronto
    plan = plan_for(night, facts(severity="Severe"), at_night)
    assert plan is not None and plan.state is DeliveryState.QUEUED
    assert plan.not_before == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 07:00 Toronto


def test_quiet_hours_never_hold_back_extreme() -> None:
    night = replace(BASE, quiet_start="22:00", quiet_end="07:00", timezone="America/Toronto")
    plan = plan_for(night, facts(severity="Extreme"), datetime(2026, 11, 24, 5, 0, tzinfo=UTC))
    assert plan is not None and plan.not_before is None and plan.state is DeliveryState.QUEUED


def test_quiet_hours_past_expiry_suppress() -> None:
    night = replace(BASE, quiet_start="22:00", quiet_end="07:00", timezone="UTC")
    at = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    plan = plan_for(night, facts(expires=at + timedelta(hours=1)), at)
    assert plan is not None and plan.state is DeliveryState.SUPPRESSED


def test_outside_quiet_hours_nothing_is_held() -> None:
    day = replace(BASE, quiet_start="22:00", quiet_end="07:00", timezone="UTC")
    assert quiet_until(day, datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) is None
    same_day_window = replace(BASE, quiet_start="13:00", quiet_end="15:00", timezone="UTC")
    assert quiet_until(same_day_window, datetime(2026, 11, 24, 14, 0, tzinfo=UTC)) == datetime(
        2026, 11, 24, 15, 0, tzinfo=UTC
    )

"""Stage "filter": for each contact of a targeted resident, send, hold, suppress or skip.

Pure functions of a :class:`~alertsvc.store.audience.Recipient` and the alert; no I/O, so each rule of DESIGN.md
has a test of its own:

* unconfirmed contacts are skipped (double opt-in: nothing goes to an address before it is confirmed);
* opted-out contacts get a ``suppressed`` delivery (kept as proof that we did not send);
* Exercise/Test alerts reach test recipients only;
* categories (none set = all) and minimum severity (``Unknown`` always passes) filter;
* quiet hours hold back everything below Extreme until they end (``queued`` with a later first attempt), or
  suppress it when the alert will have expired by then;
* the language is the resident's exact tag, then its primary subtag, then the alert's first ``info``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alertsvc.store.audience import Recipient
from alertsvc.tracking.states import DeliveryState

SEVERITY_RANK = {"Minor": 1, "Moderate": 2, "Severe": 3, "Extreme": 4}


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What the filter needs to know of an alert, taken once from its CAP document."""

    languages: tuple[str, ...]
    categories_by_language: dict[str, frozenset[str]]
    severity_by_language: dict[str, str]
    test_only: bool
    expires: datetime | None


@dataclass(frozen=True, slots=True)
class Plan:
    """The delivery to create for one contact."""

    contact_id: int
    resident_id: int
    channel: str
    language: str
    state: DeliveryState
    reason: str | None = None
    not_before: datetime | None = None


def choose_language(resident_language: str, languages: tuple[str, ...]) -> str:
    """Exact tag (case-insensitive), then primary subtag, then the first info's language."""
    wanted = resident_language.lower()
    for language in languages:
        if language.lower() == wanted:
            return language
    primary = wanted.split("-", 1)[0]
    for language in languages:
        if language.lower().split("-", 1)[0] == primary:
            return language
    return languages[0]


def wants(recipient: Recipient, categories: frozenset[str], severity: str) -> bool:
    """The resident's category and minimum-severity preferences."""
    if recipient.categories:
        chosen = {part.strip() for part in recipient.categories.split(",") if part.strip()}
        if chosen and not chosen & categories:
            return False
    if recipient.min_severity and severity in SEVERITY_RANK:
        return SEVERITY_RANK[severity] >= SEVERITY_RANK.get(recipient.min_severity, 0)
    return True


def _parse_clock(text: str) -> time:
    hours, minutes = text.split(":", 1)
    return time(int(hours), int(minutes))


def quiet_until(recipient: Recipient, now: datetime) -> datetime | None:
    """When the resident's quiet hours end, if ``now`` falls inside them; None otherwise."""
    if not recipient.quiet_start or not recipient.quiet_end:
        return None
    try:
        zone = ZoneInfo(recipient.timezone)
        start, end = _parse_clock(recipient.quiet_start), _parse_clock(recipient.quiet_end)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return None
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone)


def plan_for(recipient: Recipient, facts: AlertFacts, now: datetime) -> Plan | None:
    """The delivery for one contact, or None when the contact is not to be written to at all."""
    if not recipient.confirmed:
        return None
    if facts.test_only and not recipient.test_recipient:
        return None
    language = choose_language(recipient.language, facts.languages)

    def plan(state: DeliveryState, reason: str | None = None, not_before: datetime | None = None) -> Plan:
        return Plan(recipient.contact_id, recipient.resident_id, recipient.channel, language, state, reason, not_before)

    if recipient.opted_out:
        return plan(DeliveryState.SUPPRESSED, "opted out")
    severity = facts.severity_by_language.get(language, "Unknown")
    if not wants(recipient, facts.categories_by_language.get(language, frozenset()), severity):
        return plan(DeliveryState.SUPPRESSED, "preferences")
    if severity != "Extreme":
        until = quiet_until(recipient, now)
        if until is not None:
            if facts.expires is not None and until >= facts.expires:
                return plan(DeliveryState.SUPPRESSED, "quiet hours until the alert expired")
            return plan(DeliveryState.QUEUED, "held for quiet hours", until)
    return plan(DeliveryState.QUEUED)

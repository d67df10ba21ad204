"""The after-action report of one alert: what was sent, when, to whom, what came back, and how long it took against
the forecast, for the page a mayor's office prints and the CSV an analyst opens.

Assembled here, from the owners of each part: the alert and its audit trail (:mod:`alertsvc.security.audit`), the
deliveries and answers (:mod:`alertsvc.tracking.report`, grouped in the database), the measured time-to-warn
(:mod:`alertsvc.tracking.live`) and the forecast (:mod:`alertsvc.alerts.forecast`), so the console's routes read no
table. The report holds plain values only; the page translates its labels and the CSV keeps stable English keys
(a spreadsheet formula or a script reads them), with every text cell made safe against formula injection.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from alertsvc.alerts import service
from alertsvc.alerts.forecast import ChannelForecast, forecast, whole_alert_seconds
from alertsvc.alerts.states import AlertState
from alertsvc.security.audit import events_for
from alertsvc.store.models import Alert
from alertsvc.tracking import live
from alertsvc.tracking.report import DeliveryReport, MinuteCounts, delivery_report, per_minute

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["AlertReport", "Breakdown", "TimelineEntry", "alert_report", "chart_series", "csv_rows", "safe_cell",
           "write_csv"]

FOLLOW_UPS_SCANNED = 500
"""How many later alerts of the same sender are looked at for Updates and Cancels that reference this one."""
CSV_HEADER = ("section", "item", "channel", "language", "state", "value", "detail")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One moment of the alert: ``what`` is a stable key (submitted, approved, rejected, first_message, last_message,
    update, cancel, withdrawn, all_sent); ``alert_id`` names the Update or Cancel alert it was."""

    at: datetime
    what: str
    who: str | None = None
    detail: str | None = None
    alert_id: str | None = None


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Deliveries of one channel or one language, by outcome."""

    key: str
    total: int
    pending: int
    sent: int
    delivered: int
    failed: int
    suppressed: int


@dataclass(frozen=True, slots=True)
class AlertReport:
    alert: Alert
    timeline: list[TimelineEntry]
    deliveries: DeliveryReport
    by_channel: list[Breakdown]
    by_language: list[Breakdown]
    residents: int
    """Distinct residents with a delivery planned."""
    time_to_warn: dict[str, float | None]
    """Seconds after acceptance of each milestone (:meth:`alertsvc.tracking.live.TimeToWarn.seconds`)."""
    forecast: list[ChannelForecast]
    forecast_seconds: float | None
    """The whole alert at the configured rates (its slowest channel); None when a channel has no rate."""

    @property
    def total(self) -> int:
        return sum(row.total for row in self.by_channel)


_ACTIONS = {"alert.submit": "submitted", "alert.approve": "approved", "alert.reject": "rejected",
            "alert.withdraw": "withdrawn", "alert.cancel": "cancel"}


def _breakdown(key: str, states: dict[str, int]) -> Breakdown:
    return Breakdown(
        key=key,
        total=sum(states.values()),
        pending=sum(states.get(s, 0) for s in live.PENDING_STATES),
        sent=states.get("sent", 0),
        delivered=states.get("delivered", 0),
        failed=sum(states.get(s, 0) for s in live.FAILED_STATES),
        suppressed=states.get("suppressed", 0),
    )


def _breakdowns(report: DeliveryReport, attribute: str) -> list[Breakdown]:
    grouped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for group in report.groups:
        grouped[getattr(group, attribute)][group.state] += group.count
    return [_breakdown(key, states) for key, states in sorted(grouped.items())]


def _references_key(alert: Alert) -> str:
    return f"{alert.sender},{alert.identifier},{alert.sent_text}"


async def alert_report(runtime: Runtime, alert_id: str) -> AlertReport:
    """The report of the alert; :class:`alertsvc.alerts.service.AlertNotFound` when there is none."""
    async with runtime.sessions() as session:
        alert = await service.get_alert(session, alert_id)
        deliveries = await delivery_report(session, alert)
        history = await events_for(session, "alert", alert.id)
        later = await session.scalars(
            select(Alert)
            .where(Alert.sender == alert.sender, Alert.created_at >= alert.created_at, Alert.id != alert.id,
                   Alert.msg_type.in_(("Update", "Cancel")))
            .order_by(Alert.created_at)
            .limit(FOLLOW_UPS_SCANNED)
        )
        key = _references_key(alert)
        follow_ups = [a for a in later if key in str(a.cap.get("references", "")).split()]
        channels = live.channel_progress(_by_channel_states(deliveries))
        total = sum(c.total for c in channels)
        done = sum(c.done for c in channels)
        ttw = await live.time_to_warn(session, alert, total, done)
    timeline = _timeline(alert, history, deliveries, follow_ups)
    by_channel = _breakdowns(deliveries, "channel")
    planned = {row.key: row.total for row in by_channel}
    predicted = forecast(planned, runtime.settings)
    return AlertReport(
        alert=alert,
        timeline=timeline,
        deliveries=deliveries,
        by_channel=by_channel,
        by_language=_breakdowns(deliveries, "language"),
        residents=deliveries.residents,
        time_to_warn=ttw.seconds(),
        forecast=predicted,
        forecast_seconds=whole_alert_seconds(predicted),
    )


def _by_channel_states(report: DeliveryReport) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for group in report.groups:
        stats[group.channel][group.state] += group.count
    return {channel: dict(states) for channel, states in stats.items()}


def _issued_at(follow_up: Alert) -> datetime | None:
    """When an Update or Cancel took effect: its approval (at once for a sender allowed to send). None while it
    waits for approval or once rejected: it issued nothing, and the original is not updated or cancelled by it."""
    if follow_up.approved_at is None or follow_up.state in (AlertState.PENDING_APPROVAL, AlertState.REJECTED):
        return None
    return follow_up.approved_at


def _timeline(
    alert: Alert, history: Iterable[Any], deliveries: DeliveryReport, follow_ups: list[Alert]
) -> list[TimelineEntry]:
    """The alert's moments in time order. "Cancel issued" and "Update issued" are dated from when the follow-up
    took effect (:func:`_issued_at`), not from the ``alert.cancel`` row written when the Cancel was asked for:
    a Cancel approved an hour later did not cancel anything in between."""
    entries: list[TimelineEntry] = []
    by_id = {other.id: other for other in follow_ups}
    for event in history:
        what = _ACTIONS.get(event.action)
        if what is None:
            continue
        detail = event.detail.get("reason") if what == "rejected" else None
        cancel_id = event.detail.get("cancel_id") if what == "cancel" else None
        at = event.at
        if cancel_id is not None and cancel_id in by_id:
            issued = _issued_at(by_id[cancel_id])
            if issued is None:
                continue
            at = issued
        entries.append(TimelineEntry(at, what, event.actor, detail, cancel_id))
    if not any(e.what == "submitted" for e in entries):
        entries.append(TimelineEntry(alert.created_at, "submitted", alert.submitted_by))
    if alert.approved_at and not any(e.what == "approved" for e in entries):
        entries.append(TimelineEntry(alert.approved_at, "approved", alert.decided_by))
    if deliveries.first_sent:
        entries.append(TimelineEntry(deliveries.first_sent, "first_message"))
    if deliveries.last_sent:
        entries.append(TimelineEntry(deliveries.last_sent, "last_message"))
    if alert.completed_at:
        entries.append(TimelineEntry(alert.completed_at, "all_sent"))
    cancels_listed = {e.alert_id for e in entries if e.what == "cancel"}
    for other in follow_ups:
        if other.msg_type == "Cancel" and other.id in cancels_listed:
            continue
        what = "update" if other.msg_type == "Update" else "cancel"
        issued = _issued_at(other)
        if issued is not None:
            entries.append(TimelineEntry(issued, what, other.submitted_by, other.headline, other.id))
    entries.sort(key=lambda e: e.at)
    return entries


async def chart_series(runtime: Runtime, alert_id: str) -> list[MinuteCounts]:
    """Sent, delivered and answered per minute (:func:`alertsvc.tracking.report.per_minute`)."""
    async with runtime.sessions() as session:
        await service.get_alert(session, alert_id)
        return await per_minute(session, alert_id)


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with ``= + - @`` (or a tab or carriage return, which
    some spreadsheets skip before reading a formula) gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def csv_rows(report: AlertReport, names: Mapping[str, str] | None = None) -> Iterator[tuple[Any, ...]]:
    """Rows of :data:`CSV_HEADER` (section, item, channel, language, state, value, detail), unescaped; ``names``
    gives the person for a principal name (``user:7`` → "Dana Reyes"), as the page shows them."""
    shown = names or {}
    alert = report.alert
    severities = sorted({str(info.get("severity", "")) for info in alert.cap.get("info", [])})
    yield ("alert", "id", "", "", "", alert.id, "")
    yield ("alert", "identifier", "", "", "", alert.identifier, "")
    yield ("alert", "headline", "", "", "", alert.headline or "", "")
    yield ("alert", "status", "", "", "", alert.status, alert.msg_type)
    yield ("alert", "state", "", "", "", alert.state, "")
    yield ("alert", "severity", "", "", "", " ".join(severities), "")
    for entry in report.timeline:
        who = shown.get(entry.who, entry.who) if entry.who else ""
        detail = " ".join(part for part in (who, entry.detail or "", entry.alert_id or "") if part)
        yield ("timeline", entry.what, "", "", "", _iso(entry.at), detail)
    yield ("reach", "residents", "", "", "", report.residents, "")
    yield ("reach", "deliveries", "", "", "", report.total, "")
    for group in report.deliveries.groups:
        yield ("deliveries", "count", group.channel, group.language, group.state, group.count, "")
    for milestone, seconds in report.time_to_warn.items():
        yield ("time_to_warn", milestone, "", "", "", "" if seconds is None else seconds, "seconds after accepted")
    for item in report.forecast:
        channel_seconds: str | float = "" if item.seconds is None else round(item.seconds, 1)
        rate = "no rate set" if item.rate is None else f"{item.messages} at {item.rate}/s"
        yield ("forecast", "sending_seconds", item.channel, "", "", channel_seconds, rate)
    whole = "" if report.forecast_seconds is None else round(report.forecast_seconds, 1)
    yield ("forecast", "whole_alert_seconds", "", "", "", whole, "slowest channel")
    for answer, count in sorted(report.deliveries.answers.items()):
        yield ("answers", answer, "", "", "", count, "")
    for ref in report.deliveries.help_refs:
        yield ("help_requested", "resident", "", "", "", ref, "")
    if report.deliveries.non_responders is not None:
        yield ("non_responders", "count", "", "", "", report.deliveries.non_responders, "life-safety alert")
        for ref in report.deliveries.non_responder_refs:
            yield ("non_responders", "resident", "", "", "", ref, "")
    for failure in report.deliveries.failures:
        yield ("failures", failure.error_code or "", failure.channel, "", failure.state, failure.count,
               failure.reason or "")


def write_csv(report: AlertReport, names: Mapping[str, str] | None = None) -> str:
    """The report as CSV text (header row first, every text cell through :func:`safe_cell`); ``names`` as for
    :func:`csv_rows`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in csv_rows(report, names):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()

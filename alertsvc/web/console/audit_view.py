"""The audit log as people read it: one line per event, who (by name), what (in words), which alert or account,
when; the filters of the audit page; and the same lines as CSV.

The log keeps codes (``alert.approve`` by ``user:3``, a JSON detail); this module turns them into words a reader
of the page (in its language) or of the spreadsheet understands. The CSV is written for spreadsheet programs, which
run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (OWASP's "CSV injection"): every such cell is
prefixed with an apostrophe, so an alert headline or a key name typed by someone cannot become a formula on the
desk of whoever opens the export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from alertsvc.i18n import N_
from alertsvc.security.audit import AuditFilter
from alertsvc.security.names import Actor, actor_for

__all__ = [
    "ACTION_WORDS",
    "FAMILIES",
    "AuditLine",
    "actor_words",
    "audit_filter",
    "csv_safe",
    "lines_of",
    "write_csv",
]

ACTION_WORDS: Final[dict[str, str]] = {
    "alert.submit": N_("submitted the alert"),
    "alert.approve": N_("approved the alert"),
    "alert.reject": N_("rejected the alert"),
    "alert.cancel": N_("cancelled the alert"),
    "alert.withdraw": N_("withdrew the alert before it was sent"),
    "alert.text_cleaned": N_("removed hidden characters from the alert's stored texts (the originals are kept here)"),
    "alert.hidden_characters_kept": N_("kept the alert's stored texts as they were, hidden characters included"),
    "api_key.create": N_("created the API key"),
    "api_key.revoke": N_("revoked the API key"),
    "console.csrf_refused": N_("was refused a form that did not come from the console"),
    "contact.confirm": N_("confirmed a contact"),
    "contact.opt_in": N_("opted a contact back in"),
    "contact.opt_out": N_("opted a contact out"),
    "help.handled": N_("marked a resident's request for help as handled"),
    "help.reopened": N_("reopened a resident's request for help"),
    "meeting.cancel": N_("cancelled a meeting (it stays listed, marked cancelled)"),
    "meeting.create": N_("held a meeting"),
    "meeting.update": N_("changed a meeting"),
    "priority.hide": N_("hid a residents' priority from the public"),
    "priority.respond": N_("published a response to a residents' priority"),
    "priority.response_withdrawn": N_("withdrew the response to a residents' priority"),
    "priority.status": N_("changed the status of a residents' priority"),
    "priority.unhide": N_("showed a hidden residents' priority again"),
    "resident.deleted": N_("deleted a resident"),
    "resident.manage_links_revoked": N_("ended every manage link a resident had been sent"),
    "resident.signup": N_("signed up"),
    "residents.upserted": N_("imported residents"),
    "tip.block": N_("blocked an anonymous tipster"),
    "tip.draft": N_("started a draft alert from an anonymous tip"),
    "tip.reply": N_("replied to an anonymous tip"),
    "tips.purge": N_("deleted anonymous tips past their retention period"),
    "user.activate": N_("reactivated the user"),
    "user.create": N_("created the user"),
    "user.deactivate": N_("deactivated the user"),
    "user.locked": N_("locked the account after repeated failed sign-ins"),
    "user.login": N_("signed in"),
    "user.login_failed": N_("failed to sign in"),
    "user.login_refused": N_("was refused sign-in (account locked or deactivated)"),
    "user.logout": N_("signed out"),
    "user.password_change": N_("changed their password"),
    "user.role_change": N_("changed the user's role"),
    "webhook.create": N_("created a webhook"),
    "webhook.delete": N_("deleted a webhook"),
}
"""Each audited action in words, the subject of the sentence being who did it (translated on the page). An
action not listed (a newer one) is shown as its code: never hidden."""

FAMILIES: Final[dict[str, str]] = {
    "alert.": N_("Alerts"),
    "user.": N_("Users and sign-in"),
    "api_key.": N_("API keys"),
    "contact.": N_("Residents' contacts"),
    "resident": N_("Residents"),
    "webhook.": N_("Webhooks"),
    "priority.": N_("Residents' priorities"),
    "meeting.": N_("Meetings"),
    "tip": N_("Anonymous tips"),
    "console.": N_("Refused forms"),
}
"""The kinds of event the audit page filters by (an action family: its prefix), in the order offered."""

ACTOR_WORDS: Final[dict[str, str]] = {
    "system": N_("the service"),
    "resident": N_("a resident"),
    "anonymous": N_("someone not signed in"),
    "key": N_("API key {name}"),
}
"""How a principal that is not a console user is named (translated)."""

DETAIL_WORDS: Final[dict[str, str]] = {
    "reason": N_("reason"),
    "role": N_("role"),
    "from": N_("from"),
    "to": N_("to"),
    "state": N_("state"),
    "status": N_("status"),
    "msg_type": N_("type"),
    "approval": N_("approval"),
    "failures": N_("failures"),
    "minutes": N_("minutes"),
    "name": N_("name"),
    "scopes": N_("scopes"),
    "via": N_("via"),
    "method": N_("method"),
    "zone": N_("zone"),
    "route": N_("form"),
    "alias": N_("tip"),
    "deleted": N_("deleted"),
}
"""Detail fields shown beside the line, by their word; ids the line already links (cancel_id, identifier) and
fields not listed are left to the CSV's raw detail column."""
TRANSLATED_VALUES: Final = frozenset({"state", "msg_type", "role", "from", "to"})
"""Detail fields whose values are words of the console's own (a state, a role), translated like the rest."""
VALUE_WORDS: Final[dict[str, str]] = {
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
}
"""Translated detail values said in other words than their code: a residents' priority's status (``priority.status``
from/to), whose code ``open`` would otherwise read as the verb that the console's catalogue already translates."""
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (tab and CR too: some programs strip them)."""


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One event as a line of the audit page."""

    id: int
    at: datetime
    actor: Actor
    action: str
    words: str | None
    """The English words of ``action`` (the page translates them); None for an action not in :data:`ACTION_WORDS`."""
    subject_type: str
    subject_id: str | None
    alert_id: str | None
    alert_title: str | None
    subject_name: str | None
    """A user or key subject by name (a user's display name, a key's name)."""
    details: tuple[tuple[str, str, bool], ...]
    """(word, value, whether the value is a translatable word) of each detail shown."""
    raw_detail: Mapping[str, Any]


def actor_words(actor: Actor, translate: Callable[..., str]) -> str:
    """The actor as a reader is told, in the translator's language."""
    if actor.kind == "key":
        return translate(ACTOR_WORDS["key"], name=actor.name)
    if actor.kind in ACTOR_WORDS:
        return translate(ACTOR_WORDS[actor.kind])
    return actor.name


def _details(detail: Mapping[str, Any]) -> tuple[tuple[str, str, bool], ...]:
    shown = []
    for key, word in DETAIL_WORDS.items():
        value = detail.get(key)
        if value is None or value == "" or isinstance(value, dict | list):
            continue
        translated = key in TRANSLATED_VALUES
        shown.append((word, VALUE_WORDS.get(str(value), str(value)) if translated else str(value), translated))
    return tuple(shown)


def lines_of(events: Iterable[Any], people: Mapping[str, Actor], alert_titles: Mapping[str, str]) -> list[AuditLine]:
    """Audit rows (:class:`~alertsvc.store.models.AuditEvent`) as lines, given the names and alert titles read
    for them."""
    lines = []
    for event in events:
        detail: Mapping[str, Any] = event.detail if isinstance(event.detail, dict) else {}
        alert_id = event.subject_id if event.subject_type == "alert" else None
        subject_name = None
        if event.subject_type == "user" and event.subject_id:
            person = people.get(f"user:{event.subject_id}")
            subject_name = person.name if person and person.kind == "user" else None
        elif event.subject_type == "api_key" and isinstance(detail.get("name"), str):
            subject_name = str(detail["name"])
        lines.append(
            AuditLine(
                id=event.id,
                at=event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC),
                actor=people.get(event.actor) or actor_for(event.actor),
                action=event.action,
                words=ACTION_WORDS.get(event.action),
                subject_type=event.subject_type,
                subject_id=event.subject_id,
                alert_id=alert_id,
                alert_title=alert_titles.get(alert_id) if alert_id else None,
                subject_name=subject_name,
                details=_details(detail),
                raw_detail=detail,
            )
        )
    return lines


def subject_principals(events: Iterable[Any]) -> list[str]:
    """The principal names an audit page must name: each actor, and each user the events are about."""
    found = []
    for event in events:
        found.append(event.actor)
        if event.subject_type == "user" and event.subject_id:
            found.append(f"user:{event.subject_id}")
    return found


def _day(text: str | None) -> date | None:
    """A ``YYYY-MM-DD`` field (the date input's value); None when blank or not a date."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def audit_filter(
    actor: str | None, kind: str | None, alert_id: str | None, since: str | None, until: str | None
) -> AuditFilter:
    """The filter the audit page's form asks for. Dates are whole UTC days, ``until`` included; an unknown kind
    or a malformed date is ignored rather than refused (the page shows what it applied)."""
    first, last = _day(since), _day(until)
    return AuditFilter(
        actor=(actor or "").strip()[:120] or None,
        action=kind if kind in ACTION_WORDS else None,
        family=kind if kind in FAMILIES else None,
        alert_id=(alert_id or "").strip()[:64] or None,
        since=datetime.combine(first, time(), tzinfo=UTC) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC) if last else None,
    )


def csv_safe(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


CSV_HEADER: Final = ("id", "at_utc", "who", "who_principal", "action", "what", "subject_type", "subject_id",
                     "subject", "detail")  # fmt: skip


def write_csv(lines: Sequence[AuditLine], translate: Callable[..., str], header: bool = True) -> str:
    """The lines as CSV rows (with the header row first when ``header``), every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_HEADER)
    for line in lines:
        subject = line.alert_title or line.subject_name or ""
        detail = "; ".join(f"{key}={value}" for key, value in sorted(line.raw_detail.items()))
        row = (
            line.id,
            line.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            actor_words(line.actor, translate),
            line.actor.principal,
            line.action,
            translate(line.words) if line.words else line.action,
            line.subject_type,
            line.subject_id or "",
            subject,
            detail,
        )
        writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()

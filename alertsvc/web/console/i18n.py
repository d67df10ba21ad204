"""Console language: the ``console`` domain of :mod:`alertsvc.i18n` (English and French), chosen by the dispatcher's
switch (kept in the session) or the browser's Accept-Language.

A dispatcher whose browser asks for Spanish reads the console in English: the console has no Spanish catalogue
(the resident pages and the messages do). Numbers go through Babel, so a French dispatcher reads ``12 345``; times
are ISO-like UTC in both languages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from alertsvc.i18n import DEFAULT, DOMAINS, N_, Translator, format_number
from alertsvc.i18n import negotiate as _negotiate
from alertsvc.i18n import supported as _supported
from alertsvc.i18n import translator as _translator

DOMAIN: Final = "console"
SUPPORTED: Final = DOMAINS[DOMAIN]
__all__ = ["DEFAULT", "RUNTIME_MSGIDS", "SUPPORTED", "moment", "negotiate", "number", "supported", "translator"]

RUNTIME_MSGIDS: Final = (
    # status banners and chips (pages.STATUS_WORDS)
    N_("ACTUAL"), N_("Real alert: it goes to the public."),
    N_("EXERCISE"), N_("Drill: it goes to test recipients only, marked EXERCISE."),
    N_("TEST"), N_("Technical test: it goes to test recipients only, marked TEST."),
    N_("SYSTEM"), N_("System message: stored, sent to nobody."),
    N_("DRAFT"), N_("Draft: stored, sent to nobody."),
    # CAP message types: _(alert.msg_type), and _(msg_type|upper) in the banner
    N_("Alert"), N_("Update"), N_("Cancel"), N_("UPDATE"), N_("CANCEL"),
    # alert states (alertsvc.alerts.states.AlertState), roles (alertsvc.security.scopes.Role), channels
    N_("draft"), N_("pending_approval"), N_("approved"), N_("dispatching"), N_("sent"), N_("cancelled"),
    N_("expired"), N_("rejected"),
    N_("dispatcher"), N_("approver"), N_("admin"),
    N_("sms"), N_("email"), N_("push"),
    # form field labels (compose.FIELD_LABELS), and how an error names a field of the second message
    N_("Status"), N_("Message type"), N_("References"), N_("Category"), N_("Urgency"), N_("Severity"),
    N_("Certainty"), N_("Expires in (minutes)"), N_("Language"), N_("Event"), N_("Headline"), N_("Description"),
    N_("Instruction"), N_("Target area"), N_("Area description"), N_("Polygons"), N_("Circles"), N_("Named zones"),
    N_("Residents this alert reaches (type to confirm)"),
    N_("{field} (message {n})"),
    # CAP values offered by the compose form (compose.CATEGORIES, URGENCIES, SEVERITIES, CERTAINTIES)
    N_("Geo"), N_("Met"), N_("Safety"), N_("Security"), N_("Rescue"), N_("Fire"), N_("Health"), N_("Env"),
    N_("Transport"), N_("Infra"), N_("CBRNE"), N_("Other"),
    N_("Immediate"), N_("Expected"), N_("Future"), N_("Past"), N_("Unknown"),
    N_("Extreme"), N_("Severe"), N_("Moderate"), N_("Minor"),
    N_("Observed"), N_("Likely"), N_("Possible"), N_("Unlikely"),
    # time-to-warn milestones (alert.html)
    N_("Approved"), N_("First message sent"), N_("50 % done"), N_("90 % done"), N_("100 % done"),
    # error texts raised elsewhere and shown with _(message)
    N_("A rejection needs a reason the author will read."),
    N_("Choose a role."),
    N_("Choose at least one scope."),
    N_("No alert with that id."),
    N_("No notice template with that name."),
    N_("Only an admin can do this."),
    N_("Only an approver or an admin can do this."),
    N_("Sign-in failed: check the e-mail address and password. Repeated failures lock the account for a while."),
    N_("The outbox exists only in sandbox mode."),
    N_("You cannot change your own role."),
    N_("You cannot deactivate yourself."),
    N_("an alert must be approved by someone other than its author"),
    N_("no area has a polygon, circle or known zone: it would reach nobody"),
    N_("required element 'event' is missing"),
    N_("required element 'status' is missing"),
    N_("the form has expired or did not come from this console; reload the page and try again"),
)  # fmt: skip
"""Texts the console translates from a variable, named here so that ``pybabel extract`` keeps their translations
(tests/i18n checks the lists they come from against this one)."""


def translator(lang: str | None) -> Translator:
    """``_("Cancelled by {who}.", who=name)``: the text in ``lang`` (English when missing), then formatted."""
    return _translator(DOMAIN, lang)


def supported(lang: str | None) -> str | None:
    """``lang`` reduced to a supported primary tag, or None."""
    return _supported(lang, SUPPORTED)


def negotiate(accept_language: str | None, stored: str | None = None) -> str:
    """The dispatcher's ``stored`` choice when supported, else the best match of ``Accept-Language``, else English."""
    return _negotiate(SUPPORTED, stored=stored, accept_language=accept_language)


def number(value: int | float, lang: str) -> str:
    return format_number(value, lang)


def moment(value: datetime | None) -> str:
    """A timestamp as dispatchers read it (UTC, stated, so two offices never disagree about "14:05")."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + " UTC"

"""What the approver reads before approving: every message as each channel will send it, and the reach confirmed.

The messages come from the worker's own renderer (:func:`alertsvc.dispatch.render.render_info`, then
:func:`~alertsvc.dispatch.render.personalise`), called as the deliver job calls it (the alert's stored CAP read
back through the same parser, its ``sender`` as the sender name, the configured segment budget, the sandbox's or
the SMTP path), with links as long as real ones in place of the per-resident links. So the SMS segment count the
approver reads is the count billed, and a text the approver never saw cannot go out.

An Actual alert is approved in two steps: the alert page shows the messages and an "Approve…" button; the second
step shows the reach (residents, contacts per channel) and a button carrying the number of residents it showed.
The POST is refused unless that number is the reach now (:func:`confirmation_problem`), so an approval can be
neither one stray click nor a confirmation of a reach that has since changed. Why a check of the number and not a
typed word: the approver has already read every message; what a second click must prove is that they saw how
many people it goes to, and the number is the one fact that changes between looking and clicking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alertsvc.alerts import queries
from alertsvc.alerts.queries import Alert
from alertsvc.alerts.reach import Reach
from alertsvc.cap import CapError, alert_to_json, parse_cap_json
from alertsvc.dispatch.render import personalise, render_info
from alertsvc.dispatch.sms_text import sms_cost
from alertsvc.i18n import N_
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.web.console.areas import ParsedAreas

CONFIRMED_STATUSES = frozenset({"Actual"})
"""Statuses whose approval needs the second step: the ones that reach the public."""
NOT_CONFIRMED = N_("Approving an Actual alert takes a second step: confirm how many residents it reaches.")
REACH_CHANGED = N_("The reach has changed since you looked: check the number of residents and confirm again.")
SAMPLE_TOKEN = "a1b2c3.DEFGHIJKLMNOPQRSTUVWX"  # noqa: S105 - a placeholder as long as a real link token
SAMPLE_ADDRESSES = {"sms": "+15145550100", "email": "resident@example.org", "push": "push-subscriber"}
"""Stand-in recipients: personalise() needs one, and none of them appears in the text shown."""


@dataclass(frozen=True, slots=True)
class ChannelText:
    """One channel's message as the provider is given it."""

    channel: str
    title: str
    """The e-mail subject or the push title; empty for SMS."""
    body: str


@dataclass(frozen=True, slots=True)
class LanguagePreview:
    """One language's messages: the SMS with what it costs, the e-mail and the push."""

    language: str
    sms: ChannelText
    sms_encoding: str
    sms_segments: int
    sms_units: int
    email: ChannelText
    push: ChannelText
    dropped: tuple[str, ...]
    """Parts of the info the SMS left out to stay within its segments."""
    failures: dict[str, str]
    """Channel -> why its message cannot be built (its deliveries in this language would fail): shown, not hidden."""


@dataclass(frozen=True, slots=True)
class ApprovalView:
    """What the approval box and its confirmation step show."""

    previews: list[LanguagePreview]
    reach: Reach | None
    needs_confirmation: bool

    @property
    def residents(self) -> int:
        return self.reach.residents if self.reach is not None else 0


def infos_as_sent(alert: Alert) -> dict[str, dict[str, Any]]:
    """The alert's infos by language, read back as the deliver job reads them (one per language, the last wins)."""
    try:
        document = alert_to_json(parse_cap_json(alert.cap))
    except CapError:
        document = dict(alert.cap)
    infos = {str(info.get("language") or "en-US"): info for info in document.get("info", [])}
    if not infos:
        infos = {"en-US": {"language": "en-US", "headline": alert.headline or "", "event": ""}}
    return infos


def message_previews(alert: Alert, settings: Settings) -> list[LanguagePreview]:
    """Each language's SMS, e-mail and push, exactly as the worker will hand them to the providers."""
    public = settings.public_url.rstrip("/")
    ack_url = f"{public}/a/{SAMPLE_TOKEN}"
    unsubscribe_url = f"{public}/u/{SAMPLE_TOKEN}"
    previews = []
    for language, info in infos_as_sent(alert).items():
        rendered = render_info(
            info,
            status=alert.status,
            msg_type=alert.msg_type,
            sender_name=alert.sender,
            public_url=settings.public_url,
            max_segments=settings.sms_max_segments,
            email_from=None,  # the text and HTML bodies, not the serialised MIME: the same words either way
        )

        def sent(channel: str, rendered: Any = rendered) -> ChannelText:
            message = personalise(
                rendered,
                channel,
                to=SAMPLE_ADDRESSES[channel],
                reference="preview",
                ack_url=ack_url,
                unsubscribe_url=unsubscribe_url if channel == "email" else "",
            )
            return ChannelText(channel, message.subject or "", message.body)

        sms = sent("sms")
        cost = sms_cost(sms.body)
        previews.append(
            LanguagePreview(
                language=language,
                sms=sms,
                sms_encoding=cost.encoding.value,
                sms_segments=cost.segments,
                sms_units=cost.units,
                email=sent("email"),
                push=sent("push"),
                dropped=rendered.sms_dropped,
                failures=dict(rendered.failures),
            )
        )
    return previews


def needs_confirmation(alert: Alert) -> bool:
    """Whether approving this alert takes the second step (it reaches the public)."""
    return alert.status in CONFIRMED_STATUSES


async def approval_reach(runtime: Runtime, parsed: ParsedAreas) -> Reach | None:
    """Who the alert's areas reach now: the number the approval box and the second step show, and the approval is
    checked against (the alert page reads the same through :func:`alertsvc.alerts.queries.alert_detail`)."""
    return await queries.reach(runtime, parsed.shapes(runtime.zones))


def approval_view(alert: Alert, settings: Settings, reach: Reach | None) -> ApprovalView:
    """The approval box's content; ``reach`` is :func:`approval_reach`'s (the alert page reads it once for all)."""
    return ApprovalView(message_previews(alert, settings), reach, needs_confirmation(alert))


def confirmation_problem(typed: str | None, reach: Reach | None) -> str | None:
    """Why ``typed`` (the resident count the second step carried) does not confirm the approval; None when it does."""
    expected = reach.residents if reach is not None else 0
    cleaned = (typed or "").replace(" ", "").replace(",", "").replace("\u202f", "").replace("\u00a0", "")
    if not cleaned:
        return NOT_CONFIRMED
    if not cleaned.isdigit() or int(cleaned) != expected:
        return REACH_CHANGED
    return None

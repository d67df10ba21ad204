"""What the dispatcher sees before sending: who the area reaches, and each SMS exactly as it will read.

The SMS comes from the same :func:`alertsvc.dispatch.render.render_info` the worker uses, with a link of a real
token's length in place of the per-resident acknowledgement link, so the segment count shown is the count billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alertsvc.alerts import queries
from alertsvc.alerts.forecast import ChannelForecast, forecast, split_duration, whole_alert_seconds
from alertsvc.alerts.reach import Reach
from alertsvc.dispatch.render import ACK_PLACEHOLDER, render_info
from alertsvc.dispatch.sms_text import sms_cost
from alertsvc.i18n import N_, primary_tag
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.web.console import i18n
from alertsvc.web.console.areas import ParsedAreas

SAMPLE_TOKEN = "a1b2c3.DEFGHIJKLMNOPQRSTUVWX"  # noqa: S105 - a placeholder, not a secret
"""As long as a real acknowledgement token (an id in base 36, a dot, a 16-character tag)."""


@dataclass(frozen=True, slots=True)
class SmsPreview:
    language: str
    text: str
    segments: int
    encoding: str
    units: int
    subject: str = ""
    """The e-mail's subject line in the same language (the push title is the same words)."""
    dropped: tuple[str, ...] = ()
    """The parts the SMS leaves out or cuts short to stay within its segments (``Rendered.sms_dropped``)."""

    @property
    def dropped_warning(self) -> str:
        """The start of the warning, as an English id of the console catalogue: "The SMS in French will leave out
        or cut short:" (a sentence per language, so each reads right in translation; the tag for another)."""
        return DROPPED_WARNINGS.get(primary_tag(self.language) or "", DROPPED_WARNING_OTHER)

    @property
    def dropped_parts(self) -> tuple[str, ...]:
        """The parts dropped, as English ids of the console catalogue ("the description")."""
        return tuple(PART_NAMES.get(part, part) for part in self.dropped)


async def reach_for(runtime: Runtime, parsed: ParsedAreas) -> Reach | None:
    """Residents and contacts inside the area, named zones resolved; None when there is no area yet."""
    return await queries.reach(runtime, parsed.shapes(runtime.zones))


def sms_previews(document: dict[str, Any], settings: Settings) -> list[SmsPreview]:
    """Each info's SMS as a resident will read it, with its segment count and encoding."""
    previews = []
    link = f"{settings.public_url.rstrip('/')}/a/{SAMPLE_TOKEN}"
    for info in document.get("info", []):
        if not (info.get("headline") or info.get("event")):
            continue
        rendered = render_info(
            info,
            status=str(document.get("status") or "Actual"),
            msg_type=str(document.get("msgType") or "Alert"),
            sender_name=settings.service_name,
            public_url=settings.public_url,
            max_segments=settings.sms_max_segments,
        )
        text = rendered.sms.replace(ACK_PLACEHOLDER, link)
        cost = sms_cost(text)
        previews.append(
            SmsPreview(
                str(info.get("language", "")),
                text,
                cost.segments,
                cost.encoding.value,
                cost.units,
                rendered.subject,
                rendered.sms_dropped,
            )
        )
    return previews


def duration_text(seconds: float, lang: str) -> str:
    """``2 min 4 s``, ``1 h 3 min``, ``45 s``: how long, in the words of the page's language."""
    _ = i18n.translator(lang)
    hours, minutes, secs = split_duration(seconds)
    if hours:
        return _("{hours} h {minutes} min", hours=hours, minutes=minutes)
    if minutes:
        return _("{minutes} min {seconds} s", minutes=minutes, seconds=secs)
    return _("{seconds} s", seconds=secs)


@dataclass(frozen=True, slots=True)
class ForecastLine:
    channel: str
    text: str
    seconds: float | None


def forecast_lines(messages: dict[str, int], settings: Settings, lang: str) -> list[ForecastLine]:
    """One sentence a channel: "SMS: 12,400 messages at 100/s ≈ 2 min 4 s" (see :mod:`alertsvc.alerts.forecast`)."""
    _ = i18n.translator(lang)
    lines = []
    for item in forecast(messages, settings):
        lines.append(ForecastLine(item.channel, _forecast_sentence(item, lang), item.seconds))
    return lines


def whole_text(messages: dict[str, int], settings: Settings, lang: str) -> str | None:
    """How long the whole alert takes (its slowest channel), None when a channel has no rate to go by."""
    seconds = whole_alert_seconds(forecast(messages, settings))
    return None if seconds is None else duration_text(seconds, lang)


def _forecast_sentence(item: ChannelForecast, lang: str) -> str:
    _ = i18n.translator(lang)
    channel = CHANNEL_NAMES.get(item.channel, item.channel)
    if item.seconds is None or item.rate is None:
        return _.ngettext(
            "{channel}: {count} message, no rate limit set",
            "{channel}: {count} messages, no rate limit set",
            item.messages,
            channel=_(channel),
            count=i18n.number(item.messages, lang),
        )
    return _.ngettext(
        "{channel}: {count} message at {rate}/s ≈ {duration}",
        "{channel}: {count} messages at {rate}/s ≈ {duration}",
        item.messages,
        channel=_(channel),
        count=i18n.number(item.messages, lang),
        rate=i18n.number(item.rate, lang),
        duration=duration_text(item.seconds, lang),
    )


CHANNEL_NAMES = {"sms": N_("SMS"), "email": N_("E-mail"), "push": N_("Push")}
"""How the forecast names each channel (translated)."""

DROPPED_WARNINGS = {
    "en": N_("The SMS in English will leave out or cut short:"),
    "fr": N_("The SMS in French will leave out or cut short:"),
    "es": N_("The SMS in Spanish will leave out or cut short:"),
}
"""The warning of a preview whose SMS drops a part, by the message's primary language."""
DROPPED_WARNING_OTHER = N_("The SMS in {language} will leave out or cut short:")
PART_NAMES = {
    "description": N_("the description"),
    "instruction": N_("the instruction"),
    "headline": N_("the headline"),
}
"""How the warning names each part of a message that :func:`alertsvc.dispatch.render.render_info` may drop."""

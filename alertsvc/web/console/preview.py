"""What the dispatcher sees before sending: who the area reaches, and each SMS exactly as it will read.

The SMS comes from the same :func:`alertsvc.dispatch.render.render_info` the worker uses, with a link of a real
token's length in place of the per-resident acknowledgement link, so the segment count shown is the count billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alertsvc.alerts import queries
from alertsvc.alerts.reach import Reach
from alertsvc.dispatch.render import ACK_PLACEHOLDER, render_info
from alertsvc.dispatch.sms_text import sms_cost
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
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
        previews.append(SmsPreview(str(info.get("language", "")), text, cost.segments, cost.encoding.value, cost.units))
    return previews

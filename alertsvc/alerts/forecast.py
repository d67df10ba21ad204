"""How long an alert will take to reach everyone, from the configured provider rates and the number of messages.

The dispatcher decides with it (a fire in twenty minutes and an SMS forecast of forty is a reason to add push or
split the area) and the after-action report compares it with the measured time-to-warn. The rates are the ones the
dispatcher's workers obey (``ALERTSVC_{SMS,EMAIL,PUSH}_RATE_PER_SECOND``, shared by all workers through Redis): at
those rates a channel cannot go faster, so the forecast is the floor of the time the whole alert takes. A channel
without a configured rate goes as fast as its provider takes the messages, which nothing here knows: its forecast
says so rather than guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from alertsvc.settings import Settings

CHANNELS = ("sms", "email", "push")


@dataclass(frozen=True, slots=True)
class ChannelForecast:
    """One channel: ``messages`` at ``rate`` per second take ``seconds`` (None: no rate configured)."""

    channel: str
    messages: int
    rate: float | None
    seconds: float | None


def rates(settings: Settings) -> dict[str, float | None]:
    """The configured messages per second of each channel (None: as fast as the provider takes them)."""
    return {
        "sms": settings.sms_rate_per_second,
        "email": settings.email_rate_per_second,
        "push": settings.push_rate_per_second,
    }


def forecast(messages: Mapping[str, int], settings: Settings) -> list[ChannelForecast]:
    """Per channel with at least one message, in a fixed order: how long sending them all takes at the set rate."""
    configured = rates(settings)
    found = []
    for channel in sorted(messages, key=lambda c: (CHANNELS.index(c) if c in CHANNELS else len(CHANNELS), c)):
        count = int(messages[channel])
        if count <= 0:
            continue
        rate = configured.get(channel)
        seconds = None if not rate or rate <= 0 else count / rate
        found.append(ChannelForecast(channel, count, rate, seconds))
    return found


def whole_alert_seconds(channels: list[ChannelForecast]) -> float | None:
    """The channels run side by side, so the alert takes as long as its slowest one; None when any is unbounded
    (no rate, so unknown) or there is nothing to send."""
    if not channels or any(c.seconds is None for c in channels):
        return None
    return max(c.seconds for c in channels if c.seconds is not None)


def split_duration(seconds: float) -> tuple[int, int, int]:
    """Hours, minutes and whole seconds, rounded *up* (a forecast of "0 s" for 3 messages at 100/s would lie)."""
    total = math.ceil(seconds)
    return total // 3600, (total % 3600) // 60, total % 60

"""When a community message may reach a resident: never in their quiet hours, and at most a few a week.

Warnings break through quiet hours when Extreme (``alertsvc.dispatch.audience``); community messages never do, and
a weekly cap keeps a busy neighbourhood from becoming noise. Pure functions, no I/O, so each rule is tested alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["WEEK", "allowed_at", "quiet_until"]

WEEK = timedelta(days=7)


def _clock(text: str) -> time:
    hours, minutes = text.split(":", 1)
    return time(int(hours), int(minutes))


def quiet_until(quiet_start: str | None, quiet_end: str | None, timezone: str, moment: datetime) -> datetime | None:
    """When the quiet hours around ``moment`` end, if ``moment`` falls inside them; None otherwise (none set, or
    unreadable: the resident's pages refuse such values, so this only guards old rows)."""
    if not quiet_start or not quiet_end:
        return None
    try:
        zone = ZoneInfo(timezone)
        start, end = _clock(quiet_start), _clock(quiet_end)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    if start == end:
        return None
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone)


def allowed_at(
    wanted: datetime,
    quiet_start: str | None,
    quiet_end: str | None,
    timezone: str,
    planned: Sequence[datetime],
    weekly_cap: int,
    latest: datetime | None = None,
) -> datetime | None:
    """The first moment at or after ``wanted`` outside the quiet hours, when fewer than ``weekly_cap`` of the
    resident's other community messages (``planned``, their due times) fall within seven days of it either way
    (so no seven days ever hold more than the cap, whatever order messages are planned in); None when
    there is no such moment before ``latest`` (a reminder after the meeting is worth nothing) or the cap is 0."""
    if weekly_cap <= 0:
        return None
    moment = wanted
    for _ in range(2 * weekly_cap + 4):
        ends = quiet_until(quiet_start, quiet_end, timezone, moment)
        if ends is not None:
            moment = ends
            continue
        near = [due for due in planned if moment - WEEK < due < moment + WEEK]
        if len(near) >= weekly_cap:
            # some seven days around ``moment`` would hold one too many: go past them all
            moment = max(near) + WEEK + timedelta(seconds=1)
            continue
        break
    else:
        return None
    if latest is not None and moment >= latest:
        return None
    return moment

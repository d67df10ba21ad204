"""CAP date-times: always with the sender's own UTC offset, always to the second.

CAP 1.2 writes ``YYYY-MM-DDThh:mm:ss±hh:mm``. The offset is part of what the sender said ("until 8 pm local"), so
it is kept as given (``-05:00`` stays ``-05:00``) instead of being converted to UTC, and a time without one is
refused rather than guessed. On input we also accept ``Z`` and fractional seconds, which many producers emit;
fractions are truncated, because CAP cannot write them back and an alert must round-trip to an equal alert.

UTC is written ``-00:00``, as CAP 1.2 (section 3.3.2, "Date and Time Fields") says it is, never ``+00:00`` or
``Z``; both ``+00:00`` and ``-00:00`` (and ``Z``) are read as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

from alertsvc.errors import InvalidInput

EXAMPLE = "2024-05-01T14:00:00-05:00"

_CAP_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?"
    r"(?:(Z)|([+-])(\d{2}):(\d{2}))?",
    re.ASCII,
)


class CapTimeError(InvalidInput):
    """A value that is not a CAP date-time; ``str()`` says why in words a sender understands."""


def _offset(sign: str, hours: str, minutes: str) -> timezone:
    if int(minutes) > 59 or int(hours) > 23:
        raise CapTimeError(f"UTC offset {sign}{hours}:{minutes} is out of range")
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def parse_cap_time(text: str) -> datetime:
    """Read a CAP date-time string into an aware ``datetime`` carrying the offset as written."""
    match = _CAP_TIME.fullmatch(text.strip())
    if match is None:
        raise CapTimeError(f"{text[:40]!r} is not a CAP date-time like {EXAMPLE}")
    year, month, day, hour, minute, second, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz = UTC
    elif sign:
        tz = _offset(sign, off_h, off_m)
    else:
        raise CapTimeError(f"{text[:40]!r} has no UTC offset; CAP 1.2 requires one, e.g. {EXAMPLE}")
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz)
    except ValueError as exc:
        raise CapTimeError(f"{text[:40]!r} is not a real date-time ({exc})") from None


def normalize_cap_time(value: datetime) -> datetime:
    """An aware datetime with a fixed offset in whole minutes, truncated to the second."""
    offset = value.utcoffset()
    if offset is None:
        raise CapTimeError(f"{value.isoformat()} has no UTC offset; CAP 1.2 requires one, e.g. {EXAMPLE}")
    if offset.total_seconds() % 60:
        raise CapTimeError(f"UTC offset {offset} is not a whole number of minutes")
    return value.replace(microsecond=0, tzinfo=timezone(offset))


def format_cap_time(value: datetime) -> str:
    """Write CAP's form: no fractions, offset always as ``±hh:mm`` (UTC as ``-00:00``, never ``+00:00`` or ``Z``).

    Formatted by hand rather than with ``strftime``, whose ``%Y`` does not pad years below 1000 everywhere.
    """
    v = normalize_cap_time(value)
    offset = v.utcoffset() or timedelta(0)
    sign = "-" if offset <= timedelta(0) else "+"  # a zero offset is UTC, which CAP 1.2 writes "-00:00"
    minutes = abs(int(offset.total_seconds())) // 60
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    )


def _coerce(value: Any) -> datetime:
    """pydantic hook: strings in CAP form or aware datetimes, nothing else (no epoch numbers, no dates)."""
    try:
        if isinstance(value, str):
            return parse_cap_time(value)
        if isinstance(value, datetime):
            return normalize_cap_time(value)
    except CapTimeError as exc:  # the reason goes in as context: it quotes sender text, never a template
        raise PydanticCustomError("cap_time", "{reason}", {"reason": str(exc)}) from None
    raise PydanticCustomError("cap_time", "must be a CAP date-time string like {example}", {"example": EXAMPLE})


CapTime = Annotated[
    datetime,
    BeforeValidator(_coerce),
    PlainSerializer(format_cap_time, return_type=str, when_used="json"),
]
"""A model field type: validated by :func:`_coerce`, written by :func:`format_cap_time` in JSON."""


def earlier(a: datetime, b: datetime) -> bool:
    """``a < b`` for instants; False when either is too close to the calendar's ends to compare."""
    try:
        return a < b
    except OverflowError:
        return False
